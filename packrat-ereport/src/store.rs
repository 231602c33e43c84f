//! The ring store.
//!
//! Records lie back to back in a byte ring, each a 13-byte header followed by
//! the body, wrapping at any byte (header included):
//!
//! ```text
//! +--------+--------+-----+-------------+----------------+
//! | len u16| task u16| gen | uptime u64 | body (len)     |
//! +--------+--------+-----+-------------+----------------+
//! ```
//!
//! ENAs are implicit: the record at `head` has ENA `earliest`, the next
//! `earliest + 1`, and so on, so freeing records is a walk over headers
//! (O(records)) and nothing is renumbered.

use core::fmt;
use core::num::NonZeroU128;

use ereport_sdk::cbor_len::encode_head;
use ereport_sdk::{Ena, MAX_EREPORT_LEN, RestartId, TaskId};
use lease_writer::{AccessError, ReadLease};
use minicbor::Encoder;

use crate::layout::{LAYOUT_VERSION, MAGIC, RecordHeader, RingHeader};
use crate::ring::{self, RingFull, RingWriter};
use zerocopy::little_endian::{U16, U32, U64, U128};

/// Bytes of a record header.
pub const HEADER_LEN: usize = crate::layout::RECORD_HEADER_LEN;

/// Why an ereport was not stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IngestError {
    /// The store is full: the ereport is lost and counted, and a loss record
    /// will say so once there is room.
    Full,
    /// The body was empty.
    Empty,
    /// The body was longer than [`MAX_EREPORT_LEN`].
    TooLong,
    /// The producer went away during the copy; the store is as it was.
    WentAway,
    /// The sender already holds its share of the store
    /// ([`Store::set_task_share`]): the ereport is lost and counted, as
    /// when the store is full, while other tasks still get space.
    OverShare,
}

impl fmt::Display for IngestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IngestError::Full => "ereport store full",
            IngestError::Empty => "empty ereport",
            IngestError::TooLong => "ereport too long",
            IngestError::WentAway => "producer went away during the copy",
            IngestError::OverShare => "the task holds its share of the ereport store",
        })
    }
}

impl core::error::Error for IngestError {}

impl From<IngestError> for ereport_sdk::DeliverError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Full => ereport_sdk::DeliverError::StoreFull,
            IngestError::Empty => ereport_sdk::DeliverError::Empty,
            IngestError::TooLong => ereport_sdk::DeliverError::TooLong,
            IngestError::WentAway => ereport_sdk::DeliverError::WentAway,
            IngestError::OverShare => ereport_sdk::DeliverError::StoreFull,
        }
    }
}

/// Counters kept by a [`Store`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Records stored (loss records included).
    pub stored: u32,
    /// Ereports lost because the store was full.
    pub lost: u32,
    /// Loss records written.
    pub loss_records: u32,
    /// Empty bodies refused.
    pub refused_empty: u32,
    /// Over-long bodies refused.
    pub refused_too_long: u32,
    /// Producers that went away mid-copy.
    pub went_away: u32,
    /// Records freed by flushes.
    pub flushed: u32,
    /// Deliveries refused because the sender held its share (also counted
    /// in `lost`); by task in [`Store::share_refusals`].
    pub refused_over_share: u32,
}

/// Task indices whose share refusals are counted one by one; higher
/// indices share the last slot.
pub const SHARE_STAT_TASKS: usize = 32;

/// Packrat's names for its tasks, by index: generated at build time on a
/// real SP, so the table is a type, not data in the store.
///
/// A name longer than [`MAX_TASK_NAME_LEN`] is a compile error where
/// packrat encodes responses:
///
/// ```compile_fail
/// use ereport_sdk::{ReadRequest, RestartId};
/// use packrat_ereport::{Store, TaskTable};
///
/// enum Tasks {}
/// impl TaskTable for Tasks {
///     const NAMES: &'static [&'static str] = &["a_task_name_that_is_much_too_long_to_fit"];
/// }
///
/// let mut store: Store<256, Tasks> = Store::new();
/// let mut tx = [0u8; 256];
/// let _ = store.read_ereports(&ReadRequest::new(RestartId(1)).limit(1).id(1), &mut tx[..], None);
/// ```
pub trait TaskTable {
    /// Task names, indexed by task index; each at most
    /// [`MAX_TASK_NAME_LEN`] bytes (checked at compile time when packrat
    /// encodes a response).
    const NAMES: &'static [&'static str];
}

pub use ereport_sdk::MAX_TASK_NAME_LEN;

/// Fails compilation if a table holds a name longer than
/// [`MAX_TASK_NAME_LEN`].
pub(crate) const fn check_task_names(mut names: &[&str]) {
    while let [name, rest @ ..] = names {
        assert!(
            name.len() <= MAX_TASK_NAME_LEN,
            "a task name is longer than MAX_TASK_NAME_LEN (32) bytes"
        );
        names = rest;
    }
}

/// No names: every task is reported as `"unknown"`.
#[derive(Debug)]
pub enum NoTaskNames {}

impl TaskTable for NoTaskNames {
    const NAMES: &'static [&'static str] = &[];
}

/// Where a record lies in the ring.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecordRef {
    pub offset: usize,
    pub len: usize,
    pub task: TaskId,
    pub uptime: u64,
}

/// The ereport store: a ring of `N` bytes.
///
/// `Store::new()` is `const` and all zeroes, so a `static` store lands in
/// `.bss` and costs no flash. The store initialises itself (writing the
/// initial `{"lost": null}` record as ENA 1) on [`init`](Self::init) or on
/// first use.
///
/// ```
/// use ereport_sdk::{Ena, TaskId};
/// use packrat_ereport::Store;
///
/// let mut store: Store<512> = Store::new();
/// store.init(TaskId::new(5, 0), 0);
/// let body = [0xa1, 0x61, b'x', 0x01]; // {"x": 1}
/// let ena = store.deliver(TaskId::new(1, 0), 10, &body[..]).unwrap();
/// assert_eq!(ena, Ena(2)); // ENA 1 is the initial loss record
/// store.flush_thru(Ena(2));
/// assert_eq!(store.len(), 0);
/// ```
#[repr(C)]
pub struct Store<const N: usize, T: TaskTable = NoTaskNames> {
    /// The bookkeeping, in the documented layout ([`crate::layout`]): first,
    /// so a memory image has it right before the ring.
    hdr: RingHeader,
    pub(crate) buf: [u8; N],
    stats: StoreStats,
    /// The most bytes (headers included) one task may hold; 0: no limit.
    #[cfg(feature = "task-share")]
    task_share: u32,
    /// Share refusals by task index (saturating; see [`SHARE_STAT_TASKS`]).
    #[cfg(feature = "task-share")]
    share_refusals: [u16; SHARE_STAT_TASKS],
    _tasks: core::marker::PhantomData<T>,
}

const fn lost_record_len(count: Option<u32>) -> usize {
    // {"lost": count} or {"lost": null}: map head, "lost", value (at most
    // 1 + 5 + 9 bytes).
    let value = match count {
        None => 1,
        Some(n) => ereport_sdk::cbor_len::head_len(n as u64),
    };
    value.saturating_add(1 + 5)
}

impl<const N: usize, T: TaskTable> Default for Store<N, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, T: TaskTable> Store<N, T> {
    const FITS: () = assert!(
        N >= HEADER_LEN + lost_record_len(Some(u32::MAX)) && N <= (u32::MAX as usize),
        "a store must hold at least one loss record, and stay below 4 GiB"
    );

    /// An empty, uninitialised store: all zeroes.
    pub const fn new() -> Self {
        let () = Self::FITS;
        Self {
            hdr: RingHeader::ZERO,
            buf: [0; N],
            stats: StoreStats {
                stored: 0,
                lost: 0,
                loss_records: 0,
                refused_empty: 0,
                refused_too_long: 0,
                went_away: 0,
                flushed: 0,
                refused_over_share: 0,
            },
            #[cfg(feature = "task-share")]
            task_share: 0,
            #[cfg(feature = "task-share")]
            share_refusals: [0; SHARE_STAT_TASKS],
            _tasks: core::marker::PhantomData,
        }
    }

    /// Initialises the store once: packrat's own task id (the sender of loss
    /// records) and the initial `{"lost": null}` record, ENA 1, which says
    /// that anything before boot is unknown. Later calls do nothing.
    pub fn init(&mut self, own_id: TaskId, uptime: u64) {
        if self.hdr.next.get() != 0 {
            return;
        }
        self.hdr.magic = MAGIC;
        self.hdr.version = U16::new(LAYOUT_VERSION);
        self.hdr.record_header_len = U16::new(HEADER_LEN as u16);
        // N <= u32::MAX (FITS).
        self.hdr.capacity = U32::new(N as u32);
        self.hdr.own_index = U16::new(own_id.index);
        self.hdr.own_generation = own_id.generation;
        self.hdr.next = U64::new(1);
        self.hdr.earliest = U64::new(1);
        // Cannot fail: the store is empty and FITS holds.
        let _ = self.insert_lost(None, uptime);
    }

    fn ensure_init(&mut self, uptime: u64) {
        if self.hdr.next.get() == 0 {
            self.init(self.own_id(), uptime);
        }
    }

    /// Sets this boot's restart id (non-zero, once), initialising the
    /// store if nothing has yet (uptime 0).
    pub fn set_restart_id(&mut self, id: RestartId) -> Result<(), ereport_sdk::AdminError> {
        let id = NonZeroU128::new(id.0).ok_or(ereport_sdk::AdminError::Invalid)?;
        if self.restart_id().is_some() {
            return Err(ereport_sdk::AdminError::AlreadySet);
        }
        self.hdr.restart_id = U128::new(id.get());
        // Reads need the restart id, so from here on the store answers with
        // at least its initial loss record, even before a first delivery.
        self.ensure_init(0);
        Ok(())
    }

    /// This boot's restart id, if set.
    pub fn restart_id(&self) -> Option<RestartId> {
        NonZeroU128::new(self.hdr.restart_id.get()).map(|id| RestartId(id.get()))
    }

    /// Number of stored records.
    pub fn len(&self) -> usize {
        usize::try_from(self.hdr.next.get().saturating_sub(self.hdr.earliest.get()))
            .unwrap_or(usize::MAX)
    }

    /// Whether no records are stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes in use, headers included.
    pub fn used_bytes(&self) -> usize {
        self.hdr.used.get() as usize
    }

    /// Bytes free.
    pub fn free_bytes(&self) -> usize {
        N.saturating_sub(self.used_bytes())
    }

    /// ENA of the oldest stored record, or `None` when empty.
    pub fn earliest_ena(&self) -> Option<Ena> {
        (!self.is_empty()).then_some(Ena(self.hdr.earliest.get()))
    }

    /// The ENA the next record will get (0 before initialisation).
    pub fn next_ena(&self) -> Ena {
        Ena(self.hdr.next.get())
    }

    /// Losses not yet reported by a loss record.
    pub fn pending_losses(&self) -> Option<u32> {
        self.losing().then_some(self.hdr.pending_losses.get())
    }

    /// The counters.
    pub fn stats(&self) -> StoreStats {
        self.stats
    }

    /// Ring offset of the oldest record.
    fn head(&self) -> usize {
        self.hdr.head.get() as usize
    }

    /// Whether losses are pending.
    fn losing(&self) -> bool {
        self.hdr.losing != 0
    }

    /// Packrat's own task id, the sender of loss records.
    fn own_id(&self) -> TaskId {
        TaskId::new(self.hdr.own_index.get(), self.hdr.own_generation)
    }

    /// The store's header, as a memory image holds it (see
    /// [`crate::layout`]).
    pub fn ring_header(&self) -> &RingHeader {
        &self.hdr
    }

    /// The ring's bytes, as a memory image holds them.
    pub fn ring_bytes(&self) -> &[u8; N] {
        &self.buf
    }

    pub(crate) fn ring_slices(&self, at: usize, n: usize) -> (&[u8], &[u8]) {
        ring::slices(&self.buf, at, n)
    }

    fn ring_write(&mut self, at: usize, bytes: &[u8]) {
        ring::write(&mut self.buf, at, bytes);
    }

    fn tail(&self) -> usize {
        ring::wrap::<N>(self.head(), self.used_bytes())
    }

    fn header_bytes(len: usize, task: TaskId, uptime: u64) -> [u8; HEADER_LEN] {
        // Bodies are at most MAX_EREPORT_LEN (945) bytes and loss records
        // 15, so the length always fits in 16 bits.
        RecordHeader::new(len as u16, task.index, task.generation, uptime).to_array()
    }

    /// The record header at `offset`, read in one piece unless it wraps.
    #[inline(always)]
    fn header_at(&self, offset: usize) -> [u8; HEADER_LEN] {
        match self.buf.get(offset..offset.saturating_add(HEADER_LEN)) {
            Some(h) => {
                let mut out = [0u8; HEADER_LEN];
                out.copy_from_slice(h);
                out
            }
            // The header wraps (rare): byte by byte.
            None => {
                let mut out = [0u8; HEADER_LEN];
                let mut at = offset;
                for b in &mut out {
                    *b = self.buf.get(at).copied().unwrap_or(0);
                    at = ring::wrap::<N>(at, 1);
                }
                out
            }
        }
    }

    /// Only the body length of the record at `offset` (what a flush needs).
    fn len_at(&self, offset: usize) -> usize {
        let lo = self.buf.get(offset).copied().unwrap_or(0);
        let hi = self
            .buf
            .get(ring::wrap::<N>(offset, 1))
            .copied()
            .unwrap_or(0);
        usize::from(u16::from_le_bytes([lo, hi]))
    }

    #[inline(always)]
    pub(crate) fn record_at(&self, offset: usize) -> RecordRef {
        let h = RecordHeader::from_array(self.header_at(offset));
        RecordRef {
            offset,
            len: usize::from(h.len.get()),
            task: TaskId::new(h.task_index.get(), h.task_generation),
            uptime: h.uptime.get(),
        }
    }

    pub(crate) fn body_offset(&self, r: &RecordRef) -> usize {
        ring::wrap::<N>(r.offset, HEADER_LEN)
    }

    pub(crate) fn next_offset(&self, r: &RecordRef) -> usize {
        ring::wrap::<N>(
            r.offset,
            ring::reduce::<N>(HEADER_LEN.saturating_add(r.len)),
        )
    }

    /// Commits a record whose body is already at `tail + HEADER_LEN`.
    fn commit(&mut self, len: usize, task: TaskId, uptime: u64) -> Ena {
        let at = self.tail();
        self.ring_write(at, &Self::header_bytes(len, task, uptime));
        // At most N (the record was checked to fit).
        self.hdr.used = U32::new(
            self.hdr
                .used
                .get()
                .saturating_add((HEADER_LEN.saturating_add(len)) as u32),
        );
        let ena = Ena(self.hdr.next.get());
        // One ENA per stored record: 2^64 of them will not happen.
        self.hdr.next = U64::new(ena.0.wrapping_add(1));
        self.stats.stored = self.stats.stored.saturating_add(1);
        ena
    }

    /// Writes a `{"lost": count}` record if it fits.
    fn insert_lost(&mut self, count: Option<u32>, uptime: u64) -> bool {
        let len = lost_record_len(count);
        if self.free_bytes() < HEADER_LEN.saturating_add(len) {
            return false;
        }
        // {"lost": n} or {"lost": null}: a one-entry map, the key, the value.
        let mut body = [0u8; 6 + 9];
        let (key, value) = body.split_at_mut(6);
        key.copy_from_slice(&[0xa1, 0x64, b'l', b'o', b's', b't']);
        match (count, <&mut [u8; 9]>::try_from(value)) {
            (Some(n), Ok(value)) => {
                encode_head(0, u64::from(n), value);
            }
            (None, Ok(value)) => value[0] = 0xf6,
            (_, Err(_)) => return false,
        }
        let at = ring::wrap::<N>(self.tail(), HEADER_LEN);
        self.ring_write(at, body.get(..len).unwrap_or(&[]));
        self.commit(len, self.own_id(), uptime);
        self.stats.loss_records = self.stats.loss_records.saturating_add(1);
        true
    }

    fn count_loss(&mut self, uptime: u64) {
        self.hdr.losing = 1;
        self.hdr.last_loss_uptime = U64::new(uptime);
        self.hdr.pending_losses = U32::new(self.hdr.pending_losses.get().saturating_add(1));
        self.stats.lost = self.stats.lost.saturating_add(1);
    }

    /// Writes the pending loss record, stamped with the uptime of the most
    /// recent loss, if it fits. Out of line and cold: the read and flush
    /// paths call it on every request, and it rarely has work to do.
    #[cold]
    #[inline(never)]
    pub(crate) fn report_losses(&mut self) {
        if self.losing()
            && self.insert_lost(
                Some(self.hdr.pending_losses.get()),
                self.hdr.last_loss_uptime.get(),
            )
        {
            self.hdr.losing = 0;
            self.hdr.pending_losses = U32::ZERO;
        }
    }

    /// Room for the pending loss record, if any is pending.
    fn loss_record_room(&self) -> usize {
        if self.losing() {
            HEADER_LEN.saturating_add(lost_record_len(Some(self.hdr.pending_losses.get())))
        } else {
            0
        }
    }

    /// Stores a record of at most `body_len` bytes, writing a pending loss
    /// record first.
    ///
    /// `copy` writes the body at the ring offset it is given (into free
    /// space) and returns its real length; if it fails, nothing is committed
    /// (not even the loss record), so a failed copy leaves the store exactly
    /// as it was. If the record does not fit, the loss is counted; if just
    /// the pending loss record fits, it is written then.
    fn insert<E>(
        &mut self,
        sender: TaskId,
        uptime: u64,
        body_len: usize,
        on_full: OnFull,
        copy: impl FnOnce(&mut Self, usize) -> Result<usize, E>,
    ) -> Result<Ena, InsertError<E>> {
        self.ensure_init(uptime);
        let need = HEADER_LEN.saturating_add(body_len);
        let loss_room = self.loss_record_room();
        if self.free_bytes() < loss_room.saturating_add(need) {
            if on_full == OnFull::Defer {
                return Err(InsertError::Full);
            }
            // If only the loss record fits, write it now: the loss it
            // reports is already final, and this one starts a new count.
            if self.losing() && self.free_bytes() >= loss_room {
                self.report_losses();
            }
            self.count_loss(uptime);
            return Err(InsertError::Full);
        }
        // Body goes after the (pending) loss record and this header.
        let body_at = ring::wrap::<N>(
            self.tail(),
            ring::reduce::<N>(loss_room.saturating_add(HEADER_LEN)),
        );
        let len = copy(self, body_at)
            .map_err(InsertError::Copy)?
            .min(body_len);
        // Fits: checked above, and the body lies beyond it.
        self.report_losses();
        Ok(self.commit(len, sender, uptime))
    }

    /// Stores an ereport body lent by `sender`, copying it from the lease
    /// straight into ring space (two reads when it wraps), and returns its
    /// ENA. If the lender goes away mid-copy the store is exactly as before.
    pub fn deliver<L: ReadLease + ?Sized>(
        &mut self,
        sender: TaskId,
        uptime: u64,
        body: &L,
    ) -> Result<Ena, IngestError> {
        let len = body.len();
        if len == 0 {
            self.stats.refused_empty = self.stats.refused_empty.saturating_add(1);
            return Err(IngestError::Empty);
        }
        if len > MAX_EREPORT_LEN {
            self.stats.refused_too_long = self.stats.refused_too_long.saturating_add(1);
            return Err(IngestError::TooLong);
        }
        #[cfg(feature = "task-share")]
        if self.task_share != 0 && self.over_share(sender, len) {
            self.refuse_over_share(sender, uptime);
            return Err(IngestError::OverShare);
        }
        let r = self.insert(sender, uptime, len, OnFull::CountLoss, |s, at| {
            let (a, b) = ring::ranges::<N>(at, len);
            let split = a.len();
            let dst = s.buf.get_mut(a).ok_or(AccessError::OutOfBounds)?;
            body.read_at(0, dst)?;
            if !b.is_empty() {
                let dst = s.buf.get_mut(b).ok_or(AccessError::OutOfBounds)?;
                body.read_at(split, dst)?;
            }
            Ok::<usize, AccessError>(len)
        });
        r.map_err(|e| match e {
            InsertError::Full => IngestError::Full,
            InsertError::Copy(_) => {
                self.stats.went_away = self.stats.went_away.saturating_add(1);
                IngestError::WentAway
            }
        })
    }

    /// Limits how much of the store one task may hold: at most `bytes`,
    /// record headers included (for example `N / 2`). A task at its share
    /// has further deliveries refused ([`IngestError::OverShare`]) and
    /// counted as losses, so a flapping or buggy producer fills only its
    /// share while the others still get space. 0 removes the limit (the
    /// default). Packrat's own records (losses, task faults) are not
    /// limited.
    ///
    /// Behind the `task-share` feature, so images that do not use it pay
    /// nothing for it.
    #[cfg(feature = "task-share")]
    pub fn set_task_share(&mut self, bytes: usize) {
        self.task_share = u32::try_from(bytes).unwrap_or(u32::MAX);
    }

    /// Share refusals by task index; index [`SHARE_STAT_TASKS`]` - 1`
    /// counts that task and every higher one.
    #[cfg(feature = "task-share")]
    pub fn share_refusals(&self) -> &[u16; SHARE_STAT_TASKS] {
        &self.share_refusals
    }

    /// Bytes (headers included) the records of task `index` hold.
    pub fn bytes_held_by(&self, index: u16) -> usize {
        // A walk over record headers reading only each one's length and
        // task index: O(records), and small, since deliveries run it.
        let mut at = self.head();
        let mut held = 0usize;
        for _ in 0..self.len() {
            let size = HEADER_LEN.saturating_add(self.len_at(at));
            let lo = self.buf.get(ring::wrap::<N>(at, 2)).copied().unwrap_or(0);
            let hi = self.buf.get(ring::wrap::<N>(at, 3)).copied().unwrap_or(0);
            if u16::from_le_bytes([lo, hi]) == index {
                held = held.saturating_add(size);
            }
            at = ring::wrap::<N>(at, ring::reduce::<N>(size));
        }
        held
    }

    /// Counts a delivery refused for the sender's share as a loss.
    #[cfg(feature = "task-share")]
    #[cold]
    #[inline(never)]
    fn refuse_over_share(&mut self, sender: TaskId, uptime: u64) {
        // A store not yet initialised holds nothing, so only a share
        // smaller than one record refuses here; the loss is counted all
        // the same, and reported after the initial record.
        self.count_loss(uptime);
        self.stats.refused_over_share = self.stats.refused_over_share.saturating_add(1);
        let slot = usize::from(sender.index).min(SHARE_STAT_TASKS.saturating_sub(1));
        if let Some(n) = self.share_refusals.get_mut(slot) {
            *n = n.saturating_add(1);
        }
    }

    /// Whether a `len`-byte body from `sender` would take it past its
    /// share. The records are walked only when the store holds more than
    /// a share in all, so below that the check costs one comparison.
    #[cfg(feature = "task-share")]
    #[inline(never)]
    fn over_share(&self, sender: TaskId, len: usize) -> bool {
        let share = self.task_share as usize;
        if share == 0 {
            return false;
        }
        let need = HEADER_LEN.saturating_add(len);
        if self.used_bytes().saturating_add(need) <= share {
            return false;
        }
        self.bytes_held_by(sender.index).saturating_add(need) > share
    }

    /// Stores a body that packrat encodes itself (task faults), straight
    /// into ring space. `max_len` bounds the encoding; the record takes only
    /// what was written.
    /// If it does not fit, nothing changes and no loss is counted: the
    /// caller keeps what it wanted to record and tries again later.
    pub(crate) fn insert_encoded(
        &mut self,
        sender: TaskId,
        uptime: u64,
        max_len: usize,
        encode: impl FnOnce(
            &mut Encoder<RingWriter<'_>>,
        ) -> Result<(), minicbor::encode::Error<RingFull>>,
    ) -> Result<Ena, IngestError> {
        let r = self.insert(sender, uptime, max_len, OnFull::Defer, |s, at| {
            let mut e = Encoder::new(RingWriter {
                buf: &mut s.buf,
                at,
                len: 0,
                cap: max_len,
            });
            encode(&mut e).map_err(|_| RingFull)?;
            Ok::<usize, RingFull>(e.writer().len)
        });
        r.map_err(|_| IngestError::Full)
    }

    /// Frees every record up to and including `ena`, walking headers:
    /// O(records freed). An ENA below the earliest, or never issued, frees
    /// nothing. Returns how many records were freed.
    ///
    /// If losses are pending and the flush made room, the loss record is
    /// written at once, so the gateway hears of the losses without waiting
    /// for another ereport to arrive.
    pub fn flush_thru(&mut self, ena: Ena) -> usize {
        let (earliest, next) = (self.hdr.earliest.get(), self.hdr.next.get());
        if ena.0 < earliest || ena.0 >= next {
            return 0;
        }
        // earliest <= ena < next: at most the number of stored records,
        // which fits a usize (each takes at least a header of the ring).
        let n = (ena.0.wrapping_sub(earliest) as usize).wrapping_add(1);
        let mut head = self.head();
        let mut used = self.used_bytes();
        for _ in 0..n {
            let size = HEADER_LEN.saturating_add(self.len_at(head));
            head = ring::wrap::<N>(head, ring::reduce::<N>(size));
            used = used.saturating_sub(size);
        }
        // Below `next`, so it cannot overflow.
        self.hdr.earliest = U64::new(ena.0.wrapping_add(1));
        // Even when the store empties, the head stays where the last record
        // ended: the freed space before it then always holds the history
        // contiguously, ENA by ENA, which is what lets a post-mortem reader
        // (ereport-dump --recover) label what it recovers. Moving it back to
        // 0 saved a wrap now and then, and made those labels guesses.
        // Both below N <= u32::MAX (FITS).
        self.hdr.head = U32::new(head as u32);
        self.hdr.used = U32::new(used as u32);
        self.stats.flushed = self.stats.flushed.saturating_add(n as u32);
        self.report_losses();
        n
    }

    /// Records from `start` (clamped to the earliest), oldest first.
    pub(crate) fn records_from(&self, start: Ena) -> Records<'_, N, T> {
        let mut it = Records {
            store: self,
            offset: self.head(),
            ena: self.hdr.earliest.get(),
        };
        // Records to skip: from the earliest up to `start` (or all of them).
        let skip = start
            .0
            .min(self.hdr.next.get())
            .saturating_sub(self.hdr.earliest.get());
        for _ in 0..skip {
            let size = HEADER_LEN.saturating_add(self.len_at(it.offset));
            it.offset = ring::wrap::<N>(it.offset, ring::reduce::<N>(size));
        }
        // earliest + skip <= next.
        it.ena = it.ena.wrapping_add(skip);
        it
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum OnFull {
    /// The ereport is lost: count it for the next loss record.
    CountLoss,
    /// The caller keeps it and retries; change nothing.
    Defer,
}

pub(crate) enum InsertError<E> {
    Full,
    Copy(E),
}

/// Iterates over stored records.
pub(crate) struct Records<'a, const N: usize, T: TaskTable> {
    store: &'a Store<N, T>,
    offset: usize,
    ena: u64,
}

impl<const N: usize, T: TaskTable> Iterator for Records<'_, N, T> {
    type Item = (Ena, RecordRef);

    // One caller, the response encoder's loop: inlined there, the record
    // is not returned through memory.
    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.ena >= self.store.hdr.next.get() {
            return None;
        }
        let r = self.store.record_at(self.offset);
        let ena = Ena(self.ena);
        self.offset = self.store.next_offset(&r);
        // Below `next` (checked above).
        self.ena = self.ena.wrapping_add(1);
        Some((ena, r))
    }
}
