//! The gateway into a real PostgreSQL server (a throwaway cluster).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use common::{PgCluster, gateway_cfg};
use ereport_gateway::gateway::Gateway;
use sp_sim::sim::{Sim, SimConfig};

fn sim(seed: u64) -> Sim {
    Sim::start(SimConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        rate: 300.0,
        vpd_delay: Duration::ZERO,
        seed,
        record_deliveries: true,
        ..SimConfig::default()
    })
    .unwrap()
}

#[test]
#[cfg_attr(
    not(postgres_installed),
    ignore = "PostgreSQL is not installed (apt-get install postgresql)"
)]
fn two_collectors_store_every_ereport_exactly_once() {
    let pg = PgCluster::start();
    let sp = sim(4);
    let mut a = Gateway::new(
        gateway_cfg(sp.local_addr()),
        ereport_gateway::store::open(Path::new(&pg.url)).unwrap(),
    )
    .unwrap();
    let mut b = Gateway::new(
        ereport_gateway::gateway::GatewayConfig {
            collector_id: ereport_gateway::store::Uuid::from_u128(0xb),
            ..gateway_cfg(sp.local_addr())
        },
        ereport_gateway::store::open(Path::new(&pg.url)).unwrap(),
    )
    .unwrap();
    // Both race on the same SP for a while, in two threads.
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for gw in [&mut a, &mut b] {
            let stop = &stop;
            s.spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let _ = gw.drain(&mut |_| {});
                    std::thread::sleep(Duration::from_millis(30));
                }
            });
        }
        std::thread::sleep(Duration::from_millis(1500));
        sp.pause_producers(true);
        std::thread::sleep(Duration::from_millis(200));
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    a.drain(&mut |_| {}).unwrap();
    b.drain(&mut |_| {}).unwrap();
    let delivered = sp.delivered();
    let rid = ereport_gateway::store::rid_uuid(sp.restart_id());
    let mut client = postgres::Client::connect(&pg.url, postgres::NoTls).unwrap();
    // Every delivered ereport, once, byte for byte.
    for d in &delivered {
        let rows = client
            .query(
                "SELECT body FROM ereport WHERE restart_id = $1 AND ena = $2",
                &[&rid, &(d.ena.0 as i64)],
            )
            .unwrap();
        assert_eq!(rows.len(), 1, "ENA {}", d.ena);
        assert_eq!(rows[0].get::<_, Vec<u8>>(0), d.body);
    }
    let (n, distinct, collectors): (i64, i64, i64) = {
        let r = client
            .query_one(
                "SELECT COUNT(*), COUNT(DISTINCT ena), COUNT(DISTINCT collector_id) FROM ereport",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(n, distinct);
    assert!(n as usize > delivered.len(), "loss records too");
    assert!(collectors >= 1);
    let gaps: i64 = client
        .query_one("SELECT COUNT(*) FROM gaps", &[])
        .unwrap()
        .get(0);
    assert_eq!(gaps, 0, "ENAs the other collector stored are no gap");
    // JSONB, trimmed serials, classes.
    let (class, serial): (String, String) = {
        let r = client
            .query_one(
                "SELECT class, serial_number FROM ereport WHERE ena = 1",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(class, "ereport.data_loss.possible");
    assert_eq!(serial, "SIM00000001");
    let k: Option<String> = client
        .query_one("SELECT report->>'k' FROM ereport WHERE ena = 2", &[])
        .unwrap()
        .get(0);
    assert!(k.is_some());
    drop(client);

    // query, summary and retention on PostgreSQL.
    let db = a.db();
    let rows = db
        .query(&ereport_gateway::db::Filter {
            class_glob: Some("hw.*".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(rows.len(), 10);
    assert!(
        rows.iter()
            .all(|r| r.class.as_deref().unwrap().starts_with("hw."))
    );
    let total: u64 = db.summary().unwrap().iter().map(|r| r.count).sum();
    assert_eq!(total, n as u64);
    // A cutoff in the future or before 1970 is refused, nothing deleted.
    let future = std::time::SystemTime::now() + Duration::from_secs(60);
    assert!(db.retain(future).is_err());
    assert!(db.retain(std::time::UNIX_EPOCH).is_err());
    let total: u64 = db.summary().unwrap().iter().map(|r| r.count).sum();
    assert_eq!(total, n as u64);
    // Now is a cutoff everything collected is older than.
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(
        db.retain(std::time::SystemTime::now()).unwrap(),
        n as u64,
        "everything was collected before now"
    );
    assert_eq!(db.summary().unwrap().len(), 0);
}

#[test]
#[cfg_attr(
    not(postgres_installed),
    ignore = "PostgreSQL is not installed (apt-get install postgresql)"
)]
fn a_newer_schema_is_refused() {
    let pg = PgCluster::start();
    drop(ereport_gateway::store::open(Path::new(&pg.url)).unwrap());
    let mut client = postgres::Client::connect(&pg.url, postgres::NoTls).unwrap();
    client
        .execute(
            "INSERT INTO gateway_schema_history (version, name, applied_on, checksum)
             VALUES (99, 'from_the_future', '', '0')",
            &[],
        )
        .unwrap();
    for read_only in [false, true] {
        let opened = if read_only {
            ereport_gateway::store::open_read_only(Path::new(&pg.url))
        } else {
            ereport_gateway::store::open(Path::new(&pg.url))
        };
        let err = opened.err().unwrap().to_string();
        assert!(err.contains("schema version 99 is newer"), "{err}");
    }
}

/// Collectors started together on a new database all open it: creating
/// the tables races in PostgreSQL (`CREATE TABLE IF NOT EXISTS` is not safe
/// against itself), and the loser retries instead of failing.
#[test]
#[cfg_attr(
    not(postgres_installed),
    ignore = "PostgreSQL is not installed (apt-get install postgresql)"
)]
fn collectors_starting_together_on_a_new_database() {
    let pg = PgCluster::start();
    let barrier = std::sync::Barrier::new(8);
    std::thread::scope(|s| {
        let opened: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    ereport_gateway::store::open(Path::new(&pg.url)).map(|_| ())
                })
            })
            .collect();
        for h in opened {
            let r = h.join().unwrap();
            assert!(r.is_ok(), "{r:?}");
        }
    });
}

/// The shared cursor in PostgreSQL: forward only within a restart (a
/// collector that stored less does not move it back), and "just stored
/// from" by the server's clock.
#[test]
#[cfg_attr(
    not(postgres_installed),
    ignore = "PostgreSQL is not installed (apt-get install postgresql)"
)]
fn the_shared_cursor_moves_forward_and_knows_recent_stores() {
    use ereport_gateway::db::SpRow;
    use ereport_gateway::gateway::StoredEreport;
    use ereport_sdk::{Ena, RestartId};
    let pg = PgCluster::start();
    let db = ereport_gateway::store::open(Path::new(&pg.url)).unwrap();
    let row = |rid: RestartId, ena: u64| StoredEreport {
        restart_id: rid,
        ena: Ena(ena),
        task_name: "t".into(),
        task_gen: 0,
        uptime_ms: ena,
        body: vec![0xa0],
        report: serde_json::json!({}),
        invalid_error: None,
        catalog_error: None,
    };
    let sp = SpRow {
        name: "sled-0".into(),
        ..SpRow::default()
    };
    let (a, b) = (RestartId(0xa), RestartId(0xb));
    db.save_restart(a, &serde_json::Map::new()).unwrap();
    db.store(&sp, a, &[row(a, 9), row(a, 10)], None, Ena(10))
        .unwrap();
    db.store(&sp, a, &[row(a, 5)], None, Ena(5)).unwrap();
    let c = db.shared_cursor("sled-0").unwrap().unwrap();
    assert_eq!((c.restart_id, c.committed), (a, Ena(10)));
    assert!(c.recently_stored);
    db.save_restart(b, &serde_json::Map::new()).unwrap();
    db.store(&sp, b, &[row(b, 1)], None, Ena(1)).unwrap();
    assert_eq!(db.committed("sled-0").unwrap(), Some((b, Ena(1))));
    std::thread::sleep(ereport_gateway::db::RECENT_STORE + Duration::from_millis(50));
    assert!(!db.shared_cursor("sled-0").unwrap().unwrap().recently_stored);
}

/// Rows stored, read as the tests' own client would (0 while the server is
/// down).
fn stored_rows(url: &str) -> i64 {
    postgres::Client::connect(url, postgres::NoTls)
        .and_then(|mut c| c.query_one("SELECT COUNT(*) FROM ereport", &[]))
        .map_or(0, |r| r.get(0))
}

/// Polls `done` every 50 ms for up to `limit`; whether it came true.
fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + limit;
    while std::time::Instant::now() < end {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// The server restarts under a following gateway: the pool drops the dead
/// connections, reconnects with backoff once the server is back, and the
/// gateway goes on storing what the SP holds (it used to exit, or retry on
/// the dead connection for ever while the SP's store overflowed).
#[test]
#[cfg_attr(
    not(postgres_installed),
    ignore = "PostgreSQL is not installed (apt-get install postgresql)"
)]
fn a_server_restart_is_ridden_out() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let pg = PgCluster::start();
    let sp = sim(11);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ereport-gateway"))
        .args(["--follow", "--json", "--interval", "50ms", "--sp"])
        .arg(sp.local_addr().to_string())
        .args(["--db", &pg.url])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        eventually(Duration::from_secs(30), || stored_rows(&pg.url) > 20),
        "the gateway stores before the restart"
    );
    pg.stop_server();
    // Down long enough for the gateway to find out (it polls every 50 ms).
    std::thread::sleep(Duration::from_millis(500));
    pg.start_server();
    let after_restart = stored_rows(&pg.url);
    assert!(
        eventually(Duration::from_secs(30), || stored_rows(&pg.url)
            > after_restart + 20),
        "the gateway stores again after the restart"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "the gateway is still following"
    );
    sp.pause_producers(true);
    // Everything the SP delivered ends up stored (or counted lost by a
    // loss record, had its store overflowed during the outage).
    let delivered = sp.delivered().len() as i64;
    assert!(eventually(Duration::from_secs(30), || stored_rows(&pg.url) > delivered));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("database unavailable"), "{err}");
    assert!(err.contains("the database is back"), "{err}");
}

/// `query` and `summary` need only SELECT: a read-only role runs them
/// (opening used to run the schema statements). Writing as that role fails
/// with the server's reason, not "db error".
#[test]
#[cfg_attr(
    not(postgres_installed),
    ignore = "PostgreSQL is not installed (apt-get install postgresql)"
)]
fn a_read_only_role_can_query_and_is_told_why_it_cannot_write() {
    use std::process::Command;
    let pg = PgCluster::start();
    let sp = sim(12);
    let mut gw = Gateway::new(
        gateway_cfg(sp.local_addr()),
        ereport_gateway::store::open(Path::new(&pg.url)).unwrap(),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let stored = gw.drain(&mut |_| {}).unwrap();
    assert!(stored > 0);
    let mut admin = postgres::Client::connect(&pg.url, postgres::NoTls).unwrap();
    admin
        .batch_execute(
            "CREATE ROLE reader LOGIN;
             GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader;",
        )
        .unwrap();
    let reader = pg.url_for("reader");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ereport-gateway"))
            .args(args)
            .args(["--db", &reader])
            .output()
            .unwrap()
    };
    let out = run(&["query", "--json", "--limit", "100000"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(common::json_lines(&out.stdout).len() as u64, stored);
    let out = run(&["summary", "--json"]);
    assert!(out.status.success());
    let counted: u64 = common::json_lines(&out.stdout)
        .iter()
        .map(|l| l["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, stored);
    // Collecting needs write access: the server's reason reaches the
    // screen.
    let out = run(&["--once", "--sp", &sp.local_addr().to_string()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("permission denied"), "{err}");
}

/// A collector's connections are bounded by its pool, whatever the number
/// of sessions using it at once.
#[test]
#[cfg_attr(
    not(postgres_installed),
    ignore = "PostgreSQL is not installed (apt-get install postgresql)"
)]
fn sessions_share_a_bounded_pool() {
    let pg = PgCluster::start();
    let db = ereport_gateway::store::open_with(
        Path::new(&pg.url),
        &ereport_gateway::store::OpenOptions {
            read_only: false,
            pg_connections: 3,
        },
    )
    .unwrap();
    std::thread::scope(|s| {
        for _ in 0..32 {
            let db = db.clone();
            s.spawn(move || {
                for i in 0..20 {
                    db.shared_cursor(&format!("sp-{i}")).unwrap();
                }
            });
        }
    });
    let mut admin = postgres::Client::connect(&pg.url, postgres::NoTls).unwrap();
    let backends: i64 = admin
        .query_one(
            "SELECT COUNT(*) FROM pg_stat_activity
             WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(backends <= 3, "{backends} connections for a pool of 3");
    assert!(backends >= 1);
}

/// Ten racks' worth of SPs (360) and three collectors against a server
/// with PostgreSQL's default `max_connections` of 100: each collector's
/// connections are its pool's, not one per SP, and every ereport is
/// stored once (issue 22).
#[test]
#[cfg_attr(
    not(postgres_installed),
    ignore = "PostgreSQL is not installed (apt-get install postgresql)"
)]
fn ten_racks_and_three_collectors_fit_the_default_connection_limit() {
    use ereport_gateway::collector::{Collector, Target, check_open_files};
    use std::sync::atomic::{AtomicBool, Ordering};
    // 360 fake SPs and three collectors' sockets live in this process.
    check_open_files(360 * 4).unwrap();
    let pg = PgCluster::start();
    let sps: Vec<common::TinySp> = (0..360).map(|i| common::TinySp::start(1000 + i)).collect();
    let targets: Vec<Target> = sps
        .iter()
        .enumerate()
        .map(|(i, sp)| Target {
            name: format!("sp-{i:03}"),
            kind: None,
            slot: None,
            rack_id: None,
            addr: sp.addr,
        })
        .collect();
    let collectors: Vec<Collector> = (0..3)
        .map(|i| {
            let db = ereport_gateway::store::open(Path::new(&pg.url)).unwrap();
            let base = ereport_gateway::gateway::GatewayConfig {
                collector_id: ereport_gateway::store::Uuid::from_u128(i as u128 + 1),
                ..gateway_cfg(sps[0].addr)
            };
            let mut c = Collector::new(&targets, &base, &db, None, 16).unwrap();
            c.set_claims(Some(Duration::from_secs(60)));
            c
        })
        .collect();
    let stop = AtomicBool::new(false);
    let mut peak = 0i64;
    let mut admin = postgres::Client::connect(&pg.url, postgres::NoTls).unwrap();
    let mut backends = || -> i64 {
        admin
            .query_one(
                "SELECT COUNT(*) FROM pg_stat_activity
                 WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
                &[],
            )
            .unwrap()
            .get(0)
    };
    std::thread::scope(|s| {
        for c in &collectors {
            let stop = &stop;
            s.spawn(move || c.follow(Duration::from_millis(50), stop, &|_, _| {}, &|_, _| {}));
        }
        let end = std::time::Instant::now() + Duration::from_secs(120);
        while std::time::Instant::now() < end
            && collectors.iter().map(|c| c.stats().stored).sum::<u64>() < 720
        {
            peak = peak.max(backends());
            std::thread::sleep(Duration::from_millis(50));
        }
        peak = peak.max(backends());
        stop.store(true, Ordering::SeqCst);
    });
    sps.iter().for_each(common::TinySp::signal);
    let stored: i64 = stored_rows(&pg.url);
    assert_eq!(stored, 720, "two records from each of 360 SPs, once");
    let twice: u64 = collectors.iter().map(|c| c.stats().already_stored).sum();
    assert_eq!(twice, 0, "no collector fetched what another had stored");
    assert!(
        peak <= 3 * ereport_gateway::store::DEFAULT_PG_CONNECTIONS as i64,
        "{peak} connections"
    );
}

/// On a table of a million rows, a following collector with retention on
/// scans no part of the ereport table sequentially: retention, the
/// conflict check, the cursor and the claims all go by index (issue 22).
#[test]
#[cfg_attr(
    not(postgres_installed),
    ignore = "PostgreSQL is not installed (apt-get install postgresql)"
)]
fn a_following_collector_never_scans_a_large_table() {
    use std::process::{Command, Stdio};
    let pg = PgCluster::start();
    drop(ereport_gateway::store::open(Path::new(&pg.url)).unwrap());
    let mut admin = postgres::Client::connect(&pg.url, postgres::NoTls).unwrap();
    admin
        .batch_execute(
            "INSERT INTO ereport (restart_id, ena, task_name, task_gen, uptime_ms, body,
                                  report, time_collected, collector_id, sp_name, class, reporter)
             SELECT CAST(lpad(to_hex(i / 1000), 32, '0') AS UUID), i % 1000 + 1, 't', 0, i,
                    '\\xa0', '{}', now() - (i || ' seconds')::INTERVAL,
                    '00000000-0000-4000-8000-00000000000a', 'sp-' || (i % 36), 'hw.x', 'sp'
             FROM generate_series(0, 999999) AS i;
             ANALYZE ereport;",
        )
        .unwrap();
    let seq_scans = |admin: &mut postgres::Client| -> i64 {
        admin
            .query_one(
                "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'ereport'",
                &[],
            )
            .unwrap()
            .get(0)
    };
    // Statistics reach the view within the server's reporting delay.
    std::thread::sleep(Duration::from_millis(700));
    let before = seq_scans(&mut admin);
    // A restart id the loaded rows do not use (theirs are 0 to 999).
    let sp = common::TinySp::start(5000);
    let out = Command::new(env!("CARGO_BIN_EXE_ereport-gateway"))
        .args(["--follow", "--interval", "20ms", "--run-for", "2s"])
        .args(["--retain-days", "30", "--max-interval", "100ms"])
        .args(["--sp", &sp.addr.to_string(), "--db", &pg.url])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And what an operator runs: the last hour's ereports, a day's window,
    // by class, serial number and slot (each has its index), and one
    // ereport.
    for args in [
        vec!["query", "--since", "1h", "--limit", "20"],
        vec![
            "query",
            "--after",
            "2001-01-01T00:00:00Z",
            "--before",
            "2001-01-02T00:00:00Z",
        ],
        vec!["query", "--class", "hw.tiny*", "--limit", "20"],
        vec!["query", "--serial", "SIM00000001", "--limit", "20"],
        vec![
            "query",
            "--slot-type",
            "sled",
            "--slot",
            "3",
            "--limit",
            "20",
        ],
        vec!["info", "00000000-0000-0000-0000-000000001388", "1"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_ereport-gateway"))
            .args(&args)
            .args(["--json", "--db", &pg.url])
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
    }
    std::thread::sleep(Duration::from_millis(700));
    let after = seq_scans(&mut admin);
    assert_eq!(
        after, before,
        "sequential scans of ereports while following and querying"
    );
    assert_eq!(stored_rows(&pg.url), 1_000_002, "nothing deleted, 2 stored");
}

/// Plans PostgreSQL keeps for prepared statements are made once, here
/// while the table is nearly empty (a new database), and kept
/// (`force_generic_plan`, the worst case of the server's default): none of
/// them may turn into a scan once the table is large. The table grows by a
/// million rows under a following collector, with no `ANALYZE` (autovacuum
/// off for it), so nothing makes the server plan again; a plan that
/// scanned the table would read the million rows at its next execution.
#[test]
#[cfg_attr(
    not(postgres_installed),
    ignore = "PostgreSQL is not installed (apt-get install postgresql)"
)]
fn plans_made_on_an_empty_table_never_scan_it_once_large() {
    use std::process::{Command, Stdio};
    let pg = PgCluster::start();
    drop(ereport_gateway::store::open(Path::new(&pg.url)).unwrap());
    let mut admin = postgres::Client::connect(&pg.url, postgres::NoTls).unwrap();
    // The collector's sessions keep whatever plan PostgreSQL makes first
    // for a prepared statement (its default may switch to that plan after
    // five executions, depending on estimates).
    admin
        .batch_execute(
            "ALTER TABLE ereport SET (autovacuum_enabled = false);
             ALTER DATABASE postgres SET plan_cache_mode = force_generic_plan",
        )
        .unwrap();
    // Progress read from the cursor (a small table), never from ereport.
    let committed = |admin: &mut postgres::Client| -> i64 {
        admin
            .query_opt("SELECT committed_ena FROM sp_cursor", &[])
            .unwrap()
            .map_or(0, |r| r.get(0))
    };
    let sp = sim(31);
    let mut gateway = Command::new(env!("CARGO_BIN_EXE_ereport-gateway"))
        .args(["--follow", "--interval", "20ms", "--max-interval", "100ms"])
        .args(["--run-for", "300s", "--db", &pg.url])
        .args(["--sp", &sp.local_addr().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The first store, then statistics saying the table is tiny (as
    // autovacuum's first analyze of a new table would), then more stores,
    // planned with them: for a table of a page a scan is the cheapest plan.
    assert!(
        eventually(Duration::from_secs(60), || committed(&mut admin) >= 1),
        "the collector stored nothing"
    );
    admin.batch_execute("ANALYZE ereport").unwrap();
    let analyzed = committed(&mut admin);
    assert!(
        eventually(Duration::from_secs(60), || committed(&mut admin)
            >= analyzed + 100),
        "the collector stored too little after the analyze"
    );
    admin
        .batch_execute(
            "INSERT INTO ereport (restart_id, ena, task_name, task_gen, uptime_ms, body,
                                  report, time_collected, collector_id, sp_name, class, reporter)
             SELECT CAST(lpad(to_hex(i / 1000), 32, '0') AS UUID), i % 1000 + 1, 't', 0, i,
                    '\\xa0', '{}', now(), '00000000-0000-4000-8000-00000000000a',
                    'other', 'hw.x', 'sp'
             FROM generate_series(0, 999999) AS i",
        )
        .unwrap();
    let tuples_read = |admin: &mut postgres::Client| -> i64 {
        admin
            .batch_execute("SELECT pg_stat_clear_snapshot()")
            .unwrap();
        admin
            .query_one(
                "SELECT COALESCE(seq_tup_read, 0) FROM pg_stat_user_tables
                 WHERE relname = 'ereport'",
                &[],
            )
            .unwrap()
            .get(0)
    };
    let before = tuples_read(&mut admin);
    let at_load = committed(&mut admin);
    assert!(
        eventually(Duration::from_secs(60), || committed(&mut admin)
            >= at_load + 500),
        "the collector stopped storing once the table was large"
    );
    let _ = gateway.kill();
    let _ = gateway.wait();
    // A backend reports its statistics when it ends: wait for the
    // collector's to be gone.
    assert!(eventually(Duration::from_secs(30), || {
        admin
            .query_one(
                "SELECT COUNT(*) FROM pg_stat_activity
                 WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
                &[],
            )
            .unwrap()
            .get::<_, i64>(0)
            == 0
    }));
    let read = tuples_read(&mut admin) - before;
    // Scans made before the load read at most the few hundred rows there
    // were (a thousand executions would not reach the bound); one scan
    // after it reads a million.
    assert!(
        read < 100_000,
        "{read} rows of ereport read by sequential scans after it grew"
    );
}
