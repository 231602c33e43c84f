//! End to end over loopback UDP: the simulator's real packrat and snitch,
//! the gateway, SQLite. Bounded in time.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::{LossyProxy, check_restart, gateway_cfg, restart_ids, rows, temp_path};
use ereport_gateway::gateway::Gateway;
use ereport_sdk::wire::Request;
use ereport_sdk::{Ena, RestartId};
use packrat_ereport::faults::FaultInfo;
use sp_sim::sim::{Rng, Sim, SimConfig};

fn sim(store_bytes: usize, rate: f64, seed: u64) -> Sim {
    Sim::start(SimConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        store_bytes,
        rate,
        vpd_delay: Duration::from_millis(100),
        seed,
        record_deliveries: true,
        ..SimConfig::default()
    })
    .unwrap()
}

/// Polls for `d`, then pauses producers and drains.
fn run_and_drain(gw: &mut Gateway, sim: &Sim, d: Duration, pause: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end {
        if gw.poll().unwrap().drained {
            std::thread::sleep(pause);
        }
    }
    sim.pause_producers(true);
    std::thread::sleep(Duration::from_millis(100));
    // Two empty answers in a row: nothing left, loss records included.
    let mut empties = 0;
    let give_up = Instant::now() + Duration::from_secs(20);
    while empties < 2 && Instant::now() < give_up {
        if gw.poll().unwrap().drained {
            empties += 1
        } else {
            empties = 0
        }
    }
    assert_eq!(empties, 2, "drained");
}

#[test]
fn lossy_network_and_overflowing_store_lose_nothing_unaccounted() {
    let sim = sim(1024, 300.0, 11);
    let proxy = LossyProxy::start(sim.local_addr(), 0.2, 5);
    let db = temp_path("lossy");
    let mut gw = Gateway::new(
        gateway_cfg(proxy.addr),
        ereport_gateway::store::open(&db).unwrap(),
    )
    .unwrap();
    // Poll slowly so the small store overflows between polls.
    run_and_drain(
        &mut gw,
        &sim,
        Duration::from_millis(2500),
        Duration::from_millis(150),
    );
    let delivered = sim.delivered();
    let st = sim.stop();
    let ps = proxy.stop();
    assert!(
        ps.dropped > 0 && ps.duplicated > 0 && ps.reordered > 0,
        "{ps:?}"
    );
    assert!(st.lost_full > 0, "the store overflowed: {st:?}");
    assert_eq!(st.pending_losses, 0);
    let rid = format!("{:032x}", st_rid(&gw));
    let lost = check_restart(
        &rusqlite::Connection::open(gw.db().name()).unwrap(),
        &rid,
        &delivered,
    );
    assert_eq!(
        lost, st.lost_full,
        "every loss is accounted for by a loss record"
    );
    assert!(gw.stats().timeouts > 0, "retries happened");
    common::remove_db(&db);
}

fn st_rid(gw: &Gateway) -> u128 {
    gw.restart_id().unwrap().0
}

#[test]
fn sp_restart_is_noticed_and_kept_apart() {
    let a = sim(4096, 100.0, 21);
    let addr = a.local_addr();
    let db = temp_path("sp-restart");
    let mut gw = Gateway::new(
        gateway_cfg(addr),
        ereport_gateway::store::open(&db).unwrap(),
    )
    .unwrap();
    run_and_drain(
        &mut gw,
        &a,
        Duration::from_millis(600),
        Duration::from_millis(50),
    );
    assert!(
        !gw.metadata().is_empty(),
        "metadata refreshed for the first restart"
    );
    let (rid_a, delivered_a) = (a.restart_id(), a.delivered());
    a.stop();
    // The SP comes back on the same address with a new restart id.
    let b = Sim::start(SimConfig {
        listen: addr,
        store_bytes: 4096,
        rate: 100.0,
        vpd_delay: Duration::from_millis(300),
        seed: 22,
        record_deliveries: true,
        ..SimConfig::default()
    })
    .unwrap();
    assert_ne!(b.restart_id(), rid_a);
    run_and_drain(
        &mut gw,
        &b,
        Duration::from_millis(800),
        Duration::from_millis(50),
    );
    assert_eq!(gw.restart_id(), Some(b.restart_id()));
    assert!(gw.stats().restarts_seen >= 2);
    let delivered_b = b.delivered();
    b.stop();
    let mut ids = restart_ids(&rusqlite::Connection::open(gw.db().name()).unwrap());
    ids.sort();
    let mut want = vec![
        ereport_gateway::store::rid_text(rid_a),
        ereport_gateway::store::rid_text(gw.restart_id().unwrap()),
    ];
    want.sort();
    assert_eq!(ids, want);
    check_restart(
        &rusqlite::Connection::open(gw.db().name()).unwrap(),
        &format!("{:032x}", rid_a.0),
        &delivered_a,
    );
    check_restart(
        &rusqlite::Connection::open(gw.db().name()).unwrap(),
        &format!("{:032x}", gw.restart_id().unwrap().0),
        &delivered_b,
    );
    // Metadata is kept per restart.
    let n: i64 = rusqlite::Connection::open(gw.db().name())
        .unwrap()
        .query_row(
            "SELECT count(*) FROM sp_restarts WHERE metadata LIKE '%baseboard_serial_number%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 2);
    common::remove_db(&db);
}

#[test]
fn gateway_restart_resumes_without_duplicates_or_gaps() {
    let s = sim(8192, 150.0, 31);
    let db = temp_path("gw-restart");
    {
        let mut gw = Gateway::new(
            gateway_cfg(s.local_addr()),
            ereport_gateway::store::open(&db).unwrap(),
        )
        .unwrap();
        // At least 700 ms of polling, and on until something is committed
        // however loaded the machine is (bounded).
        let end = Instant::now() + Duration::from_millis(700);
        let give_up = Instant::now() + Duration::from_secs(30);
        while (Instant::now() < end || gw.committed() <= Ena(5)) && Instant::now() < give_up {
            let _ = gw.poll().unwrap();
            std::thread::sleep(Duration::from_millis(40));
        }
        assert!(gw.committed() > Ena(5));
    } // the gateway goes away mid-run
    std::thread::sleep(Duration::from_millis(300));
    let mut gw = Gateway::new(
        gateway_cfg(s.local_addr()),
        ereport_gateway::store::open(&db).unwrap(),
    )
    .unwrap();
    assert_eq!(
        gw.restart_id(),
        Some(s.restart_id()),
        "resumed from the database"
    );
    assert!(!gw.metadata().is_empty(), "metadata resumed too");
    let requests_before = gw.stats().refreshes;
    run_and_drain(
        &mut gw,
        &s,
        Duration::from_millis(500),
        Duration::from_millis(40),
    );
    assert_eq!(
        gw.stats().refreshes,
        requests_before,
        "no metadata refresh needed after resume"
    );
    let delivered = s.delivered();
    let st = s.stop();
    // Whether the store overflowed while no gateway ran depends on how
    // loaded the machine is; that every loss is a loss record, and every
    // delivered ereport is stored once with no gap, does not.
    let lost = check_restart(
        &rusqlite::Connection::open(gw.db().name()).unwrap(),
        &format!("{:032x}", s_rid(&gw)),
        &delivered,
    );
    assert_eq!(lost, st.lost_full, "every loss is a loss record");
    assert!(gw.db().gaps().unwrap().is_empty(), "no gap");
    common::remove_db(&db);
}

fn s_rid(gw: &Gateway) -> u128 {
    gw.restart_id().unwrap().0
}

#[test]
fn producer_restarted_during_the_copy_loses_nothing_else() {
    let s = sim(16384, 200.0, 41);
    let db = temp_path("mid-copy");
    let mut gw = Gateway::new(
        gateway_cfg(s.local_addr()),
        ereport_gateway::store::open(&db).unwrap(),
    )
    .unwrap();
    for (i, task) in [1u16, 2, 3, 4, 1, 2].into_iter().enumerate() {
        let message = format!("fault {i} during a copy").into_bytes();
        s.inject_fault(task, FaultInfo::Panic, Some(message), true);
        std::thread::sleep(Duration::from_millis(80));
        let _ = gw.poll().unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while s.stats().went_away < 6 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    run_and_drain(
        &mut gw,
        &s,
        Duration::from_millis(200),
        Duration::from_millis(40),
    );
    let delivered = s.delivered();
    let st = s.stop();
    assert_eq!(
        st.went_away, 6,
        "each restart hit a copy in progress: {st:?}"
    );
    assert_eq!(st.store.went_away, 6);
    assert_eq!(st.lost_full, 0, "nothing else lost");
    let rid = format!("{:032x}", gw.restart_id().unwrap().0);
    check_restart(
        &rusqlite::Connection::open(gw.db().name()).unwrap(),
        &rid,
        &delivered,
    );
    let panics: i64 = rusqlite::Connection::open(gw.db().name())
        .unwrap()
        .query_row(
            "SELECT count(*) FROM ereport WHERE report LIKE '%hubris.fault.panic%during a copy%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(panics, 6, "a fault ereport for every injected panic");
    common::remove_db(&db);
}

#[test]
fn junk_at_the_snitch_does_not_stop_valid_requests() {
    let s = sim(8192, 100.0, 51);
    let target = s.local_addr();
    let junk = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut rng = Rng::new(99);
    let valid = Request::new(RestartId(5), Ena(1), Ena(0), 10, 1).to_bytes();
    let db = temp_path("junk");
    let mut gw = Gateway::new(
        gateway_cfg(target),
        ereport_gateway::store::open(&db).unwrap(),
    )
    .unwrap();
    let mut sent = 0u32;
    for i in 0..10_000u32 {
        let packet: Vec<u8> = match rng.below(3) {
            0 => valid[..rng.below(35) as usize].to_vec(),
            1 => (0..rng.below(80)).map(|_| rng.next_u64() as u8).collect(),
            _ => {
                let mut p = valid.to_vec();
                p[0] = 1 + rng.below(255) as u8;
                p
            }
        };
        if junk.send_to(&packet, target).is_ok() {
            sent += 1;
        }
        if i % 500 == 0 {
            // Valid requests keep being answered in between.
            let _ = gw.poll().unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    run_and_drain(
        &mut gw,
        &s,
        Duration::from_millis(200),
        Duration::from_millis(20),
    );
    let delivered = s.delivered();
    let st = s.stop();
    let bad = st.snitch.short + st.snitch.long + st.snitch.bad_version;
    assert!(
        bad > 5_000,
        "junk reached the snitch and was counted: {:?} of {sent}",
        st.snitch
    );
    assert_eq!(st.snitch.requests + bad, st.snitch.received);
    let rid = format!("{:032x}", gw.restart_id().unwrap().0);
    check_restart(
        &rusqlite::Connection::open(gw.db().name()).unwrap(),
        &rid,
        &delivered,
    );
    assert!(rows(&rusqlite::Connection::open(gw.db().name()).unwrap(), &rid).len() > 10);
    common::remove_db(&db);
}

/// A collector that yields to others leaves an SP another collector stored
/// from just now, without a request, and drains it once that is no longer
/// recent; one that does not yield drains it at once.
#[test]
fn a_yielding_collector_leaves_an_sp_another_just_drained() {
    let db = temp_path("yield");
    let sp = Sim::start(SimConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        rate: 200.0,
        vpd_delay: Duration::ZERO,
        ..SimConfig::default()
    })
    .unwrap();
    let mut a = Gateway::new(
        gateway_cfg(sp.local_addr()),
        ereport_gateway::store::open(&db).unwrap(),
    )
    .unwrap();
    a.drain(&mut |_| {}).unwrap();
    let mut b = Gateway::new(
        ereport_gateway::gateway::GatewayConfig {
            collector_id: ereport_gateway::store::Uuid::from_u128(0xb),
            ..gateway_cfg(sp.local_addr())
        },
        ereport_gateway::store::open(&db).unwrap(),
    )
    .unwrap();
    b.set_yield_to_others(true);
    // A stores more; B, right after, finds it just stored from.
    std::thread::sleep(Duration::from_millis(50));
    assert!(a.drain(&mut |_| {}).unwrap() > 0);
    let requests = b.stats().requests;
    assert_eq!(b.drain(&mut |_| {}).unwrap(), 0);
    assert_eq!(b.stats().yielded, 1);
    assert_eq!(b.stats().requests, requests, "no request was sent");
    // Later, B drains from where A got to.
    std::thread::sleep(ereport_gateway::db::RECENT_STORE + Duration::from_millis(50));
    assert!(b.drain(&mut |_| {}).unwrap() > 0);
    assert_eq!(b.stats().yielded, 1);
    assert!(b.stats().requests > requests);
    assert!(b.committed() >= a.committed());
    sp.stop();
    common::remove_db(&db);
}
