//! Cold-start overhead of the local function runtime: spawn → first `/next` of the bundled demo
//! function (Lambda mode, no Init work), against the bare cost of spawning a minimal binary that
//! connects back over TCP. Measures and prints; asserts nothing.
//!
//!   cargo bench --bench cold_start
//!
//! The minimal binary is a 10-line C program compiled with `cc` (skipped if there is no `cc`).

use std::io::Read;
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use coldbench::policy::PoolConfig;
use coldbench::runtime::{FunctionConfig, FunctionRuntime};

const SAMPLES: usize = 200;

const CONNECT_BACK: &str = r#"
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET; a.sin_port = htons(atoi(argv[1])); a.sin_addr.s_addr = htonl(0x7f000001);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) return 1;
    write(s, "x", 1); close(s); return 0;
}
"#;

/// The smallest "custom runtime": connects to AWS_LAMBDA_RUNTIME_API, sends GET /next, reads the
/// event, exits. Through the runtime its Init Duration is the platform's own cold-start cost.
const MINIMAL_RUNTIME: &str = r#"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
    char *api = getenv("AWS_LAMBDA_RUNTIME_API"), *colon = strchr(api, ':'), buf[4096];
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET; a.sin_port = htons(atoi(colon + 1)); a.sin_addr.s_addr = htonl(0x7f000001);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) return 1;
    int n = snprintf(buf, sizeof buf, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: %s\r\n\r\n", api);
    write(s, buf, n); read(s, buf, sizeof buf); return 0;
}
"#;

fn compile(dir: &std::path::Path, name: &str, source: &str) -> Option<std::path::PathBuf> {
    let path = dir.join(format!("{name}.c"));
    let binary = dir.join(name);
    std::fs::write(&path, source).ok()?;
    let built = Command::new("cc").args(["-O2", "-o"]).arg(&binary).arg(&path).status().ok()?;
    built.success().then_some(binary)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn report(label: &str, mut ms: Vec<f64>) -> f64 {
    ms.sort_by(f64::total_cmp);
    let p50 = percentile(&ms, 0.5);
    println!(
        "{label:<48} n={:<4} p50 {p50:7.3} ms  p90 {:7.3} ms  p99 {:7.3} ms",
        ms.len(),
        percentile(&ms, 0.9),
        percentile(&ms, 0.99)
    );
    p50
}

fn bare_spawn(dir: &std::path::Path) -> Option<Vec<f64>> {
    let binary = compile(dir, "connect_back", CONNECT_BACK)?;
    let listener = TcpListener::bind("127.0.0.1:0").ok()?;
    let port = listener.local_addr().ok()?.port().to_string();
    let mut samples = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let started = Instant::now();
        let mut child = Command::new(&binary).arg(&port).spawn().ok()?;
        let (mut stream, _) = listener.accept().ok()?;
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).ok()?;
        samples.push(started.elapsed().as_secs_f64() * 1e3);
        child.wait().ok()?;
    }
    Some(samples)
}

fn cold_starts(command: Vec<String>) -> Vec<f64> {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        // Every instance retires after one invocation: each invocation is a cold start.
        let pool = PoolConfig { max_lifetime: Some(Duration::ZERO), ..PoolConfig::default() };
        let config = FunctionConfig::new("bench", command).timeout(Duration::from_secs(10)).pool(pool);
        let function = FunctionRuntime::start(config).await.expect("runtime starts");
        let mut inits = Vec::new();
        for _ in 0..SAMPLES {
            let invoked = function.invoke(bytes::Bytes::from_static(b"{\"kind\":\"echo\"}"), Default::default()).await;
            inits.extend(invoked.record().init_ms);
        }
        function.stop();
        inits
    })
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let bare = bare_spawn(dir.path()).map(|s| report("bare spawn + TCP connect back (C, -O2)", s));
    let minimal = compile(dir.path(), "minimal_runtime", MINIMAL_RUNTIME).map(|binary| {
        report("minimal C runtime: spawn -> first /next", cold_starts(vec![binary.display().to_string()]))
    });
    let exe = env!("CARGO_BIN_EXE_coldbench");
    let demo = vec![exe.to_string(), "function".into(), "--mode".into(), "lambda".into()];
    let cold = report("demo function: spawn -> first /next (Init Duration)", cold_starts(demo));
    match (bare, minimal) {
        (Some(bare), Some(minimal)) => {
            println!("ratio minimal runtime through coldbench / bare spawn at p50: {:.2}x", minimal / bare);
            println!("ratio demo function through coldbench / bare spawn at p50: {:.2}x", cold / bare);
        }
        _ => println!("bare and minimal runtime: skipped (no C compiler)"),
    }
}
