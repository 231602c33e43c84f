//! [`LeaseWriter`]: a `minicbor` writer that encodes straight into a lease.

use core::fmt;

use crate::lease::{AccessError, WriteLease};

/// The staging size used when none is named: large enough to take a typical
/// ereport entry (a few dozen bytes of header plus body) whole, small enough to
/// live on a task's stack.
pub const DEFAULT_STAGING: usize = 128;

/// Why a [`LeaseWriter`] refused a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WriteError {
    /// The write would pass the end of the lease, or run into the reserved
    /// tail. Nothing of it was written; the writer can be rolled back and used
    /// again.
    OutOfSpace,
    /// The lender went away. The writer is dead: every later call fails the
    /// same way.
    WentAway,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WriteError::OutOfSpace => "out of space in the lease",
            WriteError::WentAway => "lender went away",
        })
    }
}

impl core::error::Error for WriteError {}

/// A position the writer can be rolled back to (see [`LeaseWriter::rollback`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Checkpoint {
    pos: usize,
}

impl Checkpoint {
    /// The lease offset this checkpoint marks.
    pub const fn position(self) -> usize {
        self.pos
    }
}

/// Writes CBOR (or any bytes) into a [`WriteLease`], coalescing small writes.
///
/// Bytes pass through a staging area of `S` bytes inside the writer and reach
/// the lease as one write when it fills, when a write larger than `S` arrives
/// (which then goes straight through), or on [`flush`](Self::flush) /
/// [`finish`](Self::finish). `S = 0` disables staging: every non-empty write
/// is one lease write.
///
/// Invariants: `start <= flushed <= flushed + staged <= len - reserved`, and
/// the lease holds this writer's bytes at `start..flushed`.
pub struct LeaseWriter<L, const S: usize = DEFAULT_STAGING> {
    lease: L,
    len: usize,
    start: usize,
    flushed: usize,
    staged: usize,
    reserved: usize,
    gone: bool,
    stage: [u8; S],
}

impl<L: WriteLease, const S: usize> LeaseWriter<L, S> {
    /// A writer that starts at offset 0.
    pub fn new(lease: L) -> Self {
        let len = lease.len();
        Self {
            lease,
            len,
            start: 0,
            flushed: 0,
            staged: 0,
            reserved: 0,
            gone: false,
            stage: [0; S],
        }
    }

    /// A writer that starts at `offset`, leaving `0..offset` alone (for a
    /// header written last). Fails with `OutOfSpace` if the lease is shorter
    /// than `offset`.
    pub fn starting_at(lease: L, offset: usize) -> Result<Self, WriteError> {
        let mut w = Self::new(lease);
        if offset > w.len {
            return Err(WriteError::OutOfSpace);
        }
        w.start = offset;
        w.flushed = offset;
        Ok(w)
    }

    /// The lease offset the next byte will go to.
    pub fn position(&self) -> usize {
        // Cannot overflow: the sum is at most `len` (the invariant above).
        self.flushed.wrapping_add(self.staged)
    }

    /// The offset this writer started at.
    pub fn start(&self) -> usize {
        self.start
    }

    /// Bytes written so far (from [`start`](Self::start)).
    pub fn written(&self) -> usize {
        self.position().saturating_sub(self.start)
    }

    /// Bytes that can still be written before the reserved tail.
    pub fn remaining(&self) -> usize {
        self.limit().saturating_sub(self.position())
    }

    /// The length of the underlying lease.
    pub fn lease_len(&self) -> usize {
        self.len
    }

    /// Bytes currently reserved at the tail.
    pub fn reserved(&self) -> usize {
        self.reserved
    }

    /// Whether a write has seen the lender go away.
    pub fn went_away(&self) -> bool {
        self.gone
    }

    fn limit(&self) -> usize {
        // reserved <= len - position <= len (invariant).
        self.len.wrapping_sub(self.reserved)
    }

    /// Keeps `n` more bytes at the end of the lease free: writes that would
    /// run into them fail with `OutOfSpace` until they are
    /// [released](Self::release). Fails, reserving nothing, if fewer than `n`
    /// bytes remain, or with `WentAway` (as every call does) once the
    /// lender has gone.
    pub fn reserve(&mut self, n: usize) -> Result<(), WriteError> {
        if self.gone {
            return Err(WriteError::WentAway);
        }
        if n > self.remaining() {
            return Err(WriteError::OutOfSpace);
        }
        // Cannot overflow: reserved + n <= len - position (checked above).
        self.reserved = self.reserved.wrapping_add(n);
        Ok(())
    }

    /// Gives back up to `n` reserved bytes, so closing bytes can be written.
    pub fn release(&mut self, n: usize) {
        self.reserved = self.reserved.saturating_sub(n);
    }

    /// Marks the current position.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            pos: self.position(),
        }
    }

    /// Forgets everything written after `cp`. Costs no lease call: bytes
    /// already flushed past `cp` stay in the lease but lie beyond the final
    /// length, and are overwritten by whatever comes next. A checkpoint at or
    /// past the current position changes nothing.
    #[inline(never)]
    pub fn rollback(&mut self, cp: Checkpoint) {
        let pos = cp.pos.max(self.start);
        if pos >= self.position() {
            return;
        }
        if pos >= self.flushed {
            // flushed <= pos here.
            self.staged = pos.wrapping_sub(self.flushed);
        } else {
            self.flushed = pos;
            self.staged = 0;
        }
    }

    /// Sends staged bytes to the lease (one lease write, none if nothing is
    /// staged).
    pub fn flush(&mut self) -> Result<(), WriteError> {
        if self.gone {
            return Err(WriteError::WentAway);
        }
        if self.staged == 0 {
            return Ok(());
        }
        let staged = self.stage.get(..self.staged).unwrap_or(&[]);
        Self::send(&mut self.lease, &mut self.gone, self.flushed, staged)?;
        // At most len (invariant).
        self.flushed = self.flushed.wrapping_add(self.staged);
        self.staged = 0;
        Ok(())
    }

    /// Flushes and returns the final length of the data in the lease (the
    /// position of the end, counted from offset 0, so a header gap is
    /// included).
    pub fn finish(&mut self) -> Result<usize, WriteError> {
        self.flush()?;
        Ok(self.flushed)
    }

    /// Gives the lease back. Staged bytes that were not flushed are dropped:
    /// call [`finish`](Self::finish) first.
    pub fn into_lease(self) -> L {
        self.lease
    }

    /// The lease, for inspection.
    pub fn lease(&self) -> &L {
        &self.lease
    }

    /// The lease, to write outside the writer's range (a header before
    /// [`start`](Self::start), say) once the writer is finished.
    pub fn lease_mut(&mut self) -> &mut L {
        &mut self.lease
    }

    fn send(lease: &mut L, gone: &mut bool, at: usize, bytes: &[u8]) -> Result<(), WriteError> {
        match lease.write_at(at, bytes) {
            Ok(()) => Ok(()),
            // The writer never leaves the lease, so a refusal means the lease
            // is unusable; either way the bytes were not delivered.
            Err(AccessError::WentAway | AccessError::OutOfBounds) => {
                *gone = true;
                Err(WriteError::WentAway)
            }
        }
    }

    fn stage_bytes(&mut self, bytes: &[u8]) {
        // Callers keep staged + len <= S.
        let end = self.staged.wrapping_add(bytes.len());
        if let Some(dst) = self.stage.get_mut(self.staged..end) {
            dst.copy_from_slice(bytes);
            self.staged = end;
        }
    }

    /// Writes `bytes` at the current position.
    pub fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        if self.gone {
            return Err(WriteError::WentAway);
        }
        if bytes.is_empty() {
            return Ok(());
        }
        match self.position().checked_add(bytes.len()) {
            Some(end) if end <= self.limit() => {}
            _ => return Err(WriteError::OutOfSpace),
        }
        // staged <= S (invariant).
        let room = S.wrapping_sub(self.staged);
        if bytes.len() <= room {
            self.stage_bytes(bytes);
            return Ok(());
        }
        if bytes.len() > S {
            // Too big to stage: keep order by flushing first, then send it
            // straight through.
            self.flush()?;
            Self::send(&mut self.lease, &mut self.gone, self.flushed, bytes)?;
            // The end was checked against the limit above.
            self.flushed = self.flushed.wrapping_add(bytes.len());
            return Ok(());
        }
        // Fits in a stage but not in what is left of this one: top the stage
        // up, send it, and stage the rest (fewer lease writes than flushing a
        // part-full stage).
        let (head, tail) = bytes.split_at(room);
        self.stage_bytes(head);
        self.flush()?;
        self.stage_bytes(tail);
        Ok(())
    }
}

impl<L: WriteLease, const S: usize> minicbor::encode::Write for LeaseWriter<L, S> {
    type Error = WriteError;

    fn write_all(&mut self, buf: &[u8]) -> Result<(), Self::Error> {
        self.write_bytes(buf)
    }
}

impl<L, const S: usize> fmt::Debug for LeaseWriter<L, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaseWriter")
            .field("len", &self.len)
            .field("start", &self.start)
            .field("flushed", &self.flushed)
            .field("staged", &self.staged)
            .field("reserved", &self.reserved)
            .field("gone", &self.gone)
            .finish()
    }
}
