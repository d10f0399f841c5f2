//! Keep-warm pings: real ping invocations on the fast-forwarded clock keep an instance warm across
//! gaps longer than the keep-alive; they are counted and billed apart from user traffic; the
//! simulator agrees.

mod common;

use common::*;

/// Requests 20 minutes apart for 2 h against a 10-minute keep-alive: on demand every one is cold.
fn workload(tag: &(String, String), keep_warm: &str) -> String {
    format!(
        r#"
name = "keep-warm-test"
duration = "2h"
[traffic]
pattern = "trace"
file = "arrivals.csv"
[load]
fast_forward = true
[function]
init = {{ delay = "50ms" }}
work = {{ kind = "sleep", duration = "5ms" }}
[[targets]]
name = "fn"
kind = "function"
keep_alive = "10m"
max_lifetime = "off"
{keep_warm}
env = {{ {key} = "{value}" }}
"#,
        key = tag.0,
        value = tag.1
    )
}

fn arrivals(dir: &std::path::Path) {
    let lines: String = (0..6).map(|i| format!("{}\n", 60 + i * 1_200)).collect();
    std::fs::write(dir.join("arrivals.csv"), lines).unwrap();
}

#[test]
fn pings_every_five_minutes_keep_the_instance_warm_and_are_billed_apart() {
    let dir = tempfile::tempdir().unwrap();
    arrivals(dir.path());
    let tag = unique_tag();
    let workload =
        write_workload(dir.path(), "w.toml", &workload(&tag, r#"keep_warm = { every = "5m", concurrency = 1 }"#));
    let out = dir.path().join("out");
    let json = run_json(&workload, None, &out);
    assert!(processes_with_env(&format!("{}={}", tag.0, tag.1)).is_empty(), "no process outlives the run");
    assert_counts_add_up(&json);
    let t = &json["targets"][0];
    let m = &t["measurement"];
    assert_eq!((m["requests"].as_u64(), m["cold"].as_u64(), m["warm"].as_u64()), (Some(6), Some(0), Some(6)));
    let pings = &t["function"]["keep_warm"];
    // The first round before the traffic, then one every 5 min to the end of the workload's
    // 2 h (the warmer runs while the deployment exists): 1 + 23, as the simulator sends.
    assert_eq!(pings["pings"].as_u64(), Some(24), "{pings}");
    assert_eq!(pings["cold"].as_u64(), Some(1), "only the first ping started an instance: {pings}");
    assert_eq!(pings["failed"].as_u64(), Some(0));
    // User traffic's records hold no ping; the function log holds both.
    assert_eq!(t["function"]["invocations"]["invocations"].as_u64(), Some(6));
    let csv = std::fs::read_to_string(results_path(&out).unwrap().with_file_name("invocations.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 6, "a header and the 6 user invocations: {csv}");
    let log = std::fs::read_to_string(results_path(&out).unwrap().with_file_name("fn.function.log")).unwrap();
    assert_eq!(log.lines().filter(|l| l.starts_with("REPORT ")).count(), 30, "6 requests + 24 pings");
    let cost = &json["analysis"]["targets"][0]["cost"];
    let items = cost["monthly"]["items"].as_array().unwrap();
    let keep_warm = items.iter().find(|l| l["item"] == "keep_warm").unwrap();
    assert!(keep_warm["usd"].as_f64().unwrap() > 0.0, "{cost}");
    assert!(cost["basis"].as_str().unwrap().contains("keep-warm: 8,760 pings/month"), "{cost}");

    let sim = simulate_json(&workload, None);
    let s = &sim["targets"][0];
    assert_eq!(s["measurement"]["cold"].as_u64(), Some(0), "the simulator agrees");
    // Real and simulated runs share one keep-warm schedule: the same pings.
    assert_eq!(s["function"]["keep_warm"]["pings"], pings["pings"]);
    assert_eq!(s["function"]["keep_warm"]["cold"].as_u64(), Some(1));
}

#[test]
fn without_pings_every_request_is_cold() {
    let dir = tempfile::tempdir().unwrap();
    arrivals(dir.path());
    let tag = unique_tag();
    let workload = write_workload(dir.path(), "w.toml", &workload(&tag, ""));
    let sim = simulate_json(&workload, None);
    assert_eq!(sim["targets"][0]["measurement"]["cold"].as_u64(), Some(6));
    assert!(sim["targets"][0]["function"].get("keep_warm").is_none());
}

#[test]
fn a_keep_warm_faster_than_a_second_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    arrivals(dir.path());
    let workload = write_workload(
        dir.path(),
        "w.toml",
        &workload(&unique_tag(), r#"keep_warm = { every = "100ms", concurrency = 1 }"#),
    );
    let output = coldbench().arg("simulate").arg(&workload).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("w.toml: targets[0].keep_warm.every: must be at least 1s, got 100ms"), "{stderr}");
}
