//! Model-based property test: random ingest (with lenders going away),
//! reads (random lease lengths, limits, matching or not) and commits, checked
//! against a simple model of what must be true.

use std::collections::BTreeMap;

use ereport_sdk::decode::decode_packet;
use ereport_sdk::{Ena, ReadRequest, RestartId, TaskId};
use ereport_w1::W1Tasks;
use lease_writer::testing::{FakeLease, GoAway};
use packrat_ereport::{IngestError, Store};
use proptest::prelude::*;

const RID: RestartId = RestartId(0xabcdef);

#[derive(Clone, Debug)]
enum Op {
    Ingest {
        task: u16,
        len: usize,
        gone_at: Option<usize>,
    },
    Read {
        lease: usize,
        limit: u8,
        matching: bool,
        commit_last: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u16..6, 1usize..200, proptest::option::weighted(0.2, 0usize..200))
            .prop_map(|(task, len, gone_at)| Op::Ingest { task, len, gone_at }),
        2 => (0usize..=2048, any::<u8>(), proptest::bool::weighted(0.8), any::<bool>())
            .prop_map(|(lease, limit, matching, commit_last)| Op::Read { lease, limit, matching, commit_last }),
    ]
}

/// A body: a CBOR byte string carrying a unique id, padded to `len`.
fn body(id: u32, len: usize) -> Vec<u8> {
    let len = len.max(7);
    let mut b = vec![0x5a];
    b.extend(((len - 5) as u32).to_be_bytes());
    b.extend(id.to_be_bytes());
    b.resize(len, 0xee);
    b
}

fn lost_count(body: &[u8]) -> Option<Option<u64>> {
    let v = ereport_sdk::decode::decode_value(body).ok()?;
    match v.get("lost")? {
        ereport_sdk::decode::Value::Null => Some(None),
        other => Some(Some(other.as_u64()?)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn store_matches_model(ops in proptest::collection::vec(op(), 1..120)) {
        let mut s: Store<1536, W1Tasks> = Store::new();
        s.init(TaskId::new(5, 0), 0);
        s.set_restart_id(RID).unwrap();
        // Model: ENA -> body of everything stored and not yet committed.
        let mut earliest = 1u64;
        let mut next_ena = 2u64;
        let mut lost_by_store = 0u64;
        let mut reported_lost = 0u64;
        let mut delivered_ok: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        let mut seen: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        let mut next_id = 0u32;
        let mut cursor = Ena(1);

        for op in ops {
            match op {
                Op::Ingest { task, len, gone_at } => {
                    next_id += 1;
                    let b = body(next_id, len);
                    let lease = match gone_at {
                        Some(at) => FakeLease::from_bytes(&b).go_away(GoAway::AtByte(at)),
                        None => FakeLease::from_bytes(&b),
                    };
                    let before_next = s.next_ena();
                    match s.deliver(TaskId::new(task, 0), 1, &lease) {
                        Ok(ena) => {
                            // A loss record may have been written first.
                            if ena.0 == next_ena + 1 {
                                next_ena += 1;
                            }
                            prop_assert_eq!(ena.0, next_ena, "ENAs are contiguous");
                            next_ena += 1;
                            delivered_ok.insert(ena.0, b);
                        }
                        Err(IngestError::Full) => {
                            lost_by_store += 1;
                            // A loss record may have been written.
                            if s.next_ena() != before_next {
                                prop_assert_eq!(s.next_ena().0, before_next.0 + 1);
                                next_ena += 1;
                            }
                        }
                        Err(IngestError::WentAway) => {
                            prop_assert!(gone_at.is_some_and(|g| g < b.len()));
                            prop_assert_eq!(s.next_ena(), before_next, "store unchanged");
                        }
                        Err(e) => prop_assert!(false, "unexpected {e:?}"),
                    }
                    prop_assert_eq!(s.next_ena().0, next_ena);
                }
                Op::Read { lease, limit, matching, commit_last } => {
                    let rid = if matching { RID } else { RestartId(1) };
                    let losing_before = s.pending_losses().is_some();
                    let mut buf = vec![0u8; lease];
                    let commit = if commit_last && matching { Ena(cursor.0.saturating_sub(1)) } else { Ena::NONE };
                    match s.read_ereports(&ReadRequest::new(rid).start(cursor).commit(commit).limit(limit), &mut buf[..], None) {
                        Ok(n) => {
                            prop_assert!(n <= lease);
                            let p = decode_packet(&buf[..n]).unwrap();
                            if commit.0 >= earliest && commit.0 < next_ena {
                                earliest = commit.0 + 1;
                            }
                            // A read writes a pending loss record once it fits.
                            if s.next_ena().0 == next_ena + 1 {
                                prop_assert!(losing_before, "only a pending loss adds a record on read");
                                prop_assert_eq!(s.pending_losses(), None);
                                next_ena += 1;
                            }
                            prop_assert_eq!(s.next_ena().0, next_ena);
                            prop_assert_eq!(s.earliest_ena().map_or(next_ena, |e| e.0), earliest);
                            prop_assert!(p.entries.len() <= usize::from(limit));
                            if let Some(first) = p.entries.first() {
                                let expect = if matching { cursor.0.max(earliest) } else { earliest };
                                prop_assert_eq!(first.ena.0, expect);
                            }
                            for e in &p.entries {
                                // Every entry is exactly what was stored, or
                                // a loss record.
                                match delivered_ok.get(&e.ena.0) {
                                    Some(b) => prop_assert_eq!(&e.body, b),
                                    None => prop_assert!(lost_count(&e.body).is_some(), "ENA {} unknown", e.ena.0),
                                }
                                if let Some(Some(c)) = lost_count(&e.body) {
                                    if seen.insert(e.ena.0, e.body.clone()).is_none() {
                                        reported_lost += c;
                                    }
                                } else {
                                    seen.insert(e.ena.0, e.body.clone());
                                }
                            }
                            if let (true, Some(last)) = (matching, p.entries.last()) {
                                cursor = Ena(last.ena.0 + 1);
                            }
                        }
                        Err(e) => prop_assert!(lease < packrat_ereport::MIN_RESPONSE_LEN, "{e:?} for lease {lease}"),
                    }
                }
            }
            prop_assert_eq!(s.len() as u64, s.next_ena().0 - s.earliest_ena().map_or(s.next_ena().0, |e| e.0));
        }
        // Drain: everything still stored is delivered, and every loss is
        // accounted for by a loss record (or is still pending).
        loop {
            let mut buf = vec![0u8; 1024];
            let commit = Ena(cursor.0.saturating_sub(1));
            let n = s.read_ereports(&ReadRequest::new(RID).start(cursor).commit(commit), &mut buf[..], None).unwrap();
            let p = decode_packet(&buf[..n]).unwrap();
            if p.entries.is_empty() {
                break;
            }
            for e in &p.entries {
                if let Some(b) = delivered_ok.get(&e.ena.0) {
                    prop_assert_eq!(&e.body, b);
                }
                if let Some(Some(c)) = lost_count(&e.body) {
                    if seen.insert(e.ena.0, e.body.clone()).is_none() {
                        reported_lost += c;
                    }
                } else {
                    seen.insert(e.ena.0, e.body.clone());
                }
            }
            cursor = Ena(p.entries.last().unwrap().ena.0 + 1);
        }
        for ena in delivered_ok.keys() {
            prop_assert!(seen.contains_key(ena), "ENA {} stored but never delivered", ena);
        }
        let pending = u64::from(s.pending_losses().unwrap_or(0));
        prop_assert_eq!(reported_lost + pending, lost_by_store, "losses accounted for");
    }
}
