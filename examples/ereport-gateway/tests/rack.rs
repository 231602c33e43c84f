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

    let lines = json_lines(&out.stdout);
    let status: Vec<&Value> = lines.iter().filter_map(|l| l.get("sp_status")).collect();
    assert_eq!(status.len(), 7);
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
                "SELECT COUNT(*), COUNT(DISTINCT serial_number), MAX(sp_kind) FROM ereports
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
            "SELECT COUNT(DISTINCT serial_number) FROM ereports",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(distinct, 6, "one serial per SP");
    let loss: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM ereports WHERE class = 'ereport.data_loss.possible' AND ena = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(loss, 6, "each SP's ENA 1 is its initial loss record");
}
