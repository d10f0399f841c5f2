//! The command line's conventions: edge values refused alike by every command with a usage
//! error (2, never a failed target's 5), messages without Rust's formatting, examples in each
//! subcommand's help, completions and a man page, colour only where it is wanted.

mod common;

use common::*;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let output = coldbench().args(args).output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into(),
        String::from_utf8_lossy(&output.stderr).into(),
    )
}

#[test]
fn edge_values_are_usage_errors_in_words() {
    let trace = concat!(env!("CARGO_MANIFEST_DIR"), "/workloads/traces/azure-sample.csv");
    let cases: [(&[&str], &str); 9] = [
        (&["cost", "--requests-per-month", "0"], "must be more than 0"),
        (&["cost", "--requests-per-day", "0"], "must be more than 0"),
        (&["cost", "--requests-per-month", "5M", "--count", "0"], "must be at least 1"),
        (&["cost", "--requests-per-month", "5M", "--duration", "0ms"], "must be longer than 0"),
        (&["replay", "--memory-mb", "0", trace], "from 128 to 10240"),
        (&["runtime", "--memory-mb", "64"], "from 128 to 10240"),
        (&["load", "-n", "0", "http://127.0.0.1:9/"], "must be at least 1"),
        (&["load", "-d", "0s", "http://127.0.0.1:9/"], "must be longer than 0"),
        (&["run", "workloads/quickstart.toml", "--repeat", "0"], "must be at least 1"),
    ];
    for (args, says) in cases {
        let (code, _, stderr) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        for rust in ["Some(", "..=", "f64", "u32", "usize"] {
            assert!(!stderr.contains(rust), "{args:?}: Rust's formatting in {stderr}");
        }
    }
    // An invalid Fargate size names the valid ones.
    let (code, _, stderr) = run(&["cost", "--requests-per-month", "5M", "--fargate", "0.25,4"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("4 GB does not go with 0.25 vCPU on Fargate: 0.5, 1, 2 GB"), "{stderr}");
}

#[test]
fn a_url_without_its_scheme_gets_a_hint_and_a_refused_connection_says_so() {
    let (code, _, stderr) = run(&["load", "-n", "1", "localhost:8080/x"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("did you mean \"http://localhost:8080/x\"?"), "{stderr}");
    let url = format!("http://127.0.0.1:{}/", closed_port());
    let (code, _, stderr) = run(&["load", "-n", "2", "--quiet", &url]);
    assert_eq!(code, Some(5), "a failed target, not a usage error: {stderr}");
    assert!(stderr.contains("connection refused: is the server listening on that port?"), "{stderr}");
}

#[test]
fn every_subcommand_has_examples_and_the_exit_codes_are_listed() {
    let (_, help, _) = run(&["--help"]);
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains("Exit codes: 0 complete") && help.contains("5 a target failed"), "{help}");
    for command in ["run", "load", "simulate", "replay", "report", "compare", "cost", "runtime", "completions", "man"] {
        let (code, help, _) = run(&[command, "--help"]);
        assert_eq!(code, Some(0));
        assert!(help.contains("Examples:\n  coldbench "), "{command} --help has no examples:\n{help}");
    }
}

#[test]
fn completions_and_the_man_page_cover_the_commands() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, script, _) = run(&["completions", shell]);
        assert_eq!(code, Some(0));
        assert!(script.contains("simulate") && script.contains("requests-per-month"), "{shell}: {script}");
    }
    let (code, page, _) = run(&["man"]);
    assert_eq!(code, Some(0));
    assert!(page.contains(".TH coldbench 1") && page.contains("simulate"), "{page}");
}

#[test]
fn colour_only_where_wanted() {
    let url = format!("http://127.0.0.1:{}/", closed_port());
    let colour = |env: &[(&str, &str)]| {
        let mut command = coldbench();
        command.args(["load", "-n", "1", "--quiet", &url]).env_remove("NO_COLOR");
        for (k, v) in env {
            command.env(k, v);
        }
        String::from_utf8_lossy(&command.output().unwrap().stderr).contains('\u{1b}')
    };
    assert!(colour(&[("CLICOLOR_FORCE", "1")]), "forced colour");
    assert!(!colour(&[]), "a pipe gets no colour");
    assert!(!colour(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]), "NO_COLOR wins");
}
