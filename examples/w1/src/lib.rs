//! The reference workload W1 ("mixed SP", described in `docs/w1.md`), as
//! data and an encoder. One definition for every test, benchmark and target
//! run, so their figures compare. `no_std`, no allocation: the emulated
//! Cortex-M7 runs the same code.
//!
//! This crate is not part of any firmware crate's API; it exists for tests,
//! `examples/w1-bench.rs` (the W1 figures in BENCHMARKS.md) and the Cortex-M
//! programs.

#![no_std]
#![forbid(unsafe_code)]

use ereport_sdk::{Bytes, Ena, Ereport, ReadError, ReadRequest, RestartId, TaskId};
use packrat_ereport::{IngestError, Store, TaskTable};

/// W1's task names by index (index 0 is the supervisor, unused by W1).
pub const W1_TASK_NAMES: [&str; 6] = [
    "jefe",
    "thermal",
    "power",
    "sequencer",
    "ereportulator",
    "packrat",
];

/// W1's task table.
pub enum W1Tasks {}

impl TaskTable for W1Tasks {
    const NAMES: &'static [&'static str] = &W1_TASK_NAMES;
}

/// The producing tasks, in report order: `tasks[i % 4]`.
pub const PRODUCERS: [TaskId; 4] = [
    TaskId::new(1, 0),
    TaskId::new(2, 1),
    TaskId::new(3, 0),
    TaskId::new(4, 3),
];

/// Packrat itself, the sender of loss records.
pub const PACKRAT: TaskId = TaskId::new(5, 0);

/// Classes by producer.
pub const CLASSES: [&str; 4] = [
    "hw.temp.overtemp",
    "hw.pwr.pmbus.alert",
    "hw.seq.fail",
    "test.ereportulator.fake",
];

/// Pad lengths by producer.
pub const PADS: [usize; 4] = [4, 16, 28, 40];

/// Reports inserted by the cycle.
pub const REPORTS: usize = 40;

/// Store capacity in bytes.
pub const STORE_BYTES: usize = 4096;

/// Flush response lease length.
pub const LEASE_BYTES: usize = 1024;

/// The restart id W1 uses (requests carry the same).
pub const RESTART_ID: RestartId = RestartId(0x5eed_0000_0000_0000_0000_0000_0000_0001);

/// Report `i` of producer `i % 4`: `{"k": class, "v": 0, "seq": i, "pad":
/// bytes}`, as a derived ereport class. The four classes differ only in
/// their class string.
macro_rules! w1_class {
    ($name:ident, $class:literal) => {
        #[doc = concat!("W1's `", $class, "` report.")]
        #[derive(Ereport, Clone, Debug)]
        #[ereport(class = $class, version = 0)]
        pub struct $name {
            /// The report's index in the workload.
            pub seq: u64,
            /// `[4, 16, 28, 40][i % 4]` bytes, each `i as u8`.
            pub pad: Bytes<40>,
        }
    };
}

w1_class!(Overtemp, "hw.temp.overtemp");
w1_class!(PmbusAlert, "hw.pwr.pmbus.alert");
w1_class!(SeqFail, "hw.seq.fail");
w1_class!(FakeReport, "test.ereportulator.fake");

/// A buffer long enough for any W1 report: the largest derived class.
pub const MAX_REPORT_LEN: usize = {
    let lens = [
        <Overtemp as Ereport>::MAX_LEN,
        <PmbusAlert as Ereport>::MAX_LEN,
        <SeqFail as Ereport>::MAX_LEN,
        <FakeReport as Ereport>::MAX_LEN,
    ];
    let mut max = 0;
    let mut i = 0;
    while i < lens.len() {
        if lens[i] > max {
            max = lens[i];
        }
        i += 1;
    }
    max
};

/// The W1 store's type.
pub type W1Store = Store<STORE_BYTES, W1Tasks>;

/// Who sends report `i`.
pub const fn sender(i: usize) -> TaskId {
    PRODUCERS[i % 4]
}

/// Uptime of report `i`, in milliseconds.
pub const fn uptime(i: usize) -> u64 {
    1_000_000 + 7 * i as u64
}

/// Encodes report `i` into `buf` with the derived producer classes,
/// returning its length.
pub fn encode_report(i: usize, buf: &mut [u8; MAX_REPORT_LEN]) -> usize {
    let mut pad = [0u8; 40];
    let pad = pad.get_mut(..PADS[i % 4]).unwrap_or(&mut []);
    pad.fill(i as u8);
    let pad = Bytes::from_slice(pad).unwrap_or_default();
    let seq = i as u64;
    // Cannot fail: the buffer is the largest class's maximum.
    let r = match i % 4 {
        0 => Overtemp { seq, pad }.encode_to_slice(buf),
        1 => PmbusAlert { seq, pad }.encode_to_slice(buf),
        2 => SeqFail { seq, pad }.encode_to_slice(buf),
        _ => FakeReport { seq, pad }.encode_to_slice(buf),
    };
    r.unwrap_or(0)
}

/// A class whose fields have the target's pointer width, to show the static
/// maximum is computed for the target (52 bytes on the 32-bit SP, 60 on a
/// 64-bit host).
#[derive(Ereport, Clone, Debug)]
#[ereport(class = "test.width", version = 0)]
pub struct WidthProbe {
    /// A count.
    pub count: usize,
    /// A signed difference.
    pub delta: isize,
    /// A sequence number.
    pub seq: u64,
}

impl WidthProbe {
    /// The value with the longest encoding.
    pub const MAXIMAL: WidthProbe = WidthProbe {
        count: usize::MAX,
        delta: isize::MIN,
        seq: u64::MAX,
    };
}

/// Why [`run_cycle`] stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CycleError {
    /// A report was not stored.
    Ingest(IngestError),
    /// A response could not be encoded.
    Read(ReadError),
    /// A response did not parse.
    Malformed,
}

/// Counts from one W1 cycle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cycle {
    /// Non-empty responses.
    pub responses: usize,
    /// Records delivered over all of them.
    pub records: usize,
    /// Records in the first response.
    pub first: usize,
}

/// Entries in a response whose metadata map is empty: parses the array
/// with a no_std decoder, no allocation.
fn count_entries(response: &[u8]) -> Result<usize, CycleError> {
    let body = response
        .get(ereport_sdk::wire::RESPONSE_HEADER_LEN..)
        .ok_or(CycleError::Malformed)?;
    let mut d = minicbor::Decoder::new(body);
    // The metadata map: indefinite, and empty here (restart ids match).
    if d.map().map_err(|_| CycleError::Malformed)?.is_some()
        || d.datatype().map_err(|_| CycleError::Malformed)? != minicbor::data::Type::Break
    {
        return Err(CycleError::Malformed);
    }
    d.skip().map_err(|_| CycleError::Malformed)?;
    if d.position() == body.len() {
        return Ok(0);
    }
    if d.array().map_err(|_| CycleError::Malformed)?.is_some() {
        return Err(CycleError::Malformed);
    }
    let mut n = 0usize;
    while d.datatype().map_err(|_| CycleError::Malformed)? != minicbor::data::Type::Break {
        d.skip().map_err(|_| CycleError::Malformed)?;
        n = n.saturating_add(1);
    }
    Ok(n)
}

/// Delivers the 40 W1 reports (derived producer) to `store`.
pub fn deliver_reports(store: &mut W1Store) -> Result<(), IngestError> {
    let mut buf = [0u8; MAX_REPORT_LEN];
    for i in 0..REPORTS {
        let n = encode_report(i, &mut buf);
        store.deliver(sender(i), uptime(i), buf.get(..n).unwrap_or(&[]))?;
    }
    Ok(())
}

/// The W1 cycle: deliver the 40 reports (derived producer), then read from
/// the first ENA with limit 255 into `lease` and commit through the last ENA
/// returned, until a response has no entries. `on_response` sees every
/// response's bytes (the final, empty one included). The same function runs
/// on the host and on the emulated Cortex-M7, so their bytes can be
/// compared.
pub fn run_cycle(
    store: &mut W1Store,
    lease: &mut [u8],
    mut on_response: impl FnMut(&[u8]),
) -> Result<Cycle, CycleError> {
    deliver_reports(store).map_err(CycleError::Ingest)?;
    let mut cycle = Cycle::default();
    let mut start = Ena(1);
    let mut commit = Ena::NONE;
    for request_id in 1..=u8::MAX {
        let n = store
            .read_ereports(
                &ReadRequest::new(RESTART_ID)
                    .start(start)
                    .commit(commit)
                    .id(request_id),
                &mut *lease,
                None,
            )
            .map_err(CycleError::Read)?;
        let response = lease.get(..n).ok_or(CycleError::Malformed)?;
        on_response(response);
        let entries = count_entries(response)?;
        if entries == 0 {
            break;
        }
        if cycle.responses == 0 {
            cycle.first = entries;
        }
        cycle.responses = cycle.responses.saturating_add(1);
        cycle.records = cycle.records.saturating_add(entries);
        let first = response
            .get(17..25)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
            .ok_or(CycleError::Malformed)?;
        commit = Ena(first.saturating_add(entries as u64).saturating_sub(1));
        start = Ena(commit.0.saturating_add(1));
    }
    Ok(cycle)
}

/// A fresh W1 store: initialised at uptime 0 and given the restart id.
pub fn new_store() -> W1Store {
    let mut s = W1Store::new();
    s.init(PACKRAT, 0);
    let _ = s.set_restart_id(RESTART_ID);
    s
}
