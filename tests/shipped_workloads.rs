//! Every workload the repository ships loads, validates and prices with the embedded catalog;
//! the ones whose point is a comparison show it.

mod common;

#[test]
fn every_shipped_workload_is_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/workloads");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "toml") {
            let workload = coldbench::workload::Workload::load(&path).unwrap_or_else(|e| panic!("{e}"));
            workload.check_pricing(&coldbench::cost::Pricing::embedded()).unwrap_or_else(|e| panic!("{e}"));
            seen += 1;
        }
    }
    assert!(seen >= 8, "only {seen} workloads found in {dir}");
}

#[test]
fn on_the_cache_workload_a_container_keeps_its_cache_and_a_function_does_not() {
    let out = tempfile::tempdir().unwrap();
    let workload = concat!(env!("CARGO_MANIFEST_DIR"), "/workloads/cache.toml");
    let json = common::run_json(workload.as_ref(), Some(std::time::Duration::from_secs(10)), out.path());
    let target = |name: &str| json["targets"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap().clone();
    let (function, container) = (target("function"), target("container"));
    let ratio = |t: &serde_json::Value| {
        let cache = &t["measurement"]["cache"];
        let (hits, misses) = (cache["hits"].as_f64().unwrap(), cache["misses"].as_f64().unwrap());
        assert_eq!(hits + misses, t["measurement"]["outcomes"]["ok"].as_f64().unwrap(), "every ok response said");
        hits / (hits + misses)
    };
    let started = function["function"]["stats"]["instances_started"].as_u64().unwrap();
    eprintln!(
        "hit ratio: function {:.3} over {started} instances, container {:.3}",
        ratio(&function),
        ratio(&container)
    );
    assert!(started >= 3, "the function scaled to several instances: {started}");
    assert!(ratio(&container) > ratio(&function) + 0.1, "the one long-lived cache hits more");
}
