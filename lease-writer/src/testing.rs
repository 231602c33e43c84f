//! Host fakes: memory-backed leases that count every call and can be told to
//! go away. One implementation, shared by every crate's tests and benchmarks
//! through the `testing` feature.
//!
//! Host-only test code: panicking on a bug here is the right outcome.

#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::cell::Cell;
use std::vec::Vec;

use crate::lease::{AccessError, Lease, ReadLease, WriteLease, checked_range};

/// When a [`FakeLease`]'s lender goes away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoAway {
    /// Never.
    Never,
    /// After this many successful access calls: the next call fails.
    AfterCalls(usize),
    /// At the first access whose range covers this byte offset (that access
    /// fails whole, as a `sys_borrow_*` does).
    AtByte(usize),
}

/// Counts kept by a [`FakeLease`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeaseStats {
    /// Successful or failed read calls.
    pub reads: usize,
    /// Successful or failed write calls.
    pub writes: usize,
    /// Write calls of zero bytes.
    pub zero_length_writes: usize,
    /// Bytes copied out by successful reads.
    pub bytes_read: usize,
    /// Bytes copied in by successful writes.
    pub bytes_written: usize,
}

/// A lease over memory owned by the fake, readable and writable.
///
/// ```
/// use lease_writer::testing::{FakeLease, GoAway};
/// use lease_writer::WriteLease;
///
/// let mut lease = FakeLease::new(4).go_away(GoAway::AfterCalls(1));
/// assert!(lease.write_at(0, &[1, 2]).is_ok());
/// assert!(lease.write_at(2, &[3]).is_err());
/// assert_eq!(lease.stats().writes, 2);
/// assert_eq!(lease.bytes(), &[1, 2, 0, 0]);
/// ```
#[derive(Debug)]
pub struct FakeLease {
    mem: Vec<u8>,
    go_away: GoAway,
    gone: Cell<bool>,
    calls: Cell<usize>,
    stats: Cell<LeaseStats>,
}

impl FakeLease {
    /// A lease of `len` zero bytes.
    pub fn new(len: usize) -> Self {
        Self::from_bytes(&std::vec![0; len])
    }

    /// A lease holding a copy of `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self {
            mem: bytes.to_vec(),
            go_away: GoAway::Never,
            gone: Cell::new(false),
            calls: Cell::new(0),
            stats: Cell::new(LeaseStats::default()),
        }
    }

    /// Sets when the lender goes away.
    pub fn go_away(mut self, when: GoAway) -> Self {
        self.go_away = when;
        self
    }

    /// Makes the lender go away now.
    pub fn kill(&self) {
        self.gone.set(true);
    }

    /// Whether the lender has gone away.
    pub fn is_gone(&self) -> bool {
        self.gone.get()
    }

    /// The lease's memory as the lender sees it.
    pub fn bytes(&self) -> &[u8] {
        &self.mem
    }

    /// The counts so far.
    pub fn stats(&self) -> LeaseStats {
        self.stats.get()
    }

    /// Zeroes the counts (not the memory).
    pub fn reset_stats(&self) {
        self.stats.set(LeaseStats::default());
    }

    /// Counts the call and decides whether it may go ahead.
    fn admit(&self, offset: usize, n: usize) -> Result<core::ops::Range<usize>, AccessError> {
        let calls = self.calls.get();
        self.calls.set(calls + 1);
        let range = checked_range(offset, n, self.mem.len())?;
        let dies = match self.go_away {
            GoAway::Never => false,
            GoAway::AfterCalls(n) => calls >= n,
            GoAway::AtByte(b) => range.contains(&b),
        };
        if dies {
            self.gone.set(true);
        }
        if self.gone.get() {
            return Err(AccessError::WentAway);
        }
        Ok(range)
    }

    fn update(&self, f: impl FnOnce(&mut LeaseStats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }
}

impl Lease for FakeLease {
    fn len(&self) -> usize {
        self.mem.len()
    }
}

impl ReadLease for FakeLease {
    fn read_at(&self, offset: usize, dst: &mut [u8]) -> Result<(), AccessError> {
        self.update(|s| s.reads += 1);
        let range = self.admit(offset, dst.len())?;
        dst.copy_from_slice(&self.mem[range]);
        self.update(|s| s.bytes_read += dst.len());
        Ok(())
    }
}

impl WriteLease for FakeLease {
    fn write_at(&mut self, offset: usize, src: &[u8]) -> Result<(), AccessError> {
        self.update(|s| {
            s.writes += 1;
            if src.is_empty() {
                s.zero_length_writes += 1;
            }
        });
        let range = self.admit(offset, src.len())?;
        self.mem[range].copy_from_slice(src);
        self.update(|s| s.bytes_written += src.len());
        Ok(())
    }
}
