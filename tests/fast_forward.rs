//! Idle fast-forward: real invocations of a real function and container, hours of idle time
//! skipped, with keep-alive deciding cold starts exactly as it would over real hours.

mod common;

use common::*;

/// A workload of `hours` whose arrivals come from `arrivals.csv`, against a function with
/// `keep_alive` and a container, fast-forwarded.
fn workload(tag: &(String, String), hours: u64, keep_alive: &str) -> String {
    format!(
        r#"
name = "fast-forward"
duration = "{hours}h"
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
keep_alive = "{keep_alive}"
max_lifetime = "off"
env = {{ {key} = "{value}" }}
[[targets]]
name = "box"
kind = "container"
instances = 1
env = {{ {key} = "{value}" }}
"#,
        key = tag.0,
        value = tag.1
    )
}

/// How a test runs the workload: through the binary (end to end, terminal included) or the
/// library in process.
#[derive(Clone, Copy, PartialEq)]
enum Via {
    Binary,
    Library,
}

/// Arrivals `gap_s` apart for 2 hours, with a 10-minute keep-alive.
fn run(gap_s: u64, via: Via) -> serde_json::Value {
    run_with(gap_s, 2, "10m", via)
}

fn run_with(gap_s: u64, hours: u64, keep_alive: &str, via: Via) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let arrivals: String = (0..hours * 3_600 / gap_s).map(|i| format!("{}\n", i * gap_s)).collect();
    std::fs::write(dir.path().join("arrivals.csv"), arrivals).unwrap();
    let tag = unique_tag();
    let workload = write_workload(dir.path(), "w.toml", &workload(&tag, hours, keep_alive));
    let out = dir.path().join("out");
    let json = if via == Via::Binary {
        let output = coldbench().arg("run").arg(&workload).arg("--out").arg(&out).arg("--quiet").output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("fn: fast-forwarded: "), "the terminal states simulated and real time:\n{stdout}");
        let json = results(&out);
        assert_valid_results(&json);
        json
    } else {
        run_json(&workload, None, &out)
    };
    assert!(processes_with_env(&format!("{}={}", tag.0, tag.1)).is_empty(), "no process outlives the run");
    assert_counts_add_up(&json);
    let summary = std::fs::read_to_string(results_path(&out).unwrap().with_file_name("summary.md")).unwrap();
    assert!(summary.contains("fast-forwarded"), "summary.md states it:\n{summary}");
    json
}

fn target<'a>(json: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    json["targets"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap()
}

/// Hours were skipped in one jump per idle gap (plus `extra_jumps`: stops on the way, such as a
/// pre-warm), and every request was served.
fn assert_skipped_hours(t: &serde_json::Value, requests: u64) {
    assert_skipped_hours_with(t, requests, 0);
}

fn assert_skipped_hours_with(t: &serde_json::Value, requests: u64, extra_jumps: u64) {
    let ff = &t["fast_forward"];
    let (simulated, real, skipped) =
        (ff["simulated_s"].as_f64().unwrap(), ff["real_s"].as_f64().unwrap(), ff["skipped_s"].as_f64().unwrap());
    // The last arrival is at least an hour in; each request finished after it.
    assert!(simulated > 3_600.0, "{ff}");
    assert!(skipped > simulated - 120.0, "nearly all of it was skipped: {ff}");
    assert!(real < 120.0, "seconds, not hours: {ff}");
    assert_eq!(ff["jumps"].as_u64(), Some(requests - 1 + extra_jumps), "one jump per idle gap: {ff}");
    assert_eq!(t["measurement"]["requests"].as_u64(), Some(requests));
    assert_eq!(t["measurement"]["outcomes"]["ok"].as_u64(), Some(requests));
}

#[test]
fn twenty_minutes_apart_with_a_ten_minute_keep_alive_every_invocation_is_cold() {
    let json = run(1_200, Via::Binary);
    let function = target(&json, "fn");
    assert_skipped_hours(function, 6);
    let m = &function["measurement"];
    assert_eq!((m["cold"].as_u64(), m["warm"].as_u64()), (Some(6), Some(0)));
    let stats = &function["function"]["stats"];
    assert_eq!(stats["instances_started"].as_u64(), Some(6));
    assert_eq!(stats["evicted_idle"].as_u64(), Some(5), "each instance was evicted for idleness: {stats}");
    assert_eq!(stats["peak_instances"].as_u64(), Some(1));
    // Init really ran each time (the demo function's 50 ms delay), it was not simulated.
    assert!(m["init"]["min_us"].as_u64().unwrap() >= 50_000, "{}", m["init"]);
    assert_skipped_hours(target(&json, "box"), 6);
}

#[test]
fn five_minutes_apart_only_the_first_invocation_is_cold() {
    let json = run(300, Via::Library);
    let function = target(&json, "fn");
    assert_skipped_hours(function, 24);
    let m = &function["measurement"];
    assert_eq!((m["cold"].as_u64(), m["warm"].as_u64()), (Some(1), Some(23)));
    assert_eq!(function["function"]["stats"]["instances_started"].as_u64(), Some(1));
    // Regression: a fast-forwarded function target had no instances-alive series. One instance
    // lives from the first request to the end of the horizon, through every skipped gap.
    let alive = function["function"]["alive_per_second"].as_array().unwrap();
    assert!(alive.len() > 1_000, "one entry per interval of the 2-hour horizon: {}", alive.len());
    assert!(alive[1..alive.len() - 1].iter().all(|n| n == 1), "{:?}", &alive[..alive.len().min(10)]);
}

#[test]
fn the_hybrid_keep_alive_learns_a_periodic_function_and_prewarms_it_in_a_real_run() {
    // 15 minutes apart for 6 hours: 24 arrivals, each gap longer than the 10-minute fallback.
    let json = run_with(900, 6, "hybrid", Via::Library);
    let function = target(&json, "fn");
    // The clock stops at each pre-warm, then jumps on to the arrival.
    assert_skipped_hours_with(function, 24, 13);
    let m = &function["measurement"];
    let stats = &function["function"]["stats"];
    // Cold while the histogram learns (the first arrival and 10 idle times), then each arrival
    // finds an instance the policy loaded (and initialised, for real) just before it.
    assert_eq!((m["cold"].as_u64(), m["warm"].as_u64()), (Some(11), Some(13)), "{stats}");
    assert_eq!(stats["prewarmed"].as_u64(), Some(13), "{stats}");
    assert_eq!(stats["instances_started"].as_u64(), Some(24), "{stats}");
}

#[test]
fn a_remote_url_target_cannot_be_fast_forwarded() {
    let dir = tempfile::tempdir().unwrap();
    let workload = write_workload(
        dir.path(),
        "w.toml",
        r#"
name = "remote"
duration = "1h"
[traffic]
pattern = "constant"
rate = 0.01
[load]
fast_forward = true
[[targets]]
name = "api"
kind = "url"
url = "http://127.0.0.1:9/"
"#,
    );
    let output = coldbench().arg("run").arg(&workload).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "an invalid workload is an error");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("w.toml: load.fast_forward: target \"api\""), "{stderr}");
}

#[test]
fn asynchronous_invocations_are_accepted_at_once_retried_minutes_later_and_reported_apart() {
    let dir = tempfile::tempdir().unwrap();
    let tag = unique_tag();
    let workload = write_workload(
        dir.path(),
        "w.toml",
        &format!(
            r#"
name = "events"
duration = "2s"
[traffic]
pattern = "constant"
rate = 3
[load]
fast_forward = true
[function]
work = {{ kind = "fail", message = "failed on purpose" }}
[[targets]]
name = "fn"
kind = "function"
invocation = "event"
platform_overhead = "0ms"
env = {{ {key} = "{value}" }}
"#,
            key = tag.0,
            value = tag.1
        ),
    );
    let out = dir.path().join("out");
    let json = run_json(&workload, None, &out);
    assert_valid_results(&json);
    let fn_ = target(&json, "fn");
    let m = &fn_["measurement"];
    let accepted = m["outcomes"]["ok"].as_u64().unwrap();
    assert!(accepted >= 5, "every request was accepted with 202: {m}");
    let events = &fn_["function"]["events"];
    assert_eq!(events["accepted"].as_u64(), Some(accepted), "{events}");
    assert_eq!(events["failed"].as_u64(), Some(accepted), "{events}");
    assert_eq!(events["retries"].as_u64(), Some(2 * accepted), "{events}");
    assert_eq!(events["unfinished"].as_u64(), Some(0), "{events}");
    assert_eq!(fn_["function"]["invocations"]["invocations"].as_u64(), Some(3 * accepted), "each attempt is billed");
    let end_to_end = coldbench::metrics::decode(events["end_to_end_us"].as_str().unwrap()).unwrap();
    assert!(end_to_end.min() >= 175_000_000, "the last retry comes 3 minutes after acceptance: {}", end_to_end.min());
    assert!(events["depth_per_second"].as_array().unwrap().iter().any(|d| d.as_u64() == Some(accepted)), "{events}");
    // The bill counts every attempt: three invocations per request.
    let summary = std::fs::read_to_string(results_path(&out).unwrap().with_file_name("summary.md")).unwrap();
    assert!(summary.contains("async events ok/failed/expired/unfinished"), "{summary}");
    let analysis = json["analysis"].to_string();
    assert!(analysis.contains("3.00 invocations per asynchronous request"), "{analysis}");
    assert!(processes_with_env(&format!("{}={}", tag.0, tag.1)).is_empty(), "no process outlives the run");
}
