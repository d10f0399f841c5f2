//! The balancer's health checks of the instances, as an ALB target group runs them: `GET path`
//! on a fresh connection every interval, an answer within the timeout whose status the matcher
//! accepts passing; the verdicts follow [`crate::policy::health`]. An instance that turns
//! unhealthy leaves rotation (unless every registered one is unhealthy: the balancer fails open),
//! and the service replaces it as ECS does a task that fails its ELB health checks: the
//! replacement starts first, the unhealthy one is stopped once enough serve.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{ContainerInstance, ContainerPool};
use crate::policy::health::HealthState;
use crate::time::clock::Clock;
use crate::workload::HealthCheckSpec;

/// How often the first instances are checked while coldbench waits for them to pass.
const FIRST_CHECK_RETRY: Duration = Duration::from_millis(100);

/// Checks one of the first instances until it passes, or until `deadline`.
///
/// # Errors
/// The last check's failure, in words.
pub(super) async fn first_pass(
    instance: &ContainerInstance,
    spec: &HealthCheckSpec,
    deadline: Instant,
) -> Result<(), String> {
    loop {
        match instance.check_health(spec).await {
            Ok(()) => {
                instance.observe_health(true);
                return Ok(());
            }
            Err(why) if Instant::now() + FIRST_CHECK_RETRY > deadline => return Err(why),
            Err(_) => tokio::time::sleep(FIRST_CHECK_RETRY).await,
        }
    }
}

/// Checks a launched instance at once and then every interval on the run's clock, until it passes
/// (`Ok`) or fails `unhealthy_threshold` checks in a row (`Err` with the last failure).
pub(super) async fn launch_pass(
    instance: &ContainerInstance,
    spec: &HealthCheckSpec,
    clock: &Clock,
) -> Result<(), String> {
    let mut due = clock.now();
    loop {
        let result = instance.check_health(spec).await;
        match instance.observe_health(result.is_ok()) {
            Some(HealthState::Healthy) => return Ok(()),
            Some(HealthState::Unhealthy) => return Err(result.err().unwrap_or_default()),
            _ => {
                due += spec.interval.0;
                clock.sleep_until(due).await;
            }
        }
    }
}

impl ContainerPool {
    /// Checks `instance` every interval while it is in the fleet, noting when it turns unhealthy
    /// (the service then replaces it) or healthy again.
    pub(super) async fn watch_health(self: Arc<Self>, instance: Arc<ContainerInstance>, clock: Clock, origin: Instant) {
        let Some(spec) = self.config.health_check.clone() else { return };
        // Every interval, however long a check takes (it times out before the next is due). The
        // checks do not hold a fast-forwarded clock: after a jump over idle time, the next round
        // is one interval after the one that woke.
        let mut due = clock.now();
        loop {
            due += spec.interval.0;
            tokio::select! {
                () = self.stopping.cancelled() => return,
                () = clock.sleep_past(due) => {}
            }
            due = due.max(clock.now());
            if instance.is_retired() || !instance.is_alive() {
                return;
            }
            let result = instance.check_health(&spec).await;
            let changed = instance.observe_health(result.is_ok());
            let now = clock.now().saturating_duration_since(origin);
            let mut fleet = self.fleet.lock().expect("fleet lock");
            if changed == Some(HealthState::Unhealthy) {
                let why = result.err().unwrap_or_default();
                fleet.unhealthy(&instance.id, now, spec.unhealthy_threshold, &spec.path, &why);
                instance.note_unhealthy(why);
            }
        }
    }
}
