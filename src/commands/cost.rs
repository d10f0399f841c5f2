//! `coldbench cost`: the cost calculator without a run, and the worked examples reproduced.

use std::process::ExitCode;

use anyhow::Context;

use crate::analysis::calculator::{comparison, examples};
use crate::cli::{CostArch, CostArgs, CostFrontDoor};
use crate::cost::{Arch, Container, FargateSize, FrontDoor, FunctionUsage, Pricing};
use crate::lambda;

/// Prints both monthly costs and the break-even volume.
///
/// # Errors
/// Bad options (no volume, unknown instance, malformed `--fargate`) or an unreadable catalog.
pub fn run(args: &CostArgs) -> anyhow::Result<ExitCode> {
    let pricing = Pricing::load_or_embedded(args.pricing.as_deref())?;
    if args.examples {
        print!("{}", examples(&pricing)?);
        return Ok(ExitCode::SUCCESS);
    }
    let hours = args.hours.unwrap_or(pricing.hours_per_month);
    anyhow::ensure!(hours.is_finite() && hours > 0.0, "--hours: must be greater than 0, got {hours}");
    anyhow::ensure!(
        (lambda::MIN_MEMORY_MB..=lambda::MAX_MEMORY_MB).contains(&args.memory_mb),
        "--memory-mb: must be {} to {}, got {}",
        lambda::MIN_MEMORY_MB,
        lambda::MAX_MEMORY_MB,
        args.memory_mb
    );
    let requests = match (args.requests_per_month, args.requests_per_day) {
        (Some(n), _) => n,
        (None, Some(per_day)) => per_day * hours / 24.0,
        (None, None) => anyhow::bail!("give --requests-per-month or --requests-per-day (or --examples)"),
    };
    let usage = FunctionUsage {
        pings_per_month: 0.0,
        ping_billed_seconds: 0.0,
        requests_per_month: requests,
        invocations_per_request: 1.0,
        billed_seconds: args.duration.as_secs_f64(),
        memory_mb: args.memory_mb,
        arch: arch(args.arch),
        front_door: front_door(args.front_door),
        free_tier: args.free_tier,
        provisioned: 0,
    };
    let container = container(args)?;
    print!("{}", comparison(&pricing, &usage, &container, args.public_ipv4, hours)?);
    Ok(ExitCode::SUCCESS)
}

fn arch(a: CostArch) -> Arch {
    match a {
        CostArch::X86 => Arch::X86,
        CostArch::Arm64 => Arch::Arm64,
    }
}

fn front_door(f: CostFrontDoor) -> FrontDoor {
    match f {
        CostFrontDoor::None => FrontDoor::None,
        CostFrontDoor::HttpApi => FrontDoor::HttpApi,
        CostFrontDoor::RestApi => FrontDoor::RestApi,
        CostFrontDoor::Alb => FrontDoor::Alb,
    }
}

fn container(args: &CostArgs) -> anyhow::Result<Container> {
    let Some(spec) = &args.fargate else {
        return Ok(Container::Ec2 { instance: args.instance.clone(), count: args.count });
    };
    let (vcpu, gb) =
        spec.split_once(',').with_context(|| format!("--fargate {spec:?}: expected VCPU,GB such as 0.25,0.5"))?;
    let parse = |v: &str, what: &str| -> anyhow::Result<f64> {
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| *x > 0.0)
            .with_context(|| format!("--fargate {spec:?}: {what} {v:?} is not a positive number"))
    };
    let size = FargateSize { vcpu: parse(vcpu, "vCPU")?, memory_gb: parse(gb, "GB")? };
    size.check().with_context(|| format!("--fargate {spec:?}"))?;
    Ok(Container::Fargate { vcpu: size.vcpu, memory_gb: size.memory_gb, arch: arch(args.arch), count: args.count })
}
