//! CPU and memory as Lambda gives them, with real processes in real cgroups: CPU in proportion
//! to memory, a memory limit that kills, Max Memory Used from the cgroup, and no cgroup left
//! behind. Each test prints why and skips where cgroups cannot be written here.

mod common;

use std::sync::Arc;
use std::time::Duration;

use coldbench::function::DemoFunction;
use coldbench::gateway::Gateway;
use coldbench::metrics::{BillingRecord, RecordLog};
use coldbench::runtime::{FunctionConfig, FunctionRuntime};
use common::*;

/// One test at a time: CPU shares are measured, and the tests of this file would share the two
/// cores with each other.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn on_runtime(test: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(test);
}

/// Whether cgroups can be used here; prints why not.
fn cgroups() -> bool {
    match coldbench::target::resources(true) {
        Ok(_) => true,
        Err(why) => {
            eprintln!("skipped: resources {why}");
            false
        }
    }
}

#[derive(Default)]
struct Records(std::sync::Mutex<Vec<BillingRecord>>);

impl RecordLog for Records {
    fn record(&self, _target: &str, record: &BillingRecord) {
        self.0.lock().unwrap().push(record.clone());
    }
}

struct Function {
    runtime: FunctionRuntime,
    gateway: Gateway,
    records: Arc<Records>,
}

impl Function {
    async fn start(memory_mb: u32) -> Self {
        let records = Arc::new(Records::default());
        let demo = DemoFunction::new(env!("CARGO_BIN_EXE_coldbench"));
        let mut config =
            FunctionConfig::new("res", demo.lambda_command()).memory_mb(memory_mb).timeout(Duration::from_secs(30));
        config.records = Some(records.clone());
        config.enforce_resources = true;
        let runtime = FunctionRuntime::start(config).await.unwrap();
        let gateway = Gateway::start(Arc::new(runtime.clone())).await.unwrap();
        Self { runtime, gateway, records }
    }

    async fn invoke(&self, work: &str) -> Reply {
        // Back only once the last invocation has ended (its runtime called `/next`), as a caller
        // a network away from Lambda always is: the tests here are about what follows, not that race.
        self.runtime.settled().await;
        let url = format!("{}2015-03-31/functions/res/invocations", self.gateway.url());
        send("POST", &url, &[], work.to_string()).await
    }

    async fn records(&self) -> Vec<BillingRecord> {
        // Invocations end at the runtime's next `/next`, after their answers.
        self.runtime.settled().await;
        self.records.0.lock().unwrap().clone()
    }

    async fn stop(self) {
        self.gateway.stop().await;
        self.runtime.stop();
    }
}

/// ~135 ms of CPU at one vCPU on this machine class.
const CPU_WORK: &str = r#"{"kind":"cpu","rounds":30000000}"#;

/// The median warm invocation so far: (duration ms, billed ms, CPU ms).
async fn median(f: &Function) -> (f64, u64, f64) {
    let mut warm: Vec<BillingRecord> = f.records().await.into_iter().filter(|r| !r.cold).collect();
    warm.sort_by(|a, b| a.duration_ms.total_cmp(&b.duration_ms));
    let mid = &warm[warm.len() / 2];
    (mid.duration_ms, mid.billed_ms, mid.cpu_ms.expect("CPU is measured where resources are enforced"))
}

#[test]
fn cpu_follows_memory_as_on_lambda() {
    let _serial = serial();
    if !cgroups() {
        return;
    }
    on_runtime(async {
        let (small, large) = (Function::start(128).await, Function::start(1_769).await);
        // Interleaved, so that both sizes see the same machine; a cold one each first.
        for _ in 0..6 {
            for f in [&small, &large] {
                let reply = f.invoke(CPU_WORK).await;
                assert_eq!(reply.status, 200, "{}", reply.text());
            }
        }
        let ((small_ms, small_billed, small_cpu), (large_ms, large_billed, large_cpu)) =
            (median(&small).await, median(&large).await);
        small.stop().await;
        large.stop().await;
        let ratio = small_ms / large_ms;
        let (small_share, large_share) = (small_cpu / small_ms, large_cpu / large_ms);
        eprintln!(
            "128 MB: {small_ms:.1} ms ({small_cpu:.1} ms CPU, {small_share:.3} vCPU); \
             1,769 MB: {large_ms:.1} ms ({large_cpu:.1} ms CPU, {large_share:.3} vCPU): {ratio:.2}x"
        );
        // Lambda: 1,769 MB is one vCPU and 128 MB gets 128 / 1,769 of it. The small side's share
        // is its quota and nothing else: it is throttled long before the host's two cores are
        // busy. The large side is never throttled, so a busy host (CI runs other test binaries'
        // processes too) only slows it: its share is bounded below, not pinned.
        let expected = 128.0 / 1_769.0;
        assert!(
            (expected * 0.8..=expected * 1.2).contains(&small_share),
            "128 MB ran at {small_share:.4} vCPU, expected {expected:.4} ± 20 %"
        );
        assert!(large_share > 0.6, "1,769 MB ran at {large_share:.3} vCPU, expected about one");
        // So a CPU-second of work takes about 13.8 times as long (less when the host slowed the
        // large one). Measured per CPU-second, not per invocation: a throttled process re-warms
        // its caches after every period it sat out, so the same work can cost the small side a
        // third more CPU time (CI saw 195 against 146 ms), which is the host's, not the quota's.
        let slowdown = large_share / small_share;
        assert!(
            (13.8 * 0.6..=13.8 * 1.3).contains(&slowdown),
            "a CPU-second took {slowdown:.2}x as long at 128 MB, expected about 13.8"
        );
        for (billed, ms) in [(small_billed, small_ms), (large_billed, large_ms)] {
            let up = billed as f64 - ms;
            assert!((-0.01..1.01).contains(&up), "billed {billed} ms for {ms} ms: the duration rounded up to the ms");
        }
        // The same work needs about the same CPU time whatever the share.
        assert!((small_cpu / large_cpu - 1.0).abs() < 0.5, "{small_cpu:.1} vs {large_cpu:.1} ms CPU");
    });
}

#[test]
fn a_function_over_its_memory_is_killed_as_on_lambda() {
    let _serial = serial();
    if !cgroups() {
        return;
    }
    on_runtime(async {
        let alloc = r#"{"kind":"alloc","memory_mb":400}"#;
        let small = Function::start(128).await;
        let killed = small.invoke(alloc).await;
        assert_eq!(killed.header("x-amz-function-error"), "Unhandled", "{}", killed.text());
        let body: serde_json::Value = serde_json::from_slice(&killed.body).unwrap();
        assert_eq!(body["errorType"], "Runtime.ExitError", "{body}");
        assert!(
            body["errorMessage"].as_str().unwrap().ends_with("Runtime exited with error: signal: killed"),
            "{body}"
        );
        let after = small.invoke(r#"{"kind":"sleep","duration":"1ms"}"#).await;
        assert_eq!((after.status, after.header("x-coldbench-cold").as_str()), (200, "true"), "the next one is cold");
        let records = small.records().await;
        // The REPORT line is written from the record (runtime::billing's tests check its layout).
        assert_eq!(records[0].max_memory_used_mb, 128, "Max Memory Used = Memory Size after the kill");
        small.stop().await;

        let large = Function::start(1_024).await;
        let fine = large.invoke(alloc).await;
        assert_eq!(fine.status, 200, "{}", fine.text());
        assert!(fine.header("x-amz-function-error").is_empty(), "{}", fine.text());
        let used = large.records().await[0].max_memory_used_mb;
        assert!((400..=1_024).contains(&used), "Max Memory Used {used} MB for 400 MiB touched");
        large.stop().await;
    });
}

/// The run groups of every coldbench process: `/sys/fs/cgroup/<controller>/…/coldbench-<pid>`.
fn run_groups_of(pid: u32) -> Vec<String> {
    let name = format!("coldbench-{pid}");
    let mut found = Vec::new();
    let mut stack = vec![std::path::PathBuf::from("/sys/fs/cgroup")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) && !entry.file_type().unwrap().is_symlink() {
                if entry.file_name().to_string_lossy() == name {
                    found.push(path.display().to_string());
                } else if path.components().count() < 9 {
                    stack.push(path);
                }
            }
        }
    }
    found
}

fn cgroups_are_gone_after(signal: Option<libc::c_int>, command: &str) {
    let _serial = serial();
    if !cgroups() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let duration = if signal.is_some() { "30s" } else { "1s" };
    let workload = write_workload(
        dir.path(),
        "groups.toml",
        &format!(
            "name = \"groups\"\nduration = \"{duration}\"\n[traffic]\npattern = \"constant\"\nrate = 5\n\
             [[targets]]\nname = \"fn\"\nkind = \"function\"\n{command}\n"
        ),
    );
    let mut child = coldbench()
        .args(["run", "--quiet", "--out"])
        .arg(dir.path().join("out"))
        .arg(&workload)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let started = std::time::Instant::now();
    while run_groups_of(pid).is_empty() {
        assert!(started.elapsed() < Duration::from_secs(20), "no run group appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    if let Some(signal) = signal {
        std::thread::sleep(Duration::from_millis(500));
        // SAFETY: a signal to our own child.
        assert_eq!(unsafe { libc::kill(libc::pid_t::try_from(pid).unwrap(), signal) }, 0);
    }
    child.wait().unwrap();
    let left = run_groups_of(pid);
    assert!(left.is_empty(), "cgroups left after {signal:?}: {left:?}");
}

#[test]
fn no_cgroup_remains_after_a_normal_end() {
    cgroups_are_gone_after(None, "");
}

#[test]
fn no_cgroup_remains_after_ctrl_c() {
    cgroups_are_gone_after(Some(libc::SIGINT), "");
}

#[test]
fn no_cgroup_remains_after_a_target_fails() {
    // Every instance exits during Init: the target fails.
    cgroups_are_gone_after(None, r#"command = ["sh", "-c", "exit 3"]"#);
}

/// Runs workload `text` in process, alone; `None` (skipped, with the reason printed) where
/// cgroups cannot be used.
fn run_alone(text: &str) -> Option<serde_json::Value> {
    let _serial = serial();
    if !cgroups() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let workload = write_workload(dir.path(), "workload.toml", text);
    Some(run_json(&workload, None, &dir.path().join("out")))
}

#[test]
fn a_container_with_half_a_cpu_serves_cpu_bound_requests_half_as_fast() {
    let Some(json) = run_alone(
        "name = \"cpus\"\nduration = \"4s\"\n[traffic]\npattern = \"constant\"\nrate = 1\n\
         [function]\nwork = { kind = \"cpu\", rounds = 100000000 }\n\
         [[targets]]\nname = \"half\"\nkind = \"container\"\ncpus = 0.5\n\
         [[targets]]\nname = \"one\"\nkind = \"container\"\ncpus = 1\nmemory_mb = 512\n",
    ) else {
        return;
    };
    let p50 = |i: usize| json["targets"][i]["measurement"]["latency"]["p50_us"].as_f64().unwrap();
    let ratio = p50(0) / p50(1);
    eprintln!("p50 at 0.5 vCPU {:.1} ms, at 1 vCPU {:.1} ms: {ratio:.2}x", p50(0) / 1e3, p50(1) / 1e3);
    // The quota is what is asserted, not a speed (this host's other work shifts the ratio
    // around 2×: 1.7–3.0 was seen on a 2-core VM): the half-vCPU instance never used more than
    // half a vCPU in a second and was held back by its quota, the whole-vCPU one used more than
    // the half could, and its requests were the faster.
    let peak = |i: usize, field: &str| {
        let samples = json["targets"][i]["usage"]["instances"][0]["samples"].as_array().unwrap().clone();
        samples.iter().map(|s| s[field].as_f64().unwrap()).fold(0.0, f64::max)
    };
    eprintln!(
        "peaks: half {:.2} vCPU (throttled {:.2}), one {:.2} vCPU",
        peak(0, "cpu_vcpus"),
        peak(0, "throttled"),
        peak(1, "cpu_vcpus")
    );
    assert!(peak(0, "cpu_vcpus") <= 0.6, "half a vCPU at most: {}", peak(0, "cpu_vcpus"));
    assert!(peak(0, "throttled") > 0.2, "its quota held it back: {}", peak(0, "throttled"));
    assert!(peak(1, "cpu_vcpus") > 0.6, "a whole vCPU: {}", peak(1, "cpu_vcpus"));
    assert!(ratio > 1.3, "ratio {ratio:.2}: the half-vCPU instance is the slower");
    // Memory defaults to the instance type's (t3.micro: 1 GiB) unless the target sets it.
    let resources = |i: usize| json["targets"][i]["resources"].as_str().unwrap().to_string();
    assert!(resources(0).ends_with("0.5 vCPU, 1024 MiB"), "{}", resources(0));
    assert!(resources(1).ends_with("1 vCPU, 512 MiB"), "{}", resources(1));
}

#[test]
fn a_t3_in_standard_mode_drops_to_its_baseline_when_its_credits_run_out() {
    // 6 requests a second of ~140 ms of CPU: 0.84 vCPU busy spends 0.014 credits a second
    // (one credit is a vCPU-minute) and earns 0.0033 back; 0.03 credits last about 3 s.
    let Some(json) = run_alone(
        "name = \"credits\"\nduration = \"14s\"\n[traffic]\npattern = \"constant\"\nrate = 6\n\
         [function]\nwork = { kind = \"cpu\", rounds = 30000000 }\n\
         [[targets]]\nname = \"t3\"\nkind = \"container\"\ncredits = \"standard\"\ninitial_credits = 0.03\n\
         [cost]\ninstance = \"t3.micro\"\n",
    ) else {
        return;
    };
    let target = &json["targets"][0];
    let credits = &target["instances"][0]["credits"];
    assert_eq!(credits["mode"], "standard", "{credits}");
    let balance: Vec<f64> =
        credits["balance_per_second"].as_array().unwrap().iter().map(|b| b.as_f64().unwrap()).collect();
    assert!(balance.contains(&0.0), "the balance ran out: {balance:?}");
    assert!(credits["at_baseline_s"].as_f64().unwrap() >= 3.0, "held at the baseline: {credits}");
    assert!(target["resources"].as_str().unwrap().ends_with("2 vCPU, 1024 MiB, standard credits from 0.03"));
    // At 10 % of 2 vCPUs the same requests take several times as long as at the start.
    let p50 = |interval: &serde_json::Value| interval["p50_us"].as_f64();
    let intervals = target["measurement"]["intervals"].as_array().unwrap();
    let first = p50(&intervals[1]).unwrap();
    let last = intervals.iter().rev().find_map(p50).unwrap();
    assert!(last > 3.0 * first, "p50 {:.0} ms at first, {:.0} ms at the end", first / 1e3, last / 1e3);
}

/// The CPU quota of the only group whose name starts with `prefix`, in µs per 100 ms.
fn quota_of(prefix: &str) -> Option<u64> {
    let run = format!("coldbench-{}", std::process::id());
    let bases = ["/sys/fs/cgroup/cpu", "/sys/fs/cgroup"];
    let mut stack: Vec<std::path::PathBuf> = bases.iter().map(std::path::PathBuf::from).collect();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).ok()?.filter_map(Result::ok) {
            let path = entry.path();
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == run {
                let group = std::fs::read_dir(&path)
                    .ok()?
                    .filter_map(Result::ok)
                    .find(|e| e.file_name().to_string_lossy().starts_with(prefix) && e.path().is_dir())?;
                let v1 = std::fs::read_to_string(group.path().join("cpu.cfs_quota_us"));
                let v2 = std::fs::read_to_string(group.path().join("cpu.max"));
                let text = v1.or(v2).ok()?;
                return text.split_whitespace().next()?.parse().ok();
            } else if path.components().count() < 7 {
                stack.push(path);
            }
        }
    }
    None
}

#[test]
fn init_can_get_more_cpu_than_the_invocations() {
    let _serial = serial();
    if !cgroups() {
        return;
    }
    on_runtime(async {
        let demo = DemoFunction::new(env!("CARGO_BIN_EXE_coldbench"));
        let mut config = FunctionConfig::new("boost", demo.lambda_command()).env("COLDBENCH_INIT_DELAY", "800ms");
        config.enforce_resources = true;
        config.init_cpus = Some(2.0);
        let runtime = FunctionRuntime::start(config).await.unwrap();
        let gateway = Gateway::start(Arc::new(runtime.clone())).await.unwrap();
        let url = format!("{}2015-03-31/functions/boost/invocations", gateway.url());
        let invoke = tokio::spawn(async move { send("POST", &url, &[], r#"{"kind":"sleep","duration":"1ms"}"#).await });
        let mut during = None;
        for _ in 0..100 {
            during = quota_of("boost-");
            if during.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(during, Some(200_000), "2 vCPUs while Init runs");
        assert_eq!(invoke.await.unwrap().status, 200);
        // 128 / 1,769 of a vCPU for the invocations: 7,236 µs per 100 ms.
        assert_eq!(quota_of("boost-"), Some(7_236), "the memory's share once Init is over");
        gateway.stop().await;
        runtime.stop();
    });
}

#[test]
fn a_container_over_its_memory_is_killed_as_ecs_reports_it() {
    // 32 MiB of memory; every request touches 64 MiB.
    let Some(json) = run_alone(
        "name = \"oom\"\nduration = \"2s\"\n[traffic]\npattern = \"constant\"\nrate = 2\n\
         [function]\nwork = { kind = \"alloc\", memory_mb = 64 }\n\
         [[targets]]\nname = \"box\"\nkind = \"container\"\nmemory_mb = 32\n",
    ) else {
        return;
    };
    let target = &json["targets"][0];
    let instance = &target["instances"][0];
    assert_eq!(
        instance["exit"], "OutOfMemoryError: Container killed due to memory usage (exit code 137)",
        "{instance}"
    );
    assert!(instance["failed_requests"].as_u64().unwrap() >= 1, "{instance}");
    let outcomes = &target["measurement"]["outcomes"];
    assert_eq!(outcomes["ok"], 0, "no request could succeed: {outcomes}");
}

#[test]
fn instances_over_the_hosts_cpus_are_reported_as_host_bound() {
    // 25 requests a second of ~77 ms of CPU at 1 vCPU each (1,769 MB): ~2 vCPUs of quotas busy
    // at once, more with coldbench's own work, on this 2-CPU host.
    let cpus = std::thread::available_parallelism().unwrap().get() as f64;
    if cpus > 2.0 {
        eprintln!("skipped: 25 requests a second need not fill a host of {cpus} CPUs");
        return;
    }
    let Some(json) = run_alone(
        "name = \"host\"\nduration = \"4s\"\nseed = 1\n[traffic]\npattern = \"constant\"\nrate = 25\n\
         [function]\nwork = { kind = \"cpu\", rounds = 20000000 }\n\
         [[targets]]\nname = \"many\"\nkind = \"function\"\nmemory_mb = 1769\ntimeout = \"30s\"\n",
    ) else {
        return;
    };
    let many = &json["targets"][0];
    let host = |key: &str| many["host"][key].as_f64().unwrap();
    assert!(host("host_bound_s") >= 1.0, "{}", many["host"]);
    assert!(host("peak_busy_quota_vcpus") > cpus, "{}", many["host"]);
    assert!(host("withheld_share") > 0.2, "{}", many["host"]);
    let warned = many["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().starts_with(&format!("the instances waited for this host's {cpus} CPUs")));
    assert!(warned, "{}", many["warnings"]);
    let seconds = many["usage"]["seconds"].as_array().unwrap();
    assert!(seconds.iter().any(|s| s["withheld_vcpus"].as_f64().unwrap() >= 0.1), "per second: {seconds:?}");
}

#[test]
fn an_instance_held_back_by_its_quota_is_not_host_bound_and_is_sampled_each_second() {
    // One 0.29 vCPU container, ~77 ms of CPU (at one vCPU) four times a second, a little more
    // than its quota gives (at twice a second it was idle half the time, and a second's CPU
    // could fall short of the quota): its quota, not the host, holds it back.
    let Some(json) = run_alone(
        "name = \"quota\"\nduration = \"5s\"\n[traffic]\npattern = \"constant\"\nrate = 4\n\
         [function]\nwork = { kind = \"cpu\", rounds = 20000000 }\n\
         [[targets]]\nname = \"one\"\nkind = \"container\"\ncpus = 0.29\n",
    ) else {
        return;
    };
    let one = &json["targets"][0];
    let host = |key: &str| one["host"][key].as_f64().unwrap();
    assert_eq!(host("host_bound_s"), 0.0, "{}", one["host"]);
    assert!(host("withheld_share") < 0.1, "{}", one["host"]);
    let usage = &one["usage"];
    assert_eq!(usage["instances"].as_array().unwrap().len(), 1, "{usage}");
    let samples = usage["instances"][0]["samples"].as_array().unwrap();
    assert!(samples.len() >= 4, "a sample a second: {samples:?}");
    let most = samples.iter().map(|s| s["cpu_vcpus"].as_f64().unwrap()).fold(0.0, f64::max);
    assert!((0.29 * 0.7..=0.29 * 1.2).contains(&most), "CPU per second at most the quota, and reached: {most}");
    assert!(samples.iter().any(|s| s["throttled"].as_f64().unwrap() > 0.0), "{samples:?}");
    // The container's memory is its server's: more than nothing, far less than its 1 GiB.
    let memory = samples.iter().map(|s| s["memory_mib"].as_f64().unwrap()).fold(0.0, f64::max);
    assert!((1.0..512.0).contains(&memory), "{memory} MiB");
}
