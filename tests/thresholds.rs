//! Thresholds (k6's convention): pass/fail criteria on a run's figures; a failed one exits 99,
//! distinct from a usage error (1) and a target that failed (2).

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_threshold_exits_99_and_a_passed_one_0() {
    let (addr, stop) = serve(|_request| async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        Ok(http::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(b"ok"))))
    })
    .await;
    let url = format!("http://{addr}/");
    let load = |thresholds: &[&str]| {
        let mut command = coldbench();
        command.args(["load", "-c", "2", "-n", "40", "--quiet", &url]);
        for t in thresholds {
            command.args(["--threshold", t]);
        }
        command.output().unwrap()
    };
    let passed = load(&["p99 < 5s", "error_rate <= 0%", "throughput > 1/s"]);
    let failed = load(&["p50 < 1ms", "error_rate < 1%"]);
    let json = {
        let mut command = coldbench();
        command.args(["load", "-c", "2", "-n", "40", "--quiet", "--json", "--threshold", "p50<1ms", &url]);
        command.output().unwrap()
    };
    stop.cancel();
    let stdout = String::from_utf8_lossy(&passed.stdout);
    assert_eq!(passed.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("thresholds:") && stdout.contains("✓ http://") && stdout.contains("p99 < 5s"), "{stdout}");
    let stdout = String::from_utf8_lossy(&failed.stdout);
    assert_eq!(failed.status.code(), Some(99), "{stdout}");
    assert!(stdout.contains("✗") && stdout.contains("p50 < 1ms (actual 2"), "{stdout}");
    assert!(stdout.contains("✓") && stdout.contains("error_rate < 1%"), "the passing one is listed too: {stdout}");
    assert_eq!(json.status.code(), Some(99));
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_valid_results(&json);
    let verdict = &json["analysis"]["thresholds"][0];
    assert_eq!((verdict["passed"].as_bool(), verdict["threshold"].as_str()), (Some(false), Some("p50 < 1ms")));
    assert!(verdict["actual"].as_f64().unwrap() >= 20_000.0, "{verdict}");
    // A bad criterion is a usage error.
    let bad = coldbench().args(["load", "-n", "1", "--threshold", "p98 < 1s", &url]).output().unwrap();
    assert!(!bad.status.success() && bad.status.code() != Some(99), "a usage error, not a verdict");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a threshold metric"));
}

#[test]
fn workload_thresholds_apply_to_all_targets_or_one_and_are_kept_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let workload = write_workload(
        dir.path(),
        "w.toml",
        r#"
name = "gates"
duration = "1s"
[traffic]
pattern = "constant"
rate = 10
[function]
work = { kind = "sleep", duration = "5ms" }
[[targets]]
name = "container"
kind = "container"
[[targets]]
name = "function"
kind = "function"
[thresholds]
error_rate = "< 1%"
[thresholds.function]
cold_share = "<= 1%"
cost_per_million = "< $1000"
"#,
    );
    let out = dir.path().join("out");
    let output = coldbench().args(["run", "--quiet", "--out"]).arg(&out).arg(&workload).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The function's first request of ten is cold: 10 % > 1 %.
    assert_eq!(output.status.code(), Some(99), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("✗ function: cold_share <= 1%"), "{stdout}");
    assert!(
        stdout.contains("✓ container: error_rate < 1%") && stdout.contains("✓ function: error_rate < 1%"),
        "{stdout}"
    );
    let results = results_path(&out).unwrap();
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap();
    assert_valid_results(&json);
    assert_eq!(json["workload"]["thresholds"].as_array().unwrap().len(), 3);
    assert_eq!(json["analysis"]["thresholds"].as_array().unwrap().len(), 4, "error_rate on both, two on the function");
    let summary = std::fs::read_to_string(results.with_file_name("summary.md")).unwrap();
    assert!(summary.contains("## Thresholds") && summary.contains("✗ function"), "{summary}");
    // `report` judges them again from results.json: the same verdict, the same exit code.
    let again = coldbench().arg("report").arg(&results).output().unwrap();
    assert_eq!(again.status.code(), Some(99));
    // A threshold for a target the workload does not have is refused before anything runs.
    let unknown = coldbench().args(["run", "--quiet", "--threshold", "nosuch:p99<1s"]).arg(&workload).output().unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("\"nosuch\" is not a target"));
}
