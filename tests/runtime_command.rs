//! `coldbench runtime` as a user runs it: a separate process, curl-like clients, Ctrl-C.

mod common;

use std::time::{Duration, Instant};

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_invocations_prints_reports_and_leaves_nothing_behind_after_ctrl_c() {
    let (tag_key, tag_value) = unique_tag();
    let tag_arg = format!("{tag_key}={tag_value}");
    let (mut child, base, lines) = spawn_runtime(&["--port", "0", "--timeout", "60s", "--env", &tag_arg]);

    let url = format!("{base}/2015-03-31/functions/function/invocations");
    let ok = send("POST", &url, &[], r#"{"kind":"echo"}"#).await;
    assert_eq!((ok.status, ok.text().as_str()), (200, r#"{"kind":"echo"}"#));
    let queued = send("POST", &url, &[("x-amz-invocation-type", "Event")], r#"{"kind":"echo"}"#).await;
    assert_eq!(queued.status, 202);
    // The event runs on the warm instance at once; let it finish before the next test step.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // One invocation still running when Ctrl-C arrives.
    let hanging = tokio::spawn({
        let url = url.clone();
        async move { send("POST", &url, &[], r#"{"kind":"sleep","duration":"50s"}"#).await }
    });
    let tag = format!("{tag_key}={tag_value}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(processes_with_env(&tag).len(), 1, "the warm instance took the second invocation");
    let pid = libc::pid_t::try_from(child.0.id()).unwrap();
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the runtime did not stop on Ctrl-C");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success());
    hanging.abort();
    assert_eq!(processes_with_env(&tag), Vec::<u32>::new(), "function processes outlived the runtime");
    let lines = lines.join().unwrap();
    assert!(
        lines.iter().any(|l| l.starts_with("asynchronous: 1 accepted, 1 succeeded, 0 failed")),
        "the event is counted apart: {lines:?}"
    );
    let report = lines.iter().find(|l| l.starts_with("REPORT RequestId: ")).expect("a REPORT line");
    let fields: Vec<&str> = report.split('\t').collect();
    assert!(fields[1].starts_with("Duration: ") && fields[1].ends_with(" ms"), "{report}");
    assert!(fields[2].starts_with("Billed Duration: "), "{report}");
    assert_eq!(fields[3], "Memory Size: 128 MB");
    assert!(fields[4].starts_with("Max Memory Used: "));
    assert!(fields[5].starts_with("Init Duration: "), "the first invocation is cold: {report}");
    assert!(lines.iter().any(|l| l.starts_with("START RequestId: ") && l.ends_with(" Version: $LATEST")));
    assert!(lines.iter().any(|l| l.starts_with("END RequestId: ")));
}
