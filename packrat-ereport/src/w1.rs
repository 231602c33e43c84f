//! The reference workload W1 ("mixed SP") of `shared/bench/W1.md`, as data
//! and an encoder. One definition for every test, benchmark and target run,
//! so their figures compare. `no_std`, no allocation.

use ereport_sdk::{RestartId, TaskId};
use minicbor::Encoder;

use crate::store::{Store, TaskTable};

/// Task names by index (index 0 is the supervisor, unused by W1).
pub enum W1Tasks {}

impl TaskTable for W1Tasks {
    const NAMES: &'static [&'static str] = &[
        "jefe",
        "thermal",
        "power",
        "sequencer",
        "ereportulator",
        "packrat",
    ];
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

/// The longest W1 report: `test.ereportulator.fake` with 40 pad bytes and a
/// one-byte `seq` (i < 24) is 81 bytes; `seq` >= 24 adds one.
pub const MAX_REPORT_LEN: usize = 82;

/// The store type W1 measures.
pub type W1Store = Store<STORE_BYTES, W1Tasks>;

/// Who sends report `i`.
pub const fn sender(i: usize) -> TaskId {
    PRODUCERS[i % 4]
}

/// Uptime of report `i`, in milliseconds.
pub const fn uptime(i: usize) -> u64 {
    1_000_000 + 7 * i as u64
}

/// Encodes report `i` into `buf`, returning its length:
/// `{"k": class, "v": 0, "seq": i, "pad": bytes}`.
pub fn encode_report(i: usize, buf: &mut [u8; MAX_REPORT_LEN]) -> usize {
    let mut pad = [0u8; 40];
    let pad = pad.get_mut(..PADS[i % 4]).unwrap_or(&mut []);
    pad.fill(i as u8);
    let mut cursor = minicbor::encode::write::Cursor::new(&mut buf[..]);
    let mut e = Encoder::new(&mut cursor);
    // Cannot fail: MAX_REPORT_LEN is the longest report (checked by the
    // tests, which compare every report with its length by hand).
    let _ = e
        .map(4)
        .and_then(|e| e.str("k"))
        .and_then(|e| e.str(CLASSES[i % 4]))
        .and_then(|e| e.str("v"))
        .and_then(|e| e.u8(0))
        .and_then(|e| e.str("seq"))
        .and_then(|e| e.u64(i as u64))
        .and_then(|e| e.str("pad"))
        .and_then(|e| e.bytes(pad));
    cursor.position()
}

/// A fresh W1 store: initialised at uptime 0 and given the restart id.
pub fn new_store() -> W1Store {
    let mut s = W1Store::new();
    s.init(PACKRAT, 0);
    let _ = s.set_restart_id(RESTART_ID);
    s
}
