//! The producer benchmark's three classes, with the values every run
//! encodes (docs/derive.md, BENCHMARKS.md):
//!
//! - [`Small`]: three integers;
//! - [`Nested`]: a nested struct holding a fixed string and an `Option`;
//! - [`PmbusAlert`]: upstream Hubris's real `hw.pwr.pmbus.alert` class,
//!   declared as upstream declares it.
//!
//! One `#[inline(never)]` function per class encodes it into a caller's
//! buffer: the entry points callgrind counts on the host and the Cortex-M
//! probe links one at a time to size each class's `.text`.

#![no_std]

use core::hint::black_box;

use ereport_sdk::{Ereport, EreportField, FixedStr};

/// A small class: three integers.
#[derive(Ereport, Clone, Copy)]
#[ereport(class = "hw.test.small", version = 0)]
pub struct Small {
    /// A 32-bit reading.
    pub a: u32,
    /// A 16-bit one.
    pub b: u16,
    /// An 8-bit one.
    pub c: u8,
}

/// The nested part of [`Nested`].
#[derive(EreportField, Clone, Copy)]
pub struct Sensor {
    /// Reference designator.
    pub refdes: FixedStr<'static, 8>,
    /// The threshold crossed, if known.
    pub threshold: Option<u16>,
}

/// A class with a nested struct holding a fixed string and an `Option`.
#[derive(Ereport, Clone, Copy)]
#[ereport(class = "hw.temp.thresh", version = 0)]
pub struct Nested {
    /// The sensor.
    pub sensor: Sensor,
    /// The reading.
    pub reading: u16,
}

/// PMBus status registers, as upstream's shared ereport library declares
/// them.
#[derive(EreportField, Clone, Copy, Default)]
pub struct PmbusStatus {
    /// `STATUS_WORD`.
    pub word: Option<u16>,
    /// `STATUS_INPUT`.
    pub input: Option<u8>,
    /// `STATUS_IOUT`.
    pub iout: Option<u8>,
    /// `STATUS_VOUT`.
    pub vout: Option<u8>,
    /// `STATUS_TEMPERATURE`.
    pub temp: Option<u8>,
    /// `STATUS_CML`.
    pub cml: Option<u8>,
    /// `STATUS_MFR_SPECIFIC`.
    pub mfr: Option<u8>,
}

/// Upstream's `hw.pwr.pmbus.alert`, with its generic rail and refdes
/// capacity.
#[derive(Ereport, Clone, Copy)]
#[ereport(class = "hw.pwr.pmbus.alert", version = 0)]
pub struct PmbusAlert<R: EreportField, const REFDES_LEN: usize> {
    /// The regulator's reference designator.
    pub refdes: FixedStr<'static, REFDES_LEN>,
    /// The rail.
    pub rail: R,
    /// Uptime at the alert, in milliseconds.
    pub time: u64,
    /// `POWER_GOOD`, if read.
    pub pwr_good: Option<bool>,
    /// The status registers read.
    pub pmbus_status: PmbusStatus,
}

/// The benchmark's PMBus alert: a named rail, a six-byte refdes.
pub type Alert = PmbusAlert<FixedStr<'static, 16>, 6>;

/// The [`Small`] every run encodes.
pub const SMALL: Small = Small {
    a: 70_000,
    b: 300,
    c: 7,
};

/// The [`Nested`] every run encodes.
pub const NESTED: Nested = Nested {
    sensor: Sensor {
        refdes: FixedStr::from_str("U431"),
        threshold: Some(95),
    },
    reading: 101,
};

/// The [`PmbusAlert`] every run encodes.
pub const ALERT: Alert = PmbusAlert {
    refdes: FixedStr::from_str("U431"),
    rail: FixedStr::from_str("VDD_VCORE"),
    time: 123_456_789,
    pwr_good: Some(false),
    pmbus_status: PmbusStatus {
        word: Some(0x0840),
        input: None,
        iout: None,
        vout: Some(0x80),
        temp: None,
        cml: None,
        mfr: Some(1),
    },
};

/// Encodes `v` into `buf` (hidden from the optimizer, so nothing is
/// folded), returning the length or 0 if it did not fit.
#[inline(always)]
fn encode<E: Ereport>(v: &E, buf: &mut [u8]) -> usize {
    black_box(v).encode_to_slice(black_box(buf)).unwrap_or(0)
}

/// Encodes [`SMALL`].
#[inline(never)]
pub fn encode_small(buf: &mut [u8]) -> usize {
    encode(&SMALL, buf)
}

/// Encodes [`NESTED`].
#[inline(never)]
pub fn encode_nested(buf: &mut [u8]) -> usize {
    encode(&NESTED, buf)
}

/// Encodes [`ALERT`].
#[inline(never)]
pub fn encode_pmbus_alert(buf: &mut [u8]) -> usize {
    encode(&ALERT, buf)
}
