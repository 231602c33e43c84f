//! The flush response: the rules of docs/protocol.md, golden bytes, every
//! lease length.

use ereport_sdk::decode::{Value, decode_packet};
use ereport_sdk::{Caboose, Ena, Identity, ReadError, ReadRequest, RestartId, TaskId};
use ereport_w1::{self as w1, W1Store, W1Tasks};
use lease_writer::testing::{FakeLease, GoAway};
use packrat_ereport::{MIN_RESPONSE_LEN, Store};

fn loaded() -> W1Store {
    let mut s = w1::new_store();
    w1::deliver_reports(&mut s).unwrap();
    s
}

fn identity() -> Identity {
    Identity {
        part_number: "913-0000019".try_into().unwrap(),
        serial_number: "BRM42220017".try_into().unwrap(),
        revision: 6,
        caboose: Some(Caboose {
            board: "gimlet-f".try_into().unwrap(),
            version: "1.0.33".try_into().unwrap(),
            commit: "d1f3c0ffee".try_into().unwrap(),
        }),
    }
}

#[test]
fn no_restart_id_is_an_error() {
    let mut s: Store<512, W1Tasks> = Store::new();
    s.init(w1::PACKRAT, 0);
    let mut buf = [0u8; 1024];
    assert_eq!(
        s.read_ereports(
            &ReadRequest::new(RestartId(1)).limit(10).id(1),
            &mut buf[..],
            None
        ),
        Err(ReadError::NoRestartId)
    );
}

#[test]
fn first_response_w1() {
    let mut s = loaded();
    let lease = FakeLease::new(1024);
    let mut lease = lease;
    let n = s
        .read_ereports(&ReadRequest::new(w1::RESTART_ID).id(3), &mut lease, None)
        .unwrap();
    let p = decode_packet(&lease.bytes()[..n]).unwrap();
    assert_eq!(p.restart_id, w1::RESTART_ID);
    assert_eq!(p.request_id, 3);
    assert_eq!(p.start_ena, Ena(1));
    assert!(p.metadata.is_empty(), "matching restart id: no metadata");
    assert_eq!(p.entries.len(), 15, "15 is the most v0 allows on W1");
    assert_eq!(p.entries[0].task_name, "packrat");
    assert_eq!(p.entries[1].task_name, "thermal");
    assert_eq!(p.entries[2].task_name, "power");
    assert_eq!(p.entries[2].task_gen, 1);
    assert_eq!(p.entries[5].task_name, "thermal", "index resolved");
    assert_eq!(p.entries[5].uptime_ms, w1::uptime(4));
    let mut buf = [0u8; w1::MAX_REPORT_LEN];
    let len = w1::encode_report(4, &mut buf);
    assert_eq!(p.entries[5].body, &buf[..len]);
    // Task names are written once per packet: later entries use an index.
    let raw = &lease.bytes()[..n];
    assert_eq!(raw.windows(7).filter(|w| w == b"thermal").count(), 1);
    assert!(n <= 1024);
    assert_eq!(lease.stats().zero_length_writes, 0);
    assert!(
        lease.stats().writes <= 16,
        "{} lease writes",
        lease.stats().writes
    );
}

#[test]
fn w1_drains_in_three_responses() {
    let mut s = loaded();
    let mut sizes = vec![];
    let mut commit = Ena::NONE;
    let mut start = Ena(1);
    let mut next_expected = 1;
    loop {
        let mut buf = [0u8; 1024];
        let n = s
            .read_ereports(
                &ReadRequest::new(w1::RESTART_ID).start(start).commit(commit),
                &mut buf[..],
                None,
            )
            .unwrap();
        let p = decode_packet(&buf[..n]).unwrap();
        if p.entries.is_empty() {
            break;
        }
        for e in &p.entries {
            assert_eq!(e.ena.0, next_expected);
            next_expected += 1;
        }
        sizes.push(p.entries.len());
        commit = p.entries.last().unwrap().ena;
        start = Ena(commit.0 + 1);
    }
    assert_eq!(sizes, [15, 14, 12]);
    assert!(s.is_empty());
}

#[test]
fn every_lease_length_gets_a_valid_response() {
    for len in 0..=2048usize {
        let mut s = loaded();
        let mut lease = vec![0u8; len];
        let r = s.read_ereports(
            &ReadRequest::new(w1::RESTART_ID).id(1),
            &mut lease[..],
            None,
        );
        if len < MIN_RESPONSE_LEN {
            assert_eq!(r, Err(ReadError::LeaseTooShort), "len {len}");
            continue;
        }
        let n = r.unwrap_or_else(|e| panic!("lease of {len}: {e}"));
        assert!(n <= len);
        let p = decode_packet(&lease[..n]).unwrap_or_else(|e| panic!("lease of {len}: {e}"));
        if len >= 64 {
            assert!(
                !p.entries.is_empty(),
                "lease of {len} holds at least the loss record"
            );
        }
        // Nothing more would have fitted: the next entry is too long.
        if let Some(last) = p.entries.last() {
            assert_eq!(p.start_ena, Ena(1));
            assert_eq!(last.ena.0 as usize, p.entries.len());
        }
    }
}

#[test]
fn limit_is_respected_and_zero_means_metadata_only() {
    let mut s = loaded();
    let mut buf = [0u8; 1024];
    let n = s
        .read_ereports(
            &ReadRequest::new(w1::RESTART_ID).limit(4).id(1),
            &mut buf[..],
            None,
        )
        .unwrap();
    assert_eq!(decode_packet(&buf[..n]).unwrap().entries.len(), 4);
    let n = s
        .read_ereports(
            &ReadRequest::new(w1::RESTART_ID).limit(0).id(1),
            &mut buf[..],
            None,
        )
        .unwrap();
    let p = decode_packet(&buf[..n]).unwrap();
    assert!(p.entries.is_empty());
    assert_eq!(p.start_ena, Ena::NONE);
    assert_eq!(n, 28, "header and an empty indefinite map");
    assert_eq!(&buf[26..28], &[0xbf, 0xff]);
}

#[test]
fn start_past_the_end_has_no_entries() {
    let mut s = loaded();
    let mut buf = [0u8; 1024];
    let n = s
        .read_ereports(
            &ReadRequest::new(w1::RESTART_ID).start(Ena(500)).id(1),
            &mut buf[..],
            None,
        )
        .unwrap();
    let p = decode_packet(&buf[..n]).unwrap();
    assert!(p.entries.is_empty());
    assert_eq!(p.start_ena, Ena::NONE);
}

#[test]
fn commit_frees_only_when_the_restart_id_matches() {
    let mut s = loaded();
    let mut buf = [0u8; 1024];
    s.read_ereports(
        &ReadRequest::new(RestartId(77))
            .commit(Ena(10))
            .limit(0)
            .id(1),
        &mut buf[..],
        None,
    )
    .unwrap();
    assert_eq!(
        s.earliest_ena(),
        Some(Ena(1)),
        "mismatched restart id frees nothing"
    );
    s.read_ereports(
        &ReadRequest::new(w1::RESTART_ID)
            .start(Ena(11))
            .commit(Ena(10))
            .limit(1)
            .id(1),
        &mut buf[..],
        None,
    )
    .unwrap();
    assert_eq!(s.earliest_ena(), Some(Ena(11)));
    // A committed ENA that was never issued frees nothing.
    s.read_ereports(
        &ReadRequest::new(w1::RESTART_ID)
            .start(Ena(11))
            .commit(Ena(1000))
            .limit(1)
            .id(1),
        &mut buf[..],
        None,
    )
    .unwrap();
    assert_eq!(s.earliest_ena(), Some(Ena(11)));
}

#[test]
fn mismatched_restart_id_starts_at_the_earliest_with_metadata() {
    let mut s = loaded();
    s.flush_thru(Ena(5));
    let mut buf = [0u8; 1024];
    let id = identity();
    let n = s
        .read_ereports(
            &ReadRequest::new(RestartId::UNKNOWN)
                .start(Ena(30))
                .commit(Ena(20))
                .id(9),
            &mut buf[..],
            Some(&id),
        )
        .unwrap();
    let p = decode_packet(&buf[..n]).unwrap();
    assert_eq!(
        p.start_ena,
        Ena(6),
        "starts at the earliest, ignoring start and commit"
    );
    assert_eq!(
        p.metadata.get("baseboard_part_number"),
        Some(&Value::Text("913-0000019".into()))
    );
    assert_eq!(
        p.metadata.get("baseboard_serial_number"),
        Some(&Value::Text("BRM42220017".into()))
    );
    assert_eq!(p.metadata.get("baseboard_rev"), Some(&Value::Int(6)));
    let caboose = p.metadata.get("hubris_caboose").unwrap();
    assert_eq!(caboose.get("board"), Some(&Value::Text("gimlet-f".into())));
    assert_eq!(
        caboose.get("commit"),
        Some(&Value::Text("d1f3c0ffee".into()))
    );
}

#[test]
fn metadata_golden_bytes() {
    let mut s: Store<256, W1Tasks> = Store::new();
    s.init(w1::PACKRAT, 0);
    s.set_restart_id(RestartId(0x0102)).unwrap();
    let id = Identity {
        part_number: "P".try_into().unwrap(),
        serial_number: "S".try_into().unwrap(),
        revision: 2,
        caboose: None,
    };
    let mut buf = [0u8; 256];
    let n = s
        .read_ereports(
            &ReadRequest::new(RestartId::UNKNOWN)
                .start(Ena::NONE)
                .limit(0)
                .id(0x33),
            &mut buf[..],
            Some(&id),
        )
        .unwrap();
    let mut expect = vec![0u8];
    expect.extend(0x0102u128.to_le_bytes());
    expect.extend(0u64.to_le_bytes());
    expect.push(0x33);
    expect.push(0xbf);
    for (k, v) in [
        ("baseboard_part_number", "P"),
        ("baseboard_serial_number", "S"),
    ] {
        expect.push(0x60 | k.len() as u8);
        expect.extend(k.as_bytes());
        expect.push(0x61);
        expect.extend(v.as_bytes());
    }
    expect.push(0x6d);
    expect.extend(b"baseboard_rev");
    expect.push(0x02);
    expect.push(0x6e);
    expect.extend(b"hubris_caboose");
    expect.push(0xf6);
    expect.push(0xff);
    assert_eq!(&buf[..n], &expect[..]);
    // Unknown identity: an empty map, so MGS keeps asking.
    let n = s
        .read_ereports(
            &ReadRequest::new(RestartId::UNKNOWN)
                .start(Ena::NONE)
                .limit(0)
                .id(0x34),
            &mut buf[..],
            None,
        )
        .unwrap();
    assert_eq!(&buf[26..n], &[0xbf, 0xff]);
}

#[test]
fn metadata_that_does_not_fit_leaves_an_empty_map() {
    let mut s = loaded();
    let id = identity();
    let mut buf = [0u8; 40];
    let n = s
        .read_ereports(
            &ReadRequest::new(RestartId::UNKNOWN).start(Ena::NONE).id(1),
            &mut buf[..],
            Some(&id),
        )
        .unwrap();
    assert_eq!(&buf[26..28], &[0xbf, 0xff]);
    assert!(decode_packet(&buf[..n]).unwrap().metadata.is_empty());
}

#[test]
fn short_lease_frees_nothing() {
    let mut s = loaded();
    let mut buf = [0u8; 27];
    assert_eq!(
        s.read_ereports(
            &ReadRequest::new(w1::RESTART_ID)
                .start(Ena(5))
                .commit(Ena(4))
                .id(1),
            &mut buf[..],
            None
        ),
        Err(ReadError::LeaseTooShort)
    );
    assert_eq!(s.earliest_ena(), Some(Ena(1)));
}

#[test]
fn snitch_lease_gone_at_any_call_is_an_error() {
    let mut clean = FakeLease::new(1024);
    loaded()
        .read_ereports(&ReadRequest::new(w1::RESTART_ID).id(1), &mut clean, None)
        .unwrap();
    let calls = clean.stats().writes;
    for k in 0..calls {
        let mut s = loaded();
        let mut lease = FakeLease::new(1024).go_away(GoAway::AfterCalls(k));
        assert_eq!(
            s.read_ereports(&ReadRequest::new(w1::RESTART_ID).id(1), &mut lease, None),
            Err(ReadError::WentAway),
            "gone after {k} calls"
        );
        assert_eq!(s.len(), 41, "nothing freed or lost");
    }
}

#[test]
fn more_distinct_tasks_than_name_slots_still_decode() {
    let mut s: Store<8192, W1Tasks> = Store::new();
    s.init(w1::PACKRAT, 0);
    s.set_restart_id(RestartId(1)).unwrap();
    for t in 0..40u16 {
        s.deliver(TaskId::new(t, 0), 0, &[0xa0][..]).unwrap();
        s.deliver(TaskId::new(t, 0), 0, &[0xa0][..]).unwrap();
    }
    let mut buf = [0u8; 2048];
    let n = s
        .read_ereports(&ReadRequest::new(RestartId(1)).id(1), &mut buf[..], None)
        .unwrap();
    let p = decode_packet(&buf[..n]).unwrap();
    assert_eq!(p.entries.len(), 81);
    assert_eq!(p.entries[80].task_name, "unknown");
    assert_eq!(p.entries[2].task_name, "jefe");
}
