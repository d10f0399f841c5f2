//! One function instance: its own Runtime API listener on 127.0.0.1 and the process it serves,
//! started with Lambda's environment and nothing else of the host's (unless the workload lists it).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::api::{Event, Lifecycle, ReadyHook, RuntimeApi};
use super::billing::Tail;
use super::FunctionConfig;
use crate::cgroup::{Cgroup, Limits, Usage};
use crate::isolation::NetNamespace;
use crate::policy::InstanceId;
use crate::process::{GroupChild, LineSink, Placement, Supervised};

/// How an instance's Init ended.
#[derive(Debug)]
pub enum InitEnd {
    /// The runtime called `/next`: Init took this long.
    Ready(Duration),
    /// The runtime posted `/init/error`.
    Failed { error_type: Option<String>, body: bytes::Bytes },
    /// The process exited before calling `/next`.
    Exited(std::process::ExitStatus),
    /// Init ran past the init limit.
    TimedOut,
}

impl InitEnd {
    /// How Init ended, in words: "it posted /init/error (Runtime.ImportModuleError)".
    pub fn describe(&self) -> String {
        match self {
            InitEnd::Ready(took) => format!("it became ready in {}", crate::units::format_duration(*took)),
            InitEnd::Failed { error_type, .. } => {
                format!("it posted /init/error ({})", error_type.as_deref().unwrap_or("Runtime.Unknown"))
            }
            InitEnd::Exited(status) => format!("its process exited ({status}) before calling /next"),
            InitEnd::TimedOut => "it ran past the Init limit".to_string(),
        }
    }

    /// A failed Init's `Status` and `Error Type` in its INIT_REPORT line.
    pub fn status(&self) -> (&'static str, Option<&str>) {
        match self {
            InitEnd::Ready(_) => ("success", None),
            InitEnd::Failed { error_type, .. } => ("error", Some(error_type.as_deref().unwrap_or("Runtime.Unknown"))),
            InitEnd::Exited(_) => ("error", Some("Runtime.ExitError")),
            InitEnd::TimedOut => ("timeout", None),
        }
    }
}

/// How the end of an invocation came, after the runtime had answered it.
#[derive(Debug)]
pub enum NextEnd {
    /// The runtime called `/next` again at this instant: the invocation ended.
    Ready(Instant),
    /// The process exited before calling `/next`.
    Exited(std::process::ExitStatus),
    /// The function timeout passed first.
    TimedOut,
}

/// A running instance.
pub struct FunctionInstance {
    pub id: InstanceId,
    pub name: String,
    pub provisioned: bool,
    pub spawned_at: Instant,
    process: Supervised,
    events: mpsc::Sender<Event>,
    lifecycle: watch::Receiver<Lifecycle>,
    server: CancellationToken,
    /// The instance's own network namespace, when isolated: kept while the instance lives.
    _namespace: Option<NetNamespace>,
    /// Its cgroup, when resources are enforced: dropped after the process, it kills whatever
    /// is left of the instance and removes itself.
    cgroup: Option<Cgroup>,
    memory_mb: u32,
    /// The CPU share of its memory, which invocations get.
    cpus: f64,
    /// Init runs with `init_cpus` until it ends.
    init_boost: bool,
    /// Frozen while idle, as Lambda freezes an environment between invocations.
    frozen: std::sync::Mutex<bool>,
    /// Where its output goes besides the function's log, while an invocation that asked for
    /// its log's tail runs.
    capture: Arc<std::sync::Mutex<Option<Tail>>>,
}

impl FunctionInstance {
    /// Starts the Runtime API listener and the function process.
    ///
    /// # Errors
    /// When no loopback port can be bound or the command cannot be started.
    pub async fn spawn(
        config: &FunctionConfig,
        id: InstanceId,
        provisioned: bool,
        log: Option<LineSink>,
        on_ready: ReadyHook,
    ) -> std::io::Result<Self> {
        // Isolated: a loopback of the instance's own, with the Runtime API at 127.0.0.1:9001 as
        // on Lambda; else a port of the host's loopback.
        let (namespace, listener) = if config.isolate {
            let (namespace, listener) =
                tokio::task::spawn_blocking(|| NetNamespace::with_listener(crate::isolation::RUNTIME_API_PORT))
                    .await
                    .map_err(std::io::Error::other)??;
            (Some(namespace), TcpListener::from_std(listener)?)
        } else {
            (None, TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?)
        };
        let addr = listener.local_addr()?;
        let (api, events, lifecycle) = RuntimeApi::new(config.function_arn(), config.pool.per_instance, on_ready);
        let server = CancellationToken::new();
        tokio::spawn(crate::http::serve(listener, crate::http::Limits::private(), server.clone(), move |request| {
            let api = Arc::clone(&api);
            async move { Ok::<_, std::convert::Infallible>(api.handle(request).await) }
        }));
        let name = format!("{}-{id}", config.name);
        let env = lambda_environment(config, &name, addr, provisioned);
        // Lambda's CPU follows memory: one vCPU at 1,769 MB, linear (reference §1).
        let cpus = crate::lambda::vcpus_for(config.memory_mb);
        let cgroup = if config.enforce_resources {
            let memory_bytes = u64::from(config.memory_mb) << 20;
            // Init may run with more CPU than the invocations get (`init_cpus`).
            let limits = Limits { cpus: config.init_cpus.unwrap_or(cpus), memory_bytes };
            Some(Cgroup::create_unique(&name, limits)?)
        } else {
            None
        };
        let spawned_at = Instant::now();
        let place = Placement { namespace: namespace.as_ref(), cgroup: cgroup.as_ref(), cwd: config.cwd.as_deref() };
        let capture: Arc<std::sync::Mutex<Option<Tail>>> = Arc::default();
        let sink: LineSink = {
            let capture = Arc::clone(&capture);
            Arc::new(move |line: &str| {
                if let Some(log) = &log {
                    log(line);
                }
                if let Some(tail) = &*capture.lock().expect("capture lock") {
                    tail.push(line);
                }
            })
        };
        let process = GroupChild::spawn_with_sink(&config.command, &env, true, Some(sink), place)?.supervise();
        Ok(Self {
            id,
            name,
            provisioned,
            spawned_at,
            process,
            events,
            lifecycle,
            server,
            _namespace: namespace,
            cgroup,
            memory_mb: config.memory_mb,
            cpus,
            init_boost: config.init_cpus.is_some(),
            frozen: std::sync::Mutex::new(false),
            capture,
        })
    }

    /// Waits until Init ends or `deadline` passes (then the instance is killed).
    pub async fn wait_initialized(&self, deadline: Instant) -> InitEnd {
        let mut lifecycle = self.lifecycle.clone();
        let ended = tokio::select! {
            biased;
            seen = lifecycle.wait_for(|l| l.initialized.is_some() || l.init_error.is_some()) => seen.ok().map(|l| l.clone()),
            status = self.process.exited() => return InitEnd::Exited(status),
            () = tokio::time::sleep_until(deadline.into()) => None,
        };
        match ended {
            Some(Lifecycle { init_error: Some((error_type, body)), .. }) => InitEnd::Failed { error_type, body },
            Some(Lifecycle { initialized: Some(at), .. }) => {
                if let (true, Some(cgroup)) = (self.init_boost, &self.cgroup) {
                    let _ = cgroup.set_cpus(self.cpus);
                }
                InitEnd::Ready(at.saturating_duration_since(self.spawned_at))
            }
            _ => {
                self.kill();
                InitEnd::TimedOut
            }
        }
    }

    /// How many times the runtime has come back to `/next` after an invocation.
    pub fn ready_count(&self) -> u64 {
        self.lifecycle.borrow().ready_count
    }

    /// Waits until the runtime calls `/next` for the `after + 1`-th time, exits, or `deadline`
    /// passes: on Lambda an invocation lasts until `/next`, whatever it posted before.
    pub async fn wait_next(&self, after: u64, deadline: Instant) -> NextEnd {
        let mut lifecycle = self.lifecycle.clone();
        let ready = async {
            let seen = lifecycle.wait_for(|l| l.ready_count > after).await;
            seen.ok().map(|l| l.ready_at.unwrap_or_else(Instant::now))
        };
        tokio::select! {
            biased;
            at = ready => match at {
                Some(at) => NextEnd::Ready(at),
                None => NextEnd::Exited(self.process.exited().await),
            },
            status = self.process.exited() => NextEnd::Exited(status),
            () = tokio::time::sleep_until(deadline.into()) => NextEnd::TimedOut,
        }
    }

    /// Freezes the idle instance: none of its processes runs — no background thread, no timer —
    /// until [`FunctionInstance::thaw`] (Lambda freezes the environment between invocations;
    /// reference §1). Done with `SIGSTOP` of its whole process tree, which works with or without
    /// cgroups, and a frozen instance still dies of `SIGKILL` at once (a cgroup v1 freezer would
    /// hold a killed process until thawed).
    pub fn freeze(&self) {
        let mut frozen = self.frozen.lock().expect("frozen lock");
        if !*frozen {
            self.process.pause(true);
            *frozen = true;
        }
    }

    /// Thaws it before an invocation is handed to it.
    pub fn thaw(&self) {
        let mut frozen = self.frozen.lock().expect("frozen lock");
        if *frozen {
            self.process.pause(false);
            *frozen = false;
        }
    }

    /// Copies its output into `tail` from now on (an invocation that asked for its log).
    pub fn capture(&self, tail: &Tail) {
        *self.capture.lock().expect("capture lock") = Some(tail.clone());
    }

    /// Stops copying into `tail`, unless the next invocation has already put its own in place.
    pub fn release_capture(&self, tail: &Tail) {
        let mut capture = self.capture.lock().expect("capture lock");
        if capture.as_ref().is_some_and(|current| current.same(tail)) {
            *capture = None;
        }
    }

    /// Hands an invocation to the runtime's `/next`.
    pub async fn deliver(&self, event: Event) -> bool {
        self.events.send(event).await.is_ok()
    }

    /// Waits (at most `within`) for the end of its output, after it exited.
    pub async fn output_drained(&self, within: Duration) {
        self.process.output_drained(within).await;
    }

    /// Resolves when the process has exited.
    pub async fn exited(&self) -> std::process::ExitStatus {
        self.process.exited().await
    }

    /// Peak resident memory of the instance's processes, in MiB.
    pub fn peak_rss_mb(&self) -> u64 {
        self.process.peak_rss_mb().unwrap_or(0)
    }

    /// Max Memory Used as Lambda reports it: the larger of the cgroup's peak and the peak RSS,
    /// capped at the memory size (the size itself after an out-of-memory kill). The RSS counts
    /// the program's own file pages, which a cgroup charges to whoever read them first (often
    /// another instance), and a micro-VM would count; without a cgroup, the peak RSS alone.
    pub fn max_memory_used_mb(&self) -> u64 {
        match self.usage() {
            Some(usage) if usage.oom_kills > 0 => u64::from(self.memory_mb),
            Some(usage) => (usage.peak_memory_bytes >> 20).max(self.peak_rss_mb()).min(u64::from(self.memory_mb)),
            None => self.peak_rss_mb(),
        }
    }

    /// The cgroup's counters, when resources are enforced.
    pub fn usage(&self) -> Option<Usage> {
        self.cgroup.as_ref().map(Cgroup::usage)
    }

    /// The last lines the process wrote.
    pub fn tail(&self) -> String {
        self.process.tail()
    }

    /// SIGKILL to the process group (Lambda stops environments without a grace period).
    pub fn kill(&self) {
        self.process.kill();
        if let Some(cgroup) = &self.cgroup {
            cgroup.kill();
        }
    }
}

impl Drop for FunctionInstance {
    fn drop(&mut self) {
        self.server.cancel();
        self.process.kill();
    }
}

/// The 32 hex digits of an instance's log stream name, `2026/12/02/[$LATEST]<32 hex>` as Lambda
/// names them (one stream per execution environment). Lambda's are random; these are a hash of
/// the instance's name, so that a seeded run (the `cache` work keys its draws on the stream) is
/// the same run twice.
fn stream_id(instance: &str) -> String {
    let fnv = |salt: u8| {
        let mut hasher = fnv::FnvHasher::default();
        std::hash::Hasher::write(&mut hasher, &[salt]);
        std::hash::Hasher::write(&mut hasher, instance.as_bytes());
        std::hash::Hasher::finish(&hasher)
    };
    format!("{:016x}{:016x}", fnv(1), fnv(2))
}

/// The process environment Lambda gives a custom runtime (reference §3), plus what the workload lists.
fn lambda_environment(
    config: &FunctionConfig,
    name: &str,
    api: SocketAddr,
    provisioned: bool,
) -> Vec<(String, String)> {
    let task_root = config
        .cwd
        .clone()
        .or_else(|| std::env::current_dir().ok())
        .map_or_else(|| "/".into(), |d| d.display().to_string());
    let date = crate::time::utc_now().get(..10).unwrap_or("1970-01-01").replace('-', "/");
    let stream = format!("{date}/[{}]{}", crate::lambda::LATEST, stream_id(name));
    let fixed = [
        ("AWS_LAMBDA_RUNTIME_API", api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", config.name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", crate::lambda::LATEST.into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", config.memory_mb.to_string()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", config.name)),
        ("AWS_LAMBDA_LOG_STREAM_NAME", stream),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", if provisioned { "provisioned-concurrency" } else { "on-demand" }.into()),
        ("_HANDLER", config.handler.clone()),
        ("AWS_REGION", config.region.clone()),
        ("AWS_DEFAULT_REGION", config.region.clone()),
        ("TZ", ":UTC".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("LAMBDA_TASK_ROOT", task_root.clone()),
        ("LAMBDA_RUNTIME_DIR", task_root),
        ("AWS_ACCESS_KEY_ID", String::new()),
        ("AWS_SECRET_ACCESS_KEY", String::new()),
        ("AWS_SESSION_TOKEN", String::new()),
        ("PATH", std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into())),
    ];
    let mut env: Vec<(String, String)> = fixed.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    // Set only for multi-request environments: a runtime that sees it polls `/next` from that
    // many workers (Lambda Managed Instances); classic Lambda never sets it.
    if config.pool.per_instance > 1 {
        env.push(("AWS_LAMBDA_MAX_CONCURRENCY".into(), config.pool.per_instance.to_string()));
    }
    env.extend(config.env.iter().cloned());
    env
}
