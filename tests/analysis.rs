//! Analysis apart from measurement, in process: a report is priced when it is rendered, so an
//! old run can be priced again; interrupted and failed targets are priced honestly; `compare`
//! says what makes two runs differ. One regression test per bug found trying the tool.

mod common;

use std::path::Path;

use coldbench::analysis::{analyse, compare};
use coldbench::cost::{CostItem, Pricing};
use coldbench::metrics::{RunReport, TargetStatus};
use coldbench::report::read_results;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/quickstart-results.json");

fn fixture() -> RunReport {
    read_results(Path::new(FIXTURE)).unwrap()
}

fn total(report: &RunReport, pricing: &Pricing, target: &str) -> f64 {
    analyse(report, pricing).unwrap().cost_of(target).unwrap().monthly.total
}

#[test]
fn doubling_the_gb_second_price_doubles_the_function_compute_and_nothing_else() {
    let report = fixture();
    let mut doubled = report.pricing.clone();
    doubled.lambda.x86_gb_second *= 2.0;
    let (before, after) = (analyse(&report, &report.pricing).unwrap(), analyse(&report, &doubled).unwrap());
    let (f0, f1) = (before.cost_of("function").unwrap(), after.cost_of("function").unwrap());
    let compute = f0.monthly.get(CostItem::Compute);
    assert!(compute > 0.0);
    assert!((f1.monthly.get(CostItem::Compute) - 2.0 * compute).abs() < 1e-9);
    assert!((f1.monthly.total - (f0.monthly.total + compute)).abs() < 1e-9, "only compute moved");
    for item in [CostItem::Requests, CostItem::FrontDoor, CostItem::Provisioned, CostItem::KeepWarm] {
        assert_eq!(f0.monthly.get(item), f1.monthly.get(item), "{item:?}");
    }
    assert_eq!(before.cost_of("container"), after.cost_of("container"), "the container's bill is untouched");
}

#[test]
fn report_with_pricing_reprices_an_old_run_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let embedded = coldbench::cost::EMBEDDED;
    let doubled = embedded.replace("x86_gb_second = 0.0000166667", "x86_gb_second = 0.0000333334");
    assert_ne!(embedded, doubled, "the catalog line this test edits exists");
    let pricing = dir.path().join("pricing.toml");
    std::fs::write(&pricing, doubled).unwrap();
    let out = dir.path().join("out");
    let output = common::coldbench()
        .arg("report")
        .arg(FIXTURE)
        .arg("--pricing")
        .arg(&pricing)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    common::assert_valid_results(&json);
    let report = fixture();
    let expected =
        total(&report, &Pricing::parse(&std::fs::read_to_string(&pricing).unwrap(), "x").unwrap(), "function");
    let priced = json["analysis"]["targets"][0]["cost"]["monthly"]["total"].as_f64().unwrap();
    assert!((priced - expected).abs() < 1e-9, "{priced} vs {expected}");
    assert!(priced > total(&report, &report.pricing, "function"));
}

#[test]
fn an_interrupted_target_is_projected_over_the_time_it_ran() {
    // Regression: 253 requests in 4.8 s were priced as if spread over the workload's 10 s.
    let mut report = fixture();
    let complete = analyse(&report, &report.pricing).unwrap().cost_of("function").unwrap().requests_per_month;
    let target = &mut report.targets[0];
    target.status = TargetStatus::Interrupted;
    target.measurement.elapsed_s = report.workload.duration_s / 2.0;
    let interrupted = analyse(&report, &report.pricing).unwrap().cost_of("function").unwrap().requests_per_month;
    assert!((interrupted / complete - 2.0).abs() < 1e-9, "{interrupted} vs {complete}");
}

#[test]
fn a_failed_target_gets_no_cost_and_says_why() {
    // Regression: a target that never started still got a cost and a break-even line.
    let mut report = fixture();
    report.targets[0].status = TargetStatus::Failed;
    report.targets[0].error = Some("function did not start: boom".into());
    let analysis = analyse(&report, &report.pricing).unwrap();
    assert!(analysis.cost_of("function").is_none());
    assert!(!analysis.verdict.findings.iter().any(|f| f.contains("costs as much as")), "{:?}", analysis.verdict);
    assert!(analysis.verdict.caveats.iter().any(|c| c == "function failed: function did not start: boom."));
    let notes = analysis.notes();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("function: no cost projection: the target failed: function did not start: boom")),
        "{notes:?}"
    );
    assert!(analysis.cost_of("container").is_some());
}

#[test]
fn an_instance_type_only_in_the_given_catalog_is_accepted() {
    // Regression: `[cost] instance` was checked against the embedded catalog, even with --pricing.
    let text = "name = \"x\"\nduration = \"1s\"\n[traffic]\npattern = \"constant\"\nrate = 1\n[cost]\ninstance = \"x9.mega\"\n[[targets]]\nname = \"c\"\nkind = \"container\"\n";
    let workload = coldbench::workload::Workload::parse(Path::new("w.toml"), text).unwrap();
    let err = workload.check_pricing(&Pricing::embedded()).unwrap_err().to_string();
    assert!(err.starts_with("w.toml: cost.instance: no EC2 price for \"x9.mega\""), "{err}");
    let custom = coldbench::cost::EMBEDDED.replace("[ec2.\"t3.micro\"", "[ec2.\"x9.mega\"");
    assert_ne!(custom, coldbench::cost::EMBEDDED);
    workload.check_pricing(&Pricing::parse(&custom, "custom").unwrap()).unwrap();
}

#[test]
fn compare_names_every_difference_that_makes_the_runs_unfair() {
    // Regression: compare compared a complete target with an interrupted one, two workloads, or
    // a measured run with a simulated one without a word; its test compared a file with itself.
    let before = fixture();
    let mut after = fixture();
    after.workload.name = "other".into();
    after.targets[0].status = TargetStatus::Interrupted;
    after.targets[0].measurement.requests += 100;
    after.targets.remove(1);
    after.simulation = Some(coldbench::metrics::SimulationInfo {
        simulated_s: 10.0,
        wall_s: 0.1,
        invocations: 1,
        invocations_per_wall_second: 10.0,
        durations: "nominal".into(),
    });
    let c = compare(&before, &after).unwrap();
    let text = c.to_text();
    assert!(text.contains("warning: the runs come from different workloads"), "{text}");
    assert!(text.contains("warning: before was measured, after was simulated"), "{text}");
    assert!(text.contains("warning: target function: complete before, interrupted after"), "{text}");
    assert!(text.contains("only in before: container"), "{text}");
    assert!(text.contains("function (function): complete before, interrupted after"), "{text}");
    let requests = c.targets[0].figures.iter().find(|f| f.figure == "requests").unwrap();
    assert_eq!(requests.delta, Some(100.0));
    assert!(requests.change_percent.unwrap() > 0.0);
    let same = compare(&before, &before).unwrap();
    assert!(same.warnings.is_empty() && same.only_before.is_empty() && same.only_after.is_empty());
}

#[test]
fn compare_prints_json_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let mut after = fixture();
    after.targets[1].measurement.requests *= 2;
    let path = dir.path().join("after.json");
    let analysis = analyse(&after, &after.pricing).unwrap();
    std::fs::write(&path, coldbench::report::results_json(&after, &analysis).unwrap()).unwrap();
    let output = common::coldbench().arg("compare").arg(FIXTURE).arg(&path).arg("--json").output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let container = json["targets"].as_array().unwrap().iter().find(|t| t["name"] == "container").unwrap();
    let requests = container["figures"].as_array().unwrap().iter().find(|f| f["figure"] == "requests").unwrap();
    assert_eq!(requests["change_percent"].as_f64(), Some(100.0));
}

#[test]
fn surplus_cpu_credits_of_an_unlimited_t3_are_billed_per_vcpu_hour() {
    let mut report = fixture();
    // The fixture's catalog predates burst credits; today's has them.
    report.pricing = Pricing::embedded();
    assert_eq!(report.workload.cost.instance(), "t3.micro");
    let before = analyse(&report, &report.pricing).unwrap().cost_of("container").unwrap().monthly.clone();
    assert_eq!(before.get(CostItem::CpuCredits), 0.0);
    // 6 surplus credits (6 vCPU-minutes) in the run's 10 s: 0.1 vCPU-hour per 10 s.
    let container = report.targets.iter_mut().find(|t| t.name == "container").unwrap();
    container.instances[0].credits = Some(coldbench::metrics::CreditsReport {
        mode: coldbench::cost::CreditMode::Unlimited,
        surplus: 6.0,
        ..Default::default()
    });
    let after = analyse(&report, &report.pricing).unwrap().cost_of("container").unwrap().monthly.clone();
    let hours = report.pricing.hours_per_month;
    let expected = 0.1 * 0.05 * hours * 3600.0 / report.workload.duration_s;
    assert!((after.get(CostItem::CpuCredits) - expected).abs() < 1e-9, "{after:?}");
    assert!((after.total - before.total - expected).abs() < 1e-9);
}

#[test]
fn a_fargate_task_is_priced_per_vcpu_and_gb_hour_and_has_no_credits() {
    let mut report = fixture();
    report.pricing = Pricing::embedded();
    report.workload.cost.instance = None;
    report.workload.cost.fargate = Some(coldbench::cost::FargateSize { vcpu: 0.5, memory_gb: 1.0 });
    let container = report.targets.iter_mut().find(|t| t.name == "container").unwrap();
    container.instances[0].credits = Some(coldbench::metrics::CreditsReport { surplus: 6.0, ..Default::default() });
    let analysis = analyse(&report, &report.pricing).unwrap();
    let cost = analysis.cost_of("container").unwrap();
    let running = report.targets.iter().find(|t| t.name == "container").unwrap().instances.len() as f64;
    let hours = report.pricing.hours_per_month;
    let f = &report.pricing.fargate["x86"];
    let expected = running * (0.5 * f.vcpu_hourly + 1.0 * f.gb_hourly) * hours;
    assert!((cost.monthly.get(CostItem::Compute) - expected).abs() < 1e-9, "{:?}", cost.monthly);
    assert_eq!(cost.monthly.get(CostItem::CpuCredits), 0.0, "Fargate has no burst credits to bill");
    assert!(cost.basis.starts_with(&format!("{running} × Fargate 0.5 vCPU / 1 GB always on")), "{}", cost.basis);
    // The reference's monthly figure for 0.5 vCPU / 1 GB: $18.02 per task.
    assert_eq!(format!("{:.2}", expected / running), "18.02");
}

#[test]
fn compare_fail_if_gates_a_synthetic_regression() {
    let dir = tempfile::tempdir().unwrap();
    let mut after = fixture();
    // The function's p99 rises by half, nothing else changes.
    let function = after.targets.iter_mut().find(|t| t.name == "function").unwrap();
    let latency = function.measurement.latency.as_mut().unwrap();
    latency.p99_us += latency.p99_us / 2;
    let path = dir.path().join("after.json");
    let analysis = analyse(&after, &after.pricing).unwrap();
    std::fs::write(&path, coldbench::report::results_json(&after, &analysis).unwrap()).unwrap();
    let gate = |gates: &[&str]| {
        let mut command = common::coldbench();
        command.arg("compare").arg(FIXTURE).arg(&path);
        for g in gates {
            command.args(["--fail-if", g]);
        }
        command.output().unwrap()
    };
    let failed = gate(&["p99 +10%", "cost +5%"]);
    let text = String::from_utf8_lossy(&failed.stdout);
    assert_eq!(failed.status.code(), Some(99), "{text}");
    assert!(text.contains("✗ function: p99 +10% (+50.0%)") && text.contains("✓ container: p99 +10% (+0.0%)"), "{text}");
    assert!(text.contains("✓ function: cost +5%"), "{text}");
    let passed = gate(&["p99 +60%", "throughput -5%"]);
    assert_eq!(passed.status.code(), Some(0), "{}", String::from_utf8_lossy(&passed.stdout));
    let json = common::coldbench()
        .arg("compare")
        .arg(FIXTURE)
        .arg(&path)
        .args(["--json", "--fail-if", "p99 +10%"])
        .output()
        .unwrap();
    assert_eq!(json.status.code(), Some(99));
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(json["gates"].as_array().unwrap().iter().any(|g| g["target"] == "function" && g["failed"] == true));
    assert!(coldbench::analysis::Gate::parse("p98 +10%").unwrap_err().contains("use one of: requests"));
    assert!(coldbench::analysis::Gate::parse("p99 10%").unwrap_err().contains("+N%"));
}
