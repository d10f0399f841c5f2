//! The cost model: pure functions from usage and prices to a monthly bill.
//!
//! Formulas (reference: `docs/reference/lambda-and-container-model.md` §5):
//!
//! ```text
//! function  = billable_requests × request_price
//!           + billable_gb_s × gb_s_price            gb_s = N × billed_s × memory_MB / 1024
//!           + front door (API Gateway per request, or ALB per hour)
//!           + provisioned: instances × memory_GB × hours × 3600 × provisioned_gb_s_price
//!           (billable = usage − free tier, never below 0, when the free tier is on)
//! container = count × hourly × hours (EC2), or count × (vCPU × vCPU-h + GB × GB-h) × hours
//!           (Fargate), + ALB hours, + one public IPv4 per instance when asked; a fleet that
//!           changed size is priced at its mean billed instances (see billed_instance_seconds)
//! break-even = the monthly request volume where both totals are equal
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::catalog::Pricing;

/// EC2 (Linux) and Fargate bill per second with a one-minute minimum per instance.
pub const MIN_BILLED_INSTANCE: Duration = Duration::from_secs(60);

/// The instance-seconds a fleet is billed for over one period of its traffic, from each
/// instance's `(launched, stopped)` on the run's clock (`None`: still running at `end`): every
/// lifetime per second, at least [`MIN_BILLED_INSTANCE`] for an instance launched and stopped
/// within the period. One running at the period's start (launched at zero) or end carries on into
/// the pattern's next period, so no minimum applies to it.
pub fn billed_instance_seconds(
    lifetimes: impl IntoIterator<Item = (Duration, Option<Duration>)>,
    end: Duration,
) -> f64 {
    lifetimes
        .into_iter()
        .map(|(launched, stopped)| {
            let life = stopped.unwrap_or(end).min(end).saturating_sub(launched);
            let whole = launched > Duration::ZERO && stopped.is_some_and(|s| s < end);
            if whole { life.max(MIN_BILLED_INSTANCE) } else { life }.as_secs_f64()
        })
        .sum()
}

/// Lambda processor architecture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    #[default]
    X86,
    Arm64,
}

/// What sits in front of the deployment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FrontDoor {
    /// A Lambda function URL (free) or, for containers, a public IP straight to the instance.
    #[default]
    None,
    HttpApi,
    RestApi,
    Alb,
}

/// How a function is used in a month.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionUsage {
    pub requests_per_month: f64,
    /// Invocations each request makes: 1, or more when asynchronous retries run the function
    /// again (each attempt is billed its request and its duration).
    pub invocations_per_request: f64,
    /// Mean billed duration per invocation, in seconds (Init included on cold starts).
    pub billed_seconds: f64,
    pub memory_mb: u32,
    pub arch: Arch,
    pub front_door: FrontDoor,
    pub free_tier: bool,
    /// Provisioned instances kept configured all month.
    pub provisioned: u32,
    /// Keep-warm pings a month, and each one's billed duration in seconds.
    pub pings_per_month: f64,
    pub ping_billed_seconds: f64,
}

/// The always-on alternative.
#[derive(Clone, Debug, PartialEq)]
pub enum Container {
    Ec2 { instance: String, count: u32 },
    Fargate { vcpu: f64, memory_gb: f64, arch: Arch, count: u32 },
}

impl std::fmt::Display for Container {
    /// "2 × EC2 t3.micro", "1 × Fargate 0.5 vCPU / 1 GB".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Container::Ec2 { instance, count } => write!(f, "{count} × EC2 {instance}"),
            Container::Fargate { vcpu, memory_gb, count, .. } => {
                write!(f, "{count} × Fargate {vcpu} vCPU / {memory_gb} GB")
            }
        }
    }
}

/// One kind of line on a monthly bill. A new kind of charge is a variant here and the line that
/// computes it in this file's bill functions; tables and charts list whatever lines a bill has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostItem {
    /// Per-request charges (Lambda requests).
    Requests,
    /// GB-seconds of a function, or instance hours of the always-on option.
    Compute,
    /// API Gateway, function URL or load balancer.
    FrontDoor,
    /// Provisioned concurrency kept configured.
    Provisioned,
    /// Keep-warm pings: their requests and compute (the free tier is left to user traffic).
    KeepWarm,
    /// Public IPv4 addresses of always-on instances.
    PublicIpv4,
    /// Surplus CPU credits of burstable instances in unlimited mode.
    CpuCredits,
    /// Lambda Managed Instances' fee on the EC2 capacity its environments use.
    ManagementFee,
}

impl CostItem {
    /// The line's name for people.
    pub fn label(self) -> &'static str {
        match self {
            CostItem::Requests => "requests",
            CostItem::Compute => "compute",
            CostItem::FrontDoor => "front door",
            CostItem::Provisioned => "provisioned",
            CostItem::KeepWarm => "keep-warm",
            CostItem::PublicIpv4 => "public IPv4",
            CostItem::CpuCredits => "CPU credits",
            CostItem::ManagementFee => "management fee",
        }
    }
}

/// One line of a monthly bill, in USD.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineItem {
    pub item: CostItem,
    pub usd: f64,
}

/// A monthly bill: its lines and their sum.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MonthlyCost {
    pub items: Vec<LineItem>,
    pub total: f64,
}

impl MonthlyCost {
    /// A bill of these lines, totalled.
    pub fn of(items: impl IntoIterator<Item = (CostItem, f64)>) -> Self {
        let items: Vec<LineItem> = items.into_iter().map(|(item, usd)| LineItem { item, usd }).collect();
        let total = items.iter().map(|l| l.usd).sum();
        Self { items, total }
    }

    /// The bill with one more line, totalled.
    #[must_use]
    pub fn with(mut self, item: CostItem, usd: f64) -> Self {
        self.items.push(LineItem { item, usd });
        self.total += usd;
        self
    }

    /// The amount on one kind of line (0 when the bill has none).
    pub fn get(&self, item: CostItem) -> f64 {
        self.items.iter().filter(|l| l.item == item).map(|l| l.usd).sum()
    }
}

/// The function's monthly cost.
pub fn function_monthly(p: &Pricing, u: &FunctionUsage, hours: f64) -> MonthlyCost {
    let l = &p.lambda;
    let n = u.requests_per_month.max(0.0);
    let invocations = n * u.invocations_per_request.max(1.0);
    let gb = f64::from(u.memory_mb) / 1024.0;
    let gb_seconds = invocations * u.billed_seconds * gb;
    let (free_requests, free_gb_s) = if u.free_tier { (l.free_requests as f64, l.free_gb_seconds) } else { (0.0, 0.0) };
    let rate = match u.arch {
        Arch::X86 => l.x86_gb_second,
        Arch::Arm64 => l.arm64_gb_second,
    };
    MonthlyCost::of([
        (CostItem::Requests, (invocations - free_requests).max(0.0) * l.request_per_million / 1e6),
        (CostItem::Compute, (gb_seconds - free_gb_s).max(0.0) * rate),
        (CostItem::FrontDoor, front_door_monthly(p, u.front_door, n, hours)),
        (CostItem::Provisioned, f64::from(u.provisioned) * gb * hours * 3600.0 * l.provisioned_gb_second),
        (CostItem::KeepWarm, u.pings_per_month * (l.request_per_million / 1e6 + u.ping_billed_seconds * gb * rate)),
    ])
}

/// A function whose environments serve several requests at once, as Lambda Managed Instances
/// runs them: each request pays the request price, and the environments pay for the EC2 capacity
/// they occupy — `environments` (a mean over the month) of `memory_mb` each on `instance`,
/// priced as the share of its memory they take, plus the management fee (reference:
/// `lambda-and-container-model.md` §4, "EC2 on-demand + 15 % + $0.20/M req"). No free tier: the
/// reference gives none for it.
///
/// # Errors
/// When the instance type is not in the catalog.
pub fn managed_instances_monthly(
    p: &Pricing,
    requests_per_month: f64,
    environments: f64,
    memory_mb: u32,
    instance: &str,
    front_door: FrontDoor,
    hours: f64,
) -> Result<MonthlyCost, super::PriceError> {
    let ec2 = p.ec2_price(instance)?;
    let share = f64::from(memory_mb) / (ec2.memory_gb * 1024.0).max(1.0);
    let capacity = environments.max(0.0) * share * ec2.hourly * hours;
    Ok(MonthlyCost::of([
        (CostItem::Requests, requests_per_month.max(0.0) * p.lambda.request_per_million / 1e6),
        (CostItem::Compute, capacity),
        (CostItem::ManagementFee, capacity * crate::lambda::MANAGED_INSTANCES_FEE),
        (CostItem::FrontDoor, front_door_monthly(p, front_door, requests_per_month, hours)),
    ]))
}

fn front_door_monthly(p: &Pricing, door: FrontDoor, requests: f64, hours: f64) -> f64 {
    let f = &p.front_door;
    match door {
        FrontDoor::None => requests * f.function_url_per_million / 1e6,
        FrontDoor::HttpApi => requests * f.http_api_per_million / 1e6,
        FrontDoor::RestApi => requests * f.rest_api_per_million / 1e6,
        FrontDoor::Alb => f.alb_hourly * hours,
    }
}

/// The always-on alternative's monthly cost.
///
/// # Errors
/// When the EC2 instance type or Fargate architecture is not in the catalog.
pub fn container_monthly(
    p: &Pricing,
    c: &Container,
    front_door: FrontDoor,
    public_ipv4: bool,
    hours: f64,
) -> Result<MonthlyCost, super::PriceError> {
    let (count, hourly) = match c {
        Container::Ec2 { instance, count } => {
            let price = p.ec2_price(instance)?;
            (*count, price.hourly)
        }
        Container::Fargate { vcpu, memory_gb, arch, count } => {
            let price = p.fargate_price(*arch)?;
            (*count, vcpu * price.vcpu_hourly + memory_gb * price.gb_hourly)
        }
    };
    let front = match front_door {
        FrontDoor::Alb => p.front_door.alb_hourly * hours,
        _ => 0.0,
    };
    let ipv4 = if public_ipv4 { f64::from(count) * p.public_ipv4.hourly * hours } else { 0.0 };
    Ok(MonthlyCost::of([
        (CostItem::Compute, f64::from(count) * hourly * hours),
        (CostItem::FrontDoor, front),
        (CostItem::PublicIpv4, ipv4),
    ]))
}

/// The monthly request volume at which the function costs as much as `container_total`, or
/// `None` when the function stays cheaper at any volume up to 10^15 requests (or costs more
/// even at zero).
pub fn break_even_requests(p: &Pricing, usage: &FunctionUsage, container_total: f64, hours: f64) -> Option<f64> {
    let cost_at = |n: f64| function_monthly(p, &FunctionUsage { requests_per_month: n, ..usage.clone() }, hours).total;
    let (mut low, mut high) = (0.0_f64, 1e15_f64);
    if cost_at(low) > container_total || cost_at(high) < container_total {
        return None;
    }
    // The function's cost rises monotonically with volume: bisect to a thousandth of a request.
    for _ in 0..200 {
        let mid = 0.5 * (low + high);
        if cost_at(mid) < container_total {
            low = mid;
        } else {
            high = mid;
        }
        if high - low < 1e-3 {
            break;
        }
    }
    Some(0.5 * (low + high))
}

/// Cost per million requests at a monthly volume.
pub fn per_million(total: f64, requests_per_month: f64) -> Option<f64> {
    (requests_per_month > 0.0).then(|| total / requests_per_month * 1e6)
}

/// Hours per month that make `hourly × H` round to `shown` (to the cent): the half-open window.
pub fn implied_hours(hourly: f64, shown: f64) -> (f64, f64) {
    ((shown - 0.005) / hourly, (shown + 0.005) / hourly)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_are_billed_per_second_with_a_minute_minimum_for_a_whole_short_life() {
        let s = Duration::from_secs;
        let lifetimes = [
            (s(0), None),           // the first instance, all period: 600 s
            (s(100), Some(s(110))), // launched and stopped within: 10 s billed as 60 s
            (s(200), Some(s(400))), // 200 s
            (s(590), None),         // launched near the end, carries on: 10 s
            (s(0), Some(s(30))),    // running at the start, stopped: 30 s (carried over)
        ];
        assert_eq!(billed_instance_seconds(lifetimes, s(600)), 600.0 + 60.0 + 200.0 + 10.0 + 30.0);
    }

    fn usage(n: f64, seconds: f64, memory_mb: u32) -> FunctionUsage {
        FunctionUsage {
            pings_per_month: 0.0,
            ping_billed_seconds: 0.0,
            requests_per_month: n,
            invocations_per_request: 1.0,
            billed_seconds: seconds,
            memory_mb,
            arch: Arch::X86,
            front_door: FrontDoor::None,
            free_tier: false,
            provisioned: 0,
        }
    }

    #[test]
    fn example_one_5000_a_day_100ms_512mb() {
        let p = Pricing::embedded();
        let f = function_monthly(&p, &usage(150_000.0, 0.1, 512), 730.0);
        assert!((f.get(CostItem::Requests) - 0.03).abs() < 1e-12);
        assert!((f.get(CostItem::Compute) - 0.12500025).abs() < 1e-12);
        assert_eq!(format!("{:.2}", f.total), "0.16");
        let ec2 = container_monthly(
            &p,
            &Container::Ec2 { instance: "t2.nano".into(), count: 1 },
            FrontDoor::None,
            false,
            730.0,
        );
        assert_eq!(format!("{:.2}", ec2.unwrap().total), "4.23");
    }

    #[test]
    fn example_two_5m_a_month_200ms_1gb() {
        let p = Pricing::embedded();
        let f = function_monthly(&p, &usage(5_000_000.0, 0.2, 1024), 730.0);
        assert_eq!(format!("{:.2}", f.total), "17.67");
        let ec2 = container_monthly(
            &p,
            &Container::Ec2 { instance: "t3.micro".into(), count: 1 },
            FrontDoor::None,
            false,
            730.0,
        );
        assert_eq!(format!("{:.2}", ec2.unwrap().total), "7.59");
        // arm64, free tier and API Gateway variants from the reference.
        let arm = function_monthly(&p, &FunctionUsage { arch: Arch::Arm64, ..usage(5e6, 0.2, 1024) }, 730.0);
        assert_eq!(format!("{:.2}", arm.total), "14.33");
        let free = function_monthly(&p, &FunctionUsage { free_tier: true, ..usage(5e6, 0.2, 1024) }, 730.0);
        assert_eq!(format!("{:.2}", free.total), "10.80");
        let http =
            function_monthly(&p, &FunctionUsage { front_door: FrontDoor::HttpApi, ..usage(5e6, 0.2, 1024) }, 730.0);
        assert_eq!(format!("{:.2}", http.total), "22.67");
        let rest =
            function_monthly(&p, &FunctionUsage { front_door: FrontDoor::RestApi, ..usage(5e6, 0.2, 1024) }, 730.0);
        assert_eq!(format!("{:.2}", rest.total), "35.17");
    }

    #[test]
    fn break_even_matches_the_reference_table() {
        let p = Pricing::embedded();
        let t3 = container_monthly(
            &p,
            &Container::Ec2 { instance: "t3.micro".into(), count: 1 },
            FrontDoor::None,
            false,
            730.0,
        )
        .unwrap()
        .total;
        let n = break_even_requests(&p, &usage(0.0, 0.2, 1024), t3, 730.0).unwrap();
        assert!((n / 1e6 - 2.15).abs() < 0.005, "{n}");
        let nano = container_monthly(
            &p,
            &Container::Ec2 { instance: "t2.nano".into(), count: 1 },
            FrontDoor::None,
            false,
            730.0,
        )
        .unwrap()
        .total;
        let n = break_even_requests(&p, &usage(0.0, 0.1, 512), nano, 730.0).unwrap();
        assert!((n / 1e6 - 4.10).abs() < 0.005, "{n}");
    }

    #[test]
    fn fargate_alb_ipv4_and_provisioned_follow_the_reference() {
        let p = Pricing::embedded();
        let fargate = Container::Fargate { vcpu: 0.25, memory_gb: 0.5, arch: Arch::X86, count: 1 };
        assert_eq!(
            format!("{:.2}", container_monthly(&p, &fargate, FrontDoor::None, false, 730.0).unwrap().total),
            "9.01"
        );
        let alb = container_monthly(&p, &fargate, FrontDoor::Alb, true, 730.0).unwrap();
        assert_eq!(format!("{:.2} {:.2}", alb.get(CostItem::FrontDoor), alb.get(CostItem::PublicIpv4)), "16.43 3.65");
        let provisioned = function_monthly(&p, &FunctionUsage { provisioned: 1, ..usage(0.0, 0.0, 1024) }, 730.0);
        assert_eq!(format!("{:.2}", provisioned.total), "10.95");
    }

    #[test]
    fn the_articles_ec2_figures_imply_about_732_and_a_half_hours() {
        let (a_low, a_high) = implied_hours(0.0058, 4.25);
        let (b_low, b_high) = implied_hours(0.0104, 7.62);
        let (low, high) = (a_low.max(b_low), a_high.min(b_high));
        assert_eq!(format!("{low:.2} {high:.2}"), "732.21 733.17");
    }

    #[test]
    fn unknown_instances_are_named() {
        let p = Pricing::embedded();
        let err = container_monthly(
            &p,
            &Container::Ec2 { instance: "x1.huge".into(), count: 1 },
            FrontDoor::None,
            false,
            730.0,
        );
        assert!(matches!(err.unwrap_err(), crate::cost::PriceError::Ec2 { instance, .. } if instance == "x1.huge"));
    }
}
