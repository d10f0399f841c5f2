//! Range and consistency checks on a parsed workload, each error naming its field.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

use super::arrival::{ArrivalProcess, Stage};
use super::spec::{TargetSpec, TraceFormat, TrafficSpec, WorkloadSpec};
use super::Work;
use super::{trace, Requests, Workload, WorkloadError};
use crate::lambda;

/// Largest memory a demo function may touch, matching Lambda's ceiling.
const MAX_MEMORY_MB: u64 = lambda::MAX_MEMORY_MB as u64;
/// Most container instances one workload may start.
const MAX_INSTANCES: usize = 1_000;

pub(super) fn validate(path: &Path, mut spec: WorkloadSpec) -> Result<Workload, WorkloadError> {
    let fail = |field: &str, message: String| WorkloadError {
        file: path.to_path_buf(),
        position: None,
        field: field.to_string(),
        message,
    };
    check_header(&spec).map_err(|(f, m)| fail(&f, m))?;
    let arrivals = arrival_process(path, &spec.traffic).map_err(|(f, m)| fail(&f, m))?;
    check_function(&spec.function.work).map_err(|(f, m)| fail(&format!("function.work.{f}"), m))?;
    if let Work::Cache(cache) = &mut spec.function.work {
        cache.seed.get_or_insert(spec.seed);
    }
    if spec.function.init.memory_mb > MAX_MEMORY_MB {
        return Err(fail(
            "function.init.memory_mb",
            format!("must be at most {MAX_MEMORY_MB}, got {}", spec.function.init.memory_mb),
        ));
    }
    check_targets(&spec.targets).map_err(|(f, m)| fail(&f, m))?;
    resolve_cacerts(path, &mut spec.targets).map_err(|(f, m)| fail(&f, m))?;
    check_cost(&spec.cost, &spec.targets).map_err(|(f, m)| fail(&f, m))?;
    if spec.cost.fargate.is_none() {
        // The report says which type it was priced on, also when the workload did not.
        spec.cost.instance.get_or_insert_with(|| crate::cost::DEFAULT_INSTANCE.to_string());
    }
    check_fast_forward(&spec).map_err(|(f, m)| fail(&f, m))?;
    super::horizon::check_horizon(spec.duration.0).map_err(|m| fail("duration", m))?;
    super::horizon::check_volume(spec.duration.0, &arrivals).map_err(|m| fail("traffic", m))?;
    let requests = target_requests(path, &spec).map_err(|(f, m)| fail(&f, m))?;
    let thresholds = super::thresholds::thresholds(&spec).map_err(|(f, m)| fail(&f, m))?;
    let warnings = warnings(&spec, &arrivals);
    Ok(Workload { path: path.to_path_buf(), spec, arrivals, warnings, requests, thresholds, shard: None })
}

type FieldError = (String, String);

/// A URL target's `cacert`, relative to the workload's folder, made absolute and checked to be
/// readable; TLS settings on an http:// URL are refused.
fn resolve_cacerts(path: &Path, targets: &mut [TargetSpec]) -> Result<(), FieldError> {
    let folder = path.parent().unwrap_or(Path::new(""));
    for (i, target) in targets.iter_mut().enumerate() {
        let TargetSpec::Url(u) = target else { continue };
        let field = |name: &str| format!("targets[{i}].{name}");
        let https = u.url.starts_with("https://");
        if !https && (u.cacert.is_some() || u.insecure) {
            let name = if u.cacert.is_some() { "cacert" } else { "insecure" };
            return Err((field(name), format!("applies to https:// URLs only, and the url is {:?}", u.url)));
        }
        if let Some(cacert) = &mut u.cacert {
            let file = folder.join(&*cacert);
            std::fs::metadata(&file).map_err(|e| (field("cacert"), format!("cannot read {}: {e}", file.display())))?;
            *cacert = std::path::absolute(&file).unwrap_or(file);
        }
    }
    Ok(())
}

/// Each target's requests: its own `requests`, else the workload's `[[requests]]`. A function
/// behind the Invoke API receives only a body (and headers), so a request for it names no
/// method, path or query.
fn target_requests(path: &Path, spec: &WorkloadSpec) -> Result<BTreeMap<String, Requests>, FieldError> {
    let folder = path.parent().unwrap_or(Path::new(""));
    let mut all = BTreeMap::new();
    for (i, target) in spec.targets.iter().enumerate() {
        let (own, order) = match target {
            TargetSpec::Container(c) => (&c.requests, c.request_order),
            TargetSpec::Function(f) => (&f.requests, f.request_order),
            TargetSpec::Url(u) => (&u.requests, u.request_order),
            TargetSpec::Lambda(l) => (&l.requests, l.request_order),
        };
        let (field, specs) = match own {
            Some(own) => (format!("targets[{i}].requests"), own.as_slice()),
            None if spec.requests.is_empty() => continue,
            None => ("requests".to_string(), spec.requests.as_slice()),
        };
        let invoke_api = match target {
            TargetSpec::Function(f) => f.event == crate::lambda::EventShape::Invoke,
            TargetSpec::Lambda(_) => true,
            _ => false,
        };
        if invoke_api {
            for (j, r) in specs.iter().enumerate() {
                let set = [("method", r.method.is_some()), ("path", r.path.is_some()), ("query", !r.query.is_empty())];
                if let Some((name, _)) = set.iter().find(|(_, set)| *set) {
                    let fix = if matches!(target, TargetSpec::Lambda(_)) {
                        "a lambda target always invokes; give its requests bodies and headers only"
                    } else {
                        "set event = \"http\" on it (a function URL) to send methods, paths and queries"
                    };
                    return Err(field_error(
                        &format!("{field}[{j}].{name}"),
                        format!(
                            "target {:?} is invoked through the Invoke API, whose event is the request's body alone; {fix}",
                            target.name()
                        ),
                    ));
                }
            }
        }
        let resolved = super::requests::resolve(folder, &field, specs, order.unwrap_or(spec.request_order))?;
        all.insert(target.name().to_string(), resolved);
    }
    Ok(all)
}

/// The always-on alternative is an EC2 type or a Fargate task of a size Fargate accepts; a
/// Fargate task has no CPU credits to set.
fn check_cost(cost: &crate::cost::CostSettings, targets: &[TargetSpec]) -> Result<(), FieldError> {
    let Some(size) = cost.fargate else { return Ok(()) };
    if let Some(instance) = &cost.instance {
        return Err(field_error(
            "cost.fargate",
            format!("the always-on alternative is either an EC2 instance or a Fargate task: remove cost.instance ({instance:?}) or cost.fargate"),
        ));
    }
    size.check().map_err(|e| field_error(&format!("cost.fargate.{}", e.field()), e.to_string()))?;
    for (i, target) in targets.iter().enumerate() {
        if let TargetSpec::Container(c) = target {
            let set = [("credits", c.credits.is_some()), ("initial_credits", c.initial_credits.is_some())];
            if let Some((name, _)) = set.iter().find(|(_, set)| *set) {
                return Err(field_error(
                    &format!("targets[{i}].{name}"),
                    "a Fargate task has no CPU credits (they belong to t2 and t3 EC2 instances)",
                ));
            }
        }
    }
    Ok(())
}

fn field_error(field: &str, message: impl Into<String>) -> FieldError {
    (field.to_string(), message.into())
}

fn check_header(spec: &WorkloadSpec) -> Result<(), FieldError> {
    if spec.name.is_empty() || !spec.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(field_error("name", format!("use letters, digits, '-', '_' or '.', got {:?}", spec.name)));
    }
    if spec.duration.0.is_zero() {
        return Err(field_error("duration", "must be greater than 0"));
    }
    if spec.load.timeout.0.is_zero() {
        return Err(field_error("load.timeout", "must be greater than 0"));
    }
    if spec.load.max_in_flight == 0 {
        return Err(field_error("load.max_in_flight", "must be at least 1"));
    }
    Ok(())
}

fn positive(field: &str, value: f64) -> Result<f64, FieldError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(field_error(field, format!("must be greater than 0, got {value}")))
    }
}

fn non_negative(field: &str, value: f64) -> Result<f64, FieldError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(field_error(field, format!("must be 0 or more, got {value}")))
    }
}

fn arrival_process(path: &Path, traffic: &TrafficSpec) -> Result<ArrivalProcess, FieldError> {
    Ok(match traffic {
        TrafficSpec::Constant { rate } => ArrivalProcess::Constant { rate_per_s: positive("traffic.rate", *rate)? },
        TrafficSpec::Poisson { rate } => ArrivalProcess::Poisson { rate_per_s: positive("traffic.rate", *rate)? },
        TrafficSpec::Bursts { rate, burst, idle } => {
            if burst.0.is_zero() {
                return Err(field_error("traffic.burst", "must be greater than 0"));
            }
            ArrivalProcess::Bursts { rate_per_s: positive("traffic.rate", *rate)?, burst: burst.0, idle: idle.0 }
        }
        TrafficSpec::Ramp { stages } => ArrivalProcess::Ramp { stages: ramp_stages(stages)? },
        TrafficSpec::Sparse { per_day, requests } => {
            if *requests == Some(0) {
                return Err(field_error("traffic.requests", "must be at least 1"));
            }
            ArrivalProcess::Sparse { per_day: positive("traffic.per_day", *per_day)?, requests: *requests }
        }
        TrafficSpec::Trace { file, format, function, spread } => {
            let resolved = path.parent().unwrap_or(Path::new(".")).join(file);
            let read = match format {
                TraceFormat::Timestamps => trace::read_timestamps(&resolved),
                TraceFormat::Azure => trace::read_azure(&resolved, function.as_deref(), *spread),
            };
            read.map_err(|e| field_error("traffic.file", e.to_string()))?
        }
    })
}

fn ramp_stages(stages: &[super::RampStage]) -> Result<Vec<Stage>, FieldError> {
    if stages.is_empty() {
        return Err(field_error("traffic.stages", "needs at least one stage"));
    }
    let mut out = Vec::with_capacity(stages.len());
    for (i, stage) in stages.iter().enumerate() {
        let name = |f: &str| format!("traffic.stages[{i}].{f}");
        let from_per_s = non_negative(&name("from"), stage.from)?;
        let to_per_s = non_negative(&name("to"), stage.to)?;
        if stage.duration.0.is_zero() {
            return Err(field_error(&name("duration"), "must be greater than 0"));
        }
        out.push(Stage { from_per_s, to_per_s, duration: stage.duration.0 });
    }
    if out.iter().all(|s| s.area() == 0.0) {
        return Err(field_error("traffic.stages", "every stage has rate 0: no requests would be sent"));
    }
    Ok(out)
}

fn check_function(work: &Work) -> Result<(), FieldError> {
    match work {
        Work::Cpu { duration: Some(_), rounds: Some(_) } => {
            Err(field_error("rounds", "give either duration or rounds, not both"))
        }
        Work::Cpu { rounds: Some(0), .. } => Err(field_error("rounds", "must be at least 1")),
        Work::Alloc { memory_mb } if *memory_mb > MAX_MEMORY_MB => {
            Err(field_error("memory_mb", format!("must be at most {MAX_MEMORY_MB}, got {memory_mb}")))
        }
        Work::Cache(c) => check_cache(c),
        _ => Ok(()),
    }
}

/// Most keys and entries of the `cache` work: far past any cache an instance's memory holds.
const MAX_CACHE_KEYS: u64 = 1 << 32;

fn check_cache(c: &super::CacheWork) -> Result<(), FieldError> {
    if !(1..=MAX_CACHE_KEYS).contains(&c.keys) {
        return Err(field_error("keys", format!("must be 1 to {MAX_CACHE_KEYS}, got {}", c.keys)));
    }
    if c.capacity == 0 || c.capacity as u64 > MAX_CACHE_KEYS {
        return Err(field_error("capacity", format!("must be 1 to {MAX_CACHE_KEYS} entries, got {}", c.capacity)));
    }
    if !(c.zipf.is_finite() && (0.0..=10.0).contains(&c.zipf)) {
        return Err(field_error("zipf", format!("must be an exponent from 0 (uniform) to 10, got {}", c.zipf)));
    }
    Ok(())
}

/// Fast-forward moves the clock of coldbench and its local targets; a remote URL keeps real time.
pub(super) fn check_fast_forward(spec: &WorkloadSpec) -> Result<(), FieldError> {
    if !spec.load.fast_forward {
        return Ok(());
    }
    match spec.targets.iter().position(|t| matches!(t, TargetSpec::Url(_))) {
        Some(i) => Err(field_error(
            "load.fast_forward",
            format!(
                "target {:?} (targets[{i}]) is a remote URL, whose idle time cannot be skipped; fast-forward works \
                 with function and container targets only (run the URL target without it)",
                spec.targets[i].name()
            ),
        )),
        None => Ok(()),
    }
}

fn check_targets(targets: &[TargetSpec]) -> Result<(), FieldError> {
    if targets.is_empty() {
        return Err(field_error("targets", "no targets: add at least one [[targets]] table"));
    }
    let mut names = HashSet::new();
    for (i, target) in targets.iter().enumerate() {
        let field = |f: &str| format!("targets[{i}].{f}");
        let name = target.name();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(field_error(&field("name"), format!("use letters, digits, '-', '_' or '.', got {name:?}")));
        }
        if !names.insert(name) {
            return Err(field_error(&field("name"), format!("{name:?} is used by an earlier target")));
        }
        match target {
            TargetSpec::Container(c) => {
                if c.instances == 0 || c.instances > MAX_INSTANCES {
                    return Err(field_error(
                        &field("instances"),
                        format!("must be 1 to {MAX_INSTANCES}, got {}", c.instances),
                    ));
                }
                if c.command.as_ref().is_some_and(|cmd| cmd.is_empty() || cmd[0].is_empty()) {
                    return Err(field_error(&field("command"), "must name a program"));
                }
                if c.max_concurrency == Some(0) {
                    return Err(field_error(&field("max_concurrency"), "must be at least 1"));
                }
                if let Some(deploy) = &c.deploy {
                    if deploy.strategy != "rolling" {
                        return Err(field_error(
                            &field("deploy.strategy"),
                            format!("must be \"rolling\" (ECS's rolling update), got {:?}", deploy.strategy),
                        ));
                    }
                    let counts = deploy.max_surge.is_some() || deploy.max_unavailable.is_some();
                    let percent = deploy.minimum_healthy_percent.is_some() || deploy.maximum_percent.is_some();
                    if counts && percent {
                        return Err(field_error(
                            &field("deploy.minimum_healthy_percent"),
                            "give either max_surge / max_unavailable or ECS's minimum_healthy_percent / \
                             maximum_percent, not both",
                        ));
                    }
                    if deploy.max_surge == Some(0) && deploy.max_unavailable.unwrap_or(0) == 0 {
                        return Err(field_error(
                            &field("deploy.max_surge"),
                            "max_surge and max_unavailable cannot both be 0: the deploy could neither start a new \
                             instance nor stop an old one",
                        ));
                    }
                    if deploy.minimum_healthy_percent.is_some_and(|p| p > 100) {
                        return Err(field_error(&field("deploy.minimum_healthy_percent"), "must be 0 to 100"));
                    }
                    if deploy.maximum_percent.is_some_and(|p| p < 100) {
                        return Err(field_error(
                            &field("deploy.maximum_percent"),
                            "must be at least 100: the deploy replaces instances, it does not scale in",
                        ));
                    }
                    if deploy.command.as_ref().is_some_and(|cmd| cmd.is_empty() || cmd[0].is_empty()) {
                        return Err(field_error(&field("deploy.command"), "must name a program"));
                    }
                }
                if c.startup_timeout.0.is_zero() {
                    return Err(field_error(&field("startup_timeout"), "must be greater than 0"));
                }
                if let Some(scaling) = &c.scaling {
                    scaling.check(MAX_INSTANCES as u32).map_err(|(name, m)| field_error(&field(&name), m))?;
                    if !(scaling.min as usize..=scaling.max as usize).contains(&c.instances) {
                        return Err(field_error(
                            &field("instances"),
                            format!(
                                "is the count at the start: must be scaling.min ({}) to scaling.max ({}), got {}",
                                scaling.min, scaling.max, c.instances
                            ),
                        ));
                    }
                }
                c.health_check.check().map_err(|(name, m)| field_error(&field(&format!("health_check.{name}")), m))?;
                if !(Duration::from_secs(1)..=Duration::from_secs(4_000)).contains(&c.idle_timeout.0) {
                    return Err(field_error(
                        &field("idle_timeout"),
                        format!("must be 1s to 4000s (an ALB's range), got {}", c.idle_timeout),
                    ));
                }
                if c.provision_delay.0 > Duration::from_secs(3_600) {
                    return Err(field_error(
                        &field("provision_delay"),
                        format!("must be at most 1h, got {}", c.provision_delay),
                    ));
                }
                if let Some(cpus) = c.cpus.filter(|v| !(v.is_finite() && (0.01..=192.0).contains(v))) {
                    return Err(field_error(&field("cpus"), format!("must be 0.01 to 192 vCPUs, got {cpus}")));
                }
                if let Some(mb) = c.memory_mb.filter(|mb| *mb < 16) {
                    return Err(field_error(&field("memory_mb"), format!("must be at least 16 MiB, got {mb}")));
                }
                if let Some(credits) = c.initial_credits.filter(|v| !(v.is_finite() && *v >= 0.0)) {
                    return Err(field_error(&field("initial_credits"), format!("must be 0 or more, got {credits}")));
                }
            }
            TargetSpec::Function(f) => check_function_target(f).map_err(|(name, m)| field_error(&field(&name), m))?,
            TargetSpec::Url(u) => {
                crate::http::RequestTemplate::new(&u.method, &u.url, &u.headers, u.body.clone().unwrap_or_default())
                    .map_err(|e| field_error(&field(e.field()), e.to_string()))?;
            }
            TargetSpec::Lambda(l) => {
                if crate::lambda::FunctionName::parse(&l.function).is_none() {
                    return Err(field_error(
                        &field("function"),
                        format!("{:?} is not a Lambda function name or ARN", l.function),
                    ));
                }
                let named = crate::lambda::FunctionName::parse(&l.function).and_then(|f| f.qualifier);
                let qualifier = l.qualifier.as_deref().or(named);
                if l.force_cold_starts && qualifier.is_some_and(|q| q != crate::lambda::LATEST) {
                    return Err(field_error(
                        &field("force_cold_starts"),
                        "a configuration update changes $LATEST only, so forced cold starts need the unqualified \
                         function (no qualifier, or \"$LATEST\"), as lambda-perf invokes it",
                    ));
                }
                if let Some(url) =
                    l.endpoint_url.as_deref().filter(|u| !u.starts_with("http://") && !u.starts_with("https://"))
                {
                    return Err(field_error(
                        &field("endpoint_url"),
                        format!("must be an http:// or https:// URL, got {url:?}"),
                    ));
                }
            }
        }
    }
    Ok(())
}

fn check_function_target(f: &super::FunctionTargetSpec) -> Result<(), FieldError> {
    if f.adapter.is_some() && f.network == super::Network::Host {
        return Err(field_error(
            "adapter",
            "a web app listens on the same port in every instance (AWS_LWA_PORT, PORT or 8080), so each needs              a loopback of its own: network = \"isolated\" (the default), not \"host\"",
        ));
    }
    if let Some(cpus) = f.init_cpus.filter(|v| !(v.is_finite() && (0.01..=192.0).contains(v))) {
        return Err(field_error("init_cpus", format!("must be 0.01 to 192 vCPUs, got {cpus}")));
    }
    if !(lambda::MIN_MEMORY_MB..=lambda::MAX_MEMORY_MB).contains(&f.memory_mb) {
        return Err(field_error(
            "memory_mb",
            format!(
                "must be {} to {} (Lambda's range), got {}",
                lambda::MIN_MEMORY_MB,
                lambda::MAX_MEMORY_MB,
                f.memory_mb
            ),
        ));
    }
    if f.timeout.0.is_zero() || f.timeout.0 > lambda::MAX_TIMEOUT {
        return Err(field_error(
            "timeout",
            format!("must be more than 0 and at most {}s, got {}", lambda::MAX_TIMEOUT.as_secs(), f.timeout),
        ));
    }
    if f.init_timeout.0.is_zero() {
        return Err(field_error("init_timeout", "must be greater than 0"));
    }
    if f.max_concurrency == 0 {
        return Err(field_error("max_concurrency", "must be at least 1"));
    }
    if !(1..=lambda::MAX_CONCURRENCY_PER_INSTANCE).contains(&f.concurrency_per_instance) {
        return Err(field_error(
            "concurrency_per_instance",
            format!(
                "must be 1 to {} (Lambda Managed Instances' range; 1 is classic Lambda), got {}",
                lambda::MAX_CONCURRENCY_PER_INSTANCE,
                f.concurrency_per_instance
            ),
        ));
    }
    if f.max_retry_attempts > lambda::MAX_ASYNC_RETRIES {
        return Err(field_error(
            "max_retry_attempts",
            format!("must be 0 to {} (Lambda's range), got {}", lambda::MAX_ASYNC_RETRIES, f.max_retry_attempts),
        ));
    }
    if !(lambda::MIN_MAX_EVENT_AGE..=lambda::DEFAULT_MAX_EVENT_AGE).contains(&f.max_event_age.0) {
        return Err(field_error(
            "max_event_age",
            format!("must be 60s to 6h (Lambda's 60 to 21,600 seconds), got {}", f.max_event_age),
        ));
    }
    if f.invocation == lambda::InvocationMode::Event && f.event != lambda::EventShape::Invoke {
        return Err(field_error(
            "invocation",
            "\"event\" needs event = \"invoke\": a function URL invokes synchronously",
        ));
    }
    if f.provisioned > f.max_concurrency {
        return Err(field_error(
            "provisioned",
            format!("{} provisioned instances exceed max_concurrency {}", f.provisioned, f.max_concurrency),
        ));
    }
    if f.command.as_ref().is_some_and(|cmd| cmd.is_empty() || cmd[0].is_empty()) {
        return Err(field_error("command", "must name a program"));
    }
    max_lifetime(&f.max_lifetime).map_err(|m| field_error("max_lifetime", m))?;
    if f.keep_alive_jitter.is_some() && !matches!(f.keep_alive, super::KeepAliveSetting::Fixed(_)) {
        return Err(field_error(
            "keep_alive_jitter",
            format!("applies to a fixed keep_alive only, not {:?}", f.keep_alive.to_string()),
        ));
    }
    if let Some(keep_warm) = &f.keep_warm {
        if keep_warm.every.0 < Duration::from_secs(1) {
            return Err(field_error("keep_warm.every", format!("must be at least 1s, got {}", keep_warm.every)));
        }
        if keep_warm.concurrency == 0 || keep_warm.concurrency > f.max_concurrency {
            return Err(field_error(
                "keep_warm.concurrency",
                format!("must be 1 to max_concurrency ({}), got {}", f.max_concurrency, keep_warm.concurrency),
            ));
        }
    }
    Ok(())
}

/// `"off"` or a duration.
pub fn max_lifetime(text: &str) -> Result<Option<Duration>, String> {
    match text {
        "off" | "none" => Ok(None),
        _ => super::HumanDuration::parse(text).map(|d| Some(d.0)).map_err(|e| format!("{e}, or \"off\"")),
    }
}

/// Warnings that depend on the duration: re-run when `--duration` changes it.
pub(super) fn warnings(spec: &WorkloadSpec, arrivals: &ArrivalProcess) -> Vec<String> {
    let duration = spec.duration.0;
    let mut out = Vec::new();
    let expected = arrivals.expected_requests(duration);
    match arrivals {
        ArrivalProcess::Sparse { per_day, requests } => {
            let rate = per_day / super::SECONDS_PER_DAY;
            let wanted = requests.map_or(1.0, |n| n as f64);
            let needed = Duration::from_secs_f64((wanted / rate).min(1e12));
            if needed > duration && !spec.load.fast_forward {
                out.push(format!(
                    "sparse traffic at {per_day}/day needs about {} in real time for {wanted} request(s), longer than \
                     the workload's duration {}: expect about {expected:.1} request(s); a longer duration with \
                     `--fast-forward` skips the idle time",
                    super::HumanDuration(Duration::from_secs(needed.as_secs())),
                    spec.duration
                ));
            }
        }
        ArrivalProcess::Ramp { stages } => {
            let total: Duration = stages.iter().map(|s| s.duration).sum();
            if total < duration {
                out.push(format!(
                    "the ramp's stages last {}, less than the duration {}: the run ends with the last stage",
                    super::HumanDuration(total),
                    spec.duration
                ));
            }
        }
        _ => {}
    }
    if expected < 1.0 {
        out.push(format!(
            "the traffic is expected to send {expected:.2} requests in {}: the run may send none",
            spec.duration
        ));
    }
    if matches!(spec.function.work, Work::Cache(_)) {
        for target in &spec.targets {
            if let TargetSpec::Function(f) = target {
                if f.event == crate::lambda::EventShape::Invoke {
                    out.push(format!(
                        "target {}: an Invoke API response has no headers to say whether the cache hit, so its hit \
                         ratio is not measured; `event = \"http\"` (a function URL) reports it",
                        f.name
                    ));
                }
            }
        }
    }
    out
}
