//! The examples under `examples/` run as their README says: each workload, shortened to a few
//! seconds, answers every request both ways, the function with its cold starts.

mod common;

use std::path::Path;

use common::*;

/// Runs `examples/<name>/workload.toml` for 6 s and checks both targets answered everything.
fn run_example(name: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let workload = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name).join("workload.toml");
    let json = run_json(&workload, Some(std::time::Duration::from_secs(6)), &dir.path().join("out"));
    assert_counts_add_up(&json);
    let targets = json["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2);
    for target in targets {
        let m = &target["measurement"];
        assert!(m["requests"].as_u64().unwrap() > 20, "{}: {m}", target["name"]);
        assert_eq!(m["outcomes"]["ok"], m["requests"], "{}: every request answered: {m}", target["name"]);
    }
    let (container, function) = (&targets[0]["measurement"], &targets[1]["measurement"]);
    assert_eq!(container["requests"], function["requests"], "the same schedule both ways");
    assert_eq!(container["cold"].as_u64(), Some(0));
    assert!(function["cold"].as_u64().unwrap() >= 1, "{function}");
    json
}

#[test]
fn the_python_web_app_runs_both_ways() {
    if python3().is_none() {
        eprintln!("skipped: no python3 on this machine (the example needs only its standard library)");
        return;
    }
    run_example("python-web");
}

#[test]
#[ignore = "needs the awslambdaric Python package (bash scripts/install-examples.sh; .ci/run does it)"]
fn the_python_handler_runs_on_awslambdaric_and_as_a_server() {
    run_example("python-handler");
}

#[test]
#[ignore = "needs aws-lambda-ric installed in examples/node-handler (bash scripts/install-examples.sh; .ci/run does it)"]
fn the_node_handler_runs_on_aws_lambda_ric_and_as_a_server() {
    run_example("node-handler");
}
