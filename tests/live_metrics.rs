//! `run --metrics ADDR`: live metrics in the Prometheus text format, scraped while the run goes
//! and kept as `metrics.prom` at its end, parsed by an independent parser (`prometheus-parse`)
//! and held against results.json: the same counts, as they happened.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::*;
use prometheus_parse::{Scrape, Value};

fn parse(text: &str) -> Scrape {
    let lines: Vec<std::io::Result<String>> = text.lines().map(|l| Ok(l.to_string())).collect();
    let scrape = Scrape::parse(lines.into_iter()).unwrap();
    // Every line that is not a comment is a sample the parser understood.
    let samples = text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).count();
    let understood: usize = scrape
        .samples
        .iter()
        .map(|s| match &s.value {
            Value::Histogram(buckets) => buckets.len(),
            _ => 1,
        })
        .sum();
    assert_eq!(understood, samples, "lines the parser skipped:\n{text}");
    // OpenMetrics names a counter's family without `_total` in its TYPE line; its samples have it.
    for family in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter")) {
        let bare = format!("{family}{{");
        assert!(!text.lines().any(|l| l.starts_with(&bare)), "{family}: a counter sample without _total");
    }
    assert!(text.ends_with("# EOF\n"), "an OpenMetrics exposition ends with # EOF");
    scrape
}

/// The value of `metric` with every label of `labels`, summed over the rest.
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            other => panic!("{metric}: {other:?}"),
        })
        .sum()
}

#[test]
fn live_metrics_parse_and_their_counts_match_results_json() {
    let dir = tempfile::tempdir().unwrap();
    let workload = write_workload(
        dir.path(),
        "w.toml",
        r#"
name = "live"
duration = "3s"
[traffic]
pattern = "constant"
rate = 10
[function]
work = { kind = "sleep", duration = "5ms" }
[[targets]]
name = "function"
kind = "function"
keep_alive = "1s"
[[targets]]
name = "container"
kind = "container"
instances = 2
"#,
    );
    let out = dir.path().join("out");
    let mut child = coldbench()
        .args(["run", "--quiet", "--metrics", "127.0.0.1:0", "--out"])
        .arg(&out)
        .arg(&workload)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let url = loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no metrics address said");
        if let Some(url) = line.trim().strip_prefix("metrics: ") {
            break url.to_string();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    // Scrapes while the function target runs: counts grow, and never past the final ones.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut live = Vec::new();
    for _ in 0..10 {
        std::thread::sleep(std::time::Duration::from_millis(300));
        if let Ok(text) = runtime.block_on(get(&url)) {
            live.push(parse(&text));
        }
    }
    assert!(child.wait().unwrap().success());
    assert!(live.len() >= 3, "scraped {} times while running", live.len());
    let invocations: Vec<f64> =
        live.iter().map(|s| value(s, "coldbench_invocations_total", &[("target", "function")])).collect();
    assert!(invocations.windows(2).all(|w| w[0] <= w[1]) && invocations.iter().any(|v| *v > 0.0), "{invocations:?}");

    let results = results_path(&out).unwrap();
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap();
    let last = parse(&std::fs::read_to_string(results.with_file_name("metrics.prom")).unwrap());
    assert!(invocations.iter().all(|v| *v <= value(&last, "coldbench_invocations_total", &[("target", "function")])));
    for target in json["targets"].as_array().unwrap() {
        let name = target["name"].as_str().unwrap();
        let m = &target["measurement"];
        let n = |v: &serde_json::Value| v.as_f64().unwrap();
        let requests = value(&last, "coldbench_requests_total", &[("target", name)]);
        assert_eq!(requests, n(&m["requests"]), "{name}: requests");
        assert_eq!(
            value(&last, "coldbench_requests_total", &[("target", name), ("outcome", "ok")]),
            n(&m["outcomes"]["ok"])
        );
        let Some(function) = target.get("function") else {
            assert_eq!(value(&last, "coldbench_instances", &[("target", name)]), 2.0, "{name}: in service");
            continue;
        };
        let summary = &function["invocations"];
        let invoked = value(&last, "coldbench_invocations_total", &[("target", name)]);
        let throttled = value(&last, "coldbench_throttles_total", &[("target", name)]);
        assert_eq!(invoked + throttled, n(&summary["invocations"]), "{name}: invocations");
        assert!(invoked >= n(&m["requests"]), "every request invoked the function");
        assert_eq!(value(&last, "coldbench_cold_starts_total", &[("target", name)]), n(&summary["cold"]));
        assert!(n(&summary["cold"]) >= 1.0);
        assert_eq!(
            value(&last, "coldbench_billed_milliseconds_total", &[("target", name)]),
            n(&summary["billed_ms_total"])
        );
        let peak = last
            .samples
            .iter()
            .filter(|s| s.metric == "coldbench_instance_max_memory_bytes")
            .map(|s| match s.value {
                Value::Gauge(v) | Value::Untyped(v) => v,
                _ => 0.0,
            })
            .fold(0.0, f64::max);
        assert_eq!(peak, n(&summary["max_memory_used_mb"]) * 1_048_576.0, "{name}: peak memory");
        let histogram = last.samples.iter().find(|s| s.metric == "coldbench_init_duration_seconds").unwrap();
        let Value::Histogram(buckets) = &histogram.value else { panic!("{histogram:?}") };
        assert_eq!(buckets.last().unwrap().count, n(&summary["cold"]), "every Init in the +Inf bucket");
    }
}

async fn get(url: &str) -> Result<String, Box<dyn std::error::Error>> {
    let uri: http::Uri = url.parse()?;
    let stream = tokio::net::TcpStream::connect(uri.authority().unwrap().as_str()).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request =
        http::Request::get(uri.path()).header("host", "metrics").body(http_body_util::Empty::<bytes::Bytes>::new())?;
    let response = sender.send_request(request).await?;
    assert_eq!(response.status(), 200);
    let body = http_body_util::BodyExt::collect(response.into_body()).await?.to_bytes();
    Ok(String::from_utf8(body.to_vec())?)
}
