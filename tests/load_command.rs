//! `coldbench load`: exact request counts in both loop modes, JSON output, the spectrum.

mod common;

use common::*;

async fn hello_server() -> (std::net::SocketAddr, tokio_util::sync::CancellationToken) {
    serve(|_request| async { Ok(http::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(b"hello")))) })
        .await
}

async fn load(args: &[&str]) -> (std::process::Output, serde_json::Value) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_coldbench")).args(args).output().await.unwrap();
    let json = if args.contains(&"--json") {
        serde_json::from_slice(&output.stdout).expect("--json prints JSON")
    } else {
        serde_json::Value::Null
    };
    (output, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_sends_exactly_n_requests() {
    let (addr, stop) = hello_server().await;
    let url = format!("http://{addr}/");
    let (output, json) = load(&["load", "-c", "4", "-n", "500", "--quiet", "--json", &url]).await;
    stop.cancel();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_valid_results(&json);
    assert_counts_add_up(&json);
    let target = &json["targets"][0];
    assert_eq!(target["mode"], "closed");
    assert_eq!(target["measurement"]["requests"], 500);
    assert_eq!(target["measurement"]["outcomes"]["ok"], 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_sends_rate_times_duration() {
    let (addr, stop) = hello_server().await;
    let url = format!("http://{addr}/");
    let (output, json) = load(&["load", "--rate", "200", "-d", "1s", "--quiet", "--json", &url]).await;
    stop.cancel();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_valid_results(&json);
    let target = &json["targets"][0];
    assert_eq!(target["mode"], "open");
    assert_eq!(target["measurement"]["requests"], 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spectrum_and_table_are_printed() {
    let (addr, stop) = hello_server().await;
    let url = format!("http://{addr}/");
    let (output, _) = load(&["load", "-c", "2", "-n", "100", "--quiet", "--spectrum", &url]).await;
    stop.cancel();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("latency p99.9") && stdout.contains("1/(1-Percentile)"), "{stdout}");
    assert!(stdout.contains("Total count    =          100"), "{stdout}");
}

#[test]
fn refused_url_exits_with_failure() {
    let url = format!("http://127.0.0.1:{}/", closed_port());
    let output = coldbench().args(["load", "-c", "2", "-n", "20", "--quiet", &url]).output().unwrap();
    assert_eq!(output.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&output.stdout).contains("20 connect error"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_during_a_closed_loop_load_still_accounts_for_every_request() {
    let (addr, stop) = serve(|_request| async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        Ok(http::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(b"slow"))))
    })
    .await;
    let url = format!("http://{addr}/");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_coldbench"))
        .args(["load", "-c", "8", "-d", "30s", "--quiet", "--json", &url])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let pid = libc::pid_t::try_from(child.id().unwrap()).unwrap();
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let output =
        tokio::time::timeout(std::time::Duration::from_secs(10), child.wait_with_output()).await.unwrap().unwrap();
    stop.cancel();
    assert_eq!(output.status.code(), Some(130));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_counts_add_up(&json);
    let target = &json["targets"][0];
    assert_eq!(target["status"], "interrupted");
    let m = &target["measurement"];
    assert!(m["outcomes"]["ok"].as_u64().unwrap() > 50);
    // The 8 requests in flight at Ctrl-C are counted, as `other`.
    assert_eq!(m["outcomes"]["other"], 8);
}
