//! Load past one machine: shards of a schedule, merged exactly; the checks that refuse shards
//! that do not belong together; and the Kubernetes Indexed Job that runs them.

mod common;

use std::time::{Duration, Instant};

use coldbench::metrics::{decode, merge_measurements, Outcome, Recorder, Sample};
use common::*;

/// A deterministic spread of latencies (0.1 ms … ~2 s), outcomes and cold starts over 5 s.
fn samples() -> Vec<(Duration, Sample)> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..20_000)
        .map(|i| {
            let at = Duration::from_micros(i * 250);
            let latency = Duration::from_micros(100 + next() % 2_000_000 / (1 + next() % 50));
            let outcome = match next() % 100 {
                0 => Outcome::Timeout,
                1 => Outcome::HttpError(503),
                2 => Outcome::Throttled,
                _ => Outcome::Ok,
            };
            let cold = Some(next() % 40 == 0);
            let sample = Sample {
                latency,
                service: latency / 2,
                lag: Duration::from_micros(next() % 300),
                cap_wait: if next() % 10 == 0 { Duration::from_micros(next() % 5_000 + 1) } else { Duration::ZERO },
                outcome,
                cold,
                init: cold.filter(|c| *c).map(|_| Duration::from_millis(150 + next() % 100)),
                cache: None,
                phases: None,
            };
            (at, sample)
        })
        .collect()
}

#[test]
fn four_shards_merge_into_exactly_one_runs_recording() {
    let start = Instant::now();
    let end = start + Duration::from_secs(5);
    let all = samples();
    let mut whole = Recorder::new(start);
    let mut shards: Vec<Recorder> = (0..4).map(|_| Recorder::new(start)).collect();
    for (i, (at, sample)) in all.iter().enumerate() {
        whole.record(sample, start + *at, 1);
        shards[i % 4].record(sample, start + *at, 1);
    }
    let whole = whole.finish(end);
    let parts: Vec<_> = shards.into_iter().map(|r| r.finish(end)).collect();
    let merged = merge_measurements(&parts.iter().collect::<Vec<_>>()).unwrap();
    let same = |a: &str, b: &str, what: &str| {
        assert_eq!(decode(a).unwrap(), decode(b).unwrap(), "{what} histograms differ");
    };
    let (h, m) = (&whole.histograms, &merged.histograms);
    same(&h.latency, &m.latency, "latency");
    same(&h.service, &m.service, "service");
    same(&h.lag, &m.lag, "lag");
    same(&h.cold_latency, &m.cold_latency, "cold latency");
    same(&h.warm_latency, &m.warm_latency, "warm latency");
    same(&h.init, &m.init, "init");
    same(&h.cap_wait, &m.cap_wait, "cap wait");
    assert_eq!(whole.intervals.len(), merged.intervals.len());
    for (w, m) in whole.intervals.iter().zip(&merged.intervals) {
        same(w.histogram.as_deref().unwrap(), m.histogram.as_deref().unwrap(), &format!("interval at {} s", w.start_s));
        assert_eq!(
            (w.start_s, w.requests, w.ok, w.errors, w.throttled, w.cold, w.p50_us, w.p99_us, w.max_us),
            (m.start_s, m.requests, m.ok, m.errors, m.throttled, m.cold, m.p50_us, m.p99_us, m.max_us)
        );
    }
    // So every figure is the whole run's, not an average of the shards'.
    assert_eq!(whole.latency, merged.latency);
    assert_eq!(whole.lag, merged.lag);
    assert_eq!(whole.cap_wait, merged.cap_wait);
    assert_eq!(whole.init, merged.init);
    assert_eq!(whole.outcomes, merged.outcomes);
    assert_eq!((whole.requests, whole.cold, whole.warm), (merged.requests, merged.cold, merged.warm));
    let mean_of_p99s = parts.iter().map(|p| p.latency.as_ref().unwrap().p99_us).sum::<u64>() / 4;
    eprintln!("merged p99 {} µs; mean of the shards' p99s {mean_of_p99s} µs", merged.latency.as_ref().unwrap().p99_us);
}

fn workload(dir: &std::path::Path, name: &str, seed: u64, url: &str) -> std::path::PathBuf {
    write_workload(
        dir,
        &format!("{name}-{seed}.toml"),
        &format!(
            r#"
name = "{name}"
duration = "2s"
seed = {seed}
[traffic]
pattern = "poisson"
rate = 200
[[targets]]
name = "api"
kind = "url"
url = "{url}"
"#
        ),
    )
}

fn run_shard(workload: &std::path::Path, shard: &str, out: &std::path::Path) -> std::path::PathBuf {
    let output =
        coldbench().args(["run", "--quiet", "--shard", shard, "--out"]).arg(out).arg(workload).output().unwrap();
    assert!(output.status.success(), "shard {shard}: {}", String::from_utf8_lossy(&output.stderr));
    let folder =
        std::fs::read_dir(out).unwrap().filter_map(Result::ok).map(|e| e.path()).find(|p| {
            p.file_name().unwrap().to_string_lossy().contains(&format!("-shard-{}", shard.replace('/', "-of-")))
        });
    folder.expect("a run folder named for its shard").join("results.json")
}

#[test]
fn shards_of_a_url_run_merge_to_every_arrival_once_and_mismatches_are_refused_by_name() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (addr, stop) = runtime.block_on(serve(|_| async {
        Ok(http::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(b"ok"))))
    }));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{addr}/");
    let wl = workload(dir.path(), "sharded", 7, &url);
    let out = dir.path().join("out");
    let files: Vec<_> = ["0/3", "1/3", "2/3"].iter().map(|s| run_shard(&wl, s, &out)).collect();
    // The schedule is the workload's, whole: Poisson at 200/s for 2 s with seed 7.
    let full = coldbench::workload::Workload::load(&wl).unwrap().schedule().count() as u64;
    let shard_requests: Vec<u64> = files
        .iter()
        .map(|f| serde_json::from_slice::<serde_json::Value>(&std::fs::read(f).unwrap()).unwrap())
        .map(|j| {
            assert_valid_results(&j);
            j["targets"][0]["measurement"]["requests"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(shard_requests.iter().sum::<u64>(), full, "{shard_requests:?}");
    assert!(shard_requests.iter().all(|n| n.abs_diff(full / 3) <= 1), "interleaved: {shard_requests:?}");

    let merged = dir.path().join("merged");
    let output = coldbench().arg("merge").args(&files).arg("--out").arg(&merged).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(merged.join("results.json")).unwrap()).unwrap();
    assert_valid_results(&json);
    let m = &json["targets"][0]["measurement"];
    assert_eq!(m["requests"].as_u64(), Some(full));
    assert_eq!(m["outcomes"]["ok"].as_u64(), Some(full));
    assert_eq!(json["merged"]["shards"].as_array().unwrap().len(), 3);
    assert!(json.get("shard").is_none());

    // A missing shard, a duplicate, and a shard of another seed are each refused by name.
    let refused = |files: &[&std::path::PathBuf]| {
        let output = coldbench().arg("merge").args(files).arg("--out").arg(dir.path().join("x")).output().unwrap();
        assert_eq!(output.status.code(), Some(1));
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    assert!(refused(&[&files[0], &files[2]]).contains("shard 1/3 missing"));
    assert!(refused(&[&files[0], &files[1], &files[1]]).contains("shard 1/3 appears twice"));
    let other_seed = run_shard(&workload(dir.path(), "sharded", 8, &url), "1/3", &dir.path().join("other"));
    let message = refused(&[&files[0], &other_seed, &files[2]]);
    assert!(message.contains("seed 8") && message.contains("seed 7"), "{message}");
    assert!(message.contains(&other_seed.display().to_string()), "{message}");
    runtime.block_on(async { stop.cancel() });
}

#[test]
fn a_local_target_cannot_be_sharded() {
    let dir = tempfile::tempdir().unwrap();
    let wl = write_workload(
        dir.path(),
        "local.toml",
        "name = \"local\"\nduration = \"1s\"\n[traffic]\npattern = \"constant\"\nrate = 10\n[[targets]]\nname = \"fn\"\nkind = \"function\"\n",
    );
    let output = coldbench().args(["run", "--shard", "0/2"]).arg(&wl).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("targets[0]") && stderr.contains("cannot be sharded"), "{stderr}");
}

#[test]
fn the_k8s_manifest_is_an_indexed_job_with_one_completion_per_shard() {
    let dir = tempfile::tempdir().unwrap();
    // `_` is not allowed in a Kubernetes name: the manifest must make one that is.
    let wl = workload(dir.path(), "Edge_API", 1, "https://api.example.com/");
    let output = coldbench()
        .args(["k8s", "--shards", "4", "--image", "example.org/coldbench:1", "--results-claim", "results"])
        .arg(&wl)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(list["kind"], "List");
    let items = list["items"].as_array().unwrap();
    let config: k8s_openapi::api::core::v1::ConfigMap = serde_json::from_value(items[0].clone()).unwrap();
    assert_eq!(config.data.unwrap()["workload.toml"], std::fs::read_to_string(&wl).unwrap());
    assert_eq!(items[1]["kind"], "Job");
    let job: k8s_openapi::api::batch::v1::Job = serde_json::from_value(items[1].clone()).unwrap();
    let name = job.metadata.name.unwrap();
    assert!(name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{name}");
    let spec = job.spec.unwrap();
    assert_eq!(spec.completion_mode.as_deref(), Some("Indexed"));
    assert_eq!((spec.completions, spec.parallelism), (Some(4), Some(4)));
    let pod = spec.template.spec.unwrap();
    let args = pod.containers[0].args.clone().unwrap();
    let at = |flag: &str| args[args.iter().position(|a| a == flag).unwrap() + 1].clone();
    assert_eq!(at("--shards"), "4");
    assert!(humantime::parse_rfc3339(&at("--start-at")).is_ok(), "{args:?}");
    assert!(at("--out").contains("$(JOB_COMPLETION_INDEX)"), "{args:?}");
    assert_eq!(pod.restart_policy.as_deref(), Some("Never"));

    // A workload with a local target is refused, by target.
    let local = write_workload(
        dir.path(),
        "local.toml",
        "name = \"local\"\nduration = \"1s\"\n[traffic]\npattern = \"constant\"\nrate = 10\n[[targets]]\nname = \"fn\"\nkind = \"function\"\n",
    );
    let output = coldbench().args(["k8s", "--shards", "2", "--image", "x"]).arg(&local).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot be sharded"));
}
