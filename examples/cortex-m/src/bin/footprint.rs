//! Footprint probe: the firmware crates linked as a real SP would link them.
//!
//! - packrat: a `Store<4096>` in a `static`, exposing deliver, flush and
//!   read-ereports over leases whose accesses are out-of-line calls;
//! - a producer task delivering three derived classes through a reporter;
//! - the snitch loop over a stand-in net and packrat's client trait.
//!
//! Each packrat entry point is behind a feature (`deliver`, `flush`,
//! `read`); with the feature off, the entry point is a stub, so building with
//! and without it gives its size by difference. `footprint.sh` does that.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::cell::RefCell;
use core::hint::black_box;

use cortex_m::interrupt::Mutex;
use cortex_m_rt::entry;
use ereport_cortex_m::{KernelReadLease, KernelWriteLease, exit_success};
use ereport_sdk::wire::REQUEST_LEN;
use ereport_sdk::{
    DeliverEreport, DeliverError, Ena, Ereport, EreportField, ReadEreports, ReadError, RestartId,
    TaskId,
};
use packrat_ereport::{IngestError, Store, TaskTable};
use snitch::{Net, RecvError, SendError, Snitch};

enum Tasks {}

impl TaskTable for Tasks {
    const NAMES: &'static [&'static str] = &[
        "jefe",
        "thermal",
        "power",
        "sequencer",
        "ereportulator",
        "packrat",
    ];
}

/// Packrat's store: all zeroes, so it lands in `.bss`.
static STORE: Mutex<RefCell<Store<4096, Tasks>>> = Mutex::new(RefCell::new(Store::new()));

fn with_store<R>(f: impl FnOnce(&mut Store<4096, Tasks>) -> R) -> R {
    cortex_m::interrupt::free(|cs| f(&mut STORE.borrow(cs).borrow_mut()))
}

/// Packrat's `deliver_ereport` server operation.
#[inline(never)]
fn packrat_deliver(
    sender: TaskId,
    uptime: u64,
    body: &KernelReadLease<'_>,
) -> Result<Ena, IngestError> {
    #[cfg(feature = "deliver")]
    return with_store(|s| s.deliver(sender, uptime, body));
    #[cfg(not(feature = "deliver"))]
    {
        black_box((sender, uptime, body.0));
        Err(IngestError::Full)
    }
}

/// Packrat freeing committed records.
#[inline(never)]
fn packrat_flush(through: Ena) -> usize {
    #[cfg(feature = "flush")]
    return with_store(|s| s.flush_thru(through));
    #[cfg(not(feature = "flush"))]
    black_box(through.0 as usize)
}

/// Packrat's `read_ereports` server operation.
#[inline(never)]
fn packrat_read(
    request_id: u8,
    restart_id: RestartId,
    start: Ena,
    limit: u8,
    committed: Ena,
    lease: KernelWriteLease<'_>,
) -> Result<usize, ReadError> {
    #[cfg(feature = "read")]
    return with_store(|s| {
        s.read_ereports(request_id, restart_id, start, limit, committed, lease, None)
    });
    #[cfg(not(feature = "read"))]
    {
        black_box((
            request_id,
            restart_id.0,
            start.0,
            limit,
            committed.0,
            lease.0,
        ));
        Err(ReadError::NoRestartId)
    }
}

// ---- a producer task --------------------------------------------------

#[derive(Ereport)]
#[ereport(class = "hw.temp.overtemp", version = 0)]
struct Overtemp {
    sensor: u8,
    millidegrees: i32,
}

#[derive(EreportField)]
struct Reading {
    vout_mv: u16,
    iout_ma: u32,
}

#[derive(Ereport)]
#[ereport(class = "hw.pwr.pmbus.alert", version = 0)]
struct PmbusAlert {
    rail: heapless::String<12>,
    status_word: u16,
    #[ereport(flatten)]
    reading: Option<Reading>,
}

#[derive(EreportField, Clone, Copy)]
enum Step {
    PowerUp,
    ResetRelease,
}

#[derive(Ereport)]
#[ereport(class = "hw.seq.fail", version = 0)]
struct SeqFail {
    step: Step,
    rails: [u8; 2],
}

ereport_sdk::reporter! {
    struct ProducerReporter { Overtemp, PmbusAlert, SeqFail }
}

/// The producer's packrat client: lends its buffer and "calls" packrat.
struct PackratClient;

impl DeliverEreport for PackratClient {
    fn deliver_ereport(&self, body: &[u8]) -> Result<Ena, DeliverError> {
        Ok(packrat_deliver(
            TaskId::new(2, 0),
            black_box(1000),
            &KernelReadLease(body),
        )?)
    }
}

// ---- the snitch ---------------------------------------------------------

/// A stand-in net with one request queued at a time.
struct StandInNet {
    request: [u8; REQUEST_LEN],
    queued: bool,
}

impl Net for StandInNet {
    type Addr = u32;
    fn recv(&mut self, buf: &mut [u8]) -> Result<(usize, u32), RecvError> {
        if !core::mem::take(&mut self.queued) {
            return Err(RecvError::QueueEmpty);
        }
        let n = REQUEST_LEN.min(buf.len());
        buf.get_mut(..n)
            .ok_or(RecvError::ServerRestarted)?
            .copy_from_slice(self.request.get(..n).unwrap_or(&[]));
        Ok((REQUEST_LEN, 1))
    }
    fn send(&mut self, to: &u32, data: &[u8]) -> Result<(), SendError> {
        black_box((to, data));
        Ok(())
    }
    fn wait(&mut self) {
        self.queued = true;
    }
}

/// Packrat's client as the snitch holds it: lends the transmit buffer.
struct SnitchPackrat;

impl ReadEreports for SnitchPackrat {
    fn read_ereports(
        &self,
        request_id: u8,
        restart_id: RestartId,
        start_ena: Ena,
        limit: u8,
        committed_ena: Ena,
        out: &mut [u8],
    ) -> Result<usize, ReadError> {
        packrat_read(
            request_id,
            restart_id,
            start_ena,
            limit,
            committed_ena,
            KernelWriteLease(out),
        )
    }
}

#[entry]
fn main() -> ! {
    with_store(|s| {
        s.init(TaskId::new(5, 0), 0);
        let _ = s.set_restart_id(RestartId(black_box(0x1234)));
    });
    let mut reporter = ProducerReporter::new();
    for i in 0..black_box(8u8) {
        let _ = reporter.deliver(
            &PackratClient,
            &Overtemp {
                sensor: i,
                millidegrees: 90_000,
            },
        );
        let _ = reporter.deliver(
            &PackratClient,
            &PmbusAlert {
                rail: heapless::String::try_from("VDD_VCORE").unwrap_or_default(),
                status_word: 0x840,
                reading: (i % 2 == 0).then_some(Reading {
                    vout_mv: 900,
                    iout_ma: 12_000,
                }),
            },
        );
        let _ = reporter.deliver(
            &PackratClient,
            &SeqFail {
                step: if i % 2 == 0 {
                    Step::PowerUp
                } else {
                    Step::ResetRelease
                },
                rails: [i, 7],
            },
        );
    }
    let request =
        ereport_sdk::wire::Request::new(RestartId(0x1234), Ena(1), Ena::NONE, 255, 1).to_bytes();
    let mut snitch = Snitch::new(
        StandInNet {
            request,
            queued: true,
        },
        SnitchPackrat,
    );
    for _ in 0..black_box(4) {
        snitch.poll();
    }
    black_box(packrat_flush(Ena(black_box(5))));
    black_box(snitch.counters());
    exit_success()
}
