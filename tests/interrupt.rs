//! Ctrl-C during a run: finished targets stay on disk, the current one is saved as interrupted,
//! and no child process is left behind.

mod common;

use std::time::{Duration, Instant};

use common::*;

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigint_keeps_finished_targets_marks_the_current_one_and_leaves_no_children() {
    let dir = tempfile::tempdir().unwrap();
    let (tag_key, tag_value) = unique_tag();
    let workload = write_workload(
        dir.path(),
        "two.toml",
        &r#"
name = "two"
duration = "3s"
[traffic]
pattern = "constant"
rate = 100
[[targets]]
name = "first"
kind = "container"
[[targets]]
name = "second"
kind = "function"
env = { COLDBENCH_TEST_TAG = "TAG_VALUE" }
[function]
work = { kind = "sleep", duration = "30ms" }
"#
        .replace("TAG_VALUE", &tag_value),
    );
    let out = dir.path().join("out");
    let mut child = coldbench()
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(&workload)
        .env(&tag_key, &tag_value)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let tag = format!("{tag_key}={tag_value}");
    wait_for("the first target's results", Duration::from_secs(30), || {
        results_path(&out).is_some_and(|_| results(&out)["targets"].as_array().is_some_and(|t| t.len() == 1))
    });
    // The second target's function instances start (the first target's containers are gone).
    wait_for("the second target's instances", Duration::from_secs(10), || processes_with_env(&tag).len() >= 2);
    std::thread::sleep(Duration::from_millis(800));
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "coldbench did not stop after SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    let results = results(&out);
    assert_valid_results(&results);
    assert_counts_add_up(&results);
    let targets = results["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2);
    assert_eq!(targets[0]["status"], "complete");
    assert_eq!(targets[0]["measurement"]["requests"], 300);
    assert_eq!(targets[1]["status"], "interrupted");
    let partial = targets[1]["measurement"]["requests"].as_u64().unwrap();
    assert!(partial > 0 && partial < 300, "the second target was cut short, sent {partial}");
    assert_eq!(processes_with_env(&tag), Vec::<u32>::new(), "processes outlived coldbench");
}

#[test]
fn a_second_sigint_kills_what_is_still_stopping_and_exits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (tag_key, tag_value) = unique_tag();
    let exe = env!("CARGO_BIN_EXE_coldbench");
    // The server dies on SIGTERM, but its shell ignores it and lives on: only SIGKILL (after a
    // 60 s stop_grace) would end the group.
    let workload = write_workload(
        dir.path(),
        "stubborn.toml",
        &format!(
            r#"
name = "stubborn"
duration = "30s"
[traffic]
pattern = "constant"
rate = 20
[[targets]]
name = "box"
kind = "container"
stop_grace = "60s"
command = ["sh", "-c", "trap '' TERM; {exe} function --mode http & while true; do sleep 1; done"]
env = {{ {tag_key} = "{tag_value}" }}
"#
        ),
    );
    let out = dir.path().join("out");
    let mut child = coldbench()
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(&workload)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let tag = format!("{tag_key}={tag_value}");
    wait_for("the container instance", Duration::from_secs(20), || !processes_with_env(&tag).is_empty());
    std::thread::sleep(Duration::from_millis(500));
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: sending signals to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    std::thread::sleep(Duration::from_millis(1_000));
    assert!(child.try_wait().unwrap().is_none(), "the first SIGINT waits for the graceful stop");
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the second SIGINT did not force the exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("second interrupt"), "{stderr}");
    wait_for("the stubborn shell to be gone", Duration::from_secs(5), || processes_with_env(&tag).is_empty());
}

/// A container and a function that each start a helper in a session of its own (`setsid`), and a
/// container whose server is a grandchild under `sh -c`: none of them may outlive coldbench.
fn detached_helpers_workload(dir: &std::path::Path, tag: &(String, String), duration: &str) -> std::path::PathBuf {
    let exe = env!("CARGO_BIN_EXE_coldbench");
    write_workload(
        dir,
        "helpers.toml",
        &format!(
            r#"
name = "helpers"
duration = "{duration}"
[traffic]
pattern = "constant"
rate = 10
[[targets]]
name = "box"
kind = "container"
command = ["sh", "-c", "setsid sleep 300 & sh -c '{exe} function --mode http'"]
env = {{ {key} = "{value}" }}
[[targets]]
name = "fn"
kind = "function"
command = ["sh", "-c", "setsid sleep 300 & exec {exe} function --mode lambda"]
env = {{ {key} = "{value}" }}
"#,
            key = tag.0,
            value = tag.1
        ),
    )
}

fn ends_without_survivors(signal: Option<libc::c_int>) {
    let dir = tempfile::tempdir().unwrap();
    let tag = unique_tag();
    let duration = if signal.is_some() { "30s" } else { "1s" };
    let workload = detached_helpers_workload(dir.path(), &tag, duration);
    let mut child = coldbench()
        .args(["run", "--quiet", "--out"])
        .arg(dir.path().join("out"))
        .arg(&workload)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let needle = format!("{}={}", tag.0, tag.1);
    wait_for("the helpers", Duration::from_secs(20), || processes_with_env(&needle).len() >= 2);
    if let Some(signal) = signal {
        std::thread::sleep(Duration::from_millis(300));
        let pid = libc::pid_t::try_from(child.id()).unwrap();
        // SAFETY: sending a signal to our own child process.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(started.elapsed() < Duration::from_secs(60), "coldbench did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
    if signal == Some(libc::SIGKILL) {
        // coldbench could do nothing: its watchdog sweeps within a second.
        let killed = Instant::now();
        while !processes_with_env(&needle).is_empty() && killed.elapsed() < Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let left = processes_with_env(&needle);
    assert!(left.is_empty(), "survivors after {signal:?}: {left:?}");
}

#[test]
fn setsid_helpers_and_grandchildren_are_gone_after_a_normal_end() {
    ends_without_survivors(None);
}

#[test]
fn setsid_helpers_and_grandchildren_are_gone_after_sigint() {
    ends_without_survivors(Some(libc::SIGINT));
}

#[test]
fn setsid_helpers_and_grandchildren_are_gone_after_sigterm() {
    ends_without_survivors(Some(libc::SIGTERM));
}

#[test]
fn setsid_helpers_and_grandchildren_are_gone_within_a_second_after_sigkill() {
    ends_without_survivors(Some(libc::SIGKILL));
}
