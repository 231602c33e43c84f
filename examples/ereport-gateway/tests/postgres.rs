//! The gateway into a real PostgreSQL server (a throwaway cluster).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use common::{PgCluster, gateway_cfg};
use ereport_gateway::db::Db;
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
fn two_collectors_store_every_ereport_exactly_once() {
    let pg = PgCluster::start();
    let sp = sim(4);
    let mut a = Gateway::new(
        gateway_cfg(sp.local_addr()),
        Db::open(Path::new(&pg.url)).unwrap(),
    )
    .unwrap();
    let mut b = Gateway::new(
        ereport_gateway::gateway::GatewayConfig {
            collector_id: "b".into(),
            ..gateway_cfg(sp.local_addr())
        },
        Db::open(Path::new(&pg.url)).unwrap(),
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
    let rid = sp.restart_id().to_string();
    let db = a.db().postgres().unwrap();
    let mut client = db.client();
    // Every delivered ereport, once, byte for byte.
    for d in &delivered {
        let rows = client
            .query(
                "SELECT body FROM ereports WHERE restart_id = $1 AND ena = $2",
                &[&rid, &(d.ena.0 as i64)],
            )
            .unwrap();
        assert_eq!(rows.len(), 1, "ENA {}", d.ena);
        assert_eq!(rows[0].get::<_, Vec<u8>>(0), d.body);
    }
    let (n, distinct, collectors): (i64, i64, i64) = {
        let r = client
            .query_one(
                "SELECT COUNT(*), COUNT(DISTINCT ena), COUNT(DISTINCT collector_id) FROM ereports",
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
                "SELECT class, serial_number FROM ereports WHERE ena = 1",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(class, "ereport.data_loss.possible");
    assert_eq!(serial, "SIM00000001");
    let k: Option<String> = client
        .query_one("SELECT report->>'k' FROM ereports WHERE ena = 2", &[])
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
            .all(|r| r["class"].as_str().unwrap().starts_with("hw."))
    );
    let total: u64 = db.summary().unwrap().iter().map(|(_, _, n)| n).sum();
    assert_eq!(total, n as u64);
    let future = std::time::SystemTime::now() + Duration::from_secs(60);
    assert_eq!(
        db.retain(future).unwrap(),
        n as u64,
        "all older than a minute from now"
    );
    assert_eq!(db.summary().unwrap().len(), 0);
}

#[test]
fn a_newer_schema_is_refused() {
    let pg = PgCluster::start();
    drop(Db::open(Path::new(&pg.url)).unwrap());
    let db = Db::open(Path::new(&pg.url)).unwrap();
    db.postgres()
        .unwrap()
        .client()
        .execute("UPDATE schema_version SET version = 99", &[])
        .unwrap();
    let err = Db::open(Path::new(&pg.url)).err().unwrap().to_string();
    assert!(err.contains("schema version 99 is newer"), "{err}");
}
