//! Report outputs: every file of a run folder, re-rendered from results.json alone; CSV columns
//! as documented; the Markdown summary as a snapshot; the .hlog read by an independent
//! HdrHistogram implementation (Python `hdrhistogram`, `#[ignore]`, run by .ci/run).

mod common;

use std::path::{Path, PathBuf};

use common::*;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/quickstart-results.json");

fn report_into(results: &Path, out: &Path) {
    let output = coldbench().arg("report").arg(results).arg("--out").arg(out).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

#[test]
fn a_run_folder_holds_every_output_and_report_reproduces_them_byte_for_byte() {
    let out = tempfile::tempdir().unwrap();
    let workload = concat!(env!("CARGO_MANIFEST_DIR"), "/workloads/quickstart.toml");
    run_json(workload.as_ref(), Some(std::time::Duration::from_secs(2)), out.path());
    let run = files(out.path()).remove(0);
    let names: Vec<String> =
        files(&run).iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    for expected in
        ["results.json", "summary.md", "timeseries.csv", "invocations.csv", "function.hlog", "container.hlog"]
    {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }
    // invocations.csv is streamed as the run goes: a header, then one row per user invocation.
    let invocations = std::fs::read_to_string(run.join("invocations.csv")).unwrap();
    let mut lines = invocations.lines();
    assert_eq!(
        lines.next().unwrap(),
        "target,request_id,instance,cold,provisioned,init_ms,duration_ms,billed_ms,memory_mb,max_memory_used_mb,outcome,\
         cpu_ms,throttled_ms"
    );
    let rows: Vec<&str> = lines.collect();
    assert!(rows.iter().all(|r| r.split(',').count() == 13 && r.starts_with("function,")), "{rows:?}");
    let results = results(out.path());
    assert_eq!(Some(rows.len() as u64), results["targets"][0]["function"]["invocations"]["invocations"].as_u64());
    let again = tempfile::tempdir().unwrap();
    report_into(&run.join("results.json"), again.path());
    for file in files(again.path()) {
        let name = file.file_name().unwrap();
        let (again, first) = (std::fs::read(&file).unwrap(), std::fs::read(run.join(name)).unwrap());
        assert!(again == first, "{name:?} differs after `coldbench report`");
    }
}

#[test]
fn csv_columns_are_as_documented() {
    let out = tempfile::tempdir().unwrap();
    report_into(Path::new(FIXTURE), out.path());
    let timeseries = std::fs::read_to_string(out.path().join("timeseries.csv")).unwrap();
    let mut lines = timeseries.lines();
    assert_eq!(
        lines.next().unwrap(),
        "target,second,requests,ok,errors,throttled,cold_starts,p50_us,p99_us,max_us,max_in_flight,instances_alive"
    );
    let rows: Vec<&str> = lines.collect();
    assert!(rows.len() >= 6, "3 s × 2 targets");
    assert!(rows.iter().all(|r| r.split(',').count() == 12));
}

#[test]
fn summary_md_matches_its_snapshot() {
    let out = tempfile::tempdir().unwrap();
    report_into(Path::new(FIXTURE), out.path());
    let rendered = std::fs::read_to_string(out.path().join("summary.md")).unwrap();
    let snapshot_path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/summary.md");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(snapshot_path, &rendered).unwrap();
    }
    assert_eq!(rendered, std::fs::read_to_string(snapshot_path).unwrap(), "rerun with UPDATE_SNAPSHOTS=1 if intended");
}

#[test]
fn compare_prints_deltas_per_shared_target() {
    let output = coldbench().args(["compare", FIXTURE, FIXTURE]).output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("function (function)") && text.contains("container (container)"));
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("latency p99") && l.trim_end().ends_with("+0.0%")),
        "{text}"
    );
}

#[test]
#[ignore = "needs the Python hdrhistogram package (installed by .ci/run)"]
fn hlog_is_read_by_an_independent_hdrhistogram_implementation() {
    let out = tempfile::tempdir().unwrap();
    report_into(Path::new(FIXTURE), out.path());
    let script = r##"
import csv, sys
from hdrh.histogram import HdrHistogram
folder = sys.argv[1]
series = {}
for row in csv.DictReader(open(f"{folder}/timeseries.csv")):
    series[(row["target"], float(row["second"]))] = row
checked = 0
for target in ("function", "container"):
    for line in open(f"{folder}/{target}.hlog"):
        if line.startswith("#") or line.startswith('"'):
            continue
        start, length, max_ms, encoded = line.strip().split(",")
        h = HdrHistogram.decode(encoded)
        row = series[(target, float(start))]
        assert h.get_total_count() == int(row["requests"]), (target, start, h.get_total_count(), row)
        # Percentile ranks are rounded differently by the two libraries; the maximum and the
        # mean do not depend on that and must agree to the histogram's precision.
        assert h.get_max_value() == int(row["max_us"]), (target, start, h.get_max_value(), row["max_us"])
        assert abs(h.get_max_value() / 1000 - float(max_ms)) < 0.01, (target, start)
        p99 = h.get_value_at_percentile(99)
        assert h.get_min_value() <= p99 <= h.get_max_value()
        checked += 1
print(checked)
"##;
    let python = std::process::Command::new("python3").arg("-c").arg(script).arg(out.path()).output().unwrap();
    assert!(python.status.success(), "{}", String::from_utf8_lossy(&python.stderr));
    let checked: u32 = String::from_utf8_lossy(&python.stdout).trim().parse().unwrap();
    assert!(checked >= 6, "every interval line was decoded ({checked})");
}

/// The fixture with each target's instances sampled once a second, as where resources are
/// enforced: CPU rising to a quota, memory growing.
fn fixture_with_usage(dir: &Path) -> PathBuf {
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(FIXTURE).unwrap()).unwrap();
    for (t, target) in json["targets"].as_array_mut().unwrap().iter_mut().enumerate() {
        let instances: Vec<serde_json::Value> = (0..3)
            .map(|i| {
                let samples: Vec<serde_json::Value> = (1..=10)
                    .map(|s| {
                        let s = f64::from(s);
                        serde_json::json!({
                            "t_s": s, "cpu_vcpus": (0.05 * s).min(0.289) / f64::from(i + 1),
                            "throttled": 0.0, "withheld_vcpus": 0.0, "memory_mib": 20.0 * (t as f64 + 1.0) + s,
                        })
                    })
                    .collect();
                serde_json::json!({ "id": format!("i-{i}"), "quota_vcpus": 0.289, "samples": samples })
            })
            .collect();
        target["usage"] = serde_json::json!({ "host_cpus": 2, "seconds": [], "instances": instances });
    }
    let path = dir.join("results.json");
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    path
}

#[test]
fn every_chart_is_a_valid_svg_and_a_non_blank_png_and_the_html_is_self_contained() {
    let (input, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    report_into(&fixture_with_usage(input.path()), out.path());
    let titles = [
        ("latency", "Latency by percentile"),
        ("timeline", "Timeline"),
        ("init", "Init duration of cold starts"),
        ("cost", "Monthly cost vs monthly requests"),
        ("summary", "p50, p99 and cost per target"),
        ("usage", "CPU and memory per instance"),
        ("breakdown", "Cold starts, outcomes and cost per target"),
    ];
    for (name, title) in titles {
        let svg = std::fs::read_to_string(out.path().join(format!("{name}.svg"))).unwrap();
        let document = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{name}.svg does not parse: {e}"));
        assert_eq!(document.root_element().tag_name().name(), "svg", "{name}.svg");
        assert!(svg.contains(title), "{name}.svg has no title");
        let png =
            image::load_from_memory(&std::fs::read(out.path().join(format!("{name}.png"))).unwrap()).unwrap().to_rgb8();
        assert_eq!(png.dimensions(), (960, 560), "{name}.png");
        let inked = png.pixels().filter(|p| p.0 != [255, 255, 255]).count();
        let share = inked as f64 / f64::from(960 * 560);
        assert!(share > 0.02 && share < 0.8, "{name}.png: {:.1} % of the pixels are drawn", share * 100.0);
        // Text is drawn with the embedded font: nearly black pixels exist.
        assert!(png.pixels().any(|p| p.0.iter().all(|c| *c < 40)), "{name}.png has no text");
    }
    let svg = std::fs::read_to_string(out.path().join("latency.svg")).unwrap();
    assert!(svg.contains("99.9%"), "the nines axis is labelled");
    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert_eq!(html.matches("<svg").count(), 7, "the seven charts are inline");
    assert!(!html.contains("src=\"") && !html.contains("href=\"") && !html.contains("url("), "no external assets");
    assert!(html.contains("<td>latency p99</td>"));
}
