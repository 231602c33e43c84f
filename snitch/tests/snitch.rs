//! The proxy loop against a scripted net and the real packrat store.

use std::cell::RefCell;
use std::collections::VecDeque;

use ereport_sdk::decode::decode_packet;
use ereport_sdk::wire::Request;
use ereport_sdk::{Ena, ReadEreports, ReadError, ReadRequest};
use ereport_w1::{self as w1, W1Store};
use proptest::prelude::*;
use snitch::{Event, MAX_SEND_ATTEMPTS, Net, RecvError, SendError, Snitch};
use zerocopy::IntoBytes;

#[derive(Default)]
struct ScriptNet {
    inbox: VecDeque<Result<Vec<u8>, RecvError>>,
    send_results: VecDeque<SendError>,
    sent: Vec<Vec<u8>>,
    waits: usize,
}

impl Net for ScriptNet {
    type Addr = u8;
    fn recv(&mut self, buf: &mut [u8]) -> Result<(usize, u8), RecvError> {
        let p = self
            .inbox
            .pop_front()
            .unwrap_or(Err(RecvError::QueueEmpty))?;
        let n = p.len().min(buf.len());
        buf[..n].copy_from_slice(&p[..n]);
        Ok((p.len(), 7))
    }
    fn send(&mut self, to: &u8, data: &[u8]) -> Result<(), SendError> {
        assert_eq!(*to, 7, "replies go back to the sender");
        if let Some(e) = self.send_results.pop_front() {
            return Err(e);
        }
        self.sent.push(data.to_vec());
        Ok(())
    }
    fn wait(&mut self) {
        self.waits += 1;
    }
}

/// Packrat's client, in process.
struct Local(RefCell<W1Store>);

impl ReadEreports for Local {
    fn read_ereports(&self, req: &ReadRequest, out: &mut [u8]) -> Result<usize, ReadError> {
        self.0.borrow_mut().read_ereports(req, out, None)
    }
}

fn packrat() -> Local {
    let mut s = w1::new_store();
    w1::deliver_reports(&mut s).unwrap();
    Local(RefCell::new(s))
}

fn request(start: u64, commit: u64, id: u8) -> Vec<u8> {
    Request::new(w1::RESTART_ID, Ena(start), Ena(commit), 255, id)
        .as_bytes()
        .to_vec()
}

#[test]
fn answers_a_valid_request_with_packrats_bytes() {
    let mut net = ScriptNet::default();
    net.inbox.push_back(Ok(request(1, 0, 42)));
    let mut s = Snitch::new(net, packrat());
    assert_eq!(s.poll(), Event::Responded);
    let sent = &s.net().sent[0];
    let p = decode_packet(sent).unwrap();
    assert_eq!(p.request_id, 42);
    assert_eq!(p.entries.len(), 15);
    assert_eq!(s.counters().requests, 1);
    assert_eq!(s.poll(), Event::Waited);
    assert_eq!(s.counters().waits, 1);
}

#[test]
fn invalid_packets_are_dropped_and_counted() {
    let mut net = ScriptNet::default();
    let good = request(1, 0, 1);
    net.inbox.push_back(Ok(vec![]));
    net.inbox.push_back(Ok(good[..34].to_vec()));
    let mut long = good.clone();
    long.extend([0; 2000]);
    net.inbox.push_back(Ok(long));
    let mut v1 = good.clone();
    v1[0] = 1;
    net.inbox.push_back(Ok(v1));
    net.inbox.push_back(Err(RecvError::ServerRestarted));
    net.inbox.push_back(Ok(good));
    let mut s = Snitch::new(net, packrat());
    for _ in 0..4 {
        assert_eq!(s.poll(), Event::Dropped);
    }
    assert_eq!(s.poll(), Event::NetRestarted);
    assert_eq!(s.poll(), Event::Responded);
    let c = s.counters();
    assert_eq!(
        (
            c.short,
            c.long,
            c.bad_version,
            c.net_restarts,
            c.responses_sent
        ),
        (2, 1, 1, 1, 1)
    );
    assert_eq!(c.received, 5);
    assert_eq!(s.net().sent.len(), 1);
}

#[test]
fn sends_are_retried_while_the_net_is_busy_or_restarting() {
    let mut net = ScriptNet::default();
    net.inbox.push_back(Ok(request(1, 0, 1)));
    net.send_results.extend([
        SendError::QueueFull,
        SendError::ServerRestarted,
        SendError::QueueFull,
    ]);
    let mut s = Snitch::new(net, packrat());
    assert_eq!(s.poll(), Event::Responded);
    let c = s.counters();
    assert_eq!(
        (c.send_queue_full, c.net_restarts, c.responses_sent),
        (2, 1, 1)
    );
    assert_eq!(s.net().waits, 2, "waits for room when the queue is full");
}

#[test]
fn a_wedged_net_drops_the_response_and_moves_on() {
    let mut net = ScriptNet::default();
    net.inbox.push_back(Ok(request(1, 0, 1)));
    net.send_results.extend(std::iter::repeat_n(
        SendError::QueueFull,
        MAX_SEND_ATTEMPTS as usize + 5,
    ));
    let mut s = Snitch::new(net, packrat());
    assert_eq!(s.poll(), Event::Dropped);
    assert_eq!(s.counters().send_dropped, 1);
    let mut net = ScriptNet::default();
    net.inbox.push_back(Ok(request(1, 0, 1)));
    net.send_results.push_back(SendError::Failed);
    let mut s = Snitch::new(net, packrat());
    assert_eq!(s.poll(), Event::Dropped);
    assert_eq!(s.counters().send_dropped, 1);
}

#[test]
fn nothing_is_sent_before_packrat_has_a_restart_id() {
    let mut store = W1Store::new();
    store.init(w1::PACKRAT, 0);
    let mut net = ScriptNet::default();
    net.inbox.push_back(Ok(request(1, 0, 1)));
    let mut s = Snitch::new(net, Local(RefCell::new(store)));
    assert_eq!(s.poll(), Event::Dropped);
    assert_eq!(s.counters().no_restart_id, 1);
    assert!(s.net().sent.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_packets_never_stop_valid_requests(
        junk in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 1..200)
    ) {
        let mut net = ScriptNet::default();
        let mut valid = 0;
        for (i, j) in junk.iter().enumerate() {
            net.inbox.push_back(Ok(j.clone()));
            if i % 10 == 0 {
                net.inbox.push_back(Ok(request(1, 0, i as u8)));
                valid += 1;
            }
        }
        let mut s = Snitch::new(net, packrat());
        while s.poll() != Event::Waited {}
        let c = s.counters();
        let junk_valid = junk.iter().filter(|j| j.len() == 35 && j[0] == 0).count() as u32;
        prop_assert!(c.responses_sent >= valid);
        prop_assert_eq!(c.requests, valid + junk_valid);
        prop_assert_eq!(c.short + c.long + c.bad_version + c.requests, c.received);
    }
}
