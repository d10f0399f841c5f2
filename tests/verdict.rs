//! The verdict as snapshots: for each shipped workload's fixture (simulated, and quickstart
//! measured), the sentences a reader sees first, checked word for word; and the facts behind
//! them checked against the analysis, so a snapshot cannot bless a wrong verdict.
//!
//! `UPDATE_SNAPSHOTS=1 cargo test --test verdict` rewrites the snapshots after a deliberate change.

use std::path::{Path, PathBuf};

use coldbench::analysis::analyse;
use coldbench::report::read_results;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/verdict");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 10, "the shipped workloads' fixtures are missing from {}", dir.display());
    paths
}

#[test]
fn each_fixtures_verdict_matches_its_snapshot() {
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/verdict");
    let mut mismatched = Vec::new();
    for fixture in fixtures() {
        let report = read_results(&fixture).unwrap();
        let analysis = analyse(&report, &report.pricing).unwrap();
        let rendered = analysis.verdict.lines().join("\n") + "\n";
        let snapshot = snapshots.join(fixture.file_stem().unwrap()).with_extension("txt");
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::create_dir_all(&snapshots).unwrap();
            std::fs::write(&snapshot, &rendered).unwrap();
        }
        let expected = std::fs::read_to_string(&snapshot).unwrap_or_default();
        if rendered != expected {
            mismatched.push(format!("{}:\n{rendered}\nexpected:\n{expected}", fixture.display()));
        }
    }
    assert!(mismatched.is_empty(), "rerun with UPDATE_SNAPSHOTS=1 if intended:\n{}", mismatched.join("\n"));
}

#[test]
fn the_verdict_names_the_cheapest_and_the_fastest_as_the_analysis_has_them() {
    for fixture in fixtures() {
        let report = read_results(&fixture).unwrap();
        let analysis = analyse(&report, &report.pricing).unwrap();
        let findings = analysis.verdict.findings.join("\n");
        let priced: Vec<_> =
            analysis.targets.iter().filter_map(|t| Some((t.name.as_str(), t.cost.as_ref()?.monthly.total))).collect();
        if priced.len() >= 2 {
            let cheapest = priced.iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap().0;
            assert!(findings.contains(&format!("), {cheapest} is the cheapest")), "{}: {findings}", fixture.display());
        }
        let latencies: Vec<_> = report
            .targets
            .iter()
            .filter_map(|t| Some((t.name.as_str(), t.measurement.latency.as_ref()?.p99_us)))
            .collect();
        let lowest = latencies.iter().map(|l| l.1).min();
        if latencies.len() >= 2 && latencies.iter().any(|l| Some(l.1) != lowest) {
            let fastest = latencies.iter().min_by_key(|l| l.1).unwrap().0;
            assert!(findings.contains(&format!("the lowest p99 is {fastest}'s")), "{}: {findings}", fixture.display());
        }
        for t in report.targets.iter().filter(|t| t.measurement.cold > 0) {
            assert!(
                findings.contains(&format!("{}: {} of", t.name, t.measurement.cold)),
                "{}: {} cold starts unsaid: {findings}",
                fixture.display(),
                t.name
            );
        }
        if report.simulation.is_some() {
            assert!(analysis.verdict.caveats.iter().any(|c| c.starts_with("simulated, not measured")));
        }
    }
}

#[test]
fn interrupted_unenforced_and_failed_targets_are_caveats() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/verdict/quickstart-measured.json");
    let mut report = read_results(&path).unwrap();
    report.targets[0].status = coldbench::metrics::TargetStatus::Interrupted;
    report.targets[0].resources = Some("not enforced (no writable cgroup)".into());
    report.targets[1].status = coldbench::metrics::TargetStatus::Failed;
    report.targets[1].error = Some("container did not start: exit status: 1".into());
    let verdict = analyse(&report, &report.pricing).unwrap().verdict;
    let caveats = verdict.caveats.join("\n");
    assert!(caveats.contains("function was interrupted after"), "{caveats}");
    assert!(caveats.contains("resources not enforced for function"), "{caveats}");
    assert!(caveats.contains("container failed: container did not start: exit status: 1."), "{caveats}");
    assert!(!verdict.findings.join("\n").contains("the lowest p99"), "one target left: nothing to rank");
}

#[test]
fn repeated_runs_give_medians_and_say_what_is_within_the_noise() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/verdict/quickstart-measured.json");
    let mut report = read_results(&path).unwrap();
    // Run 2 swaps which target is faster at p50; the p99s stay as they are, far apart.
    let mut second = report.targets.clone();
    second[0].measurement.latency.as_mut().unwrap().p50_us = 6_000;
    second[1].measurement.latency.as_mut().unwrap().p50_us = 12_000;
    report.repeats = vec![second, report.targets.clone()];
    let analysis = analyse(&report, &report.pricing).unwrap();
    let function = analysis.repeats.iter().find(|r| r.target == "function").unwrap();
    assert_eq!(function.runs, 3);
    assert_eq!(function.p50_ms.values, vec![10.871, 6.0, 10.871]);
    assert_eq!(function.p50_ms.median, 10.871);
    let findings = analysis.verdict.findings.join("\n");
    assert!(findings.starts_with("Over 3 interleaved runs"), "{findings}");
    // Medians: container 8.41 ms against the function's 10.87 ms, but the intervals overlap.
    assert!(
        findings.contains(
            "the lowest p50 is container's, 8.41ms (function 10.87ms, 1.3× as high, within the noise of 3 runs)"
        ),
        "{findings}"
    );
    assert!(findings.contains("(function 344.83ms, 23.4× as high)"), "identical runs are no noise: {findings}");
    let rows = coldbench::report::comparison_rows(&report, &analysis);
    let p50 = rows.iter().find(|(label, _)| label.trim() == "latency p50" && label.starts_with("  ")).unwrap();
    assert!(p50.1[0].starts_with("10.87ms [") && p50.1[0].ends_with("(6.00ms–10.87ms)"), "{:?}", p50.1);
}
