//! Command-line types (clap derive) and their help text; no logic lives here.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::lambda;
use crate::workload::{HumanDuration, KeepAliveSetting};

/// Serverless function or always-on container? coldbench drives both with the same load and
/// reports latency (coordinated-omission free), cold starts and errors side by side.
#[derive(Debug, Parser)]
#[command(name = "coldbench", version, about, long_about = None, propagate_version = true, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Exit code of a usage error: an unknown option, a value of the wrong kind (clap's code, as
/// most command-line tools have it); distinct from every outcome of a command that ran.
pub const EXIT_USAGE: u8 = 2;

/// The exit codes, as `--help` lists them (README.md "Exit codes" says the same).
const EXIT_CODES: &str = "Exit codes: 0 complete; 1 bad input or an I/O error; 2 a usage error (an unknown option, a \
value of the wrong kind); 3 the report could not be written in full; 4 a target was degraded by this host; 5 a \
target failed (did not start, or no request succeeded); 99 a threshold or a compare gate failed; 130 interrupted.";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a workload file against each of its targets and write a report.
    #[command(after_help = "Examples:
  coldbench run workloads/quickstart.toml
  coldbench run workloads/cpu-bound.toml --target container --duration 10s
  coldbench run workloads/quickstart.toml --repeat 3 --threshold 'function:p99<800ms'
  coldbench run workloads/burst.toml --metrics 127.0.0.1:9464")]
    Run(RunArgs),
    /// Ad-hoc load against one URL, like wrk (closed loop, -c) or wrk2 (open loop, --rate).
    #[command(after_help = "Examples:
  coldbench load http://127.0.0.1:8080/ -c 50 -d 10s
  coldbench load http://127.0.0.1:8080/ --rate 500 -d 30s --spectrum
  coldbench load https://api.example.com/health -n 100 -H 'Authorization: Bearer …' --threshold 'p99<200ms'")]
    Load(LoadArgs),
    /// Simulate a workload's function targets through the runtime's pool policy, in simulated
    /// time (a month of traffic in seconds); writes a report marked simulated.
    #[command(after_help = "Examples:
  coldbench simulate workloads/sparse.toml --duration 30d
  coldbench simulate workloads/quickstart.toml --calibrate reports/<run>/results.json")]
    Simulate(SimulateArgs),
    /// Replay an Azure Functions trace (many functions, per-minute counts) through the pool policy
    /// under several keep-alive policies: cold-start fraction and cost of each.
    #[command(after_help = "Examples:
  coldbench replay workloads/traces/azure-sample.csv
  coldbench replay workloads/traces/azure-sample.csv --policies 5m,10m,hybrid --memory-mb 512")]
    Replay(ReplayArgs),
    /// Re-render every output of a run (summary.md, CSVs, .hlog) from its results.json alone.
    #[command(after_help = "Examples:
  coldbench report reports/<run>/results.json
  coldbench report reports/<run>/results.json --pricing my-prices.toml --out repriced")]
    Report(ReportArgs),
    /// Merge the shards of one run (`run --shard I/N` on N machines) into one report: histograms
    /// added interval by interval, so the merged p99 is the p99 of every request.
    #[command(after_help = "Examples:
  coldbench merge shard-*/results.json --out merged
  coldbench merge a/results.json b/results.json --json")]
    Merge(MergeArgs),
    /// Print a Kubernetes Indexed Job (and the ConfigMap holding the workload) that runs the
    /// workload's load from --shards pods at once; merge their results with `coldbench merge`.
    #[command(after_help = "Examples:
  coldbench k8s workloads/endpoint.toml --shards 4 --image ghcr.io/me/coldbench:0.1 | kubectl apply -f -
  coldbench k8s workloads/endpoint.toml --shards 8 --image IMG --results-claim coldbench-results")]
    K8s(K8sArgs),
    /// Compare two runs target by target, with deltas and percent changes.
    #[command(after_help = "Examples:
  coldbench compare before/results.json after/results.json
  coldbench compare before/results.json after/results.json --fail-if 'p99 +10%' --fail-if 'throughput -5%'")]
    Compare(CompareArgs),
    /// Monthly cost of a function and an always-on container for a traffic level, and the
    /// break-even volume (or `--examples`: the worked examples, reproduced).
    #[command(after_help = "Examples:
  coldbench cost --requests-per-month 5M --duration 100ms --memory-mb 512
  coldbench cost --requests-per-day 5000 --fargate 0.25,0.5 --front-door alb
  coldbench cost --examples")]
    Cost(CostArgs),
    /// The local function runtime on its own: Lambda's Invoke API and a function URL front for
    /// any Runtime API program, with many instances, concurrency limits and REPORT lines.
    #[command(after_help = "Examples:
  coldbench runtime --port 9000 --function python3 -m awslambdaric app.handler
  coldbench runtime --memory-mb 512 --max-concurrency 10 --metrics 127.0.0.1:9464")]
    Runtime(RuntimeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    #[command(after_help = "Examples:
  coldbench completions bash > ~/.local/share/bash-completion/completions/coldbench
  coldbench completions zsh > \"${fpath[1]}/_coldbench\"")]
    Completions(CompletionsArgs),
    /// Print the manual page (roff) to stdout.
    #[command(after_help = "Examples:
  coldbench man > ~/.local/share/man/man1/coldbench.1 && man coldbench")]
    Man,
    /// The bundled demo function (started by coldbench itself).
    #[command(hide = true)]
    Function(FunctionArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The workload TOML file (see workloads/).
    pub workload: PathBuf,
    /// Folder under which the run's report folder is created.
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// Run only this target (repeat for several); default: every target.
    #[arg(long = "target", value_name = "NAME")]
    pub targets: Vec<String>,
    /// Override the workload's duration, e.g. 10s.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Skip idle time (as `load.fast_forward = true`): every invocation still runs for real.
    #[arg(long)]
    pub fast_forward: bool,
    /// Print results.json to stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
    /// A pricing catalog replacing the embedded one, for the cost projection.
    #[arg(long)]
    pub pricing: Option<PathBuf>,
    /// CPU and memory limits per instance with cgroups, as the cloud gives them (`on`, where
    /// the host allows it), or the whole host for every instance (`off`, on purpose).
    #[arg(long, value_enum, default_value_t = Switch::On)]
    pub resources: Switch,
    /// A pass/fail criterion, k6-style (repeatable), for all targets or one ("function:p99<800ms"),
    /// added to the workload's `[thresholds]`; a failed one exits with 99.
    #[arg(long = "threshold", value_name = "EXPR", value_parser = parse_threshold)]
    pub thresholds: Vec<crate::metrics::Threshold>,
    /// Run every target N times, interleaved (each target once, then each again), and report
    /// medians with their spread and 95 % intervals; the verdict says what is within the noise.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = parse_repeat)]
    pub repeat: u32,
    /// Serve live metrics in the Prometheus text format at http://ADDR/metrics while the run
    /// goes (e.g. 127.0.0.1:9464; port 0 picks one); the last scrape is kept as metrics.prom.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
    /// Send only shard INDEX of COUNT of the schedule (0-based; every COUNT-th arrival from the
    /// INDEX-th), for a load spread over COUNT machines; `coldbench merge` puts them together.
    /// Only `url` and `lambda` targets can be sharded.
    #[arg(long, value_name = "INDEX/COUNT", conflicts_with = "shards")]
    pub shard: Option<crate::workload::Shard>,
    /// As --shard, with INDEX from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job's).
    #[arg(long, value_name = "COUNT", value_parser = clap::value_parser!(u32).range(1..))]
    pub shards: Option<u32>,
    /// Begin the load at this instant (RFC 3339 UTC, e.g. 2026-12-04T10:00:00Z), so that every
    /// shard starts together; a time already past starts at once, with a warning.
    #[arg(long, value_name = "TIME", value_parser = parse_start_at)]
    pub start_at: Option<std::time::SystemTime>,
    /// Generator threads, each sending every N-th arrival on connections of its own, their
    /// recordings merged exactly; default: every core for `url` and `lambda` targets, one for
    /// local targets (they share coldbench's cores with the generator).
    #[arg(long, value_name = "N", value_parser = parse_at_least_one::<usize>)]
    pub threads: Option<usize>,
}

fn parse_start_at(text: &str) -> Result<std::time::SystemTime, String> {
    humantime::parse_rfc3339_weak(text)
        .map_err(|e| format!("`{text}` is not an RFC 3339 time such as 2026-12-04T10:00:00Z ({e})"))
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' results.json files (`run --shard I/N`), every shard of the run once.
    #[arg(required = true, num_args = 1..)]
    pub shards: Vec<PathBuf>,
    /// Folder to write the merged run's report into.
    #[arg(long, default_value = "merged")]
    pub out: PathBuf,
    /// Print the merged results.json to stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct K8sArgs {
    /// The workload TOML file to run on the cluster (its `url` and `lambda` targets).
    pub workload: PathBuf,
    /// Pods to spread the load over: one shard each.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub shards: u32,
    /// The container image with coldbench in it (its entry point or PATH has `coldbench`).
    #[arg(long)]
    pub image: String,
    /// Seconds from when the manifest is printed to the agreed start, for image pulls and
    /// scheduling (the Job's pods all wait until then).
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(10..=86_400))]
    pub start_in: u64,
    /// The Kubernetes namespace.
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// A PersistentVolumeClaim (ReadWriteMany) the shards write their results to, under
    /// /results/shard-INDEX; without it, each pod prints its results.json to its log.
    #[arg(long, value_name = "NAME")]
    pub results_claim: Option<String>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `on` or `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The http:// or https:// URL to load.
    pub url: String,
    /// Open loop: requests per second at evenly spaced intended times.
    #[arg(long, short = 'r', conflicts_with = "connections")]
    pub rate: Option<f64>,
    /// Closed loop: keep-alive connections, each sending back to back (default 50 without --rate).
    #[arg(long = "connections", short = 'c')]
    pub connections: Option<usize>,
    /// How long to run, e.g. 10s (default 10s unless -n is given).
    #[arg(long, short = 'd', value_parser = parse_positive_duration)]
    pub duration: Option<Duration>,
    /// How many requests to send.
    #[arg(long = "requests", short = 'n', value_parser = parse_at_least_one::<u64>)]
    pub requests: Option<u64>,
    /// HTTP method.
    #[arg(long, short = 'm', default_value = "GET")]
    pub method: String,
    /// Request header, "Name: value" (repeatable).
    #[arg(long = "header", short = 'H', value_name = "HEADER")]
    pub headers: Vec<String>,
    /// Request body.
    #[arg(long, short = 'b', default_value = "")]
    pub body: String,
    /// Per-request timeout; slower requests end as `timeout`.
    #[arg(long, short = 't', value_parser = parse_positive_duration, default_value = "30s")]
    pub timeout: Duration,
    /// Open loop: most requests in flight; later arrivals wait and the wait counts in latency.
    #[arg(long, default_value_t = crate::workload::DEFAULT_MAX_IN_FLIGHT)]
    pub max_in_flight: usize,
    /// Open loop: generator threads, each sending every N-th arrival on connections of its own,
    /// their recordings merged exactly (default: every core).
    #[arg(long, value_name = "N", value_parser = parse_at_least_one::<usize>)]
    pub threads: Option<usize>,
    /// Print the HDR percentile spectrum of the latency, then of each phase of the requests'
    /// time (connecting, TLS handshaking, sending, waiting, receiving).
    #[arg(long)]
    pub spectrum: bool,
    /// Print the results as JSON (the results.json schema) instead of tables.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// https:// only: trust the certificates in this PEM file instead of the platform's roots.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// https:// only: accept any server certificate (self-signed, expired, another name).
    #[arg(long, short = 'k')]
    pub insecure: bool,
    /// HTTP/2 only: over TLS offer only h2 in ALPN; over http://, HTTP/2 with prior knowledge
    /// (h2c). Without it TLS offers h2 and http/1.1 and speaks what the server picks.
    #[arg(long)]
    pub http2: bool,
    /// A pass/fail criterion, k6-style (repeatable): "p99<500ms", "error_rate<1%",
    /// "throughput>=100/s"; a failed one exits with 99.
    #[arg(long = "threshold", value_name = "EXPR", value_parser = parse_threshold)]
    pub thresholds: Vec<crate::metrics::Threshold>,
}

fn parse_threshold(text: &str) -> Result<crate::metrics::Threshold, String> {
    crate::metrics::Threshold::parse(text)
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The workload TOML file.
    pub workload: PathBuf,
    /// Folder under which the report folder is created.
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// Override the workload's duration (the simulated horizon), e.g. 30d.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Draw Init and work durations from a measured run's results.json (its function target of
    /// the same name, or its only one) instead of the workload's nominal values.
    #[arg(long, value_name = "RESULTS_JSON")]
    pub calibrate: Option<PathBuf>,
    /// Print results.json to stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// A pricing catalog replacing the embedded one, for the cost projection.
    #[arg(long)]
    pub pricing: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// A trace in the Azure Functions 2019 layout (`HashOwner,HashApp,HashFunction,Trigger,1..1440`),
    /// e.g. `invocations_per_function_md.anon.d01.csv` from Azure/AzurePublicDataset.
    pub trace: PathBuf,
    /// Keep-alive policies to compare: durations (a fixed keep-alive), `exponential:<mean>`, and
    /// `hybrid` or `hybrid:<fallback>` (the adaptive histogram policy).
    #[arg(long, value_delimiter = ',', value_parser = KeepAliveSetting::parse, default_value = "10m,20m,hybrid")]
    pub policies: Vec<KeepAliveSetting>,
    /// Init on every cold start (the trace has none).
    #[arg(long, value_parser = parse_duration, default_value = "300ms")]
    pub init: Duration,
    /// Work per invocation.
    #[arg(long, value_parser = parse_positive_duration, default_value = "100ms")]
    pub work: Duration,
    /// Memory of every function, in MB (Lambda's 128 to 10,240).
    #[arg(long, default_value_t = 256, value_parser = parse_memory_mb)]
    pub memory_mb: u32,
    /// Recycle instances this long after they started, or `off`.
    #[arg(long, default_value = "off")]
    pub max_lifetime: String,
    /// How each minute's count is spread within the minute.
    #[arg(long, value_enum, default_value_t = SpreadArg::Uniform)]
    pub spread: SpreadArg,
    /// Seeds the spreading within minutes.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Replay only this much of the trace (default: all of it).
    #[arg(long, value_parser = parse_positive_duration)]
    pub duration: Option<Duration>,
    /// Folder under which the report folder is created.
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// Print replay.json to stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// A pricing catalog replacing the embedded one.
    #[arg(long)]
    pub pricing: Option<PathBuf>,
}

/// `--spread`: how a minute's count is placed within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SpreadArg {
    /// Uniformly at random (seeded).
    Uniform,
    /// Evenly spaced.
    Even,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A results.json written by `coldbench run`.
    pub results: PathBuf,
    /// Folder to write into (default: the folder of results.json).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Price the run with this catalog instead of the one it was measured with (same TOML
    /// layout as the embedded `pricing.toml`).
    #[arg(long)]
    pub pricing: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline results.json.
    pub before: PathBuf,
    /// The results.json to compare with it.
    pub after: PathBuf,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
    /// A regression gate (repeatable): fail (exit 99) when a figure changed by more than this,
    /// e.g. "p99 +10%" (rose by more than 10 %), "throughput -5%" (fell by more than 5 %).
    #[arg(long = "fail-if", value_name = "GATE", value_parser = parse_gate)]
    pub fail_if: Vec<crate::analysis::Gate>,
}

fn parse_gate(text: &str) -> Result<crate::analysis::Gate, String> {
    crate::analysis::Gate::parse(text)
}

#[derive(Debug, Args)]
pub struct CostArgs {
    /// Requests per month (accepts k, M, B suffixes: 5M).
    #[arg(long, value_parser = parse_positive_count, conflicts_with = "requests_per_day")]
    pub requests_per_month: Option<f64>,
    /// Requests per day (a month is hours-per-month / 24 days).
    #[arg(long, value_parser = parse_positive_count)]
    pub requests_per_day: Option<f64>,
    /// Billed duration per request (mean), e.g. 100ms.
    #[arg(long, value_parser = parse_positive_duration, default_value = "100ms")]
    pub duration: Duration,
    /// Function memory in MB (Lambda's 128 to 10,240).
    #[arg(long, default_value_t = 128, value_parser = parse_memory_mb)]
    pub memory_mb: u32,
    /// Function architecture.
    #[arg(long, value_enum, default_value_t = CostArch::X86)]
    pub arch: CostArch,
    /// The always-on alternative: an EC2 instance type from the catalog.
    #[arg(long, default_value = "t3.micro", conflicts_with = "fargate")]
    pub instance: String,
    /// The always-on alternative: a Fargate task, "VCPU,GB" (e.g. 0.25,0.5).
    #[arg(long, value_name = "VCPU,GB")]
    pub fargate: Option<String>,
    /// How many always-on instances or tasks.
    #[arg(long, default_value_t = 1, value_parser = parse_at_least_one::<u32>)]
    pub count: u32,
    /// What fronts the deployments: none (function URL / public IP), http-api, rest-api, alb.
    #[arg(long, value_enum, default_value_t = CostFrontDoor::None)]
    pub front_door: CostFrontDoor,
    /// Apply Lambda's permanent free tier (1M requests + 400,000 GB-s a month).
    #[arg(long)]
    pub free_tier: bool,
    /// Add a public IPv4 address per always-on instance.
    #[arg(long)]
    pub public_ipv4: bool,
    /// Hours in a month (default: the catalog's, 730).
    #[arg(long)]
    pub hours: Option<f64>,
    /// A pricing catalog replacing the embedded one (same TOML layout).
    #[arg(long)]
    pub pricing: Option<PathBuf>,
    /// Reproduce the worked examples (5,000 requests/day on t2.nano; 5 M/month on t3.micro).
    #[arg(long)]
    pub examples: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CostArch {
    X86,
    Arm64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CostFrontDoor {
    None,
    HttpApi,
    RestApi,
    Alb,
}

#[derive(Debug, Args)]
pub struct RuntimeArgs {
    /// Serve live metrics in the Prometheus text format at http://ADDR/metrics (invocations,
    /// errors, throttles, durations, Init, cold starts, concurrency, memory per instance).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
    /// Port on 127.0.0.1 to listen on (0: any free port).
    #[arg(long, short, default_value_t = 9000)]
    pub port: u16,
    /// Function name (in the Invoke API path and the environment).
    #[arg(long, default_value = "function")]
    pub name: String,
    /// Memory size in MB (reported and passed as AWS_LAMBDA_FUNCTION_MEMORY_SIZE).
    #[arg(long, default_value_t = lambda::DEFAULT_MEMORY_MB, value_parser = parse_memory_mb)]
    pub memory_mb: u32,
    /// Invocation timeout (Lambda: at most 900s).
    #[arg(long, value_parser = HumanDuration::parse, default_value_t = HumanDuration(lambda::DEFAULT_TIMEOUT))]
    pub timeout: HumanDuration,
    /// Init limit: an instance that has not called /next by then is killed.
    #[arg(long, value_parser = HumanDuration::parse, default_value_t = HumanDuration(lambda::DEFAULT_INIT_TIMEOUT))]
    pub init_timeout: HumanDuration,
    /// Most instances at once; beyond it invocations get 429.
    #[arg(long, default_value_t = lambda::DEFAULT_MAX_CONCURRENCY)]
    pub max_concurrency: usize,
    /// Idle time after which an instance is stopped: a duration, exponential:<mean>, or hybrid /
    /// hybrid:<fallback> (the adaptive histogram policy, which also pre-warms).
    #[arg(long, value_parser = KeepAliveSetting::parse, default_value_t = KeepAliveSetting::default())]
    pub keep_alive: KeepAliveSetting,
    /// Recycle instances this long after they started ("off" to keep them).
    #[arg(long, default_value_t = HumanDuration(lambda::DEFAULT_MAX_LIFETIME).to_string())]
    pub max_lifetime: String,
    /// Instances started (and initialised) before serving, never evicted for idleness.
    #[arg(long, default_value_t = 0)]
    pub provisioned: usize,
    /// Extra environment variable for the function, NAME=VALUE (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// Exclude Init from billed duration (billing before August 2025).
    #[arg(long)]
    pub legacy_billing: bool,
    /// `_HANDLER` for the function's runtime (e.g. `app.handler` for awslambdaric).
    #[arg(long, default_value = lambda::DEFAULT_HANDLER)]
    pub handler: String,
    /// Asynchronous (`X-Amz-Invocation-Type: Event`) invocations: retries after a function
    /// error, one minute then two minutes apart (Lambda's `MaximumRetryAttempts`, 0–2).
    #[arg(long, default_value_t = lambda::DEFAULT_ASYNC_RETRIES)]
    pub max_retry_attempts: u32,
    /// Asynchronous invocations older than this are dropped (`MaximumEventAgeInSeconds`: 60s to 6h).
    #[arg(long, value_parser = HumanDuration::parse, default_value_t = HumanDuration(lambda::DEFAULT_MAX_EVENT_AGE))]
    pub max_event_age: HumanDuration,
    /// The function's command (default: the bundled demo function in Lambda mode).
    #[arg(long, num_args = 1.., allow_hyphen_values = true, value_name = "CMD")]
    pub function: Vec<String>,
}

#[derive(Debug, Args)]
pub struct FunctionArgs {
    /// How the function is served.
    #[arg(long, value_enum, default_value_t = FunctionMode::Http)]
    pub mode: FunctionMode,
    /// With `--mode web`: the web app's command, after `--`.
    #[arg(last = true, value_name = "APP")]
    pub app: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FunctionMode {
    /// An HTTP server on 127.0.0.1:$PORT serving many requests at once (the container model).
    Http,
    /// A Lambda custom runtime speaking the Runtime API at $AWS_LAMBDA_RUNTIME_API.
    Lambda,
    /// The web app after `--` as a Lambda function, behind a Lambda Web Adapter.
    Web,
}

fn parse_count(text: &str) -> Result<f64, String> {
    let t = text.trim().replace(['_', ','], "");
    let (number, scale) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1e3),
        Some('m' | 'M') => (&t[..t.len() - 1], 1e6),
        Some('b' | 'B') => (&t[..t.len() - 1], 1e9),
        _ => (t.as_str(), 1.0),
    };
    match number.parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 => Ok(n * scale),
        _ => Err(format!("not a count: {text:?} (write 150000, 150k or 5M)")),
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    HumanDuration::parse(text).map(|d| d.0)
}

fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        d if d.is_zero() => Err("must be longer than 0".into()),
        d => Ok(d),
    }
}

fn parse_at_least_one<N: std::str::FromStr + PartialOrd + From<u8>>(text: &str) -> Result<N, String> {
    match text.trim().parse::<N>() {
        Ok(n) if n >= N::from(1) => Ok(n),
        Ok(_) => Err("must be at least 1".into()),
        Err(_) => Err("must be a whole number, at least 1".into()),
    }
}

fn parse_repeat(text: &str) -> Result<u32, String> {
    match parse_at_least_one::<u32>(text)? {
        n if n <= 100 => Ok(n),
        _ => Err("must be at most 100 runs".into()),
    }
}

fn parse_positive_count(text: &str) -> Result<f64, String> {
    match parse_count(text)? {
        n if n > 0.0 => Ok(n),
        _ => Err("must be more than 0: a month without requests has nothing to price".into()),
    }
}

fn parse_memory_mb(text: &str) -> Result<u32, String> {
    let (min, max) = (lambda::MIN_MEMORY_MB, lambda::MAX_MEMORY_MB);
    match text.trim().parse::<u32>() {
        Ok(mb) if (min..=max).contains(&mb) => Ok(mb),
        _ => Err(format!("must be a whole number of MB from {min} to {max}, as Lambda's memory sizes")),
    }
}
