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
    DeliverEreport, DeliverError, Ena, Ereport, EreportField, Identity, ReadEreports, ReadError,
    ReadRequest, RestartId, TaskId,
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

/// Packrat's state: all zeroes, so it lands in `.bss`.
static PACKRAT: Mutex<RefCell<Packrat>> = Mutex::new(RefCell::new(Packrat {
    store: Store::new(),
    identity: Identity::empty(),
    identity_known: false,
}));

// The entry points take the store as a Hubris server operation gets its
// state: `&mut` from the dispatch loop. The borrow happens in the callers,
// which every variant has, so the differences measure packrat alone.

/// Packrat's `deliver_ereport` server operation.
#[inline(never)]
fn packrat_deliver(
    store: &mut Packrat,
    sender: TaskId,
    uptime: u64,
    body: &KernelReadLease<'_>,
) -> Result<Ena, IngestError> {
    #[cfg(feature = "deliver")]
    return store.store.deliver(sender, uptime, body);
    #[cfg(not(feature = "deliver"))]
    {
        black_box((store, sender, uptime, body.0));
        Err(IngestError::Full)
    }
}

/// Packrat freeing committed records.
#[inline(never)]
fn packrat_flush(store: &mut Packrat, through: Ena) -> usize {
    #[cfg(feature = "flush")]
    return store.store.flush_thru(through);
    #[cfg(not(feature = "flush"))]
    black_box((store, through.0 as usize)).1
}

/// Packrat's `read_ereports` server operation. The identity comes from
/// packrat's state, opaque to the optimizer, so the metadata encoder is
/// linked as on a real SP (where the identity arrives at run time).
#[inline(never)]
fn packrat_read(
    packrat: &mut Packrat,
    request: &ReadRequest,
    lease: KernelWriteLease<'_>,
) -> Result<usize, ReadError> {
    #[cfg(feature = "read")]
    return packrat.store.read_ereports(
        request,
        lease,
        packrat.identity_known.then_some(&packrat.identity),
    );
    #[cfg(not(feature = "read"))]
    {
        black_box((packrat, request, lease.0));
        Err(ReadError::NoRestartId)
    }
}

/// Packrat's state. All zeroes (no `Option<Identity>`, whose `None` is not
/// zero), so it lands in `.bss`.
struct Packrat {
    store: Store<4096, Tasks>,
    // Read only by the read-ereports entry point.
    #[cfg_attr(not(feature = "read"), allow(dead_code))]
    identity: Identity,
    identity_known: bool,
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

// With the `storm` feature the alert is rate-limited (storm control in the
// producer) and packrat limits each task to half the store.
#[derive(Ereport)]
#[cfg_attr(
    feature = "storm",
    ereport(
        class = "hw.pwr.pmbus.alert",
        version = 0,
        rate_limit(per_second = 10, burst = 20)
    )
)]
#[cfg_attr(
    not(feature = "storm"),
    ereport(class = "hw.pwr.pmbus.alert", version = 0)
)]
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
struct PackratClient<'a>(&'a RefCell<Packrat>);

impl DeliverEreport for PackratClient<'_> {
    fn deliver_ereport(&self, body: &[u8]) -> Result<Ena, DeliverError> {
        let mut packrat = self
            .0
            .try_borrow_mut()
            .map_err(|_| DeliverError::Unavailable)?;
        let uptime = black_box(1000);
        Ok(packrat_deliver(
            &mut packrat,
            TaskId::new(2, 0),
            uptime,
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
struct SnitchPackrat<'a>(&'a RefCell<Packrat>);

impl ReadEreports for SnitchPackrat<'_> {
    fn read_ereports(&self, req: &ReadRequest, out: &mut [u8]) -> Result<usize, ReadError> {
        let mut packrat = self
            .0
            .try_borrow_mut()
            .map_err(|_| ReadError::Unavailable)?;
        packrat_read(&mut packrat, req, KernelWriteLease(out))
    }
}

#[entry]
fn main() -> ! {
    // One critical section for the whole run: the tasks below stand in for
    // IPC, and packrat is borrowed per "call", as its dispatch loop would.
    cortex_m::interrupt::free(|cs| run(PACKRAT.borrow(cs)))
}

fn run(packrat: &RefCell<Packrat>) -> ! {
    // The kernel-call stand-ins are userlib's, in every task: link them in
    // every variant so the differences measure packrat alone.
    black_box(ereport_cortex_m::sys_borrow_read as fn(&[u8], usize, &mut [u8]) -> _);
    black_box(ereport_cortex_m::sys_borrow_write as fn(&mut [u8], usize, &[u8]) -> _);
    if let Ok(mut p) = packrat.try_borrow_mut() {
        p.store.init(TaskId::new(5, 0), 0);
        p.identity_known = black_box(false);
        let _ = p.store.set_restart_id(RestartId(black_box(0x1234)));
        #[cfg(feature = "storm")]
        p.store.set_task_share(black_box(2048));
    }
    let client = PackratClient(packrat);
    let mut reporter = ProducerReporter::new();
    for i in 0..black_box(8u8) {
        let _ = reporter.deliver(
            &client,
            &Overtemp {
                sensor: i,
                millidegrees: 90_000,
            },
        );
        let reading = (i % 2 == 0).then_some(Reading {
            vout_mv: 900,
            iout_ma: 12_000,
        });
        let rail = heapless::String::try_from("VDD_VCORE").unwrap_or_default();
        let alert = PmbusAlert {
            rail,
            status_word: 0x840,
            reading,
        };
        #[cfg(feature = "storm")]
        {
            let now = black_box(u64::from(i) * 10);
            let _ = reporter.deliver_at(&client, &alert, now);
            let _ = reporter.flush_suppressed(&client, now);
        }
        #[cfg(not(feature = "storm"))]
        let _ = reporter.deliver(&client, &alert);
        let step = if i % 2 == 0 {
            Step::PowerUp
        } else {
            Step::ResetRelease
        };
        let _ = reporter.deliver(
            &client,
            &SeqFail {
                step,
                rails: [i, 7],
            },
        );
    }
    let request =
        ereport_sdk::wire::Request::new(RestartId(0x1234), Ena(1), Ena::NONE, 255, 1).to_bytes();
    let net = StandInNet {
        request,
        queued: true,
    };
    let mut snitch = Snitch::new(net, SnitchPackrat(packrat));
    for _ in 0..black_box(4) {
        snitch.poll();
    }
    if let Ok(mut p) = packrat.try_borrow_mut() {
        black_box(packrat_flush(&mut p, Ena(black_box(5))));
    }
    black_box(snitch.counters());
    exit_success()
}
