//! A precise timer: a Linux `timerfd` registered with tokio's reactor, so the runtime thread
//! itself wakes within microseconds of the asked time. tokio's own timer wheel has millisecond
//! granularity (a 5 ms sleep takes ~6 ms), and a separate pacer thread would cost a context
//! switch per wake-up. Used by the open-loop dispatcher and the demo function's `sleep` work.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;

/// A one-shot timer that can be re-armed for any future instant.
pub struct PreciseTimer {
    fd: AsyncFd<OwnedFd>,
    /// The same moment on both clocks, to turn an `Instant` into a `CLOCK_MONOTONIC` time.
    base_instant: Instant,
    base_monotonic: Duration,
}

impl PreciseTimer {
    /// Creates the timer; must be called inside a tokio runtime.
    ///
    /// # Errors
    /// When the kernel refuses a timerfd or the reactor cannot register it.
    pub fn new() -> io::Result<Self> {
        // SAFETY: timerfd_create returns a new descriptor or -1; we take ownership of it.
        let raw = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let base_instant = Instant::now();
        let base_monotonic = monotonic_now()?;
        // SAFETY: the OwnedFd is moved into the AsyncFd and stays open, unchanged, until it drops.
        let fd = unsafe { AsyncFd::register(fd) }.map_err(|e| e.into_parts().1)?;
        Ok(Self { fd, base_instant, base_monotonic })
    }

    /// Waits until `due` (returns at once if it has passed).
    ///
    /// # Errors
    /// When arming or reading the timerfd fails.
    pub async fn sleep_until(&self, due: Instant) -> io::Result<()> {
        if Instant::now() >= due {
            return Ok(());
        }
        let at = self.base_monotonic + due.saturating_duration_since(self.base_instant);
        let spec = libc::itimerspec {
            it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
            it_value: libc::timespec {
                tv_sec: at.as_secs() as libc::time_t,
                tv_nsec: at.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: the descriptor is a timerfd we own; spec is a valid itimerspec.
        let armed =
            unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), libc::TFD_TIMER_ABSTIME, &spec, std::ptr::null_mut()) };
        if armed < 0 {
            return Err(io::Error::last_os_error());
        }
        loop {
            let mut ready = self.fd.readable().await?;
            match ready.try_io(|fd| read_expirations(fd.get_ref())) {
                Ok(result) => return result.map(|_| ()),
                Err(_would_block) => continue,
            }
        }
    }
}

fn read_expirations(fd: &OwnedFd) -> io::Result<u64> {
    let mut expirations = 0u64;
    // SAFETY: reading 8 bytes into a u64 from a timerfd, as timerfd(2) specifies.
    let n = unsafe { libc::read(fd.as_raw_fd(), (&mut expirations as *mut u64).cast(), 8) };
    if n == 8 {
        Ok(expirations)
    } else {
        Err(io::Error::last_os_error())
    }
}

fn monotonic_now() -> io::Result<Duration> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we pass.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// Sleeps for `duration` precisely, falling back to tokio's timer if no timerfd can be had.
pub async fn sleep_precisely(duration: Duration) {
    let due = Instant::now() + duration;
    let slept = match PreciseTimer::new() {
        Ok(timer) => timer.sleep_until(due).await,
        Err(e) => Err(e),
    };
    if slept.is_err() {
        tokio::time::sleep_until(due.into()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_no_earlier_than_asked_and_at_once_for_the_past() {
        let timer = PreciseTimer::new().unwrap();
        for micros in [50u64, 300, 2_000] {
            let due = Instant::now() + Duration::from_micros(micros);
            timer.sleep_until(due).await.unwrap();
            assert!(Instant::now() >= due);
        }
        timer.sleep_until(Instant::now() - Duration::from_millis(1)).await.unwrap();
    }
}
