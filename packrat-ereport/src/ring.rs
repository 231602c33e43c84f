//! The byte ring under the store: offsets that wrap at `N`, and copies in
//! and out that split in two where they cross the end. Nothing here can
//! index out of bounds: every access goes through `get`/`get_mut`, and an
//! offset out of range (an invariant broken elsewhere) copies nothing
//! rather than panicking.

use core::fmt;
use core::ops::Range;

/// `x` reduced into `0..N` (a record's size is at most `N`; reducing it
/// keeps a size of exactly `N` from stepping past the ring).
pub(crate) fn reduce<const N: usize>(x: usize) -> usize {
    x.checked_rem(N).unwrap_or(0)
}

/// Ring offset `at + n`, wrapped. `at < N` and `n <= N` always hold here,
/// and `N <= u32::MAX` (the store's `FITS`), so the sum cannot overflow.
pub(crate) fn wrap<const N: usize>(at: usize, n: usize) -> usize {
    let s = at.wrapping_add(n);
    if s >= N { s.wrapping_sub(N) } else { s }
}

/// The two ring ranges `n` bytes from `at` occupy (the second is empty
/// unless they wrap).
pub(crate) fn ranges<const N: usize>(at: usize, n: usize) -> (Range<usize>, Range<usize>) {
    let first = n.min(N.saturating_sub(at));
    (at..at.saturating_add(first), 0..n.saturating_sub(first))
}

/// The bytes `n` bytes from `at`, as up to two slices.
#[inline]
pub(crate) fn slices<const N: usize>(buf: &[u8; N], at: usize, n: usize) -> (&[u8], &[u8]) {
    // Most bodies do not wrap: one range. (`at < N` and `n <= N`, so the
    // sum cannot overflow.)
    if let Some(whole) = buf.get(at..at.wrapping_add(n)) {
        return (whole, &[]);
    }
    let (a, b) = ranges::<N>(at, n);
    (buf.get(a).unwrap_or(&[]), buf.get(b).unwrap_or(&[]))
}

/// Copies `bytes` into the ring at `at`, wrapping.
pub(crate) fn write<const N: usize>(buf: &mut [u8; N], at: usize, bytes: &[u8]) {
    let (a, b) = ranges::<N>(at, bytes.len());
    let (first, rest) = bytes.split_at(a.len().min(bytes.len()));
    if let Some(dst) = buf.get_mut(a) {
        dst.copy_from_slice(first);
    }
    if let Some(dst) = buf.get_mut(b) {
        dst.copy_from_slice(rest);
    }
}

/// The ring had no more room for packrat's own encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RingFull;

impl fmt::Display for RingFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no room in the ring")
    }
}

/// A `minicbor` writer into free ring space, wrapping at the end.
pub(crate) struct RingWriter<'a> {
    pub(crate) buf: &'a mut [u8],
    pub(crate) at: usize,
    pub(crate) len: usize,
    pub(crate) cap: usize,
}

impl minicbor::encode::Write for RingWriter<'_> {
    type Error = RingFull;

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), RingFull> {
        let end = self.len.checked_add(bytes.len()).ok_or(RingFull)?;
        if end > self.cap {
            return Err(RingFull);
        }
        let n = self.buf.len();
        for &b in bytes {
            let i = self.at.wrapping_add(self.len).checked_rem(n).unwrap_or(0);
            if let Some(slot) = self.buf.get_mut(i) {
                *slot = b;
            }
            self.len = self.len.wrapping_add(1);
        }
        Ok(())
    }
}
