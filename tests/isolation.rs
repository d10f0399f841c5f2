//! Isolation with real processes: coldbench's own environment is out of its instances' reach,
//! and function instances each have a loopback of their own, so that none can reach another's
//! Runtime API (or the gateway, or anything else on the host's loopback).

mod common;

use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use coldbench::function::DemoFunction;
use coldbench::gateway::Gateway;
use coldbench::runtime::{FunctionConfig, FunctionRuntime};
use common::*;

/// A command that records what it can read of its parent's (coldbench's) environment into
/// `probe`, then becomes the demo function in `mode`.
fn probing(probe: &std::path::Path, mode: &str) -> String {
    format!(
        "[\"sh\", \"-c\", \"cat /proc/$PPID/environ > {probe} 2>&1; echo \\\"read: $?\\\" >> {probe}; exec {exe} function --mode {mode}\"]",
        probe = probe.display(),
        exe = env!("CARGO_BIN_EXE_coldbench"),
    )
}

#[test]
fn coldbench_s_own_environment_is_out_of_its_instances_reach() {
    let dir = tempfile::tempdir().unwrap();
    let (function_probe, container_probe) = (dir.path().join("function.txt"), dir.path().join("container.txt"));
    let workload = write_workload(
        dir.path(),
        "probe.toml",
        &format!(
            "name = \"probe\"\nduration = \"1s\"\n[traffic]\npattern = \"constant\"\nrate = 5\n\
             [[targets]]\nname = \"fn\"\nkind = \"function\"\nnetwork = \"host\"\ncommand = {}\n\
             [[targets]]\nname = \"box\"\nkind = \"container\"\ninstances = 1\ncommand = {}\n",
            probing(&function_probe, "lambda"),
            probing(&container_probe, "http"),
        ),
    );
    let out = dir.path().join("out");
    let output = coldbench()
        .env("COLDBENCH_TEST_SECRET", "hunter2")
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(&workload)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    for probe in [&function_probe, &container_probe] {
        let seen = std::fs::read_to_string(probe).unwrap();
        assert!(!seen.contains("hunter2"), "{} read coldbench's environment: {seen}", probe.display());
        // Refused (not root), or only NULs where the variables were (root, whom nothing refuses).
        assert!(!seen.contains("PATH="), "{}: no variable of coldbench's is visible: {seen}", probe.display());
        assert!(seen.contains("read: "), "{}: the probe ran: {seen}", probe.display());
    }
}

/// The network namespace of process `pid`, as `net:[inode]`.
fn namespace_of(pid: u32) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap().display().to_string()
}

fn environ_of(pid: u32) -> String {
    String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/environ")).unwrap()).replace('\0', "\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_function_instance_has_a_loopback_of_its_own() {
    if !std::process::Command::new("unshare").args(["--net", "true"]).status().is_ok_and(|s| s.success()) {
        eprintln!("skipped: this user cannot create network namespaces (root is needed)");
        return;
    }
    let (tag_key, tag_value) = unique_tag();
    let demo = DemoFunction::new(env!("CARGO_BIN_EXE_coldbench"));
    let mut config = FunctionConfig::new("iso", demo.lambda_command()).env(tag_key.clone(), tag_value.clone());
    config.isolate = true;
    let runtime = FunctionRuntime::start(config).await.unwrap();
    let gateway = Gateway::start(Arc::new(runtime.clone())).await.unwrap();
    let url = format!("{}2015-03-31/functions/iso/invocations", gateway.url());
    // Two at once: two instances.
    let work = r#"{"kind":"sleep","duration":"300ms"}"#;
    let (a, b) = tokio::join!(send("POST", &url, &[], work), send("POST", &url, &[], work));
    assert_eq!((a.status, b.status), (200, 200), "{} / {}", a.text(), b.text());
    assert_ne!(a.header("x-coldbench-instance"), b.header("x-coldbench-instance"));

    let pids = processes_with_env(&format!("{tag_key}={tag_value}"));
    assert_eq!(pids.len(), 2, "two instance processes: {pids:?}");
    let namespaces: Vec<String> = pids.iter().map(|pid| namespace_of(*pid)).collect();
    assert_ne!(namespaces[0], namespaces[1], "each instance has a network namespace of its own");
    assert!(!namespaces.contains(&namespace_of(std::process::id())), "none shares coldbench's");
    for pid in &pids {
        assert!(environ_of(*pid).contains("AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001"), "as on Lambda");
    }

    // From where instance 0 stands: its own Runtime API answers; the gateway — and with it
    // every port of the host's loopback — does not, and instance 1's Runtime API has no
    // address there but instance 0's own.
    let gateway_port = gateway.url().trim_end_matches('/').rsplit(':').next().unwrap().parse::<u16>().unwrap();
    let namespace = std::fs::File::open(format!("/proc/{}/ns/net", pids[0])).unwrap();
    let (own, host) = std::thread::spawn(move || {
        // SAFETY: setns changes only this thread's network namespace; the thread ends below.
        assert_eq!(unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNET) }, 0);
        let own = std::net::TcpStream::connect_timeout(&"127.0.0.1:9001".parse().unwrap(), Duration::from_secs(2));
        let host = std::net::TcpStream::connect(("127.0.0.1", gateway_port));
        (own.is_ok(), host.map(|_| ()).map_err(|e| e.kind()))
    })
    .join()
    .unwrap();
    assert!(own, "the instance reaches its own Runtime API");
    assert_eq!(host, Err(std::io::ErrorKind::ConnectionRefused), "the host's loopback is out of reach");

    gateway.stop().await;
    runtime.stop();
    for _ in 0..250 {
        if processes_with_env(&format!("{tag_key}={tag_value}")).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("instances outlived the runtime");
}
