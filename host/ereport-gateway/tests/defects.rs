//! The defects found by trying the collector as a new user would, and
//! under hostile input (issue 18), each pinned by the program's own
//! behaviour: time filters and retention that overflowed, a query that
//! created a database, passwords in messages, a false "never sent" gap,
//! SIGTERM without a summary, open-file limits, closed pipes.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sp_sim::sim::{Sim, SimConfig};

fn gateway() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ereport-gateway"))
}

fn sim(seed: u64) -> Sim {
    Sim::start(SimConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        rate: 200.0,
        vpd_delay: Duration::ZERO,
        seed,
        log: false,
        ..SimConfig::default()
    })
    .unwrap()
}

/// Drains `sp` once into `db`; returns standard error.
fn drain_once(sp: &Sim, db: &std::path::Path) -> String {
    let out = gateway()
        .args(["--once", "--sp", &sp.local_addr().to_string()])
        .args(["--timeout", "100ms", "--attempts", "20"])
        .arg("--db")
        .arg(db)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    err
}

#[test]
fn retention_and_time_filters_refuse_what_overflows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let sp = sim(1);
    std::thread::sleep(Duration::from_millis(100));
    drain_once(&sp, &db);
    let summary = || {
        let out = gateway()
            .args(["summary", "--json", "--db"])
            .arg(&db)
            .output()
            .unwrap();
        common::json_lines(&out.stdout)
            .iter()
            .map(|l| l["count"].as_u64().unwrap())
            .sum::<u64>()
    };
    let before = summary();
    assert!(before > 0);

    // A retention of a billion days was accepted and deleted every row in
    // PostgreSQL; now it is refused before anything is touched.
    let out = gateway()
        .args(["--once", "--retain-days", "1000000000", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--retain-days"));
    assert_eq!(summary(), before, "nothing deleted");

    // --since a billion years returned nothing and --until everything.
    for flag in ["--since", "--until"] {
        let out = gateway()
            .args(["query", flag, "1000000000y", "--db"])
            .arg(&db)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flag}");
        assert!(err.contains("before 1970"), "{flag}: {err}");
    }

    // Absolute times, both ends.
    let query = |args: &[&str]| {
        let out = gateway()
            .arg("query")
            .args(args)
            .args(["--json", "--db"])
            .arg(&db)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        common::json_lines(&out.stdout).len() as u64
    };
    assert_eq!(
        query(&["--after", "2000-01-01T00:00:00Z", "--limit", "100000"]),
        before
    );
    assert_eq!(query(&["--before", "2000-01-01T00:00:00Z"]), 0);
    assert_eq!(query(&["--after", "2999-01-01T00:00:00Z"]), 0);
    let out = gateway()
        .args(["query", "--after", "yesterday"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("RFC 3339") || !out.status.success());
    let out = gateway()
        .args(["query", "--since", "1h", "--after", "2000-01-01T00:00:00Z"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "--since and --after conflict");
}

#[test]
fn query_summary_info_and_purge_never_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let mistyped = dir.path().join("ereprots.sqlite");
    let rid = "5f3c0a4e-1d2b-4c8e-9a61-0b7d2e4f8c13";
    for args in [
        &["query"][..],
        &["summary"],
        &["info", rid, "1"],
        &["purge", "--deleted-days", "30"],
    ] {
        let sub = args[0];
        let out = gateway()
            .args(args)
            .arg("--db")
            .arg(&mistyped)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{sub}: {err}");
        assert!(err.contains("no such database"), "{sub}: {err}");
        assert!(!err.contains("0 ereports"), "{sub}: {err}");
        assert!(!mistyped.exists(), "{sub} created {}", mistyped.display());
    }
}

#[test]
fn passwords_never_reach_the_screen() {
    // Nothing listens on port 1: the connection fails, and the message
    // names the database without its password, in either form.
    for db in [
        "host=127.0.0.1 port=1 user=alice password=s3cret dbname=x connect_timeout=5",
        "postgres://alice:s3cret@127.0.0.1:1/x?connect_timeout=5",
        "postgresql://127.0.0.1:1/x?user=alice&password=s3cret&connect_timeout=5",
    ] {
        for args in [vec!["summary", "--db", db], vec!["--once", "--db", db]] {
            let out = gateway().args(&args).output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{args:?}");
            assert!(!err.contains("s3cret"), "{args:?}: {err}");
            assert!(err.contains("***"), "{args:?}: {err}");
            // The reason is kept, not just "error connecting to server".
            assert!(
                err.to_lowercase().contains("refused"),
                "{args:?}: the cause is lost: {err}"
            );
        }
    }
}

/// Ereports committed into one database and freed by the SP are not
/// reported as "never sent" by a collector with a fresh database.
#[test]
fn a_fresh_database_does_not_call_committed_enas_never_sent() {
    let dir = tempfile::tempdir().unwrap();
    let sp = sim(2);
    std::thread::sleep(Duration::from_millis(150));
    drain_once(&sp, &dir.path().join("first.sqlite"));
    std::thread::sleep(Duration::from_millis(100));
    let err = drain_once(&sp, &dir.path().join("second.sqlite"));
    assert!(!err.contains("never sent"), "{err}");
    assert!(err.contains("are not in this database"), "{err}");
    assert!(err.contains("committed elsewhere"), "{err}");
}

/// Reads `child`'s standard output until a line arrives (bounded).
fn first_line(child: &mut std::process::Child, within: Duration) -> Option<String> {
    let stdout = child.stdout.take()?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(l)) = lines.next() {
            let _ = tx.send(l);
        }
        // Keep reading so the child never blocks on a full pipe.
        for _ in lines {}
    });
    rx.recv_timeout(within).ok()
}

#[test]
fn sigterm_ends_follow_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let sp = sim(3);
    let mut child = gateway()
        .args(["--follow", "--interval", "50ms", "--sp"])
        .arg(sp.local_addr().to_string())
        .arg("--db")
        .arg(dir.path().join("db.sqlite"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once an ereport is printed, the signal handler is in place.
    let line = first_line(&mut child, Duration::from_secs(30));
    assert!(line.is_some(), "the gateway printed an ereport");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "SIGTERM exits like Ctrl-C: {:?} {err}",
        out.status
    );
    assert!(err.contains("stored"), "the summary is printed: {err}");
}

#[test]
fn query_output_to_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let sp = sim(4);
    std::thread::sleep(Duration::from_millis(100));
    drain_once(&sp, &db);
    for json in [false, true] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut cmd = gateway();
        cmd.args(["query", "--db"]).arg(&db);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.stdout(writer).stderr(Stdio::piped()).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{:?} {err}", out.status);
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// An inventory of `n` SPs on consecutive loopback ports from `first`.
fn inventory(dir: &std::path::Path, n: usize, first: u16) -> std::path::PathBuf {
    let entries: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "name": format!("sp-{i:05}"),
                "address": format!("127.0.0.1:{}", usize::from(first) + i),
            })
        })
        .collect();
    let path = dir.join("inventory.json");
    std::fs::write(&path, serde_json::Value::from(entries).to_string()).unwrap();
    path
}

/// The gateway under a limit of 1,024 open files, soft and hard, as a
/// default shell gives.
fn gateway_limited(args: &[&str]) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("ulimit -n 1024 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_ereport-gateway"))
        .args(args);
    c
}

#[test]
fn ten_thousand_sps_fail_at_once_naming_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), 10_000, 20_000);
    let started = Instant::now();
    let out = gateway_limited(&["--once", "--inventory", inv.to_str().unwrap(), "--db"])
        .arg(dir.path().join("db.sqlite"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("open files"), "{err}");
    assert!(err.contains("1024"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "at once, not after trying"
    );
}

#[test]
fn a_thousand_sps_work_under_the_default_limit() {
    // The fake SPs live in this process: room for their sockets here.
    ereport_gateway::collector::check_open_files(1100).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sps: Vec<common::TinySp> = (0..1000).map(|i| common::TinySp::start(i + 1)).collect();
    let entries: Vec<serde_json::Value> = sps
        .iter()
        .enumerate()
        .map(|(i, s)| serde_json::json!({"name": format!("sp-{i:04}"), "address": s.addr.to_string()}))
        .collect();
    let inv = dir.path().join("inventory.json");
    std::fs::write(&inv, serde_json::Value::from(entries).to_string()).unwrap();
    let out = gateway_limited(&[
        "--once",
        "--json",
        "--parallel",
        "64",
        "--timeout",
        "500ms",
        "--attempts",
        "10",
        "--inventory",
        inv.to_str().unwrap(),
        "--db",
    ])
    .arg(dir.path().join("db.sqlite"))
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    // Every SP's one ereport (and its boot loss record) arrived.
    let lines = common::json_lines(&out.stdout);
    assert_eq!(lines.len(), 2000, "{err}");
    sps.iter().for_each(common::TinySp::signal);
}

#[test]
fn with_several_sps_every_human_line_names_its_sp() {
    let dir = tempfile::tempdir().unwrap();
    let sps = [common::TinySp::start(1), common::TinySp::start(2)];
    let out = gateway()
        .args(["--once", "--timeout", "200ms"])
        .args(["--sp", &format!("left-sled={}", sps[0].addr)])
        .args(["--sp", &format!("right-sled={}", sps[1].addr)])
        .arg("--db")
        .arg(dir.path().join("db.sqlite"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    for l in &lines {
        assert!(
            l.starts_with("left-sled ") || l.starts_with("right-sled"),
            "{l}"
        );
    }
    // Events on standard error name their SP too.
    assert!(
        err.lines().any(|l| l.contains("left-sled: SP restart id")),
        "{err}"
    );
}

#[test]
fn help_says_postgresql_as_well_as_sqlite() {
    for args in [
        &["--help"][..],
        &["query", "--help"],
        &["summary", "--help"],
    ] {
        let out = gateway().args(args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("PostgreSQL"), "{args:?}: {text}");
        assert!(text.contains("SQLite"), "{args:?}: {text}");
    }
}

/// A quiet SP is drained less and less often, up to the bound (issue 22:
/// a quiet rack should cost little). Over one second at a 5 ms interval a
/// fixed pace drains it about 200 times; backing off to 400 ms, about 10.
#[test]
fn a_quiet_sp_is_drained_less_and_less_often() {
    use ereport_gateway::collector::{Collector, Target};
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let sp = common::TinySp::start(5);
    let db = ereport_gateway::store::open(dir.path().join("db.sqlite")).unwrap();
    let targets = [Target {
        name: "quiet".into(),
        kind: None,
        slot: None,
        rack_id: None,
        addr: sp.addr,
    }];
    let base = ereport_gateway::gateway::GatewayConfig {
        timeout: Duration::from_millis(500),
        ..common::gateway_cfg(sp.addr)
    };
    let mut c = Collector::new(&targets, &base, &db, None, 1).unwrap();
    c.set_quiet_backoff(Duration::from_millis(400));
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| c.follow(Duration::from_millis(5), &stop, &|_, _| {}, &|_, _| {}));
        std::thread::sleep(Duration::from_secs(1));
        stop.store(true, Ordering::SeqCst);
    });
    let st = c.stats();
    assert_eq!(st.stored, 2, "what the SP had was taken");
    // Load can only make it fewer.
    assert!(st.requests < 40, "{} requests in a second", st.requests);
}

/// Collectors sharing a database divide the SPs by claims: each SP is
/// drained by one collector, and no record is fetched by two (issue 22).
#[test]
fn collectors_with_claims_divide_the_sps() {
    use ereport_gateway::collector::{Collector, Target};
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let sps: Vec<common::TinySp> = (0..6).map(|i| common::TinySp::start(100 + i)).collect();
    let db = ereport_gateway::store::open(dir.path().join("db.sqlite")).unwrap();
    let targets: Vec<Target> = sps
        .iter()
        .enumerate()
        .map(|(i, sp)| Target {
            name: format!("sp-{i}"),
            kind: None,
            slot: None,
            rack_id: None,
            addr: sp.addr,
        })
        .collect();
    let collectors: Vec<Collector> = [0xa, 0xb]
        .iter()
        .map(|id| {
            let base = ereport_gateway::gateway::GatewayConfig {
                collector_id: ereport_gateway::store::Uuid::from_u128(*id),
                ..common::gateway_cfg(sps[0].addr)
            };
            let mut c = Collector::new(&targets, &base, &db, None, 3).unwrap();
            c.set_claims(Some(Duration::from_secs(60)));
            c.set_yield_to_others(false);
            c
        })
        .collect();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for c in &collectors {
            let stop = &stop;
            s.spawn(move || c.follow(Duration::from_millis(20), stop, &|_, _| {}, &|_, _| {}));
        }
        // Until every SP's two records are stored (bounded).
        let end = Instant::now() + Duration::from_secs(30);
        while Instant::now() < end && collectors.iter().map(|c| c.stats().stored).sum::<u64>() < 12
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        stop.store(true, Ordering::SeqCst);
    });
    let a = collectors[0].status();
    let b = collectors[1].status();
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            (x.stats.stored, y.stats.stored),
            if x.stats.stored > 0 { (2, 0) } else { (0, 2) },
            "{}: one collector took it all",
            x.name
        );
        assert_eq!(x.stats.already_stored + y.stats.already_stored, 0);
        assert!(x.held_elsewhere + y.held_elsewhere > 0, "{}", x.name);
    }
    // Both gave their claims up on stopping: a third takes any SP at once.
    for t in &targets {
        assert!(
            db.claim(
                &t.name,
                ereport_gateway::store::Uuid::from_u128(0xc),
                Duration::from_secs(60)
            )
            .unwrap()
        );
    }
}

#[test]
fn a_claim_shorter_than_the_wait_between_drains_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--follow", "--claim", "10s", "--max-interval", "30s"],
        vec!["--follow", "--claim", "60s", "--interval", "90s"],
    ] {
        let out = gateway()
            .args(&args)
            .arg("--db")
            .arg(dir.path().join("db.sqlite"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains("--claim"), "{args:?}: {err}");
    }
}

/// A held claim is renewed only once less than half of it is left: a busy
/// SP's drains cost no claim statement each (issue 22), and a claim about
/// to lapse is renewed before the drain.
#[test]
fn a_held_claim_is_renewed_only_when_half_spent() {
    use ereport_gateway::collector::{Collector, Target};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let sp = common::TinySp::start(7);
    let db = ereport_gateway::store::open(&path).unwrap();
    let targets = [Target {
        name: "sp-0".into(),
        kind: None,
        slot: None,
        rack_id: None,
        addr: sp.addr,
    }];
    let expires = || -> i64 {
        rusqlite::Connection::open(&path)
            .unwrap()
            .query_row(
                "SELECT expires FROM sp_leases WHERE sp_name = 'sp-0'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    let mut c = Collector::new(&targets, &common::gateway_cfg(sp.addr), &db, None, 1).unwrap();
    c.set_claims(Some(Duration::from_secs(60)));
    assert!(c.round(&|_, _| {}).is_empty());
    let first = expires();
    for _ in 0..3 {
        // At least a millisecond later: a renewal would move the expiry.
        std::thread::sleep(Duration::from_millis(2));
        assert!(c.round(&|_, _| {}).is_empty());
    }
    assert_eq!(expires(), first, "not renewed with most of it left");
    assert_eq!(c.stats().stored, 2, "drained all the same");
    assert!(c.status()[0].held);

    // A short claim: past half of it, the next drain renews it.
    c.set_claims(Some(Duration::from_millis(200)));
    c.release_claims();
    assert!(c.round(&|_, _| {}).is_empty());
    let short = expires();
    std::thread::sleep(Duration::from_millis(120));
    assert!(c.round(&|_, _| {}).is_empty());
    assert!(expires() > short, "renewed once past half");
    c.release_claims();
}
