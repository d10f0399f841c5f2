//! What a monthly projection assumes beyond the run: the workload's `[cost]` table.

use serde::{Deserialize, Serialize};

use super::model::{Arch, FrontDoor};

/// What the projection assumes beyond the run (the workload's `[cost]` table).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostSettings {
    /// EC2 instance type each container instance would run on.
    #[serde(default = "default_instance")]
    pub instance: String,
    #[serde(default)]
    pub arch: Arch,
    #[serde(default)]
    pub front_door: FrontDoor,
    #[serde(default)]
    pub free_tier: bool,
    #[serde(default)]
    pub public_ipv4: bool,
    /// Hours in a month; default: the catalog's (730).
    #[serde(default)]
    pub hours_per_month: Option<f64>,
}

impl Default for CostSettings {
    fn default() -> Self {
        Self {
            instance: default_instance(),
            arch: Arch::X86,
            front_door: FrontDoor::None,
            free_tier: false,
            public_ipv4: false,
            hours_per_month: None,
        }
    }
}

fn default_instance() -> String {
    "t3.micro".to_string()
}
