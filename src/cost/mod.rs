//! Cost: the pricing catalog (embedded, dated, sourced) and the pure cost model.
//!
//! Nothing here measures or reads a run; callers pass usage figures in (`analysis` projects a
//! run onto a month).

mod catalog;
mod fargate;
mod model;
mod settings;

pub use catalog::{BurstCredits, CreditMode, Ec2Price, FargatePrices, PriceError, Pricing, EMBEDDED};
pub use fargate::{FargateSize, FargateSizeError};
pub use model::{
    billed_instance_seconds, break_even_requests, container_monthly, function_monthly, implied_hours,
    managed_instances_monthly, per_million, Arch, Container, CostItem, FrontDoor, FunctionUsage, LineItem, MonthlyCost,
    MIN_BILLED_INSTANCE,
};
pub use settings::{CostSettings, InstanceSize, DEFAULT_INSTANCE};
