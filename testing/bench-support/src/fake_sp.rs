//! SPs made of a UDP socket and a thread, answering the ereport protocol
//! with responses built here: for tests that script what an SP says, and
//! for benchmarks that need SPs costing next to nothing, so that what is
//! measured is the collector.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use ereport_sdk::cbor_len::encode_head;
use ereport_sdk::wire::{MAX_RESPONSE_LEN, REQUEST_LEN, Request, ResponseHeader};
use ereport_sdk::{Ena, RestartId};

/// Writes a CBOR head (major type and argument).
pub fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let mut h = [0u8; 9];
    let k = encode_head(major, n, &mut h);
    out.extend_from_slice(&h[..k]);
}

/// Responses a full 4 KiB store of W1-sized records makes (about 70
/// records, 15 a response), after which an [`EndlessSp`] answers once with
/// none.
pub const FULL_STORE_RESPONSES: u32 = 5;

/// One entry: (task name, generation, uptime, body).
pub type E<'a> = (&'a str, u32, u64, &'a [u8]);

/// A response with a metadata map of `serial` (if any) and `entries`.
pub fn response(rid: u128, start: u64, id: u8, serial: Option<&str>, entries: &[E<'_>]) -> Vec<u8> {
    let mut p = ResponseHeader::new(RestartId(rid), Ena(start), id)
        .to_bytes()
        .to_vec();
    p.push(0xbf);
    if let Some(s) = serial {
        head(&mut p, 3, 23);
        p.extend_from_slice(b"baseboard_serial_number");
        head(&mut p, 3, s.len() as u64);
        p.extend_from_slice(s.as_bytes());
    }
    p.push(0xff);
    if !entries.is_empty() {
        p.push(0x9f);
        for (task, generation, uptime, body) in entries {
            p.push(0x84);
            head(&mut p, 3, task.len() as u64);
            p.extend_from_slice(task.as_bytes());
            head(&mut p, 0, u64::from(*generation));
            head(&mut p, 0, *uptime);
            head(&mut p, 2, body.len() as u64);
            p.extend_from_slice(body);
        }
        p.push(0xff);
    }
    p
}

/// An SP whose store is full again whenever it is asked: every request for
/// its restart is answered with as many records as fit in one response
/// (and the request's limit), from the ENA asked for, except that every
/// [`FULL_STORE_RESPONSES`]th answer has none, as a drained 4 KiB store's
/// would (so drains end, and a collector's workers go round its SPs); a
/// request for another restart (first contact) gets its metadata and
/// records from ENA 1. So a collector can drain it as fast as it is able:
/// its offered load is unbounded.
pub struct EndlessSp {
    /// Its address.
    pub addr: SocketAddr,
    /// Records sent, counting those sent again.
    pub sent: Arc<AtomicU64>,
    dry: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EndlessSp {
    /// Starts one with restart id `rid` and serial number `serial`, whose
    /// records all carry `body`.
    pub fn start(rid: u128, serial: &str, body: &[u8]) -> std::io::Result<Self> {
        let sock = UdpSocket::bind("127.0.0.1:0")?;
        sock.set_read_timeout(Some(Duration::from_millis(100)))?;
        let addr = sock.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let dry = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let (s, n, d) = (stop.clone(), sent.clone(), dry.clone());
        let (serial, body) = (serial.to_string(), body.to_vec());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            let mut fits = 1usize;
            let mut since_dry = 0u32;
            while !s.load(Ordering::Relaxed) {
                let Ok((len, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let Ok(req) = Request::parse(&buf[..len.min(REQUEST_LEN + 1)]) else {
                    continue;
                };
                let ours = req.restart_id() == RestartId(rid);
                let start = if ours { req.start_ena().0.max(1) } else { 1 };
                let serial = (!ours || req.limit == 0).then_some(serial.as_str());
                // As many records as fit, as packrat packs them: the count
                // that fit last time, then one more or fewer until it is
                // the most that fits (one or two encodings, not one per
                // record).
                let drained = ours && req.limit > 0 && since_dry >= FULL_STORE_RESPONSES;
                since_dry = if drained {
                    0
                } else {
                    since_dry + u32::from(req.limit > 0)
                };
                let limit = if d.load(Ordering::Relaxed) || drained {
                    0
                } else {
                    usize::from(req.limit)
                };
                let build = |count: usize| {
                    let entries: Vec<E<'_>> = (0..count as u64)
                        .map(|i| ("thermal", 0, start + i, body.as_slice()))
                        .collect();
                    response(rid, start, req.request_id, serial, &entries)
                };
                let mut count = fits.min(limit);
                let mut packet = build(count);
                while count > 0 && packet.len() > MAX_RESPONSE_LEN {
                    count -= 1;
                    packet = build(count);
                }
                while count < limit {
                    let bigger = build(count + 1);
                    if bigger.len() > MAX_RESPONSE_LEN {
                        break;
                    }
                    count += 1;
                    packet = bigger;
                }
                if limit > 0 {
                    fits = count;
                }
                n.fetch_add(count as u64, Ordering::Relaxed);
                let _ = sock.send_to(&packet, from);
            }
        });
        Ok(EndlessSp {
            addr,
            sent,
            dry,
            stop,
            thread: Some(thread),
        })
    }

    /// From now on it answers with no records, so drains end: a run's
    /// collectors can be stopped cleanly.
    pub fn run_dry(&self) {
        self.dry.store(true, Ordering::SeqCst);
    }

    /// Tells its thread to stop without waiting for it (stop many at once,
    /// then drop them: each thread ends within its 100 ms read timeout).
    pub fn signal(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl Drop for EndlessSp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ereport_sdk::decode::decode_packet;

    #[test]
    fn an_endless_sp_fills_each_response_from_the_ena_asked_for() {
        let sp = EndlessSp::start(7, "S1", b"\xa1\x61k\x64hw.x").unwrap();
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let ask = |rid: u128, start: u64, id: u8| {
            let req = Request::new(
                RestartId(rid),
                Ena(start),
                Ena(start.saturating_sub(1)),
                255,
                id,
            );
            sock.send_to(&req.to_bytes(), sp.addr).unwrap();
            let mut buf = [0u8; 2048];
            let (n, _) = sock.recv_from(&mut buf).unwrap();
            assert!(n <= MAX_RESPONSE_LEN);
            decode_packet(&buf[..n]).unwrap()
        };
        let first = ask(0, 0, 1);
        assert_eq!(first.entries.first().map(|e| e.ena), Some(Ena(1)));
        assert!(!first.metadata.is_empty());
        let later = ask(7, 1000, 2);
        assert_eq!(later.entries.first().map(|e| e.ena), Some(Ena(1000)));
        assert!(later.entries.len() > 10, "{} entries", later.entries.len());
        assert!(later.metadata.is_empty());
    }
}
