//! `coldbench runtime`: the local function runtime on its own, for curl, `coldbench load`, or a
//! team's test suite. START/END/REPORT lines and the function's output go to stdout.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::cli::RuntimeArgs;
use crate::gateway::Gateway;
use crate::lambda::{self, BillingMode, EventShape};
use crate::metrics::{LiveMetrics, LiveRecords};
use crate::policy::{KeepAlive, PoolConfig};
use crate::runtime::{FunctionConfig, FunctionRuntime};

/// Serves the function until Ctrl-C, then stops every instance.
///
/// # Errors
/// Bad options, a port that cannot be bound, or provisioned instances that fail to start.
pub async fn run(args: &RuntimeArgs, cancel: CancellationToken) -> anyhow::Result<ExitCode> {
    let mut config = config(args)?;
    let name = config.name.clone();
    let metrics = args.metrics.map(|_| Arc::new(LiveMetrics::new()));
    if let Some(metrics) = &metrics {
        config.records = Some(Arc::new(LiveRecords { metrics: Arc::clone(metrics), next: config.records.take() }));
    }
    let runtime = FunctionRuntime::start(config).await?;
    if let (Some(addr), Some(metrics)) = (args.metrics, &metrics) {
        super::live::serve_metrics(addr, Arc::clone(metrics), cancel.clone()).await?;
        let (runtime, metrics, name, cancel) = (runtime.clone(), Arc::clone(metrics), name.clone(), cancel.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
            while cancel.run_until_cancelled(tick.tick()).await.is_some() {
                metrics.pool(&name, runtime.alive(), runtime.executing());
            }
        });
    }
    let gateway = Gateway::start_on(Arc::new(runtime.clone()), args.port)
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    let base = gateway.url();
    println!("coldbench runtime: function {name:?} on {}", base.trim_end_matches('/'));
    println!("  Invoke API:   POST {}{}", base.trim_end_matches('/'), EventShape::Invoke.path(&name));
    println!("  function URL: any other path, e.g. {base}");
    println!("  (X-Amz-Invocation-Type: Event queues the invocation; DryRun runs nothing; X-Amz-Log-Type: Tail returns its log)");
    cancel.cancelled().await;
    gateway.stop().await;
    runtime.stop();
    runtime.settled().await;
    runtime.stopped().await;
    let stats = runtime.stats();
    println!(
        "stopped: {} invocations, {} instances started, {} evicted, {} discarded, peak {}; {} arrived before the \
         instance that had just answered called /next ({} of them started an instance)",
        runtime.summary().invocations,
        stats.instances_started,
        stats.evicted_idle + stats.evicted_lifetime,
        stats.discarded,
        stats.peak_instances,
        stats.arrived_while_finishing,
        stats.cold_while_finishing
    );
    if let Some(events) = runtime.events() {
        println!(
            "asynchronous: {} accepted, {} succeeded, {} failed, {} expired, {} unfinished; {} retries, {} requeued",
            events.accepted,
            events.succeeded,
            events.failed,
            events.expired,
            events.unfinished,
            events.retries,
            events.requeued
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn config(args: &RuntimeArgs) -> anyhow::Result<FunctionConfig> {
    let max_timeout_s = lambda::MAX_TIMEOUT.as_secs();
    anyhow::ensure!(
        !args.timeout.0.is_zero() && args.timeout.0 <= lambda::MAX_TIMEOUT,
        "--timeout: must be 1ms to {max_timeout_s}s"
    );
    anyhow::ensure!(args.max_concurrency > 0, "--max-concurrency: must be at least 1");
    anyhow::ensure!(
        args.max_retry_attempts <= lambda::MAX_ASYNC_RETRIES,
        "--max-retry-attempts: must be 0 to {}, got {}",
        lambda::MAX_ASYNC_RETRIES,
        args.max_retry_attempts
    );
    anyhow::ensure!(
        (lambda::MIN_MAX_EVENT_AGE..=lambda::DEFAULT_MAX_EVENT_AGE).contains(&args.max_event_age.0),
        "--max-event-age: must be 60s to 6h, got {}",
        args.max_event_age
    );
    let memory = lambda::MIN_MEMORY_MB..=lambda::MAX_MEMORY_MB;
    anyhow::ensure!(memory.contains(&args.memory_mb), "--memory-mb: must be {} to {}", memory.start(), memory.end());
    let max_lifetime =
        crate::workload::max_lifetime(&args.max_lifetime).map_err(|e| anyhow::anyhow!("--max-lifetime: {e}"))?;
    let env = args
        .env
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .with_context(|| format!("--env {pair:?}: expected NAME=VALUE"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let command = if args.function.is_empty() {
        crate::function::DemoFunction::this_executable()?.lambda_command()
    } else {
        args.function.clone()
    };
    let log: crate::process::LineSink = Arc::new(|line: &str| println!("{line}"));
    let pool = PoolConfig {
        max_concurrency: args.max_concurrency,
        keep_alive: KeepAlive::from_setting(args.keep_alive, None),
        max_lifetime,
        provisioned: args.provisioned,
        ..PoolConfig::default()
    };
    Ok(FunctionConfig {
        env,
        ..FunctionConfig::new(args.name.clone(), command)
            .memory_mb(args.memory_mb)
            .timeout(args.timeout.0)
            .init_timeout(args.init_timeout.0)
            .handler(args.handler.clone())
            .pool(pool)
            .billing(if args.legacy_billing { BillingMode::Legacy } else { BillingMode::Standard })
            .async_retries(args.max_retry_attempts)
            .max_event_age(args.max_event_age.0)
            .log(log)
    })
}
