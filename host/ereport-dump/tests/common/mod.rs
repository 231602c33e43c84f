//! What the tests share: W1 partly committed, on the host.

use std::collections::BTreeMap;

use ereport_sdk::decode::decode_packet;
use ereport_sdk::{Ena, ReadRequest};
use ereport_w1::{self as w1, W1Store};

/// W1 delivered, then its first response read and committed: ENAs 1..=15
/// freed, 16..=41 held. Returns the store and every body by ENA, as read
/// through the protocol.
pub fn w1_partly_committed() -> (W1Store, BTreeMap<u64, Vec<u8>>) {
    let mut s = w1::new_store();
    w1::deliver_reports(&mut s).unwrap();
    let mut bodies = BTreeMap::new();
    let mut lease = [0u8; w1::LEASE_BYTES];
    let mut start = Ena(1);
    loop {
        let n = s
            .read_ereports(
                &ReadRequest::new(w1::RESTART_ID).start(start),
                &mut lease[..],
                None,
            )
            .unwrap();
        let p = decode_packet(&lease[..n]).unwrap();
        let Some(last) = p.entries.last() else { break };
        start = Ena(last.ena.0 + 1);
        for e in p.entries {
            bodies.insert(e.ena.0, e.body);
        }
    }
    assert_eq!(bodies.len(), 41);
    // Commit the first response's 15.
    s.read_ereports(
        &ReadRequest::new(w1::RESTART_ID)
            .start(Ena(16))
            .commit(Ena(15))
            .limit(0),
        &mut lease[..],
        None,
    )
    .unwrap();
    (s, bodies)
}
