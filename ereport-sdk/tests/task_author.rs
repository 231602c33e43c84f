//! The `task-author` example runs and shows its classes and bounds.

use std::process::Command;

fn task_author() -> Command {
    // `cargo test` builds the package's examples beside the test binaries.
    let exe = std::env::current_exe().unwrap();
    Command::new(
        exe.parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("examples/task-author"),
    )
}

#[test]
fn task_author_example_prints_bounds() {
    let out = task_author().output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for class in ["hw.pwr.vout.fault", "hw.fan.fault", "hw.dimm.ecc.ue"] {
        assert!(text.contains(class), "{class}");
    }
    assert!(text.contains(r#""fault": "slow""#));
    assert!(
        text.contains(r#""socket": 0, "channel": 3"#),
        "flattened fields sit in the ereport's map"
    );
}

#[test]
fn task_author_answers_help_and_refuses_arguments() {
    let help = task_author().arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage"));
    let bad = task_author().arg("--bogus").output().unwrap();
    assert!(!bad.status.success());
}
