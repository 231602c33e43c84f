//! Any packet at the snitch: it is answered (a valid request, with a
//! response that decodes and echoes its id) or dropped and counted, and
//! nothing panics.

#![no_main]

use std::cell::RefCell;

use ereport_sdk::decode::decode_packet;
use ereport_sdk::{ReadEreports, ReadError, ReadRequest};
use ereport_w1::{self as w1, W1Store};
use libfuzzer_sys::fuzz_target;
use snitch::{Event, Net, RecvError, SendError, Snitch};

/// A net holding one packet, recording what is sent.
struct OnePacket {
    packet: Option<Vec<u8>>,
    sent: Vec<Vec<u8>>,
}

impl Net for OnePacket {
    type Addr = ();
    fn recv(&mut self, buf: &mut [u8]) -> Result<(usize, ()), RecvError> {
        let p = self.packet.take().ok_or(RecvError::QueueEmpty)?;
        let n = p.len().min(buf.len());
        buf[..n].copy_from_slice(&p[..n]);
        // Like a socket, report the full length of a truncated packet.
        Ok((p.len(), ()))
    }
    fn send(&mut self, _: &(), data: &[u8]) -> Result<(), SendError> {
        self.sent.push(data.to_vec());
        Ok(())
    }
    fn wait(&mut self) {}
}

struct Packrat(RefCell<W1Store>);

impl ReadEreports for Packrat {
    fn read_ereports(&self, req: &ReadRequest, out: &mut [u8]) -> Result<usize, ReadError> {
        self.0.borrow_mut().read_ereports(req, out, None)
    }
}

fuzz_target!(|data: &[u8]| {
    let mut store = w1::new_store();
    let _ = w1::deliver_reports(&mut store);
    let net = OnePacket {
        packet: Some(data.to_vec()),
        sent: Vec::new(),
    };
    let mut snitch = Snitch::new(net, Packrat(RefCell::new(store)));
    let event = snitch.poll();
    let c = snitch.counters();
    assert_eq!(c.received, 1);
    match snitch.net().sent.as_slice() {
        [] => assert_ne!(event, Event::Responded),
        [response] => {
            assert_eq!(c.requests, 1);
            let p = decode_packet(response).expect("the snitch's responses decode");
            assert_eq!(p.request_id, data[34]);
            assert!(p.entries.len() <= usize::from(data[33]));
        }
        more => panic!("{} responses to one packet", more.len()),
    }
});
