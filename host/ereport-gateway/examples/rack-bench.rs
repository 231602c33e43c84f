//! `rack-bench`: the collector on a rack of 36 simulated SPs, into
//! PostgreSQL (a throwaway cluster) and SQLite, printed as `rack.*` lines.
//!
//! - storm: every SP's 4 KiB store full; the time from the first request
//!   until the whole rack is drained, with 1 and 3 collectors;
//! - sustained: every SP producing; ereports stored per second with 3
//!   collectors (1 for SQLite), and the p50/p99 time from an ereport's
//!   delivery on the SP to its row's commit;
//! - idle: the CPU a collector process uses polling an idle rack every
//!   second.
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

fn main() {
    let a = Args::parse();
    CLAIMS.store(!a.no_claims, std::sync::atomic::Ordering::Relaxed);
    let pg = TempCluster::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = dir.path().join("bench.sqlite");
    let sqlite = sqlite.to_str().expect("utf-8 path").to_string();
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
