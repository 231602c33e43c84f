//! The flush response, encoded straight into the snitch's lease.

use ereport_sdk::cbor_len::encode_head;
use ereport_sdk::wire::{RESPONSE_HEADER_LEN, ResponseHeader, metadata_keys};
use ereport_sdk::{Ena, Identity, ReadError, ReadRequest};
use lease_writer::{DEFAULT_STAGING, LeaseWriter, WriteError, WriteLease};
use minicbor::encode::Write;

use crate::store::{MAX_TASK_NAME_LEN, RecordRef, Store, TaskTable, check_task_names};

/// Smallest lease a response fits in: the header and an empty indefinite
/// map (`0xbf 0xff`).
pub const MIN_RESPONSE_LEN: usize = RESPONSE_HEADER_LEN + 2;

/// Task indices (below 64) whose first entry in this packet is remembered,
/// so later entries can name their task by that entry's index; a task with
/// a higher index is written as text every time (correct, just longer).
/// One more slot holds the tasks outside the task table, which all share
/// the name "unknown".
const NAMED_SLOTS: usize = 65;

/// The slot of every task index outside the task table.
const UNKNOWN_SLOT: usize = NAMED_SLOTS - 1;

fn map_write_err(e: WriteError) -> ReadError {
    match e {
        WriteError::WentAway => ReadError::WentAway,
        // Every write below is made to fit (reservations), so running out
        // of space can only mean the lease is too short for the minimum.
        WriteError::OutOfSpace => ReadError::LeaseTooShort,
    }
}

/// Writes one item with `f`, whole or not at all: if the lease runs out of
/// room part-way, the writer goes back to where it was and the answer is
/// `false` (the item did not fit); a lender that went away is an error.
fn put_whole<L: WriteLease, const S: usize>(
    w: &mut LeaseWriter<L, S>,
    f: impl FnOnce(&mut LeaseWriter<L, S>) -> Result<(), WriteError>,
) -> Result<bool, ReadError> {
    let cp = w.checkpoint();
    match f(w) {
        Ok(()) => Ok(true),
        Err(WriteError::OutOfSpace) => {
            w.rollback(cp);
            Ok(false)
        }
        Err(WriteError::WentAway) => Err(ReadError::WentAway),
    }
}

/// Writes a CBOR head straight to the writer.
fn put_head<W: Write>(w: &mut W, major: u8, n: u64) -> Result<(), W::Error> {
    let mut head = [0u8; 9];
    let k = encode_head(major, n, &mut head);
    w.write_all(head.get(..k).unwrap_or(&[]))
}

/// Writes a CBOR text string straight to the writer.
fn put_text<W: Write>(w: &mut W, s: &str) -> Result<(), W::Error> {
    put_head(w, 3, s.len() as u64)?;
    w.write_all(s.as_bytes())
}

/// The metadata map's entries (the map's `0xbf ... 0xff` is written by the
/// caller). Written with the shared head encoder rather than through
/// `minicbor::Encoder`, whose generic methods would cost about a kilobyte of
/// flash for this one writer type.
fn write_metadata<W: Write>(w: &mut W, id: &Identity) -> Result<(), W::Error> {
    let texts = [
        metadata_keys::PART_NUMBER,
        &id.part_number,
        metadata_keys::SERIAL_NUMBER,
        &id.serial_number,
        metadata_keys::REV,
    ];
    for t in &texts {
        put_text(w, t)?;
    }
    put_head(w, 0, u64::from(id.revision))?;
    put_text(w, metadata_keys::CABOOSE)?;
    let Some(c) = &id.caboose else {
        return w.write_all(&[0xf6]);
    };
    put_head(w, 5, 3)?;
    for t in &[
        "board", &c.board, "version", &c.version, "commit", &c.commit,
    ] {
        put_text(w, t)?;
    }
    Ok(())
}

impl<const N: usize, T: TaskTable> Store<N, T> {
    /// Answers a snitch request by encoding the response straight into
    /// `lease`, and returns its length (the flush response of
    /// `docs/protocol.md`):
    ///
    /// 1. the header is written last, at offset 0;
    /// 2. if `req.restart_id` is this boot's: free through
    ///    `req.committed_ena` (if non-zero) and start at `req.start_ena`;
    ///    otherwise free nothing, start at the earliest record and fill the
    ///    metadata (when `identity` is known); either way, write a pending
    ///    loss record if it now fits;
    /// 3. an indefinite metadata map, then (if `req.limit > 0` and one fits)
    ///    an indefinite array of `[task, generation, uptime_ms, body]`
    ///    entries, as many as fit, each written straight into the lease and
    ///    rolled back if it does not fit; a task's name is text the first
    ///    time it appears in the packet and the index of that entry
    ///    afterwards (for task indices below 64, and for the tasks outside
    ///    the table, which share "unknown"; a task at 64 or above is named
    ///    as text each time).
    ///
    /// Any lease of at least [`MIN_RESPONSE_LEN`] bytes gets a valid
    /// response; a shorter one is `LeaseTooShort`, with nothing freed.
    pub fn read_ereports<L: WriteLease>(
        &mut self,
        req: &ReadRequest,
        lease: L,
        identity: Option<&Identity>,
    ) -> Result<usize, ReadError> {
        self.read_ereports_staged::<L, DEFAULT_STAGING>(req, lease, identity)
    }

    /// [`read_ereports`](Self::read_ereports) with a staging area of `S`
    /// bytes in the lease writer (0 disables staging).
    pub fn read_ereports_staged<L: WriteLease, const S: usize>(
        &mut self,
        req: &ReadRequest,
        lease: L,
        identity: Option<&Identity>,
    ) -> Result<usize, ReadError> {
        let ReadRequest {
            request_id,
            restart_id,
            start_ena,
            limit,
            committed_ena,
        } = *req;
        // Setting the restart id initialised the store (a read before the
        // first delivery still starts with the initial loss record).
        let own = self.restart_id().ok_or(ReadError::NoRestartId)?;
        if lease.len() < MIN_RESPONSE_LEN {
            return Err(ReadError::LeaseTooShort);
        }
        let matches = restart_id == own;
        let start = if matches {
            if !committed_ena.is_none() {
                self.flush_thru(committed_ena);
            }
            start_ena
        } else {
            Ena::NONE
        };
        // Losses waiting for room are reported as soon as there is room,
        // so the gateway hears of them without waiting for another ereport.
        self.report_losses();

        let mut w =
            LeaseWriter::<L, S>::starting_at(lease, RESPONSE_HEADER_LEN).map_err(map_write_err)?;

        // Metadata: an indefinite map whose content fits whole or not at
        // all (an empty map tells MGS to keep asking).
        w.write_bytes(&[0xbf]).map_err(map_write_err)?;
        w.reserve(1).map_err(map_write_err)?;
        if let (false, Some(id)) = (matches, identity) {
            put_whole(&mut w, |w| write_metadata(w, id))?;
        }
        w.release(1);
        w.write_bytes(&[0xff]).map_err(map_write_err)?;

        let mut first = Ena::NONE;
        if limit > 0 {
            first = self.write_entries(&mut w, start, limit)?;
        }

        let len = w.finish().map_err(map_write_err)?;
        w.lease_mut()
            .write_at(0, &ResponseHeader::new(own, first, request_id).to_bytes())
            .map_err(|_| ReadError::WentAway)?;
        Ok(len)
    }

    /// Writes the entry array; returns the ENA of the first entry (0 if no
    /// entry fitted, in which case nothing at all was written).
    fn write_entries<L: WriteLease, const S: usize>(
        &self,
        w: &mut LeaseWriter<L, S>,
        start: Ena,
        limit: u8,
    ) -> Result<Ena, ReadError> {
        let before = w.checkpoint();
        // 0x9f now, and one byte kept for the closing 0xff.
        if w.write_bytes(&[0x9f]).is_err() || w.reserve(1).is_err() {
            if w.went_away() {
                return Err(ReadError::WentAway);
            }
            w.rollback(before);
            return Ok(Ena::NONE);
        }
        // The entry (plus one; 0: none yet) that first named each task in
        // this packet, by task index, with every index outside the task
        // table under one slot: they all share the name "unknown".
        let mut named = [0u8; NAMED_SLOTS];
        let mut count = 0u8;
        let mut first = Ena::NONE;
        // One head buffer for every entry: cleared once, not per entry.
        let mut head = EntryHead::new();
        for (ena, rec) in self.records_from(start) {
            if count >= limit {
                break;
            }
            let index = usize::from(rec.task.index);
            let slot = if index >= T::NAMES.len() {
                UNKNOWN_SLOT
            } else if index < UNKNOWN_SLOT {
                index
            } else {
                // No slot: named as text every time.
                NAMED_SLOTS
            };
            // Entries are numbered below 255 (`count < limit`), so one
            // more still fits in a byte.
            let earlier = match named.get(slot) {
                Some(&e) if e > 0 => Some(e.wrapping_sub(1)),
                _ => None,
            };
            let name = task_name::<T>(rec.task.index);
            if !put_whole(w, |w| self.write_entry(w, &mut head, &rec, name, earlier))? {
                break;
            }
            if let (None, Some(e)) = (earlier, named.get_mut(slot)) {
                *e = count.wrapping_add(1);
            }
            if count == 0 {
                first = ena;
            }
            count = count.saturating_add(1);
        }
        w.release(1);
        if count == 0 {
            w.rollback(before);
            return Ok(Ena::NONE);
        }
        w.write_bytes(&[0xff]).map_err(map_write_err)?;
        Ok(first)
    }

    /// Writes one entry, `[task, generation, uptime_ms, body]`: the few
    /// head bytes are assembled on the stack and handed to the writer in one
    /// write, then the body goes from the ring to the writer (one write, two
    /// if it wraps). Nothing is measured or encoded twice.
    fn write_entry<L: WriteLease, const S: usize>(
        &self,
        w: &mut LeaseWriter<L, S>,
        head: &mut EntryHead,
        rec: &RecordRef,
        name: &str,
        earlier: Option<u8>,
    ) -> Result<(), WriteError> {
        const { check_task_names(T::NAMES) };
        head.len = 0;
        head.byte(0x84);
        match earlier {
            Some(index) => head.small(0, index),
            None => {
                // Names are at most 32 bytes (checked at compile time).
                head.small(3, name.len() as u8);
                head.bytes(name.as_bytes());
            }
        }
        head.small(0, rec.task.generation);
        head.head(0, rec.uptime);
        head.head(2, rec.len as u64);
        w.write_bytes(head.as_slice())?;
        let (a, b) = self.ring_slices(self.body_offset(rec), rec.len);
        w.write_bytes(a)?;
        // Most bodies do not wrap.
        if !b.is_empty() {
            w.write_bytes(b)?;
        }
        Ok(())
    }
}

/// The name packrat reports for task `index`: its name in the task table,
/// or `"unknown"`.
fn task_name<T: TaskTable>(index: u16) -> &'static str {
    T::NAMES
        .get(usize::from(index))
        .copied()
        .unwrap_or("unknown")
}

/// The head bytes of one entry, assembled on the stack: an array head, a
/// task name of up to [`MAX_TASK_NAME_LEN`] bytes (or an index), and three
/// CBOR heads. The
/// buffer keeps 9 bytes of slack so every head is written in place through
/// a fixed window.
struct EntryHead {
    buf: [u8; EntryHead::CAP + 9],
    len: usize,
}

impl EntryHead {
    /// Array head, task head and name (or index), three heads.
    const CAP: usize = 1 + 9 + MAX_TASK_NAME_LEN + 9 + 9 + 9;

    fn new() -> Self {
        Self {
            buf: [0; EntryHead::CAP + 9],
            len: 0,
        }
    }

    /// Appends one byte (the entry's array head, first: always fits).
    fn byte(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len = self.len.wrapping_add(1);
        }
    }

    /// Appends `bytes` if they fit; says whether they did.
    fn bytes(&mut self, bytes: &[u8]) -> bool {
        let end = self.len.saturating_add(bytes.len());
        match self.buf.get_mut(self.len..end) {
            Some(dst) if end <= Self::CAP => {
                dst.copy_from_slice(bytes);
                self.len = end;
                true
            }
            _ => false,
        }
    }

    /// Appends the CBOR head of an argument under 256: one byte, or two.
    #[inline(always)]
    fn small(&mut self, major: u8, n: u8) {
        if n < 24 {
            self.byte(major << 5 | n);
        } else {
            self.byte(major << 5 | 24);
            self.byte(n);
        }
    }

    /// Appends a CBOR head, written in place through a 9-byte window.
    #[inline(never)]
    fn head(&mut self, major: u8, n: u64) {
        if let Some(window) = self
            .buf
            .get_mut(self.len..)
            .and_then(|w| w.first_chunk_mut::<9>())
        {
            // At most CAP + 9: the window was in the buffer.
            self.len = self.len.wrapping_add(encode_head(major, n, window));
        }
    }

    fn as_slice(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}
