//! `rack-bench`: the collector on a rack of 36 simulated SPs, into
//! PostgreSQL (a throwaway cluster) and SQLite, printed as `rack.*` lines.
//!
//! - storm: every SP's 4 KiB store full; the time from the first request
//!   until the whole rack is drained, with 1 and 3 collectors;
//! - sustained: every SP producing; ereports stored per second with 3
//!   collectors (1 for SQLite), and the p50/p99 time from an ereport's
//!   delivery on the SP to its row's commit;
//! - idle: the CPU a collector process uses polling an idle rack every
//!   second;
//! - capacity (`--capacity`): SPs whose stores never run dry (their
//!   offered load has no bound), so what is stored is what the collectors
//!   can store; beside it, in the same run, the database's own rate for the
//!   same rows in the same batches from plain inserts (measured before the
//!   collectors and after them, and averaged), and the CPU each side
//!   spends per 10,000 ereports.
//!
//! Everything runs on this machine: the simulator's 36 SPs, the
//! collectors, and the database server.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use ereport_gateway::collector::{Collector, Target};
use ereport_gateway::gateway::GatewayConfig;
use ereport_gateway::store::Filter;
use pg_cluster::TempCluster;
use sp_sim::rack::Rack;
use sp_sim::sim::SimConfig;

/// Measures the collector on a simulated rack (see the source's header).
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// SPs in the rack.
    #[arg(long, default_value_t = 36)]
    sps: usize,
    /// How long the sustained run lasts, in seconds.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Ereports a second each SP produces in the sustained run.
    #[arg(long, default_value_t = 350.0)]
    rate: f64,
    /// A collector's pause between drains of an SP in the sustained run,
    /// in ms (`--interval`, as the gateway's `--follow` takes it).
    #[arg(long, default_value_t = 50)]
    interval_ms: u64,
    /// Collectors in the sustained run into PostgreSQL (SQLite has one).
    #[arg(long, default_value_t = 3)]
    collectors: usize,
    /// Measure only this database (`postgres` or `sqlite`); both when
    /// absent.
    #[arg(long, value_parser = ["postgres", "sqlite"])]
    only: Option<String>,
    /// Skip the storm drains.
    #[arg(long)]
    no_storm: bool,
    /// Skip the idle measurement.
    #[arg(long)]
    no_idle: bool,
    /// Sustained run without claims (every collector drains every SP,
    /// taking turns), to compare with the default, where collectors divide
    /// the SPs by claims as `ereport-gateway --follow` does.
    #[arg(long)]
    no_claims: bool,
    /// Measure capacity instead (see the source's header): endless SPs,
    /// `--seconds` per run, 1 and `--collectors` collectors, and the
    /// database's own rate; `--sps 360` for ten racks.
    #[arg(long)]
    capacity: bool,
    /// (Internal) Serve this many endless SPs for a capacity run, printing
    /// their addresses; `dry` on standard input runs them dry, its end
    /// stops them. A process of its own, so that the collectors' CPU is
    /// measured apart from the SPs'.
    #[arg(long, hide = true, value_name = "N")]
    serve_endless_sps: Option<usize>,
    /// (Internal) The restart ids' high bits for `--serve-endless-sps`.
    #[arg(long, hide = true, default_value_t = 0)]
    nonce: u64,
}

/// `--serve-endless-sps`: see [`Args::serve_endless_sps`].
fn serve_endless(n: usize, nonce: u64) {
    use bench_support::fake_sp::EndlessSp;
    use std::io::BufRead;
    let body = capacity_body();
    let fakes: Vec<EndlessSp> = (0..n)
        .map(|i| {
            EndlessSp::start(
                (u128::from(nonce) << 64) | (i as u128 + 1),
                &format!("CAP{i:05}"),
                &body,
            )
            .expect("an SP starts")
        })
        .collect();
    for f in &fakes {
        println!("{}", f.addr);
    }
    for line in std::io::stdin().lock().lines() {
        match line.as_deref() {
            Ok("dry") => fakes.iter().for_each(EndlessSp::run_dry),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    fakes.iter().for_each(EndlessSp::signal);
}

/// Whether the collectors of the sustained run divide the SPs by claims.
static CLAIMS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

fn rack(sps: usize, rate: f64) -> Rack {
    Rack::start(
        sps,
        "127.0.0.1:0".parse().unwrap_or_else(|_| unreachable!()),
        &SimConfig {
            rate,
            store_bytes: 4096,
            vpd_delay: Duration::ZERO,
            ..SimConfig::default()
        },
    )
    .expect("the rack starts")
}

fn targets(r: &Rack) -> Vec<Target> {
    r.sps()
        .map(|(s, _)| Target {
            name: s.name.clone(),
            kind: Some(s.kind.name().into()),
            slot: Some(s.slot),
            rack_id: None,
            addr: s.addr,
        })
        .collect()
}

fn collectors(n: usize, targets: &[Target], db: &str) -> Vec<Collector> {
    (0..n)
        .map(|i| {
            let base = GatewayConfig {
                collector_id: ereport_gateway::store::Uuid::from_u128(i as u128 + 1),
                timeout: Duration::from_millis(100),
                ..GatewayConfig::for_sp("127.0.0.1:1".parse().unwrap_or_else(|_| unreachable!()))
            };
            let store = ereport_gateway::store::open(Path::new(db)).expect("the database opens");
            let mut c =
                Collector::new(targets, &base, &store, None, 16).expect("a collector starts");
            // Collectors spread evenly over the rack: each starts its
            // rounds a third (for three) of the way along.
            c.set_start_offset(i * targets.len() / n.max(1));
            if CLAIMS.load(std::sync::atomic::Ordering::Relaxed) {
                c.set_claims(Some(Duration::from_secs(60)));
            }
            c
        })
        .collect()
}

/// Storm: fill every store, then time the drain.
fn storm(db: &str, n: usize, sps: usize) -> f64 {
    let r = rack(sps, 2000.0);
    std::thread::sleep(Duration::from_millis(500));
    for (_, sim) in r.sps() {
        sim.pause_producers(true);
    }
    std::thread::sleep(Duration::from_millis(50));
    let t = targets(&r);
    let cs = collectors(n, &t, db);
    let start = Instant::now();
    std::thread::scope(|s| {
        for c in &cs {
            s.spawn(move || c.round(&|_, _| {}));
        }
    });
    let took = start.elapsed().as_secs_f64();
    // The claims go with the collectors: the next run's collectors must
    // divide the SPs afresh, not find them all held by one of their ids.
    for c in &cs {
        c.release_claims();
    }
    r.stop();
    took
}

fn ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Sustained: produce for `seconds`, collect continuously; rows per
/// second, and delivery-to-commit latencies.
fn sustained(
    name: &str,
    db: &str,
    n: usize,
    sps: usize,
    rate: f64,
    seconds: f64,
    interval: Duration,
) -> (f64, i64, i64) {
    let r = rack(sps, rate);
    let t = targets(&r);
    let cs = collectors(n, &t, db);
    let starts: std::collections::BTreeMap<u128, i64> = r
        .sps()
        .map(|(_, sim)| (sim.restart_id().0, ms(sim.started_at())))
        .collect();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let before = ereport_gateway::store::open(Path::new(db))
        .expect("db")
        .summary()
        .expect("summary")
        .iter()
        .map(|x| x.count)
        .sum::<u64>();
    let start = Instant::now();
    std::thread::scope(|s| {
        for c in &cs {
            let stop = &stop;
            s.spawn(move || c.follow(interval, stop, &|_, _| {}, &|_, _| {}));
        }
        std::thread::sleep(Duration::from_secs_f64(seconds));
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let took = start.elapsed().as_secs_f64();
    let mut cst = ereport_gateway::gateway::GatewayStats::default();
    for c in &cs {
        cst.add(&c.stats());
    }
    println!(
        "rack.sustained.{name}.{n}_collectors.requests_per_second: {:.0}",
        cst.requests as f64 / took
    );
    println!(
        "rack.sustained.{name}.{n}_collectors.fetched_already_stored_per_second: {:.0}",
        cst.already_stored as f64 / took
    );
    println!(
        "rack.sustained.{name}.{n}_collectors.drains_yielded_per_second: {:.0}",
        cst.yielded as f64 / took
    );
    let stats = r.stop();
    let produced: u64 = stats.iter().map(|(_, st)| st.delivered).sum();
    let lost: u64 = stats.iter().map(|(_, st)| st.lost_full).sum();
    println!(
        "rack.sustained.{name}.{n}_collectors.produced_per_second: {:.0}",
        produced as f64 / took
    );
    println!(
        "rack.sustained.{name}.{n}_collectors.lost_in_full_stores_per_second: {:.0}",
        lost as f64 / took
    );
    let db = ereport_gateway::store::open(Path::new(db)).expect("db");
    let after = db
        .summary()
        .expect("summary")
        .iter()
        .map(|x| x.count)
        .sum::<u64>();
    let rows = db
        .query(&Filter {
            limit: 1 << 40,
            ..Filter::default()
        })
        .expect("query");
    let mut lat: Vec<i64> = rows
        .iter()
        .filter_map(|row| {
            let start = starts.get(&row.restart_id.0)?;
            let delivered = start + i64::try_from(row.uptime_ms).ok()?;
            Some(row.time_collected_ms? - delivered)
        })
        .collect();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0)
    };
    ((after - before) as f64 / took, pct(0.5), pct(0.99))
}

/// CPU ticks (user + system) of a process, from /proc.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Idle: a collector process polling an idle rack every second.
/// An idle collector following the rack (the binary, as shipped, polling
/// every second and backing off to every 30 s): its CPU, and for PostgreSQL
/// the server's transactions a second, over 10 s of its steady state.
fn idle(sps: usize, db: &str) -> (f64, Option<f64>) {
    let r = rack(sps, 0.0);
    let dir = tempfile::tempdir().expect("tempdir");
    let inv = dir.path().join("rack.json");
    std::fs::write(&inv, r.inventory().to_string()).expect("inventory");
    let exe = std::env::current_exe().expect("exe");
    let gateway = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("ereport-gateway"))
        .expect("dir");
    {
        // `cargo run --example` builds the example, not the crate's
        // binary: build it (a no-op when it is up to date, and never a
        // stale one measured), with the profile this example was built
        // with.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "-p", "ereport-gateway", "--bin", "ereport-gateway"]);
        if !cfg!(debug_assertions) {
            build.arg("--release");
        }
        let built = build.status().expect("cargo runs");
        assert!(built.success(), "building ereport-gateway failed");
    }
    // Transactions the server has committed or rolled back (PostgreSQL).
    let transactions = || -> Option<i64> {
        if !ereport_gateway::store::postgres::is_postgres(db) {
            return None;
        }
        let mut c = postgres::Client::connect(db, postgres::NoTls).ok()?;
        c.query_one(
            "SELECT (xact_commit + xact_rollback)::INT8 FROM pg_stat_database
             WHERE datname = current_database()",
            &[],
        )
        .ok()
        .map(|r| r.get(0))
    };
    // What the server does on its own meanwhile (autovacuum after the
    // sustained runs, statistics): measured first, and taken off.
    let background = transactions().map(|a| {
        std::thread::sleep(Duration::from_secs(10));
        transactions().map_or(0.0, |b| (b - a - 1).max(0) as f64 / 10.0)
    });
    let mut child = Command::new(&gateway)
        .args([
            "--follow",
            "--interval",
            "1s",
            "--run-for",
            "50s",
            "--inventory",
        ])
        .arg(&inv)
        .arg("--db")
        .arg(db)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (cargo build --release -p ereport-gateway)",
                gateway.display()
            )
        });
    // Past start-up and the quiet back-off's climb to its 30 s bound
    // (1, 2, 4, 8, 16, 30 s: the steady state), measure ten seconds.
    std::thread::sleep(Duration::from_secs(35));
    let a = cpu_ticks(child.id()).unwrap_or(0);
    let ta = transactions();
    std::thread::sleep(Duration::from_secs(10));
    let b = cpu_ticks(child.id()).unwrap_or(0);
    let tb = transactions();
    let _ = child.kill();
    let _ = child.wait();
    r.stop();
    // Ticks are 1/100 s: percent of one core over 10 s. The two reads of
    // the counter are transactions too: not the collector's.
    let tx = ta
        .zip(tb)
        .map(|(a, b)| ((b - a - 1).max(0) as f64 / 10.0 - background.unwrap_or(0.0)).max(0.0));
    ((b - a) as f64 / 10.0, tx)
}

/// CPU ticks (1/100 s) of a PostgreSQL server: the postmaster, its live
/// processes, and the children it has reaped.
fn server_ticks(postmaster: u32) -> u64 {
    let mut total = 0;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        // Fields after the name: state (0), ppid (1), ..., utime (11),
        // stime (12), cutime (13), cstime (14).
        if pid == postmaster {
            total += field(11) + field(12) + field(13) + field(14);
        } else if field(1) == u64::from(postmaster) {
            total += field(11) + field(12);
        }
    }
    total
}

/// Transactions the server has committed or rolled back, and index scans
/// of the ereport table, so far.
fn server_counts(db: &str) -> Option<(i64, i64)> {
    let mut c = postgres::Client::connect(db, postgres::NoTls).ok()?;
    let r = c
        .query_one(
            "SELECT (SELECT (xact_commit + xact_rollback)::INT8 FROM pg_stat_database
                     WHERE datname = current_database()),
                    COALESCE((SELECT idx_scan::INT8 FROM pg_stat_user_tables
                              WHERE relname = 'ereport'), 0)",
            &[],
        )
        .ok()?;
    Some((r.get(0), r.get(1)))
}

/// A body as W1's thermal reports have it, and its report.
fn capacity_body() -> Vec<u8> {
    use ereport_sdk::Ereport;
    let mut buf = [0u8; 256];
    let e = sp_sim::classes::Overtemp {
        sensor: 3,
        millidegrees: 91_500,
        limit_millidegrees: 90_000,
    };
    let n = e.encode_to_slice(&mut buf).expect("encodes");
    buf[..n].to_vec()
}

/// What one capacity run measured.
struct Capacity {
    stored_per_second: f64,
    collectors_ms_per_10k: f64,
    server_ms_per_10k: Option<f64>,
    connections: Option<i64>,
    /// Transactions and index scans of `ereport` per 10,000 ereports.
    transactions_per_10k: Option<(f64, f64)>,
}

/// Capacity: `n` collectors following `sps` endless SPs for `seconds`.
fn capacity(
    db: &str,
    n: usize,
    sps: usize,
    seconds: f64,
    interval: Duration,
    postmaster: Option<u32>,
) -> Capacity {
    use std::io::{BufRead, Write};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    // The SPs in a process of their own, so that this one's CPU is the
    // collectors'. Restart ids no earlier run in this database used.
    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut server = Command::new(std::env::current_exe().expect("exe"))
        .args([
            "--serve-endless-sps",
            &sps.to_string(),
            "--nonce",
            &nonce.to_string(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the SPs' process starts");
    let mut stdin = server.stdin.take().expect("piped");
    let addrs: Vec<std::net::SocketAddr> =
        std::io::BufReader::new(server.stdout.take().expect("piped"))
            .lines()
            .take(sps)
            .map(|l| l.expect("an address").parse().expect("an address"))
            .collect();
    assert_eq!(addrs.len(), sps, "the SPs' process printed every address");
    let targets: Vec<Target> = addrs
        .iter()
        .enumerate()
        .map(|(i, addr)| Target {
            name: format!("cap-{i:03}"),
            kind: Some("sled".into()),
            slot: u32::try_from(i).ok(),
            rack_id: None,
            addr: *addr,
        })
        .collect();
    let mut cs = collectors(n, &targets, db);
    // An SP another collector holds is asked for again after the interval,
    // backing off, doubling, to a second, as `--follow` does (to 30 s):
    // not at once and without end.
    for c in &mut cs {
        c.set_quiet_backoff(Duration::from_secs(1));
    }
    let stored = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let ticks = || {
        (
            cpu_ticks(std::process::id()).unwrap_or(0),
            postmaster.map(server_ticks),
        )
    };
    let mut measured = (0.0, 0u64, (0u64, None), None);
    let mut counts = None;
    std::thread::scope(|s| {
        for c in &cs {
            let (stop, stored) = (&stop, &stored);
            s.spawn(move || {
                c.follow(
                    interval,
                    stop,
                    &|_, p| {
                        stored.fetch_add(p.stored.len() as u64, Ordering::Relaxed);
                    },
                    &|_, _| {},
                )
            });
        }
        // A second to reach the steady state, then the window.
        std::thread::sleep(Duration::from_secs(1));
        let x0 = postmaster.and_then(|_| server_counts(db));
        let (n0, t0, c0) = (stored.load(Ordering::Relaxed), Instant::now(), ticks());
        std::thread::sleep(Duration::from_secs_f64(seconds));
        let (n1, took, c1) = (
            stored.load(Ordering::Relaxed),
            t0.elapsed().as_secs_f64(),
            ticks(),
        );
        let x1 = postmaster.and_then(|_| server_counts(db));
        // Less the two reads of the counters, which are transactions too.
        counts = x0.zip(x1).map(|(a, b)| {
            let per = |d: i64| d.max(0) as f64 * 10_000.0 / (n1 - n0).max(1) as f64;
            (per(b.0 - a.0 - 1), per(b.1 - a.1))
        });
        let connections = postmaster.and_then(|_| {
            let mut c = postgres::Client::connect(db, postgres::NoTls).ok()?;
            c.query_one(
                "SELECT COUNT(*) - 1 FROM pg_stat_activity WHERE backend_type = 'client backend'",
                &[],
            )
            .ok()
            .map(|r| r.get::<_, i64>(0))
        });
        let cpu = (
            c1.0.saturating_sub(c0.0),
            c1.1.zip(c0.1).map(|(b, a)| b.saturating_sub(a)),
        );
        measured = (took, n1 - n0, cpu, connections);
        // The SPs run dry, every drain ends, the collectors stop.
        let _ = writeln!(stdin, "dry");
        stop.store(true, Ordering::SeqCst);
    });
    for c in &cs {
        c.release_claims();
    }
    drop(stdin);
    let _ = server.wait();
    let (took, rows, (bench, server), connections) = measured;
    let per_10k = |ticks: u64| ticks as f64 * 10.0 * 10_000.0 / rows.max(1) as f64;
    Capacity {
        stored_per_second: rows as f64 / took,
        collectors_ms_per_10k: per_10k(bench),
        server_ms_per_10k: server.map(per_10k),
        connections,
        transactions_per_10k: counts,
    }
}

/// The database's own rate for the same rows: `clients` connections each
/// inserting batches of `batch` rows (a full response's worth) into a
/// copy of the ereport table, indexes and all, as one `INSERT … SELECT
/// FROM UNNEST(…)` each, for `seconds`. Rows a second, and the server's CPU
/// per 10,000 rows.
fn plain_inserts(
    db: &str,
    clients: usize,
    batch: usize,
    seconds: f64,
    postmaster: u32,
) -> (f64, f64) {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let body = capacity_body();
    let mut md = serde_json::Map::new();
    md.insert(
        "baseboard_serial_number".into(),
        serde_json::json!("CAP00000"),
    );
    let entry = ereport_sdk::decode::Entry {
        ena: ereport_sdk::Ena(1),
        task_name: "thermal".into(),
        task_gen: 0,
        uptime_ms: 1,
        body: body.clone(),
    };
    let report = ereport_gateway::json::ereport_json(&entry, &md).to_string();
    let mut admin = postgres::Client::connect(db, postgres::NoTls).expect("connects");
    admin
        .batch_execute(
            "DROP TABLE IF EXISTS plain_ereport;
             CREATE TABLE plain_ereport (LIKE ereport INCLUDING ALL);",
        )
        .expect("the copy is made");
    let rows = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let mut out = (0.0, 0.0);
    std::thread::scope(|s| {
        for c in 0..clients {
            let (rows, stop, body, report) = (&rows, &stop, &body, &report);
            s.spawn(move || {
                let mut client = postgres::Client::connect(db, postgres::NoTls).expect("connects");
                let st = client
                    .prepare(
                        "INSERT INTO plain_ereport
                         (restart_id, ena, task_name, task_gen, uptime_ms, body, report,
                          sp_name, reporter, sp_type, sp_slot, serial_number, class,
                          time_collected, collector_id)
                         SELECT $1, u.ena, 'thermal', 0, u.ena, u.body, u.report::JSONB,
                                'cap', 'sp', 'sled', 1, 'CAP00000', 'hw.temp.overtemp', now(), $2
                         FROM UNNEST($3::INT8[], $4::BYTEA[], $5::TEXT[]) AS u(ena, body, report)",
                    )
                    .expect("prepares");
                let rid = ereport_gateway::store::Uuid::from_u128(c as u128 + 1);
                let collector = ereport_gateway::store::Uuid::from_u128(0xbe);
                let bodies: Vec<&[u8]> = vec![body.as_slice(); batch];
                let reports: Vec<&str> = vec![report.as_str(); batch];
                let mut next = 1i64;
                while !stop.load(Ordering::Relaxed) {
                    let enas: Vec<i64> = (next..next + batch as i64).collect();
                    next += batch as i64;
                    client
                        .execute(&st, &[&rid, &collector, &enas, &bodies, &reports])
                        .expect("inserts");
                    rows.fetch_add(batch as u64, Ordering::Relaxed);
                }
            });
        }
        std::thread::sleep(Duration::from_secs(1));
        let (n0, t0, c0) = (
            rows.load(Ordering::Relaxed),
            Instant::now(),
            server_ticks(postmaster),
        );
        std::thread::sleep(Duration::from_secs_f64(seconds));
        let (n1, took, c1) = (
            rows.load(Ordering::Relaxed),
            t0.elapsed().as_secs_f64(),
            server_ticks(postmaster),
        );
        stop.store(true, Ordering::SeqCst);
        let n = (n1 - n0).max(1);
        out = (
            n as f64 / took,
            c1.saturating_sub(c0) as f64 * 10.0 * 10_000.0 / n as f64,
        );
    });
    let _ = admin.batch_execute("DROP TABLE plain_ereport");
    out
}

/// `--capacity`: the collectors at capacity, beside the database's own
/// rate.
fn capacity_runs(a: &Args, pg: &TempCluster, sqlite: &str) {
    let postmaster = pg.server_pid();
    for (name, db) in [("postgres", pg.url.as_str()), ("sqlite", sqlite)] {
        if a.only.as_ref().is_some_and(|only| only != name) {
            continue;
        }
        let counts = if name == "postgres" {
            vec![1, a.collectors]
        } else {
            vec![1]
        };
        // The database's own rate before the collectors and again after,
        // the two averaged: this machine's speed drifts by tens of percent
        // within a minute, and a ratio to one measurement taken after
        // both collector runs carried that drift.
        let own_before = match (postmaster, name) {
            (Some(pm), "postgres") => {
                // The schema the copy is made from.
                drop(ereport_gateway::store::open(Path::new(db)).expect("the database opens"));
                Some(plain_inserts(db, a.collectors, 15, a.seconds, pm))
            }
            _ => None,
        };
        let mut rates = Vec::new();
        for n in counts {
            let c = capacity(
                db,
                n,
                a.sps,
                a.seconds,
                // Each SP drained again at once (a millisecond) when its
                // store is full again; one another collector holds backs
                // off, doubling, to a second.
                Duration::from_millis(1),
                postmaster.filter(|_| name == "postgres"),
            );
            let key = format!("rack.capacity.{name}.{}_sps.{n}_collectors", a.sps);
            println!("{key}.stored_per_second: {:.0}", c.stored_per_second);
            println!(
                "{key}.collectors_cpu_ms_per_10k_ereports: {:.0}",
                c.collectors_ms_per_10k
            );
            if let Some(ms) = c.server_ms_per_10k {
                println!("{key}.postgres_cpu_ms_per_10k_ereports: {ms:.0}");
            }
            if let Some(conns) = c.connections {
                println!("{key}.connections: {conns}");
            }
            if let Some((tx, scans)) = c.transactions_per_10k {
                println!("{key}.transactions_per_10k_ereports: {tx:.0}");
                println!("{key}.ereport_index_scans_per_10k_ereports: {scans:.0}");
            }
            rates.push((n, c));
        }
        if let (Some(pm), "postgres", Some((before, before_cpu))) = (postmaster, name, own_before) {
            let (after, after_cpu) = plain_inserts(db, a.collectors, 15, a.seconds, pm);
            let (own, own_cpu) = ((before + after) / 2.0, (before_cpu + after_cpu) / 2.0);
            let key = format!("rack.capacity.postgres.{}_sps", a.sps);
            println!(
                "{key}.database_own_rate.{}_clients.rows_per_second_before: {before:.0}",
                a.collectors
            );
            println!(
                "{key}.database_own_rate.{}_clients.rows_per_second_after: {after:.0}",
                a.collectors
            );
            println!(
                "{key}.database_own_rate.{}_clients.rows_per_second: {own:.0}",
                a.collectors
            );
            println!(
                "{key}.database_own_rate.{}_clients.postgres_cpu_ms_per_10k_rows: {own_cpu:.0}",
                a.collectors
            );
            for (n, c) in &rates {
                println!(
                    "{key}.{n}_collectors.ratio_to_database_own_rate: {:.2}",
                    c.stored_per_second / own
                );
                if let Some(ms) = c.server_ms_per_10k {
                    println!(
                        "{key}.{n}_collectors.postgres_cpu_ratio_to_plain_inserts: {:.2}",
                        ms / own_cpu
                    );
                }
            }
        }
    }
}

fn main() {
    let a = Args::parse();
    if let Some(n) = a.serve_endless_sps {
        serve_endless(n, a.nonce);
        return;
    }
    CLAIMS.store(!a.no_claims, std::sync::atomic::Ordering::Relaxed);
    let pg = TempCluster::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = dir.path().join("bench.sqlite");
    let sqlite = sqlite.to_str().expect("utf-8 path").to_string();
    if a.capacity {
        capacity_runs(&a, &pg, &sqlite);
        return;
    }
    for (name, db) in [("postgres", pg.url.as_str()), ("sqlite", sqlite.as_str())] {
        if a.only.as_ref().is_some_and(|only| only != name) {
            continue;
        }
        for n in [1, 3] {
            if a.no_storm {
                break;
            }
            println!(
                "rack.storm.{name}.{n}_collectors.drain_seconds: {:.3}",
                storm(db, n, a.sps)
            );
        }
        let n = if name == "postgres" { a.collectors } else { 1 };
        let (rate, p50, p99) = sustained(
            name,
            db,
            n,
            a.sps,
            a.rate,
            a.seconds,
            Duration::from_millis(a.interval_ms),
        );
        println!("rack.sustained.{name}.{n}_collectors.stored_per_second: {rate:.0}");
        println!("rack.sustained.{name}.{n}_collectors.commit_latency_p50_ms: {p50}");
        println!("rack.sustained.{name}.{n}_collectors.commit_latency_p99_ms: {p99}");
    }
    if !a.no_idle {
        for (name, db) in [("postgres", pg.url.as_str()), ("sqlite", sqlite.as_str())] {
            if a.only.as_deref().is_some_and(|o| o != name) {
                continue;
            }
            let (cpu, tx) = idle(a.sps, db);
            println!("rack.idle.{name}.1_collector.cpu_percent_of_a_core: {cpu:.2}");
            if let Some(tx) = tx {
                println!("rack.idle.{name}.1_collector.transactions_per_second: {tx:.1}");
            }
        }
    }
}
