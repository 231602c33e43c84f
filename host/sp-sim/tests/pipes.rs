//! Programs whose output nobody reads any more (`| head`, a closed
//! terminal) stop quietly instead of panicking.

use std::process::{Command, Stdio};

/// A pipe whose reading end is already closed: every write to it fails
/// with a broken pipe, deterministically.
fn closed_pipe() -> std::io::PipeWriter {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    writer
}

#[test]
fn the_catalog_on_a_closed_pipe_exits_quietly() {
    for args in [&[][..], &["--markdown"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_ereport-catalog"))
            .args(args)
            .stdout(closed_pipe())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?} {err}", out.status);
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn sp_sim_with_its_log_on_a_closed_pipe_runs_on() {
    let out = Command::new(env!("CARGO_BIN_EXE_sp-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--run-for",
            "300ms",
            "--rate",
            "200",
        ])
        .stdout(Stdio::null())
        .stderr(closed_pipe())
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", out.status);
}
