//! The shared CBOR head encoder against minicbor's: the same shortest form
//! for every major type and argument.

use ereport_sdk::cbor_len::{encode_head, head_len};
use proptest::prelude::*;

/// minicbor's head for `n` (as an unsigned integer), with `major` put in.
fn reference(major: u8, n: u64) -> Vec<u8> {
    let mut e = minicbor::Encoder::new(Vec::new());
    e.u64(n).unwrap();
    let mut out = e.into_writer();
    out[0] = out[0] & 0x1f | major << 5;
    out
}

fn check(major: u8, n: u64) {
    let mut out = [0xaa; 9];
    let k = encode_head(major, n, &mut out);
    assert_eq!(out[..k], reference(major, n)[..], "major {major}, n {n}");
    assert_eq!(k, head_len(n), "n {n}");
    assert!(out[k..].iter().all(|&b| b == 0xaa), "nothing past the head");
}

#[test]
fn every_form_at_its_bounds() {
    for major in 0..8 {
        for n in [
            0,
            23,
            24,
            255,
            256,
            65_535,
            65_536,
            u64::from(u32::MAX),
            u64::from(u32::MAX) + 1,
            u64::MAX,
        ] {
            check(major, n);
        }
    }
}

proptest! {
    #[test]
    fn any_argument(major in 0u8..8, n in any::<u64>(), shift in 0u32..64) {
        // Shifted too, so every length of argument is drawn.
        check(major, n >> shift);
    }
}
