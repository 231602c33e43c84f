//! Nothing is accepted that cannot be sent, and a matching read always
//! makes progress (docs/protocol.md, "Largest body" and "Liveness").

use ereport_sdk::decode::decode_packet;
use ereport_sdk::wire::MAX_RESPONSE_LEN;
use ereport_sdk::{Ena, MAX_EREPORT_LEN, MAX_TASK_NAME_LEN, ReadRequest, RestartId, TaskId};
use packrat_ereport::{IngestError, Store, TaskTable};
use proptest::prelude::*;

/// Every task has the longest name packrat allows.
enum LongNames {}

const LONG: &str = "a_task_name_of_exactly_32_bytes_";
const _: () = assert!(LONG.len() == MAX_TASK_NAME_LEN);

impl TaskTable for LongNames {
    const NAMES: &'static [&'static str] = &[LONG, LONG, LONG, LONG];
}

const RID: RestartId = RestartId(0xfeed);
const PACKRAT: TaskId = TaskId::new(3, 0);
/// The largest generation and uptime: the longest entry head.
const WORST: TaskId = TaskId::new(1, u8::MAX);

fn store() -> Store<4096, LongNames> {
    let mut s = Store::new();
    s.init(PACKRAT, 0);
    s.set_restart_id(RID).unwrap();
    s
}

#[test]
fn every_accepted_body_is_sent_by_the_next_read() {
    let mut lease = [0u8; MAX_RESPONSE_LEN];
    for len in 1..=MAX_EREPORT_LEN {
        let mut s = store();
        // A body of `len` bytes (its content does not matter to packrat).
        let body = vec![0x5a; len];
        let ena = s.deliver(WORST, u64::MAX, &body[..]).unwrap();
        let n = s
            .read_ereports(
                &ReadRequest::new(RID).start(ena).id(1),
                &mut lease[..],
                None,
            )
            .unwrap();
        let p = decode_packet(&lease[..n]).unwrap();
        assert_eq!(p.start_ena, ena, "body of {len} bytes was not sent");
        assert_eq!(p.entries.len(), 1);
        assert_eq!(p.entries[0].body, body);
        assert_eq!(p.entries[0].uptime_ms, u64::MAX);
        assert_eq!(p.entries[0].task_name, LONG);
    }
    // One byte more is refused, and nothing is stored.
    let mut s = store();
    let before = s.len();
    assert_eq!(
        s.deliver(WORST, u64::MAX, &vec![0u8; MAX_EREPORT_LEN + 1][..]),
        Err(IngestError::TooLong)
    );
    assert_eq!(s.len(), before);
}

#[test]
fn the_reported_case_makes_progress() {
    // A 984-byte body used to be stored and never sent.
    let mut s = store();
    assert_eq!(
        s.deliver(TaskId::new(1, 0), 0, &vec![0u8; 984][..]),
        Err(IngestError::TooLong)
    );
    s.deliver(TaskId::new(1, 0), 0, &[0xa0][..]).unwrap();
    let mut lease = [0u8; MAX_RESPONSE_LEN];
    let n = s
        .read_ereports(&ReadRequest::new(RID).start(Ena(2)), &mut lease[..], None)
        .unwrap();
    assert_eq!(decode_packet(&lease[..n]).unwrap().start_ena, Ena(2));
}

#[test]
fn a_store_read_before_its_first_delivery_shows_the_initial_loss_record() {
    let mut s: Store<512, LongNames> = Store::new();
    s.set_restart_id(RID).unwrap();
    let mut lease = [0u8; MAX_RESPONSE_LEN];
    let n = s
        .read_ereports(&ReadRequest::new(RID), &mut lease[..], None)
        .unwrap();
    let p = decode_packet(&lease[..n]).unwrap();
    assert_eq!(p.start_ena, Ena::FIRST);
    assert_eq!(p.entries.len(), 1);
    assert_eq!(
        p.entries[0].body,
        [0xa1, 0x64, b'l', b'o', b's', b't', 0xf6]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Liveness: when the restart id matches and a record at or after the
    /// requested start is stored, a read into a maximum-size lease returns
    /// at least one entry.
    #[test]
    fn a_matching_read_returns_an_entry_when_one_is_stored(
        bodies in prop::collection::vec((1usize..=MAX_EREPORT_LEN, 0u16..4, any::<u8>(), any::<u64>()), 1..12),
        commits in prop::collection::vec(0u64..16, 0..6),
        start_back in 0u64..4,
    ) {
        let mut s = store();
        for (len, task, generation, uptime) in &bodies {
            let _ = s.deliver(TaskId::new(*task, *generation), *uptime, &vec![0x40u8; *len][..]);
        }
        let mut lease = [0u8; MAX_RESPONSE_LEN];
        for c in commits {
            s.flush_thru(Ena(c));
        }
        let next = s.next_ena().0;
        let start = Ena(next.saturating_sub(1 + start_back).max(1));
        let n = s
            .read_ereports(&ReadRequest::new(RID).start(start), &mut lease[..], None)
            .unwrap();
        let p = decode_packet(&lease[..n]).unwrap();
        let held = s.earliest_ena().is_some_and(|e| e.0.max(start.0) < next);
        if held {
            prop_assert!(!p.entries.is_empty(), "no progress from {start:?}");
            prop_assert!(p.start_ena >= start);
        }
    }
}

#[test]
fn task_names_are_back_referenced_by_name() {
    // Tasks 7 and 9 are both "unknown": the second entry names the first.
    let mut s = store();
    s.deliver(TaskId::new(7, 0), 1, &[0xa0][..]).unwrap();
    s.deliver(TaskId::new(9, 0), 2, &[0xa0][..]).unwrap();
    let mut lease = [0u8; MAX_RESPONSE_LEN];
    let n = s
        .read_ereports(&ReadRequest::new(RID).start(Ena(2)), &mut lease[..], None)
        .unwrap();
    let p = decode_packet(&lease[..n]).unwrap();
    assert_eq!(p.entries.len(), 2);
    assert!(p.entries.iter().all(|e| e.task_name == "unknown"));
    // Header 26, empty map 2, 0x9f, then [ "unknown", 0, 1, h'a0' ] and
    // [ 0, 0, 2, h'a0' ] with the index form.
    let second = &lease[26 + 2 + 1 + 1 + 8 + 1 + 1 + 2..n - 1];
    assert_eq!(second, [0x84, 0x00, 0x00, 0x02, 0x41, 0xa0]);
}
