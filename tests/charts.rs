//! The charts' structure, as snapshots and as the fixes they must keep: the latency axis
//! logarithmic when the tail dwarfs the body, the cost axis labelled to the cent and below, a
//! long run's time axis in hours and its sparse rate per minute, names that do not collide with
//! four targets, and the breakdown of cold starts, outcomes and cost.
//!
//! `UPDATE_SNAPSHOTS=1 cargo test --test charts` rewrites the snapshots after a deliberate change.

mod common;

use std::path::Path;

use common::*;

/// A chart's structure: how many of each element, and every text in order.
fn structure(svg: &str) -> String {
    let document = roxmltree::Document::parse(svg).unwrap();
    let mut counts = std::collections::BTreeMap::new();
    let mut texts = Vec::new();
    for node in document.descendants().filter(roxmltree::Node::is_element) {
        *counts.entry(node.tag_name().name().to_string()).or_insert(0) += 1;
        if node.tag_name().name() == "text" {
            texts.push(node.text().unwrap_or_default().trim().to_string());
        }
    }
    let counts: Vec<String> = counts.iter().map(|(tag, n)| format!("{tag}: {n}")).collect();
    format!("{}\n--\n{}\n", counts.join("\n"), texts.join("\n"))
}

fn render(results: &Path, out: &Path) {
    let output = coldbench().arg("report").arg(results).arg("--out").arg(out).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

fn check_snapshot(name: &str, svg: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/charts").join(format!("{name}.txt"));
    let rendered = structure(svg);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &rendered).unwrap();
    }
    assert_eq!(
        rendered,
        std::fs::read_to_string(&path).unwrap_or_default(),
        "{name}: rerun with UPDATE_SNAPSHOTS=1 if intended"
    );
}

fn texts(svg: &str) -> Vec<String> {
    let document = roxmltree::Document::parse(svg).unwrap();
    document
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or_default().trim().to_string())
        .collect()
}

#[test]
fn the_quickstart_charts_keep_their_structure_and_fixes() {
    let out = tempfile::tempdir().unwrap();
    render(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/quickstart-results.json")), out.path());
    let read = |name: &str| std::fs::read_to_string(out.path().join(format!("{name}.svg"))).unwrap();
    for chart in ["latency", "timeline", "cost", "summary", "breakdown", "init", "usage"] {
        check_snapshot(&format!("quickstart-{chart}"), &read(chart));
    }
    let latency = texts(&read("latency"));
    // p99 is 28 × the container's p50: the axis is logarithmic, so the body is visible.
    assert!(latency.iter().any(|t| t.contains("log scale, from intended send time")), "{latency:?}");
    assert!(latency.iter().any(|t| t == "function (cold only)") && latency.iter().any(|t| t == "function (warm only)"));
    let cost = texts(&read("cost"));
    assert!(cost.iter().any(|t| t == "$0.01") && !cost.iter().any(|t| t == "$0.00"), "every tick labelled: {cost:?}");
    let breakdown = texts(&read("breakdown"));
    for title in ["requests that met a cold start (%)", "requests by outcome (%)", "cost per month by line item (USD)"]
    {
        assert!(breakdown.iter().any(|t| t == title), "{title}: {breakdown:?}");
    }
    assert!(breakdown.iter().any(|t| t == "compute") && breakdown.iter().any(|t| t == "requests"), "{breakdown:?}");
}

#[test]
fn a_long_sparse_run_reads_in_hours_and_per_minute_and_four_names_do_not_collide() {
    let dir = tempfile::tempdir().unwrap();
    let workload = concat!(env!("CARGO_MANIFEST_DIR"), "/workloads/keep-warm.toml");
    let output = coldbench().args(["simulate", workload, "--out"]).arg(dir.path()).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let folder = std::fs::read_dir(dir.path()).unwrap().next().unwrap().unwrap().path();
    let read = |name: &str| std::fs::read_to_string(folder.join(format!("{name}.svg"))).unwrap();
    let timeline = texts(&read("timeline"));
    assert!(timeline.iter().any(|t| t == "hours since the target's load started"), "{timeline:?}");
    assert!(timeline.iter().any(|t| t == "requests / min"), "a sparse rate per minute: {timeline:?}");
    assert!(timeline.iter().any(|t| t == "8.0" || t == "7.0"), "hour ticks: {timeline:?}");
    let summary = texts(&read("summary"));
    for name in ["on-demand", "pinged", "provisioned", "container"] {
        assert_eq!(summary.iter().filter(|t| *t == name).count(), 1, "{name} once, in the name strip: {summary:?}");
    }
}
