//! The demo, run as a newcomer runs it.

use std::process::Command;

#[test]
fn demo_runs_and_summarises() {
    let out = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["--seconds", "2"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("LOSS"), "a loss record shows:\n{text}");
    assert!(text.contains("summary"));
    let line = |what: &str| {
        let l = text.lines().find(|l| l.contains(what)).unwrap();
        l.split_whitespace().last().unwrap().parse::<u64>().unwrap()
    };
    assert_eq!(
        line("SP: lost, store full"),
        line("gateway: losses reported"),
        "every loss reaches the gateway"
    );
    let bad = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["--seconds", "abc"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--seconds"));
}

#[test]
fn the_demo_on_a_closed_pipe_exits_quietly() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["--seconds", "1"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?} {err}", out.status);
    assert!(!err.contains("panicked"), "{err}");
}
