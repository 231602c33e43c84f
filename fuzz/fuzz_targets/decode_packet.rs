//! Any datagram through the host decoder, and every entry body through the
//! value decoder: an error or a packet, never a panic; a packet's entries
//! have consecutive ENAs from its start ENA.

#![no_main]

use ereport_sdk::decode::{decode_packet, decode_value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decode_value(data);
    if let Ok(p) = decode_packet(data) {
        for (i, e) in p.entries.iter().enumerate() {
            assert_eq!(e.ena.0, p.start_ena.0 + i as u64);
            let _ = e.body_value();
        }
        if !p.entries.is_empty() {
            assert_ne!(p.start_ena.0, 0);
        }
    }
});
