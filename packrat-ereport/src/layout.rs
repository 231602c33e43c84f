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

use core::mem::{offset_of, size_of};

/// The header's first eight bytes once the store is initialised.
pub const MAGIC: [u8; 8] = *b"EREPORT1";

/// The layout version this crate writes.
pub const LAYOUT_VERSION: u16 = 1;

/// Bytes of the [`RingHeader`]; the ring follows at this offset.
pub const RING_HEADER_LEN: usize = 72;

/// The store's header: its bookkeeping, in a fixed layout (see the module
/// docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct RingHeader {
    pub(crate) magic: [u8; 8],
    pub(crate) version: u16,
    pub(crate) record_header_len: u16,
    pub(crate) capacity: u32,
    /// Ring offset of the oldest record.
    pub(crate) head: u32,
    /// Bytes in use from `head`.
    pub(crate) used: u32,
    /// ENA of the record at `head` (equal to `next` when empty).
    pub(crate) earliest: u64,
    /// ENA the next record gets; 0 until initialised.
    pub(crate) next: u64,
    /// This boot's restart id, little-endian; 0 until set.
    pub(crate) restart_id: [u8; 16],
    /// Losses not yet reported by a loss record.
    pub(crate) pending_losses: u32,
    /// 1 while losses are pending (a count of 0 can't say "lost a lot").
    pub(crate) losing: u8,
    pub(crate) own_generation: u8,
    pub(crate) own_index: u16,
    /// Uptime of the most recent loss: the loss record's uptime.
    pub(crate) last_loss_uptime: u64,
}

const _: () = {
    assert!(size_of::<RingHeader>() == RING_HEADER_LEN);
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
        version: 0,
        record_header_len: 0,
        capacity: 0,
        head: 0,
        used: 0,
        earliest: 0,
        next: 0,
        restart_id: [0; 16],
        pending_losses: 0,
        losing: 0,
        own_generation: 0,
        own_index: 0,
        last_loss_uptime: 0,
    };

    /// The header's bytes as a reader finds them in memory (little-endian).
    pub fn to_bytes(&self) -> [u8; RING_HEADER_LEN] {
        let mut out = [0u8; RING_HEADER_LEN];
        let fields: [(usize, &[u8]); 14] = [
            (0, &self.magic),
            (8, &self.version.to_le_bytes()),
            (10, &self.record_header_len.to_le_bytes()),
            (12, &self.capacity.to_le_bytes()),
            (16, &self.head.to_le_bytes()),
            (20, &self.used.to_le_bytes()),
            (24, &self.earliest.to_le_bytes()),
            (32, &self.next.to_le_bytes()),
            (40, &self.restart_id),
            (56, &self.pending_losses.to_le_bytes()),
            (60, &[self.losing]),
            (61, &[self.own_generation]),
            (62, &self.own_index.to_le_bytes()),
            (64, &self.last_loss_uptime.to_le_bytes()),
        ];
        for (at, bytes) in fields {
            if let Some(dst) = out.get_mut(at..at.saturating_add(bytes.len())) {
                dst.copy_from_slice(bytes);
            }
        }
        out
    }
}
