//! Reads packrat's ereport store out of an SP's memory image: after a hang,
//! with the network down, or from a crash dump, the ereports are still in
//! RAM.
//!
//! The store's layout is a documented, versioned format
//! (`packrat_ereport::layout`, and `docs/dump.md`): a 72-byte header (magic,
//! layout version, capacity, oldest offset, bytes used, oldest and next
//! ENA, restart id, loss state) followed by the ring. This crate:
//!
//! - finds the store in an image: at an address, or by a symbol of the
//!   firmware ELF ([`elf`]), searching the symbol's bytes for the header's
//!   magic (the store may sit inside a `Mutex` or `RefCell`);
//! - walks the held records from the oldest, checking every length against
//!   the bytes in use, and stops with a [`Damage`] note at the first record
//!   that does not add up, instead of guessing ([`read_store`]);
//! - with `recover`, scans the freed part of the ring for intact records
//!   left behind by commits (a header whose body is one whole CBOR map), and
//!   gives them ENAs where a chain of them ends at the oldest held record.
//!
//! Nothing here panics on any image: every access is checked.

pub mod elf;

use ereport_sdk::decode::{Value, decode_value};
use ereport_sdk::{Ena, MAX_EREPORT_LEN, RestartId};
use packrat_ereport::layout::{
    LAYOUT_VERSION, MAGIC, RECORD_HEADER_LEN as HEADER_LEN, RING_HEADER_LEN, RecordHeader,
    RingHeader,
};
use zerocopy::FromBytes;

/// A memory image: bytes that were at `base` and up.
#[derive(Clone, Debug)]
pub struct Image {
    /// The address of the first byte.
    pub base: u64,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Why no store could be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DumpError {
    /// The address is not inside the image.
    #[error("address {addr:#x} is outside the image ({base:#x} to {end:#x})")]
    OutsideImage {
        /// The address.
        addr: u64,
        /// The image's first address.
        base: u64,
        /// One past its last.
        end: u64,
    },
    /// No initialised store header in the range searched.
    #[error(
        "no ereport store at {addr:#x} (searched {len} bytes for the magic {magic:?}): wrong address, or the store was never used"
    )]
    NoStore {
        /// Where the search started.
        addr: u64,
        /// How far it went.
        len: u64,
        /// What it looked for.
        magic: &'static str,
    },
    /// A range (a symbol's) that runs past the image's end.
    #[error(
        "{len} bytes at {addr:#x} run past the image's end {end:#x}: the symbol is not in this image, or its size is wrong"
    )]
    PastImage {
        /// Where the range starts.
        addr: u64,
        /// Its length.
        len: u64,
        /// One past the image's last address.
        end: u64,
    },
    /// A layout this reader does not know.
    #[error("store layout version {0}; this reader knows version {LAYOUT_VERSION}")]
    UnknownVersion(u16),
    /// The header's fields contradict each other or the image.
    #[error("corrupt store header: {0}")]
    BadHeader(String),
}

/// Where a walk stopped early, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// The ENA whose record did not add up.
    pub at: Ena,
    /// What was wrong.
    pub reason: String,
}

/// The store's header, as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The address of the header.
    pub addr: u64,
    /// The ring's length.
    pub capacity: usize,
    /// Ring offset of the oldest record.
    pub head: usize,
    /// Bytes in use.
    pub used: usize,
    /// ENA of the oldest record.
    pub earliest: Ena,
    /// The next ENA.
    pub next: Ena,
    /// The restart id (0: not set).
    pub restart_id: RestartId,
    /// Losses not yet reported (while losing).
    pub pending_losses: Option<u32>,
    /// Packrat's task index.
    pub own_index: u16,
}

/// One record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Its ENA, if known (held records always; recovered ones when they
    /// chain up to the oldest held record).
    pub ena: Option<Ena>,
    /// The task index that sent it.
    pub task: u16,
    /// The task's generation.
    pub generation: u8,
    /// Uptime when stored, ms.
    pub uptime_ms: u64,
    /// The body.
    pub body: Vec<u8>,
    /// Found in freed space (already committed), not held.
    pub recovered: bool,
    /// Ring offset of the record's header.
    pub offset: usize,
}

/// What was read out of the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dump {
    /// The header.
    pub header: Header,
    /// Held records, oldest first, then recovered ones.
    pub records: Vec<Record>,
    /// Where the walk of held records stopped early, if it did.
    pub damage: Option<Damage>,
}

impl Image {
    /// `len` bytes at `addr`, if they are all in the image.
    pub fn at(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let start = usize::try_from(addr.checked_sub(self.base)?).ok()?;
        self.bytes.get(start..start.checked_add(len)?)
    }

    /// One past the image's last address.
    pub fn end(&self) -> u64 {
        self.base.saturating_add(self.bytes.len() as u64)
    }
}

/// Finds an initialised store header in the `len` bytes from `addr` (at
/// 8-byte-aligned addresses, where the header sits). A range that runs past
/// the image's end is refused at once, whatever its length: a symbol's size
/// comes from a file and may be anything.
pub fn find_store(image: &Image, addr: u64, len: u64) -> Result<u64, DumpError> {
    if image.at(addr, 1).is_none() {
        return Err(DumpError::OutsideImage {
            addr,
            base: image.base,
            end: image.end(),
        });
    }
    let last = addr
        .checked_add(len)
        .filter(|l| *l <= image.end())
        .ok_or(DumpError::PastImage {
            addr,
            len,
            end: image.end(),
        })?;
    // At most `len / 8` steps, and `len` is within the image.
    let mut at = addr.checked_next_multiple_of(8);
    while let Some(a) = at.filter(|a| *a < last) {
        if image.at(a, MAGIC.len()) == Some(&MAGIC[..]) {
            return Ok(a);
        }
        at = a.checked_add(8);
    }
    Err(DumpError::NoStore {
        addr,
        len,
        magic: "EREPORT1",
    })
}

/// Reads the header at `addr` and checks it against itself and the image.
pub fn read_header(image: &Image, addr: u64) -> Result<(Header, &[u8]), DumpError> {
    let bytes = image
        .at(addr, RING_HEADER_LEN)
        .ok_or(DumpError::OutsideImage {
            addr,
            base: image.base,
            end: image.end(),
        })?;
    // The store's own header type, read from the image's bytes.
    let h = RingHeader::read_from_bytes(bytes)
        .map_err(|_| DumpError::BadHeader(format!("{} header bytes at {addr:#x}", bytes.len())))?;
    if h.magic != MAGIC {
        return Err(DumpError::NoStore {
            addr,
            len: 8,
            magic: "EREPORT1",
        });
    }
    if h.version.get() != LAYOUT_VERSION {
        return Err(DumpError::UnknownVersion(h.version.get()));
    }
    let bad = |what: String| Err(DumpError::BadHeader(what));
    if usize::from(h.record_header_len.get()) != HEADER_LEN {
        return bad(format!(
            "record header length {}, not {HEADER_LEN}",
            h.record_header_len
        ));
    }
    let capacity = h.capacity.get() as usize;
    let (head, used) = (h.head.get() as usize, h.used.get() as usize);
    let (earliest, next) = (h.earliest.get(), h.next.get());
    if capacity < HEADER_LEN {
        return bad(format!("capacity {capacity} holds no record"));
    }
    if head >= capacity || used > capacity {
        return bad(format!(
            "oldest record at {head} with {used} bytes used, in a ring of {capacity}"
        ));
    }
    if next == 0 || earliest > next || earliest == 0 {
        return bad(format!("oldest ENA {earliest}, next ENA {next}"));
    }
    let held = next - earliest;
    if held.saturating_mul(HEADER_LEN as u64) > used as u64 || (held == 0) != (used == 0) {
        return bad(format!("{held} records in {used} bytes"));
    }
    let ring = image
        .at(addr.saturating_add(RING_HEADER_LEN as u64), capacity)
        .ok_or_else(|| {
            DumpError::BadHeader(format!(
                "a ring of {capacity} bytes at {:#x} runs past the image's end {:#x}",
                addr + RING_HEADER_LEN as u64,
                image.end()
            ))
        })?;
    let header = Header {
        addr,
        capacity,
        head,
        used,
        earliest: Ena(earliest),
        next: Ena(next),
        restart_id: RestartId(h.restart_id.get()),
        pending_losses: (h.losing == 1).then(|| h.pending_losses.get()),
        own_index: h.own_index.get(),
    };
    Ok((header, ring))
}

/// `n` bytes of the ring from `at`, wrapping.
fn ring_copy(ring: &[u8], at: usize, n: usize) -> Option<Vec<u8>> {
    let cap = ring.len();
    if n > cap || at >= cap {
        return None;
    }
    let first = n.min(cap - at);
    let mut out = ring.get(at..at + first)?.to_vec();
    out.extend_from_slice(ring.get(..n - first)?);
    Some(out)
}

/// A record header and body at `at`, if its length fits `room`.
fn record_at(ring: &[u8], at: usize, room: usize) -> Result<Record, String> {
    let h = ring_copy(ring, at, HEADER_LEN)
        .and_then(|b| RecordHeader::read_from_bytes(&b).ok())
        .ok_or("header outside the ring")?;
    let len = usize::from(h.len.get());
    if len > MAX_EREPORT_LEN {
        return Err(format!(
            "body length {len} is over the {MAX_EREPORT_LEN}-byte maximum"
        ));
    }
    if HEADER_LEN + len > room {
        return Err(format!(
            "a {len}-byte body runs past the {room} bytes left in use"
        ));
    }
    let body =
        ring_copy(ring, (at + HEADER_LEN) % ring.len(), len).ok_or("body outside the ring")?;
    Ok(Record {
        ena: None,
        task: h.task_index.get(),
        generation: h.task_generation,
        uptime_ms: h.uptime.get(),
        body,
        recovered: false,
        offset: at,
    })
}

/// Reads the store whose header is at `addr`: the held records, oldest
/// first, then (with `recover`) intact records from the freed space.
pub fn read_store(image: &Image, addr: u64, recover: bool) -> Result<Dump, DumpError> {
    let (header, ring) = read_header(image, addr)?;
    let cap = header.capacity;
    let mut records = Vec::new();
    let mut damage = None;
    let mut at = header.head;
    let mut room = header.used;
    let mut ena = header.earliest.0;
    while ena < header.next.0 {
        match record_at(ring, at, room) {
            Ok(mut r) => {
                r.ena = Some(Ena(ena));
                let size = HEADER_LEN + r.body.len();
                room -= size;
                at = (at + size) % cap;
                records.push(r);
                ena += 1;
            }
            Err(reason) => {
                damage = Some(Damage {
                    at: Ena(ena),
                    reason,
                });
                break;
            }
        }
    }
    if damage.is_none() && room != 0 {
        damage = Some(Damage {
            at: header.next,
            reason: format!("{room} bytes in use after the last record"),
        });
    }
    if recover {
        // Recovered records come before the oldest held one in time.
        let newest_after = records.first().map_or(u64::MAX, |r| r.uptime_ms);
        records.extend(recover_freed(ring, &header, newest_after));
    }
    Ok(Dump {
        header,
        records,
        damage,
    })
}

/// Intact records in the freed part of the ring (from the end of the held
/// records around to the oldest one). A record counts if its body is one
/// whole CBOR map of exactly its length; chains of them are followed.
///
/// Packrat never moves its head back when it empties, so the freed space
/// right before the oldest held record holds the records just before it,
/// back to back. The chain that ends exactly there gets the ENAs below the
/// oldest held one, as far back as it stays whole and in time order (each
/// record's uptime at most the next one's, the last at most
/// `newest_after`): a run of bytes that only happens to parse as a record
/// is not labelled.
fn recover_freed(ring: &[u8], header: &Header, newest_after: u64) -> Vec<Record> {
    let cap = header.capacity;
    let free = cap - header.used;
    let start = (header.head + header.used) % cap;
    let mut found: Vec<(usize, Record)> = Vec::new();
    let mut pos = 0;
    while pos + HEADER_LEN <= free {
        let at = (start + pos) % cap;
        match record_at(ring, at, free - pos) {
            Ok(r) if matches!(decode_value(&r.body), Ok(Value::Map(_))) => {
                let size = HEADER_LEN + r.body.len();
                found.push((
                    pos,
                    Record {
                        recovered: true,
                        ..r
                    },
                ));
                pos += size;
            }
            _ => pos += 1,
        }
    }
    // The chain ending exactly at the oldest held record (at `free`).
    let mut end = free;
    let mut ena = header.earliest.0;
    let mut later = newest_after;
    for (pos, r) in found.iter_mut().rev() {
        if *pos + HEADER_LEN + r.body.len() != end || ena <= 1 || r.uptime_ms > later {
            break;
        }
        ena -= 1;
        r.ena = Some(Ena(ena));
        end = *pos;
        later = r.uptime_ms;
    }
    found.into_iter().map(|(_, r)| r).collect()
}
