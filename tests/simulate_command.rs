//! `coldbench simulate`: a day of sparse traffic in well under a second, through the pool policy.

mod common;

use common::*;

fn workload(keep_alive: &str) -> String {
    format!(
        r#"
name = "sparse-day"
duration = "1d"
[traffic]
pattern = "trace"
file = "arrivals.csv"
[function]
init = {{ delay = "250ms" }}
work = {{ kind = "sleep", duration = "20ms" }}
[[targets]]
name = "fn"
kind = "function"
keep_alive = "{keep_alive}"
max_lifetime = "off"
"#
    )
}

fn simulate(gap_s: u64, keep_alive: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let arrivals: String = (0..86_400 / gap_s).map(|i| format!("{}\n", i * gap_s)).collect();
    std::fs::write(dir.path().join("arrivals.csv"), arrivals).unwrap();
    let workload = write_workload(dir.path(), "w.toml", &workload(keep_alive));
    let json = simulate_json(&workload, None);
    assert_counts_add_up(&json);
    json
}

#[test]
fn twenty_minutes_apart_with_a_ten_minute_keep_alive_is_always_cold() {
    let json = simulate(1200, "10m");
    let m = &json["targets"][0]["measurement"];
    assert_eq!((m["requests"].as_u64(), m["cold"].as_u64(), m["warm"].as_u64()), (Some(72), Some(72), Some(0)));
    assert_eq!(json["simulation"]["simulated_s"], 86_400.0);
    // Billed: every invocation pays Init + work (250 + 20 ms).
    assert_eq!(json["targets"][0]["function"]["billed_ms_total"], 72 * 270);
}

#[test]
fn five_minutes_apart_only_the_first_is_cold() {
    let json = simulate(300, "10m");
    let m = &json["targets"][0]["measurement"];
    assert_eq!((m["requests"].as_u64(), m["cold"].as_u64()), (Some(288), Some(1)));
    assert!(json["analysis"]["targets"][0]["cost"]["monthly"]["total"].as_f64().unwrap() > 0.0);
    // Regression: a simulated function target had no instances-alive series.
    let alive = json["targets"][0]["function"]["alive_per_second"].as_array().unwrap();
    assert!(alive.len() > 1000 && alive[1..].iter().all(|n| n == 1), "one instance all day: {:?}", &alive[..5]);
}

#[test]
fn quickstart_simulates_both_the_function_and_the_container() {
    let dir = tempfile::tempdir().unwrap();
    let workload = concat!(env!("CARGO_MANIFEST_DIR"), "/workloads/quickstart.toml");
    let json = simulate_binary_json(std::path::Path::new(workload), &dir.path().join("out"), &[]);
    assert_counts_add_up(&json);
    let kinds: Vec<&str> = json["targets"].as_array().unwrap().iter().map(|t| t["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["function", "container"]);
    let container = &json["targets"][1];
    assert_eq!(container["measurement"]["cold"], 0, "an always-on fleet has no cold starts");
    assert!(container["measurement"]["requests"].as_u64().unwrap() > 0);
    let costs = json["analysis"]["targets"].as_array().unwrap();
    assert!(costs.iter().all(|t| t["cost"]["monthly"]["total"].as_f64().unwrap() > 0.0), "{costs:?}");
    assert!(costs[1]["cost"]["basis"].as_str().unwrap().contains("EC2 t3.micro always on"));
}
