//! Boundary tests for `LeaseWriter`.

use lease_writer::testing::{FakeLease, GoAway};
use lease_writer::{Fit, ItemError, LeaseWriter, WriteError, encode_if_fits, put_if_fits};
use minicbor::Encoder;
use minicbor::encode::Write;

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + 3) as u8).collect()
}

#[test]
fn exact_fit_fills_the_last_byte() {
    for len in [1usize, 7, 8, 9, 100, 1024] {
        let data = pattern(len);
        let mut lease = FakeLease::new(len);
        let mut w = LeaseWriter::<_, 8>::new(&mut lease);
        // Written in pieces of assorted sizes.
        let mut at = 0;
        let mut step = 1;
        while at < len {
            let end = (at + step).min(len);
            w.write_all(&data[at..end]).unwrap();
            at = end;
            step = step % 13 + 1;
        }
        assert_eq!(w.remaining(), 0);
        assert_eq!(w.finish(), Ok(len));
        assert_eq!(lease.bytes(), &data[..]);
    }
}

#[test]
fn one_byte_short_is_out_of_space_and_writes_nothing() {
    let mut lease = FakeLease::new(10);
    let mut w = LeaseWriter::<_, 4>::new(&mut lease);
    w.write_all(&[1; 5]).unwrap();
    assert_eq!(w.write_all(&[2; 6]), Err(WriteError::OutOfSpace));
    assert_eq!(w.position(), 5);
    // Still usable afterwards.
    w.write_all(&[3; 5]).unwrap();
    assert_eq!(w.finish(), Ok(10));
    assert_eq!(lease.bytes(), &[1, 1, 1, 1, 1, 3, 3, 3, 3, 3]);
}

#[test]
fn a_single_write_of_the_whole_lease_fits() {
    let data = pattern(300);
    let mut lease = FakeLease::new(300);
    let mut w = LeaseWriter::<_, 16>::new(&mut lease);
    w.write_all(&data).unwrap();
    assert_eq!(w.finish(), Ok(300));
    assert_eq!(lease.stats().writes, 1);
    assert_eq!(lease.bytes(), &data[..]);
}

#[test]
fn zero_length_lease() {
    let mut lease = FakeLease::new(0);
    let mut w = LeaseWriter::<_, 16>::new(&mut lease);
    w.write_all(&[]).unwrap();
    assert_eq!(w.write_all(&[0]), Err(WriteError::OutOfSpace));
    assert_eq!(w.reserve(1), Err(WriteError::OutOfSpace));
    assert_eq!(w.finish(), Ok(0));
    assert_eq!(lease.stats().writes, 0);
    assert!(LeaseWriter::<_, 16>::starting_at(FakeLease::new(0), 1).is_err());
    assert!(LeaseWriter::<_, 16>::starting_at(FakeLease::new(0), 0).is_ok());
}

#[test]
fn zero_byte_writes_make_no_lease_call() {
    for staging in [false, true] {
        let mut lease = FakeLease::new(16);
        if staging {
            let mut w = LeaseWriter::<_, 4>::new(&mut lease);
            for _ in 0..10 {
                w.write_all(&[]).unwrap();
            }
            w.finish().unwrap();
        } else {
            let mut w = LeaseWriter::<_, 0>::new(&mut lease);
            for _ in 0..10 {
                w.write_all(&[]).unwrap();
            }
            w.write_all(&[1]).unwrap();
            w.finish().unwrap();
        }
        assert_eq!(lease.stats().zero_length_writes, 0);
    }
}

#[test]
fn small_writes_coalesce_and_large_ones_go_straight_through() {
    let mut lease = FakeLease::new(200);
    let mut w = LeaseWriter::<_, 16>::new(&mut lease);
    for b in 0..10u8 {
        w.write_all(&[b]).unwrap();
    }
    assert_eq!(w.lease().stats().writes, 0, "ten bytes stay staged");
    w.write_all(&pattern(40)).unwrap();
    // The staged ten go first, then the 40 straight through.
    assert_eq!(w.lease().stats().writes, 2);
    assert_eq!(w.lease().stats().bytes_written, 50);
    // 12 staged, then 10 more: the stage is topped up to 16 and sent.
    w.write_all(&[9; 12]).unwrap();
    w.write_all(&[8; 10]).unwrap();
    assert_eq!(w.lease().stats().writes, 3);
    assert_eq!(w.finish(), Ok(72));
    assert_eq!(lease.stats().writes, 4);
    let mut expect: Vec<u8> = (0..10).collect();
    expect.extend(pattern(40));
    expect.extend([9; 12]);
    expect.extend([8; 10]);
    assert_eq!(&lease.bytes()[..72], &expect[..]);
}

#[test]
fn staging_disabled_sends_every_write() {
    let mut lease = FakeLease::new(20);
    let mut w = LeaseWriter::<_, 0>::new(&mut lease);
    for b in 0..5u8 {
        w.write_all(&[b, b]).unwrap();
    }
    assert_eq!(w.finish(), Ok(10));
    assert_eq!(lease.stats().writes, 5);
}

#[test]
fn reservation_keeps_the_tail_until_released() {
    let mut lease = FakeLease::new(10);
    let mut w = LeaseWriter::<_, 4>::new(&mut lease);
    w.reserve(2).unwrap();
    assert_eq!(w.remaining(), 8);
    w.write_all(&[1; 8]).unwrap();
    assert_eq!(w.write_all(&[2]), Err(WriteError::OutOfSpace));
    // Can't reserve what is not there.
    assert_eq!(w.reserve(1), Err(WriteError::OutOfSpace));
    w.release(1);
    w.write_all(&[2]).unwrap();
    assert_eq!(w.write_all(&[3]), Err(WriteError::OutOfSpace));
    w.release(5); // releasing more than reserved is harmless
    assert_eq!(w.reserved(), 0);
    w.write_all(&[3]).unwrap();
    assert_eq!(w.finish(), Ok(10));
    assert_eq!(lease.bytes(), &[1, 1, 1, 1, 1, 1, 1, 1, 2, 3]);
}

#[test]
fn rollback_within_the_stage() {
    let mut lease = FakeLease::new(32);
    let mut w = LeaseWriter::<_, 16>::new(&mut lease);
    w.write_all(&[1, 2, 3]).unwrap();
    let cp = w.checkpoint();
    w.write_all(&[4, 5, 6]).unwrap();
    w.rollback(cp);
    assert_eq!(w.position(), 3);
    w.write_all(&[7]).unwrap();
    assert_eq!(w.finish(), Ok(4));
    assert_eq!(&lease.bytes()[..4], &[1, 2, 3, 7]);
    assert_eq!(lease.stats().writes, 1);
}

#[test]
fn rollback_across_a_staging_flush() {
    let mut lease = FakeLease::new(64);
    let mut w = LeaseWriter::<_, 4>::new(&mut lease);
    w.write_all(&[1, 2]).unwrap();
    let cp = w.checkpoint();
    // Overflows the 4-byte stage twice and sends a large write through.
    w.write_all(&[3, 4, 5]).unwrap();
    w.write_all(&[6, 7, 8, 9, 10, 11]).unwrap();
    assert!(w.lease().stats().writes >= 2);
    w.rollback(cp);
    assert_eq!(w.position(), 2);
    w.write_all(&[20, 21]).unwrap();
    assert_eq!(w.finish(), Ok(4));
    assert_eq!(&lease.bytes()[..4], &[1, 2, 20, 21]);
}

#[test]
fn stale_checkpoints_are_ignored() {
    let mut lease = FakeLease::new(16);
    let mut w = LeaseWriter::<_, 4>::new(&mut lease);
    let early = w.checkpoint();
    w.write_all(&[1, 2, 3]).unwrap();
    let late = w.checkpoint();
    w.rollback(early);
    w.rollback(late); // lies in the future now: changes nothing
    assert_eq!(w.position(), 0);
}

#[test]
fn starting_offset_leaves_the_gap_alone() {
    let mut lease = FakeLease::from_bytes(&[0xAA; 12]);
    let mut w = LeaseWriter::<_, 8>::starting_at(&mut lease, 5).unwrap();
    assert_eq!(w.position(), 5);
    assert_eq!(w.remaining(), 7);
    let cp = w.checkpoint();
    w.write_all(&[1, 2]).unwrap();
    assert_eq!(w.written(), 2);
    w.rollback(cp);
    w.write_all(&[3; 7]).unwrap();
    assert_eq!(w.write_all(&[4]), Err(WriteError::OutOfSpace));
    assert_eq!(w.finish(), Ok(12));
    assert_eq!(
        lease.bytes(),
        &[0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 3, 3, 3, 3, 3, 3, 3]
    );
    assert_eq!(
        LeaseWriter::<_, 8>::starting_at(FakeLease::new(4), 5).err(),
        Some(WriteError::OutOfSpace)
    );
    // Starting exactly at the end is allowed and can write nothing.
    let mut w = LeaseWriter::<_, 8>::starting_at(FakeLease::new(4), 4).unwrap();
    assert_eq!(w.write_all(&[1]), Err(WriteError::OutOfSpace));
    assert_eq!(w.finish(), Ok(4));
}

#[test]
fn went_away_is_sticky() {
    let mut lease = FakeLease::new(64).go_away(GoAway::AfterCalls(0));
    let mut w = LeaseWriter::<_, 4>::new(&mut lease);
    w.write_all(&[1, 2]).unwrap(); // only staged
    assert_eq!(w.write_all(&[0; 10]), Err(WriteError::WentAway));
    assert!(w.went_away());
    assert_eq!(w.write_all(&[]), Err(WriteError::WentAway));
    assert_eq!(w.write_all(&[1]), Err(WriteError::WentAway));
    assert_eq!(w.flush(), Err(WriteError::WentAway));
    assert_eq!(w.reserve(1), Err(WriteError::WentAway));
    assert_eq!(w.reserve(0), Err(WriteError::WentAway));
    assert_eq!(w.finish(), Err(WriteError::WentAway));
}

#[test]
fn finish_reports_went_away_for_staged_bytes() {
    let mut lease = FakeLease::new(64);
    let mut w = LeaseWriter::<_, 16>::new(&mut lease);
    w.write_all(&[1, 2, 3]).unwrap();
    w.lease().kill();
    assert_eq!(w.finish(), Err(WriteError::WentAway));
}

#[test]
fn fit_helper_rolls_back_and_reports() {
    let mut enc = Encoder::new(LeaseWriter::<_, 4>::new(FakeLease::new(10)));
    assert_eq!(put_if_fits(&mut enc, "abcd"), Ok(Fit::Fitted)); // 5 bytes
    assert_eq!(put_if_fits(&mut enc, "abcdef"), Ok(Fit::DidNotFit)); // 7 bytes
    assert_eq!(enc.writer().position(), 5);
    assert_eq!(put_if_fits(&mut enc, "wxyz"), Ok(Fit::Fitted)); // exactly 5 more
    assert_eq!(enc.writer_mut().finish(), Ok(10));
    let lease = enc.into_writer().into_lease();
    assert_eq!(lease.bytes(), b"\x64abcd\x64wxyz");

    let mut enc = Encoder::new(LeaseWriter::<_, 4>::new(
        FakeLease::new(10).go_away(GoAway::AfterCalls(0)),
    ));
    assert_eq!(put_if_fits(&mut enc, "abcdefgh"), Err(ItemError::WentAway));

    let mut enc = Encoder::new(LeaseWriter::<_, 4>::new(FakeLease::new(10)));
    let r = encode_if_fits(&mut enc, |e| {
        e.u8(1)?;
        Err(minicbor::encode::Error::message("refused"))
    });
    assert_eq!(r, Err(ItemError::Encode));
    assert_eq!(enc.writer().position(), 0);
}

/// Encodes a fixed sequence of CBOR items with fit-or-roll-back.
fn encode_sequence<const S: usize>(
    lease: FakeLease,
    items: &[Vec<u8>],
) -> (Result<usize, ItemError>, FakeLease) {
    let mut enc = Encoder::new(LeaseWriter::<_, S>::starting_at(lease, 3).unwrap());
    let mut result = Ok(0);
    for item in items {
        match encode_if_fits(&mut enc, |e| e.bytes(item).map(drop)) {
            Ok(_) => {}
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if result.is_ok() {
        result = enc.writer_mut().finish().map_err(|_| ItemError::WentAway);
    }
    (result, enc.into_writer().into_lease())
}

#[test]
fn went_away_at_every_call_and_every_byte() {
    let items: Vec<Vec<u8>> = (0..12).map(|i| pattern(i * 5 % 23)).collect();
    let (clean, clean_lease) = encode_sequence::<8>(FakeLease::new(96), &items);
    let clean_len = clean.unwrap();
    let clean_bytes = clean_lease.bytes()[..clean_len].to_vec();
    let calls = clean_lease.stats().writes;
    assert!(calls > 3);
    for n in 0..calls {
        let (r, lease) =
            encode_sequence::<8>(FakeLease::new(96).go_away(GoAway::AfterCalls(n)), &items);
        assert_eq!(r, Err(ItemError::WentAway), "went away after {n} calls");
        assert!(lease.is_gone());
    }
    for b in 3..clean_len {
        let (r, _) = encode_sequence::<8>(FakeLease::new(96).go_away(GoAway::AtByte(b)), &items);
        assert_eq!(r, Err(ItemError::WentAway), "went away at byte {b}");
    }
    // Dying past the end of the data changes nothing.
    let (r, lease) = encode_sequence::<8>(
        FakeLease::new(96).go_away(GoAway::AtByte(clean_len)),
        &items,
    );
    assert_eq!(r, Ok(clean_len));
    assert_eq!(&lease.bytes()[..clean_len], &clean_bytes[..]);
}
