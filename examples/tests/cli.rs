//! The binaries, driven by their flags as a user would.

mod common;

use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::temp_path;
use serde_json::Value;

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn sp_sim_refuses_remote_addresses_unless_allowed() {
    let out = Command::new(env!("CARGO_BIN_EXE_sp-sim"))
        .args(["--listen", "0.0.0.0:0", "--run-for", "0s"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("non-loopback") && err.contains("--allow-remote"),
        "{err}"
    );
}

#[test]
fn bad_flags_are_clear_errors() {
    for args in [
        vec!["--store-bytes", "10"],
        vec!["--store-bytes", "100000"],
        vec!["--rate", "-3"],
        vec!["--bogus"],
        vec!["--fault-every", "soon"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_sp-sim"))
            .args(&args)
            .arg("--quiet")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("sp-sim: "),
            "{args:?}"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_ereport-gateway"))
        .args(["--once", "--follow"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = Command::new(env!("CARGO_BIN_EXE_ereport-gateway"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--json"));
}

#[test]
fn gateway_prints_json_lines_and_resumes() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut sim = Command::new(env!("CARGO_BIN_EXE_sp-sim"))
        .args([
            "--listen",
            &listen,
            "--rate",
            "80",
            "--vpd-delay-ms",
            "0",
            "--run-for",
            "6s",
            "--seed",
            "3",
        ])
        .arg("--quiet")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let db = temp_path("cli");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_ereport-gateway"))
            .args([
                "--sp",
                &listen,
                "--db",
                db.to_str().unwrap(),
                "--once",
                "--json",
            ])
            .output()
            .unwrap()
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&first.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() > 5, "{} ereports", lines.len());
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["ena"], Value::from(i as u64 + 1), "ENAs from 1, in order");
        for key in [
            "restart_id",
            "hubris_task_name",
            "hubris_task_gen",
            "hubris_uptime_ms",
            "ereport_message_version",
            "baseboard_part_number",
            "baseboard_serial_number",
            "baseboard_rev",
            "hubris_caboose",
        ] {
            assert!(l.get(key).is_some(), "{key} missing in {l}");
        }
    }
    assert_eq!(lines[0]["hubris_task_name"], "packrat");
    assert_eq!(lines[0]["lost"], Value::Null, "the initial loss record");
    assert!(lines[1]["k"].is_string() && lines[1]["v"].is_number());
    let last = lines.last().unwrap()["ena"].as_u64().unwrap();

    std::thread::sleep(Duration::from_millis(500));
    let second = run();
    assert!(second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("resuming restart"), "{err}");
    let more: Vec<Value> = String::from_utf8_lossy(&second.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!more.is_empty());
    assert_eq!(
        more[0]["ena"].as_u64(),
        Some(last + 1),
        "resumed right after the last ENA"
    );
    assert_eq!(more[0]["restart_id"], lines[0]["restart_id"]);

    let status = sim.wait().unwrap();
    assert!(status.success());
    let _ = std::fs::remove_file(db);
}

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
    let delivered = text
        .lines()
        .find(|l| l.contains("SP: lost, store full"))
        .unwrap();
    let reported = text
        .lines()
        .find(|l| l.contains("gateway: losses reported"))
        .unwrap();
    let num = |l: &str| l.split_whitespace().last().unwrap().parse::<u64>().unwrap();
    assert_eq!(
        num(delivered),
        num(reported),
        "every loss reaches the gateway"
    );
}

#[test]
fn task_author_example_prints_bounds() {
    let out = Command::new(env!("CARGO_BIN_EXE_task-author"))
        .output()
        .unwrap();
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
