//! `coldbench run` against real processes: once end to end through the binary, the rest through
//! the library in process (the same pipeline, minus the terminal).

mod common;

use common::*;

#[test]
fn quickstart_completes_and_its_results_match_the_schema() {
    let out = tempfile::tempdir().unwrap();
    let workload = concat!(env!("CARGO_MANIFEST_DIR"), "/workloads/quickstart.toml");
    let output =
        coldbench().args(["run", workload, "--duration", "2s", "--quiet", "--out"]).arg(out.path()).output().unwrap();
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("latency p99"), "{stdout}");
    let results = results(out.path());
    assert_valid_results(&results);
    assert_counts_add_up(&results);
    let target = &results["targets"][0];
    assert_eq!(target["status"], "complete");
    assert!(target["measurement"]["requests"].as_u64().unwrap() > 50);
}

#[test]
fn container_target_accounts_for_every_request_across_its_instances() {
    let dir = tempfile::tempdir().unwrap();
    let (tag_key, tag_value) = unique_tag();
    let workload = write_workload(
        dir.path(),
        "steady.toml",
        &r#"
name = "accounting"
duration = "2s"
seed = 1
[traffic]
pattern = "constant"
rate = 200
[function]
work = { kind = "echo", payload_bytes = 64 }
[[targets]]
name = "box"
kind = "container"
instances = 3
env = { TAG_KEY = "TAG_VALUE" }
"#
        .replace("TAG_KEY", &tag_key)
        .replace("TAG_VALUE", &tag_value),
    );
    let out = dir.path().join("out");
    let results = run_json(&workload, None, &out);
    assert_counts_add_up(&results);
    let target = &results["targets"][0];
    let m = &target["measurement"];
    // A constant 200/s for 2 s is exactly 400 intended sends, every one ok.
    assert_eq!(m["requests"], 400);
    assert_eq!(m["outcomes"]["ok"], 400);
    assert_eq!(m["warm"], 400, "the gateway marks container responses warm");
    let instances = target["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 3);
    let served: u64 = instances.iter().map(|i| i["requests"].as_u64().unwrap()).sum();
    assert_eq!(served, 400);
    for instance in instances {
        let n = instance["requests"].as_u64().unwrap();
        assert!((133..=134).contains(&n), "round robin should split evenly, got {n}");
        assert!(instance["startup_ms"].as_f64().unwrap() > 0.0);
    }
    let tag = format!("{tag_key}={tag_value}");
    assert_eq!(processes_with_env(&tag), Vec::<u32>::new(), "instances outlived the run");
}

#[test]
fn quickstart_compares_function_and_container_and_shows_cold_starts() {
    let out = tempfile::tempdir().unwrap();
    let workload = concat!(env!("CARGO_MANIFEST_DIR"), "/workloads/quickstart.toml");
    let results = run_json(workload.as_ref(), Some(std::time::Duration::from_secs(3)), out.path());
    assert_counts_add_up(&results);
    let targets = results["targets"].as_array().unwrap();
    let kinds: Vec<&str> = targets.iter().map(|t| t["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["function", "container"]);
    let function = &targets[0];
    let m = &function["measurement"];
    let cold = m["cold"].as_u64().unwrap();
    assert!(cold >= 1, "the first request at least is a cold start");
    assert_eq!(cold + m["warm"].as_u64().unwrap(), m["outcomes"]["ok"].as_u64().unwrap());
    assert!(m["init"]["p50_us"].as_u64().unwrap() >= 150_000, "Init includes the workload's 150 ms delay");
    let invocations = &function["function"]["invocations"];
    assert_eq!(invocations["invocations"], m["requests"], "{invocations}");
    assert_eq!(invocations["cold"].as_u64(), Some(cold));
    // The host was watched: every cold start was a process coldbench started.
    assert!(function["host"]["spawns"].as_u64().unwrap() >= cold, "{}", function["host"]);
    assert_eq!(function["function"]["stats"]["instances_started"].as_u64().unwrap(), cold);
    // Cost projection: two always-on t3.micro at 730 h, and a function priced from its billing records.
    let costs = &results["analysis"]["targets"];
    let container_cost = costs[1]["cost"]["monthly"]["total"].as_f64().unwrap();
    assert!((container_cost - 2.0 * 0.0104 * 730.0).abs() < 1e-9, "{container_cost}");
    let function_cost = &costs[0]["cost"];
    assert!(function_cost["monthly"]["total"].as_f64().unwrap() > 0.0);
    assert!(function_cost["break_even_requests_per_month"].as_f64().unwrap() > 0.0);
    let log = std::fs::read_dir(out.path()).unwrap().next().unwrap().unwrap().path().join("function.function.log");
    let log = std::fs::read_to_string(log).unwrap();
    assert_eq!(
        log.lines().filter(|l| l.starts_with("REPORT RequestId: ")).count() as u64,
        invocations["invocations"].as_u64().unwrap()
    );
}

#[test]
fn container_instances_get_a_clean_environment_without_coldbench_s_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("instance.env");
    let exe = env!("CARGO_BIN_EXE_coldbench");
    let workload = write_workload(
        dir.path(),
        "w.toml",
        &format!(
            r#"
name = "clean-env"
duration = "1s"
[traffic]
pattern = "constant"
rate = 5
[[targets]]
name = "box"
kind = "container"
instances = 1
command = ["sh", "-c", "env > {env} && exec {exe} function --mode http"]
env = {{ GREETING = "hello" }}
inherit_env = ["COLDBENCH_TEST_SHARED"]
"#,
            env = env_file.display()
        ),
    );
    let out = dir.path().join("out");
    let output = coldbench()
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(&workload)
        .env("AWS_SECRET_ACCESS_KEY", "do-not-leak")
        .env("COLDBENCH_TEST_SHARED", "passed-through")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let seen = std::fs::read_to_string(&env_file).unwrap();
    assert!(!seen.contains("do-not-leak"), "the instance saw coldbench's secret:\n{seen}");
    for expected in ["GREETING=hello", "COLDBENCH_TEST_SHARED=passed-through", "PORT="] {
        assert!(seen.lines().any(|l| l.starts_with(expected)), "{expected} missing:\n{seen}");
    }
}

#[test]
fn a_dead_container_instance_leaves_rotation_and_is_replaced_after_the_provision_delay() {
    let dir = tempfile::tempdir().unwrap();
    let exe = env!("CARGO_BIN_EXE_coldbench");
    let tag = unique_tag();
    // Instance box-1 is killed (SIGKILL) a second after it starts serving; its replacement
    // (box-2) waits a 1 s provision delay, then starts.
    let workload = write_workload(
        dir.path(),
        "w.toml",
        &format!(
            r#"
name = "dies"
duration = "4s"
[traffic]
pattern = "constant"
rate = 50
[[targets]]
name = "box"
kind = "container"
instances = 2
provision_delay = "1s"
env = {{ {key} = "{value}" }}
command = ["sh", "-c", "if [ \"$COLDBENCH_INSTANCE\" = box-1 ]; then (sleep 1; kill -9 $$) & fi; exec {exe} function --mode http"]
"#,
            key = tag.0,
            value = tag.1
        ),
    );
    let json = run_json(&workload, None, &dir.path().join("out"));
    assert_valid_results(&json);
    assert_counts_add_up(&json);
    let target = &json["targets"][0];
    let instances = target["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 3, "{instances:?}");
    let (alive, dead, replacement) = (&instances[0], &instances[1], &instances[2]);
    assert!(alive.get("died_after_s").is_none(), "{alive}");
    let died = dead["died_after_s"].as_f64().expect("box-1's death is reported");
    assert!((0.5..2.9).contains(&died), "{dead}");
    assert!(dead["exit"].as_str().unwrap().contains("9"), "killed by SIGKILL: {dead}");
    // Out of rotation once its death is seen: few requests fail.
    let m = &target["measurement"];
    let failed = m["requests"].as_u64().unwrap() - m["outcomes"]["ok"].as_u64().unwrap();
    assert!(failed <= 3, "{failed} requests failed: {m}");
    assert_eq!(dead["failed_requests"].as_u64().unwrap(), failed, "{dead}");
    // The replacement came up after the provision delay and took its share.
    assert_eq!((replacement["id"].as_str(), replacement["replaces"].as_str()), (Some("box-2"), Some("box-1")));
    let serving = replacement["serving_after_s"].as_f64().unwrap();
    assert!(serving >= died + 1.0 && serving < 3.9, "1 s after the death at {died}: {replacement}");
    assert!(replacement["requests"].as_u64().unwrap() > 0, "{replacement}");
    let fleet = &target["fleet"];
    assert_eq!(
        (fleet["desired"].as_u64(), fleet["failures"].as_u64(), fleet["replacements"].as_u64()),
        (Some(2), Some(1), Some(1))
    );
    let below = fleet["below_capacity_s"].as_f64().unwrap();
    assert!((0.9..3.0).contains(&below), "one instance short from the death until the replacement served: {fleet}");
    let warnings = target["warnings"].as_array().unwrap();
    assert!(warnings.iter().any(|w| w.as_str().unwrap().contains("its replacement box-2 served from")), "{warnings:?}");
    let basis = json["analysis"]["targets"][0]["cost"]["basis"].as_str().unwrap();
    assert!(basis.starts_with("2 × EC2"), "the service keeps two running: {basis}");
    assert!(processes_with_env(&format!("{}={}", tag.0, tag.1)).is_empty(), "no instance outlives the run");
}

#[test]
fn with_no_instance_in_service_the_gateway_answers_503() {
    let dir = tempfile::tempdir().unwrap();
    let exe = env!("CARGO_BIN_EXE_coldbench");
    let workload = write_workload(
        dir.path(),
        "w.toml",
        &format!(
            r#"
name = "alone"
duration = "2s"
[traffic]
pattern = "constant"
rate = 50
[[targets]]
name = "box"
kind = "container"
instances = 1
command = ["sh", "-c", "if [ \"$COLDBENCH_INSTANCE\" = box-0 ]; then (sleep 0.5; kill -9 $$) & fi; exec {exe} function --mode http"]
"#
        ),
    );
    let json = run_json(&workload, None, &dir.path().join("out"));
    assert_counts_add_up(&json);
    let target = &json["targets"][0];
    let unavailable = target["measurement"]["outcomes"]["balancer_error"]["503"].as_u64().unwrap_or(0);
    assert!(unavailable > 20, "after the death, every request until the end: {}", target["measurement"]);
    assert!(target["measurement"]["outcomes"]["http_error"].get("503").is_none(), "the balancer's, not the app's");
    let summary = summary(&dir.path().join("out"));
    assert!(summary.contains("balancer 503 (no instance in service or free)"), "{summary}");
    assert_eq!(target["fleet"]["replacements"].as_u64(), Some(0), "the 60 s default delay outlasts the run");
    assert!(target["fleet"]["below_capacity_s"].as_f64().unwrap() > 1.0);
}

#[test]
fn an_autoscaled_service_scales_out_after_its_datapoints_and_in_after_its_cooldown() {
    let dir = tempfile::tempdir().unwrap();
    let tag = unique_tag();
    // 45 req/s for 8 s (above the target even on 4 instances: no datapoint of the burst sits at
    // the target, where the real and simulated runs could fall either side), then 2 req/s for
    // 14 s; 2-second datapoints so that the test is short.
    let busy = (0..360).map(|i| format!("{:.3}\n", f64::from(i) / 45.0));
    let quiet = (0..28).map(|i| format!("{:.3}\n", 8.0 + f64::from(i) / 2.0));
    std::fs::write(dir.path().join("arrivals.csv"), busy.chain(quiet).collect::<String>()).unwrap();
    let workload = write_workload(
        dir.path(),
        "w.toml",
        &format!(
            r#"
name = "scales"
duration = "22s"
[traffic]
pattern = "trace"
file = "arrivals.csv"
[[targets]]
name = "svc"
kind = "container"
instances = 1
provision_delay = "0s"
env = {{ {key} = "{value}" }}
scaling = {{ min = 1, max = 4, metric = "requests-per-instance", target = 10, period = "2s", scale_out_datapoints = 2, scale_in_datapoints = 2, scale_out_cooldown = "4s", scale_in_cooldown = "4s" }}
"#,
            key = tag.0,
            value = tag.1
        ),
    );
    let json = run_json(&workload, None, &dir.path().join("out"));
    assert_valid_results(&json);
    assert_counts_add_up(&json);
    let target = &json["targets"][0];
    let fleet = &target["fleet"];
    let events = fleet["events"].as_array().unwrap();
    let (out, back) = (&events[0], events.last().unwrap());
    // Two datapoints of ~45 req/s on one instance: at 4 s, ceil(1 × 45 / 10) = 5, at most 4.
    assert_eq!((out["at_s"].as_f64(), out["to"].as_u64()), (Some(4.0), Some(4)), "{events:?}");
    assert_eq!(back["to"].as_u64(), Some(1), "scaled back in: {events:?}");
    let back_at = back["at_s"].as_f64().unwrap();
    assert!(back_at >= 12.0, "two quiet datapoints after the burst, past the 4 s cooldown: {events:?}");
    // Instances per second follow the decisions: 1 before the scale-out, 4 once the launched
    // ones accept connections (well within 3 s here), 1 after the scale-in.
    let series: Vec<u64> =
        fleet["in_service_per_second"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert!(series[..3].iter().all(|&n| n == 1), "{series:?}");
    assert_eq!(series[7], 4, "{series:?}");
    assert_eq!(series[back_at as usize + 1], 1, "{series:?}");
    assert_eq!(target["instances"].as_array().unwrap().len(), 4);
    assert_eq!(target["measurement"]["outcomes"]["ok"].as_u64(), Some(388), "no request lost to the scaling");
    assert!(processes_with_env(&format!("{}={}", tag.0, tag.1)).is_empty(), "no instance outlives the run");
    // The simulator runs the same policy: the same peak (±1) and each decision within a period.
    let simulated = simulate_json(&workload, None);
    let sim_fleet = &simulated["targets"][0]["fleet"];
    let peak =
        |f: &serde_json::Value| f["in_service_per_second"].as_array().unwrap().iter().filter_map(|v| v.as_i64()).max();
    let (real_peak, sim_peak) = (peak(fleet).unwrap(), peak(sim_fleet).unwrap());
    assert!((real_peak - sim_peak).abs() <= 1, "peak in service: real {real_peak}, simulated {sim_peak}");
    let times = |f: &serde_json::Value| -> Vec<(f64, u64)> {
        f["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["at_s"].as_f64().unwrap(), e["to"].as_u64().unwrap()))
            .collect()
    };
    let (real_events, sim_events) = (times(fleet), times(sim_fleet));
    assert_eq!(real_events.len(), sim_events.len(), "real {real_events:?}, simulated {sim_events:?}");
    for ((real_at, real_to), (sim_at, sim_to)) in real_events.iter().zip(&sim_events) {
        assert!((real_at - sim_at).abs() <= 2.0 && real_to == sim_to, "real {real_events:?}, simulated {sim_events:?}");
    }
    // Its month is priced on the pattern repeated through the simulator: back in to one before
    // each period ends, each period costs about what the first did.
    let month = &fleet["month"];
    let (mean, first) =
        (month["mean_instances"].as_f64().unwrap(), month["first_period_mean_instances"].as_f64().unwrap());
    assert!(month["periods"].as_u64().unwrap() >= 2 && month["peak_instances"].as_u64() == Some(4), "{month}");
    assert!(mean > 1.0 && (mean - first).abs() <= 0.15 * first, "{month}");
    let cost = &json["analysis"]["targets"][0]["cost"];
    assert!(cost["basis"].as_str().unwrap().contains("pattern repeated through the simulator"), "{cost}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_outstanding_requests_sends_around_a_busy_instance_where_round_robin_does_not() {
    use coldbench::container::{ContainerConfig, ContainerPool};
    use coldbench::workload::Balancer;
    let demo = coldbench::function::DemoFunction::new(env!("CARGO_BIN_EXE_coldbench"));
    let shares = |balancer| {
        let demo = &demo;
        async move {
            let config = ContainerConfig {
                name: "lb".into(),
                instances: 2,
                command: demo.http_command(),
                env: vec![("PATH".into(), std::env::var("PATH").unwrap_or_default())],
                startup_timeout: std::time::Duration::from_secs(10),
                stop_grace: std::time::Duration::from_secs(1),
                limits: None,
                cwd: None,
                provision_delay: std::time::Duration::ZERO,
                scaling: None,
                balancer,
                idle_timeout: std::time::Duration::from_secs(60),
                health_check: None,
                deregistration_delay: std::time::Duration::from_secs(300),
                version: 0,
                deploy: None,
                max_concurrency: None,
                overflow: coldbench::workload::Overflow::Queue,
                metrics: None,
            };
            let pool = std::sync::Arc::new(ContainerPool::start(&config).await.unwrap());
            let gateway = coldbench::gateway::Gateway::start(pool.clone() as _).await.unwrap();
            let url = gateway.url();
            // One slow request holds an instance; ten short ones follow, one after another.
            let slow = tokio::spawn({
                let url = url.clone();
                async move { send("POST", &url, &[], r#"{"kind":"sleep","duration":"1500ms"}"#).await }
            });
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            for _ in 0..10 {
                assert_eq!(send("POST", &url, &[], r#"{"kind":"sleep","duration":"5ms"}"#).await.status, 200);
            }
            assert_eq!(slow.await.unwrap().status, 200);
            gateway.stop().await;
            let mut counts: Vec<u64> = pool.reports().iter().map(|r| r.requests).collect();
            pool.stop().await;
            counts.sort_unstable();
            counts
        }
    };
    assert_eq!(shares(Balancer::LeastOutstandingRequests).await, [1, 10], "all ten short ones went around");
    assert_eq!(shares(Balancer::RoundRobin).await, [5, 6], "round robin alternates regardless");
}

#[test]
fn an_answer_slower_than_the_idle_timeout_is_a_504() {
    let dir = tempfile::tempdir().unwrap();
    let workload = write_workload(
        dir.path(),
        "w.toml",
        r#"
name = "slow"
duration = "1s"
[traffic]
pattern = "constant"
rate = 3
[function]
work = { kind = "sleep", duration = "2s" }
[[targets]]
name = "box"
kind = "container"
idle_timeout = "1s"
"#,
    );
    let json = run_json(&workload, None, &dir.path().join("out"));
    assert_counts_add_up(&json);
    let m = &json["targets"][0]["measurement"];
    assert_eq!(m["outcomes"]["balancer_error"]["504"].as_u64(), m["requests"].as_u64(), "{m}");
    let summary = summary(&dir.path().join("out"));
    assert!(summary.contains("balancer 504 (idle timeout)"), "{summary}");
}

#[test]
fn a_malformed_answer_is_the_balancers_502_and_the_apps_own_502_is_the_apps() {
    if !has_python("a_malformed_answer_is_the_balancers_502") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Both pass their health checks (GET); to the load's POSTs one server answers with a broken
    // status line, the other with its own 502.
    let server = |reply: &str| {
        format!(
            "import os, socket\ns = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
             s.bind(('127.0.0.1', int(os.environ['PORT']))); s.listen(64)\nwhile True:\n    c, _ = s.accept()\n    \
             ok = c.recv(65536).startswith(b'GET')\n    \
             c.sendall(b'HTTP/1.1 200 OK\\r\\ncontent-length: 0\\r\\n\\r\\n' if ok else {reply:?}.encode()); c.close()\n"
        )
    };
    std::fs::write(dir.path().join("broken.py"), server("HTTP/1.1 two hundred\r\n\r\n")).unwrap();
    std::fs::write(
        dir.path().join("own.py"),
        server("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"),
    )
    .unwrap();
    let workload = write_workload(
        dir.path(),
        "w.toml",
        &format!(
            r#"
name = "broken"
duration = "1s"
[traffic]
pattern = "constant"
rate = 5
[[targets]]
name = "broken"
kind = "container"
command = ["python3", "{broken}"]
[[targets]]
name = "own"
kind = "container"
command = ["python3", "{own}"]
"#,
            broken = dir.path().join("broken.py").display(),
            own = dir.path().join("own.py").display()
        ),
    );
    let json = run_json(&workload, None, &dir.path().join("out"));
    assert_counts_add_up(&json);
    let broken = &json["targets"][0]["measurement"];
    assert_eq!(broken["outcomes"]["balancer_error"]["502"].as_u64(), broken["requests"].as_u64(), "{broken}");
    let own = &json["targets"][1]["measurement"];
    assert_eq!(own["outcomes"]["http_error"]["502"].as_u64(), own["requests"].as_u64(), "{own}");
    assert!(own["outcomes"].get("balancer_error").is_none(), "{own}");
    let summary = summary(&dir.path().join("out"));
    assert!(summary.contains("balancer 502 (broken or invalid response)"), "{summary}");
}

#[test]
fn a_hung_instance_fails_its_health_checks_leaves_rotation_and_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let exe = env!("CARGO_BIN_EXE_coldbench");
    let tag = unique_tag();
    // box-0 stops answering (SIGSTOP) a second in: its process lives, only health checks can
    // tell. Checks every 5 s (ALB's shortest), 2 s timeout, out after 2 failures: at ~12 s.
    let workload = write_workload(
        dir.path(),
        "w.toml",
        &format!(
            r#"
name = "hangs"
duration = "19s"
[traffic]
pattern = "constant"
rate = 20
[[targets]]
name = "box"
kind = "container"
instances = 2
provision_delay = "1s"
idle_timeout = "3s"
health_check = {{ interval = "5s", timeout = "2s" }}
env = {{ {key} = "{value}" }}
command = ["sh", "-c", "if [ \"$COLDBENCH_INSTANCE\" = box-0 ]; then (sleep 1; kill -STOP $$) & fi; exec {exe} function --mode http"]
"#,
            key = tag.0,
            value = tag.1
        ),
    );
    let json = run_json(&workload, None, &dir.path().join("out"));
    assert_valid_results(&json);
    assert_counts_add_up(&json);
    let target = &json["targets"][0];
    let instances = target["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 3, "{instances:?}");
    let (hung, replacement) = (&instances[0], &instances[2]);
    let unhealthy = hung["unhealthy_after_s"].as_f64().expect("box-0 is found unhealthy");
    assert!((9.0..14.5).contains(&unhealthy), "the second failed check at ~12 s: {hung}");
    assert!(hung["health_failure"].as_str().unwrap().contains("no answer within 2s"), "{hung}");
    assert!(hung.get("died_after_s").is_none(), "its process never exited: {hung}");
    let fleet = &target["fleet"];
    assert_eq!(
        (fleet["unhealthy"].as_u64(), fleet["failures"].as_u64(), fleet["replacements"].as_u64()),
        (Some(1), Some(1), Some(1)),
        "{fleet}"
    );
    assert_eq!(replacement["replaces"].as_str(), Some("box-0"), "{replacement}");
    assert!(replacement["serving_after_s"].as_f64().unwrap() > unhealthy, "{replacement}");
    assert!(replacement["requests"].as_u64().unwrap() > 0, "{replacement}");
    // Requests sent to it while it hung are the balancer's 504s (counted when they end, the idle
    // timeout later); none are sent once it is out.
    let m = &target["measurement"];
    assert!(m["outcomes"]["balancer_error"]["504"].as_u64().unwrap() > 20, "{}", m["outcomes"]);
    let late_errors: u64 = m["intervals"].as_array().unwrap()[(unhealthy.ceil() as usize + 4).min(18)..]
        .iter()
        .map(|i| i["errors"].as_u64().unwrap())
        .sum();
    assert_eq!(late_errors, 0, "out of rotation from its verdict on: {}", m["intervals"]);
    let warnings = target["warnings"].as_array().unwrap();
    assert!(warnings.iter().any(|w| w.as_str().unwrap().contains("failed 2 health checks in a row")), "{warnings:?}");
    assert!(processes_with_env(&format!("{}={}", tag.0, tag.1)).is_empty(), "no instance outlives the run");
}

#[test]
fn with_every_instance_unhealthy_the_balancer_fails_open() {
    if !has_python("with_every_instance_unhealthy_the_balancer_fails_open") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The app serves its requests throughout, but its health endpoint fails from 2 s on.
    let app = "import os, socket, time\nstart = time.time()\ns = socket.socket()\n\
               s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
               s.bind(('127.0.0.1', int(os.environ['PORT']))); s.listen(64)\nwhile True:\n    c, _ = s.accept()\n    \
               check = c.recv(65536).startswith(b'GET /health')\n    \
               status = b'500 Internal Server Error' if check and time.time() - start > 2 else b'200 OK'\n    \
               c.sendall(b'HTTP/1.1 ' + status + b'\\r\\ncontent-length: 0\\r\\nconnection: close\\r\\n\\r\\n'); c.close()\n";
    std::fs::write(dir.path().join("app.py"), app).unwrap();
    let workload = write_workload(
        dir.path(),
        "w.toml",
        &format!(
            r#"
name = "fails-open"
duration = "13s"
[traffic]
pattern = "constant"
rate = 10
[[targets]]
name = "app"
kind = "container"
instances = 2
command = ["python3", "{app}"]
health_check = {{ path = "/health", interval = "5s", timeout = "2s" }}
"#,
            app = dir.path().join("app.py").display()
        ),
    );
    let json = run_json(&workload, None, &dir.path().join("out"));
    assert_counts_add_up(&json);
    let target = &json["targets"][0];
    let m = &target["measurement"];
    assert_eq!(m["outcomes"]["ok"].as_u64(), m["requests"].as_u64(), "no 503: both serve, unhealthy: {m}");
    assert_eq!(target["fleet"]["unhealthy"].as_u64(), Some(2), "{}", target["fleet"]);
    for instance in target["instances"].as_array().unwrap() {
        assert!(instance["requests"].as_u64().unwrap() > 30, "traffic to both after failing open: {instance}");
        assert!(instance["health_failure"].as_str().unwrap().contains("answered 500, not 200"), "{instance}");
    }
}

#[test]
fn an_instance_that_never_passes_its_first_health_check_fails_the_target_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let workload = write_workload(
        dir.path(),
        "w.toml",
        r#"
name = "never-healthy"
duration = "1s"
[traffic]
pattern = "constant"
rate = 5
[[targets]]
name = "box"
kind = "container"
startup_timeout = "1s"
health_check = { matcher = "204" }
"#,
    );
    let out = coldbench().arg("run").arg(&workload).arg("--out").arg(dir.path().join("out")).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("box-0 did not pass its health check within 1s"), "{stderr}");
    assert!(stderr.contains("GET / answered 200, not 204"), "{stderr}");
}

#[test]
fn beyond_max_concurrency_the_balancer_queues_or_refuses_as_configured() {
    let dir = tempfile::tempdir().unwrap();
    // Ten requests at once on one instance that takes two at a time, 300 ms each.
    let workload = write_workload(
        dir.path(),
        "w.toml",
        r#"
name = "limits"
duration = "3s"
[traffic]
pattern = "trace"
file = "arrivals.csv"
[function]
work = { kind = "sleep", duration = "300ms" }
[[targets]]
name = "queue"
kind = "container"
max_concurrency = 2
[[targets]]
name = "reject"
kind = "container"
max_concurrency = 2
overflow = "reject"
"#,
    );
    std::fs::write(dir.path().join("arrivals.csv"), "0\n".repeat(10)).unwrap();
    let json = run_json(&workload, None, &dir.path().join("out"));
    assert_counts_add_up(&json);
    let queue = &json["targets"][0]["measurement"];
    assert_eq!(queue["outcomes"]["ok"].as_u64(), Some(10), "{queue}");
    // Served two at a time: the last pair waited four turns.
    let max_ms = queue["latency"]["max_us"].as_f64().unwrap() / 1e3;
    assert!((1_450.0..2_500.0).contains(&max_ms), "five turns of 300 ms: {max_ms} ms");
    let reject = &json["targets"][1]["measurement"];
    assert_eq!(reject["outcomes"]["ok"].as_u64(), Some(2), "{reject}");
    assert_eq!(reject["outcomes"]["balancer_error"]["503"].as_u64(), Some(8), "{reject}");
    let summary = summary(&dir.path().join("out"));
    assert!(summary.contains("balancer 503"), "{summary}");
}
