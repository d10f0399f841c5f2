//! Failure handling: refused connections, containers that die at start, timeouts, bad workloads.

mod common;

use std::time::{Duration, Instant};

use common::*;

fn url_workload(url: &str, extra: &str) -> String {
    format!(
        r#"
name = "failing"
duration = "1s"
[traffic]
pattern = "constant"
rate = 50
{extra}
[[targets]]
name = "nobody"
kind = "url"
url = "{url}"
"#
    )
}

#[test]
fn refused_connections_are_all_connect_errors_and_the_exit_code_says_failed() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}/", closed_port());
    let workload = write_workload(dir.path(), "refused.toml", &url_workload(&url, ""));
    let out = dir.path().join("out");
    let output = coldbench().args(["run", "--quiet", "--out"]).arg(&out).arg(&workload).output().unwrap();
    assert_eq!(output.status.code(), Some(5), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let results = results(&out);
    assert_valid_results(&results);
    assert_counts_add_up(&results);
    let target = &results["targets"][0];
    assert_eq!(target["status"], "failed");
    let m = &target["measurement"];
    assert_eq!(m["requests"], 50);
    assert_eq!(m["outcomes"]["connect_error"], 50);
    assert!(target["error"].as_str().unwrap().contains("50 connect error"));
}

#[test]
fn a_container_that_exits_at_once_fails_with_its_stderr_and_no_hang() {
    let dir = tempfile::tempdir().unwrap();
    let workload = write_workload(
        dir.path(),
        "dies.toml",
        r#"
name = "dies"
duration = "5s"
[traffic]
pattern = "constant"
rate = 10
[[targets]]
name = "broken"
kind = "container"
command = ["sh", "-c", "echo 'config file missing: /etc/app.conf' >&2; exit 3"]
startup_timeout = "30s"
"#,
    );
    let out = dir.path().join("out");
    let started = Instant::now();
    let output = coldbench().args(["run", "--quiet", "--out"]).arg(&out).arg(&workload).output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(20), "the run waited for a dead container");
    assert_eq!(output.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("config file missing: /etc/app.conf"), "{stderr}");
    assert!(stderr.contains("exit status: 3"), "{stderr}");
    let results = results(&out);
    assert_valid_results(&results);
    assert_eq!(results["targets"][0]["status"], "failed");
    assert!(results["targets"][0]["error"].as_str().unwrap().contains("config file missing"));
}

#[test]
fn a_container_that_never_listens_times_out_with_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let (tag_key, tag_value) = unique_tag();
    let workload = write_workload(
        dir.path(),
        "deaf.toml",
        r#"
name = "deaf"
duration = "1s"
[traffic]
pattern = "constant"
rate = 10
[[targets]]
name = "deaf"
kind = "container"
command = ["sh", "-c", "echo starting up; sleep 60"]
startup_timeout = "500ms"
"#,
    );
    let out = dir.path().join("out");
    let output = coldbench()
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(&workload)
        .env(&tag_key, &tag_value)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("did not accept connections") && stderr.contains("starting up"), "{stderr}");
    assert_eq!(
        processes_with_env(&format!("{tag_key}={tag_value}")),
        Vec::<u32>::new(),
        "the shell or its sleep survived"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_past_the_timeout_end_as_timeouts() {
    let (addr, stop) = serve(|_request| async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok(http::Response::new(http_body_util::Full::new(bytes::Bytes::new())))
    })
    .await;
    let url = format!("http://{addr}/");
    let dir = tempfile::tempdir().unwrap();
    let workload = write_workload(dir.path(), "slow.toml", &url_workload(&url, "[load]\ntimeout = \"200ms\""));
    let out = dir.path().join("out");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_coldbench"))
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(&workload)
        .output()
        .await
        .unwrap();
    stop.cancel();
    assert_eq!(output.status.code(), Some(5));
    let results = results(&out);
    assert_counts_add_up(&results);
    let m = &results["targets"][0]["measurement"];
    assert_eq!(m["outcomes"]["timeout"], 50);
    // Timeouts are censored samples at the timeout, not dropped.
    assert_eq!(m["latency"]["count"], 50);
    assert!(m["latency"]["min_us"].as_u64().unwrap() >= 200_000);
}

#[test]
fn unknown_target_names_are_rejected_with_the_available_ones() {
    let dir = tempfile::tempdir().unwrap();
    let workload = write_workload(dir.path(), "w.toml", &url_workload("http://127.0.0.1:9/", ""));
    let output = coldbench().args(["run", "--target", "nope"]).arg(&workload).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--target \"nope\"") && stderr.contains("nobody"), "{stderr}");
}

#[test]
fn a_full_disk_keeps_measuring_prints_the_table_and_says_the_outputs_are_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tiny");
    std::fs::create_dir(&out).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16k", "tmpfs"])
        .arg(&out)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tiny tmpfs here (needs root)");
        return;
    }
    let workload = write_workload(
        dir.path(),
        "w.toml",
        r#"
name = "full"
duration = "1s"
[traffic]
pattern = "constant"
rate = 20
[[targets]]
name = "one"
kind = "container"
[[targets]]
name = "two"
kind = "container"
"#,
    );
    let output = coldbench().args(["run", "--quiet", "--out"]).arg(&out).arg(&workload).output().unwrap();
    let listing: Vec<String> = walk(&out);
    let _ = std::process::Command::new("umount").arg(&out).status();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(3), "outputs incomplete has its own exit code\n{stderr}");
    assert!(stderr.contains("still measuring"), "{stderr}");
    assert!(stderr.contains("is incomplete"), "{stderr}");
    // Both targets were measured and the table printed despite the full disk.
    assert!(stdout.contains("one") && stdout.contains("two") && stdout.contains("latency p99"), "{stdout}");
    assert!(listing.iter().all(|f| !f.ends_with(".partial")), "a .partial file was left: {listing:?}");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path.display().to_string());
        }
    }
    found
}

#[test]
fn coldbench_s_own_open_file_limit_is_named_as_coldbench_s_not_the_function_s() {
    if std::process::Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("skipped: prlimit (util-linux) is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 50 instances wanted at once; 64 open files allow only a few.
    let workload = write_workload(
        dir.path(),
        "w.toml",
        r#"
name = "emfile"
duration = "2s"
[traffic]
pattern = "constant"
rate = 100
[load]
timeout = "5s"
[function]
work = { kind = "sleep", duration = "500ms" }
[[targets]]
name = "fn"
kind = "function"
# Without platform time the first instances start at once, and some requests succeed; with it
# the requests waiting on it hold every descriptor first.
platform_overhead = "0ms"
"#,
    );
    let out = dir.path().join("out");
    let output = std::process::Command::new("prlimit")
        .arg("--nofile=64:64")
        .arg(env!("CARGO_BIN_EXE_coldbench"))
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(&workload)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let json = results(&out);
    assert_valid_results(&json);
    assert_counts_add_up(&json);
    let target = &json["targets"][0];
    assert_eq!(target["status"], "degraded", "coldbench's limits degraded the run");
    assert_eq!(output.status.code(), Some(4), "the exit code says so: {stderr}");
    let outcomes = &target["measurement"]["outcomes"];
    assert!(outcomes["host_error"].as_u64().unwrap() > 0, "the limit was hit: {outcomes}");
    assert_eq!(outcomes["function_error"], 0, "nothing is blamed on the function: {outcomes}");
    let csv = std::fs::read_to_string(results_path(&out).unwrap().with_file_name("invocations.csv")).unwrap();
    let outcomes: Vec<&str> = csv.lines().skip(1).filter_map(|row| row.split(',').nth(10)).collect();
    assert!(outcomes.contains(&"host_error"), "billing records say so too: {csv}");
    assert!(!outcomes.contains(&"init_error"), "no Runtime.InvalidEntrypoint: {csv}");
    assert!(stderr.contains("coldbench's own") && stderr.contains("ulimit -n"), "{stderr}");
}

#[test]
fn a_program_that_is_not_a_lambda_runtime_is_named_as_such_with_its_output_and_log() {
    let dir = tempfile::tempdir().unwrap();
    let workload = |command: &str| {
        write_workload(
            dir.path(),
            "w.toml",
            &format!(
                "name = \"notlambda\"\nduration = \"1s\"\n[traffic]\npattern = \"constant\"\nrate = 2\n\
                 [[targets]]\nname = \"fn\"\nkind = \"function\"\ninit_timeout = \"1s\"\ntimeout = \"1s\"\nplatform_overhead = \"0ms\"\n\
                 command = {command}\n"
            ),
        )
    };
    let run = |path: &std::path::Path| {
        let output =
            coldbench().args(["run", "--quiet", "--out"]).arg(dir.path().join("out")).arg(path).output().unwrap();
        assert_eq!(output.status.code(), Some(5), "the target failed");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let stderr = run(&workload(r#"["sh", "-c", "echo no runtime API here; exit 0"]"#));
    assert!(stderr.contains("exited with exit status 0 before calling /next"), "{stderr}");
    assert!(stderr.contains("its output ends with:\nno runtime API here"), "{stderr}");
    assert!(stderr.contains("fn.function.log"), "the log is named: {stderr}");
    let stderr = run(&workload(r#"["true"]"#));
    assert!(stderr.contains("exited with exit status 0 before calling /next"), "{stderr}");
    let stderr = run(&workload(r#"["sh", "-c", "echo waiting; sleep 30"]"#));
    assert!(
        stderr.contains("did not call /next within its init_timeout of 1 s, nor when Init was retried"),
        "{stderr}"
    );
    assert!(stderr.contains("waiting"), "{stderr}");
}
