//! Child processes that cannot outlive coldbench: each runs in its own process group, is killed
//! with the whole group, dies with its parent (`PR_SET_PDEATHSIG`), and keeps the tail of its
//! output for error messages.

use std::collections::VecDeque;
use std::io;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::isolation::NetNamespace;
use crate::lambda;
use tokio::io::{AsyncRead, AsyncReadExt};
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

/// Where a process starts, beyond its process group: each given one must outlive it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Placement<'a> {
    /// A network namespace of its own.
    pub namespace: Option<&'a NetNamespace>,
    /// A cgroup that limits and measures it.
    pub cgroup: Option<&'a crate::cgroup::Cgroup>,
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
fn descendants(pid: u32, limit: usize) -> Vec<u32> {
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
pub const RUN_MARKER: &str = "COLDBENCH_RUN";

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
fn run_marker() -> Option<(&'static str, &'static str)> {
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

/// SIGKILL to a group and to every process below its leader, wherever it moved: a child that
/// called `setsid` has left the group but not the tree. The tree is read before the group dies.
fn kill_tree(pid: u32) {
    let below = descendants(pid, usize::MAX);
    signal_group(pid, libc::SIGKILL);
    for child in below {
        kill_pid(child);
    }
}

fn kill_pid(pid: u32) {
    let pid = libc::pid_t::try_from(pid).expect("pids fit in pid_t");
    // SAFETY: kill has no memory effects.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
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

/// Drains a process's output for its whole life: bytes, not text, so that no byte it writes can
/// end the reading (and leave the process writing into a closed pipe). Lines are decoded lossily
/// and capped at [`lambda::MAX_LOG_LINE_BYTES`]; a read error or end of file ends the drain.
async fn keep_tail(mut stream: impl AsyncRead + Unpin, tail: Arc<Mutex<Tail>>, sink: Option<LineSink>) {
    let mut chunk = vec![0u8; 64 * 1024];
    let mut lines = LineSplitter::default();
    let mut emit = |line: String| {
        if let Some(sink) = &sink {
            sink(&line);
        }
        tail.lock().expect("tail lock").push(line);
    };
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => lines.feed(&chunk[..n], &mut emit),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    lines.finish(&mut emit);
}

/// Splits output into lines of at most [`lambda::MAX_LOG_LINE_BYTES`] (longer ones are cut and
/// marked, as Lambda truncates a log event), decoding invalid UTF-8 as U+FFFD.
#[derive(Default)]
struct LineSplitter {
    line: Vec<u8>,
    truncated: bool,
}

/// Appended to a line cut at the limit.
const TRUNCATED: &str = " [truncated by coldbench: line longer than 256 KiB]";

impl LineSplitter {
    fn feed(&mut self, mut bytes: &[u8], emit: &mut impl FnMut(String)) {
        while !bytes.is_empty() {
            let newline = bytes.iter().position(|&b| b == b'\n');
            let part = &bytes[..newline.unwrap_or(bytes.len())];
            let room = lambda::MAX_LOG_LINE_BYTES - self.line.len();
            self.truncated |= part.len() > room;
            self.line.extend_from_slice(&part[..part.len().min(room)]);
            bytes = &bytes[part.len() + usize::from(newline.is_some())..];
            if newline.is_some() {
                emit(self.take());
            }
        }
    }

    /// The last line, when the output ended without a newline.
    fn finish(&mut self, emit: &mut impl FnMut(String)) {
        if !self.line.is_empty() || self.truncated {
            emit(self.take());
        }
    }

    fn take(&mut self) -> String {
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        let mut line = String::from_utf8_lossy(&self.line).into_owned();
        if std::mem::take(&mut self.truncated) {
            line.push_str(TRUNCATED);
        }
        self.line.clear();
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut out = Vec::new();
        let mut lines = LineSplitter::default();
        for chunk in chunks {
            lines.feed(chunk, &mut |l| out.push(l));
        }
        lines.finish(&mut |l| out.push(l));
        out
    }

    #[test]
    fn invalid_utf8_is_decoded_lossily_and_reading_goes_on() {
        assert_eq!(split(&[b"caf\xe9\nnext line\r\n", b"last"]), ["caf\u{fffd}", "next line", "last"]);
        // A multi-byte character split across reads is kept whole.
        assert_eq!(split(&["é".as_bytes()[..1].as_ref(), &"é\n".as_bytes()[1..]]), ["é"]);
    }

    #[test]
    fn a_line_past_the_limit_is_cut_marked_and_the_rest_dropped() {
        let long = vec![b'x'; lambda::MAX_LOG_LINE_BYTES + 10_000];
        let out = split(&[&long[..100_000], &long[100_000..], b"\nafter\n"]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].len(), lambda::MAX_LOG_LINE_BYTES + TRUNCATED.len());
        assert!(out[0].ends_with(TRUNCATED));
        assert_eq!(out[1], "after");
    }

    #[tokio::test]
    async fn a_10_mb_line_without_a_newline_is_kept_only_up_to_the_limit() {
        let seen = Arc::new(Mutex::new(Vec::<usize>::new()));
        let sink = Arc::clone(&seen);
        let sink: LineSink = Arc::new(move |line: &str| sink.lock().unwrap().push(line.len()));
        let script = "head -c 10485760 /dev/zero | tr '\\0' x; printf 'after'".to_string();
        let mut child = GroupChild::spawn_with_sink(
            &["sh".into(), "-c".into(), script],
            &[],
            false,
            Some(sink),
            Placement::default(),
        )
        .unwrap();
        let started = std::time::Instant::now();
        while seen.lock().unwrap().is_empty() && started.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.stop(Duration::from_secs(1)).await;
        // One line, cut at 256 KiB: all coldbench ever held of the 10 MB (the last, unterminated
        // "after" joins it and is past the limit too).
        assert_eq!(*seen.lock().unwrap(), [lambda::MAX_LOG_LINE_BYTES + TRUNCATED.len()]);
        assert!(child.tail().len() <= lambda::MAX_LOG_LINE_BYTES + TRUNCATED.len());
    }
}
