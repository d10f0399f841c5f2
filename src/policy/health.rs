//! A load balancer's view of one target's health, as an ALB target group keeps it: a new target
//! is in service after its first passing check; a target in service leaves after
//! `unhealthy_threshold` failures in a row and comes back after `healthy_threshold` passes in a
//! row (elasticloadbalancing target-group-health-checks; resources-and-autoscaling.md §4).

/// Where a target stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthState {
    /// Registered, no check passed yet: no traffic, and not counted for failing open.
    Initial,
    Healthy,
    /// Failed its checks: no traffic unless every registered target is unhealthy (fail open).
    Unhealthy,
}

/// One target's checks so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    healthy_threshold: u32,
    unhealthy_threshold: u32,
    state: HealthState,
    /// Consecutive results that disagree with the state.
    streak: u32,
}

impl Health {
    pub fn new(healthy_threshold: u32, unhealthy_threshold: u32) -> Self {
        Self { healthy_threshold, unhealthy_threshold, state: HealthState::Initial, streak: 0 }
    }

    /// A target with no checks: healthy from the start.
    pub fn unchecked() -> Self {
        Self { healthy_threshold: 1, unhealthy_threshold: u32::MAX, state: HealthState::Healthy, streak: 0 }
    }

    pub fn state(&self) -> HealthState {
        self.state
    }

    /// Counts one check; returns the new state when it changed.
    pub fn observe(&mut self, passed: bool) -> Option<HealthState> {
        let next = match (self.state, passed) {
            (HealthState::Initial, true) => Some(HealthState::Healthy),
            (HealthState::Initial, false) => {
                self.streak += 1;
                (self.streak >= self.unhealthy_threshold).then_some(HealthState::Unhealthy)
            }
            (HealthState::Healthy, true) | (HealthState::Unhealthy, false) => {
                self.streak = 0;
                None
            }
            (HealthState::Healthy, false) => {
                self.streak += 1;
                (self.streak >= self.unhealthy_threshold).then_some(HealthState::Unhealthy)
            }
            (HealthState::Unhealthy, true) => {
                self.streak += 1;
                (self.streak >= self.healthy_threshold).then_some(HealthState::Healthy)
            }
        };
        if let Some(state) = next {
            self.state = state;
            self.streak = 0;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_target_serves_after_one_pass_leaves_after_two_failures_and_returns_after_five_passes() {
        let mut h = Health::new(5, 2);
        assert_eq!(h.state(), HealthState::Initial);
        assert_eq!(h.observe(true), Some(HealthState::Healthy));
        assert_eq!(h.observe(false), None);
        assert_eq!(h.observe(true), None, "a pass breaks the streak of failures");
        assert_eq!(h.observe(false), None);
        assert_eq!(h.observe(false), Some(HealthState::Unhealthy));
        for _ in 0..4 {
            assert_eq!(h.observe(true), None);
        }
        assert_eq!(h.observe(true), Some(HealthState::Healthy));
    }

    #[test]
    fn a_new_target_that_never_passes_becomes_unhealthy() {
        let mut h = Health::new(5, 2);
        assert_eq!(h.observe(false), None);
        assert_eq!(h.observe(false), Some(HealthState::Unhealthy));
        assert_eq!(Health::unchecked().state(), HealthState::Healthy);
    }
}
