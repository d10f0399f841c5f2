//! The pricing catalog: an embedded, dated TOML file with a source for every price, or a file
//! given with `--pricing` in the same layout.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// The catalog shipped inside the binary.
pub const EMBEDDED: &str = include_str!("pricing.toml");

/// Every price coldbench's cost model uses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pricing {
    /// The date the prices were checked.
    pub as_of: String,
    pub region: String,
    pub currency: String,
    /// Hours in a billing month (AWS's calculator: 730 = 8760 / 12).
    pub hours_per_month: f64,
    pub lambda: LambdaPrices,
    pub front_door: FrontDoorPrices,
    pub fargate: BTreeMap<String, FargatePrices>,
    pub ec2: BTreeMap<String, Ec2Price>,
    pub public_ipv4: HourlyPrice,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaPrices {
    pub request_per_million: f64,
    pub request_source: String,
    pub x86_gb_second: f64,
    pub x86_source: String,
    pub arm64_gb_second: f64,
    pub arm64_source: String,
    pub free_requests: u64,
    pub free_gb_seconds: f64,
    pub free_tier_source: String,
    pub provisioned_gb_second: f64,
    pub provisioned_executing_gb_second: f64,
    pub provisioned_source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontDoorPrices {
    pub function_url_per_million: f64,
    pub function_url_source: String,
    pub http_api_per_million: f64,
    pub http_api_source: String,
    pub rest_api_per_million: f64,
    pub rest_api_source: String,
    pub alb_hourly: f64,
    pub alb_lcu_hourly: f64,
    pub alb_source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FargatePrices {
    pub vcpu_hourly: f64,
    pub gb_hourly: f64,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ec2Price {
    pub vcpu: u32,
    pub memory_gb: f64,
    pub hourly: f64,
    pub source: String,
    /// CPU credits, for burstable (t2, t3) types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<BurstCredits>,
}

/// What a burstable instance does when its CPU credits run out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreditMode {
    /// Held at the baseline (t2's default).
    #[default]
    Standard,
    /// Never held; surplus credits are billed (t3's default).
    Unlimited,
}

/// A burstable type's CPU credits (one credit: one vCPU at 100 % for a minute).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurstCredits {
    pub credits_per_hour: f64,
    pub max_credits: f64,
    /// Baseline share of each vCPU.
    pub baseline: f64,
    /// `standard` (t2) or `unlimited` (t3) when launched without saying.
    pub default_mode: CreditMode,
    /// Price of surplus credits in unlimited mode, per vCPU-hour.
    pub surplus_vcpu_hourly: f64,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HourlyPrice {
    pub hourly: f64,
    pub source: String,
}

/// Something the catalog has no price for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("no EC2 price for {instance:?} in the pricing catalog of {as_of} (the catalog has: {})", known.join(", "))]
    Ec2 { instance: String, as_of: String, known: Vec<String> },
    #[error("no Fargate price for {arch} in the pricing catalog of {as_of}")]
    Fargate { arch: String, as_of: String },
}

impl Pricing {
    /// Fargate's prices on one architecture.
    ///
    /// # Errors
    /// When the catalog has none for it.
    pub fn fargate_price(&self, arch: super::Arch) -> Result<&FargatePrices, PriceError> {
        let key = match arch {
            super::Arch::X86 => "x86",
            super::Arch::Arm64 => "arm64",
        };
        self.fargate.get(key).ok_or_else(|| PriceError::Fargate { arch: key.to_string(), as_of: self.as_of.clone() })
    }

    /// The EC2 instance type's price.
    ///
    /// # Errors
    /// When the catalog has no such type: the error names it and the types there are.
    pub fn ec2_price(&self, instance: &str) -> Result<&Ec2Price, PriceError> {
        self.ec2.get(instance).ok_or_else(|| PriceError::Ec2 {
            instance: instance.to_string(),
            as_of: self.as_of.clone(),
            known: self.ec2.keys().cloned().collect(),
        })
    }

    /// The embedded catalog.
    pub fn embedded() -> Self {
        Self::parse(EMBEDDED, "embedded pricing.toml").expect("the embedded catalog is valid")
    }

    /// The catalog at `path`, or the embedded one when there is none.
    ///
    /// # Errors
    /// As [`Pricing::load`].
    pub fn load_or_embedded(path: Option<&Path>) -> anyhow::Result<Self> {
        path.map_or_else(|| Ok(Self::embedded()), Self::load)
    }

    /// Reads a catalog file.
    ///
    /// # Errors
    /// Names the file and the field when it cannot be read, parsed or has a negative price.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading pricing {}", path.display()))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses catalog text; `name` labels errors.
    ///
    /// # Errors
    /// Names the field of a parse error or of a price that is negative or not finite.
    pub fn parse(text: &str, name: &str) -> anyhow::Result<Self> {
        let pricing: Pricing = serde_path_to_error::deserialize(toml::Deserializer::new(text))
            .map_err(|e| anyhow::anyhow!("{name}: {}: {}", e.path(), e.inner().message()))?;
        pricing.check().map_err(|(field, value)| anyhow::anyhow!("{name}: {field}: must be 0 or more, got {value}"))?;
        Ok(pricing)
    }

    fn check(&self) -> Result<(), (String, f64)> {
        let l = &self.lambda;
        let f = &self.front_door;
        let mut prices: Vec<(String, f64)> = vec![
            ("hours_per_month".into(), self.hours_per_month),
            ("lambda.request_per_million".into(), l.request_per_million),
            ("lambda.x86_gb_second".into(), l.x86_gb_second),
            ("lambda.arm64_gb_second".into(), l.arm64_gb_second),
            ("lambda.free_gb_seconds".into(), l.free_gb_seconds),
            ("lambda.provisioned_gb_second".into(), l.provisioned_gb_second),
            ("lambda.provisioned_executing_gb_second".into(), l.provisioned_executing_gb_second),
            ("front_door.http_api_per_million".into(), f.http_api_per_million),
            ("front_door.rest_api_per_million".into(), f.rest_api_per_million),
            ("front_door.function_url_per_million".into(), f.function_url_per_million),
            ("front_door.alb_hourly".into(), f.alb_hourly),
            ("front_door.alb_lcu_hourly".into(), f.alb_lcu_hourly),
            ("public_ipv4.hourly".into(), self.public_ipv4.hourly),
        ];
        for (arch, p) in &self.fargate {
            prices.push((format!("fargate.{arch}.vcpu_hourly"), p.vcpu_hourly));
            prices.push((format!("fargate.{arch}.gb_hourly"), p.gb_hourly));
        }
        for (name, p) in &self.ec2 {
            prices.push((format!("ec2.\"{name}\".hourly"), p.hourly));
        }
        match prices.into_iter().find(|(_, v)| !(v.is_finite() && *v >= 0.0)) {
            Some(bad) => Err(bad),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalog_has_every_price_the_examples_need() {
        let p = Pricing::embedded();
        assert_eq!(p.hours_per_month, 730.0);
        assert_eq!(p.ec2["t2.nano"].hourly, 0.0058);
        assert_eq!(p.ec2["t3.micro"].hourly, 0.0104);
        assert_eq!(p.lambda.x86_gb_second, 0.0000166667);
        assert!(p.fargate.contains_key("x86") && p.fargate.contains_key("arm64"));
    }

    #[test]
    fn a_negative_price_is_named() {
        let text = EMBEDDED.replace("hourly = 0.0104", "hourly = -1");
        let err = Pricing::parse(&text, "p.toml").unwrap_err().to_string();
        assert_eq!(err, "p.toml: ec2.\"t3.micro\".hourly: must be 0 or more, got -1");
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_path() {
        let text = EMBEDDED.replace("[public_ipv4]", "[public_ipv4]\ncolor = 1");
        let err = Pricing::parse(&text, "p.toml").unwrap_err().to_string();
        assert!(err.starts_with("p.toml: public_ipv4.color: unknown field `color`"), "{err}");
    }
}
