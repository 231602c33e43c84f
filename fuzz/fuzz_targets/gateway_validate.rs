//! A request and any datagram through the gateway's validation: accepted or
//! rejected with a reason, never a panic; what is accepted answers the
//! request (id, size, limit, a non-zero restart id, storable ENAs).

#![no_main]

use ereport_host::json::ereport_json;
use ereport_host::validate::{MAX_STORABLE_ENA, check_start, validate};
use ereport_sdk::wire::{MAX_RESPONSE_LEN, REQUEST_LEN, Request};
use ereport_sdk::{Ena, RestartId};
use libfuzzer_sys::fuzz_target;

/// A version-0 request from the first 35 bytes, field by field.
fn request_from(b: &[u8; REQUEST_LEN]) -> Request {
    let u128_at = |i: usize| u128::from_le_bytes(b[i..i + 16].try_into().unwrap());
    let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
    Request::new(
        RestartId(u128_at(1)),
        Ena(u64_at(17)),
        Ena(u64_at(25)),
        b[33],
        b[34],
    )
}

fuzz_target!(|data: &[u8]| {
    let Some((head, datagram)) = data.split_first_chunk::<REQUEST_LEN>() else {
        return;
    };
    let request = request_from(head);
    if let Ok(p) = validate(&request, datagram) {
        assert!(datagram.len() <= MAX_RESPONSE_LEN);
        assert_eq!(p.request_id, request.request_id);
        assert_ne!(p.restart_id, RestartId::UNKNOWN);
        assert!(p.entries.len() <= usize::from(request.limit));
        if let Some(last) = p.entries.last() {
            assert!(last.ena.0 <= MAX_STORABLE_ENA);
        }
        let _ = check_start(&p, request.start_ena());
        for e in &p.entries {
            let _ = ereport_json(e, &serde_json::Map::new());
        }
    }
});
