//! `coldbench k8s`: a Kubernetes Indexed Job that runs one workload's load from N pods at once,
//! one shard each (`run --shards N`, the index from `JOB_COMPLETION_INDEX`), all beginning at
//! one instant; and the ConfigMap that carries the workload file to them.
//!
//! Printed as a JSON `v1 List` (what `kubectl apply -f -` takes), built from k8s-openapi's types.
//! Collecting the results: with `--results-claim`, every pod writes its run folder to a shared
//! volume (`/results/shard-I/`), and `coldbench merge /results/shard-*/*/results.json` merges them;
//! without one, each pod prints its results.json as its log, for `kubectl logs` to collect.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, PersistentVolumeClaimVolumeSource, PodSpec, PodTemplateSpec, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::cli::K8sArgs;
use crate::workload::Workload;

/// Where the pods find the workload file.
const WORKLOAD_DIR: &str = "/workload";
/// Where the pods write their results, with `--results-claim`.
const RESULTS_DIR: &str = "/results";

/// Prints the manifest.
///
/// # Errors
/// An invalid workload, or one with a target that cannot be sharded (named).
pub fn k8s(args: &K8sArgs) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(&args.workload).with_context(|| format!("reading {}", args.workload.display()))?;
    let workload = Workload::load(&args.workload)?;
    let start_at = SystemTime::now() + Duration::from_secs(args.start_in);
    let manifest = manifest(&workload, &text, args, start_at)?;
    println!("{}", serde_json::to_string_pretty(&manifest)?);
    eprintln!("{}", collection_steps(&workload, args));
    Ok(ExitCode::SUCCESS)
}

/// The ConfigMap and the Job, as one `List`.
///
/// # Errors
/// When a target of the workload cannot be sharded.
pub fn manifest(
    workload: &Workload,
    text: &str,
    args: &K8sArgs,
    start_at: SystemTime,
) -> anyhow::Result<serde_json::Value> {
    workload.check_shardable(&workload.spec.targets.iter().collect::<Vec<_>>())?;
    let name = object_name(&workload.spec.name);
    let labels = BTreeMap::from([("app.kubernetes.io/name".to_string(), "coldbench".to_string())]);
    let meta = |name: &str| ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(args.namespace.clone()),
        labels: Some(labels.clone()),
        ..ObjectMeta::default()
    };
    let config = ConfigMap {
        metadata: meta(&name),
        data: Some(BTreeMap::from([("workload.toml".to_string(), text.to_string())])),
        ..ConfigMap::default()
    };
    let start = humantime::format_rfc3339_seconds(start_at).to_string();
    let mut run = vec![
        "run".to_string(),
        format!("{WORKLOAD_DIR}/workload.toml"),
        "--shards".into(),
        args.shards.to_string(),
        "--start-at".into(),
        start,
        "--quiet".into(),
    ];
    let mut volumes = vec![Volume {
        name: "workload".into(),
        config_map: Some(ConfigMapVolumeSource { name: name.clone(), ..ConfigMapVolumeSource::default() }),
        ..Volume::default()
    }];
    let mut mounts = vec![VolumeMount {
        name: "workload".into(),
        mount_path: WORKLOAD_DIR.into(),
        read_only: Some(true),
        ..VolumeMount::default()
    }];
    match &args.results_claim {
        Some(claim) => {
            // Each pod its own folder: $(VAR) is expanded by Kubernetes from the container's env.
            run.extend(["--out".into(), format!("{RESULTS_DIR}/shard-$(JOB_COMPLETION_INDEX)")]);
            volumes.push(Volume {
                name: "results".into(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: claim.clone(),
                    read_only: Some(false),
                }),
                ..Volume::default()
            });
            mounts.push(VolumeMount {
                name: "results".into(),
                mount_path: RESULTS_DIR.into(),
                ..VolumeMount::default()
            });
        }
        None => run.extend(["--json".into(), "--out".into(), "/tmp/coldbench".into()]),
    }
    let container = Container {
        name: "coldbench".into(),
        image: Some(args.image.clone()),
        command: Some(vec!["coldbench".into()]),
        args: Some(run),
        volume_mounts: Some(mounts),
        ..Container::default()
    };
    let job = Job {
        metadata: meta(&name),
        spec: Some(JobSpec {
            completion_mode: Some("Indexed".into()),
            completions: Some(args.shards as i32),
            // Every shard at once: each sends 1/N of the schedule from the same instant.
            parallelism: Some(args.shards as i32),
            // A retried shard would send its part late, at the wrong time: it fails instead.
            backoff_limit: Some(0),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels.clone()), ..ObjectMeta::default() }),
                spec: Some(PodSpec {
                    restart_policy: Some("Never".into()),
                    containers: vec![container],
                    volumes: Some(volumes),
                    ..PodSpec::default()
                }),
            },
            ..JobSpec::default()
        }),
        ..Job::default()
    };
    Ok(serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": [serde_json::to_value(config)?, serde_json::to_value(job)?],
    }))
}

/// What to do after `kubectl apply`, printed on stderr (stdout is the manifest).
fn collection_steps(workload: &Workload, args: &K8sArgs) -> String {
    let name = object_name(&workload.spec.name);
    let wait = format!("kubectl -n {} wait --for=condition=complete --timeout=1h job/{name}", args.namespace);
    match &args.results_claim {
        Some(claim) => format!(
            "# after `kubectl apply -f -`:\n#   {wait}\n# then, from any pod or machine that mounts {claim}:\n#   \
             coldbench merge {RESULTS_DIR}/shard-*/*/results.json --out merged"
        ),
        None => format!(
            "# after `kubectl apply -f -`:\n#   {wait}\n#   for i in $(seq 0 {}); do kubectl -n {} logs \
             $(kubectl -n {} get pods -l batch.kubernetes.io/job-completion-index=$i,job-name={name} -o name) \
             | sed -n '/^{{/,$p' > shard-$i.json; done\n#   coldbench merge shard-*.json --out merged\n# (a \
             pod's log is its warnings, then its results.json from the first line that opens with `{{`)",
            args.shards - 1,
            args.namespace,
            args.namespace
        ),
    }
}

/// A DNS-1123 name from a workload's name: lower case, digits and `-`, at most 63 characters.
fn object_name(workload: &str) -> String {
    let mut name: String = format!("coldbench-{workload}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect();
    name.truncate(63);
    name.trim_end_matches('-').to_string()
}
