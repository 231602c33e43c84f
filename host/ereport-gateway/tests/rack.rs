//! A rack: the gateway on an inventory of simulated SPs, one of them dead.

mod common;

use std::net::UdpSocket;
use std::process::Command;
use std::time::{Duration, Instant};

use common::json_lines;
use rusqlite::Connection;
use serde_json::Value;
use sp_sim::rack::Rack;
use sp_sim::sim::SimConfig;

#[test]
fn an_inventory_is_drained_in_parallel_and_a_dead_sp_is_named() {
    let rack = Rack::start(
        6,
        "127.0.0.1:0".parse().unwrap(),
        &SimConfig {
            rate: 100.0,
            vpd_delay: Duration::ZERO,
            ..SimConfig::default()
        },
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // The rack's inventory, and one SP that never answers.
    let dead = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut inventory = rack.inventory();
    inventory.as_array_mut().unwrap().push(serde_json::json!({
        "name": "sled-99", "kind": "sled", "slot": 99, "address": dead.local_addr().unwrap().to_string()
    }));
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("rack.json");
    std::fs::write(&inv, inventory.to_string()).unwrap();
    let db = dir.path().join("rack.sqlite");
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_ereport-gateway"))
        .args([
            "--json",
            "--status",
            "--timeout",
            "50ms",
            "--attempts",
            "4",
            "--parallel",
            "4",
        ])
        .arg("--inventory")
        .arg(&inv)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    let took = started.elapsed();
    let stats = rack.stop();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("could not drain 1 of 7 SPs: sled-99 (no answer from"),
        "{err}"
    );
    assert!(
        took < Duration::from_secs(10),
        "the dead SP costs only its own timeouts: {took:?}"
    );

    // Status lines go to standard error, apart from the ereports.
    let status_lines: Vec<Value> = err
        .lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let status: Vec<&Value> = status_lines
        .iter()
        .filter_map(|l| l.get("sp_status"))
        .collect();
    assert_eq!(status.len(), 7);
    let lines = json_lines(&out.stdout);
    assert!(lines.iter().all(|l| l.get("sp_status").is_none()));
    let dead_status = status.iter().find(|s| s["name"] == "sled-99").unwrap();
    assert_eq!(dead_status["consecutive_failures"], 1);
    assert!(
        status
            .iter()
            .filter(|s| s["name"] != "sled-99")
            .all(|s| s["consecutive_failures"] == 0)
    );

    // Every SP's ereports, with where they came from.
    let conn = Connection::open(&db).unwrap();
    for (slot, st) in &stats {
        let (rows, serials, kinds): (i64, i64, String) = conn
            .query_row(
                "SELECT COUNT(*), COUNT(DISTINCT serial_number), MAX(sp_type) FROM ereport
                 WHERE sp_name = ?1 AND class NOT LIKE 'ereport.data_loss%'",
                [&slot.name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert!(
            rows as u64 >= st.delivered.min(1),
            "{}: {rows} rows",
            slot.name
        );
        assert_eq!(serials, 1, "{}", slot.name);
        assert_eq!(kinds, slot.kind.name());
    }
    let distinct: i64 = conn
        .query_row(
            "SELECT COUNT(DISTINCT serial_number) FROM ereport",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(distinct, 6, "one serial per SP");
    let loss: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM ereport WHERE class = 'ereport.data_loss.possible' AND ena = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(loss, 6, "each SP's ENA 1 is its initial loss record");
}

#[test]
fn query_summary_and_retention_on_a_rack() {
    let rack = Rack::start(
        3,
        "127.0.0.1:0".parse().unwrap(),
        &SimConfig {
            rate: 150.0,
            vpd_delay: Duration::ZERO,
            ..SimConfig::default()
        },
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("rack.json");
    std::fs::write(&inv, rack.inventory().to_string()).unwrap();
    let db = dir.path().join("rack.sqlite");
    let gateway = || Command::new(env!("CARGO_BIN_EXE_ereport-gateway"));
    let out = gateway()
        .arg("--inventory")
        .arg(&inv)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    rack.stop();

    let q = gateway()
        .args(["query", "--sp", "sled-00", "--json"])
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(q.status.success(), "{}", String::from_utf8_lossy(&q.stderr));
    let rows = json_lines(&q.stdout);
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["sp_name"] == "sled-00"));
    let q = gateway()
        .args(["query", "--class", "hw.temp.*", "--json", "--since", "1h"])
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    let rows = json_lines(&q.stdout);
    assert!(
        rows.iter().all(|r| r["class"] == "hw.temp.overtemp"),
        "{rows:?}"
    );

    let s = gateway()
        .args(["summary", "--json"])
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    let counts = json_lines(&s.stdout);
    let total: u64 = counts.iter().map(|c| c["count"].as_u64().unwrap()).sum();
    let conn = Connection::open(&db).unwrap();
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM ereport", [], |r| r.get(0))
        .unwrap();
    assert_eq!(total, rows as u64);
    assert_eq!(
        counts
            .iter()
            .map(|c| c["sp"].as_str().unwrap())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        3
    );

    // Age half the rows by two days; --retain-days 1 marks exactly those
    // deleted, and `purge` deletes them once they were marked long enough
    // ago.
    conn.execute(
        "UPDATE ereport SET time_collected = time_collected - 2 * 86400000 WHERE ena % 2 = 0",
        [],
    )
    .unwrap();
    let old: i64 = conn
        .query_row("SELECT COUNT(*) FROM ereport WHERE ena % 2 = 0", [], |r| {
            r.get(0)
        })
        .unwrap();
    let dead = UdpSocket::bind("127.0.0.1:0").unwrap();
    let out = gateway()
        .args([
            "--retain-days",
            "1",
            "--attempts",
            "1",
            "--timeout",
            "20ms",
            "--sp",
        ])
        .arg(dead.local_addr().unwrap().to_string())
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("marked {old} ereports older than 1 day deleted")),
        "{err}"
    );
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT COUNT(*) FROM ereport"), rows, "soft deletion");
    assert_eq!(
        count("SELECT COUNT(*) FROM ereport WHERE time_deleted IS NOT NULL AND ena % 2 = 0"),
        old
    );
    let listed = json_lines(
        &gateway()
            .args(["query", "--json", "--limit", "100000", "--db"])
            .arg(&db)
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(listed.len() as i64, rows - old, "queries leave them out");
    let purge = |days: &str| {
        let out = gateway()
            .args(["purge", "--deleted-days", days, "--db"])
            .arg(&db)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    purge("1");
    assert_eq!(
        count("SELECT COUNT(*) FROM ereport"),
        rows,
        "marked just now"
    );
    conn.execute(
        "UPDATE ereport SET time_deleted = time_deleted - 2 * 86400000 WHERE time_deleted IS NOT NULL",
        [],
    )
    .unwrap();
    purge("1");
    assert_eq!(count("SELECT COUNT(*) FROM ereport"), rows - old);
}

/// `--follow --status` under load: the status printer never waits on a
/// drain that waits on the printer. Before the fix this deadlocked within
/// seconds, every time: output stopped, and the wait below ran out.
#[test]
fn follow_with_status_under_load_keeps_printing() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::sync::mpsc;

    let rack = Rack::start(
        4,
        "127.0.0.1:0".parse().unwrap(),
        &SimConfig {
            rate: 2000.0,
            vpd_delay: Duration::ZERO,
            ..SimConfig::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("rack.json");
    std::fs::write(&inv, rack.inventory().to_string()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ereport-gateway"))
        .args(["--follow", "--status", "--interval", "1ms"])
        .arg("--inventory")
        .arg(&inv)
        .arg("--db")
        .arg(dir.path().join("rack.sqlite"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let pump = |stream: Box<dyn std::io::Read + Send>, on_stderr: bool| {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                if tx.send((on_stderr, line)).is_err() {
                    break;
                }
            }
        });
    };
    pump(Box::new(stdout), false);
    pump(Box::new(stderr), true);
    // Bounded: enough status rounds and ereports, or a clear failure.
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut status, mut other) = (0usize, 0usize);
    while status < 40 || other < 2000 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((true, line)) if line.contains("\"sp_status\"") => status += 1,
            Ok((false, line)) => {
                assert!(!line.contains("\"sp_status\""), "status on stdout: {line}");
                other += 1;
            }
            Ok((true, _)) => {}
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    rack.stop();
    assert!(
        status >= 40 && other >= 2000,
        "output stopped (a deadlock?): {status} status lines, {other} other lines"
    );
}
