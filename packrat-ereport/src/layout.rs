//! The store's in-memory layout, as a documented and versioned format for
//! readers of memory images (`ereport-dump`, a debugger): a fixed header
//! directly followed by the ring.
//!
//! A [`Store`](crate::Store) is `#[repr(C)]`: its [`RingHeader`] comes
//! first, then the ring's `N` bytes, then counters a reader need not know.
//! The header is the store's own bookkeeping (nothing is kept twice), all
//! zeroes until the store's first use, so a store in a `static` still lands
//! in `.bss`. Integers are little-endian (the SP's byte order); offsets
//! below are from the header's start, which is 8-byte aligned.
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 8 | magic, [`MAGIC`] (all zeroes: not initialised) |
//! | 8 | 2 | layout version, [`LAYOUT_VERSION`] |
//! | 10 | 2 | record header length, [`HEADER_LEN`](crate::HEADER_LEN) (13) |
//! | 12 | 4 | capacity: the ring's length `N` |
//! | 16 | 4 | ring offset of the oldest record |
//! | 20 | 4 | bytes in use from there (headers included), wrapping |
//! | 24 | 8 | ENA of the oldest record (equal to the next ENA when empty) |
//! | 32 | 8 | the next ENA |
//! | 40 | 16 | restart id (0: not set) |
//! | 56 | 4 | losses not yet reported by a loss record |
//! | 60 | 1 | losing: 1 while losses are pending |
//! | 61 | 1 | packrat's task generation |
//! | 62 | 2 | packrat's task index (the sender of loss records) |
//! | 64 | 8 | uptime of the most recent loss, ms |
//! | 72 | `N` | the ring |
//!
//! Each record in the ring is a 13-byte header (body length `u16`, task
//! index `u16`, task generation `u8`, uptime `u64` ms) and the body, back to
//! back, wrapping at any byte. The record at the oldest offset has the
//! oldest ENA; each following record the next.
//!
//! # Versions
//!
//! A reader may rely on everything above for layout version 1. Any change
//! to it (a field moved, resized or given another meaning, the record
//! header changed) comes with a new [`LAYOUT_VERSION`], and a reader
//! refuses versions it does not know. `docs/dump.md` says the same for
//! readers outside this workspace.

use core::mem::{align_of, offset_of, size_of};

use zerocopy::little_endian::{U16, U32, U64, U128};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// The header's first eight bytes once the store is initialised.
pub const MAGIC: [u8; 8] = *b"EREPORT1";

/// The layout version this crate writes.
pub const LAYOUT_VERSION: u16 = 1;

/// Bytes of the [`RingHeader`]; the ring follows at this offset.
pub const RING_HEADER_LEN: usize = 72;

/// The store's header: its bookkeeping, in a fixed little-endian layout
/// (see the module docs). Declared once, as a `zerocopy` type, and read by
/// every reader of a memory image through it
/// ([`RingHeader::read_from_bytes`](FromBytes::read_from_bytes)). Its
/// fields are public for readers; a store hands out only `&RingHeader`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, align(8))]
pub struct RingHeader {
    /// [`MAGIC`] once initialised, all zeroes before.
    pub magic: [u8; 8],
    /// [`LAYOUT_VERSION`].
    pub version: U16,
    /// [`RECORD_HEADER_LEN`].
    pub record_header_len: U16,
    /// The ring's length, `N`.
    pub capacity: U32,
    /// Ring offset of the oldest record.
    pub head: U32,
    /// Bytes in use from `head`, headers included, wrapping.
    pub used: U32,
    /// ENA of the record at `head` (equal to `next` when empty).
    pub earliest: U64,
    /// ENA the next record gets; 0 until initialised.
    pub next: U64,
    /// This boot's restart id; 0 until set.
    pub restart_id: U128,
    /// Losses not yet reported by a loss record.
    pub pending_losses: U32,
    /// 1 while losses are pending (a count of 0 can't say "lost a lot").
    pub losing: u8,
    /// Packrat's task generation (the sender of loss records).
    pub own_generation: u8,
    /// Packrat's task index.
    pub own_index: U16,
    /// Uptime of the most recent loss, ms: the loss record's uptime.
    pub last_loss_uptime: U64,
}

const _: () = {
    assert!(size_of::<RingHeader>() == RING_HEADER_LEN);
    // Readers search 8-byte-aligned addresses for the magic.
    assert!(align_of::<RingHeader>() == 8);
    assert!(offset_of!(RingHeader, version) == 8);
    assert!(offset_of!(RingHeader, record_header_len) == 10);
    assert!(offset_of!(RingHeader, capacity) == 12);
    assert!(offset_of!(RingHeader, head) == 16);
    assert!(offset_of!(RingHeader, used) == 20);
    assert!(offset_of!(RingHeader, earliest) == 24);
    assert!(offset_of!(RingHeader, next) == 32);
    assert!(offset_of!(RingHeader, restart_id) == 40);
    assert!(offset_of!(RingHeader, pending_losses) == 56);
    assert!(offset_of!(RingHeader, losing) == 60);
    assert!(offset_of!(RingHeader, own_generation) == 61);
    assert!(offset_of!(RingHeader, own_index) == 62);
    assert!(offset_of!(RingHeader, last_loss_uptime) == 64);
};

impl RingHeader {
    /// All zeroes: an uninitialised store.
    pub(crate) const ZERO: RingHeader = RingHeader {
        magic: [0; 8],
        version: U16::ZERO,
        record_header_len: U16::ZERO,
        capacity: U32::ZERO,
        head: U32::ZERO,
        used: U32::ZERO,
        earliest: U64::ZERO,
        next: U64::ZERO,
        restart_id: U128::ZERO,
        pending_losses: U32::ZERO,
        losing: 0,
        own_generation: 0,
        own_index: U16::ZERO,
        last_loss_uptime: U64::ZERO,
    };

    /// The header's bytes as a reader finds them in memory.
    pub fn to_bytes(&self) -> [u8; RING_HEADER_LEN] {
        let mut out = [0u8; RING_HEADER_LEN];
        out.copy_from_slice(self.as_bytes());
        out
    }
}

/// Bytes of a record's header in the ring.
pub const RECORD_HEADER_LEN: usize = 13;

/// The header of each record in the ring: the body's length, the sending
/// task and the uptime it was stored at. Unaligned (records sit at any
/// byte) and possibly split by the ring's end, so it is read and written as
/// bytes through this one type.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned,
)]
#[repr(C)]
pub struct RecordHeader {
    /// The body's length.
    pub len: U16,
    /// The sending task's index.
    pub task_index: U16,
    /// The sending task's generation.
    pub task_generation: u8,
    /// Uptime when stored, ms.
    pub uptime: U64,
}

const _: () = {
    assert!(size_of::<RecordHeader>() == RECORD_HEADER_LEN);
    assert!(offset_of!(RecordHeader, task_index) == 2);
    assert!(offset_of!(RecordHeader, task_generation) == 4);
    assert!(offset_of!(RecordHeader, uptime) == 5);
};

impl RecordHeader {
    /// A header for a body of `len` bytes from `task` at `uptime`.
    pub fn new(len: u16, task_index: u16, task_generation: u8, uptime: u64) -> Self {
        Self {
            len: U16::new(len),
            task_index: U16::new(task_index),
            task_generation,
            uptime: U64::new(uptime),
        }
    }

    /// The header in `bytes`.
    pub fn from_array(bytes: [u8; RECORD_HEADER_LEN]) -> Self {
        zerocopy::transmute!(bytes)
    }

    /// The header's bytes.
    pub fn to_array(self) -> [u8; RECORD_HEADER_LEN] {
        zerocopy::transmute!(self)
    }
}
