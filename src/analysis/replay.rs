//! A trace replay priced: each keep-alive policy's outcome (`simulate::replay`) as the users'
//! Lambda bill and the idle memory a provider keeps warm, scaled to a month.

use serde::{Deserialize, Serialize};

use crate::cost::Pricing;
use crate::simulate::replay::PolicyOutcome;

/// `replay.json`: what was replayed, with what assumptions, and each policy's outcome.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReplayReport {
    pub coldbench_version: String,
    pub started_at: String,
    pub trace: String,
    pub functions: usize,
    pub horizon_s: f64,
    pub assumptions: String,
    pub wall_s: f64,
    pub policies: Vec<PolicyCost>,
}

/// One policy's outcome, priced.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PolicyCost {
    #[serde(flatten)]
    pub outcome: PolicyOutcome,
    /// Users' Lambda bill over the trace: requests, and GB-s of work plus Init on cold starts.
    pub billed_usd: f64,
    /// Idle memory over the trace priced at the provisioned-concurrency rate (what keeping that
    /// capacity warm costs when you pay for it).
    pub idle_usd: f64,
    /// Both, scaled to a 730-hour month.
    pub monthly_usd: f64,
}

impl PolicyCost {
    /// Prices `outcome`, replayed over `horizon_s` seconds of trace.
    pub fn new(outcome: PolicyOutcome, pricing: &Pricing, horizon_s: f64) -> Self {
        let l = &pricing.lambda;
        let months = pricing.hours_per_month * 3600.0 / horizon_s.max(1.0);
        let billed_usd =
            outcome.invocations as f64 * l.request_per_million / 1e6 + outcome.billed_gb_s * l.x86_gb_second;
        let idle_usd = outcome.idle_gb_s * l.provisioned_gb_second;
        PolicyCost { monthly_usd: (billed_usd + idle_usd) * months, outcome, billed_usd, idle_usd }
    }
}
