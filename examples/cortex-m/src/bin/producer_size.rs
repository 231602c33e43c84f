//! Producer size probe: the benchmark's classes (`ereport-producer`), each
//! behind a feature, encoded into a buffer. Building with none and with
//! each one gives each class's `.text` and `.rodata` by difference, as the
//! footprint probe measures packrat; `footprint.sh` does that.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::hint::black_box;

use cortex_m_rt::entry;

#[entry]
fn main() -> ! {
    // Every task links the panic handler (and the formatting it uses) and
    // `memcpy`: so does every variant, through an overflow check that never
    // fires and a copy of unknown length, so the differences measure the
    // classes alone.
    // (Not mutated when no class is built in.)
    #[allow(unused_mut)]
    let mut written = usize::from(black_box(1u8) + black_box(0u8));
    let mut buf = [0u8; 256];
    let n = black_box(16usize);
    if let (Some(dst), Some(src)) = (buf.get_mut(..n), black_box(&[7u8; 32]).get(..n)) {
        dst.copy_from_slice(src);
    }
    #[cfg(feature = "class-small")]
    {
        written = written.wrapping_add(ereport_producer::encode_small(&mut buf));
    }
    #[cfg(feature = "class-nested")]
    {
        written = written.wrapping_add(ereport_producer::encode_nested(&mut buf));
    }
    #[cfg(feature = "class-pmbus-alert")]
    {
        written = written.wrapping_add(ereport_producer::encode_pmbus_alert(&mut buf));
    }
    black_box((written, &buf));
    ereport_cortex_m::exit_success()
}
