//! The ring store: ENAs, losses, zero-copy ingest, flush.

use ereport_sdk::MAX_EREPORT_LEN;
use ereport_sdk::{Ena, ReadRequest, RestartId, TaskId};
use ereport_w1::{self as w1, W1Tasks};
use lease_writer::testing::{FakeLease, GoAway};
use packrat_ereport::{HEADER_LEN, IngestError, Store};

const ME: TaskId = TaskId::new(5, 0);
const T1: TaskId = TaskId::new(1, 2);

/// Every record as (ENA, task, uptime, body), via a full response.
fn dump<const N: usize>(s: &mut Store<N, W1Tasks>) -> Vec<Record> {
    let rid = s.restart_id().unwrap_or(RestartId(1));
    if s.restart_id().is_none() {
        s.set_restart_id(rid).unwrap();
    }
    let mut out = Vec::new();
    let mut start = Ena(0);
    loop {
        let mut buf = vec![0u8; 65536];
        let n = s
            .read_ereports(&ReadRequest::new(rid).start(start), &mut buf[..], None)
            .unwrap();
        let p = ereport_sdk::decode::decode_packet(&buf[..n]).unwrap();
        if p.entries.is_empty() {
            return out;
        }
        for e in &p.entries {
            out.push((e.ena.0, e.task_name.clone(), e.uptime_ms, e.body.clone()));
        }
        start = Ena(p.entries.last().unwrap().ena.0 + 1);
    }
}

fn body(n: usize, fill: u8) -> Vec<u8> {
    // A byte string item of total length n (n >= 2): 0x58 len bytes...
    assert!((26..=255).contains(&n));
    let mut b = vec![0x58, (n - 2) as u8];
    b.resize(n, fill);
    b
}

#[test]
fn initial_loss_record_is_ena_1() {
    let mut s: Store<256, W1Tasks> = Store::new();
    assert_eq!(s.next_ena(), Ena(0), "uninitialised");
    s.init(ME, 0);
    s.init(ME, 99); // once only
    assert_eq!(s.len(), 1);
    assert_eq!(s.earliest_ena(), Some(Ena(1)));
    let recs = dump(&mut s);
    // {"lost": null}
    assert_eq!(
        recs,
        vec![(
            1,
            "packrat".to_string(),
            0,
            vec![0xa1, 0x64, b'l', b'o', b's', b't', 0xf6]
        )]
    );
}

#[test]
fn enas_count_up_and_survive_flushes() {
    let mut s: Store<512, W1Tasks> = Store::new();
    s.init(ME, 0);
    for i in 0..5u64 {
        assert_eq!(s.deliver(T1, i, &body(30, i as u8)[..]), Ok(Ena(i + 2)));
    }
    assert_eq!(s.flush_thru(Ena(3)), 3);
    assert_eq!(s.earliest_ena(), Some(Ena(4)));
    assert_eq!(s.deliver(T1, 9, &body(30, 9)[..]), Ok(Ena(7)));
    let enas: Vec<u64> = dump(&mut s).iter().map(|r| r.0).collect();
    assert_eq!(enas, [4, 5, 6, 7]);
}

#[test]
fn flush_of_unknown_enas_frees_nothing() {
    let mut s: Store<512, W1Tasks> = Store::new();
    s.init(ME, 0);
    s.deliver(T1, 1, &body(30, 1)[..]).unwrap();
    s.deliver(T1, 1, &body(30, 2)[..]).unwrap();
    s.flush_thru(Ena(1));
    assert_eq!(s.flush_thru(Ena(1)), 0, "below the earliest");
    assert_eq!(s.flush_thru(Ena(0)), 0, "none");
    assert_eq!(s.flush_thru(Ena(4)), 0, "never issued");
    assert_eq!(s.flush_thru(Ena(u64::MAX)), 0, "never issued");
    assert_eq!(s.len(), 2);
    assert_eq!(s.flush_thru(Ena(3)), 2);
    assert!(s.is_empty());
    assert_eq!(s.used_bytes(), 0);
}

#[test]
fn empty_and_long_bodies_are_refused_and_counted() {
    let mut s: Store<4096, W1Tasks> = Store::new();
    s.init(ME, 0);
    assert_eq!(s.deliver(T1, 0, &[][..]), Err(IngestError::Empty));
    assert_eq!(
        s.deliver(T1, 0, &vec![0u8; MAX_EREPORT_LEN + 1][..]),
        Err(IngestError::TooLong)
    );
    assert!(
        s.deliver(T1, 0, &vec![0u8; MAX_EREPORT_LEN][..]).is_ok(),
        "MAX_EREPORT_LEN is the limit, inclusive"
    );
    assert_eq!(s.stats().refused_empty, 1);
    assert_eq!(s.stats().refused_too_long, 1);
    assert_eq!(s.len(), 2);
}

#[test]
fn full_store_counts_losses_then_reports_them() {
    // 7 (loss) + 13 header = 20 used; room for two 40-byte bodies in 128.
    let mut s: Store<128, W1Tasks> = Store::new();
    s.init(ME, 0);
    assert!(s.deliver(T1, 1, &body(40, 1)[..]).is_ok());
    assert!(s.deliver(T1, 2, &body(40, 2)[..]).is_ok());
    for _ in 0..3 {
        assert_eq!(s.deliver(T1, 3, &body(40, 3)[..]), Err(IngestError::Full));
    }
    assert_eq!(s.pending_losses(), Some(3));
    assert_eq!(s.stats().lost, 3);
    // The flush makes room: the loss record is written at once, stamped
    // with the uptime of the last loss.
    s.flush_thru(Ena(3));
    assert_eq!(s.pending_losses(), None);
    assert_eq!(s.deliver(T1, 50, &body(40, 4)[..]), Ok(Ena(5)));
    let recs = dump(&mut s);
    // ENA 4 is {"lost": 3} from packrat.
    assert_eq!(
        recs[0],
        (
            4,
            "packrat".to_string(),
            3,
            vec![0xa1, 0x64, b'l', b'o', b's', b't', 0x03]
        )
    );
    assert_eq!(recs[1].0, 5);
    assert_eq!(recs[1].3, body(40, 4));
}

#[test]
fn exactly_no_room_for_the_loss_record_never_panics() {
    // Fill the store to every possible level, then overflow and recover.
    for fill in 26..=80usize {
        let mut s: Store<160, W1Tasks> = Store::new();
        s.init(ME, 0);
        let mut sizes = vec![];
        while s.free_bytes() >= HEADER_LEN + fill {
            s.deliver(T1, 0, &body(fill, 0)[..]).unwrap();
            sizes.push(fill);
        }
        // Top up with smaller records until free space is exactly each
        // possible value below a loss record's size.
        let free = s.free_bytes();
        for _ in 0..3 {
            let _ = s.deliver(T1, 0, &body(26, 1)[..]);
        }
        assert!(s.pending_losses().is_some(), "fill {fill}, free {free}");
        // Free exactly one record and deliver again, repeatedly.
        for round in 0..20u64 {
            if let Some(e) = s.earliest_ena() {
                s.flush_thru(e);
            }
            let _ = s.deliver(T1, round, &body(26 + (round as usize % 40), 2)[..]);
            assert!(s.used_bytes() <= 160);
        }
        // Everything stored is readable and ENAs are contiguous.
        let recs = dump(&mut s);
        for w in recs.windows(2) {
            assert_eq!(w[1].0, w[0].0 + 1);
        }
    }
}

#[test]
fn losses_are_reported_by_the_next_insert_when_no_flush_came() {
    // 20 + 53 + 53 used, 64 free: not enough for 13 + 60, enough for the
    // 20-byte loss record and 13 + 26.
    let mut s: Store<190, W1Tasks> = Store::new();
    s.init(ME, 0);
    s.deliver(T1, 1, &body(40, 1)[..]).unwrap();
    s.deliver(T1, 2, &body(40, 2)[..]).unwrap();
    assert_eq!(s.deliver(T1, 3, &body(60, 3)[..]), Err(IngestError::Full));
    // A small one fits together with the loss record: both go in.
    assert_eq!(s.deliver(T1, 9, &body(26, 4)[..]), Ok(Ena(5)));
    let recs = dump(&mut s);
    assert_eq!(
        recs[3],
        (
            4,
            "packrat".to_string(),
            3,
            vec![0xa1, 0x64, b'l', b'o', b's', b't', 0x01]
        )
    );
    assert_eq!(recs[4].3, body(26, 4));
}

#[test]
fn loss_record_fits_with_exactly_its_size_free() {
    let mut s: Store<128, W1Tasks> = Store::new();
    s.init(ME, 0); // 20 bytes used
    // Leave exactly 20 bytes free: 13 header + 7 for {"lost": 1}.
    s.deliver(T1, 0, &body(128 - 20 - 13 - 20, 0)[..]).unwrap();
    assert_eq!(s.free_bytes(), 20);
    assert_eq!(s.deliver(T1, 1, &body(40, 1)[..]), Err(IngestError::Full));
    // One loss pending; its record would be exactly 20 bytes: the next
    // delivery writes it (filling the store to the last byte) and loses
    // itself.
    assert_eq!(s.deliver(T1, 2, &body(40, 2)[..]), Err(IngestError::Full));
    assert_eq!(s.free_bytes(), 0);
    assert_eq!(s.pending_losses(), Some(1));
    let recs = dump(&mut s);
    assert_eq!(
        recs.last().unwrap().3,
        vec![0xa1, 0x64, b'l', b'o', b's', b't', 0x01]
    );
}

#[test]
fn ingest_is_one_lease_read_straight_into_the_ring() {
    let mut s = w1::new_store();
    let lease = FakeLease::from_bytes(&body(60, 7));
    s.deliver(T1, 5, &lease).unwrap();
    assert_eq!(lease.stats().reads, 1);
    assert_eq!(lease.stats().bytes_read, 60);
}

/// A stored record as (ENA, task, uptime, body).
type Record = (u64, String, u64, Vec<u8>);

/// State that must not change when a lender goes away.
type Snapshot = (usize, usize, Ena, Option<u32>, Vec<Record>);

fn snapshot<const N: usize>(s: &mut Store<N, W1Tasks>) -> Snapshot {
    (
        s.len(),
        s.used_bytes(),
        s.next_ena(),
        s.pending_losses(),
        dump(s),
    )
}

#[test]
fn lender_gone_at_any_byte_leaves_the_store_as_it_was() {
    // Arrange a wrap: the body straddles the end of the ring.
    for pending_loss in [false, true] {
        let mut s: Store<200, W1Tasks> = Store::new();
        s.init(ME, 0);
        s.set_restart_id(RestartId(9)).unwrap();
        s.deliver(T1, 0, &body(100, 1)[..]).unwrap();
        s.deliver(T1, 0, &body(40, 2)[..]).unwrap();
        if pending_loss {
            assert_eq!(s.deliver(T1, 0, &body(100, 9)[..]), Err(IngestError::Full));
        }
        s.flush_thru(Ena(2));
        let incoming = body(90, 3);
        let before = snapshot(&mut s);
        for at in 0..incoming.len() {
            let lease = FakeLease::from_bytes(&incoming).go_away(GoAway::AtByte(at));
            assert_eq!(
                s.deliver(T1, 1, &lease),
                Err(IngestError::WentAway),
                "at {at}"
            );
            assert_eq!(snapshot(&mut s), before, "went away at byte {at}");
        }
        // And it still works afterwards, wrapping.
        let ena = s.deliver(T1, 1, &incoming[..]).unwrap();
        let recs = dump(&mut s);
        assert_eq!(recs.last().unwrap().0, ena.0);
        assert_eq!(recs.last().unwrap().3, incoming);
        assert_eq!(s.stats().went_away, incoming.len() as u32);
    }
}

#[test]
fn const_constructor_is_static_friendly() {
    static STORE: std::sync::Mutex<Store<4096, W1Tasks>> = std::sync::Mutex::new(Store::new());
    let mut s = STORE.lock().unwrap();
    s.init(ME, 0);
    assert_eq!(s.len(), 1);
}

#[test]
fn w1_reports_are_the_bytes_w1_md_gives() {
    // {"k": class, "v": 0, "seq": i, "pad": bytes}, built by hand.
    fn text(s: &str, out: &mut Vec<u8>) {
        assert!(s.len() < 24);
        out.push(0x60 | s.len() as u8);
        out.extend(s.as_bytes());
    }
    let mut buf = [0u8; w1::MAX_REPORT_LEN];
    for i in 0..w1::REPORTS {
        let mut expect = vec![0xa4];
        text("k", &mut expect);
        let class = w1::CLASSES[i % 4];
        if class.len() < 24 {
            text(class, &mut expect);
        } else {
            expect.extend([0x78, class.len() as u8]);
            expect.extend(class.as_bytes());
        }
        text("v", &mut expect);
        expect.push(0);
        text("seq", &mut expect);
        if i < 24 {
            expect.push(i as u8);
        } else {
            expect.extend([0x18, i as u8]);
        }
        text("pad", &mut expect);
        let pad = w1::PADS[i % 4];
        if pad < 24 {
            expect.push(0x40 | pad as u8);
        } else {
            expect.extend([0x58, pad as u8]);
        }
        expect.extend(std::iter::repeat_n(i as u8, pad));
        let n = w1::encode_report(i, &mut buf);
        assert_eq!(&buf[..n], &expect[..], "report {i}");
    }
}

#[test]
fn w1_cycle_drains_in_three() {
    let mut s = w1::new_store();
    let mut lease = [0u8; w1::LEASE_BYTES];
    let mut sizes = vec![];
    let c = w1::run_cycle(&mut s, &mut lease, |r| sizes.push(r.len())).unwrap();
    assert_eq!((c.first, c.responses, c.records), (15, 3, 41));
    assert_eq!(sizes.len(), 4, "three full responses and an empty one");
    assert_eq!(*sizes.last().unwrap(), 28);
    assert!(s.is_empty());
}

#[test]
fn width_probe_is_computed_for_the_target_width() {
    use ereport_sdk::Ereport;
    let mut buf = [0u8; 64];
    let n = w1::WidthProbe::MAXIMAL.encode_to_slice(&mut buf).unwrap();
    assert_eq!(n, w1::WidthProbe::MAX_LEN);
    let word = if cfg!(target_pointer_width = "64") {
        9
    } else {
        5
    };
    assert_eq!(
        w1::WidthProbe::MAX_LEN,
        1 + 2 + 11 + 2 + 1 + (6 + word) + (6 + word) + (4 + 9)
    );
}
