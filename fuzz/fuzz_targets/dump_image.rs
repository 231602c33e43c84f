//! Any memory image through the dump reader, with a valid header's magic
//! and version up front so the fuzzer reaches the walk and the recovery:
//! an error or a dump, never a panic; a dump's held records have the ENAs
//! the header promises, in order.

#![no_main]

use ereport_dump::{Image, read_store};
use libfuzzer_sys::fuzz_target;
use packrat_ereport::layout::{LAYOUT_VERSION, MAGIC};

fuzz_target!(|data: &[u8]| {
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&LAYOUT_VERSION.to_le_bytes());
    bytes.extend_from_slice(data);
    let image = Image {
        base: 0x2000_0000,
        bytes,
    };
    if let Ok(d) = read_store(&image, 0x2000_0000, true) {
        let held: Vec<_> = d.records.iter().filter(|r| !r.recovered).collect();
        for (i, r) in held.iter().enumerate() {
            assert_eq!(r.ena.map(|e| e.0), Some(d.header.earliest.0 + i as u64));
        }
        if d.damage.is_none() {
            assert_eq!(held.len() as u64, d.header.next.0 - d.header.earliest.0);
        }
        for r in d.records.iter().filter(|r| r.recovered) {
            assert!(r.ena.is_none_or(|e| e < d.header.earliest));
        }
    }
});
