//! The crate's floor plan, checked: every module of `src/` sits on one layer, and a module may
//! use only modules on its own layer or below. The table is the rule; `ARCHITECTURE.md` explains
//! it. Like rust-analyzer's tidy tests, this reads the source as text — every `crate::name` a
//! file mentions outside comments — so a new upward import fails `cargo test`.
//!
//! | layer | modules | what lives there |
//! |---|---|---|
//! | 0 | `time`, `units`, `process`, `http`, `lambda` | the ground: clock and timers, numbers for people, process groups, HTTP plumbing and the `x-coldbench-*` names, Lambda's limits and defaults |
//! | 1 | `metrics`, `cost` | what was measured (recorder, histograms, `RunReport`); prices and the pure bill |
//! | 2 | `workload` | the workload file: spec, validation, arrivals (no runtime types) |
//! | 3 | `policy` | pure decisions shared by real and simulated runs: pool, keep-alive, keep-warm schedule |
//! | 4 | `function`, `runtime`, `container`, `gateway`, `loadgen`, `cloud` | the machinery of a real run |
//! | 5 | `target`, `simulate` | one deployment driven end to end, really or in simulated time |
//! | 6 | `analysis`, `report` | figures derived from a report and pricing; exporters and charts |
//! | 7 | `commands`, `cli` | argument parsing and dispatch |
//!
//! Modules on one layer may use each other, but the modules of the whole crate must form no
//! cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const LAYERS: &[&[&str]] = &[
    &["time", "term", "units", "cgroup", "host", "isolation", "process", "http", "lambda"],
    &["metrics", "cost"],
    &["workload"],
    &["policy"],
    &["function", "runtime", "container", "gateway", "loadgen", "cloud"],
    &["target", "simulate"],
    &["analysis", "report"],
    &["commands", "cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level module a source file belongs to (`None` for `lib.rs` and `main.rs`).
fn module_of(path: &Path, src: &Path) -> Option<String> {
    let relative = path.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_string())
}

/// Every top-level module a file's code names as `crate::name` or inside `use crate::{a, b}`.
fn imports(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or("");
                for item in inner.split(',') {
                    let head = item.trim().split("::").next().unwrap_or("").trim();
                    if !head.is_empty() {
                        found.insert(head.to_string());
                    }
                }
            } else {
                let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
            rest = after;
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Module → the modules it uses, from the whole `src/` tree.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Some(module) = module_of(&file, &src) else { continue };
        let text = std::fs::read_to_string(&file).unwrap();
        let uses = graph.entry(module.clone()).or_default();
        uses.extend(imports(&text).into_iter().filter(|m| *m != module));
    }
    graph
}

#[test]
fn every_module_is_on_a_layer() {
    let unplaced: Vec<String> = graph().into_keys().filter(|m| layer_of(m).is_none()).collect();
    assert!(unplaced.is_empty(), "modules missing from the layer table in tests/layers.rs: {unplaced:?}");
}

#[test]
fn no_module_uses_a_higher_layer() {
    let mut upward = Vec::new();
    for (module, uses) in graph() {
        let Some(own) = layer_of(&module) else { continue };
        for used in uses {
            if let Some(theirs) = layer_of(&used) {
                if theirs > own {
                    upward.push(format!("{module} (layer {own}) uses {used} (layer {theirs})"));
                }
            }
        }
    }
    assert!(upward.is_empty(), "imports against the layering:\n{}", upward.join("\n"));
}

#[test]
fn modules_form_no_cycle() {
    let graph = graph();
    // Depth-first search with colours: grey on the current path, black when done.
    fn visit<'g>(
        node: &'g str,
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        colour: &mut BTreeMap<&'g str, u8>,
        path: &mut Vec<&'g str>,
    ) -> Option<Vec<String>> {
        match colour.get(node) {
            Some(1) => {
                let start = path.iter().position(|n| *n == node).unwrap_or(0);
                let mut cycle: Vec<String> = path[start..].iter().map(|s| s.to_string()).collect();
                cycle.push(node.to_string());
                return Some(cycle);
            }
            Some(2) => return None,
            _ => {}
        }
        colour.insert(node, 1);
        path.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if graph.contains_key(next.as_str()) {
                if let Some(cycle) = visit(next, graph, colour, path) {
                    return Some(cycle);
                }
            }
        }
        path.pop();
        colour.insert(node, 2);
        None
    }
    let mut colour = BTreeMap::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut colour, &mut Vec::new()) {
            panic!("module cycle: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn the_checker_sees_grouped_and_inline_imports() {
    let text = "use crate::{metrics::Outcome, time};\nfn f() { crate::policy::Pool::new(); } // crate::report";
    let found: Vec<String> = imports(text).into_iter().collect();
    assert_eq!(found, ["metrics", "policy", "time"]);
}
