//! What outlives a command if nothing is done: orphans re-parented to coldbench (it is their
//! subreaper), and — when coldbench itself is killed — everything it started, which the
//! watchdog sweeps.

use std::time::Duration;

use super::{descendants, kill_pid};

/// Makes coldbench the reaper of its orphaned descendants: a helper whose parent exits (a
/// daemon that double-forks, a `setsid` child of a shell that is gone) is re-parented to
/// coldbench instead of init, so [`kill_orphans`] can still find it.
pub fn become_subreaper() {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only sets a flag on this process.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1);
    }
}

/// The variable every process coldbench starts carries (and its descendants inherit), naming
/// this coldbench: what the watchdog looks for when coldbench itself was killed.
const RUN_MARKER: &str = "COLDBENCH_RUN";

/// This coldbench's marker value and its watchdog's pid, once started.
static WATCHDOG: std::sync::OnceLock<(String, u32)> = std::sync::OnceLock::new();

/// Starts the watchdog: a forked process that outlives coldbench only to clean up after it.
/// It waits for coldbench's end (the close of a pipe only coldbench holds), then SIGKILLs every
/// process still carrying this run's [`RUN_MARKER`] — what a `kill -9` of coldbench leaves
/// behind (`PR_SET_PDEATHSIG` reaches only direct children, and a subreaper that died reaps
/// nothing) — and exits. It ignores the terminal's signals, so Ctrl-C leaves the cleanup to
/// coldbench itself.
///
/// # Safety
/// Must be called before any other thread exists (it forks).
pub unsafe fn start_watchdog() {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: the caller guarantees a single thread, so the forked child inherits no lock held
    // by another thread and may run ordinary code; it never returns from `watch`.
    unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return;
        }
        let coldbench = std::process::id();
        let token = format!("{coldbench}-{}", std::time::UNIX_EPOCH.elapsed().map_or(0, |d| d.as_nanos()));
        match libc::fork() {
            -1 => {
                libc::close(fds[0]);
                libc::close(fds[1]);
            }
            0 => {
                libc::close(fds[1]);
                watch(fds[0], &token, coldbench);
            }
            pid => {
                libc::close(fds[0]);
                // The write end stays open, unseen (close-on-exec), until coldbench ends.
                let _ = WATCHDOG.set((token, pid as u32));
            }
        }
    }
}

/// The watchdog's life: wait for the pipe to close, sweep processes and cgroups, exit.
fn watch(pipe: libc::c_int, token: &str, coldbench: u32) -> ! {
    // SAFETY: signal dispositions and the process group of this process only; read on our own
    // pipe into a local buffer.
    unsafe {
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
            libc::signal(signal, libc::SIG_IGN);
        }
        libc::setpgid(0, 0);
        // Nothing is ever written: the read returns 0 when coldbench's end closes the pipe.
        let mut byte = 0u8;
        loop {
            match libc::read(pipe, (&raw mut byte).cast(), 1) {
                0 => break,
                n if n < 0 && *libc::__errno_location() != libc::EINTR => break,
                _ => {}
            }
        }
    }
    let needle = format!("{RUN_MARKER}={token}");
    // A process may fork while it is being killed: sweep until a sweep finds nobody.
    for _ in 0..20 {
        let found = marked_processes(&needle);
        if found.is_empty() {
            break;
        }
        for pid in found {
            kill_pid(pid);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    crate::cgroup::remove_run_groups(coldbench);
    // SAFETY: ends this process without running coldbench's atexit handlers or destructors.
    unsafe { libc::_exit(0) }
}

/// Every process whose environment holds `needle` as a whole entry.
fn marked_processes(needle: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|environ| environ.split(|b| *b == 0).any(|entry| entry == needle.as_bytes()))
        })
        .collect()
}

/// The marker every started process gets, when the watchdog runs.
pub(super) fn run_marker() -> Option<(&'static str, &'static str)> {
    WATCHDOG.get().map(|(token, _)| (RUN_MARKER, token.as_str()))
}

/// SIGKILL to every process still below coldbench — re-parented orphans included — and reaps
/// them, and removes the run's cgroups. Called when coldbench is done with all its children (the
/// end of a command, a forced exit), so nothing it started outlives it, whatever process group
/// or session it moved to.
pub fn kill_orphans() {
    let own = std::process::id();
    // The watchdog is left to see coldbench's end and exit by itself.
    let watchdog = WATCHDOG.get().map(|(_, pid)| *pid);
    for pid in descendants(own, usize::MAX).into_iter().filter(|pid| Some(*pid) != watchdog) {
        kill_pid(pid);
    }
    crate::cgroup::remove_run_groups(own);
    for pid in descendants(own, usize::MAX) {
        let pid = libc::pid_t::try_from(pid).expect("pids fit in pid_t");
        // SAFETY: waitpid on one specific child (never -1, which would take the statuses
        // tokio waits for); WNOHANG keeps it from blocking.
        unsafe {
            libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG);
        }
    }
}
