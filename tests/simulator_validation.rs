//! The simulator against a real run: the same bursty workload through real processes (idle time
//! fast-forwarded) and through `coldbench simulate --calibrate` must agree on cold starts
//! (within ±5 %) and on peak instances (within ±1).

mod common;

use common::*;
use rand::{Rng, SeedableRng};

/// A seeded bursty trace over about five minutes: bursts of 3–8 pairs of simultaneous requests,
/// 150 ms apart, separated by quiet gaps of 15 s, 30 s, 60 s or 90 s (a 45 s keep-alive keeps
/// the instances across the short gaps only).
///
/// The spacing leaves wide margins on a loaded machine: a cold instance is busy for Init (at
/// least the 300 ms delay) plus 30 ms of work, so the first three pairs of a cold burst always
/// start six instances (the third pair comes at 300 ms < 330 ms), and the fourth finds the first
/// pair free unless its Init took over 420 ms.
fn bursty_trace() -> String {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut t = 0.0_f64;
    let mut lines = String::new();
    while t < 300.0 {
        let pairs = rng.random_range(3..=8);
        for i in 0..pairs {
            let at = t + f64::from(i) * 0.15;
            lines.push_str(&format!("{at:.3}\n{at:.3}\n"));
        }
        t += f64::from(pairs) * 0.15 + [15.0, 30.0, 60.0, 90.0][rng.random_range(0..4)];
    }
    lines
}

const WORKLOAD: &str = r#"
name = "bursty-validation"
duration = "6m"
[traffic]
pattern = "trace"
file = "bursts.csv"
[load]
fast_forward = true
[function]
init = { delay = "300ms" }
work = { kind = "sleep", duration = "30ms" }
[[targets]]
name = "fn"
kind = "function"
keep_alive = "45s"
max_lifetime = "off"
"#;

#[test]
fn simulator_and_real_run_agree_on_cold_starts_and_peak_instances() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bursts.csv"), bursty_trace()).unwrap();
    let workload = write_workload(dir.path(), "w.toml", WORKLOAD);

    let real_out = dir.path().join("real");
    let real = run_json(&workload, None, &real_out);
    let results_json = results_path(&real_out).unwrap();

    let simulated = simulate_json(&workload, Some(&results_json));
    assert!(
        simulated["simulation"]["durations"].as_str().unwrap().contains("calibrated from"),
        "{}",
        simulated["simulation"]
    );

    let (r, s) = (&real["targets"][0], &simulated["targets"][0]);
    assert_eq!(r["measurement"]["requests"], s["measurement"]["requests"], "the same schedule");
    assert_eq!(r["measurement"]["outcomes"]["ok"], r["measurement"]["requests"], "every real invocation answered");
    let (real_cold, sim_cold) =
        (r["measurement"]["cold"].as_f64().unwrap(), s["measurement"]["cold"].as_f64().unwrap());
    eprintln!("cold starts: real {real_cold}, simulated {sim_cold}");
    assert!(real_cold >= 8.0, "the workload exercises cold starts: {real_cold}");
    assert!((sim_cold - real_cold).abs() <= 0.05 * real_cold, "cold starts: real {real_cold}, simulated {sim_cold}");
    let peak = |t: &serde_json::Value| t["function"]["stats"]["peak_instances"].as_i64().unwrap();
    assert!((peak(r) - peak(s)).abs() <= 1, "peak instances: real {}, simulated {}", peak(r), peak(s));
    assert!(peak(r) >= 2, "requests arrive in pairs: {}", peak(r));
}

#[test]
fn calibrating_from_something_else_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bursts.csv"), "0\n").unwrap();
    let workload = write_workload(dir.path(), "w.toml", WORKLOAD);
    let output = coldbench()
        .arg("simulate")
        .arg(&workload)
        .arg("--calibrate")
        .arg(&workload)
        .arg("--out")
        .arg(dir.path().join("sim"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("w.toml: not a coldbench results.json"), "{stderr}");
}
