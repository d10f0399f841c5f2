//! cgroups for instances: a CPU quota and a memory limit as the cloud gives them, what each
//! instance used, and a kill that misses no process of it.
//!
//! Both hierarchies are supported and detected once: cgroup v2 (the unified hierarchy; coldbench
//! nests under its own cgroup, which must hand `cpu` and `memory` down) and v1 (one hierarchy
//! per controller: `cpu`, `cpuacct`, `memory`). Every group lives under one run group,
//! `coldbench-<pid>`, below coldbench's own cgroup in each hierarchy; an instance's group is
//! removed when the instance is dropped, and the run group when coldbench ends (or, after a
//! `kill -9`, by its watchdog: [`remove_run_groups`]).

use std::fs;
use std::io::{self, Write as _};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// The CFS period of every quota, as Docker and Lambda-like sandboxes use: 100 ms.
pub const CPU_PERIOD_US: u64 = 100_000;

/// Which cgroup interface the host offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

impl Version {
    /// `v1` or `v2`, as reports say it.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1 => "v1",
            Version::V2 => "v2",
        }
    }
}

/// One group's directory per controller: three on v1, the same one three times on v2.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Dirs {
    cpu: PathBuf,
    cpuacct: PathBuf,
    memory: PathBuf,
}

impl Dirs {
    /// The same group `name` one level below.
    fn join(&self, name: &str) -> Self {
        Self { cpu: self.cpu.join(name), cpuacct: self.cpuacct.join(name), memory: self.memory.join(name) }
    }

    /// Each distinct directory once.
    fn all(&self) -> Vec<&Path> {
        let mut dirs = vec![self.cpu.as_path(), self.cpuacct.as_path(), self.memory.as_path()];
        dirs.dedup();
        dirs
    }
}

/// Where coldbench's run group lives.
#[derive(Debug, Clone)]
struct Hierarchy {
    version: Version,
    run: Dirs,
}

/// The run's hierarchy, or why there is none (checked once, by creating the run group).
fn hierarchy() -> Result<&'static Hierarchy, String> {
    static FOUND: OnceLock<Result<Hierarchy, String>> = OnceLock::new();
    FOUND.get_or_init(|| detect(std::process::id())).as_ref().map_err(Clone::clone)
}

/// Whether instances can get cgroups here: `Err` says why not, in words for the report.
pub fn available() -> Result<Version, String> {
    hierarchy().map(|h| h.version)
}

/// The run group's name for coldbench process `pid`.
fn run_group(pid: u32) -> String {
    format!("coldbench-{pid}")
}

/// Finds coldbench's own cgroups and creates the run group for `pid` in each.
fn detect(pid: u32) -> Result<Hierarchy, String> {
    let (version, own) = bases()?;
    let run = own.join(&run_group(pid));
    for dir in run.all() {
        match fs::create_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot create a cgroup in {}: {e}", dir.parent().unwrap_or(dir).display())),
        }
    }
    if version == Version::V2 {
        // A v2 group hands controllers to its children only if they are enabled in it.
        write(&run.cpu.join("cgroup.subtree_control"), "+cpu +memory").map_err(|e| {
            let _ = fs::remove_dir(&run.cpu);
            format!("cannot enable the cpu and memory controllers in {}: {e}", run.cpu.display())
        })?;
    }
    // However this process ends normally (a command's end, a test binary's exit), the run
    // group goes with it, even if no instance group's drop was the last to remove it.
    extern "C" fn remove_at_exit() {
        remove_run_groups(std::process::id());
    }
    // SAFETY: registering a plain function with no captured state; it runs once, at exit.
    unsafe { libc::atexit(remove_at_exit) };
    Ok(Hierarchy { version, run })
}

/// coldbench's own cgroup directories.
fn bases() -> Result<(Version, Dirs), String> {
    let own = fs::read_to_string("/proc/self/cgroup").map_err(|e| format!("no /proc/self/cgroup ({e}): not Linux?"))?;
    let mounts = fs::read_to_string("/proc/self/mountinfo").map_err(|e| format!("no /proc/self/mountinfo: {e}"))?;
    let mounts: Vec<Mount> = mounts.lines().filter_map(Mount::parse).collect();
    let path_of = |controller: &str| {
        own.lines().find_map(|line| {
            let mut fields = line.splitn(3, ':');
            let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
            controllers.split(',').any(|c| c == controller).then(|| path.to_string())
        })
    };
    let v1 = |controller: &str| -> Option<PathBuf> {
        let mount = mounts.iter().find(|m| m.fstype == "cgroup" && m.options.split(',').any(|o| o == controller))?;
        Some(mount.resolve(&path_of(controller)?))
    };
    if let (Some(cpu), Some(cpuacct), Some(memory)) = (v1("cpu"), v1("cpuacct"), v1("memory")) {
        return Ok((Version::V1, Dirs { cpu, cpuacct, memory }));
    }
    let unified = mounts
        .iter()
        .find(|m| m.fstype == "cgroup2")
        .ok_or("no cgroup v2 and no cgroup v1 cpu, cpuacct and memory controllers are mounted")?;
    let path = own.lines().find_map(|l| l.strip_prefix("0::")).ok_or("this process is in no cgroup v2 group")?;
    let base = unified.resolve(path);
    let controllers = fs::read_to_string(base.join("cgroup.controllers")).unwrap_or_default();
    for needed in ["cpu", "memory"] {
        if !controllers.split_whitespace().any(|c| c == needed) {
            return Err(format!("the {needed} controller is not delegated to {}", base.display()));
        }
    }
    // The run group below gets the controllers only if coldbench's own group hands them down,
    // which v2 allows only in a group without processes of its own (or the root).
    let handed = fs::read_to_string(base.join("cgroup.subtree_control")).unwrap_or_default();
    if !["cpu", "memory"].iter().all(|c| handed.split_whitespace().any(|h| h == *c)) {
        write(&base.join("cgroup.subtree_control"), "+cpu +memory").map_err(|e| {
            format!(
                "{} does not hand the cpu and memory controllers down to a group below it ({e}; cgroup v2 \
                 allows that only in a group without processes of its own, or the root)",
                base.display()
            )
        })?;
    }
    Ok((Version::V2, Dirs { cpu: base.clone(), cpuacct: base.clone(), memory: base }))
}

/// One line of `/proc/self/mountinfo` that matters here.
struct Mount {
    root: String,
    point: PathBuf,
    fstype: String,
    options: String,
}

impl Mount {
    fn parse(line: &str) -> Option<Self> {
        let (before, after) = line.split_once(" - ")?;
        let mut before = before.split(' ');
        let root = before.nth(3)?.to_string();
        let point = PathBuf::from(before.next()?);
        let mut after = after.split(' ');
        let fstype = after.next()?.to_string();
        let options = after.nth(1)?.to_string();
        Some(Self { root, point, fstype, options })
    }

    /// The directory of cgroup `path` (as `/proc/self/cgroup` names it) under this mount.
    fn resolve(&self, path: &str) -> PathBuf {
        let inside = path.strip_prefix(self.root.trim_end_matches('/')).unwrap_or(path);
        self.point.join(inside.trim_start_matches('/'))
    }
}

fn write(path: &Path, value: &str) -> io::Result<()> {
    fs::OpenOptions::new().write(true).open(path)?.write_all(value.as_bytes())
}

fn read_u64(path: &Path) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// `key value` lines (`cpu.stat`, `memory.events`): the value of `key`.
fn keyed(path: &Path, key: &str) -> Option<u64> {
    fs::read_to_string(path).ok()?.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
}

/// What an instance may use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// vCPUs, as a CFS quota per 100 ms period.
    pub cpus: f64,
    pub memory_bytes: u64,
}

/// What a group has used so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub cpu: Duration,
    /// Time its processes were held back by the quota.
    pub throttled: Duration,
    pub peak_memory_bytes: u64,
    /// Processes the kernel killed for exceeding the memory limit.
    pub oom_kills: u64,
}

/// One instance's cgroup (one directory per v1 controller).
#[derive(Debug)]
pub struct Cgroup {
    version: Version,
    dirs: Dirs,
    /// `cgroup.procs` of each directory, open for a child to join between fork and exec.
    procs: Vec<OwnedFd>,
}

impl Cgroup {
    /// Creates a group named after `prefix` (made unique in this process) with `limits`.
    ///
    /// # Errors
    /// As [`Cgroup::create`].
    pub fn create_unique(prefix: &str, limits: Limits) -> io::Result<Self> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self::create(&format!("{prefix}.{n}"), limits)
    }

    /// Creates group `name` in the run group with `limits`.
    ///
    /// # Errors
    /// When cgroups are unavailable ([`available`] says why) or the group cannot be written.
    pub fn create(name: &str, limits: Limits) -> io::Result<Self> {
        let h = hierarchy().map_err(io::Error::other)?;
        // Counted from here: a group that fails half-made is dropped, and removed, like any.
        LIVE.fetch_add(1, Ordering::SeqCst);
        let mut group = Self { version: h.version, dirs: h.run.join(name), procs: Vec::new() };
        // The run group too, if the last group's end removed it meanwhile.
        for dir in group.dirs.all() {
            fs::create_dir_all(dir)?;
        }
        let d = &group.dirs;
        match group.version {
            Version::V1 => {
                write(&d.cpu.join("cpu.cfs_period_us"), &CPU_PERIOD_US.to_string())?;
                group.set_cpus(limits.cpus)?;
                write(&d.memory.join("memory.limit_in_bytes"), &limits.memory_bytes.to_string())?;
                // No swap either, where the kernel accounts it.
                let _ = write(&d.memory.join("memory.memsw.limit_in_bytes"), &limits.memory_bytes.to_string());
            }
            Version::V2 => {
                let _ = write(&h.run.cpu.join("cgroup.subtree_control"), "+cpu +memory");
                group.set_cpus(limits.cpus)?;
                write(&d.memory.join("memory.max"), &limits.memory_bytes.to_string())?;
                let _ = write(&d.memory.join("memory.swap.max"), "0");
            }
        }
        let procs =
            group.dirs.all().into_iter().map(|dir| fs::OpenOptions::new().write(true).open(dir.join("cgroup.procs")));
        let procs: Vec<fs::File> = procs.collect::<io::Result<_>>()?;
        group.procs = procs.into_iter().map(OwnedFd::from).collect();
        Ok(group)
    }

    /// Sets the CPU quota to `cpus` vCPUs per 100 ms period (at least 1 ms, the kernel's floor).
    ///
    /// # Errors
    /// When the kernel refuses the value.
    pub fn set_cpus(&self, cpus: f64) -> io::Result<()> {
        let quota = ((cpus * CPU_PERIOD_US as f64).round() as u64).max(1_000);
        match self.version {
            Version::V1 => write(&self.dirs.cpu.join("cpu.cfs_quota_us"), &quota.to_string()),
            Version::V2 => write(&self.dirs.cpu.join("cpu.max"), &format!("{quota} {CPU_PERIOD_US}")),
        }
    }

    /// What a child runs between fork and exec to join the group: raw descriptors only.
    pub(crate) fn entry(&self) -> Entry {
        let mut fds = [-1; 3];
        for (slot, fd) in fds.iter_mut().zip(&self.procs) {
            *slot = fd.as_raw_fd();
        }
        Entry(fds)
    }

    /// What the group has used so far.
    pub fn usage(&self) -> Usage {
        usage_of(self.version, &self.dirs)
    }

    /// SIGKILL to every process in the group, wherever it moved in the process tree (v2:
    /// `cgroup.kill`; v1: each member once). Does not wait.
    pub fn kill(&self) {
        if self.version == Version::V2 && write(&self.dirs.cpu.join("cgroup.kill"), "1").is_ok() {
            return;
        }
        signal_members(&self.dirs.all());
    }
}

fn usage_of(version: Version, d: &Dirs) -> Usage {
    match version {
        Version::V1 => Usage {
            cpu: Duration::from_nanos(read_u64(&d.cpuacct.join("cpuacct.usage")).unwrap_or(0)),
            throttled: Duration::from_nanos(keyed(&d.cpu.join("cpu.stat"), "throttled_time").unwrap_or(0)),
            peak_memory_bytes: read_u64(&d.memory.join("memory.max_usage_in_bytes")).unwrap_or(0),
            oom_kills: keyed(&d.memory.join("memory.oom_control"), "oom_kill").unwrap_or(0),
        },
        Version::V2 => Usage {
            cpu: Duration::from_micros(keyed(&d.cpu.join("cpu.stat"), "usage_usec").unwrap_or(0)),
            throttled: Duration::from_micros(keyed(&d.cpu.join("cpu.stat"), "throttled_usec").unwrap_or(0)),
            peak_memory_bytes: read_u64(&d.memory.join("memory.peak")).unwrap_or(0),
            oom_kills: keyed(&d.memory.join("memory.events"), "oom_kill").unwrap_or(0),
        },
    }
}

/// One group of this run as it was when read: what a once-a-second sampler differences.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The group's name without the suffix that made it unique: the instance's id.
    pub id: String,
    /// Its CPU quota in vCPUs (`None`: unlimited).
    pub cpus: Option<f64>,
    pub usage: Usage,
    /// Its memory now: what is charged to it, or its processes' resident set if larger (as
    /// Max Memory Used counts it: the cgroup charges a program's file pages to whichever group
    /// read them first).
    pub memory_bytes: u64,
    /// Time its threads were runnable but not running, summed (`/proc/<tid>/schedstat`): the
    /// quota's throttling and waits for a free CPU of the host alike. `None` where the kernel
    /// does not keep it.
    pub run_delay: Option<Duration>,
}

/// Every group of this run named `<prefix><digits>` (an instance of one target), read now.
pub fn read_groups(prefix: &str) -> Vec<Reading> {
    let Ok(h) = hierarchy() else { return Vec::new() };
    let Ok(entries) = fs::read_dir(&h.run.cpu) else { return Vec::new() };
    let mut readings: Vec<Reading> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let id = name.rsplit_once('.').map_or(name.as_str(), |(id, _)| id);
            let rest = id.strip_prefix(prefix)?;
            if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some(read_group(h, id.to_string(), &h.run.join(&name)))
        })
        .collect();
    readings.sort_by(|a, b| a.id.cmp(&b.id));
    readings
}

fn read_group(h: &Hierarchy, id: String, d: &Dirs) -> Reading {
    let (cpus, memory, threads) = match h.version {
        Version::V1 => {
            let quota =
                fs::read_to_string(d.cpu.join("cpu.cfs_quota_us")).ok().and_then(|q| q.trim().parse::<i64>().ok());
            let period = read_u64(&d.cpu.join("cpu.cfs_period_us")).unwrap_or(CPU_PERIOD_US);
            let cpus = quota.filter(|q| *q > 0).map(|q| q as f64 / period as f64);
            (cpus, read_u64(&d.memory.join("memory.usage_in_bytes")), d.cpu.join("tasks"))
        }
        Version::V2 => {
            let max = fs::read_to_string(d.cpu.join("cpu.max")).unwrap_or_default();
            let mut fields = max.split_whitespace().map(str::parse::<f64>);
            let cpus = match (fields.next(), fields.next()) {
                (Some(Ok(quota)), Some(Ok(period))) if period > 0.0 => Some(quota / period),
                _ => None,
            };
            (cpus, read_u64(&d.memory.join("memory.current")), d.cpu.join("cgroup.threads"))
        }
    };
    // SAFETY: sysconf only reads a constant of the system.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let resident: u64 = fs::read_to_string(d.memory.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|pid| fs::read_to_string(format!("/proc/{}/statm", pid.trim())).ok())
        .filter_map(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum::<u64>()
        * page;
    let mut run_delay = None;
    for tid in fs::read_to_string(threads).unwrap_or_default().lines() {
        // "run time, run-queue wait, time slices", in nanoseconds.
        let Ok(stat) = fs::read_to_string(format!("/proc/{}/schedstat", tid.trim())) else { continue };
        if let Some(wait) = stat.split_whitespace().nth(1).and_then(|w| w.parse::<u64>().ok()) {
            run_delay = Some(run_delay.unwrap_or(Duration::ZERO) + Duration::from_nanos(wait));
        }
    }
    let memory_bytes = memory.unwrap_or(0).max(resident);
    Reading { id, cpus, usage: usage_of(h.version, d), memory_bytes, run_delay }
}

impl Drop for Cgroup {
    /// Kills what is left in the group and removes it. Dropped on the runtime's threads (an
    /// eviction), so it never waits: if its last processes are still exiting, a background
    /// thread retries the removal.
    fn drop(&mut self) {
        self.procs.clear();
        self.kill();
        let dirs: Vec<PathBuf> = self.dirs.all().into_iter().map(Path::to_path_buf).collect();
        let busy: Vec<PathBuf> = dirs.into_iter().filter(|dir| fs::remove_dir(dir).is_err() && dir.exists()).collect();
        let last = LIVE.fetch_sub(1, Ordering::SeqCst) == 1;
        if !busy.is_empty() || last {
            remove_later(busy);
        }
    }
}

/// Groups of this process alive now: when the last one goes, so does the run group, so that a
/// program using the runtime in process (a test) leaves nothing behind either.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Removes the run group if no group of this process is alive (one created meanwhile keeps it:
/// a directory with a child cannot be removed, and a group recreates a missing run group).
fn remove_idle_run_group() {
    if LIVE.load(Ordering::SeqCst) == 0 {
        if let Ok(h) = hierarchy() {
            for dir in h.run.all() {
                let _ = fs::remove_dir(dir);
            }
        }
    }
}

/// Hands group directories to the thread that removes them once their processes are gone, and
/// then the run group if it is idle.
fn remove_later(dirs: Vec<PathBuf>) {
    static REMOVER: OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<Vec<PathBuf>>>> = OnceLock::new();
    let sender = REMOVER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Vec<PathBuf>>();
        // Without the thread the jobs wait unsent; the command's end removes the whole run group.
        let _ = std::thread::Builder::new().name("coldbench-cgroups".into()).spawn(move || {
            for dirs in rx {
                kill_members(&dirs.iter().map(PathBuf::as_path).collect::<Vec<_>>());
                remove_dirs(&dirs);
                remove_idle_run_group();
            }
        });
        std::sync::Mutex::new(tx)
    });
    let _ = sender.lock().unwrap_or_else(std::sync::PoisonError::into_inner).send(dirs);
}

/// The `cgroup.procs` descriptors of a [`Cgroup`], to join it after fork.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry([std::os::fd::RawFd; 3]);

impl Entry {
    /// Moves the calling process into the group (writing 0 to `cgroup.procs` means "me").
    ///
    /// # Errors
    /// When the kernel refuses the move.
    pub(crate) fn join(self) -> io::Result<()> {
        for fd in self.0.into_iter().filter(|fd| *fd >= 0) {
            // SAFETY: write is async-signal-safe; the buffer is a static byte string.
            if unsafe { libc::write(fd, b"0".as_ptr().cast(), 1) } < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

/// SIGKILL to the members of `dirs` until they are empty, for at most a second.
fn kill_members(dirs: &[&Path]) {
    for _ in 0..100 {
        if !signal_members(dirs) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// SIGKILL to every member of `dirs` once; whether there was any.
fn signal_members(dirs: &[&Path]) -> bool {
    let mut any = false;
    for dir in dirs {
        for pid in fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default().lines() {
            if let Ok(pid) = pid.trim().parse::<libc::pid_t>() {
                any = true;
                // SAFETY: kill has no memory effects.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
    any
}

/// Removes empty group directories, retrying while their last processes finish exiting.
fn remove_dirs(dirs: &[PathBuf]) {
    for dir in dirs {
        for _ in 0..100 {
            match fs::remove_dir(dir) {
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => std::thread::sleep(Duration::from_millis(10)),
                _ => break,
            }
        }
    }
}

/// Kills whatever is left in coldbench `pid`'s run group and removes it with every group below:
/// at the end of a command, and from the watchdog after coldbench itself was killed (it shares
/// coldbench's cgroups, so it finds the same run groups).
pub fn remove_run_groups(pid: u32) {
    let Ok((_, own)) = bases() else { return };
    let run = own.join(&run_group(pid));
    let runs: Vec<PathBuf> = run.all().into_iter().map(Path::to_path_buf).collect();
    for run in &runs {
        let children: Vec<PathBuf> = fs::read_dir(run)
            .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_dir()).collect())
            .unwrap_or_default();
        let child_refs: Vec<&Path> = children.iter().map(PathBuf::as_path).collect();
        kill_members(&child_refs);
        remove_dirs(&children);
    }
    remove_dirs(&runs);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines_resolve_cgroup_paths() {
        let line = "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory";
        let mount = Mount::parse(line).unwrap();
        assert_eq!((mount.fstype.as_str(), mount.options.as_str()), ("cgroup", "rw,memory"));
        assert_eq!(mount.resolve("/process_api/abc"), PathBuf::from("/sys/fs/cgroup/memory/process_api/abc"));
        let nested = Mount::parse("41 31 0:38 /user.slice /sys/fs/cgroup rw - cgroup2 cgroup2 rw").unwrap();
        assert_eq!(nested.resolve("/user.slice/app.scope"), PathBuf::from("/sys/fs/cgroup/app.scope"));
    }

    #[test]
    fn a_group_limits_and_counts_its_processes_and_leaves_nothing_behind() {
        let version = match available() {
            Ok(v) => v,
            Err(why) => {
                eprintln!("skipped: {why}");
                return;
            }
        };
        let limits = Limits { cpus: 0.5, memory_bytes: 64 << 20 };
        let group = Cgroup::create("unit-test", limits).unwrap();
        let dirs: Vec<PathBuf> = group.dirs.all().into_iter().map(Path::to_path_buf).collect();
        match version {
            Version::V1 => {
                assert_eq!(read_u64(&group.dirs.cpu.join("cpu.cfs_quota_us")), Some(50_000));
                assert_eq!(read_u64(&group.dirs.memory.join("memory.limit_in_bytes")), Some(64 << 20));
            }
            Version::V2 => {
                assert_eq!(fs::read_to_string(group.dirs.cpu.join("cpu.max")).unwrap().trim(), "50000 100000")
            }
        }
        let entry = group.entry();
        let mut command = std::process::Command::new("sh");
        command.args(["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"]);
        // SAFETY: only the async-signal-safe write of `join` runs between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, move || entry.join());
        }
        assert!(command.status().unwrap().success());
        let usage = group.usage();
        assert!(usage.cpu > Duration::ZERO, "{usage:?}");
        assert!(usage.peak_memory_bytes > 0, "{usage:?}");
        drop(group);
        for dir in &dirs {
            assert!(!dir.exists(), "{} was left behind", dir.display());
        }
        remove_run_groups(std::process::id());
        for dir in &dirs {
            assert!(
                !dir.parent().unwrap().exists(),
                "the run group {} was left behind",
                dir.parent().unwrap().display()
            );
        }
    }
}
