//! Malformed workloads: every error names the file and the field.

use std::path::Path;

use coldbench::workload::{TargetSpec, Workload};

const GOOD: &str = r#"
name = "ok"
duration = "10s"
[traffic]
pattern = "poisson"
rate = 5
[[targets]]
name = "c"
kind = "container"
"#;

fn error_of(text: &str) -> String {
    Workload::parse(Path::new("workloads/x.toml"), text).unwrap_err().to_string()
}

#[test]
fn the_good_workload_parses() {
    let w = Workload::parse(Path::new("workloads/x.toml"), GOOD).unwrap();
    assert_eq!(w.spec.targets.len(), 1);
}

#[test]
fn unknown_field_is_named_with_its_position() {
    let err = error_of(&GOOD.replace("rate = 5", "rate = 5\nburst_rate = 9"));
    assert!(err.starts_with("workloads/x.toml:4:1: traffic.burst_rate: unknown field `burst_rate`"), "{err}");
}

#[test]
fn a_wrong_type_inside_a_tagged_table_names_the_field_and_the_type_in_words() {
    let err = error_of(&GOOD.replace("kind = \"container\"", "kind = \"container\"\ncommand = 5"));
    assert!(err.contains(": targets[0].command: invalid type: the number `5`, expected a list"), "{err}");
    let err = error_of(&GOOD.replace("rate = 5", "rate = \"fast\""));
    assert!(err.contains(": traffic.rate: invalid type: the text \"fast\", expected a number"), "{err}");
    assert!(!err.contains("f64"), "{err}");
}

#[test]
fn bad_duration_is_named() {
    let err = error_of(&GOOD.replace("\"10s\"", "\"ten seconds\""));
    assert!(err.starts_with("workloads/x.toml:3:12: duration: invalid duration \"ten seconds\""), "{err}");
}

#[test]
fn negative_rate_is_named_with_its_value() {
    assert_eq!(
        error_of(&GOOD.replace("rate = 5", "rate = -5")),
        "workloads/x.toml: traffic.rate: must be greater than 0, got -5"
    );
}

#[test]
fn no_targets_is_an_error() {
    let text = GOOD.split("[[targets]]").next().unwrap();
    assert_eq!(error_of(text), "workloads/x.toml: targets: no targets: add at least one [[targets]] table");
}

#[test]
fn unknown_pattern_and_target_kind_are_named() {
    let err = error_of(&GOOD.replace("\"poisson\"", "\"gaussian\""));
    assert!(err.contains(":5:11: traffic.pattern: unknown variant `gaussian`"), "{err}");
    let err = error_of(&GOOD.replace("\"container\"", "\"lamda\""));
    assert!(err.contains(":9:8: targets[0].kind: unknown variant `lamda`"), "{err}");
}

#[test]
fn duplicate_target_names_and_bad_urls_are_named() {
    let twice = format!("{GOOD}\n[[targets]]\nname = \"c\"\nkind = \"container\"\n");
    assert!(error_of(&twice).contains("targets[1].name: \"c\" is used by an earlier target"));
    let ftp = GOOD.replace("kind = \"container\"", "kind = \"url\"\nurl = \"ftp://example.com\"");
    assert!(error_of(&ftp).contains("targets[0].url: only http:// and https:// URLs are supported"));
    let https = GOOD.replace("kind = \"container\"", "kind = \"url\"\nurl = \"https://example.com\"");
    assert!(Workload::parse(Path::new("workloads/x.toml"), &https).is_ok());
    let missing = format!("{https}cacert = \"no-such.pem\"\n");
    assert!(
        error_of(&missing).contains("targets[0].cacert: cannot read workloads/no-such.pem"),
        "{}",
        error_of(&missing)
    );
}

#[test]
fn ramp_stage_errors_name_the_stage() {
    let ramp = GOOD.replace(
        "pattern = \"poisson\"\nrate = 5",
        "pattern = \"ramp\"\nstages = [{ from = 0, to = 10, duration = \"5s\" }, { from = 10, to = -1, duration = \"5s\" }]",
    );
    assert_eq!(error_of(&ramp), "workloads/x.toml: traffic.stages[1].to: must be 0 or more, got -1");
}

#[test]
fn missing_trace_file_is_named() {
    let trace = GOOD.replace("pattern = \"poisson\"\nrate = 5", "pattern = \"trace\"\nfile = \"nope.csv\"");
    let err = error_of(&trace);
    assert!(err.starts_with("workloads/x.toml: traffic.file: workloads/nope.csv: cannot read the trace"), "{err}");
}

#[test]
fn shipped_workloads_are_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/workloads");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let w = Workload::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(w.schedule().next().is_some() || !w.warnings.is_empty(), "{} sends nothing", path.display());
            seen += 1;
        }
    }
    assert!(seen >= 4, "quickstart, steady, bursty and ramp at least");
}

#[test]
fn an_unknown_cost_instance_is_named() {
    let text = format!("{GOOD}\n[cost]\ninstance = \"x9.mega\"\n");
    let workload = Workload::parse(Path::new("workloads/x.toml"), &text).unwrap();
    let err = workload.check_pricing(&coldbench::cost::Pricing::embedded()).unwrap_err().to_string();
    assert!(err.starts_with("workloads/x.toml: cost.instance: no EC2 price for \"x9.mega\""), "{err}");
}

#[test]
fn fargate_sizes_are_only_those_fargate_accepts() {
    let with = |cost: &str| format!("{GOOD}\n[cost]\n{cost}\n");
    let w = Workload::parse(Path::new("workloads/x.toml"), &with("fargate = { vcpu = 0.5, memory_gb = 2 }")).unwrap();
    let size = w.spec.cost.instance_size(&coldbench::cost::Pricing::embedded()).unwrap();
    assert_eq!((size.vcpus, size.memory_mb, size.burst), (0.5, 2048, None));

    let err = error_of(&with("fargate = { vcpu = 0.25, memory_gb = 4 }"));
    assert_eq!(
        err,
        "workloads/x.toml: cost.fargate.memory_gb: 4 GB does not go with 0.25 vCPU on Fargate: 0.5, 1, 2 GB"
    );
    let err = error_of(&with("fargate = { vcpu = 3, memory_gb = 8 }"));
    assert!(err.starts_with("workloads/x.toml: cost.fargate.vcpu: 3 is not a Fargate vCPU size"), "{err}");
    let err = error_of(&with("fargate = { vcpu = 8, memory_gb = 18 }"));
    assert!(err.ends_with("16 to 60 GB in 4 GB steps"), "{err}");
    let err = error_of(&with("instance = \"t3.micro\"\nfargate = { vcpu = 1, memory_gb = 2 }"));
    assert!(err.starts_with("workloads/x.toml: cost.fargate: the always-on alternative is either"), "{err}");
    let credits = format!("{GOOD}credits = \"standard\"\n[cost]\nfargate = {{ vcpu = 1, memory_gb = 2 }}\n");
    assert_eq!(
        error_of(&credits),
        "workloads/x.toml: targets[0].credits: a Fargate task has no CPU credits (they belong to t2 and t3 EC2 instances)"
    );
}

#[test]
fn every_shipped_workload_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            Workload::load(&path).unwrap_or_else(|e| panic!("{e}"));
            checked += 1;
        }
    }
    assert!(checked >= 7, "{checked} workloads");
}

#[test]
fn keep_alive_policies_parse_and_a_bad_one_is_named() {
    let function = |extra: &str| GOOD.replace("kind = \"container\"", &format!("kind = \"function\"\n{extra}"));
    for good in ["keep_alive = \"hybrid\"", "keep_alive = \"hybrid:20m\"", "keep_alive = \"exponential:5m\""] {
        Workload::parse(Path::new("workloads/x.toml"), &function(good)).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    let err = error_of(&function("keep_alive = \"forever\""));
    assert!(err.contains("keep_alive") && err.contains("hybrid"), "{err}");
    let err = error_of(&function("keep_alive = \"hybrid\"\nkeep_alive_jitter = \"1m\""));
    assert!(err.contains("keep_alive_jitter: applies to a fixed keep_alive only"), "{err}");
}

#[test]
fn resource_sizes_out_of_range_are_named_with_their_value() {
    let err = error_of(&GOOD.replace("kind = \"container\"", "kind = \"container\"\ncpus = 0"));
    assert!(err.contains("targets[0].cpus") && err.contains("got 0"), "{err}");
    let err = error_of(&GOOD.replace("kind = \"container\"", "kind = \"container\"\nmemory_mb = 4"));
    assert!(err.contains("targets[0].memory_mb") && err.contains("at least 16 MiB"), "{err}");
    let err = error_of(&GOOD.replace("kind = \"container\"", "kind = \"container\"\ninitial_credits = -1.0"));
    assert!(err.contains("targets[0].initial_credits"), "{err}");
    let err = error_of(&GOOD.replace("kind = \"container\"", "kind = \"function\"\ninit_cpus = 0.0"));
    assert!(err.contains("targets[0].init_cpus"), "{err}");
    let err = error_of(&GOOD.replace("kind = \"container\"", "kind = \"container\"\ncredits = \"sometimes\""));
    assert!(err.contains("targets[0]") && err.contains("`sometimes`, expected `standard` or `unlimited`"), "{err}");
}

#[test]
fn cache_work_is_checked_seeded_and_explained() {
    let with = |work: &str| GOOD.replace("[[targets]]", &format!("[function]\nwork = {work}\n[[targets]]"));
    let good = "{ kind = \"cache\", keys = 100, capacity = 10, hit = \"1ms\", miss = \"20ms\" }";
    let w = Workload::parse(Path::new("workloads/x.toml"), &with(good)).unwrap();
    let coldbench::workload::Work::Cache(cache) = &w.spec.function.work else { panic!("{:?}", w.spec.function.work) };
    assert_eq!((cache.zipf, cache.seed), (1.0, Some(w.spec.seed)), "Zipf(1) and the workload's seed by default");
    let err = error_of(&with(&good.replace("capacity = 10", "capacity = 0")));
    assert_eq!(err, "workloads/x.toml: function.work.capacity: must be 1 to 4294967296 entries, got 0");
    let err = error_of(&with(&good.replace("keys = 100", "keys = 100, zipf = -1")));
    assert!(err.starts_with("workloads/x.toml: function.work.zipf: must be an exponent"), "{err}");
    // An Invoke API function cannot say hit or miss: the workload says so.
    let function = with(good).replace("kind = \"container\"", "kind = \"function\"");
    let w = Workload::parse(Path::new("workloads/x.toml"), &function).unwrap();
    assert!(w.warnings.iter().any(|m| m.contains("event = \"http\"")), "{:?}", w.warnings);
    // The simulator does not model which instance holds which key.
    let err = coldbench::simulate::simulate_workload(&w, coldbench::cost::Pricing::embedded(), None, "now")
        .unwrap_err()
        .to_string();
    assert!(err.contains("the cache work's durations depend on which instance serves"), "{err}");
}

#[test]
fn scaling_settings_are_checked_and_named() {
    let with = |scaling: &str| error_of(&format!("{GOOD}scaling = {{ {scaling} }}\n"));
    assert_eq!(
        with(r#"max = 0, metric = "concurrency", target = 4"#),
        "workloads/x.toml: targets[0].scaling.max: must be min (1) to 1000, got 0"
    );
    assert_eq!(
        with(r#"max = 4, metric = "cpu", target = 150"#),
        "workloads/x.toml: targets[0].scaling.target: is a CPU percentage: at most 100, got 150"
    );
    assert_eq!(
        with(r#"max = 4, metric = "concurrency", target = 4, sync = "15s""#),
        "workloads/x.toml: targets[0].scaling.sync: belongs to policy = \"hpa\", not \"target-tracking\""
    );
    assert_eq!(
        with(r#"max = 4, policy = "step", metric = "concurrency", target = 4"#),
        "workloads/x.toml: targets[0].scaling.steps: a step policy needs at least one step, e.g. [[0, 1], [30, 3]]"
    );
    let err = with(r#"max = 4, metric = "memory", target = 4"#);
    assert!(err.contains("unknown variant `memory`"), "{err}");
    let good = format!("{GOOD}instances = 2\nscaling = {{ min = 1, max = 4, metric = \"concurrency\", target = 4 }}\n");
    assert!(Workload::parse(Path::new("workloads/x.toml"), &good).is_ok());
    let outside = format!("{GOOD}instances = 5\nscaling = {{ max = 4, metric = \"concurrency\", target = 4 }}\n");
    let err = Workload::parse(Path::new("workloads/x.toml"), &outside).unwrap_err().to_string();
    assert!(
        err.contains(
            "targets[0].instances: is the count at the start: must be scaling.min (1) to scaling.max (4), got 5"
        ),
        "{err}"
    );
}

#[test]
fn deploy_settings_are_checked_and_named() {
    let with = |deploy: &str| error_of(&format!("{GOOD}deploy = {{ at = \"5s\", {deploy} }}\n"));
    assert_eq!(
        with("max_surge = 0"),
        "workloads/x.toml: targets[0].deploy.max_surge: max_surge and max_unavailable cannot both be 0: the deploy \
         could neither start a new instance nor stop an old one"
    );
    assert_eq!(
        with("max_surge = 1, maximum_percent = 150"),
        "workloads/x.toml: targets[0].deploy.minimum_healthy_percent: give either max_surge / max_unavailable or \
         ECS's minimum_healthy_percent / maximum_percent, not both"
    );
    assert_eq!(
        with("minimum_healthy_percent = 150"),
        "workloads/x.toml: targets[0].deploy.minimum_healthy_percent: must be 0 to 100"
    );
    assert_eq!(
        with("strategy = \"blue-green\""),
        "workloads/x.toml: targets[0].deploy.strategy: must be \"rolling\" (ECS's rolling update), got \"blue-green\""
    );
    let good = format!("{GOOD}deploy = {{ at = \"5s\", minimum_healthy_percent = 50, maximum_percent = 150 }}\n");
    assert!(Workload::parse(Path::new("workloads/x.toml"), &good).is_ok());
}

#[test]
fn requests_are_checked_and_named() {
    let with = |requests: &str| error_of(&GOOD.replace("[[targets]]", &format!("{requests}\n[[targets]]")));
    assert_eq!(
        with("[[requests]]\nbody_file = \"missing.json\""),
        "workloads/x.toml: requests[0].body_file: cannot read workloads/missing.json: No such file or directory (os \
         error 2)"
    );
    assert_eq!(
        with("[[requests]]\npath = \"orders\""),
        "workloads/x.toml: requests[0].path: must be a path starting with '/' (encode spaces as %20), got \"orders\""
    );
    assert_eq!(
        with("[[requests]]\nheaders = { Content-Length = \"3\" }"),
        "workloads/x.toml: requests[0].headers: \"Content-Length\" is set by coldbench for each request"
    );
    let own = format!("{GOOD}requests = []\n");
    assert_eq!(
        error_of(&own),
        "workloads/x.toml: targets[0].requests: needs at least one request, e.g. [{ path = \"/\" }]"
    );
    let invoke = format!("{GOOD}[[targets]]\nname = \"f\"\nkind = \"function\"\nrequests = [{{ path = \"/a\" }}]\n");
    let err = error_of(&invoke);
    assert!(
        err.starts_with(
            "workloads/x.toml: targets[1].requests[0].path: target \"f\" is invoked through the Invoke API"
        ),
        "{err}"
    );
    let w = Workload::parse(Path::new("workloads/x.toml"), &format!("{GOOD}cwd = \"app\"\n")).unwrap();
    let TargetSpec::Container(c) = &w.spec.targets[0] else { panic!() };
    let dir = w.command_dir(c.cwd.as_deref());
    assert!(dir.is_absolute() && dir.ends_with("workloads/app"), "{}", dir.display());
}

#[test]
fn a_web_adapter_needs_isolated_instances() {
    let web = format!("{GOOD}[[targets]]\nname = \"f\"\nkind = \"function\"\nadapter = \"web\"\nnetwork = \"host\"\n");
    let err = error_of(&web);
    assert!(err.starts_with("workloads/x.toml: targets[1].adapter: a web app listens on the same port"), "{err}");
    assert!(error_of(&web.replace("\"web\"", "\"grpc\"")).contains("unknown variant `grpc`"));
}

#[test]
fn concurrency_per_instance_is_lambda_managed_instances_range() {
    let function = GOOD.replace("kind = \"container\"", "kind = \"function\"");
    for bad in ["0", "1601"] {
        assert_eq!(
            error_of(&format!("{function}concurrency_per_instance = {bad}\n")),
            format!(
                "workloads/x.toml: targets[0].concurrency_per_instance: must be 1 to 1600 (Lambda Managed Instances' \
                 range; 1 is classic Lambda), got {bad}"
            )
        );
    }
    assert!(
        Workload::parse(Path::new("workloads/x.toml"), &format!("{function}concurrency_per_instance = 16\n")).is_ok()
    );
}

#[test]
fn a_lambda_target_names_a_function_and_sends_bodies_only() {
    let lambda = GOOD.replace(
        "kind = \"container\"",
        "kind = \"lambda\"\nfunction = \"arn:aws:lambda:us-east-1:123456789012:function:app\"",
    );
    assert!(Workload::parse(Path::new("workloads/x.toml"), &lambda).is_ok());
    let bad = GOOD.replace("kind = \"container\"", "kind = \"lambda\"\nfunction = \"not a name\"");
    assert_eq!(
        error_of(&bad),
        "workloads/x.toml: targets[0].function: \"not a name\" is not a Lambda function name or ARN"
    );
    let endpoint = format!("{lambda}endpoint_url = \"127.0.0.1:9000\"\n");
    assert!(error_of(&endpoint).contains("targets[0].endpoint_url: must be an http:// or https:// URL"));
    let forced = format!("{lambda}force_cold_starts = true\nqualifier = \"live\"\n");
    assert!(error_of(&forced).contains("targets[0].force_cold_starts: a configuration update changes $LATEST only"));
    let path = format!("{lambda}\n[[requests]]\npath = \"/x\"\n");
    assert!(
        error_of(&path).contains("requests[0].path: target \"c\" is invoked through the Invoke API"),
        "{}",
        error_of(&path)
    );
}

#[test]
fn thresholds_name_their_field() {
    let with = |t: &str| error_of(&format!("{GOOD}\n[thresholds]\n{t}\n"));
    assert!(with("p98 = \"< 1s\"").starts_with("workloads/x.toml: thresholds.p98: \"p98\" is not a threshold metric"));
    assert!(with("p99 = 5").contains("thresholds.p99: must be a condition in quotes"));
    assert!(
        with("p99 = \"< soon\"").contains("thresholds.p99: \"soon\" is not a duration"),
        "{}",
        with("p99 = \"< soon\"")
    );
    assert!(with("[thresholds.nosuch]\np99 = \"< 1s\"")
        .contains("thresholds.nosuch: names no target of this workload (it has: c)"));
    let ok = Workload::parse(
        Path::new("workloads/x.toml"),
        &format!("{GOOD}\n[thresholds]\np99 = \"< 1s\"\n[thresholds.c]\nerror_rate = \"< 1%\"\n"),
    );
    assert_eq!(ok.unwrap().thresholds.len(), 2);
}

#[test]
fn absurd_horizons_and_volumes_are_refused_before_anything_runs() {
    let err = error_of(&GOOD.replace("rate = 5", "rate = 1e9").replace("duration = \"10s\"", "duration = \"2s\""));
    assert!(
        err.starts_with("workloads/x.toml: traffic: the traffic holds about 2,000,000,000 requests over 2s"),
        "{err}"
    );
    let err = error_of(&GOOD.replace("duration = \"10s\"", "duration = \"0s\""));
    assert_eq!(err, "workloads/x.toml: duration: must be greater than 0");
    let mut w = Workload::parse(Path::new("workloads/x.toml"), GOOD).unwrap();
    let err = w.set_duration(std::time::Duration::from_secs(100_000 * 365 * 86_400), "--duration").unwrap_err();
    assert!(err.to_string().contains("--duration: must be at most 10 years"), "{err}");
    assert!(w.set_duration(std::time::Duration::from_secs(30 * 86_400), "--duration").is_ok());
}
