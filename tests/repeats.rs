//! `run --repeat N`: every target N times, interleaved, with each figure's spread in the table,
//! results.json and the verdict.

mod common;

use common::*;

#[test]
fn repeat_3_runs_each_target_three_times_interleaved_and_prints_spreads() {
    let dir = tempfile::tempdir().unwrap();
    let workload = write_workload(
        dir.path(),
        "w.toml",
        r#"
name = "repeats"
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
"#,
    );
    let out = dir.path().join("out");
    let output = coldbench().args(["run", "--repeat", "3", "--out"]).arg(&out).arg(&workload).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    // Interleaved: each target once, then each again.
    let order: Vec<&str> = stderr.lines().filter(|l| l.starts_with("measuring ")).collect();
    assert_eq!(
        order,
        [
            "measuring container (container), run 1 of 3",
            "measuring function (function), run 1 of 3",
            "measuring container (container), run 2 of 3",
            "measuring function (function), run 2 of 3",
            "measuring container (container), run 3 of 3",
            "measuring function (function), run 3 of 3",
        ]
    );
    assert!(stdout.contains("over 3 runs: median [95 % CI] (min–max)"), "{stdout}");
    let p99 = stdout.lines().find(|l| l.trim_start().starts_with("latency p99") && l.contains('[')).unwrap();
    assert_eq!(p99.matches("ms [").count() + p99.matches("µs [").count(), 2, "a spread per target: {p99}");
    assert!(stdout.contains("Over 3 interleaved runs of each target"), "{stdout}");

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results_path(&out).unwrap()).unwrap()).unwrap();
    assert_valid_results(&json);
    let repeats = json["repeats"].as_array().unwrap();
    assert_eq!(repeats.len(), 2, "runs 2 and 3 beside run 1");
    let started = |run: &serde_json::Value, i: usize| run[i]["started_at"].as_str().unwrap().to_string();
    let mut times = vec![started(&json["targets"], 0), started(&json["targets"], 1)];
    for run in repeats {
        assert_eq!(run.as_array().unwrap().len(), 2);
        times.extend([started(run, 0), started(run, 1)]);
    }
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "interleaved in time: {times:?}");
    let summary = json["analysis"]["repeats"].as_array().unwrap();
    assert_eq!(summary.len(), 2);
    for (i, s) in summary.iter().enumerate() {
        let values: Vec<f64> = s["p99_ms"]["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let measured: Vec<f64> = std::iter::once(&json["targets"][i])
            .chain(repeats.iter().map(|run| &run[i]))
            .map(|t| t["measurement"]["latency"]["p99_us"].as_f64().unwrap() / 1e3)
            .collect();
        assert_eq!(values, measured, "{}: one value per run, in order", s["target"]);
        assert_eq!(s["cost_per_month"]["values"].as_array().unwrap().len(), 3, "each run priced");
        let (low, high) = (s["p99_ms"]["ci95"][0].as_f64().unwrap(), s["p99_ms"]["ci95"][1].as_f64().unwrap());
        let mean = s["p99_ms"]["mean"].as_f64().unwrap();
        assert!(low <= mean && mean <= high);
    }
}
