//! CPU credits of a burstable (t2/t3) instance, as EC2 keeps them: one credit is one vCPU at
//! 100 % for one minute; the instance earns `credits_per_hour` (its baseline: `baseline × vCPUs
//! × 60` per hour) up to `max_credits`, and spends what it uses. In standard mode an empty
//! balance holds it at its baseline; in unlimited mode it is never held back and the credits it
//! spends beyond its balance are surplus, billed per vCPU-hour
//! (`docs/reference/resources-and-autoscaling.md` §2). Pure: the caller measures CPU and
//! applies the vCPUs returned.

pub use crate::cost::CreditMode;

/// An instance type's credit figures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CreditSpec {
    pub vcpus: f64,
    pub credits_per_hour: f64,
    pub max_credits: f64,
    /// Baseline share of each vCPU (t3.micro: 0.10).
    pub baseline: f64,
    pub mode: CreditMode,
}

/// One instance's balance.
#[derive(Clone, Debug, PartialEq)]
pub struct CreditBucket {
    spec: CreditSpec,
    balance: f64,
    surplus: f64,
}

impl CreditBucket {
    /// A bucket starting at `initial` credits (capped at the maximum).
    pub fn new(spec: CreditSpec, initial: f64) -> Self {
        Self { spec, balance: initial.clamp(0.0, spec.max_credits), surplus: 0.0 }
    }

    /// Accounts `elapsed` seconds in which the instance used `cpu_seconds` of CPU; returns the
    /// vCPUs it may use next.
    pub fn tick(&mut self, elapsed: f64, cpu_seconds: f64) -> f64 {
        let earned = self.spec.credits_per_hour * elapsed / 3600.0;
        let spent = cpu_seconds.max(0.0) / 60.0;
        let balance = self.balance + earned - spent;
        if balance < 0.0 && self.spec.mode == CreditMode::Unlimited {
            self.surplus += -balance;
        }
        self.balance = balance.clamp(0.0, self.spec.max_credits);
        self.allowed()
    }

    /// The vCPUs the instance may use for the next second: all of them while credits last (or
    /// always, in unlimited mode); with less than a second's burst left, the baseline plus what
    /// the balance pays for (EC2 spends credits by the millisecond: a crumb of balance buys a
    /// crumb of burst, not a whole second of it); at an empty balance, the baseline.
    pub fn allowed(&self) -> f64 {
        if self.spec.mode == CreditMode::Unlimited {
            return self.spec.vcpus;
        }
        // One credit is one vCPU for 60 s: the balance pays for `balance × 60` vCPU-seconds
        // beyond the baseline, which the credits earned meanwhile cover.
        (self.spec.baseline * self.spec.vcpus + self.balance * 60.0).min(self.spec.vcpus)
    }

    /// The mode it keeps.
    pub fn mode(&self) -> CreditMode {
        self.spec.mode
    }

    /// Every vCPU of the instance: what it may use while it has credits.
    pub fn full_cpus(&self) -> f64 {
        self.spec.vcpus
    }

    /// Credits left.
    pub fn balance(&self) -> f64 {
        self.balance
    }

    /// Credits spent beyond the balance (unlimited mode): `surplus / 60` vCPU-hours to pay.
    pub fn surplus(&self) -> f64 {
        self.surplus
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T3_MICRO: CreditSpec = CreditSpec {
        vcpus: 2.0,
        credits_per_hour: 12.0,
        max_credits: 288.0,
        baseline: 0.10,
        mode: CreditMode::Standard,
    };

    #[test]
    fn running_at_the_baseline_keeps_the_balance() {
        let mut bucket = CreditBucket::new(T3_MICRO, 10.0);
        // 0.2 vCPU for an hour: 0.2 × 3600 s of CPU = 12 credits spent, 12 earned.
        for _ in 0..3600 {
            bucket.tick(1.0, 0.2);
        }
        assert!((bucket.balance() - 10.0).abs() < 1e-6, "{}", bucket.balance());
    }

    #[test]
    fn standard_mode_drops_to_the_baseline_when_the_balance_is_empty_and_recovers() {
        let mut bucket = CreditBucket::new(T3_MICRO, 1.0);
        // Both vCPUs busy: 2 credits a minute spent, 0.2 earned; one credit lasts 33 s.
        let mut seconds = 0;
        while bucket.tick(1.0, 2.0) == 2.0 {
            seconds += 1;
        }
        assert!((32..=34).contains(&seconds), "{seconds} s at full speed");
        // Still busy, using what it may: the last crumb of balance goes in a second.
        bucket.tick(1.0, bucket.allowed());
        assert!((bucket.allowed() - 0.2).abs() < 1e-9, "held at 10 % of 2 vCPUs: {}", bucket.allowed());
        // Held at the baseline, it earns what it spends: no second of full speed from a crumb.
        for _ in 0..60 {
            let allowed = bucket.tick(1.0, bucket.allowed());
            assert!(allowed < 0.21, "{allowed} vCPU from a balance of {}", bucket.balance());
        }
        // A second's worth of balance (1.8 vCPU-seconds beyond the baseline: 0.03 credits) or
        // more buys a second of full speed; half of it, half the burst.
        let mut half = CreditBucket::new(T3_MICRO, 0.015);
        assert!((half.allowed() - 1.1).abs() < 1e-9, "{}", half.allowed());
        half = CreditBucket::new(T3_MICRO, 0.04);
        assert_eq!(half.allowed(), 2.0);
        // Idle, it earns again and is let go.
        assert_eq!(bucket.tick(10.0, 0.0), 2.0);
        assert_eq!(bucket.surplus(), 0.0, "standard mode never bills surplus");
    }

    #[test]
    fn unlimited_mode_is_never_held_and_counts_the_surplus() {
        let mut bucket = CreditBucket::new(CreditSpec { mode: CreditMode::Unlimited, ..T3_MICRO }, 0.0);
        for _ in 0..60 {
            assert_eq!(bucket.tick(1.0, 2.0), 2.0);
        }
        // 120 vCPU-seconds = 2 credits spent, 0.2 earned: 1.8 surplus.
        assert!((bucket.surplus() - 1.8).abs() < 1e-9, "{}", bucket.surplus());
        assert_eq!(bucket.balance(), 0.0);
    }
}
