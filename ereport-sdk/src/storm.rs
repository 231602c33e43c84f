//! Storm control on the producer side: a per-class token bucket, and the
//! record that tells the control plane how many reports it suppressed.
//!
//! A class declares a limit (`#[ereport(rate_limit(per_second = 10, burst =
//! 20))]`); its reporter keeps a [`Bucket`] per class in its static (all
//! zeroes: a full bucket), takes the time from the caller (the task's
//! uptime), and refuses over-limit reports before any IPC. What it refused
//! is not lost silently: the next time the class is let through, or when
//! the task calls `flush_suppressed` after a quiet period, the reporter
//! delivers a [`Suppressed`] record (class [`SUPPRESSED_CLASS`]) with the
//! count and the first and last suppressed uptimes.

use minicbor::Encoder;
use minicbor::encode::{Error, Write};

use crate::ereport::{EncodeError, head_len, sat_add, str_len};
use crate::writer::SliceWriter;

/// The class of the record a reporter delivers for suppressed reports. The
/// SDK reserves it: no derived class may use it.
pub const SUPPRESSED_CLASS: &str = "ereport.suppressed";
/// Its version.
pub const SUPPRESSED_VERSION: u32 = 0;

/// A class's rate limit: a token bucket that refills at `per_second`
/// tokens a second up to `burst`; each report takes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained reports per second (at least 1).
    pub per_second: u32,
    /// Reports allowed at once after a quiet period (at least 1).
    pub burst: u32,
}

/// Milli-tokens in one token: the bucket counts in thousandths so that a
/// refill of `per_second` tokens a second is `per_second` milli-tokens a
/// millisecond, in integers.
const MILLI: u64 = 1000;

/// One class's bucket and suppression count. All zeroes is a full bucket
/// with nothing suppressed, so a reporter in a `static` lands in `.bss`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bucket {
    /// Milli-tokens taken and not yet refilled (0: full).
    spent: u64,
    /// Uptime of the last refill.
    last_ms: u64,
    /// Reports refused since the last suppression record.
    suppressed: u32,
    /// Uptime of the first of them.
    first_ms: u64,
    /// Uptime of the last of them.
    last_suppressed_ms: u64,
}

impl Bucket {
    /// A full bucket.
    pub const FULL: Bucket = Bucket {
        spent: 0,
        last_ms: 0,
        suppressed: 0,
        first_ms: 0,
        last_suppressed_ms: 0,
    };

    /// Takes a token at `now_ms` if there is one; otherwise counts the
    /// report as suppressed and says no. Time that goes backwards refills
    /// nothing.
    pub fn admit(&mut self, limit: RateLimit, now_ms: u64) -> bool {
        let elapsed = now_ms.saturating_sub(self.last_ms);
        self.last_ms = self.last_ms.max(now_ms);
        let refill = elapsed.saturating_mul(u64::from(limit.per_second));
        self.spent = self.spent.saturating_sub(refill);
        let capacity = u64::from(limit.burst).saturating_mul(MILLI);
        let after = self.spent.saturating_add(MILLI);
        if after <= capacity {
            self.spent = after;
            return true;
        }
        if self.suppressed == 0 {
            self.first_ms = now_ms;
        }
        self.suppressed = self.suppressed.saturating_add(1);
        self.last_suppressed_ms = now_ms;
        false
    }

    /// Reports suppressed and not yet recorded.
    pub fn suppressed(&self) -> u32 {
        self.suppressed
    }

    /// The pending suppression record for `class`, if any.
    pub fn pending<'a>(&self, class: &'a str) -> Option<Suppressed<'a>> {
        (self.suppressed > 0).then_some(Suppressed {
            class,
            count: self.suppressed,
            first_ms: self.first_ms,
            last_ms: self.last_suppressed_ms,
        })
    }

    /// Whether no report was suppressed for `quiet_ms` before `now_ms`.
    pub fn quiet_since(&self, now_ms: u64, quiet_ms: u64) -> bool {
        now_ms.saturating_sub(self.last_suppressed_ms) >= quiet_ms
    }

    /// Forgets the suppressions a delivered record reported.
    pub fn recorded(&mut self, count: u32) {
        self.suppressed = self.suppressed.saturating_sub(count);
    }
}

/// The record of suppressed reports:
/// `{"k": "ereport.suppressed", "v": 0, "class": ..., "count": n,
/// "first_ms": t0, "last_ms": t1}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suppressed<'a> {
    /// The class whose reports were suppressed.
    pub class: &'a str,
    /// How many.
    pub count: u32,
    /// Uptime of the first, ms.
    pub first_ms: u64,
    /// Uptime of the last, ms.
    pub last_ms: u64,
}

impl Suppressed<'_> {
    /// The most bytes the record takes for a class name of `class_len`
    /// bytes.
    pub const fn max_len(class_len: usize) -> usize {
        let parts = [
            1, // the map head (6 entries)
            str_len(1),
            str_len(SUPPRESSED_CLASS.len()),
            str_len(1),
            head_len(SUPPRESSED_VERSION as u64),
            str_len(5),
            str_len(class_len),
            str_len(5),
            head_len(u32::MAX as u64),
            str_len(8),
            head_len(u64::MAX),
            str_len(7),
            head_len(u64::MAX),
        ];
        let mut total = 0usize;
        let mut rest: &[usize] = &parts;
        while let [part, tail @ ..] = rest {
            total = sat_add(total, *part);
            rest = tail;
        }
        total
    }

    /// Encodes the record through minicbor (the same bytes as
    /// [`encode_to_slice`](Self::encode_to_slice)).
    pub fn encode<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>> {
        e.map(6)?;
        e.str("k")?.str(SUPPRESSED_CLASS)?;
        e.str("v")?.u32(SUPPRESSED_VERSION)?;
        e.str("class")?.str(self.class)?;
        e.str("count")?.u32(self.count)?;
        e.str("first_ms")?.u64(self.first_ms)?;
        e.str("last_ms")?.u64(self.last_ms)?;
        Ok(())
    }

    /// Encodes into `buf`, returning the length: the same bytes as
    /// [`encode`](Self::encode), written directly (the fixed prefix and each
    /// key as one copy), so a task needs no CBOR encoder for it.
    pub fn encode_to_slice(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        // {6 entries, "k": "ereport.suppressed", "v": 0, "class": ...
        const PREFIX: &[u8] = b"\xa6\x61k\x72ereport.suppressed\x61v\x00\x65class";
        const _: () = assert!(SUPPRESSED_CLASS.len() == 0x12 && SUPPRESSED_VERSION == 0);
        let mut w = SliceWriter::new(buf);
        w.put(PREFIX)?;
        w.str(self.class)?;
        w.put(b"\x65count")?;
        w.uint(u64::from(self.count))?;
        w.put(b"\x68first_ms")?;
        w.uint(self.first_ms)?;
        w.put(b"\x67last_ms")?;
        w.uint(self.last_ms)?;
        Ok(w.position())
    }
}
