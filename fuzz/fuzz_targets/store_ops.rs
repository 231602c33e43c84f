//! A sequence of store operations, read from the fuzzer's bytes: deliveries
//! from leases that may go away mid-copy, reads into leases of any length
//! that may go away, commits of any ENA. After each, the store is checked
//! against a model of what it holds and against its invariants:
//!
//! - a delivery that fails leaves the store as it was (no ENA issued);
//!   bodies over `MAX_EREPORT_LEN` and empty ones are refused;
//! - every body a read returns is the one delivered with that ENA, and
//!   packrat's own records are loss records;
//! - a read that matches the restart id, into a maximum-size lease, returns
//!   an entry whenever one is held at or after the requested start;
//! - a commit frees exactly the records through it, never an ENA not issued;
//! - with a task share set, no task holds more than its share, and a
//!   refusal for the share happens only when the delivery would pass it.

#![no_main]

use std::collections::BTreeMap;

use ereport_sdk::decode::decode_packet;
use ereport_sdk::wire::MAX_RESPONSE_LEN;
use ereport_sdk::{Ena, MAX_EREPORT_LEN, ReadRequest, RestartId, TaskId};
use ereport_w1::{self as w1, W1Tasks};
use lease_writer::testing::{FakeLease, GoAway};
use libfuzzer_sys::fuzz_target;
use packrat_ereport::{IngestError, Store};

/// The fuzzer's bytes, read as small numbers (zeroes once they run out).
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

type S = Store<1024, W1Tasks>;

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mut store: S = Store::new();
    store.init(w1::PACKRAT, 0);
    store.set_restart_id(w1::RESTART_ID).unwrap();
    // Half the time, no task may hold more than half the store.
    let share = if input.u8() % 2 == 0 { 0 } else { 512 };
    store.set_task_share(share);
    // ENA -> the body a producer delivered (None: packrat's loss records).
    let mut model: BTreeMap<u64, Option<Vec<u8>>> = BTreeMap::new();
    model.insert(1, None);
    let mut uptime = 0u64;
    for _ in 0..64 {
        if input.done() {
            break;
        }
        uptime += 1;
        match input.u8() % 3 {
            0 => {
                let len = usize::from(input.u16()) % (MAX_EREPORT_LEN + 8);
                let fill = input.u8();
                let task = TaskId::new(u16::from(input.u8() % 4) + 1, input.u8());
                let gone = input.u8();
                let body = vec![fill; len];
                let lease = FakeLease::from_bytes(&body).go_away(if gone < 64 {
                    GoAway::AtByte(usize::from(gone) * 16)
                } else {
                    GoAway::Never
                });
                let (next, len_before, used) = (store.next_ena(), store.len(), store.used_bytes());
                match store.deliver(task, uptime, &lease) {
                    Ok(ena) => {
                        assert!((1..=MAX_EREPORT_LEN).contains(&len));
                        assert!(ena >= next, "ENA {ena:?} before next {next:?}");
                        // Anything issued between is a loss record.
                        for e in next.0..ena.0 {
                            model.insert(e, None);
                        }
                        model.insert(ena.0, Some(body));
                        assert_eq!(store.next_ena(), Ena(ena.0 + 1));
                    }
                    Err(IngestError::Empty) => assert_eq!(len, 0),
                    Err(IngestError::TooLong) => assert!(len > MAX_EREPORT_LEN),
                    Err(IngestError::WentAway) => {
                        assert_eq!(
                            (store.next_ena(), store.len(), store.used_bytes()),
                            (next, len_before, used)
                        );
                    }
                    Err(IngestError::OverShare) => {
                        assert_ne!(share, 0);
                        let held = store.bytes_held_by(task.index);
                        assert!(held + 13 + len > share, "refused at {held} held");
                        assert_eq!((store.next_ena(), store.len()), (next, len_before));
                    }
                    Err(IngestError::Full) => {
                        // A loss record may have been written for earlier losses.
                        for e in next.0..store.next_ena().0 {
                            model.insert(e, None);
                        }
                    }
                }
            }
            1 => {
                let lease_len = usize::from(input.u16()) % (MAX_RESPONSE_LEN + 64);
                let matches = input.u8() % 4 != 0;
                let back = u64::from(input.u8() % 8);
                let limit = input.u8();
                let commit = input.u8();
                let next_before = store.next_ena().0;
                let earliest_before = store.earliest_ena().map_or(next_before, |e| e.0);
                let start = Ena(next_before.saturating_sub(back).max(1));
                let committed = if commit % 2 == 0 {
                    Ena::NONE
                } else {
                    Ena(store.earliest_ena().map_or(0, |e| e.0) + u64::from(commit % 8))
                };
                let rid = if matches {
                    w1::RESTART_ID
                } else {
                    RestartId(7)
                };
                let req = ReadRequest::new(rid)
                    .start(start)
                    .limit(limit)
                    .commit(committed);
                let mut lease = FakeLease::new(lease_len);
                let Ok(n) = store.read_ereports(&req, &mut lease, None) else {
                    continue;
                };
                // A commit frees through it only if it was issued and held.
                if matches && committed.0 >= earliest_before && committed.0 < next_before {
                    model.retain(|&e, _| e > committed.0);
                }
                // A pending loss record may have been written by the read.
                for e in next_before..store.next_ena().0 {
                    model.insert(e, None);
                }
                assert!(n <= lease_len);
                let p = decode_packet(&lease.bytes()[..n]).expect("responses decode");
                assert!(p.entries.len() <= usize::from(limit));
                for e in &p.entries {
                    match model.get(&e.ena.0) {
                        Some(Some(body)) => assert_eq!(&e.body, body, "ENA {}", e.ena.0),
                        Some(None) => assert_eq!(e.task_name, "packrat"),
                        None => panic!("ENA {} returned but not held", e.ena.0),
                    }
                }
                let held = model.range(start.0..).next().is_some();
                if matches && limit > 0 && lease_len >= MAX_RESPONSE_LEN && held {
                    assert!(!p.entries.is_empty(), "no progress from {start:?}");
                }
            }
            _ => {
                let earliest = store.earliest_ena().map_or(store.next_ena().0, |e| e.0);
                let ena = Ena(earliest.saturating_sub(2) + u64::from(input.u8() % 24));
                let next = store.next_ena();
                let freed = store.flush_thru(ena);
                let expect = if ena.0 >= earliest && ena.0 < next.0 {
                    (ena.0 - earliest + 1) as usize
                } else {
                    0
                };
                assert_eq!(freed, expect, "flush through {ena:?}");
                model.retain(|&e, _| freed == 0 || e > ena.0);
                for e in next.0..store.next_ena().0 {
                    model.insert(e, None);
                }
            }
        }
        assert_eq!(store.len(), model.len(), "records held");
        if share > 0 {
            for t in 1..=4 {
                assert!(store.bytes_held_by(t) <= share, "task {t} over its share");
            }
        }
        assert!(store.used_bytes() <= 1024);
    }
});
