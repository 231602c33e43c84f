//! A whole rack end to end: 36 simulated SPs behind a lossy network (20% of
//! packets dropped, duplicated or reordered each way), SPs restarting, and
//! collector processes killed with SIGKILL and started again, all storing
//! into one database. At the end every ereport each SP stored is in the
//! database exactly once, byte for byte, and the loss records account for
//! every ereport the SPs lost.

mod common;

use ereport_gateway::store::Db;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{LossyProxy, PgCluster};
use ereport_sdk::decode::decode_value;
use serde_json::json;
use sp_sim::rack::{identity, layout};
use sp_sim::sim::{Delivered, Sim, SimConfig};

const SPS: usize = 36;

/// One SP: its simulator, the proxy in front of it, and what every one of
/// its incarnations stored (restart id -> deliveries, losses).
struct Sp {
    name: String,
    sim: Option<Sim>,
    proxy: LossyProxy,
    done: Vec<(String, Vec<Delivered>, u64)>,
}

fn start_sim(i: usize, listen: SocketAddr, seed: u64) -> Sim {
    let (kind, slot) = layout(i, SPS);
    Sim::start(SimConfig {
        listen,
        rate: 40.0,
        store_bytes: 4096,
        vpd_delay: Duration::from_millis(50),
        fault_every: i.is_multiple_of(9).then_some(Duration::from_millis(700)),
        seed,
        identity: identity(kind, slot),
        record_deliveries: true,
        ..SimConfig::default()
    })
    .unwrap()
}

fn collector(id: &str, inventory: &Path, db: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ereport-gateway"))
        .args([
            "--follow",
            "--interval",
            "100ms",
            "--timeout",
            "40ms",
            "--attempts",
            "30",
            // Claims short enough that a collector killed for good hands
            // its SPs over within the test.
            "--max-interval",
            "500ms",
            "--claim",
            "2s",
        ])
        .args(["--collector-id", id, "--db", db])
        .arg("--inventory")
        .arg(inventory)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Collector `c`'s id, the same at each of its starts.
fn collector_id(c: usize) -> String {
    format!("00000000-0000-4000-8000-{c:012x}")
}

fn run_rack(db_target: &str, collectors: usize) {
    let mut sps: Vec<Sp> = (0..SPS)
        .map(|i| {
            let sim = start_sim(i, "127.0.0.1:0".parse().unwrap(), 100 + i as u64);
            let proxy = LossyProxy::start(sim.local_addr(), 0.2, 7 + i as u64);
            let (kind, slot) = layout(i, SPS);
            let name = match kind {
                sp_sim::rack::SpKind::Sled => format!("sled-{slot:02}"),
                sp_sim::rack::SpKind::Switch => format!("switch-{slot}"),
                sp_sim::rack::SpKind::Power => format!("power-{slot}"),
            };
            Sp {
                name,
                sim: Some(sim),
                proxy,
                done: Vec::new(),
            }
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("rack.json");
    let inv: Vec<_> = sps
        .iter()
        .map(|s| json!({"name": s.name, "address": s.proxy.addr.to_string()}))
        .collect();
    std::fs::write(&inventory, serde_json::to_string(&inv).unwrap()).unwrap();
    let db = ereport_gateway::store::open(Path::new(db_target)).unwrap();
    let mut children: Vec<Child> = (0..collectors)
        .map(|c| collector(&collector_id(c), &inventory, db_target))
        .collect();

    let started = Instant::now();
    let mut round = 0;
    while started.elapsed() < Duration::from_secs(6) {
        std::thread::sleep(Duration::from_millis(700));
        round += 1;
        // SIGKILL a collector and start it again.
        let victim = round % children.len();
        let _ = children[victim].kill();
        let _ = children[victim].wait();
        // The same id again, as a restarted control-plane collector has.
        children[victim] = collector(&collector_id(victim), &inventory, db_target);
        // Restart an SP (a new restart id on the same address), once what
        // it stored has been collected: an SP's RAM does not survive.
        let sp = &mut sps[(round * 7) % SPS];
        if let Some(sim) = sp.sim.take() {
            sim.pause_producers(true);
            let addr = sim.local_addr();
            let rid = sim.restart_id().to_string();
            let delivered = sim.delivered();
            let collected = wait_until(Duration::from_secs(60), || {
                // ENA 1, the loss record, and every delivery.
                holds_all(&db, &rid, &delivered)
            });
            assert!(
                collected,
                "{}: not collected within 60 s before its restart",
                sp.name
            );
            let st = sim.stop();
            sp.done.push((rid, delivered, st.store.lost.into()));
            sp.sim = Some(start_sim(round, addr, 1000 + round as u64));
        }
    }
    // One collector killed for good (SIGKILL: its claims are not given up):
    // the others take its SPs over once its claims expire.
    if children.len() > 1 {
        let mut gone = children.remove(0);
        let _ = gone.kill();
        let _ = gone.wait();
    }
    // Stop producing; let the collectors take what is left.
    for sp in &sps {
        if let Some(sim) = &sp.sim {
            sim.pause_producers(true);
        }
    }
    // Until every SP's deliveries (and its ENA 1) are stored: behind 20%
    // loss an SP can take a while, so wait for the data, not for quiet.
    let collected = wait_until(Duration::from_secs(90), || {
        sps.iter().all(|sp| {
            sp.sim
                .as_ref()
                .is_none_or(|sim| holds_all(&db, &sim.restart_id().to_string(), &sim.delivered()))
        })
    });
    assert!(collected, "the rack was not drained within 90 s");
    for mut c in children {
        let _ = c.kill();
        let _ = c.wait();
    }
    for sp in &mut sps {
        if let Some(sim) = sp.sim.take() {
            let rid = sim.restart_id().to_string();
            let delivered = sim.delivered();
            let st = sim.stop();
            sp.done.push((rid, delivered, st.store.lost.into()));
        }
    }

    // Every incarnation of every SP: each stored ereport once, byte for
    // byte; the loss records add up to what it lost.
    let mut checked = 0;
    for sp in &sps {
        for (rid, delivered, lost) in &sp.done {
            let rows = stored(&db, rid);
            for d in delivered {
                let body = rows
                    .get(&d.ena.0)
                    .unwrap_or_else(|| panic!("{} {rid} ENA {} missing", sp.name, d.ena));
                assert_eq!(body, &d.body, "{} ENA {}", sp.name, d.ena);
                checked += 1;
            }
            let reported: u64 = rows
                .values()
                .filter_map(|b| decode_value(b).ok()?.get("lost")?.as_u64())
                .sum();
            assert_eq!(reported, *lost, "{} {rid}: losses reported", sp.name);
        }
    }
    let incarnations: usize = sps.iter().map(|s| s.done.len()).sum();
    assert!(
        incarnations > SPS,
        "SPs restarted: {incarnations} incarnations"
    );
    assert!(checked > 1000, "{checked} ereports checked");
    let gaps = db.gaps().unwrap();
    assert!(gaps.is_empty(), "no ENA went missing: {gaps:?}");
}

/// Whether the database holds every one of `delivered` and ENA 1.
fn holds_all(db: &Db, rid: &str, delivered: &[Delivered]) -> bool {
    let rows = stored(db, rid);
    rows.contains_key(&1) && delivered.iter().all(|d| rows.contains_key(&d.ena.0))
}

/// The bodies stored for one restart, by ENA.
fn stored(db: &Db, rid: &str) -> BTreeMap<u64, Vec<u8>> {
    let filter = ereport_gateway::db::Filter {
        restart_id: Some(ereport_gateway::db::parse_restart_id(rid).unwrap()),
        limit: u64::MAX >> 1,
        ..Default::default()
    };
    db.query(&filter)
        .unwrap()
        .iter()
        .map(|r| r.ena)
        .map(|ena| (ena, body(db, rid, ena)))
        .collect()
}

fn body(db: &Db, rid: &str, ena: u64) -> Vec<u8> {
    let rid = ereport_sdk::RestartId(u128::from_str_radix(rid, 16).unwrap());
    let ena = ereport_sdk::Ena(ena);
    db.bodies(rid, ena, ena).unwrap().remove(&ena.0).unwrap()
}

/// Waits for `done`, up to `limit`; says whether it happened.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
#[cfg_attr(
    not(postgres_installed),
    ignore = "PostgreSQL is not installed (apt-get install postgresql)"
)]
fn a_rack_three_collectors_and_postgresql_lose_nothing() {
    let pg = PgCluster::start();
    run_rack(&pg.url, 3);
}

#[test]
fn a_rack_one_collector_and_sqlite_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rack.sqlite");
    run_rack(path.to_str().unwrap(), 1);
}
