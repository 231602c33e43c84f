//! What the simulated SP's tasks do, in one place for both SPs that run
//! them: `sp-sim` (each task a thread on a host) and the emulated SP
//! (`examples/cortex-m`, one Cortex-M7 image under QEMU).
//!
//! - [`SimTasks`]: the image's task table (names and indices);
//! - [`classes`]: the ereport classes the producers report, and their
//!   reporters;
//! - [`Producer`]: one producer task's reporter and what it reports next
//!   ([`Producer::report`]), from a seeded [`Rng`], so a seed repeats a run;
//! - [`next_fault`]: the faults injected on a schedule;
//! - [`default_identity`] and [`restart_id_from_seed`].
//!
//! `no_std` and without an allocator: the same code builds for the host
//! and for `thumbv7em-none-eabihf`.

#![no_std]
#![forbid(unsafe_code)]

pub mod classes;

use ereport_sdk::{
    Caboose, DeliverEreport, DeliverError, Ena, IdString, Identity, RestartId, TaskId,
};
use packrat_ereport::TaskTable;
use packrat_ereport::faults::{FaultInfo, FaultSource, ReplyFaultReason};

use classes::{
    EreportulatorReporter, FakeReport, Overtemp, PmbusAlert, PowerReporter, Reading, SeqFail,
    SeqStep, SequencerReporter, ThermalReporter,
};

/// The simulated image's tasks.
pub enum SimTasks {}

impl TaskTable for SimTasks {
    const NAMES: &'static [&'static str] = &[
        "jefe",
        "thermal",
        "power",
        "sequencer",
        "ereportulator",
        "packrat",
        "snitch",
        "net",
    ];
}

/// Number of tasks in the simulated image.
pub const SIM_TASKS: usize = 8;
/// Packrat's task id.
pub const PACKRAT: TaskId = TaskId::new(5, 0);
/// Indices of the producer tasks.
pub const PRODUCERS: [u16; 4] = [1, 2, 3, 4];
/// The generation each task starts at (W1's generations for the
/// producers, zero elsewhere).
pub const START_GENERATIONS: [u8; SIM_TASKS] = [0, 0, 1, 0, 3, 0, 0, 0];

/// A small deterministic RNG (SplitMix64), so runs with a seed repeat.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Seeded.
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A non-zero restart id made from `seed` and `boot` (which boot of the SP
/// this is): the same pair gives the same id, and two boots of one seed
/// differ.
pub fn restart_id_from_seed(seed: u64, boot: u32) -> RestartId {
    let mut rng = Rng::new(seed ^ (u64::from(boot) << 32 | 0x5eed));
    let hi = u128::from(rng.next_u64());
    let lo = u128::from(rng.next_u64());
    RestartId((hi << 64 | lo).max(1))
}

/// The identity (VPD) the simulated SPs report by default.
pub fn default_identity() -> Identity {
    fn s<const N: usize>(v: &str) -> IdString<N> {
        v.try_into().unwrap_or_default()
    }
    Identity {
        part_number: s("913-0000019"),
        serial_number: s("SIM00000001"),
        revision: 6,
        caboose: Some(Caboose {
            board: s("sim-gimlet"),
            version: s("1.0.0"),
            commit: s("0123456789abcdef"),
        }),
    }
}

/// One report a producer makes.
#[derive(Clone, Debug)]
pub enum SimReport {
    /// `thermal`: a sensor over its limit.
    Overtemp(Overtemp),
    /// `power`: a PMBus alert (rate-limited).
    PmbusAlert(PmbusAlert),
    /// `sequencer`: a sequencing failure.
    SeqFail(SeqFail),
    /// `ereportulator`: a made-up report for load.
    Fake(FakeReport),
}

/// The PMBus alert a storm repeats.
pub fn storm_alert() -> PmbusAlert {
    PmbusAlert {
        rail: "VDD_VCORE".try_into().unwrap_or_default(),
        status_word: 0x0840,
        reading: None,
    }
}

/// One producer task: its index, its reporters and its sequence count.
/// Each task reports one class; the reporter of each class is kept so a
/// producer's index alone decides what it sends.
pub struct Producer {
    index: u16,
    seq: u64,
    thermal: ThermalReporter,
    power: PowerReporter,
    sequencer: SequencerReporter,
    fake: EreportulatorReporter,
}

impl Producer {
    /// The producer at task `index` (one of [`PRODUCERS`]; any other index
    /// makes the ereportulator's reports).
    pub const fn new(index: u16) -> Self {
        Self {
            index,
            seq: 0,
            thermal: ThermalReporter::new(),
            power: PowerReporter::new(),
            sequencer: SequencerReporter::new(),
            fake: EreportulatorReporter::new(),
        }
    }

    /// The task's index.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// Turns the power task's rate limit off (`false`) or on.
    pub fn enforce_rate_limits(&mut self, on: bool) {
        self.power.enforce_rate_limits(on);
    }

    /// The next report this task makes, from `rng`.
    pub fn report(&mut self, rng: &mut Rng) -> SimReport {
        self.seq = self.seq.wrapping_add(1);
        match self.index {
            1 => SimReport::Overtemp(Overtemp {
                sensor: rng.below(8) as u8,
                millidegrees: 85_000 + rng.below(20_000) as i32,
                limit_millidegrees: 85_000,
            }),
            2 => {
                let rails = ["VDD_VCORE", "VDD_MEM_ABCD", "V3P3_SP", "V12_SYS"];
                let reading = (rng.below(2) == 0).then(|| Reading {
                    vout_mv: 800 + rng.below(400) as u16,
                    iout_ma: rng.below(200_000) as u32,
                });
                let rail = rails
                    .get(rng.below(4) as usize)
                    .copied()
                    .unwrap_or("V12_SYS");
                SimReport::PmbusAlert(PmbusAlert {
                    rail: rail.try_into().unwrap_or_default(),
                    status_word: 1 << rng.below(16),
                    reading,
                })
            }
            3 => {
                let steps = [
                    SeqStep::PowerUp,
                    SeqStep::PowerGoodWait,
                    SeqStep::ResetRelease,
                ];
                let mut rails = heapless::Vec::new();
                for _ in 0..=rng.below(3) {
                    let _ = rails.push(rng.below(32) as u8);
                }
                SimReport::SeqFail(SeqFail {
                    step: steps
                        .get(rng.below(3) as usize)
                        .copied()
                        .unwrap_or(SeqStep::PowerUp),
                    rails,
                })
            }
            _ => {
                let mut pad = heapless::Vec::new();
                for _ in 0..rng.below(41) {
                    let _ = pad.push(self.seq as u8);
                }
                SimReport::Fake(FakeReport { seq: self.seq, pad })
            }
        }
    }

    /// Delivers `report` through its class's reporter at uptime `now_ms`
    /// (the power task's rate limit reads it).
    pub fn deliver<P: DeliverEreport + ?Sized>(
        &mut self,
        packrat: &P,
        report: &SimReport,
        now_ms: u64,
    ) -> Result<Ena, DeliverError> {
        match report {
            SimReport::Overtemp(r) => self.thermal.deliver(packrat, r),
            SimReport::PmbusAlert(r) => self.power.deliver_at(packrat, r, now_ms),
            SimReport::SeqFail(r) => self.sequencer.deliver(packrat, r),
            SimReport::Fake(r) => self.fake.deliver(packrat, r),
        }
    }

    /// Delivers the suppression records of a storm that stopped (see
    /// `flush_suppressed` in the SDK); call it now and then.
    pub fn flush_suppressed<P: DeliverEreport + ?Sized>(
        &mut self,
        packrat: &P,
        now_ms: u64,
    ) -> usize {
        self.power.flush_suppressed(packrat, now_ms)
    }
}

/// A panic message injected faults carry.
pub const PANIC_MESSAGE: &[u8] = b"sensor read timed out: i2c bus locked";

/// The next fault to inject: which producer, the fault, and its panic
/// message if it is a panic.
pub fn next_fault(rng: &mut Rng) -> (u16, FaultInfo, Option<&'static [u8]>) {
    let index = PRODUCERS.get(rng.below(4) as usize).copied().unwrap_or(1);
    let (info, message) = match rng.below(5) {
        0 => (FaultInfo::Panic, Some(PANIC_MESSAGE)),
        1 => (
            FaultInfo::MemoryAccess {
                address: Some(0x2000_0000 + rng.below(0x1000) as u32),
                source: FaultSource::User,
            },
            None,
        ),
        2 => (FaultInfo::DivideByZero, None),
        3 => (
            FaultInfo::FromServer(TaskId::new(7, 0), ReplyFaultReason::BadMessageContents),
            None,
        ),
        _ => (
            FaultInfo::StackOverflow {
                address: 0x2000_8000,
            },
            None,
        ),
    };
    (index, info, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_ids_differ_by_boot_and_repeat_by_seed() {
        assert_eq!(restart_id_from_seed(7, 0), restart_id_from_seed(7, 0));
        assert_ne!(restart_id_from_seed(7, 0), restart_id_from_seed(7, 1));
        assert_ne!(restart_id_from_seed(7, 0), restart_id_from_seed(8, 0));
        assert_ne!(restart_id_from_seed(0, 0).0, 0);
    }

    #[test]
    fn each_producer_reports_its_own_class() {
        let mut rng = Rng::new(1);
        let kinds: [fn(&SimReport) -> bool; 4] = [
            |r| matches!(r, SimReport::Overtemp(_)),
            |r| matches!(r, SimReport::PmbusAlert(_)),
            |r| matches!(r, SimReport::SeqFail(_)),
            |r| matches!(r, SimReport::Fake(_)),
        ];
        for (index, is) in PRODUCERS.iter().zip(kinds) {
            let mut p = Producer::new(*index);
            for _ in 0..50 {
                assert!(is(&p.report(&mut rng)), "task {index}");
            }
        }
    }
}
