//! What a monthly projection assumes beyond the run: the workload's `[cost]` table.

use serde::{Deserialize, Serialize};

use super::fargate::FargateSize;
use super::model::{Arch, Container, FrontDoor};
use super::{BurstCredits, PriceError, Pricing};

/// What the projection assumes beyond the run (the workload's `[cost]` table).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostSettings {
    /// EC2 instance type each container instance would run on; default: t3.micro, unless
    /// `fargate` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The always-on alternative is a Fargate task of this size instead of an EC2 instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fargate: Option<FargateSize>,
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
            instance: Some(DEFAULT_INSTANCE.to_string()),
            fargate: None,
            arch: Arch::X86,
            front_door: FrontDoor::None,
            free_tier: false,
            public_ipv4: false,
            hours_per_month: None,
        }
    }
}

/// The EC2 instance type when the workload names none.
pub const DEFAULT_INSTANCE: &str = "t3.micro";

/// The size of one always-on instance, from the catalog or the Fargate task.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceSize {
    pub vcpus: f64,
    pub memory_mb: u32,
    /// CPU credits of a burstable EC2 type (Fargate has none: containers-roadmap #163).
    pub burst: Option<BurstCredits>,
}

impl CostSettings {
    /// The EC2 instance type (meaningful when `fargate` is not set).
    pub fn instance(&self) -> &str {
        self.instance.as_deref().unwrap_or(DEFAULT_INSTANCE)
    }

    /// `count` always-on instances as the cost model prices them.
    pub fn always_on(&self, count: u32) -> Container {
        match self.fargate {
            Some(size) => Container::Fargate { vcpu: size.vcpu, memory_gb: size.memory_gb, arch: self.arch, count },
            None => Container::Ec2 { instance: self.instance().to_string(), count },
        }
    }

    /// What one always-on instance has: the Fargate size, or the EC2 type's from the catalog.
    ///
    /// # Errors
    /// When the catalog has no price for the EC2 type, or for Fargate on this architecture.
    pub fn instance_size(&self, pricing: &Pricing) -> Result<InstanceSize, PriceError> {
        match self.fargate {
            Some(size) => {
                pricing.fargate_price(self.arch)?;
                Ok(InstanceSize { vcpus: size.vcpu, memory_mb: size.memory_mb(), burst: None })
            }
            None => {
                let p = pricing.ec2_price(self.instance())?;
                Ok(InstanceSize {
                    vcpus: f64::from(p.vcpu),
                    memory_mb: (p.memory_gb * 1024.0).round() as u32,
                    burst: p.burst.clone(),
                })
            }
        }
    }
}
