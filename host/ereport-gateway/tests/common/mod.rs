//! Helpers shared by the end-to-end tests: a lossy UDP proxy, temporary
//! paths, and database checks. Loopback only; every loop is bounded.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ereport_gateway::gateway::GatewayConfig;
use ereport_sdk::RestartId;
use rusqlite::Connection;
use sp_sim::sim::{Delivered, Rng};

/// A unique path in the temp directory.
pub fn temp_path(tag: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!(
        "ereport-test-{}-{tag}-{n}-{nanos}.sqlite",
        std::process::id()
    ))
}

/// Gateway settings for tests: short timeouts, many attempts.
pub fn gateway_cfg(sp: SocketAddr) -> GatewayConfig {
    GatewayConfig {
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        timeout: Duration::from_millis(40),
        attempts: 200,
        ..GatewayConfig::for_sp(sp)
    }
}

/// A UDP proxy that drops, duplicates and reorders packets both ways.
pub struct LossyProxy {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<ProxyStats>>,
}

/// What the proxy did.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProxyStats {
    pub forwarded: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub reordered: u64,
}

impl LossyProxy {
    /// Proxies to `target`; each packet, either way, is dropped with
    /// probability `p`, else duplicated with probability `p`, else held back
    /// behind the next packet with probability `p`.
    pub fn start(target: SocketAddr, p: f64, seed: u64) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(10)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut rng = Rng::new(seed);
            let mut stats = ProxyStats::default();
            let mut client: Option<SocketAddr> = None;
            // A held-back packet: (bytes, destination, when held).
            let mut held: Option<(Vec<u8>, SocketAddr, Instant)> = None;
            let mut buf = [0u8; 2048];
            while !s.load(Ordering::SeqCst) {
                let got = socket.recv_from(&mut buf);
                // Release a held packet after the next one, or after 30 ms.
                let release = |held: &mut Option<(Vec<u8>, SocketAddr, Instant)>, force: bool| {
                    if let Some((b, to, at)) = held.take() {
                        if force || at.elapsed() > Duration::from_millis(30) {
                            let _ = socket.send_to(&b, to);
                        } else {
                            *held = Some((b, to, at));
                        }
                    }
                };
                let Ok((n, from)) = got else {
                    release(&mut held, false);
                    continue;
                };
                let to = if from == target {
                    match client {
                        Some(c) => c,
                        None => continue,
                    }
                } else {
                    client = Some(from);
                    target
                };
                let packet = buf[..n].to_vec();
                if rng.unit() < p {
                    stats.dropped += 1;
                    release(&mut held, false);
                    continue;
                }
                if rng.unit() < p {
                    stats.duplicated += 1;
                    let _ = socket.send_to(&packet, to);
                }
                if held.is_none() && rng.unit() < p {
                    stats.reordered += 1;
                    held = Some((packet, to, Instant::now()));
                    continue;
                }
                let _ = socket.send_to(&packet, to);
                stats.forwarded += 1;
                release(&mut held, true);
            }
            stats
        });
        Self {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the proxy.
    pub fn stop(mut self) -> ProxyStats {
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .take()
            .map(|t| t.join().unwrap())
            .unwrap_or_default()
    }
}

impl Drop for LossyProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Rows of one restart (its id with or without hyphens): ENA -> (task,
/// body).
pub fn rows(db: &Connection, restart_id: &str) -> BTreeMap<u64, (String, Vec<u8>)> {
    let restart_id = ereport_gateway::store::parse_restart_id(restart_id)
        .map(ereport_gateway::store::rid_text)
        .unwrap();
    let mut st = db
        .prepare("SELECT ena, task_name, body FROM ereport WHERE restart_id = ?1 ORDER BY ena")
        .unwrap();
    st.query_map([&restart_id], |r| {
        Ok((r.get::<_, i64>(0)? as u64, (r.get(1)?, r.get(2)?)))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Checks one restart's rows: ENAs contiguous from 1, every delivered
/// ereport present with its body, and every loss accounted for by loss
/// records. Returns the number of losses the loss records report.
pub fn check_restart(db: &Connection, restart_id: &str, delivered: &[Delivered]) -> u64 {
    let rows = rows(db, restart_id);
    assert!(!rows.is_empty(), "restart {restart_id} has rows");
    let enas: Vec<u64> = rows.keys().copied().collect();
    assert_eq!(
        enas,
        (1..=enas.len() as u64).collect::<Vec<_>>(),
        "ENAs are contiguous from 1"
    );
    for d in delivered {
        let (task, body) = rows
            .get(&d.ena.0)
            .unwrap_or_else(|| panic!("ENA {} missing", d.ena));
        assert_eq!(body, &d.body, "ENA {} body", d.ena);
        assert_ne!(task, "packrat");
    }
    let mut lost = 0;
    for (task, body) in rows.values() {
        if task != "packrat" {
            continue;
        }
        let v = ereport_sdk::decode::decode_value(body).unwrap();
        if let Some(n) = v.get("lost").and_then(|n| n.as_u64()) {
            lost += n;
        }
    }
    lost
}

/// The restart ids in the database, in no particular order.
pub fn restart_ids(db: &Connection) -> Vec<String> {
    let mut st = db
        .prepare("SELECT DISTINCT restart_id FROM ereport")
        .unwrap();
    st.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// A program's standard output as JSON values, one per line.
pub fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

#[allow(unused_imports)]
pub use pg_cluster::TempCluster as PgCluster;

/// Removes a test's SQLite database with its write-ahead log and shared
/// memory files.
pub fn remove_db(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

/// A minimal SP for tests of many SPs: one thread blocked on one socket,
/// holding two records of one restart (ENA 1 `{"lost": null}`, ENA 2
/// `{"k": "hw.tiny"}`), answering as packrat does: a refresh gets the
/// serial number, a request for its restart frees through the commit and
/// starts at the requested ENA, any other starts at the earliest.
pub struct TinySp {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TinySp {
    /// Starts one with restart id `rid`.
    pub fn start(rid: u128) -> Self {
        use ereport_sdk::wire::{REQUEST_LEN, Request};
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let addr = sock.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let records: [(u64, &[u8]); 2] =
                [(1, b"\xa1\x64lost\xf6"), (2, b"\xa1\x61k\x67hw.tiny")];
            let mut committed = 0u64;
            let mut buf = [0u8; 64];
            while !s.load(Ordering::SeqCst) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let Ok(req) = Request::parse(&buf[..n.min(REQUEST_LEN + 1)]) else {
                    continue;
                };
                let ours = req.restart_id() == RestartId(rid);
                if ours {
                    committed = committed.max(req.committed_ena().0);
                }
                let start = if ours { req.start_ena().0 } else { 0 };
                let held: Vec<E<'_>> = records
                    .iter()
                    .filter(|(e, _)| *e > committed && *e >= start)
                    .take(usize::from(req.limit))
                    .map(|(_, b)| ("tiny", 0, 5, *b))
                    .collect();
                let first = records
                    .iter()
                    .find(|(e, _)| *e > committed && *e >= start)
                    .map_or(0, |(e, _)| *e);
                let serial = (!ours || req.limit == 0).then_some("TINY");
                let _ = sock.send_to(&response(rid, first, req.request_id, serial, &held), from);
            }
        });
        TinySp {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl TinySp {
    /// Tells its thread to stop without waiting for it: stop many at once,
    /// then drop them (each thread ends within its 100 ms read timeout).
    pub fn signal(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl Drop for TinySp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub use bench_support::fake_sp::{E, head, response};

/// `{"k": class}`.
pub fn class_body(class: &str) -> Vec<u8> {
    let mut b = vec![0xa1, 0x61, b'k'];
    head(&mut b, 3, class.len() as u64);
    b.extend_from_slice(class.as_bytes());
    b
}
