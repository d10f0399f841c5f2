//! Every workload the repository ships loads, validates and prices with the embedded catalog.

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
