//! The host decoder: valid packets, every malformation as an error, and no
//! panics on random or truncated bytes.

use ereport_sdk::decode::{DecodeError, Value, decode_packet};
use ereport_sdk::wire::ResponseHeader;
use ereport_sdk::{Ena, RestartId};
use minicbor::Encoder;
use proptest::prelude::*;
use zerocopy::IntoBytes;

fn packet(start: u64, build: impl FnOnce(&mut Encoder<&mut Vec<u8>>)) -> Vec<u8> {
    let mut out = ResponseHeader::new(RestartId(5), Ena(start), 9)
        .as_bytes()
        .to_vec();
    let mut e = Encoder::new(&mut out);
    build(&mut e);
    out
}

fn body(seq: u64) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    e.map(2)
        .unwrap()
        .str("k")
        .unwrap()
        .str("test.x")
        .unwrap()
        .str("v")
        .unwrap()
        .u64(seq)
        .unwrap();
    e.into_writer()
}

fn good() -> Vec<u8> {
    packet(10, |e| {
        e.begin_map()
            .unwrap()
            .str("baseboard_rev")
            .unwrap()
            .u32(3)
            .unwrap()
            .end()
            .unwrap();
        e.begin_array().unwrap();
        e.array(4)
            .unwrap()
            .str("power")
            .unwrap()
            .u8(1)
            .unwrap()
            .u64(5_000_000_000)
            .unwrap()
            .bytes(&body(0))
            .unwrap();
        e.array(4)
            .unwrap()
            .str("thermal")
            .unwrap()
            .u8(0)
            .unwrap()
            .u64(7)
            .unwrap()
            .bytes(&body(1))
            .unwrap();
        e.array(4)
            .unwrap()
            .u8(0)
            .unwrap()
            .u8(1)
            .unwrap()
            .u64(9)
            .unwrap()
            .bytes(&body(2))
            .unwrap();
        e.end().unwrap();
    })
}

#[test]
fn decodes_entries_resolving_task_indices_and_wide_uptimes() {
    let p = decode_packet(&good()).unwrap();
    assert_eq!(p.restart_id, RestartId(5));
    assert_eq!(p.request_id, 9);
    assert_eq!(p.metadata.get("baseboard_rev"), Some(&Value::Int(3)));
    let names: Vec<_> = p.entries.iter().map(|e| e.task_name.as_str()).collect();
    assert_eq!(names, ["power", "thermal", "power"]);
    let enas: Vec<_> = p.entries.iter().map(|e| e.ena).collect();
    assert_eq!(enas, [Ena(10), Ena(11), Ena(12)]);
    assert_eq!(
        p.entries[0].uptime_ms, 5_000_000_000,
        "uptimes over 32 bits are fine"
    );
    assert_eq!(
        p.entries[2].body_value().unwrap().get("v"),
        Some(&Value::Int(2))
    );
}

#[test]
fn metadata_only_packet() {
    let p = decode_packet(&packet(0, |e| {
        e.begin_map().unwrap().end().unwrap();
    }))
    .unwrap();
    assert!(p.metadata.is_empty());
    assert!(p.entries.is_empty());
}

#[test]
fn malformed_packets_say_what_is_wrong() {
    assert_eq!(decode_packet(&[0; 10]), Err(DecodeError::ShortHeader(10)));
    let mut v = good();
    v[0] = 1;
    assert_eq!(decode_packet(&v), Err(DecodeError::Version(1)));
    let forward = packet(1, |e| {
        e.begin_map().unwrap().end().unwrap();
        e.begin_array().unwrap();
        e.array(4)
            .unwrap()
            .u8(0)
            .unwrap()
            .u8(0)
            .unwrap()
            .u8(0)
            .unwrap()
            .bytes(&[0xa0])
            .unwrap();
        e.end().unwrap();
    });
    assert_eq!(
        decode_packet(&forward),
        Err(DecodeError::BadTaskIndex {
            index: 0,
            refers_to: 0
        })
    );
    let three = packet(1, |e| {
        e.begin_map().unwrap().end().unwrap();
        e.begin_array().unwrap();
        e.array(3)
            .unwrap()
            .str("a")
            .unwrap()
            .u8(0)
            .unwrap()
            .u8(0)
            .unwrap();
        e.end().unwrap();
    });
    assert!(matches!(
        decode_packet(&three),
        Err(DecodeError::BadEntry { index: 0, .. })
    ));
    let zero_start = packet(0, |e| {
        e.begin_map().unwrap().end().unwrap();
        e.begin_array().unwrap();
        e.array(4)
            .unwrap()
            .str("a")
            .unwrap()
            .u8(0)
            .unwrap()
            .u8(0)
            .unwrap()
            .bytes(&[0xa0])
            .unwrap();
        e.end().unwrap();
    });
    assert_eq!(decode_packet(&zero_start), Err(DecodeError::BadStartEna));
    let mut trailing = good();
    trailing.push(0);
    assert!(matches!(
        decode_packet(&trailing),
        Err(DecodeError::TrailingBytes { .. })
    ));
    let not_map = packet(0, |e| {
        e.u8(1).unwrap();
    });
    assert_eq!(decode_packet(&not_map), Err(DecodeError::MetadataNotMap));
}

#[test]
fn every_truncation_is_an_error() {
    let full = good();
    // 26-byte header + the 17-byte metadata map: a valid metadata-only packet.
    let metadata_end = 26 + 17;
    for n in 0..full.len() {
        let r = decode_packet(&full[..n]);
        if n == metadata_end {
            assert!(r.unwrap().entries.is_empty());
        } else {
            assert!(r.is_err(), "truncated to {n}");
        }
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let mut v = ResponseHeader::new(RestartId(5), Ena(0), 9)
        .as_bytes()
        .to_vec();
    v.extend(std::iter::repeat_n(0x81, 100_000));
    v.push(0);
    assert!(matches!(
        decode_packet(&v),
        Err(DecodeError::TooDeep { .. })
    ));
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode_packet(&bytes);
    }

    #[test]
    fn corrupted_packets_never_panic(i in 0usize..200, b in any::<u8>(), cut in 0usize..200) {
        let mut v = good();
        let i = i % v.len();
        v[i] = b;
        v.truncate(cut.max(i + 1).min(v.len()));
        let _ = decode_packet(&v);
    }
}

#[test]
fn simple_values_are_not_integers() {
    use ereport_sdk::decode::decode_value;
    assert_eq!(decode_value(&[0xf0]), Ok(Value::Simple(16)));
    assert_eq!(decode_value(&[0xf0]).unwrap().diagnostic(), "simple(16)");
    assert_eq!(decode_value(&[0xf5]), Ok(Value::Bool(true)));
}

/// A container whose head claims more items than the input could hold is
/// an error, found without reserving room for what it claims.
#[test]
fn forged_container_lengths_reserve_nothing_they_cannot_fill() {
    for forged in [
        &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00][..],
        &[
            0xbb, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00,
        ][..],
        &[0x9a, 0xff, 0xff, 0xff, 0xff][..],
    ] {
        assert!(
            ereport_sdk::decode::decode_value(forged).is_err(),
            "{forged:x?}"
        );
    }
    // A definite array with every item there still decodes whole.
    assert_eq!(
        ereport_sdk::decode::decode_value(&[0x83, 0x01, 0x02, 0x03]).unwrap(),
        Value::Array(vec![Value::Int(1), Value::Int(2), Value::Int(3)])
    );
}
