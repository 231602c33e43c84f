//! W1 on an emulated Cortex-M7: the same store, ingest, flush-response
//! encoder and derived producer as on the host (`ereport_w1`), on a
//! 32-bit target. Prints every response's bytes in hex, and the static and
//! actual maximum lengths of a derived class with pointer-width fields; a
//! host test compares the output with what the same code does on the host.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::cell::RefCell;

use cortex_m::interrupt::Mutex;
use cortex_m_rt::entry;
use cortex_m_semihosting::{hprint, hprintln};
use ereport_cortex_m::{exit_failure, exit_success};
use ereport_sdk::Ereport;
use ereport_w1::{self as w1, W1Store, WidthProbe};

static STORE: Mutex<RefCell<W1Store>> = Mutex::new(RefCell::new(W1Store::new()));

#[entry]
fn main() -> ! {
    hprintln!("usize_bytes {}", core::mem::size_of::<usize>());
    hprintln!("store_bytes {}", core::mem::size_of::<W1Store>());
    hprintln!(
        "identity_bytes {}",
        core::mem::size_of::<ereport_sdk::Identity>()
    );
    let mut buf = [0u8; 64];
    let n = WidthProbe::MAXIMAL.encode_to_slice(&mut buf).unwrap_or(0);
    hprintln!("width_probe.max_len {}", WidthProbe::MAX_LEN);
    hprintln!("width_probe.maximal_len {}", n);
    if n != WidthProbe::MAX_LEN {
        exit_failure();
    }
    let result = cortex_m::interrupt::free(|cs| {
        let mut store = STORE.borrow(cs).borrow_mut();
        store.init(w1::PACKRAT, 0);
        let _ = store.set_restart_id(w1::RESTART_ID);
        let mut lease = [0u8; w1::LEASE_BYTES];
        let mut k = 0;
        w1::run_cycle(&mut store, &mut lease, |response| {
            k += 1;
            hprint!("response {} ", k);
            for chunk in response.chunks(64) {
                let mut line = [0u8; 128];
                for (i, b) in chunk.iter().enumerate() {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    line[2 * i] = HEX[usize::from(b >> 4)];
                    line[2 * i + 1] = HEX[usize::from(b & 15)];
                }
                hprint!(
                    "{}",
                    core::str::from_utf8(&line[..2 * chunk.len()]).unwrap_or("?")
                );
            }
            hprintln!("");
        })
    });
    match result {
        Ok(c) => {
            hprintln!("cycle {} {} {}", c.first, c.responses, c.records);
            exit_success()
        }
        Err(_) => {
            hprintln!("cycle failed");
            exit_failure()
        }
    }
}
