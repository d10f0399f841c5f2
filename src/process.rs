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
            tokio::spawn(keep_tail(out, Arc::clone(&tail)));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(keep_tail(err, Arc::clone(&tail)));
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
        let pgid = libc::pid_t::try_from(self.pid).expect("pids fit in pid_t");
        // SAFETY: kill has no memory effects; a negative pid addresses the process group.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}

impl Drop for GroupChild {
    fn drop(&mut self) {
        if !self.finished {
            self.kill_now();
        }
    }
}

async fn keep_tail(stream: impl AsyncRead + Unpin, tail: Arc<Mutex<Tail>>) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tail.lock().expect("tail lock").push(line);
    }
}
