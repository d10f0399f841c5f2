//! Deploys under load: a new function version makes the next invocation of every environment
//! cold while the old ones drain.

mod common;

use common::{run_json, write_workload};

#[test]
fn a_function_deploy_makes_the_next_invocation_of_every_environment_cold() {
    let dir = tempfile::tempdir().unwrap();
    // Two requests at once, every 500 ms (each answered within 300 ms, Init included): two
    // environments before the deploy at 1.25 s, two after.
    let workload = write_workload(
        dir.path(),
        "w.toml",
        r#"
name = "function-deploy"
duration = "3s"
[traffic]
pattern = "trace"
file = "arrivals.csv"
[function]
init = { delay = "100ms" }
work = { kind = "sleep", duration = "50ms" }
[[targets]]
name = "fn"
kind = "function"
deploy = { at = "1.25s" }
"#,
    );
    let arrivals: String = (0..6).map(|i| format!("{0:.1}\n{0:.1}\n", f64::from(i) * 0.5)).collect();
    std::fs::write(dir.path().join("arrivals.csv"), arrivals).unwrap();
    let json = run_json(&workload, None, &dir.path().join("out"));
    let target = &json["targets"][0];
    let m = &target["measurement"];
    assert_eq!(m["outcomes"]["ok"].as_u64(), Some(12), "no request failed across the deploy: {m}");
    // Two cold starts at the first arrivals and two at the first after the deploy; warm between.
    assert_eq!(m["cold"].as_u64(), Some(4), "{}", target["function"]["stats"]);
    assert_eq!(target["function"]["stats"]["instances_started"].as_u64(), Some(4));
    let deploy = &target["deploy"];
    assert_eq!(deploy["replaced"].as_u64(), Some(2), "{deploy}");
    let at = deploy["at_s"].as_f64().unwrap();
    assert!((1.2..1.45).contains(&at), "{deploy}");
    // Both old environments were idle at 1.25 s: the new version had the traffic at once.
    assert!(deploy["time_to_deploy_s"].as_f64().unwrap() < 0.5, "{deploy}");
    let window = &deploy["window"];
    assert_eq!(window["cold"].as_u64(), Some(2), "the window holds the new version's cold starts: {window}");
    // The first cold starts end in the first second, the new version's (at 1.5 s) in the next.
    let intervals = m["intervals"].as_array().unwrap();
    let cold_at: Vec<f64> = intervals
        .iter()
        .filter(|i| i["cold"].as_u64().unwrap_or(0) > 0)
        .map(|i| i["start_s"].as_f64().unwrap())
        .collect();
    assert_eq!(cold_at.len(), 2, "{cold_at:?}");
    assert!(cold_at[0] < 0.5 && (1.0..2.0).contains(&cold_at[1]), "{cold_at:?}");
}

#[test]
fn a_rolling_deploy_at_constant_load_fails_no_request_and_never_serves_below_the_desired_count() {
    let dir = tempfile::tempdir().unwrap();
    let exe = env!("CARGO_BIN_EXE_coldbench");
    let tag = common::unique_tag();
    // Two instances at 40 req/s; at 2 s version 2 (its own environment) rolls in one at a
    // time: up, healthy, then an old one drained and stopped.
    let workload = write_workload(
        dir.path(),
        "w.toml",
        &format!(
            r#"
name = "rolling"
duration = "9s"
[traffic]
pattern = "constant"
rate = 40
[[targets]]
name = "box"
kind = "container"
instances = 2
provision_delay = "500ms"
health_check = {{ interval = "5s", timeout = "2s" }}
env = {{ {key} = "{value}" }}
command = ["{exe}", "function", "--mode", "http"]
deploy = {{ at = "2s", max_surge = 1, max_unavailable = 0, env = {{ VERSION = "2" }} }}
"#,
            key = tag.0,
            value = tag.1
        ),
    );
    let json = run_json(&workload, None, &dir.path().join("out"));
    common::assert_counts_add_up(&json);
    let target = &json["targets"][0];
    let m = &target["measurement"];
    assert_eq!(m["outcomes"]["ok"], m["requests"], "no request failed across the deploy: {}", m["outcomes"]);
    let deploy = &target["deploy"];
    assert_eq!(deploy["replaced"].as_u64(), Some(2), "{deploy}");
    let (at, done) = (deploy["at_s"].as_f64().unwrap(), deploy["done_s"].as_f64().expect("done by the end"));
    assert!((1.9..2.5).contains(&at), "{deploy}");
    // Two launches one after the other, each waiting the 500 ms provision delay and its start.
    assert!(done - at >= 1.0, "one instance at a time: {deploy}");
    let window = &deploy["window"];
    assert_eq!(window["errors"].as_u64(), Some(0), "{window}");
    let in_service: Vec<u64> =
        target["fleet"]["in_service_per_second"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).collect();
    assert!(in_service.iter().all(|&n| n >= 2), "never fewer than the two before the deploy: {in_service:?}");
    // The old instances were stopped, not failed; the new ones served.
    let instances = target["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 4, "{instances:?}");
    assert!(instances.iter().all(|i| i.get("died_after_s").is_none()), "{instances:?}");
    assert!(instances[2..].iter().all(|i| i["requests"].as_u64().unwrap() > 0), "{instances:?}");
    // max_surge = 1: the second new instance was launched only once the first served.
    let serving = |i: usize| instances[i]["serving_after_s"].as_f64().unwrap();
    assert!(serving(3) >= serving(2) + 0.5, "{instances:?}");
    assert_eq!(target["fleet"]["failures"].as_u64(), Some(0));
    assert!(common::processes_with_env(&format!("{}={}", tag.0, tag.1)).is_empty(), "no instance outlives the run");
}
