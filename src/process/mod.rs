//! Child processes that cannot outlive coldbench: each runs in its own process group, is killed
//! with the whole group, dies with its parent (`PR_SET_PDEATHSIG`), and keeps the tail of its
//! output for error messages.

use std::io;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::isolation::NetNamespace;
use tokio::process::{Child, Command};
use tokio::sync::watch;

mod output;
mod reaper;

use output::keep_tail;
pub use output::{LineSink, Tail};
use reaper::run_marker;
pub use reaper::{become_subreaper, kill_orphans, start_watchdog};

/// Where a process starts, beyond its process group: each given one must outlive it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Placement<'a> {
    /// A network namespace of its own.
    pub namespace: Option<&'a NetNamespace>,
    /// A cgroup that limits and measures it.
    pub cgroup: Option<&'a crate::cgroup::Cgroup>,
    /// Its working directory; `None`: coldbench's own.
    pub cwd: Option<&'a std::path::Path>,
}

/// A program that could not be started; the OS error stays reachable for [`host_limit`].
#[derive(Debug, thiserror::Error)]
#[error("cannot start {program:?}: {source}")]
struct SpawnError {
    program: String,
    source: io::Error,
}

/// When `err` comes from coldbench's own or the host's limits rather than from the program,
/// the cause and the fix, for people (`too many open files in coldbench (EMFILE): raise its
/// limit with ulimit -n`). Such a failure is the host's, never the target's.
pub fn host_limit(err: &io::Error) -> Option<&'static str> {
    let code = err.raw_os_error().or_else(|| {
        err.get_ref().and_then(|inner| inner.downcast_ref::<SpawnError>()).and_then(|e| e.source.raw_os_error())
    })?;
    Some(match code {
        libc::EMFILE => "too many open files in coldbench (EMFILE): raise its limit with `ulimit -n`",
        libc::ENFILE => "the host's open-file table is full (ENFILE): raise fs.file-max",
        libc::EAGAIN => "the host refused another process (EAGAIN): raise `ulimit -u` or lower the concurrency",
        libc::ENOMEM => "the host is out of memory (ENOMEM)",
        libc::ENOSPC => "no space left on the host (ENOSPC)",
        libc::EADDRNOTAVAIL => "no free loopback port (EADDRNOTAVAIL): too many connections in TIME_WAIT",
        _ => return None,
    })
}

/// Every process group coldbench has started and not yet finished with: what a forced exit
/// kills (see [`kill_every_group`]).
static LIVE_GROUPS: Mutex<std::collections::BTreeSet<u32>> = Mutex::new(std::collections::BTreeSet::new());

/// SIGKILL to every process group coldbench started that is not known to be gone: the last
/// resort of a forced exit (a second Ctrl-C), which does not wait for graceful stops.
pub fn kill_every_group() {
    let groups: Vec<u32> =
        LIVE_GROUPS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().copied().collect();
    for pgid in groups {
        signal_group(pgid, libc::SIGKILL);
    }
}

fn forget_group(pgid: u32) {
    LIVE_GROUPS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&pgid);
}

/// A child process in its own process group.
#[derive(Debug)]
pub struct GroupChild {
    child: Child,
    pid: u32,
    tail: Arc<Mutex<Tail>>,
    reaped: Option<ExitStatus>,
    /// The group has been sent SIGKILL after the leader was reaped: nothing is left to kill.
    finished: bool,
}

impl GroupChild {
    /// Spawns `argv` with `env` added to (or, with `clear_env`, replacing) the environment,
    /// sending every output line to `sink` if given, and starting the process where `place`
    /// says (a namespace, a cgroup: each must outlive the process).
    ///
    /// # Errors
    /// When the program cannot be started (not found, not executable, the namespace or the
    /// cgroup refused it).
    pub fn spawn_with_sink(
        argv: &[String],
        env: &[(String, String)],
        clear_env: bool,
        sink: Option<LineSink>,
        place: Placement<'_>,
    ) -> io::Result<Self> {
        let (program, args) = argv.split_first().ok_or_else(|| io::Error::other("empty command"))?;
        let mut command = Command::new(program);
        command.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
        if clear_env {
            command.env_clear();
        }
        if let Some(cwd) = place.cwd {
            command.current_dir(cwd);
        }
        command.envs(env.iter().map(|(k, v)| (k, v)));
        if let Some((name, value)) = run_marker() {
            command.env(name, value);
        }
        let namespace = place.namespace.map(NetNamespace::entry);
        let cgroup = place.cgroup.map(crate::cgroup::Cgroup::entry);
        // SAFETY: between fork and exec only async-signal-safe calls run: prctl (SIGKILL the
        // child if coldbench dies; give up CAP_SYS_PTRACE), write (join the cgroup) and setns.
        unsafe {
            command.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
                crate::isolation::drop_ptrace();
                cgroup.map_or(Ok(()), crate::cgroup::Entry::join)?;
                namespace.map_or(Ok(()), |enter| enter.enter())
            });
        }
        let mut child = command
            .spawn()
            .map_err(|source| io::Error::new(source.kind(), SpawnError { program: program.clone(), source }))?;
        let pid = child.id().expect("a just-spawned child has a pid");
        crate::host::count_spawn();
        LIVE_GROUPS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(pid);
        let open = usize::from(child.stdout.is_some()) + usize::from(child.stderr.is_some());
        let tail = Arc::new(Mutex::new(Tail { open, ..Tail::default() }));
        if let Some(out) = child.stdout.take() {
            tokio::spawn(keep_tail(out, Arc::clone(&tail), sink.clone()));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(keep_tail(err, Arc::clone(&tail), sink));
        }
        Ok(Self { child, pid, tail, reaped: None, finished: false })
    }

    /// The process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The exit status if the process has ended.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.reaped.is_none() {
            self.reaped = self.child.try_wait().ok().flatten();
        }
        self.reaped
    }

    /// The last lines of its output.
    pub fn tail(&self) -> String {
        self.tail.lock().expect("tail lock").text()
    }

    /// SIGTERM to the group, then SIGKILL after `grace` if the process has not exited.
    pub async fn stop(&mut self, grace: Duration) {
        if self.try_exit().is_none() {
            self.signal_group(libc::SIGTERM);
            if let Ok(Ok(status)) = tokio::time::timeout(grace, self.child.wait()).await {
                self.reaped = Some(status);
            }
        }
        // The leader may be gone while others in its group (or below it) live on: always finish
        // with SIGKILL.
        kill_tree(self.pid);
        if self.reaped.is_none() {
            self.reaped = self.child.wait().await.ok();
        }
        self.finished = true;
        forget_group(self.pid);
    }

    /// SIGKILL to the whole group and everything below its leader, without waiting.
    pub fn kill_now(&mut self) {
        kill_tree(self.pid);
        let _ = self.child.start_kill();
    }

    fn signal_group(&self, signal: libc::c_int) {
        signal_group(self.pid, signal);
    }

    /// Hands the child to a task that waits for its exit; the returned handle kills the group and
    /// reports the exit status.
    pub fn supervise(mut self) -> Supervised {
        let (tx, rx) = watch::channel(None);
        let (pid, tail) = (self.pid, Arc::clone(&self.tail));
        tokio::spawn(async move {
            let status = self.child.wait().await.ok();
            // Dropping it SIGKILLs the group: anything the leader left behind goes with it.
            drop(self);
            let _ = tx.send(Some(status.unwrap_or_else(|| std::os::unix::process::ExitStatusExt::from_raw(0))));
        });
        Supervised { pid, tail, exit: rx, descendants: Mutex::new(None) }
    }
}

/// A child whose exit is watched by a task (see [`GroupChild::supervise`]).
#[derive(Debug)]
pub struct Supervised {
    pid: u32,
    tail: Arc<Mutex<Tail>>,
    exit: watch::Receiver<Option<ExitStatus>>,
    /// Descendant pids and when they were last listed (listing walks every thread's `children`).
    descendants: Mutex<Option<(std::time::Instant, Vec<u32>)>>,
}

/// How long a listing of a process group's descendants is reused.
const DESCENDANTS_TTL: std::time::Duration = std::time::Duration::from_secs(1);

impl Supervised {
    /// The exit status, once the process has ended.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        *self.exit.borrow()
    }

    /// Waits until the process has ended and returns its exit status.
    pub async fn exited(&self) -> ExitStatus {
        let mut exit = self.exit.clone();
        let status = exit.wait_for(Option::is_some).await.ok().and_then(|s| *s);
        match status {
            Some(status) => status,
            // The supervising task is gone only when the runtime shuts down.
            None => std::future::pending().await,
        }
    }

    /// SIGKILL to the whole group and everything below its leader.
    pub fn kill(&self) {
        if self.exit_status().is_none() {
            kill_tree(self.pid);
        }
    }

    /// The last lines of its output.
    pub fn tail(&self) -> String {
        self.tail.lock().expect("tail lock").text()
    }

    /// Stops (`SIGSTOP`) or resumes (`SIGCONT`) the group and every process below its leader,
    /// so that nothing of it runs while stopped, `setsid` helpers included. The tree is read
    /// again after the group has stopped: a helper forked meanwhile is stopped too. A stopped
    /// process still dies of `SIGKILL`.
    pub fn pause(&self, stopped: bool) {
        if self.exit_status().is_some() {
            return;
        }
        let signal = if stopped { libc::SIGSTOP } else { libc::SIGCONT };
        signal_group(self.pid, signal);
        for _ in 0..if stopped { 2 } else { 1 } {
            for pid in descendants(self.pid, usize::MAX) {
                signal_pid(pid, signal);
            }
        }
    }

    /// Waits, for at most `within`, until its output has been read to the end: an exit can be
    /// seen before its last lines are (a descendant holding the pipe open is why it is bounded).
    pub async fn output_drained(&self, within: Duration) {
        let until = std::time::Instant::now() + within;
        while self.tail.lock().expect("tail lock").open > 0 && std::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Peak resident memory of the process and its descendants in MiB (sum of their `VmHWM`).
    /// The list of descendants is refreshed at most once a second; the leader is read every time.
    pub fn peak_rss_mb(&self) -> Option<u64> {
        let leader = vm_hwm_kb(self.pid)?;
        let mut cached = self.descendants.lock().expect("descendants lock");
        let stale = cached.as_ref().is_none_or(|(at, _)| at.elapsed() > DESCENDANTS_TTL);
        if stale {
            *cached = Some((std::time::Instant::now(), descendants(self.pid, MAX_DESCENDANTS)));
        }
        let others: u64 = cached.as_ref().map_or(0, |(_, pids)| pids.iter().filter_map(|&p| vm_hwm_kb(p)).sum());
        Some((leader + others).div_ceil(1024))
    }
}

/// `VmHWM` (peak resident set) of a process, in kB.
fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Every descendant of `pid` (children of all its threads, recursively), at most `limit`.
pub(super) fn descendants(pid: u32, limit: usize) -> Vec<u32> {
    let mut found = Vec::new();
    let mut pending = vec![pid];
    while let Some(parent) = pending.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) else { continue };
        for task in tasks.filter_map(Result::ok) {
            let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()) {
                if found.len() < limit {
                    found.push(child);
                    pending.push(child);
                }
            }
        }
    }
    found
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Most processes of one group read for peak memory.
const MAX_DESCENDANTS: usize = 64;

/// SIGKILL to a group and to every process below its leader, wherever it moved: a child that
/// called `setsid` has left the group but not the tree. The tree is read before the group dies.
fn kill_tree(pid: u32) {
    let below = descendants(pid, usize::MAX);
    signal_group(pid, libc::SIGKILL);
    for child in below {
        kill_pid(child);
    }
}

pub(super) fn kill_pid(pid: u32) {
    signal_pid(pid, libc::SIGKILL);
}

fn signal_pid(pid: u32, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(pid).expect("pids fit in pid_t");
    // SAFETY: kill has no memory effects.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Sends `signal` to the process group led by `pid`.
pub fn signal_group(pid: u32, signal: libc::c_int) {
    let pgid = libc::pid_t::try_from(pid).expect("pids fit in pid_t");
    // SAFETY: kill has no memory effects; a negative pid addresses the process group.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

impl Drop for GroupChild {
    fn drop(&mut self) {
        if !self.finished {
            self.kill_now();
        }
        forget_group(self.pid);
    }
}
