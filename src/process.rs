//! Child processes that cannot outlive coldbench: each runs in its own process group, is killed
//! with the whole group, dies with its parent (`PR_SET_PDEATHSIG`), and keeps the tail of its
//! output for error messages.

use std::collections::VecDeque;
use std::io;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// Where a child's output lines go besides the tail (e.g. a function log).
pub type LineSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Lines of output kept for error messages.
const TAIL_LINES: usize = 20;

/// The last lines a process wrote to stdout and stderr.
#[derive(Debug, Default)]
pub struct Tail {
    lines: VecDeque<String>,
}

impl Tail {
    fn push(&mut self, line: String) {
        if self.lines.len() == TAIL_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }

    /// The kept lines, joined; `(no output)` when there were none.
    pub fn text(&self) -> String {
        if self.lines.is_empty() {
            "(no output)".to_string()
        } else {
            self.lines.iter().cloned().collect::<Vec<_>>().join("\n")
        }
    }
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
    /// Spawns `argv` with `env` added to (or, with `clear_env`, replacing) the environment.
    ///
    /// # Errors
    /// When the program cannot be started (not found, not executable).
    pub fn spawn(argv: &[String], env: &[(String, String)], clear_env: bool) -> io::Result<Self> {
        Self::spawn_with_sink(argv, env, clear_env, None)
    }

    /// Like [`GroupChild::spawn`], also sending every output line to `sink`.
    ///
    /// # Errors
    /// When the program cannot be started (not found, not executable).
    pub fn spawn_with_sink(
        argv: &[String],
        env: &[(String, String)],
        clear_env: bool,
        sink: Option<LineSink>,
    ) -> io::Result<Self> {
        let (program, args) = argv.split_first().ok_or_else(|| io::Error::other("empty command"))?;
        let mut command = Command::new(program);
        command.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
        if clear_env {
            command.env_clear();
        }
        command.envs(env.iter().map(|(k, v)| (k, v)));
        // SAFETY: prctl is async-signal-safe; it asks the kernel to SIGKILL the child if coldbench dies.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
                Ok(())
            });
        }
        let mut child =
            command.spawn().map_err(|e| io::Error::new(e.kind(), format!("cannot start {program:?}: {e}")))?;
        let pid = child.id().expect("a just-spawned child has a pid");
        let tail = Arc::new(Mutex::new(Tail::default()));
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
        // The leader may be gone while others in its group live on: always finish with SIGKILL.
        self.signal_group(libc::SIGKILL);
        if self.reaped.is_none() {
            self.reaped = self.child.wait().await.ok();
        }
        self.finished = true;
    }

    /// SIGKILL to the whole group, without waiting.
    pub fn kill_now(&mut self) {
        self.signal_group(libc::SIGKILL);
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

    /// SIGKILL to the whole group.
    pub fn kill(&self) {
        if self.exit_status().is_none() {
            signal_group(self.pid, libc::SIGKILL);
        }
    }

    /// The last lines of its output.
    pub fn tail(&self) -> String {
        self.tail.lock().expect("tail lock").text()
    }

    /// Peak resident memory of the process and its descendants in MiB (sum of their `VmHWM`).
    /// The list of descendants is refreshed at most once a second; the leader is read every time.
    pub fn peak_rss_mb(&self) -> Option<u64> {
        let leader = vm_hwm_kb(self.pid)?;
        let mut cached = self.descendants.lock().expect("descendants lock");
        let stale = cached.as_ref().is_none_or(|(at, _)| at.elapsed() > DESCENDANTS_TTL);
        if stale {
            *cached = Some((std::time::Instant::now(), descendants(self.pid)));
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

/// Every descendant of `pid` (children of all its threads, recursively), at most [`MAX_DESCENDANTS`].
fn descendants(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut pending = vec![pid];
    while let Some(parent) = pending.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) else { continue };
        for task in tasks.filter_map(Result::ok) {
            let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()) {
                if found.len() < MAX_DESCENDANTS {
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
    }
}

async fn keep_tail(stream: impl AsyncRead + Unpin, tail: Arc<Mutex<Tail>>, sink: Option<LineSink>) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(sink) = &sink {
            sink(&line);
        }
        tail.lock().expect("tail lock").push(line);
    }
}
