//! The traits the derives implement, and their implementations for the field
//! types an ereport may hold.
//!
//! Every implementation carries a *static* maximum encoded length. The
//! arithmetic is done in `u64` with saturation and clamped to `usize` last,
//! so it is the same on a 32-bit SP as on a 64-bit host and cannot overflow
//! in either (a saturated length is then refused by the 1024-byte check).

use minicbor::Encoder;

use crate::schema::{ClassSchema, TypeSchema};
use crate::writer::SliceWriter;
use minicbor::encode::{Error, Write};

/// Longest task name packrat writes into a response, in bytes.
pub const MAX_TASK_NAME_LEN: usize = 32;

/// Largest ereport body, in bytes: the longest body that a response of
/// [`MAX_RESPONSE_LEN`](crate::wire::MAX_RESPONSE_LEN) bytes can always
/// carry. Packrat refuses longer bodies (a stored body that no response can
/// carry would block every ENA behind it), and a derived ereport whose
/// maximum encoded length exceeds this does not compile.
///
/// A response holds the 26-byte header, an empty metadata map (2 bytes),
/// the entry array's framing (2) and one entry: its array head (1), the
/// longest task name as text (2 + 32), the largest generation (2) and
/// uptime (9), and the body as a byte string (its head, then the body).
/// That leaves 945 bytes.
pub const MAX_EREPORT_LEN: usize = {
    use crate::wire::{MAX_RESPONSE_LEN, RESPONSE_HEADER_LEN};
    let entry_head = 1 + str_len(MAX_TASK_NAME_LEN) + head_len(u8::MAX as u64) + head_len(u64::MAX);
    let room = MAX_RESPONSE_LEN - RESPONSE_HEADER_LEN - 2 - 2 - entry_head;
    room - head_len(room as u64)
};
// The body's head is as long for the result as for the room it was taken
// from, so the arithmetic above is exact.
const _: () = assert!(head_len(MAX_EREPORT_LEN as u64) == head_len((MAX_EREPORT_LEN + 3) as u64));
const _: () = assert!(MAX_EREPORT_LEN == 945);

/// Bytes of the CBOR head (major type and argument) for argument `n`.
pub const fn head_len(n: u64) -> usize {
    if n < 24 {
        1
    } else if n <= u8::MAX as u64 {
        2
    } else if n <= u16::MAX as u64 {
        3
    } else if n <= u32::MAX as u64 {
        5
    } else {
        9
    }
}

/// Encodes the CBOR head of major type `major` (0..=7) with argument `n`
/// at the start of `out`, returning how many bytes it took (as [`head_len`]
/// says). `out` is a fixed 9-byte window (the longest head), so there are no
/// bounds checks and no calls: cheap enough for a hot path. Pass a window
/// into the destination buffer to write in place.
pub fn encode_head(major: u8, n: u64, out: &mut [u8; 9]) -> usize {
    // One compare chain, the same one `head_len` makes; each form converts
    // only the bytes it writes.
    let mt = major << 5;
    if n < 24 {
        out[0] = mt | n as u8;
        1
    } else if let Ok(n) = u8::try_from(n) {
        [out[0], out[1]] = [mt | 24, n];
        2
    } else if let Ok(n) = u16::try_from(n) {
        let [b0, b1] = n.to_be_bytes();
        [out[0], out[1], out[2]] = [mt | 25, b0, b1];
        3
    } else if let Ok(n) = u32::try_from(n) {
        let [b0, b1, b2, b3] = n.to_be_bytes();
        [out[0], out[1], out[2], out[3], out[4]] = [mt | 26, b0, b1, b2, b3];
        5
    } else {
        let [b0, b1, b2, b3, b4, b5, b6, b7] = n.to_be_bytes();
        *out = [mt | 27, b0, b1, b2, b3, b4, b5, b6, b7];
        9
    }
}

/// Bytes of a CBOR text string of `len` bytes, head included.
pub const fn str_len(len: usize) -> usize {
    sat_add(head_len(len as u64), len)
}

/// `a + b`, saturating at `usize::MAX`.
pub const fn sat_add(a: usize, b: usize) -> usize {
    a.saturating_add(b)
}

/// `a * b`, saturating at `usize::MAX`.
pub const fn sat_mul(a: usize, b: usize) -> usize {
    a.saturating_mul(b)
}

/// The larger of `a` and `b`.
pub const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

/// A message built at compile time, for the derive's errors that must name
/// numbers only known then (a class's bound, its largest fields).
#[doc(hidden)]
pub struct ConstMessage {
    buf: [u8; 480],
    len: usize,
}

// Evaluated at compile time only (the derive's error messages): an index or
// sum out of range here is a compile error, never a run-time panic.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
impl ConstMessage {
    /// An empty message.
    pub const fn new() -> Self {
        Self {
            buf: [0; 480],
            len: 0,
        }
    }

    /// The message with `s` appended (cut at the buffer's end, on a
    /// character boundary).
    pub const fn text(mut self, s: &str) -> Self {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() && self.len < self.buf.len() {
            // Whole characters only: stop before one that does not fit.
            if b[i] >= 0xc0 {
                let width = if b[i] >= 0xf0 {
                    4
                } else if b[i] >= 0xe0 {
                    3
                } else {
                    2
                };
                if self.len + width > self.buf.len() {
                    break;
                }
            }
            self.buf[self.len] = b[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    /// The message with `n` appended in decimal.
    pub const fn number(self, n: usize) -> Self {
        let mut digits = [0u8; 20];
        let mut count = 0;
        let mut x = n;
        loop {
            digits[count] = b'0' + (x % 10) as u8;
            count += 1;
            x /= 10;
            if x == 0 {
                break;
            }
        }
        let mut out = [0u8; 20];
        let mut i = 0;
        while i < count {
            out[i] = digits[count - 1 - i];
            i += 1;
        }
        match core::str::from_utf8(out.split_at(count).0) {
            Ok(s) => self.text(s),
            Err(_) => self,
        }
    }

    /// The text.
    pub const fn as_str(&self) -> &str {
        match core::str::from_utf8(self.buf.split_at(self.len).0) {
            Ok(s) => s,
            Err(_) => "",
        }
    }
}

impl Default for ConstMessage {
    fn default() -> Self {
        Self::new()
    }
}

/// The error of a class whose bound `len` passes [`MAX_EREPORT_LEN`]: the
/// bound, the limit, and the three largest of `fields` (key, most bytes
/// with the key), largest first.
#[doc(hidden)]
// Evaluated at compile time only.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
pub const fn too_long_message(name: &str, len: usize, fields: &[(&str, usize)]) -> ConstMessage {
    let mut m = ConstMessage::new()
        .text("ereport `")
        .text(name)
        .text("` can encode to ")
        .number(len)
        .text(" bytes, more than MAX_EREPORT_LEN (")
        .number(MAX_EREPORT_LEN)
        .text("), the longest body a response can always carry. Largest fields:");
    // The three largest, by repeated scans: each pick is the largest below
    // the previous one in (size, then earlier first) order.
    let mut prev: Option<(usize, usize)> = None;
    let mut picked = 0;
    while picked < 3 {
        let mut best: Option<usize> = None;
        let mut i = 0;
        while i < fields.len() {
            let below_prev = match prev {
                None => true,
                Some((size, at)) => fields[i].1 < size || (fields[i].1 == size && i > at),
            };
            let better = match best {
                None => true,
                Some(b) => fields[i].1 > fields[b].1,
            };
            if below_prev && better {
                best = Some(i);
            }
            i += 1;
        }
        let Some(b) = best else { break };
        m = m
            .text(if picked == 0 { " `" } else { ", `" })
            .text(fields[b].0)
            .text("` up to ")
            .number(fields[b].1)
            .text(" bytes");
        prev = Some((fields[b].1, b));
        picked += 1;
    }
    m.text(". Give them smaller capacities, or split the class.")
}

/// A value that can be an ereport field: it encodes itself as one CBOR item
/// and knows, at compile time, the most bytes that can take.
///
/// Implemented for integers, `bool`, floats, `Option<T>`, arrays,
/// `heapless::String<N>`, `heapless::Vec<T, N>`, and anything with
/// `#[derive(EreportField)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an ereport field: it has no static maximum encoded length",
    label = "no static maximum length",
    note = "use fixed-capacity types: integers, bools, floats, arrays, `FixedStr<'static, N>` for borrowed text (not `&str`), `FixedString<N>` or `heapless::String<N>`, `heapless::Vec<T, N>`, references to any of these, or a type with `#[derive(EreportField)]`"
)]
pub trait EreportField {
    /// The most bytes [`encode`](Self::encode) can write.
    const MAX_LEN: usize;
    /// How the value is encoded, for the class catalog.
    const SCHEMA: TypeSchema = TypeSchema::Opaque;
    /// Whether the value may be null (`Option`).
    const OPTIONAL: bool = false;

    /// Encodes `self` as one CBOR item.
    fn encode<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>>;

    /// Writes the same item as [`encode`](Self::encode) straight into a
    /// slice: the path [`Ereport::encode_to_slice`] takes. The derives and
    /// the SDK's own implementations write directly; the default goes
    /// through `encode`, so a hand-written implementation needs only that.
    fn write(&self, w: &mut SliceWriter<'_>) -> Result<(), EncodeError> {
        w.via_minicbor(|e| self.encode(e))
    }
}

/// A field type whose value can be CBOR null, which `#[ereport(skip_if_nil)]`
/// (upstream's `#[cbor(skip_if_nil)]`) leaves out of the map instead.
#[diagnostic::on_unimplemented(
    message = "`skip_if_nil` needs a field that can be null, and `{Self}` never is",
    label = "never null",
    note = "`skip_if_nil` leaves the key out when the value is `None`: use it on an `Option<T>` (or a reference to one), or remove it"
)]
pub trait Nullable {
    /// Whether the value encodes as null.
    fn is_nil(&self) -> bool;
}

impl<T> Nullable for Option<T> {
    #[inline(always)]
    fn is_nil(&self) -> bool {
        self.is_none()
    }
}

impl<T: Nullable + ?Sized> Nullable for &T {
    #[inline(always)]
    fn is_nil(&self) -> bool {
        T::is_nil(self)
    }
}

/// A type whose fields can join a parent map (`#[ereport(flatten)]`).
///
/// Structs with named fields implement it, as do enums whose variants all
/// have named fields (or are unit variants of an enum with a `variant_id`),
/// and `Option<T>` of such a type (which adds nothing when `None`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be flattened into an ereport map",
    label = "cannot flatten",
    note = "only structs with named fields, enums with named-field variants, and `Option`s of them can be flattened"
)]
pub trait FlattenFields {
    /// The most map entries [`encode_entries`](Self::encode_entries) writes.
    const MAX_ENTRIES: usize;
    /// The most bytes [`encode_entries`](Self::encode_entries) writes.
    const MAX_ENTRIES_LEN: usize;
    /// Every key this type can write, for the compile-time collision check.
    const KEYS: Keys;
    /// The entries' schema (a map's fields, or an enum's variants), for the
    /// class catalog.
    const SCHEMA: TypeSchema = TypeSchema::Opaque;
    /// Whether the entries may be absent (`Option`).
    const OPTIONAL: bool = false;
    /// The class, when this is an ereport class (`#[derive(Ereport)]`):
    /// flattening one would drop its `"k"` and `"v"`, so the derive refuses
    /// it at compile time.
    const EREPORT_CLASS: Option<&'static str> = None;

    /// How many map entries `self` writes.
    fn entry_count(&self) -> usize;

    /// Writes the entries (key, value pairs) without a map head.
    fn encode_entries<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>>;

    /// Writes the same entries straight into a slice (see
    /// [`EreportField::write`]).
    fn write_entries(&self, w: &mut SliceWriter<'_>) -> Result<(), EncodeError> {
        w.via_minicbor(|e| self.encode_entries(e))
    }
}

/// An ereport class: a CBOR map with `"k"` (class) and `"v"` (version) first.
///
/// Implement it with `#[derive(Ereport)]`:
///
/// ```
/// use ereport_sdk::{Ereport, Ereport as _};
///
/// #[derive(Ereport)]
/// #[ereport(class = "hw.pwr.pmbus.alert", version = 0)]
/// struct PmbusAlert {
///     rail: u8,
///     status_word: u16,
/// }
///
/// let mut buf = [0u8; PmbusAlert::MAX_LEN];
/// let n = PmbusAlert { rail: 3, status_word: 0x0840 }.encode_to_slice(&mut buf).unwrap();
/// assert!(n <= PmbusAlert::MAX_LEN);
/// assert_eq!(PmbusAlert::CLASS, "hw.pwr.pmbus.alert");
/// ```
pub trait Ereport {
    /// The class, `"k"`: dot-separated lowercase segments.
    const CLASS: &'static str;
    /// The version of the class's message format, `"v"`.
    const VERSION: u32;
    /// The most bytes [`encode`](Self::encode) can write; at most
    /// [`MAX_EREPORT_LEN`].
    const MAX_LEN: usize;
    /// The class's rate limit, if it declares one
    /// (`#[ereport(rate_limit(per_second = 10, burst = 20))]`): its
    /// reporter then refuses over-limit reports before any IPC and records
    /// how many it refused (see [`storm`](crate::storm)).
    const RATE_LIMIT: Option<crate::storm::RateLimit> = None;
    /// The class's schema, for the catalog (the derive writes it).
    const SCHEMA: ClassSchema = ClassSchema {
        class: Self::CLASS,
        version: Self::VERSION,
        body: TypeSchema::Opaque,
        max_len: Self::MAX_LEN,
    };

    /// Encodes the whole ereport map.
    fn encode<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>>;

    /// Writes the same map straight into a slice. The derive writes the
    /// fixed prefix (map head, `"k"`, class, `"v"`, version) and each key as
    /// precomputed bytes; the default goes through [`encode`](Self::encode).
    fn write(&self, w: &mut SliceWriter<'_>) -> Result<(), EncodeError> {
        w.via_minicbor(|e| self.encode(e))
    }

    /// Encodes into `buf`, returning the length. A buffer of
    /// [`MAX_LEN`](Self::MAX_LEN) bytes always suffices; a shorter one
    /// that cannot hold the ereport is refused, never truncated into.
    #[inline]
    fn encode_to_slice(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let mut w = SliceWriter::new(buf);
        self.write(&mut w)?;
        Ok(w.position())
    }
}

/// A class without a rate limit: [`reporter!`](crate::reporter)'s
/// `deliver`, which takes no time, accepts only these. The derive
/// implements it for every class without `rate_limit`; do not implement it
/// by hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has a rate limit: deliver it with `deliver_at(packrat, &report, uptime_ms)`",
    label = "a rate-limited class needs the time",
    note = "the reporter's token bucket needs the task's uptime to refill"
)]
pub trait NoRateLimit: Ereport {}

/// Why [`Ereport::encode_to_slice`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The buffer is smaller than the encoding.
    BufferTooSmall,
    /// A field's encoder refused its value.
    Invalid,
}

impl core::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            EncodeError::BufferTooSmall => "buffer too small for the ereport",
            EncodeError::Invalid => "a field failed to encode",
        })
    }
}

impl core::error::Error for EncodeError {}

/// The keys a map can hold, as a tree: a struct's own keys plus those of its
/// flattened fields, or the alternatives of an enum. Built in consts by the
/// derives so that [`first_duplicate`] can reject colliding keys at compile
/// time, even through `flatten`.
#[derive(Clone, Copy, Debug)]
pub enum Keys {
    /// All of these are written together: they must be distinct.
    All {
        /// Keys of the type's own fields (and its variant-id key).
        own: &'static [&'static str],
        /// Keys of flattened fields.
        flattened: &'static [&'static Keys],
    },
    /// One of these is written (an enum's variants): they may overlap.
    AnyOf(&'static [&'static Keys]),
}

// Evaluated at compile time only (the derives' key checks): an index or
// sum out of range here is a compile error, never a run-time panic.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

// Evaluated at compile time only (the derives' key checks): an index or
// sum out of range here is a compile error, never a run-time panic.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
/// Whether `keys` can write `key`.
pub const fn may_write(keys: &Keys, key: &str) -> bool {
    match keys {
        Keys::All { own, flattened } => {
            let mut i = 0;
            while i < own.len() {
                if str_eq(own[i], key) {
                    return true;
                }
                i += 1;
            }
            let mut j = 0;
            while j < flattened.len() {
                if may_write(flattened[j], key) {
                    return true;
                }
                j += 1;
            }
            false
        }
        Keys::AnyOf(alts) => {
            let mut i = 0;
            while i < alts.len() {
                if may_write(alts[i], key) {
                    return true;
                }
                i += 1;
            }
            false
        }
    }
}

// Evaluated at compile time only (the derives' key checks): an index or
// sum out of range here is a compile error, never a run-time panic.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
/// A key that both `a` and `b` can write, if any.
const fn overlap(a: &Keys, b: &Keys) -> Option<&'static str> {
    match a {
        Keys::All { own, flattened } => {
            let mut i = 0;
            while i < own.len() {
                if may_write(b, own[i]) {
                    return Some(own[i]);
                }
                i += 1;
            }
            let mut j = 0;
            while j < flattened.len() {
                if let Some(k) = overlap(flattened[j], b) {
                    return Some(k);
                }
                j += 1;
            }
            None
        }
        Keys::AnyOf(alts) => {
            let mut i = 0;
            while i < alts.len() {
                if let Some(k) = overlap(alts[i], b) {
                    return Some(k);
                }
                i += 1;
            }
            None
        }
    }
}

// Evaluated at compile time only (the derives' key checks): an index or
// sum out of range here is a compile error, never a run-time panic.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
/// The first key that one map could write twice, if any.
pub const fn first_duplicate(keys: &Keys) -> Option<&'static str> {
    match keys {
        Keys::All { own, flattened } => {
            let mut i = 0;
            while i < own.len() {
                let mut j = i + 1;
                while j < own.len() {
                    if str_eq(own[i], own[j]) {
                        return Some(own[i]);
                    }
                    j += 1;
                }
                let mut f = 0;
                while f < flattened.len() {
                    if may_write(flattened[f], own[i]) {
                        return Some(own[i]);
                    }
                    f += 1;
                }
                i += 1;
            }
            let mut f = 0;
            while f < flattened.len() {
                if let Some(k) = first_duplicate(flattened[f]) {
                    return Some(k);
                }
                let mut g = f + 1;
                while g < flattened.len() {
                    if let Some(k) = overlap(flattened[f], flattened[g]) {
                        return Some(k);
                    }
                    g += 1;
                }
                f += 1;
            }
            None
        }
        Keys::AnyOf(alts) => {
            let mut i = 0;
            while i < alts.len() {
                if let Some(k) = first_duplicate(alts[i]) {
                    return Some(k);
                }
                i += 1;
            }
            None
        }
    }
}

/// Integers encode with the smallest head. A negative value `-1 - n` is
/// encoded with argument `n`, so for signed types too the longest head is
/// that of `MAX`.
macro_rules! integer {
    ($kind:ident, $w:ident as $wide:ty: $($t:ty => $m:ident),*) => {$(
        impl EreportField for $t {
            const MAX_LEN: usize = head_len(<$t>::MAX as u64);
            const SCHEMA: TypeSchema = TypeSchema::$kind;
            fn encode<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>> {
                e.$m(*self as _)?;
                Ok(())
            }
            #[inline(always)]
            fn write(&self, w: &mut SliceWriter<'_>) -> Result<(), EncodeError> {
                w.$w(*self as $wide)
            }
        }
    )*};
}
integer!(Uint, uint as u64: u8 => u8, u16 => u16, u32 => u32, u64 => u64, usize => u64);
integer!(Int, int as i64: i8 => i8, i16 => i16, i32 => i32, i64 => i64, isize => i64);

impl EreportField for bool {
    const MAX_LEN: usize = 1;
    const SCHEMA: TypeSchema = TypeSchema::Bool;
    fn encode<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>> {
        e.bool(*self)?;
        Ok(())
    }
    #[inline(always)]
    fn write(&self, w: &mut SliceWriter<'_>) -> Result<(), EncodeError> {
        w.byte(if *self { 0xf5 } else { 0xf4 })
    }
}

impl EreportField for f32 {
    const MAX_LEN: usize = 5;
    const SCHEMA: TypeSchema = TypeSchema::Float;
    fn encode<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>> {
        e.f32(*self)?;
        Ok(())
    }
    #[inline(always)]
    fn write(&self, w: &mut SliceWriter<'_>) -> Result<(), EncodeError> {
        let [a, b, c, d] = self.to_be_bytes();
        w.put(&[0xfa, a, b, c, d])
    }
}

impl EreportField for f64 {
    const MAX_LEN: usize = 9;
    const SCHEMA: TypeSchema = TypeSchema::Float;
    fn encode<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>> {
        e.f64(*self)?;
        Ok(())
    }
    #[inline(always)]
    fn write(&self, w: &mut SliceWriter<'_>) -> Result<(), EncodeError> {
        let [a, b, c, d, e, f, g, h] = self.to_be_bytes();
        w.put(&[0xfb, a, b, c, d, e, f, g, h])
    }
}

impl<T: EreportField> EreportField for Option<T> {
    const MAX_LEN: usize = max(1, T::MAX_LEN);
    const SCHEMA: TypeSchema = T::SCHEMA;
    const OPTIONAL: bool = true;
    fn encode<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>> {
        match self {
            Some(v) => v.encode(e),
            None => {
                e.null()?;
                Ok(())
            }
        }
    }
    #[inline]
    fn write(&self, w: &mut SliceWriter<'_>) -> Result<(), EncodeError> {
        match self {
            Some(v) => v.write(w),
            None => w.byte(0xf6),
        }
    }
}

/// A reference encodes as what it refers to (`&'static` tables of
/// reference designators, shared sub-records), with the same maximum.
impl<T: EreportField + ?Sized> EreportField for &T {
    const MAX_LEN: usize = T::MAX_LEN;
    const SCHEMA: TypeSchema = T::SCHEMA;
    const OPTIONAL: bool = T::OPTIONAL;
    fn encode<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>> {
        T::encode(self, e)
    }
    #[inline(always)]
    fn write(&self, w: &mut SliceWriter<'_>) -> Result<(), EncodeError> {
        T::write(self, w)
    }
}

impl<T: EreportField, const N: usize> EreportField for [T; N] {
    const MAX_LEN: usize = sat_add(head_len(N as u64), sat_mul(N, T::MAX_LEN));
    const SCHEMA: TypeSchema = TypeSchema::Array {
        of: &T::SCHEMA,
        min_items: N,
        max_items: N,
    };
    fn encode<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>> {
        e.array(N as u64)?;
        for v in self {
            v.encode(e)?;
        }
        Ok(())
    }
    fn write(&self, w: &mut SliceWriter<'_>) -> Result<(), EncodeError> {
        w.head(4, N as u64)?;
        for v in self {
            v.write(w)?;
        }
        Ok(())
    }
}

#[diagnostic::do_not_recommend]
impl<const N: usize, L: heapless::LenType> EreportField for heapless::String<N, L> {
    const MAX_LEN: usize = str_len(N);
    const SCHEMA: TypeSchema = TypeSchema::Text { max_len: N };
    fn encode<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>> {
        e.str(self.as_str())?;
        Ok(())
    }
    #[inline]
    fn write(&self, w: &mut SliceWriter<'_>) -> Result<(), EncodeError> {
        w.str(self.as_str())
    }
}

#[diagnostic::do_not_recommend]
impl<T: EreportField, const N: usize, L: heapless::LenType> EreportField
    for heapless::Vec<T, N, L>
{
    const MAX_LEN: usize = sat_add(head_len(N as u64), sat_mul(N, T::MAX_LEN));
    const SCHEMA: TypeSchema = TypeSchema::Array {
        of: &T::SCHEMA,
        min_items: 0,
        max_items: N,
    };
    fn encode<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>> {
        e.array(self.len() as u64)?;
        for v in self.iter() {
            v.encode(e)?;
        }
        Ok(())
    }
    fn write(&self, w: &mut SliceWriter<'_>) -> Result<(), EncodeError> {
        w.head(4, self.len() as u64)?;
        for v in self.iter() {
            v.write(w)?;
        }
        Ok(())
    }
}

/// An ereport class nested as a field of another type: it writes the
/// class's whole map, `"k"` and `"v"` included (flattening a class instead
/// is a compile error, since its `"k"` and `"v"` would be lost).
///
/// A wrapper rather than an `EreportField` impl on every class, so that
/// `Class::MAX_LEN` stays unambiguous where both traits are in scope.
///
/// ```
/// use ereport_sdk::{Ereport, Nested};
///
/// #[derive(Ereport)]
/// #[ereport(class = "hw.pwr.vout.fault", version = 1)]
/// struct VoutFault { rail: u8 }
///
/// #[derive(Ereport)]
/// #[ereport(class = "hw.pwr.summary", version = 0)]
/// struct Summary { last: Nested<VoutFault> }
///
/// let s = Summary { last: Nested(VoutFault { rail: 3 }) };
/// let mut buf = [0u8; Summary::MAX_LEN];
/// // {"k": "hw.pwr.summary", "v": 0, "last": {"k": "hw.pwr.vout.fault", "v": 1, "rail": 3}}
/// assert_eq!(s.encode_to_slice(&mut buf).unwrap(), 56);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(transparent)]
pub struct Nested<E>(pub E);

impl<E> core::ops::Deref for Nested<E> {
    type Target = E;
    fn deref(&self) -> &E {
        &self.0
    }
}

impl<E: Ereport> EreportField for Nested<E> {
    const MAX_LEN: usize = E::MAX_LEN;
    const SCHEMA: TypeSchema = E::SCHEMA.body;
    fn encode<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>> {
        self.0.encode(e)
    }
    #[inline]
    fn write(&self, w: &mut SliceWriter<'_>) -> Result<(), EncodeError> {
        self.0.write(w)
    }
}

/// A `char` is its scalar value as an unsigned integer, as minicbor (and
/// so upstream's derive) writes it.
impl EreportField for char {
    const MAX_LEN: usize = head_len(char::MAX as u64);
    const SCHEMA: TypeSchema = TypeSchema::Uint;
    fn encode<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>> {
        e.u32(u32::from(*self))?;
        Ok(())
    }
    #[inline]
    fn write(&self, w: &mut SliceWriter<'_>) -> Result<(), EncodeError> {
        w.head(0, u64::from(u32::from(*self)))
    }
}

/// Tuples are definite arrays of their items, as minicbor writes them.
macro_rules! tuple_field {
    ($n:literal; $($t:ident $i:tt),+) => {
        #[diagnostic::do_not_recommend]
        impl<$($t: EreportField),+> EreportField for ($($t,)+) {
            const MAX_LEN: usize = {
                let mut n = head_len($n);
                $( n = sat_add(n, $t::MAX_LEN); )+
                n
            };
            const SCHEMA: TypeSchema = TypeSchema::Tuple { items: &[$($t::SCHEMA),+] };
            fn encode<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>> {
                e.array($n)?;
                $( self.$i.encode(e)?; )+
                Ok(())
            }
            fn write(&self, w: &mut SliceWriter<'_>) -> Result<(), EncodeError> {
                w.head(4, $n)?;
                $( self.$i.write(w)?; )+
                Ok(())
            }
        }
    };
}
tuple_field!(1; A 0);
tuple_field!(2; A 0, B 1);
tuple_field!(3; A 0, B 1, C 2);
tuple_field!(4; A 0, B 1, C 2, D 3);
tuple_field!(5; A 0, B 1, C 2, D 3, E 4);
tuple_field!(6; A 0, B 1, C 2, D 3, E 4, F 5);

/// A byte string of at most `N` bytes (CBOR major type 2), for binary
/// payloads: register dumps, syndromes, raw PMBus replies. (Arrays and
/// `heapless::Vec<u8, N>` encode as arrays of integers instead.)
///
/// ```
/// use ereport_sdk::{Bytes, EreportField};
///
/// let b = Bytes::<8>::from_slice(&[0xde, 0xad]).unwrap();
/// assert_eq!(b.as_slice(), &[0xde, 0xad]);
/// assert_eq!(<Bytes<8> as EreportField>::MAX_LEN, 9);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bytes<const N: usize>(heapless::Vec<u8, N>);

impl<const N: usize> Bytes<N> {
    /// No bytes.
    pub const fn new() -> Self {
        Self(heapless::Vec::new())
    }

    /// A copy of `bytes`, or `None` if there are more than `N`.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        heapless::Vec::from_slice(bytes).ok().map(Self)
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        self.0.as_slice()
    }
}

impl<const N: usize> EreportField for Bytes<N> {
    const MAX_LEN: usize = sat_add(head_len(N as u64), N);
    const SCHEMA: TypeSchema = TypeSchema::Bytes { max_len: N };
    fn encode<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>> {
        e.bytes(self.0.as_slice())?;
        Ok(())
    }
    #[inline]
    fn write(&self, w: &mut SliceWriter<'_>) -> Result<(), EncodeError> {
        w.bytes(self.0.as_slice())
    }
}

impl<T: FlattenFields> FlattenFields for Option<T> {
    const MAX_ENTRIES: usize = T::MAX_ENTRIES;
    const MAX_ENTRIES_LEN: usize = T::MAX_ENTRIES_LEN;
    const KEYS: Keys = T::KEYS;
    const SCHEMA: TypeSchema = T::SCHEMA;
    const OPTIONAL: bool = true;
    const EREPORT_CLASS: Option<&'static str> = T::EREPORT_CLASS;

    fn entry_count(&self) -> usize {
        self.as_ref().map_or(0, T::entry_count)
    }

    fn encode_entries<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>> {
        match self {
            Some(v) => v.encode_entries(e),
            None => Ok(()),
        }
    }

    #[inline]
    fn write_entries(&self, w: &mut SliceWriter<'_>) -> Result<(), EncodeError> {
        match self {
            Some(v) => v.write_entries(w),
            None => Ok(()),
        }
    }
}

/// Flattening through a reference (`#[ereport(flatten)] cpu: &'static
/// HostCpuRefdes`) merges the referred-to entries.
impl<T: FlattenFields + ?Sized> FlattenFields for &T {
    const MAX_ENTRIES: usize = T::MAX_ENTRIES;
    const MAX_ENTRIES_LEN: usize = T::MAX_ENTRIES_LEN;
    const KEYS: Keys = T::KEYS;
    const SCHEMA: TypeSchema = T::SCHEMA;
    const OPTIONAL: bool = T::OPTIONAL;
    const EREPORT_CLASS: Option<&'static str> = T::EREPORT_CLASS;

    #[inline(always)]
    fn entry_count(&self) -> usize {
        T::entry_count(self)
    }

    fn encode_entries<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>> {
        T::encode_entries(self, e)
    }

    #[inline(always)]
    fn write_entries(&self, w: &mut SliceWriter<'_>) -> Result<(), EncodeError> {
        T::write_entries(self, w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_lengths_at_every_boundary() {
        for (n, len) in [
            (0u64, 1),
            (23, 1),
            (24, 2),
            (255, 2),
            (256, 3),
            (65535, 3),
            (65536, 5),
            (u32::MAX as u64, 5),
            (u32::MAX as u64 + 1, 9),
            (u64::MAX, 9),
        ] {
            assert_eq!(head_len(n), len, "n = {n}");
        }
    }

    #[test]
    fn heads_match_minicbor() {
        for n in [
            0u64,
            1,
            23,
            24,
            255,
            256,
            65535,
            65536,
            u32::MAX as u64,
            u32::MAX as u64 + 1,
            u64::MAX,
        ] {
            let mut out = [0u8; 9];
            // Major type 0 (an unsigned integer) is nothing but its head.
            let len = encode_head(0, n, &mut out);
            let mut expect = [0u8; 9];
            let mut e = Encoder::new(&mut expect[..]);
            e.u64(n).unwrap();
            assert_eq!(&out[..len], &expect[..len], "n = {n}");
            assert_eq!(len, head_len(n));
            assert_eq!(encode_head(2, n, &mut out), len);
            assert_eq!(out[0] >> 5, 2);
        }
    }

    #[test]
    fn key_collisions() {
        const INNER: Keys = Keys::All {
            own: &["a", "b"],
            flattened: &[],
        };
        const ALTS: Keys = Keys::AnyOf(&[
            &Keys::All {
                own: &["kind", "x"],
                flattened: &[],
            },
            &Keys::All {
                own: &["kind", "y"],
                flattened: &[],
            },
        ]);
        assert_eq!(
            first_duplicate(&Keys::All {
                own: &["k", "v", "c"],
                flattened: &[&INNER, &ALTS]
            }),
            None
        );
        assert_eq!(
            first_duplicate(&Keys::All {
                own: &["k", "v", "a"],
                flattened: &[&INNER]
            }),
            Some("a")
        );
        assert_eq!(
            first_duplicate(&Keys::All {
                own: &["k", "v", "y"],
                flattened: &[&ALTS]
            }),
            Some("y")
        );
        assert_eq!(
            first_duplicate(&Keys::All {
                own: &["k", "k"],
                flattened: &[]
            }),
            Some("k")
        );
        assert_eq!(
            first_duplicate(&Keys::All {
                own: &[],
                flattened: &[&ALTS, &ALTS]
            }),
            Some("kind")
        );
    }
}
