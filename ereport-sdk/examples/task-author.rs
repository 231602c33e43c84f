//! `task-author`: what a firmware engineer writes to report ereports.
//!
//! Three classes (one with a nested type, one enum, one with a flattened
//! field), declared in a reporter whose buffer is sized at compile time, and
//! delivered to a packrat stand-in (the real `packrat-ereport` store). Each
//! ereport is printed in CBOR diagnostic notation with its static maximum
//! next to its actual length.
//!
//! Run it with `cargo run -p ereport-sdk --example task-author`.

use std::cell::RefCell;

use clap::Parser;

use ereport_sdk::decode::decode_value;
use ereport_sdk::{DeliverEreport, DeliverError, Ena, Ereport, EreportField, RestartId, TaskId};
use heapless::String;
use packrat_ereport::Store;

/// A power rail, nested inside an ereport.
#[derive(EreportField)]
struct Rail {
    index: u8,
    name: String<16>,
}

/// Nested type: the rail that faulted is a map inside the ereport.
#[derive(Ereport)]
#[ereport(class = "hw.pwr.vout.fault", version = 1)]
struct VoutFault {
    rail: Rail,
    vout_mv: u16,
    limit_mv: u16,
}

/// Enum: each variant is one kind of fan fault; the variant-id key names it.
#[derive(Ereport)]
#[ereport(class = "hw.fan.fault", version = 0, variant_id = "fault")]
enum FanFault {
    Stalled {
        fan: u8,
    },
    #[ereport(rename = "slow")]
    TooSlow {
        fan: u8,
        rpm: u16,
        min_rpm: u16,
    },
    Missing,
}

/// Where a DIMM is: flattened into the ereport's own map.
#[derive(EreportField)]
struct Location {
    socket: u8,
    channel: u8,
    slot: Option<u8>,
}

/// Flattened field: `socket`, `channel` and `slot` sit beside `address`.
#[derive(Ereport)]
#[ereport(class = "hw.dimm.ecc.ue", version = 0)]
struct DimmUncorrectable {
    #[ereport(flatten)]
    location: Location,
    address: u64,
    syndrome: [u8; 4],
}

ereport_sdk::reporter! {
    /// Everything this task reports.
    struct TaskReporter { VoutFault, FanFault, DimmUncorrectable }
}

/// Packrat stand-in: the real store, reached by a direct call instead of IPC.
struct Packrat(RefCell<Store<4096>>);

impl DeliverEreport for Packrat {
    fn deliver_ereport(&self, body: &[u8]) -> Result<Ena, DeliverError> {
        // On an SP this is an IPC with `body` lent as a read lease.
        Ok(self.0.borrow_mut().deliver(TaskId::new(3, 0), 1234, body)?)
    }
}

fn show<E: ereport_sdk::Declared<TaskReporter> + ereport_sdk::NoRateLimit>(
    packrat: &Packrat,
    reporter: &mut TaskReporter,
    e: &E,
) {
    let mut buf = [0u8; TaskReporter::BUF_LEN];
    let len = e
        .encode_to_slice(&mut buf)
        .expect("the reporter's buffer fits every declared class");
    let diag = decode_value(&buf[..len])
        .map(|v| v.diagnostic())
        .unwrap_or_else(|err| err.to_string());
    match reporter.deliver(packrat, e) {
        Ok(ena) => println!(
            "ENA {ena:<3} {:<22} {len:>3} of max {:>3} bytes  {diag}",
            E::CLASS,
            E::MAX_LEN
        ),
        Err(err) => println!("lost: {} ({err})", E::CLASS),
    }
}

/// Declares three ereport classes in a reporter, delivers one of each to
/// packrat's store, and prints each ereport's CBOR with its static bound.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {}

fn main() {
    Args::parse();
    let packrat = Packrat(RefCell::new(Store::new()));
    {
        let mut s = packrat.0.borrow_mut();
        s.init(TaskId::new(5, 0), 0);
        let _ = s.set_restart_id(RestartId(1));
    }
    let mut r = TaskReporter::new();
    println!(
        "reporter buffer: {} bytes (the largest declared class)\n",
        TaskReporter::BUF_LEN
    );
    show(
        &packrat,
        &mut r,
        &VoutFault {
            rail: Rail {
                index: 4,
                name: "VDD_VCORE".try_into().unwrap(),
            },
            vout_mv: 640,
            limit_mv: 700,
        },
    );
    show(&packrat, &mut r, &FanFault::Stalled { fan: 2 });
    show(
        &packrat,
        &mut r,
        &FanFault::TooSlow {
            fan: 5,
            rpm: 1200,
            min_rpm: 3000,
        },
    );
    show(&packrat, &mut r, &FanFault::Missing);
    show(
        &packrat,
        &mut r,
        &DimmUncorrectable {
            location: Location {
                socket: 0,
                channel: 3,
                slot: None,
            },
            address: 0x0000_0040_1234_5000,
            syndrome: [0xde, 0xad, 0xbe, 0xef],
        },
    );
    println!();
    for (class, c) in r.all_counts() {
        println!(
            "{class:<22} sent {:>2}  lost {:>2}",
            c.sent,
            c.lost + c.lost_transient
        );
    }
}
