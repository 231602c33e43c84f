//! The ereport classes the simulated tasks report, declared with the SDK.

use ereport_sdk::{Ereport, EreportField};
use heapless::{String, Vec};

/// A temperature sensor passed its limit.
#[derive(Ereport, Clone, Debug)]
#[ereport(class = "hw.temp.overtemp", version = 0)]
pub struct Overtemp {
    /// Sensor index.
    pub sensor: u8,
    /// Reading, in millidegrees Celsius.
    pub millidegrees: i32,
    /// The limit it passed.
    pub limit_millidegrees: i32,
}

/// A PMBus reading taken with an alert.
#[derive(EreportField, Clone, Debug)]
pub struct Reading {
    /// Output voltage, in millivolts.
    pub vout_mv: u16,
    /// Output current, in milliamps.
    pub iout_ma: u32,
}

/// A PMBus device raised its alert line. An alert that keeps firing is the
/// storm seen in the field (25,000 of them from one board), so the class is
/// rate-limited: 10 a second, 20 at once.
#[derive(Ereport, Clone, Debug)]
#[ereport(
    class = "hw.pwr.pmbus.alert",
    version = 0,
    rate_limit(per_second = 10, burst = 20)
)]
pub struct PmbusAlert {
    /// The rail.
    pub rail: String<16>,
    /// `STATUS_WORD`.
    pub status_word: u16,
    /// The reading, if the device answered.
    #[ereport(flatten)]
    pub reading: Option<Reading>,
}

/// Which sequencing step failed.
#[derive(EreportField, Clone, Copy, Debug)]
pub enum SeqStep {
    /// Enabling rails.
    #[ereport(rename = "power_up")]
    PowerUp,
    /// Waiting for power-good.
    #[ereport(rename = "pg_wait")]
    PowerGoodWait,
    /// Releasing resets.
    #[ereport(rename = "reset_release")]
    ResetRelease,
}

/// The power sequencer gave up.
#[derive(Ereport, Clone, Debug)]
#[ereport(class = "hw.seq.fail", version = 1)]
pub struct SeqFail {
    /// The step.
    pub step: SeqStep,
    /// Rails that were not good.
    pub rails: Vec<u8, 4>,
}

/// A made-up report from the ereportulator, for load.
#[derive(Ereport, Clone, Debug)]
#[ereport(class = "test.ereportulator.fake", version = 0)]
pub struct FakeReport {
    /// Sequence number.
    pub seq: u64,
    /// Padding.
    pub pad: Vec<u8, 40>,
}

ereport_sdk::reporter! {
    /// The thermal task's reporter.
    pub struct ThermalReporter { Overtemp }
}

ereport_sdk::reporter! {
    /// The power task's reporter.
    pub struct PowerReporter { PmbusAlert }
}

ereport_sdk::reporter! {
    /// The sequencer's reporter.
    pub struct SequencerReporter { SeqFail }
}

ereport_sdk::reporter! {
    /// The ereportulator's reporter.
    pub struct EreportulatorReporter { FakeReport }
}
