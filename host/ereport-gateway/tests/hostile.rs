//! The gateway against a scripted fake SP: for each way a response can be
//! wrong, the outcome (rejection reason, gap record, exit code, database
//! contents, printed lines). Loopback only; every wait is bounded.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use common::{E, class_body, json_lines, response};
use ereport_gateway::gateway::{Event, Gateway, GatewayConfig, GatewayError};
use ereport_gateway::validate::Rejection;
use ereport_sdk::wire::{REQUEST_LEN, Request};
use ereport_sdk::{Ena, RestartId};
use rusqlite::Connection;
use serde_json::Value;

type Script = Box<dyn FnMut(&Request) -> Vec<Vec<u8>> + Send>;

/// A UDP "SP" that answers each request with what its script returns.
struct FakeSp {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeSp {
    fn start(mut script: Script) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(10)))
            .unwrap();
        let addr = sock.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            while !s.load(Ordering::SeqCst) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let Ok(req) = Request::parse(&buf[..n.min(REQUEST_LEN + 1)]) else {
                    continue;
                };
                for d in script(req) {
                    let _ = sock.send_to(&d, from);
                }
            }
        });
        Self {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for FakeSp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An SP holding `bodies` as ENAs `first..` of restart `rid`, answering as
/// packrat does: a refresh gets metadata, a matching request frees through
/// the commit and starts at the requested ENA, another restart id starts at
/// the earliest.
fn honest_sp(rid: u128, first: u64, bodies: Vec<Vec<u8>>) -> Script {
    let mut held: Vec<(u64, Vec<u8>)> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, b)| (first + i as u64, b))
        .collect();
    Box::new(move |req| {
        let id = req.request_id;
        if req.limit == 0 {
            return vec![response(rid, 0, id, Some("SER1"), &[])];
        }
        let matches = req.restart_id() == RestartId(rid);
        let next = held.last().map_or(first, |(e, _)| e + 1);
        let c = req.committed_ena().0;
        if matches && c != 0 && c < next {
            held.retain(|(e, _)| *e > c);
        }
        let start = if matches { req.start_ena().0 } else { 0 };
        let serial = (!matches).then_some("SER1");
        let mut entries: Vec<E<'_>> = Vec::new();
        let mut s = 0;
        // As many as the limit allows and 1024 bytes hold.
        for (e, b) in held
            .iter()
            .filter(|(e, _)| *e >= start)
            .take(usize::from(req.limit))
        {
            entries.push(("thermal", 0, 5, b.as_slice()));
            if response(rid, *e, id, serial, &entries).len() > 1024 {
                entries.pop();
                break;
            }
            if s == 0 {
                s = *e;
            }
        }
        vec![response(rid, s, id, serial, &entries)]
    })
}

fn config(sp: SocketAddr) -> GatewayConfig {
    GatewayConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        timeout: Duration::from_millis(60),
        attempts: 4,
        ..GatewayConfig::for_sp(sp)
    }
}

fn gateway(sp: &FakeSp, db: &Path) -> Gateway {
    Gateway::new(config(sp.addr), ereport_gateway::store::open(db).unwrap()).unwrap()
}

fn count(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

fn gateway_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ereport-gateway"))
}

#[test]
fn a_response_starting_past_the_request_is_a_recorded_gap() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let body = class_body("hw.x");
    let mut sent = false;
    let sp = FakeSp::start(Box::new(move |req| {
        let id = req.request_id;
        if req.limit == 0 {
            return vec![response(9, 0, id, Some("S"), &[])];
        }
        if !sent && req.start_ena() == Ena(1) {
            sent = true;
            return vec![response(
                9,
                1001,
                id,
                None,
                &[("t", 0, 1, &body), ("t", 0, 2, &body)],
            )];
        }
        vec![response(9, 0, id, None, &[])]
    }));
    let mut gw = gateway(&sp, &db);
    let mut events = Vec::new();
    gw.drain(&mut |p| events.extend(p.events.clone())).unwrap();
    let gaps = gw.db().gaps().unwrap();
    assert_eq!(gaps.len(), 1);
    assert_eq!((gaps[0].first, gaps[0].last), (Ena(1), Ena(1000)));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Gap(g) if g.len() == 1000))
    );
    assert_eq!(
        gw.committed(),
        Ena(1002),
        "committed through what is stored, the gap recorded"
    );
    assert_eq!(gw.stats().gap_enas, 1000);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM ereport"), 2);
}

#[test]
fn enas_past_the_database_integer_are_rejected_and_uptimes_kept_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let body = class_body("hw.x");
    let sp = FakeSp::start(Box::new(move |req| {
        let id = req.request_id;
        if req.limit == 0 {
            return vec![response(9, 0, id, Some("S"), &[])];
        }
        vec![response(9, 1 << 63, id, None, &[("t", 0, u64::MAX, &body)])]
    }));
    let err = gateway(&sp, &db).drain(&mut |_| {}).unwrap_err();
    match err {
        GatewayError::Rejected { last, rejected, .. } => {
            assert_eq!(last, Rejection::EnaTooLarge(1 << 63));
            assert!(rejected >= 4);
        }
        e => panic!("{e}"),
    }
    assert_eq!(count(&db, "SELECT COUNT(*) FROM ereport"), 0);

    // The largest uptime, at a storable ENA, is stored exactly.
    let body = class_body("hw.x");
    let sp = FakeSp::start(Box::new(move |req| {
        let id = req.request_id;
        match (req.limit, req.start_ena().0) {
            (0, _) => vec![response(9, 0, id, Some("S"), &[])],
            (_, 1) => vec![response(9, 1, id, None, &[("t", 0, u64::MAX, &body)])],
            _ => vec![response(9, 0, id, None, &[])],
        }
    }));
    let db2 = dir.path().join("db2.sqlite");
    let mut gw = gateway(&sp, &db2);
    let mut printed = Vec::new();
    gw.drain(&mut |p| printed.extend(p.stored.clone())).unwrap();
    assert_eq!(printed[0].report["hubris_uptime_ms"], Value::from(u64::MAX));
    let stored: i64 = count(&db2, "SELECT uptime_ms FROM ereport");
    assert_eq!(stored as u64, u64::MAX);
}

#[test]
fn a_restart_id_that_keeps_changing_ends_once_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let mut rid = 100u128;
    let sp = FakeSp::start(Box::new(move |req| {
        rid += 1;
        let body = class_body("hw.flap");
        let entries: Vec<E<'_>> = if req.limit == 0 {
            vec![]
        } else {
            vec![("t", 0, 1, &body)]
        };
        let start = if entries.is_empty() { 0 } else { 1 };
        vec![response(rid, start, req.request_id, Some("S"), &entries)]
    }));
    let out = gateway_bin()
        .args(["--sp", &sp.addr.to_string(), "--json", "--timeout", "100ms"])
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("restart id is unstable"), "{err}");
    let lines = json_lines(&out.stdout);
    let mut keys: Vec<(String, u64)> = lines
        .iter()
        .map(|l| {
            (
                l["restart_id"].as_str().unwrap().to_string(),
                l["ena"].as_u64().unwrap(),
            )
        })
        .collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "no ereport printed twice");
    assert!(n <= 8, "bounded: {n} ereports");
}

#[test]
fn wrong_datagrams_are_rejected_with_their_reason() {
    let body = class_body("hw.x");
    /// A datagram for a request id.
    type Make = Box<dyn Fn(u8) -> Vec<u8> + Send>;
    let cases: Vec<(&str, Make, Rejection)> = vec![
        (
            "over 1024 bytes",
            Box::new({
                let body = body.clone();
                move |id| {
                    let mut p = response(9, 1, id, None, &[("t", 0, 1, &body)]);
                    p.resize(1100, 0);
                    p
                }
            }),
            Rejection::TooLong(1100),
        ),
        (
            "restart id 0",
            Box::new(|id| response(0, 0, id, None, &[])),
            Rejection::ZeroRestartId,
        ),
        (
            "more than the limit",
            Box::new({
                let body = body.clone();
                move |id| {
                    response(
                        9,
                        1,
                        id,
                        None,
                        &[("t", 0, 1, &body), ("t", 0, 2, &body), ("t", 0, 3, &body)],
                    )
                }
            }),
            Rejection::OverLimit { got: 3, limit: 2 },
        ),
    ];
    for (what, make, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db.sqlite");
        let sp = FakeSp::start(Box::new(move |req| {
            if req.limit == 0 {
                return vec![response(9, 0, req.request_id, Some("S"), &[])];
            }
            vec![make(req.request_id)]
        }));
        let cfg = GatewayConfig {
            limit: 2,
            ..config(sp.addr)
        };
        let mut gw = Gateway::new(cfg, ereport_gateway::store::open(&db).unwrap()).unwrap();
        match gw.drain(&mut |_| {}) {
            Err(GatewayError::Rejected { last, .. }) => assert_eq!(last, want, "{what}"),
            other => panic!("{what}: {other:?}"),
        }
        assert_eq!(count(&db, "SELECT COUNT(*) FROM ereport"), 0, "{what}");
        let msg = gw.drain(&mut |_| {}).unwrap_err().to_string();
        assert!(
            msg.contains("rejected") && !msg.contains("no answer"),
            "{what}: {msg}"
        );
    }
}

#[test]
fn records_before_the_requested_ena_must_match_what_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let (a, b) = (class_body("hw.a"), class_body("hw.b"));
    let forged = class_body("hw.forged");
    let mut round = 0;
    let sp = FakeSp::start(Box::new(move |req| {
        let id = req.request_id;
        if req.limit == 0 {
            return vec![response(9, 0, id, Some("S"), &[])];
        }
        round += 1;
        match req.start_ena().0 {
            1 => vec![response(9, 1, id, None, &[("t", 0, 1, &a)])],
            // ENA 1 again (identical), then ENA 2: accepted.
            2 if round == 2 => vec![response(
                9,
                1,
                id,
                None,
                &[("t", 0, 1, &a), ("t", 0, 2, &b)],
            )],
            // ENA 2 with other content: rejected, every time.
            _ => vec![response(9, 2, id, None, &[("t", 0, 2, &forged)])],
        }
    }));
    let mut gw = gateway(&sp, &db);
    let mut stored = Vec::new();
    let err = gw
        .drain(&mut |p| stored.extend(p.stored.iter().map(|e| e.ena)))
        .unwrap_err();
    assert_eq!(stored, [Ena(1), Ena(2)], "each stored once");
    assert!(
        matches!(
            err,
            GatewayError::Rejected {
                last: Rejection::Conflict { ena: Ena(2) },
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn envelope_keys_win_and_invalid_bodies_are_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    // {"hubris_task_name": "forged", "k": "hw.x"}
    let mut forged = vec![0xa2, 0x70];
    forged.extend_from_slice(b"hubris_task_name");
    forged.push(0x66);
    forged.extend_from_slice(b"forged");
    forged.extend_from_slice(&class_body("hw.x")[1..]);
    let sp = FakeSp::start(honest_sp(9, 1, vec![forged, vec![0x01], vec![0xa1, 0x61]]));
    let out = gateway_bin()
        .args(["--sp", &sp.addr.to_string(), "--json"])
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["report"]["hubris_task_name"], "thermal");
    assert_eq!(lines[0]["report"]["k"], "hw.x");
    assert_eq!(lines[0]["report"]["baseboard_serial_number"], "SER1");
    assert_eq!(
        lines[1]["report"]["invalid_ereport_error"],
        "invalid body CBOR: the body is not a CBOR map"
    );
    assert_eq!(lines[1]["report"]["invalid_ereport_body_bytes"], "AQ");
    assert!(
        lines[2]["report"]["invalid_ereport_error"]
            .as_str()
            .unwrap()
            .starts_with("invalid body CBOR: ")
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM ereport WHERE invalid_error IS NOT NULL"
        ),
        2
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary: Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    assert_eq!(summary["summary"]["invalid"], 2);
}

#[test]
fn human_output_escapes_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let sp = FakeSp::start(honest_sp(9, 1, vec![class_body("hw.x\nFAKE LINE\x1b[2J")]));
    let out = gateway_bin()
        .args(["--sp", &sp.addr.to_string()])
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("hw.x\\nFAKE LINE\\u{1b}[2J"), "{text}");
}

#[test]
fn a_closed_stdout_ends_quietly_with_the_database_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let bodies: Vec<Vec<u8>> = (0..600).map(|i| class_body(&format!("hw.n{i}"))).collect();
    let sp = FakeSp::start(honest_sp(9, 1, bodies));
    let mut child = gateway_bin()
        .args(["--sp", &sp.addr.to_string(), "--json"])
        .arg("--db")
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then close the pipe, as `| head -n 1` does.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.status.success(), "{err}");
    let stored = count(&db, "SELECT COUNT(*) FROM ereport");
    let committed = count(&db, "SELECT committed_ena FROM sp_cursor");
    assert_eq!(stored, committed, "everything committed is stored");
}

#[test]
fn a_cursor_ahead_of_the_sp_is_reported_and_the_gateway_starts_over() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    // A database that believes it committed ENA 1000 of restart 9.
    drop(ereport_gateway::store::open(&db).unwrap());
    Connection::open(&db)
        .unwrap()
        .execute_batch(&format!(
            "INSERT INTO sp_restarts (restart_id, metadata) VALUES ('{rid}', '{{\"baseboard_serial_number\":\"SER1\"}}');
             INSERT INTO sp_cursor VALUES ('sp', '{rid}', 1000);",
            rid = ereport_gateway::store::rid_text(RestartId(9))
        ))
        .unwrap();
    let bodies: Vec<Vec<u8>> = (0..5).map(|i| class_body(&format!("hw.n{i}"))).collect();
    let sp = FakeSp::start(honest_sp(9, 1, bodies));
    let mut gw = gateway(&sp, &db);
    let mut events = Vec::new();
    let mut stored = Vec::new();
    gw.drain(&mut |p| {
        events.extend(p.events.clone());
        stored.extend(p.stored.iter().map(|e| e.ena.0));
    })
    .unwrap();
    assert!(
        events.contains(&Event::CursorAhead {
            committed: Ena(1000),
            sp_earliest: Ena(1)
        }),
        "{events:?}"
    );
    // The next drain takes what the SP holds.
    gw.drain(&mut |p| stored.extend(p.stored.iter().map(|e| e.ena.0)))
        .unwrap();
    assert_eq!(stored, [1, 2, 3, 4, 5]);
}

#[test]
fn follow_exits_when_the_database_keeps_failing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    drop(ereport_gateway::store::open(&db).unwrap());
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER fail BEFORE INSERT ON ereport BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;",
        )
        .unwrap();
    let sp = FakeSp::start(honest_sp(9, 1, vec![class_body("hw.x")]));
    let out = gateway_bin()
        .args([
            "--sp",
            &sp.addr.to_string(),
            "--follow",
            "--interval",
            "20ms",
        ])
        .args(["--max-db-failures", "3", "--run-for", "20s"])
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("disk on fire"), "{err}");
}

#[test]
fn an_sp_that_never_answers_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let sp = FakeSp::start(Box::new(|_| vec![]));
    let mut gw = gateway(&sp, &dir.path().join("db.sqlite"));
    let msg = gw.drain(&mut |_| {}).unwrap_err().to_string();
    assert_eq!(
        msg,
        format!(
            "no answer from {} after 4 attempts (is the SP up, and its snitch on that port?)",
            sp.addr
        )
    );
    // The simulator is suggested only where it would be listening: the
    // default address, with no --sp or --inventory.
    assert!(!msg.contains("sp-sim"));
}

#[test]
fn enas_another_collector_stored_are_not_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    // ENAs 1..=1000 of restart 9 are in the database already; this
    // collector has committed nothing.
    drop(ereport_gateway::store::open(&db).unwrap());
    Connection::open(&db)
        .unwrap()
        .execute_batch(&format!(
            "WITH RECURSIVE n(e) AS (SELECT 1 UNION ALL SELECT e + 1 FROM n WHERE e < 1000)
             INSERT INTO ereport (restart_id, ena, task_name, task_gen, uptime_ms, body, report)
                 SELECT '{}', e, 't', 0, 0, x'a0', '{{}}' FROM n;",
            ereport_gateway::store::rid_text(RestartId(9))
        ))
        .unwrap();
    let sp = FakeSp::start(honest_sp(9, 1001, vec![class_body("hw.x")]));
    let mut gw = gateway(&sp, &db);
    let mut stored = Vec::new();
    gw.drain(&mut |p| stored.extend(p.stored.iter().map(|e| e.ena.0)))
        .unwrap();
    assert_eq!(stored, [1001]);
    assert!(gw.db().gaps().unwrap().is_empty());
    assert_eq!(gw.stats().gaps, 0);
}

#[test]
fn json_output_prints_gap_records_and_the_summary_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let sp = FakeSp::start(honest_sp(9, 41, vec![class_body("hw.x")]));
    let out = gateway_bin()
        .args(["--sp", &sp.addr.to_string(), "--json"])
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines = json_lines(&out.stdout);
    assert_eq!(lines[0]["gap"]["first_ena"], 1);
    assert_eq!(lines[0]["gap"]["last_ena"], 40);
    assert_eq!(lines[1]["ena"], 41);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary: Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    assert_eq!(summary["summary"]["gaps"], 1);
    assert_eq!(summary["summary"]["gap_enas"], 40);
}

#[test]
fn ereports_not_matching_the_catalog_are_flagged_not_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let catalog = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/catalog.json");
    // {"k": "hw.temp.overtemp", "v": 0} lacks its fields; an unknown class;
    // a known class at an unknown version.
    let kv = |class: &str, v: u8| {
        let mut b = class_body(class);
        b[0] = 0xa2;
        b.extend_from_slice(&[0x61, b'v', v]);
        b
    };
    let sp = FakeSp::start(honest_sp(
        9,
        1,
        vec![
            kv("hw.temp.overtemp", 0),
            kv("hw.nope", 0),
            kv("hw.temp.overtemp", 7),
        ],
    ));
    let out = gateway_bin()
        .args(["--sp", &sp.addr.to_string(), "--json", "--catalog", catalog])
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 3, "stored all the same");
    assert!(
        lines[0]["catalog_error"]
            .as_str()
            .unwrap()
            .starts_with("missing field"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1]["catalog_error"], "unknown class \"hw.nope\"");
    assert_eq!(
        lines[2]["catalog_error"],
        "unknown version 7 of class \"hw.temp.overtemp\""
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM ereport WHERE catalog_error IS NOT NULL"
        ),
        3
    );
}
