//! W1 with part of it committed, then left in RAM for a post-mortem read:
//! the 40 W1 reports are delivered, the responses read as the gateway
//! would, and the first response's records committed (freed). The program
//! then prints `dump-ready` and waits, so the host can save the emulated
//! RAM (QEMU's `pmemsave`) and read the store out of it with `ereport-dump`
//! and this ELF.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::cell::RefCell;

use cortex_m::interrupt::Mutex;
use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use ereport_cortex_m::exit_failure;
use ereport_sdk::{Ena, ReadRequest};
use ereport_w1::{self as w1, W1Store};

/// The store, found by this symbol in the ELF.
static EREPORT_STORE: Mutex<RefCell<W1Store>> = Mutex::new(RefCell::new(W1Store::new()));

/// ENAs the first W1 response holds: committed before the dump.
const COMMITTED: Ena = Ena(15);

#[entry]
fn main() -> ! {
    let ok = cortex_m::interrupt::free(|cs| {
        let mut store = EREPORT_STORE.borrow(cs).borrow_mut();
        store.init(w1::PACKRAT, 0);
        let _ = store.set_restart_id(w1::RESTART_ID);
        if w1::deliver_reports(&mut store).is_err() {
            return false;
        }
        let mut lease = [0u8; w1::LEASE_BYTES];
        // Read the first response, then commit it with the next request.
        let first = store.read_ereports(&ReadRequest::new(w1::RESTART_ID), &mut lease[..], None);
        let next = ReadRequest::new(w1::RESTART_ID)
            .start(Ena(COMMITTED.0 + 1))
            .commit(COMMITTED)
            .limit(0);
        first.is_ok() && store.read_ereports(&next, &mut lease[..], None).is_ok()
    });
    if !ok {
        hprintln!("w1-dump: the cycle failed");
        exit_failure();
    }
    hprintln!("dump-ready");
    loop {
        cortex_m::asm::wfi();
    }
}
