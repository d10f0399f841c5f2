//! `coldbench replay`: the shipped synthetic Azure-layout trace (16 functions, one day) under a
//! fixed 10-minute, a fixed 20-minute and the adaptive keep-alive policy.

mod common;

use common::*;

const TRACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/workloads/traces/azure-synthetic.csv");

#[test]
fn policies_are_compared_on_cold_starts_and_idle_memory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = coldbench().args(["replay", TRACE, "--json", "--out"]).arg(&out).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["functions"], 16);
    assert_eq!(json["horizon_s"], 86_400.0);
    let policies = json["policies"].as_array().unwrap();
    let by = |prefix: &str| policies.iter().find(|p| p["policy"].as_str().unwrap().starts_with(prefix)).unwrap();
    let (ten, twenty, hybrid) = (by("fixed 10m"), by("fixed 20m"), by("hybrid"));
    let n = |p: &serde_json::Value, k: &str| p[k].as_f64().unwrap();
    // The same trace under every policy.
    assert_eq!(ten["invocations"], twenty["invocations"]);
    assert_eq!(ten["invocations"], hybrid["invocations"]);
    assert!(n(ten, "invocations") > 100_000.0);
    // A longer fixed keep-alive trades idle memory for cold starts...
    assert!(n(twenty, "cold") < n(ten, "cold"));
    assert!(n(twenty, "idle_gb_s") > n(ten, "idle_gb_s"));
    // ... the adaptive one gets at least the 20-minute cold starts for less idle memory, by
    // pre-warming the periodic functions a fixed keep-alive always misses.
    assert!(n(hybrid, "cold") <= n(twenty, "cold"), "{hybrid} vs {twenty}");
    assert!(n(hybrid, "idle_gb_s") < n(twenty, "idle_gb_s"), "{hybrid} vs {twenty}");
    assert!(n(hybrid, "prewarmed") > 0.0);
    assert!(n(hybrid, "functions_always_cold") < n(ten, "functions_always_cold"));
    for p in policies {
        assert!(n(p, "cold_fraction") > 0.0 && n(p, "cold_fraction") < 1.0);
        assert!(n(p, "monthly_usd") > n(p, "billed_usd") + n(p, "idle_usd"), "scaled from a day to a month");
    }
    let folder = std::fs::read_dir(&out).unwrap().next().unwrap().unwrap().path();
    let markdown = std::fs::read_to_string(folder.join("replay.md")).unwrap();
    assert!(markdown.contains("| hybrid histogram (fallback 10m) |"), "{markdown}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("replay.json")).unwrap()).unwrap();
    assert_eq!(saved["policies"], json["policies"]);
}

#[test]
fn bad_policies_and_missing_traces_are_named() {
    let output = coldbench().args(["replay", TRACE, "--policies", "10m,sometimes"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "a usage error");
    assert!(stderr.contains("invalid value 'sometimes' for '--policies"), "{stderr}");
    assert!(stderr.contains("hybrid"), "the accepted forms are listed: {stderr}");
    let output = coldbench().args(["replay", "no/such/trace.csv"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no/such/trace.csv: cannot read the trace"), "{stderr}");
}
