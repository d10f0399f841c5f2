//! The local function runtime with real processes: the bundled demo function (built on the
//! official `lambda_runtime` crate) and hand-driven Runtime API clients.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use coldbench::function::DemoFunction;
use coldbench::gateway::Gateway;
use coldbench::lambda::PlatformOverhead;
use coldbench::metrics::{BillingRecord, InvocationOutcome, RecordLog};
use coldbench::policy::KeepAlive;
use coldbench::runtime::{FunctionConfig, FunctionRuntime};
use common::*;

struct Harness {
    runtime: FunctionRuntime,
    gateway: Gateway,
    tag: String,
    records: Arc<Records>,
}

/// The billing records the runtime streamed, in order.
#[derive(Default)]
struct Records(std::sync::Mutex<Vec<BillingRecord>>);

impl RecordLog for Records {
    fn record(&self, _target: &str, record: &BillingRecord) {
        self.0.lock().unwrap().push(record.clone());
    }
}

impl Harness {
    async fn start(configure: impl FnOnce(&mut FunctionConfig)) -> Self {
        let (tag_key, tag_value) = unique_tag();
        let demo = DemoFunction::new(env!("CARGO_BIN_EXE_coldbench"));
        let mut config = FunctionConfig::new("fn", demo.lambda_command())
            .timeout(Duration::from_secs(2))
            .env(tag_key.clone(), tag_value.clone());
        let records = Arc::new(Records::default());
        config.records = Some(records.clone());
        configure(&mut config);
        let runtime = FunctionRuntime::start(config).await.unwrap();
        let gateway = Gateway::start(Arc::new(runtime.clone())).await.unwrap();
        Self { runtime, gateway, tag: format!("{tag_key}={tag_value}"), records }
    }

    /// The user invocations' billing records so far.
    async fn records(&self) -> Vec<BillingRecord> {
        // Invocations end at the runtime's next `/next`, after their answers.
        self.runtime.settled().await;
        self.records.0.lock().unwrap().clone()
    }

    fn url(&self) -> String {
        format!("{}2015-03-31/functions/fn/invocations", self.gateway.url())
    }

    async fn invoke(&self, work: &str) -> Reply {
        // Back only once the last invocation has ended (its runtime called `/next`), as a caller
        // a network away from Lambda always is: the tests here are about what follows, not that race.
        self.runtime.settled().await;
        send("POST", &self.url(), &[("content-type", "application/json")], work.to_string()).await
    }

    fn processes(&self) -> Vec<u32> {
        processes_with_env(&self.tag)
    }

    /// Stops everything and checks that no function process is left.
    async fn stop(self) {
        self.gateway.stop().await;
        self.runtime.stop();
        let tag = self.tag.clone();
        wait_until("function processes to exit", || processes_with_env(&tag).is_empty()).await;
    }
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..250 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

const SLEEP_5MS: &str = r#"{"kind":"sleep","duration":"5ms"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_requests_reuse_one_instance_and_concurrent_ones_start_more() {
    let h = Harness::start(|_| {}).await;
    let first = h.invoke(SLEEP_5MS).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("x-coldbench-cold"), "true");
    assert!(first.header("x-coldbench-init-ms").parse::<f64>().unwrap() > 0.0);
    for _ in 0..3 {
        let r = h.invoke(SLEEP_5MS).await;
        assert_eq!(r.header("x-coldbench-cold"), "false");
        assert_eq!(r.header("x-coldbench-instance"), first.header("x-coldbench-instance"));
    }
    // Four at once: one instance is warm, so three more start, each counted cold once.
    let slow = r#"{"kind":"sleep","duration":"300ms"}"#;
    let replies = futures_join(4, || h.invoke(slow)).await;
    let cold = replies.iter().filter(|r| r.header("x-coldbench-cold") == "true").count();
    let instances: std::collections::HashSet<_> = replies.iter().map(|r| r.header("x-coldbench-instance")).collect();
    assert_eq!((cold, instances.len()), (3, 4));
    let records = h.records().await;
    assert_eq!(records.iter().filter(|r| r.cold).count(), 4, "every instance is cold exactly once");
    assert!(records.iter().all(|r| r.outcome == InvocationOutcome::Success));
    assert_eq!(h.runtime.stats().instances_started, 4);
    assert_eq!(h.processes().len(), 4);
    h.stop().await;
}

/// Runs `n` copies of a future concurrently.
async fn futures_join<F, Fut>(n: usize, make: F) -> Vec<Reply>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    let futures: Vec<_> = (0..n).map(|_| Box::pin(make())).collect();
    let mut out = Vec::new();
    let mut pending = futures;
    // Poll all together: a tiny join_all.
    std::future::poll_fn(|cx| {
        let mut i = 0;
        while i < pending.len() {
            if let std::task::Poll::Ready(r) = pending[i].as_mut().poll(cx) {
                out.push(r);
                drop(pending.swap_remove(i));
            } else {
                i += 1;
            }
        }
        if pending.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_errors_keep_the_instance_warm_and_panics_are_reported_as_the_crate_does() {
    let h = Harness::start(|_| {}).await;
    let error = h.invoke(r#"{"kind":"fail","message":"handler failed on purpose"}"#).await;
    assert_eq!(error.status, 200);
    assert_eq!(error.header("x-amz-function-error"), "Unhandled");
    assert!(error.text().contains("\"errorMessage\":\"handler failed on purpose\""), "{}", error.text());
    let panic = h.invoke(r#"{"kind":"panic","message":"boom"}"#).await;
    assert_eq!(panic.header("x-amz-function-error"), "Unhandled");
    assert!(panic.text().contains("Lambda panicked: boom"), "{}", panic.text());
    assert_eq!(panic.header("x-coldbench-cold"), "false", "the instance survived the handler error");
    let after = h.invoke(SLEEP_5MS).await;
    assert_eq!((after.status, after.header("x-coldbench-cold").as_str()), (200, "false"));
    assert_eq!(h.runtime.stats().instances_started, 1);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_mid_invocation_is_runtime_exit_error_and_the_next_invocation_is_cold() {
    let h = Harness::start(|_| {}).await;
    assert_eq!(h.invoke(SLEEP_5MS).await.status, 200);
    let crash = h.invoke(r#"{"kind":"exit","code":3}"#).await;
    assert_eq!(crash.header("x-amz-function-error"), "Unhandled");
    let body: serde_json::Value = serde_json::from_slice(&crash.body).unwrap();
    assert_eq!(body["errorType"], "Runtime.ExitError");
    let message = body["errorMessage"].as_str().unwrap();
    assert!(message.starts_with("RequestId: ") && message.ends_with("Error: Runtime exited with error: exit status 3"));
    let next = h.invoke(SLEEP_5MS).await;
    assert_eq!((next.status, next.header("x-coldbench-cold").as_str()), (200, "true"));
    assert_eq!(h.records().await[1].outcome, InvocationOutcome::Crash);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hang_past_the_timeout_kills_the_process_and_answers_the_timeout_error() {
    let h = Harness::start(|c| c.timeout = Duration::from_millis(500)).await;
    assert_eq!(h.invoke(SLEEP_5MS).await.status, 200);
    let before = h.processes();
    assert_eq!(before.len(), 1);
    let hang = h.invoke(r#"{"kind":"sleep","duration":"30s"}"#).await;
    let body: serde_json::Value = serde_json::from_slice(&hang.body).unwrap();
    assert_eq!(body["errorType"], "Sandbox.Timedout");
    assert!(body["errorMessage"].as_str().unwrap().ends_with("Error: Task timed out after 0.50 seconds"));
    wait_until("the timed-out process to be gone", || !std::path::Path::new(&format!("/proc/{}", before[0])).exists())
        .await;
    let next = h.invoke(SLEEP_5MS).await;
    assert_eq!(next.header("x-coldbench-cold"), "true");
    let timeout_record = &h.records().await[1];
    assert_eq!(timeout_record.outcome, InvocationOutcome::Timeout);
    assert_eq!(timeout_record.billed_ms, 500);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_errors_reach_the_caller() {
    let h = Harness::start(|c| c.env.push(("COLDBENCH_INIT_ERROR".into(), "config missing".into()))).await;
    let r = h.invoke(SLEEP_5MS).await;
    assert_eq!((r.status, r.header("x-amz-function-error").as_str()), (200, "Unhandled"));
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["errorType"], "Runtime.InitError");
    assert_eq!(body["errorMessage"], "config missing");
    assert_eq!(h.records().await[0].outcome, InvocationOutcome::InitError);
    h.stop().await;

    let h = Harness::start(|c| c.env.push(("COLDBENCH_INIT_EXIT".into(), "4".into()))).await;
    let r = h.invoke(SLEEP_5MS).await;
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["errorType"], "Runtime.ExitError");
    assert!(body["errorMessage"].as_str().unwrap().ends_with("exit status 4"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_concurrency_cap_throttles_exactly_the_excess() {
    let h = Harness::start(|c| c.pool.max_concurrency = 2).await;
    let replies = futures_join(5, || h.invoke(r#"{"kind":"sleep","duration":"400ms"}"#)).await;
    let throttled: Vec<_> = replies.iter().filter(|r| r.status == 429).collect();
    assert_eq!(throttled.len(), 3);
    assert_eq!(replies.iter().filter(|r| r.status == 200).count(), 2);
    let t = throttled[0];
    assert_eq!(t.header("x-amzn-errortype"), "TooManyRequestsException");
    assert_eq!(t.text(), r#"{"Reason":"ConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}"#);
    assert_eq!(h.runtime.stats().throttled, 3);
    assert_eq!(h.records().await.iter().filter(|r| r.outcome == InvocationOutcome::Throttled).count(), 3);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_decides_between_warm_and_cold() {
    let h = Harness::start(|c| c.pool.keep_alive = KeepAlive::Fixed { idle: Duration::from_millis(600) }).await;
    assert_eq!(h.invoke(SLEEP_5MS).await.header("x-coldbench-cold"), "true");
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(h.invoke(SLEEP_5MS).await.header("x-coldbench-cold"), "false", "shorter than keep-alive: warm");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(h.invoke(SLEEP_5MS).await.header("x-coldbench-cold"), "true", "longer than keep-alive: cold");
    assert_eq!(h.runtime.stats().evicted_idle, 1);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioned_instances_serve_without_cold_starts() {
    let h = Harness::start(|c| c.pool.provisioned = 2).await;
    assert_eq!(h.processes().len(), 2, "provisioned instances start before traffic");
    let replies = futures_join(2, || h.invoke(r#"{"kind":"sleep","duration":"200ms"}"#)).await;
    assert!(replies.iter().all(|r| r.status == 200 && r.header("x-coldbench-cold") == "false"));
    let records = h.records().await;
    assert!(records.iter().all(|r| r.provisioned && !r.cold && r.init_ms.is_none()));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_url_front_maps_http_to_payload_2_and_back() {
    let h = Harness::start(|_| {}).await;
    let url = format!("{}orders/42?tag=a", h.gateway.url());
    let r = send("POST", &url, &[("content-type", "application/json")], r#"{"kind":"echo"}"#).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.text(), r#"{"kind":"echo"}"#);
    let failed = send("POST", &url, &[], r#"{"kind":"fail"}"#).await;
    assert_eq!(failed.status, 502);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn billing_records_have_lambdas_rounding_and_memory() {
    let h = Harness::start(|c| c.memory_mb = 256).await;
    h.invoke(SLEEP_5MS).await;
    h.invoke(SLEEP_5MS).await;
    let records = h.records().await;
    let (cold, warm) = (&records[0], &records[1]);
    let init = cold.init_ms.unwrap();
    // Billed = Init + Duration on a cold start, rounded up to the next millisecond.
    let exact = init + cold.duration_ms;
    assert!((cold.billed_ms as f64) >= exact - 1e-6 && (cold.billed_ms as f64) < exact + 1.0, "{cold:?}");
    assert!((warm.billed_ms as f64) >= warm.duration_ms - 1e-6 && (warm.billed_ms as f64) < warm.duration_ms + 1.0);
    assert!(warm.duration_ms >= 5.0);
    assert_eq!(warm.memory_mb, 256);
    assert!(warm.max_memory_used_mb > 1, "peak RSS is read from /proc");
    h.stop().await;
}

/// A "custom runtime" that only publishes its environment, so the test can speak the Runtime API.
async fn hand_driven(dir: &std::path::Path) -> (Harness, String) {
    let env_file = dir.join("env");
    let script = format!("env > {0}.tmp && mv {0}.tmp {0} && exec sleep 60", env_file.display());
    let h = Harness::start(|c| c.command = vec!["sh".into(), "-c".into(), script]).await;
    (h, env_file.display().to_string())
}

async fn read_env(path: &str) -> std::collections::BTreeMap<String, String> {
    wait_until("the runtime's environment", || std::path::Path::new(path).exists()).await;
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Calls `/next` by hand, and once the instance is idle again (it is busy until that call, as on
/// Lambda) sends it an invocation: the event `/next` got, and the caller's answer to come.
async fn next_then_invoke(h: &Harness, api: &str) -> (Reply, tokio::task::JoinHandle<Reply>) {
    let next_url = format!("{api}/invocation/next");
    let next = tokio::spawn(async move { send("GET", &next_url, &[], "").await });
    wait_until("the instance to be idle", || h.runtime.idle() == 1).await;
    let url = h.url();
    let caller = tokio::spawn(async move { send("POST", &url, &[], "{}".to_string()).await });
    (next.await.unwrap(), caller)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_api_answers_protocol_errors_with_the_reference_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let (h, env_path) = hand_driven(dir.path()).await;
    let url = h.url();
    let first = tokio::spawn(async move { send("POST", &url, &[], r#"{"n":1}"#.to_string()).await });
    let env = read_env(&env_path).await;
    let api = format!("http://{}/2018-06-01/runtime", env["AWS_LAMBDA_RUNTIME_API"]);

    let next = send("GET", &format!("{api}/invocation/next"), &[], "").await;
    assert_eq!(next.status, 200);
    assert_eq!(next.text(), r#"{"n":1}"#);
    let id = next.header("lambda-runtime-aws-request-id");
    let deadline: u128 = next.header("lambda-runtime-deadline-ms").parse().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    assert!(deadline > now && deadline <= now + 2_000, "deadline = now + the 2 s timeout");
    assert_eq!(next.header("lambda-runtime-invoked-function-arn"), "arn:aws:lambda:us-east-1:000000000000:function:fn");
    assert!(next.header("lambda-runtime-trace-id").starts_with("Root=1-"));

    let wrong = send("POST", &format!("{api}/invocation/not-the-id/response"), &[], "{}").await;
    assert_eq!(
        (wrong.status, wrong.text().as_str()),
        (400, r#"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#)
    );
    let ok = send("POST", &format!("{api}/invocation/{id}/response"), &[("content-type", "text/plain")], "done").await;
    assert_eq!((ok.status, ok.text().as_str()), (202, "{\"status\":\"OK\"}\n"));
    let again = send("POST", &format!("{api}/invocation/{id}/response"), &[], "again").await;
    assert_eq!(again.status, 403);
    assert_eq!(
        again.text(),
        r#"{"errorMessage":"State transition from ResponseSent to InvocationResponse failed for runtime. Error: State transition is not allowed","errorType":"InvalidStateTransition"}"#
    );
    let caller = first.await.unwrap();
    assert_eq!(
        (caller.status, caller.text().as_str(), caller.header("content-type").as_str()),
        (200, "done", "text/plain")
    );

    let late_init_error = send("POST", &format!("{api}/init/error"), &[], "{}").await;
    assert_eq!(late_init_error.status, 403);

    let (next, second) = next_then_invoke(&h, &api).await;
    let id = next.header("lambda-runtime-aws-request-id");
    let oversize = vec![b'x'; 6 * 1024 * 1024 + 101];
    let too_large = send("POST", &format!("{api}/invocation/{id}/response"), &[], oversize).await;
    assert_eq!(too_large.status, 413);
    assert_eq!(
        too_large.text(),
        r#"{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}"#
    );
    let caller = second.await.unwrap();
    assert_eq!(caller.header("x-amz-function-error"), "Unhandled");
    let oversize_caller_body = caller.text();

    // A chunked (streamed) response is read whole and returned as one body.
    let (next, third) = next_then_invoke(&h, &api).await;
    let id = next.header("lambda-runtime-aws-request-id");
    let raw = format!(
        "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
         6\r\nHello \r\n6\r\nworld!\r\n0\r\n\r\n"
    );
    let mut stream = tokio::net::TcpStream::connect(env["AWS_LAMBDA_RUNTIME_API"].as_str()).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stream, raw.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 1024];
    let n = tokio::io::AsyncReadExt::read(&mut stream, &mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 202"));
    assert_eq!(third.await.unwrap().text(), "Hello world!");
    assert_eq!(
        oversize_caller_body,
        r#"{"errorType":"Function.ResponseSizeTooLarge","errorMessage":"Response payload size (6291557 bytes) exceeded maximum allowed payload size (6291556 bytes)."}"#
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_get_lambdas_environment_and_nothing_of_the_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let (h, env_path) = hand_driven(dir.path()).await;
    let url = h.url();
    let pending = tokio::spawn(async move { send("POST", &url, &[], "{}".to_string()).await });
    let env = read_env(&env_path).await;
    for name in [
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "_HANDLER",
        "AWS_REGION",
        "TZ",
        "LAMBDA_TASK_ROOT",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "PATH",
    ] {
        assert!(env.contains_key(name), "{name} missing from {env:?}");
    }
    assert!(!env["AWS_LAMBDA_RUNTIME_API"].contains("://"), "host:port without a scheme");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128");
    assert_eq!(env["AWS_LAMBDA_INITIALIZATION_TYPE"], "on-demand");
    assert_eq!(env["_HANDLER"], "handler", "Lambda's default handler when none is given");
    // `2026/12/02/[$LATEST]<32 hex>`, as Lambda names an environment's log stream.
    let stream = &env["AWS_LAMBDA_LOG_STREAM_NAME"];
    let (date, id) = stream.split_once("/[$LATEST]").unwrap_or_else(|| panic!("{stream}"));
    assert!(date.len() == 10 && date.split('/').count() == 3, "{stream}");
    assert!(id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()), "{stream}");
    assert!(!env.contains_key("AWS_LAMBDA_MAX_CONCURRENCY"));
    let leaked: Vec<_> =
        env.keys().filter(|k| k.starts_with("CARGO") || *k == "HOME" || *k == "RUST_BACKTRACE").collect();
    assert!(leaked.is_empty(), "host variables leaked: {leaked:?}");
    pending.abort();
    h.stop().await;
}

/// The function's log lines, as a test collects them.
type Lines = Arc<std::sync::Mutex<Vec<String>>>;

/// A harness running a tutorial-style shell `bootstrap` (curl, as AWS's custom-runtime tutorial
/// writes it) as the function, its log collected: `init` runs once, then `handle` for each
/// event, with `$ID`, `$EVENT` and `$HEADERS` (a file of `/next`'s headers) set and `respond BODY`
/// to post the response. `None` (skipped, with the reason printed) without curl.
async fn shell_runtime(
    init: &str,
    handle: &str,
    configure: impl FnOnce(&mut FunctionConfig),
) -> Option<(Harness, Lines)> {
    if std::process::Command::new("curl").arg("--version").output().is_err() {
        eprintln!("skipped: curl is not installed (the shell bootstrap needs it)");
        return None;
    }
    let bootstrap = format!(
        r#"
API="http://${{AWS_LAMBDA_RUNTIME_API}}/2018-06-01/runtime"
respond() {{ curl -sS -X POST "$API/invocation/$ID/response" -d "$1" > /dev/null; }}
{init}
while true; do
  HEADERS="$(mktemp)"
  EVENT=$(curl -sS -LD "$HEADERS" "$API/invocation/next")
  ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  {handle}
  rm -f "$HEADERS"
done
"#
    );
    let lines: Lines = Arc::default();
    let sink = Arc::clone(&lines);
    let h = Harness::start(move |c| {
        c.command = vec!["sh".into(), "-c".into(), bootstrap];
        c.log = Some(Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_string())));
        configure(c);
    })
    .await;
    Some((h, lines))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_that_is_not_utf8_does_not_break_the_function_and_its_later_lines_arrive() {
    let Some((h, lines)) = shell_runtime(
        r"printf 'caf\351 at init\n'",
        r#"printf 'handled %s caf\351\n' $ID; respond '{"ok":true}'"#,
        |_| {},
    )
    .await
    else {
        return;
    };
    for n in 0..5 {
        let reply = h.invoke("{}").await;
        assert_eq!((reply.status, reply.text().as_str()), (200, r#"{"ok":true}"#), "invocation {n}");
    }
    let handled =
        || lines.lock().unwrap().iter().filter(|l| l.starts_with("handled ") && l.ends_with("caf\u{fffd}")).count();
    wait_until("every handled line in the log", || handled() == 5).await;
    assert!(lines.lock().unwrap().iter().any(|l| l == "caf\u{fffd} at init"), "{:?}", lines.lock().unwrap());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_chunked_body_gets_413_as_soon_as_it_passes_the_limit() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = Harness::start(|_| {}).await;
    let url = h.url();
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!("POST {path} HTTP/1.1\r\nhost: {host}\r\ntransfer-encoding: chunked\r\n\r\n");
    writer.write_all(head.as_bytes()).await.unwrap();
    // Send 1 MiB chunks without end while the answer is awaited.
    let sender = tokio::spawn(async move {
        let chunk = format!("{:x}\r\n{}\r\n", 1 << 20, "x".repeat(1 << 20));
        let mut sent = 0u32;
        while sent < 500 && writer.write_all(chunk.as_bytes()).await.is_ok() {
            sent += 1;
        }
        sent
    });
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(30), reader.read(&mut answer)).await.unwrap().unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("RequestEntityTooLargeException"), "{answer}");
    let sent = tokio::time::timeout(Duration::from_secs(30), sender).await.unwrap().unwrap();
    // The gateway stopped reading at 6 MB; the client could only push what the socket buffers
    // held beyond that before the connection closed, nowhere near the 500 MiB it tried.
    assert!(sent < 100, "the gateway kept reading: {sent} MiB accepted");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_sums_its_invocations_and_streams_their_records() {
    #[derive(Default)]
    struct Ids(std::sync::Mutex<Vec<String>>);
    impl RecordLog for Ids {
        fn record(&self, target: &str, record: &BillingRecord) {
            self.0.lock().unwrap().push(format!("{target}/{}", record.request_id));
        }
    }
    let ids = Arc::new(Ids::default());
    let log: Arc<dyn RecordLog> = ids.clone();
    let h = Harness::start(move |c| c.records = Some(log)).await;
    for _ in 0..3 {
        assert_eq!(h.invoke(SLEEP_5MS).await.status, 200);
    }
    h.runtime.settled().await;
    let summary = h.runtime.summary();
    assert_eq!((summary.invocations, summary.cold, summary.duration_us.len()), (3, 1, 3));
    let ids = ids.0.lock().unwrap().clone();
    assert_eq!(ids.len(), 3, "each record went to the log as it was made");
    assert!(ids.iter().all(|id| id.starts_with("fn/")), "{ids:?}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_start_waits_for_the_platform_before_init_and_is_not_billed_for_it() {
    let overhead = Duration::from_millis(300);
    let h = Harness::start(|c| c.pool.platform_overhead = coldbench::lambda::PlatformOverhead::Fixed(overhead)).await;
    let started = std::time::Instant::now();
    let cold = h.invoke(r#"{"kind":"sleep","duration":"5ms"}"#).await;
    let latency = started.elapsed();
    assert_eq!(cold.status, 200, "{}", cold.text());
    let warm = h.invoke(r#"{"kind":"sleep","duration":"5ms"}"#).await;
    assert_eq!(warm.status, 200);
    let records = h.records().await;
    let first = &records[0];
    assert!(first.cold && !records[1].cold, "{records:?}");
    let init = Duration::from_secs_f64(first.init_ms.unwrap() / 1e3);
    let duration = Duration::from_secs_f64(first.duration_ms / 1e3);
    // The caller waited for the platform on top of Init and the work (5 ms); neither counts it.
    // (Not the whole Duration: it runs on to the runtime's next `/next`, after the answer.)
    let work = Duration::from_millis(5);
    assert!(latency >= overhead + init + work, "{latency:?} < {overhead:?} + {init:?} + {work:?}");
    assert!(u128::from(first.billed_ms) <= (init + duration).as_millis() + 1, "{first:?}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_dies_while_idle_is_discarded_and_the_next_invocation_starts_cold() {
    let Some((h, lines)) = shell_runtime("", r#"respond '{"ok":true}'; exit 0"#, no_platform_time).await else {
        return;
    };
    // Each instance serves one invocation and exits: back to back (the next one may find it
    // still exiting) and after it is surely gone, every caller gets its answer.
    for n in 0..4 {
        let reply = h.invoke("{}").await;
        assert_eq!((reply.status, reply.text().as_str()), (200, r#"{"ok":true}"#), "invocation {n}");
        if n == 1 {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    let records = h.records().await;
    assert!(records.iter().all(|r| r.cold && r.outcome == InvocationOutcome::Success), "{records:?}");
    let stats = h.runtime.stats();
    assert_eq!(stats.instances_started, 4, "{stats:?}");
    assert!(stats.died_idle >= 3, "three idle deaths were noticed at least: {stats:?}");
    assert!(
        lines.lock().unwrap().iter().any(|l| l.contains("exited while idle (exit status 0)")),
        "{:?}",
        lines.lock().unwrap()
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_after_the_response_is_billed_and_a_request_in_that_gap_goes_elsewhere() {
    let Some((h, _lines)) = shell_runtime("", r#"respond '{"ok":true}'; sleep 0.6"#, no_platform_time).await else {
        return;
    };
    let first = h.invoke("{}").await;
    assert_eq!((first.status, first.text().as_str()), (200, r#"{"ok":true}"#));
    let answered_ms: f64 = first.header("x-coldbench-duration-ms").parse().unwrap();
    // Straight after the answer, while the first instance still works: not queued behind it.
    let second = send("POST", &h.url(), &[], "{}".to_string()).await;
    assert_eq!(second.status, 200, "{}", second.text());
    assert_eq!(second.header("x-coldbench-cold"), "true", "a second instance served it");
    assert_ne!(second.header("x-coldbench-instance"), first.header("x-coldbench-instance"));
    let records = h.records().await;
    assert_eq!(records.len(), 2, "{records:?}");
    let first_instance = first.header("x-coldbench-instance");
    let whole = records.iter().find(|r| r.instance.as_deref() == Some(first_instance.as_str())).unwrap();
    assert!(answered_ms < 600.0, "the caller got its answer before the work after it: {answered_ms} ms");
    assert!(whole.duration_ms >= 600.0, "Duration runs until /next: {whole:?}");
    assert!(whole.billed_ms as f64 >= whole.duration_ms + whole.init_ms.unwrap_or(0.0), "billed: {whole:?}");
    let stats = h.runtime.stats();
    assert_eq!((stats.instances_started, stats.cold_while_finishing), (2, 1), "{stats:?}");
    // Once it has called `/next`, the first instance is idle and warm again.
    let third = h.invoke("{}").await;
    assert_eq!(third.header("x-coldbench-cold"), "false");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_instance_is_frozen_and_thawed_for_its_next_invocation() {
    let short_keep_alive =
        |c: &mut FunctionConfig| c.pool.keep_alive = KeepAlive::Fixed { idle: Duration::from_millis(1_500) };
    let Some((h, lines)) = shell_runtime(
        "( while true; do echo tick; sleep 0.02; done ) &",
        r#"sleep 0.3; respond '{"ok":true}'"#,
        short_keep_alive,
    )
    .await
    else {
        return;
    };
    let ticks = || lines.lock().unwrap().iter().filter(|l| *l == "tick").count();
    assert_eq!(h.invoke("{}").await.status, 200);
    h.runtime.settled().await;
    // Idle: the ticker is frozen with the rest of the instance (a tick already in the pipe may
    // still arrive).
    tokio::time::sleep(Duration::from_millis(100)).await;
    let idle_from = ticks();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(ticks(), idle_from, "no tick while idle");
    // Thawed for the next invocation: the ticker runs during its 300 ms.
    let warm = h.invoke("{}").await;
    assert_eq!((warm.status, warm.header("x-coldbench-cold").as_str()), (200, "false"));
    assert!(ticks() > idle_from + 3, "the ticker ran again while the instance worked: {} → {}", idle_from, ticks());
    // Keep-alive still evicts a frozen instance, and nothing of it is left.
    wait_until("the frozen instance to be evicted", || h.runtime.alive() == 0).await;
    assert_eq!(h.runtime.stats().evicted_idle, 1);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_limit_is_6_291_456_bytes_and_every_answer_names_its_request() {
    let h = Harness::start(|_| {}).await;
    let at_limit = format!("\"{}\"", "x".repeat(6_291_456 - 2));
    let fine = send("POST", &h.url(), &[], at_limit).await;
    assert_eq!(fine.status, 200, "{}", fine.text());
    let over = send("POST", &h.url(), &[], "x".repeat(6_291_457)).await;
    assert_eq!(over.status, 413);
    assert!(over.text().contains("smaller than 6291456 bytes"), "{}", over.text());
    for answer in [&fine, &over] {
        let id = answer.header("x-amzn-requestid");
        assert_eq!((id.len(), &id[14..15]), (36, "4"), "a UUID v4 request id: {id:?}");
    }
    assert_eq!(h.records().await[0].request_id, fine.header("x-amzn-requestid"), "the invocation's own id");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_init_is_logged_with_init_start_and_init_report_lines() {
    let Some((h, lines)) =
        shell_runtime("echo starting; exit 3", "", |c| c.init_timeout = Duration::from_millis(300)).await
    else {
        return;
    };
    let reply = h.invoke("{}").await;
    assert_eq!(reply.header("x-amz-function-error"), "Unhandled", "{}", reply.text());
    let lines = lines.lock().unwrap().clone();
    assert!(lines[0].starts_with("INIT_START Runtime Version: "), "{lines:?}");
    let report = lines.iter().find(|l| l.starts_with("INIT_REPORT Init Duration: ")).expect("an INIT_REPORT line");
    assert!(report.ends_with("ms\tPhase: init\tStatus: error\tError Type: Runtime.ExitError"), "{report:?}");
    h.stop().await;
}

fn no_platform_time(c: &mut FunctionConfig) {
    c.pool.platform_overhead = PlatformOverhead::Fixed(Duration::ZERO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_init_past_its_limit_is_retried_inside_the_first_invocation() {
    // A 2 s Init against a 1 s limit: reset at 1 s, retried under the 3 s function timeout,
    // ready 2 s later. The caller waits both; the invocation's Duration holds the retry.
    let slow_init = |c: &mut FunctionConfig| {
        no_platform_time(c);
        c.init_timeout = Duration::from_secs(1);
        c.timeout = Duration::from_secs(3);
    };
    let Some((h, lines)) = shell_runtime("sleep 2", r#"respond '{"ok":true}'"#, slow_init).await else { return };
    let sent = Instant::now();
    let reply = h.invoke("{}").await;
    let waited = sent.elapsed();
    assert_eq!((reply.status, reply.text().as_str()), (200, r#"{"ok":true}"#));
    assert_eq!(reply.header("x-coldbench-cold"), "true");
    assert!(waited >= Duration::from_secs(3), "1 s of Init, then 2 s of the retry: {waited:?}");
    let record = &h.records().await[0];
    assert!(record.cold && record.init_ms.is_none(), "the retry is the invocation's: {record:?}");
    assert!(record.duration_ms >= 2_000.0 && record.billed_ms >= 2_000, "{record:?}");
    let lines = lines.lock().unwrap().clone();
    let platform: Vec<&str> =
        lines.iter().map(String::as_str).filter(|l| l.starts_with("INIT_") || l.starts_with("START")).collect();
    assert_eq!(platform.len(), 3, "one INIT_START, the timed-out Init, the START: {lines:?}");
    assert!(platform[1].ends_with("ms\tPhase: init\tStatus: timeout"), "{platform:?}");
    let report = lines.iter().find(|l| l.starts_with("REPORT")).unwrap();
    assert!(!report.contains("Init Duration"), "{report}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_that_never_calls_next_is_retried_then_times_out_with_lambdas_message() {
    let limits = |c: &mut FunctionConfig| {
        no_platform_time(c);
        c.init_timeout = Duration::from_millis(300);
        c.timeout = Duration::from_secs(1);
    };
    let Some((h, lines)) = shell_runtime("exec sleep 60", "", limits).await else { return };
    let sent = Instant::now();
    let reply = h.invoke("{}").await;
    assert!(sent.elapsed() >= Duration::from_millis(1_300), "the Init limit, then the function timeout");
    assert_eq!(reply.header("x-amz-function-error"), "Unhandled");
    let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(body["errorType"], "Sandbox.Timedout");
    let message = body["errorMessage"].as_str().unwrap();
    assert!(message.ends_with("Error: Task timed out after 1.00 seconds"), "{message}");
    let record = &h.records().await[0];
    assert_eq!((record.outcome, record.billed_ms), (InvocationOutcome::Timeout, 1_000), "{record:?}");
    let lines = lines.lock().unwrap().clone();
    let reports: Vec<&String> = lines.iter().filter(|l| l.starts_with("INIT_REPORT")).collect();
    assert_eq!(reports.len(), 2, "{lines:?}");
    assert!(reports[0].ends_with("ms\tPhase: init\tStatus: timeout"), "{reports:?}");
    assert!(reports[1].ends_with("ms\tPhase: invoke\tStatus: timeout"), "{reports:?}");
    assert!(lines.iter().any(|l| l.ends_with("Task timed out after 1.00 seconds")), "{lines:?}");
    let failure = h.runtime.init_failure().unwrap_or_default();
    assert!(failure.contains("nor when Init was retried"), "{failure}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callers_trace_id_reaches_the_runtime() {
    let handle = r#"grep -Fi Lambda-Runtime-Trace-Id "$HEADERS" | tr -d '\r'; respond '{"ok":true}'"#;
    let Some((h, lines)) = shell_runtime("", handle, |_| {}).await else { return };
    let trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    h.runtime.settled().await;
    assert_eq!(send("POST", &h.url(), &[("x-amzn-trace-id", trace)], "{}".to_string()).await.status, 200);
    h.runtime.settled().await;
    let url = format!("{}any/path", h.gateway.url());
    assert_eq!(send("GET", &url, &[("x-amzn-trace-id", trace)], String::new()).await.status, 200);
    // Without one, a trace is started, as Lambda does.
    assert_eq!(h.invoke("{}").await.status, 200);
    let seen = || {
        lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| l.strip_prefix("lambda-runtime-trace-id: "))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    wait_until("three traced events", || seen().len() == 3).await;
    let seen = seen();
    assert_eq!(&seen[..2], &[trace, trace]);
    assert!(seen[2].starts_with("Root=1-") && seen[2] != trace, "{seen:?}");
    h.stop().await;
}

const FAIL: &str = r#"{"kind":"fail","message":"failed on purpose"}"#;

async fn event(h: &Harness, body: &str) -> Reply {
    send("POST", &h.url(), &[("x-amz-invocation-type", "Event")], body.to_string()).await
}

/// Waits (at most 60 s of real time) until every accepted event is done.
async fn drain(h: &Harness) {
    let cancel = tokio_util::sync::CancellationToken::new();
    tokio::time::timeout(Duration::from_secs(60), h.runtime.drain_events(&cancel))
        .await
        .expect("the event queue drains");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_is_accepted_with_202_at_once_and_a_failing_one_is_retried_twice_a_minute_then_two_apart() {
    // Retries come minutes apart: the fast-forwarded clock skips the wait, as a run's would.
    let clock = coldbench::time::Clock::fast_forward();
    let h = Harness::start(|c| {
        no_platform_time(c);
        c.clock = clock.clone();
    })
    .await;
    let ok = event(&h, SLEEP_5MS).await;
    let failing = event(&h, FAIL).await;
    for accepted in [&ok, &failing] {
        assert_eq!((accepted.status, accepted.body.len()), (202, 0), "{}", accepted.text());
        assert_eq!(accepted.header("x-amzn-requestid").len(), 36);
    }
    drain(&h).await;
    let records = h.records().await;
    let attempts = |reply: &Reply| {
        let id = reply.header("x-amzn-requestid");
        records.iter().filter(|r| r.request_id == id).map(|r| r.outcome).collect::<Vec<_>>()
    };
    assert_eq!(attempts(&ok), [InvocationOutcome::Success]);
    assert_eq!(attempts(&failing), [InvocationOutcome::HandlerError; 3], "the first attempt and two retries");
    let skipped = clock.skipped().total;
    assert!(skipped >= Duration::from_secs(175) && skipped < Duration::from_secs(190), "1 min + 2 min: {skipped:?}");
    let events = h.runtime.events().expect("events were accepted");
    assert_eq!((events.accepted, events.succeeded, events.failed, events.retries), (2, 1, 1, 2));
    assert_eq!((events.expired, events.unfinished, events.requeued), (0, 0, 0));
    assert_eq!(events.end_to_end_us.len(), 2);
    assert!(events.end_to_end_us.max() >= 175_000_000, "the failed event ended after its second retry");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_older_than_its_maximum_age_is_dropped_instead_of_retried() {
    let clock = coldbench::time::Clock::fast_forward();
    let h = Harness::start(|c| {
        no_platform_time(c);
        c.clock = clock.clone();
        c.max_event_age = Duration::from_secs(60);
    })
    .await;
    assert_eq!(event(&h, FAIL).await.status, 202);
    drain(&h).await;
    // The first retry would come at 60 s: the event is that old by then, and dropped.
    assert_eq!(h.records().await.len(), 1);
    let events = h.runtime.events().unwrap();
    assert_eq!((events.failed, events.expired, events.retries, events.end_to_end_us.len()), (0, 1, 0, 0));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_payload_over_1_mb_is_refused_with_lambdas_message() {
    let h = Harness::start(|_| {}).await;
    let over = event(&h, &"x".repeat(1_048_577)).await;
    assert_eq!((over.status, over.header("x-amzn-errortype").as_str()), (413, "RequestEntityTooLargeException"));
    assert!(
        over.text().contains("1048577 byte payload is too large for the Event invocation type (limit 1048576 bytes)"),
        "{}",
        over.text()
    );
    assert!(h.runtime.events().is_none(), "nothing was queued");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_answers_204_and_starts_nothing() {
    let h = Harness::start(|_| {}).await;
    let dry = send("POST", &h.url(), &[("x-amz-invocation-type", "DryRun")], SLEEP_5MS.to_string()).await;
    assert_eq!((dry.status, dry.body.len()), (204, 0));
    assert_eq!(h.runtime.stats().instances_started, 0);
    assert!(h.processes().is_empty() && h.records().await.is_empty());
    let unknown = send("POST", &h.url(), &[("x-amz-invocation-type", "Async")], "{}".to_string()).await;
    assert_eq!((unknown.status, unknown.header("x-amzn-errortype").as_str()), (400, "ValidationException"));
    assert!(unknown.text().contains("Value 'Async' at 'invocationType'"), "{}", unknown.text());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_tail_is_the_base64_of_the_invocations_log_ending_in_its_report_line() {
    use base64::Engine;
    let handle = r#"echo "handling $ID"; respond '{"ok":true}'"#;
    let Some((h, _lines)) = shell_runtime("", handle, |_| {}).await else { return };
    let reply = send("POST", &h.url(), &[("x-amz-log-type", "Tail")], "{}".to_string()).await;
    assert_eq!((reply.status, reply.text().as_str()), (200, r#"{"ok":true}"#));
    let id = reply.header("x-amzn-requestid");
    let log = base64::engine::general_purpose::STANDARD.decode(reply.header("x-amz-log-result")).unwrap();
    let log = String::from_utf8(log).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.first().copied(), Some(format!("START RequestId: {id} Version: $LATEST").as_str()), "{log}");
    assert!(lines.contains(&format!("handling {id}").as_str()), "the function's own output: {log}");
    assert_eq!(lines[lines.len() - 2], format!("END RequestId: {id}"), "{log}");
    assert!(lines[lines.len() - 1].starts_with(&format!("REPORT RequestId: {id}\tDuration: ")), "{log}");
    // A second invocation's tail holds its own log only.
    let again = send("POST", &h.url(), &[("x-amz-log-type", "Tail")], "{}".to_string()).await;
    let log = base64::engine::general_purpose::STANDARD.decode(again.header("x-amz-log-result")).unwrap();
    assert!(!String::from_utf8(log).unwrap().contains(&id), "no line of the first invocation");
    // Without Tail, no header.
    assert!(send("POST", &h.url(), &[], "{}".to_string()).await.headers.get("x-amz-log-result").is_none());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_functions_and_qualifiers_are_404_and_latest_is_accepted_in_every_spelling() {
    let h = Harness::start(|_| {}).await;
    let base = h.gateway.url();
    // `name?query`: the qualifier goes in the query string, after the path.
    let at = |name: &str| {
        let (name, query) = name.split_once('?').map_or((name, String::new()), |(n, q)| (n, format!("?{q}")));
        format!("{base}2015-03-31/functions/{name}/invocations{query}")
    };
    for name in [
        "fn",
        "fn:$LATEST",
        "fn?Qualifier=%24LATEST",
        "arn:aws:lambda:us-east-1:000000000000:function:fn",
        "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Afn%3A%24LATEST",
        "123456789012:function:fn",
    ] {
        h.runtime.settled().await;
        let reply = send("POST", &at(name), &[], SLEEP_5MS.to_string()).await;
        assert_eq!(reply.status, 200, "{name}: {}", reply.text());
    }
    let cases = [
        (
            "nope",
            404,
            "ResourceNotFoundException",
            "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope",
        ),
        (
            "fn?Qualifier=1",
            404,
            "ResourceNotFoundException",
            "Function not found: arn:aws:lambda:us-east-1:000000000000:function:fn:1",
        ),
        ("fn:live", 404, "ResourceNotFoundException", "function:fn:live"),
        ("fn:1?Qualifier=2", 400, "InvalidParameterValueException", "does not match the specified qualifier"),
        ("a%20b", 400, "ValidationException", "at 'functionName' failed to satisfy constraint"),
    ];
    for (name, status, error_type, message) in cases {
        let reply = send("POST", &at(name), &[], "{}".to_string()).await;
        assert_eq!((reply.status, reply.header("x-amzn-errortype").as_str()), (status, error_type), "{name}");
        let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(body["Type"], "User");
        assert!(body["message"].as_str().unwrap().contains(message), "{name}: {body}");
        assert_eq!(reply.header("x-amzn-requestid").len(), 36, "{name}");
    }
    assert_eq!(h.runtime.summary().invocations, 6, "no refused request reached the function");
    h.stop().await;
}
