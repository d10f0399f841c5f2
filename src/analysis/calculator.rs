//! The cost calculator's answer without a run (`coldbench cost`): both monthly bills for a
//! traffic level, the break-even volume, and the seed article's worked examples reproduced.

use std::fmt::Write;

use crate::cost::{
    break_even_requests, container_monthly, function_monthly, implied_hours, per_million, Arch, Container, CostItem,
    FrontDoor, FunctionUsage, MonthlyCost, Pricing,
};
use crate::units::format_count as group;

/// The calculator's answer as text.
///
/// # Errors
/// An instance type or Fargate size the catalog does not price.
pub fn comparison(
    p: &Pricing,
    usage: &FunctionUsage,
    container: &Container,
    public_ipv4: bool,
    hours: f64,
) -> anyhow::Result<String> {
    let f = function_monthly(p, usage, hours);
    let c = container_monthly(p, container, usage.front_door, public_ipv4, hours)?;
    let n = usage.requests_per_month;
    let mut out = String::new();
    let per_second = n / (hours * 3600.0);
    writeln!(
        out,
        "{} requests/month ({per_second:.2} req/s average), {:.0} ms billed, {} MB, {}, front door: {}{}; {hours} h/month; prices {} {} as of {}",
        group(n),
        usage.billed_seconds * 1e3,
        usage.memory_mb,
        serde_json::to_value(usage.arch)?.as_str().unwrap_or("?"),
        serde_json::to_value(usage.front_door)?.as_str().unwrap_or("?"),
        if usage.free_tier { ", free tier" } else { "" },
        p.region,
        p.currency,
        p.as_of
    )?;
    let pm = |total: f64| per_million(total, n).map_or("-".to_string(), |v| format!("${v:.3}"));
    writeln!(
        out,
        "  {:<11}${:>10.2}/month  ({})  {} per 1M requests",
        "function:",
        f.total,
        breakdown(&f),
        pm(f.total)
    )?;
    writeln!(
        out,
        "  {:<11}${:>10.2}/month  ({})  {} per 1M requests",
        "always-on:",
        c.total,
        breakdown(&c),
        pm(c.total)
    )?;
    writeln!(out, "  always-on is {}", container)?;
    match break_even_requests(p, usage, c.total, hours) {
        Some(be) => writeln!(
            out,
            "  break-even: {} requests/month ({:.2} req/s average); at this volume the {} is cheaper by {:.1}×",
            group(be),
            be / (hours * 3600.0),
            if f.total <= c.total { "function" } else { "always-on deployment" },
            f.total.max(c.total) / f.total.min(c.total).max(1e-9)
        )?,
        None => writeln!(out, "  break-even: none below 10^15 requests/month")?,
    }
    Ok(out)
}

/// "requests $0.03 + compute $0.13 + front door $0.00": a bill's lines, leaving out the optional
/// ones (provisioned, keep-warm) when they are zero.
fn breakdown(bill: &MonthlyCost) -> String {
    bill.items
        .iter()
        .filter(|l| l.usd > 0.0 || !matches!(l.item, CostItem::Provisioned | CostItem::KeepWarm))
        .map(|l| format!("{} ${:.2}", l.item.label(), l.usd))
        .collect::<Vec<_>>()
        .join(" + ")
}

/// The seed article's two worked examples, with the hours-per-month discrepancy explained.
///
/// # Errors
/// A catalog without the examples' instance types.
pub fn examples(p: &Pricing) -> anyhow::Result<String> {
    let hours = p.hours_per_month;
    let base = |n: f64, seconds: f64, mb: u32| FunctionUsage {
        pings_per_month: 0.0,
        ping_billed_seconds: 0.0,
        requests_per_month: n,
        invocations_per_request: 1.0,
        billed_seconds: seconds,
        memory_mb: mb,
        arch: Arch::X86,
        front_door: FrontDoor::None,
        free_tier: false,
        provisioned: 0,
    };
    let mut out = String::new();
    let cases = [
        (
            "Example 1: 5,000 requests/day × 30 days, 100 ms, 512 MB vs t2.nano",
            base(150_000.0, 0.1, 512),
            "t2.nano",
            4.25,
        ),
        (
            "Example 2: 5,000,000 requests/month, 200 ms, 1 GB vs t3.micro",
            base(5_000_000.0, 0.2, 1024),
            "t3.micro",
            7.62,
        ),
    ];
    let mut windows = Vec::new();
    for (title, usage, instance, article) in cases {
        writeln!(out, "{title}")?;
        let container = Container::Ec2 { instance: instance.into(), count: 1 };
        out.push_str(&comparison(p, &usage, &container, false, hours)?);
        let hourly = p.ec2_price(instance)?.hourly;
        writeln!(out, "  the article's {instance} figure: ${article:.2}; at {hours} h it is ${:.2}\n", hourly * hours)?;
        windows.push(implied_hours(hourly, article));
    }
    let low = windows.iter().map(|w| w.0).fold(f64::MIN, f64::max);
    let high = windows.iter().map(|w| w.1).fold(f64::MAX, f64::min);
    let about = ((low + high) / 2.0 * 2.0).round() / 2.0;
    writeln!(
        out,
        "The article's EC2 figures ($4.25 and $7.62) imply about {about:.1} hours per month: both round to those \
         values only for {low:.2} ≤ H < {high:.2}. AWS's convention ({hours} h = 8760 / 12) gives $4.23 and $7.59; \
         the Lambda figures ($0.16 and $17.67) reproduce exactly."
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_print_the_pinned_figures() {
        let text = examples(&Pricing::embedded()).unwrap();
        for figure in [
            "function:  $      0.16/month",
            "always-on: $      4.23/month",
            "function:  $     17.67/month",
            "always-on: $      7.59/month",
        ] {
            assert!(text.contains(figure), "{figure} missing from:\n{text}");
        }
        assert!(text.contains("imply about 732.5 hours per month"), "{text}");
        assert!(text.contains("732.21 ≤ H < 733.17"), "{text}");
        assert!(text.contains("break-even: 2,148,"), "{text}");
    }
}
