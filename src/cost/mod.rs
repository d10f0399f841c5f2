//! Cost: the pricing catalog (embedded, dated, sourced) and the pure cost model.
//!
//! Nothing here measures or reads a run; callers pass usage figures in.

mod catalog;
mod model;
mod projection;

pub use catalog::{Pricing, EMBEDDED};
pub use model::{
    break_even_requests, container_monthly, function_monthly, implied_hours, per_million, Arch, Container, FrontDoor,
    FunctionUsage, MonthlyCost,
};
pub use projection::{project, CostSettings, TargetCost};
