//! `coldbench cost`: the calculator and the worked examples, pinned.

#[test]
fn cost_examples_reproduce_the_worked_examples() {
    let output =
        std::process::Command::new(env!("CARGO_BIN_EXE_coldbench")).args(["cost", "--examples"]).output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    for figure in
        ["$      0.16/month", "$      4.23/month", "$     17.67/month", "$      7.59/month", "about 732.5 hours"]
    {
        assert!(text.contains(figure), "{figure} missing:\n{text}");
    }
}

#[test]
fn bad_cost_options_name_the_option() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_coldbench"))
        .args(["cost", "--requests-per-month", "5M", "--fargate", "0.25,abc"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--fargate \"0.25,abc\": GB \"abc\""));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_coldbench"))
        .args(["cost", "--requests-per-month", "1M", "--instance", "x9.mega"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stderr).contains("no EC2 price for \"x9.mega\""));
}
