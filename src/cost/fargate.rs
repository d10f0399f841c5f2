//! Fargate task sizes: only the vCPU and memory combinations Fargate accepts
//! (reference `resources-and-autoscaling.md` §2, AmazonECS task-cpu-memory-error.html).

use serde::{Deserialize, Serialize};

/// A Fargate task's size.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FargateSize {
    pub vcpu: f64,
    pub memory_gb: f64,
}

/// The memory Fargate accepts with one vCPU size: listed, or a range in steps.
enum Memory {
    OneOf(&'static [f64]),
    Steps { from: f64, to: f64, step: f64 },
}

/// Each vCPU size and the memory it goes with.
const SIZES: [(f64, Memory); 7] = [
    (0.25, Memory::OneOf(&[0.5, 1.0, 2.0])),
    (0.5, Memory::Steps { from: 1.0, to: 4.0, step: 1.0 }),
    (1.0, Memory::Steps { from: 2.0, to: 8.0, step: 1.0 }),
    (2.0, Memory::Steps { from: 4.0, to: 16.0, step: 1.0 }),
    (4.0, Memory::Steps { from: 8.0, to: 30.0, step: 1.0 }),
    (8.0, Memory::Steps { from: 16.0, to: 60.0, step: 4.0 }),
    (16.0, Memory::Steps { from: 32.0, to: 120.0, step: 8.0 }),
];

/// A size Fargate would refuse, and which of its two numbers is wrong.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FargateSizeError {
    #[error("{0} is not a Fargate vCPU size (0.25, 0.5, 1, 2, 4, 8 or 16)")]
    Vcpu(f64),
    #[error("{memory_gb} GB does not go with {vcpu} vCPU on Fargate: {valid}")]
    Memory { vcpu: f64, memory_gb: f64, valid: String },
}

impl FargateSizeError {
    /// The field at fault: `vcpu` or `memory_gb`.
    pub fn field(&self) -> &'static str {
        match self {
            FargateSizeError::Vcpu(_) => "vcpu",
            FargateSizeError::Memory { .. } => "memory_gb",
        }
    }
}

impl FargateSize {
    /// Whether Fargate accepts this size.
    ///
    /// # Errors
    /// The vCPU size when Fargate has no such size, else the memory when it does not go with it.
    pub fn check(&self) -> Result<(), FargateSizeError> {
        let same = |a: f64, b: f64| (a - b).abs() < 1e-9;
        let (_, memory) = SIZES.iter().find(|(v, _)| same(*v, self.vcpu)).ok_or(FargateSizeError::Vcpu(self.vcpu))?;
        let (fits, valid) = match memory {
            Memory::OneOf(list) => (
                list.iter().any(|m| same(*m, self.memory_gb)),
                format!("{} GB", list.iter().map(f64::to_string).collect::<Vec<_>>().join(", ")),
            ),
            Memory::Steps { from, to, step } => {
                let steps = (self.memory_gb - from) / step;
                (
                    (*from..=*to).contains(&self.memory_gb) && same(steps, steps.round()),
                    format!("{from} to {to} GB in {step} GB steps"),
                )
            }
        };
        if fits {
            Ok(())
        } else {
            Err(FargateSizeError::Memory { vcpu: self.vcpu, memory_gb: self.memory_gb, valid })
        }
    }

    /// The task's memory in MiB, as a container limit.
    pub fn memory_mb(&self) -> u32 {
        (self.memory_gb * 1024.0).round() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(vcpu: f64, memory_gb: f64) -> Result<(), FargateSizeError> {
        FargateSize { vcpu, memory_gb }.check()
    }

    #[test]
    fn every_listed_combination_is_accepted() {
        for (vcpu, memory) in [(0.25, 0.5), (0.25, 2.0), (0.5, 1.0), (0.5, 4.0), (1.0, 8.0), (2.0, 16.0)] {
            assert_eq!(size(vcpu, memory), Ok(()), "{vcpu} vCPU / {memory} GB");
        }
        for (vcpu, memory) in [(4.0, 8.0), (4.0, 30.0), (8.0, 16.0), (8.0, 60.0), (16.0, 32.0), (16.0, 120.0)] {
            assert_eq!(size(vcpu, memory), Ok(()), "{vcpu} vCPU / {memory} GB");
        }
    }

    #[test]
    fn other_combinations_name_the_number_at_fault() {
        let e = size(0.3, 1.0).unwrap_err();
        assert_eq!(e.field(), "vcpu");
        assert_eq!(e.to_string(), "0.3 is not a Fargate vCPU size (0.25, 0.5, 1, 2, 4, 8 or 16)");
        let e = size(0.25, 3.0).unwrap_err();
        assert_eq!(e.field(), "memory_gb");
        assert_eq!(e.to_string(), "3 GB does not go with 0.25 vCPU on Fargate: 0.5, 1, 2 GB");
        // Outside the range, off the 1 GB step, off the 4 and 8 GB steps.
        for (vcpu, memory) in [(1.0, 1.0), (2.0, 4.5), (4.0, 31.0), (8.0, 18.0), (16.0, 36.0)] {
            assert_eq!(size(vcpu, memory).unwrap_err().field(), "memory_gb", "{vcpu} vCPU / {memory} GB");
        }
        assert!(size(8.0, 18.0).unwrap_err().to_string().ends_with("16 to 60 GB in 4 GB steps"));
    }
}
