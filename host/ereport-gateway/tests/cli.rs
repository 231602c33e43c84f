//! The binaries, driven by their flags as a user would.

mod common;

use std::net::UdpSocket;
use std::process::Command;
use std::time::Duration;

use common::{json_lines, temp_path};
use serde_json::Value;
use sp_sim::sim::{Sim, SimConfig};

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The collector id the runs below are given.
const COLLECTOR: &str = "6f1d2c3b-4a59-4e68-9d7c-0b1a2f3e4d5c";

fn gateway() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ereport-gateway"))
}

#[test]
fn bad_values_name_the_flag_and_the_expected_form() {
    for (args, flag) in [
        (vec!["--once", "--follow"], "--follow"),
        (vec!["--limit", "0"], "--limit"),
        (vec!["--limit", "256"], "--limit"),
        (vec!["--timeout", "abc"], "--timeout"),
        (vec!["--sp", "127.0.0.1:http"], "--sp"),
        (vec!["--sp", "no-such-host.invalid"], "--sp"),
        (vec!["--run-for", "1s"], "--follow"),
        (vec!["--db", ""], "--db"),
        (vec!["--db", ":memory:"], "durable"),
    ] {
        let out = gateway().args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "{args:?}: {err}");
    }
}

#[test]
fn help_and_version() {
    let out = gateway().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for text in [
        "--json",
        "127.0.0.1:57005",
        "[default: 16]",
        "--inventory",
        "[default: 250ms]",
        "[default: 20]",
        "Examples:",
    ] {
        assert!(help.contains(text), "{text} in\n{help}");
    }
    let out = gateway().arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ereport-gateway "));
}

#[test]
fn no_answer_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let out = gateway()
        .args([
            "--sp",
            &format!("localhost:{port}"),
            "--attempts",
            "2",
            "--timeout",
            "50ms",
        ])
        .arg("--db")
        .arg(dir.path().join("db.sqlite"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("no answer from 127.0.0.1:{port} after 2 attempts")),
        "{err}"
    );
}

#[test]
fn gateway_prints_json_lines_and_resumes() {
    let sim = Sim::start(SimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        rate: 80.0,
        vpd_delay: Duration::ZERO,
        seed: 3,
        ..SimConfig::default()
    })
    .unwrap();
    let listen = sim.local_addr().to_string();
    std::thread::sleep(Duration::from_millis(700));
    let db = temp_path("cli");
    let run = || {
        gateway()
            .args([
                "--sp",
                &listen,
                "--db",
                db.to_str().unwrap(),
                "--once",
                "--json",
                "--collector-id",
                COLLECTOR,
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
    let lines = json_lines(&first.stdout);
    assert!(lines.len() > 5, "{} ereports", lines.len());
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["ena"], Value::from(i as u64 + 1), "ENAs from 1, in order");
        assert!(
            l["restart_id"].as_str().is_some_and(|r| r.len() == 36),
            "{l}"
        );
        assert_eq!(l["sp_name"], "sp");
        let report = &l["report"];
        for key in ["ena", "restart_id", "sp_name"] {
            assert!(report.get(key).is_none(), "{key} merged into {report}");
        }
        for key in [
            "hubris_task_name",
            "hubris_task_gen",
            "hubris_uptime_ms",
            "ereport_message_version",
            "baseboard_part_number",
            "baseboard_serial_number",
            "baseboard_rev",
            "hubris_caboose",
        ] {
            assert!(report.get(key).is_some(), "{key} missing in {l}");
        }
    }
    assert_eq!(lines[0]["report"]["hubris_task_name"], "packrat");
    assert_eq!(
        lines[0]["report"]["lost"],
        Value::Null,
        "the initial loss record"
    );
    assert!(lines[1]["report"]["k"].is_string() && lines[1]["report"]["v"].is_number());
    let last = lines.last().unwrap()["ena"].as_u64().unwrap();

    std::thread::sleep(Duration::from_millis(500));
    let second = run();
    assert!(second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("resuming restart"), "{err}");
    let more = json_lines(&second.stdout);
    assert!(!more.is_empty());
    assert_eq!(
        more[0]["ena"].as_u64(),
        Some(last + 1),
        "resumed right after the last ENA"
    );
    assert_eq!(more[0]["restart_id"], lines[0]["restart_id"]);
    // Both runs recorded the collector id they were given.
    let rows = json_lines(
        &gateway()
            .args(["query", "--json", "--db", db.to_str().unwrap()])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(rows.len(), lines.len() + more.len());
    assert!(
        rows.iter().all(|r| r["collector_id"] == COLLECTOR),
        "{rows:?}"
    );
    let bad = gateway()
        .args([
            "--collector-id",
            "collector-1",
            "--db",
            db.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--collector-id"));

    sim.stop();
    common::remove_db(&db);
}

#[test]
fn everything_the_simulator_sends_matches_the_committed_catalog() {
    let sim = Sim::start(SimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        rate: 200.0,
        vpd_delay: Duration::ZERO,
        fault_every: Some(Duration::from_millis(100)),
        seed: 5,
        ..SimConfig::default()
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let dir = tempfile::tempdir().unwrap();
    let catalog = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/catalog.json");
    let out = gateway()
        .args([
            "--sp",
            &sim.local_addr().to_string(),
            "--json",
            "--catalog",
            catalog,
        ])
        .arg("--db")
        .arg(dir.path().join("db.sqlite"))
        .output()
        .unwrap();
    sim.stop();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out.stdout);
    assert!(lines.len() > 20);
    let classes: std::collections::BTreeSet<&str> = lines
        .iter()
        .filter_map(|l| l["report"]["k"].as_str())
        .collect();
    assert!(
        classes.iter().any(|c| c.starts_with("hubris.fault")),
        "{classes:?}"
    );
    for l in &lines {
        assert!(l.get("catalog_error").is_none(), "{l}");
    }
}
