//! What the host itself is doing while a target runs: its CPU time split (from `/proc/stat`) and
//! how many processes coldbench starts. A benchmark on one machine shares it with what it
//! measures; when errors come with a saturated host — heavy instance churn puts most of the CPU
//! in the kernel — the report must say the host, not the model, produced them.

use std::sync::atomic::{AtomicU64, Ordering};

/// Processes coldbench has started since it began (every instance, every helper it runs).
static SPAWNS: AtomicU64 = AtomicU64::new(0);

/// Accept attempts of coldbench's servers that failed for lack of its own or the host's
/// resources (open files): their clients wait, and may time out, through no fault of a target.
static REFUSED_ACCEPTS: AtomicU64 = AtomicU64::new(0);

/// Counts one accept that failed for lack of resources.
pub fn count_refused_accept() {
    REFUSED_ACCEPTS.fetch_add(1, Ordering::Relaxed);
}

/// Accepts failed so far.
pub fn refused_accepts() -> u64 {
    REFUSED_ACCEPTS.load(Ordering::Relaxed)
}

/// Counts one started process.
pub fn count_spawn() {
    SPAWNS.fetch_add(1, Ordering::Relaxed);
}

/// Processes started so far.
pub fn spawns() -> u64 {
    SPAWNS.load(Ordering::Relaxed)
}

/// The host's CPU time since boot, in clock ticks, summed over its CPUs (`/proc/stat`'s `cpu`
/// line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    pub user: u64,
    /// Kernel time: system, hard and soft interrupts.
    pub kernel: u64,
    /// Idle and waiting for I/O.
    pub idle: u64,
    /// Taken by the hypervisor for other guests.
    pub steal: u64,
}

impl CpuTimes {
    /// Reads them now; `None` off Linux.
    pub fn now() -> Option<Self> {
        Self::parse(&std::fs::read_to_string("/proc/stat").ok()?)
    }

    /// Parses the `cpu` line of `/proc/stat`.
    pub fn parse(stat: &str) -> Option<Self> {
        let line = stat.lines().find(|l| l.starts_with("cpu "))?;
        let f: Vec<u64> = line.split_whitespace().skip(1).map(|v| v.parse().unwrap_or(0)).collect();
        let at = |i: usize| f.get(i).copied().unwrap_or(0);
        // user nice system idle iowait irq softirq steal (guest time is inside user)
        Some(Self { user: at(0) + at(1), kernel: at(2) + at(5) + at(6), idle: at(3) + at(4), steal: at(7) })
    }

    /// The shares of the time from `earlier` to `self` that were busy and in the kernel, or
    /// `None` when no time passed.
    pub fn shares_since(&self, earlier: &CpuTimes) -> Option<CpuShares> {
        let d = |a: u64, b: u64| a.saturating_sub(b) as f64;
        let (user, kernel) = (d(self.user, earlier.user), d(self.kernel, earlier.kernel));
        let (idle, steal) = (d(self.idle, earlier.idle), d(self.steal, earlier.steal));
        let total = user + kernel + idle + steal;
        (total > 0.0).then(|| CpuShares { busy: (user + kernel + steal) / total, kernel: kernel / total })
    }
}

/// Shares of the host's CPU time over some span, from 0 to 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuShares {
    /// Not idle (user, kernel, and stolen by the hypervisor).
    pub busy: f64,
    pub kernel: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_come_from_the_cpu_line() {
        let before = CpuTimes::parse("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3\n").unwrap();
        let after = CpuTimes::parse("cpu  120 0 110 800 50 5 5 0 0 0\n").unwrap();
        let shares = after.shares_since(&before).unwrap();
        // 20 user + 70 kernel of 90 ticks, none idle.
        assert!((shares.busy - 1.0).abs() < 1e-9);
        assert!((shares.kernel - 70.0 / 90.0).abs() < 1e-9);
        assert_eq!(before.shares_since(&before), None);
    }
}
