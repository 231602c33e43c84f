//! The lease traits, and their implementations for byte slices.

use core::fmt;
use core::ops::Range;

/// Why a lease access failed.
///
/// An access inside `0..len()` can only fail with [`AccessError::WentAway`]:
/// the lender restarted (or died) since it lent the memory. An access outside
/// the lease is a bug in the borrower and is refused with
/// [`AccessError::OutOfBounds`] without touching anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessError {
    /// The range does not lie inside the lease.
    OutOfBounds,
    /// The lender went away; the lease is dead and every later access fails.
    WentAway,
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AccessError::OutOfBounds => "lease access out of bounds",
            AccessError::WentAway => "lender went away",
        })
    }
}

impl core::error::Error for AccessError {}

/// A borrowed slice of another task's memory, of a fixed length.
///
/// Knowing the length costs nothing on Hubris (it comes with the message);
/// every *access* is a syscall, which is why the traits below copy ranges and
/// never hand out references.
pub trait Lease {
    /// Length of the lease in bytes.
    fn len(&self) -> usize;

    /// Whether the lease has no bytes at all.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A lease the borrower may copy bytes out of (`sys_borrow_read`).
pub trait ReadLease: Lease {
    /// Copies `dst.len()` bytes starting at `offset` out of the lease.
    ///
    /// On error nothing useful is in `dst`.
    fn read_at(&self, offset: usize, dst: &mut [u8]) -> Result<(), AccessError>;
}

/// A lease the borrower may copy bytes into (`sys_borrow_write`).
pub trait WriteLease: Lease {
    /// Copies `src` into the lease starting at `offset`.
    fn write_at(&mut self, offset: usize, src: &[u8]) -> Result<(), AccessError>;
}

/// The range `offset..offset + n` if it lies inside a lease of `len` bytes.
///
/// This is the one bounds check every implementation shares; it never
/// overflows.
pub fn checked_range(offset: usize, n: usize, len: usize) -> Result<Range<usize>, AccessError> {
    match offset.checked_add(n) {
        Some(end) if end <= len => Ok(offset..end),
        _ => Err(AccessError::OutOfBounds),
    }
}

impl Lease for [u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }
}

impl ReadLease for [u8] {
    fn read_at(&self, offset: usize, dst: &mut [u8]) -> Result<(), AccessError> {
        let range = checked_range(offset, dst.len(), self.len())?;
        let src = self.get(range).ok_or(AccessError::OutOfBounds)?;
        dst.copy_from_slice(src);
        Ok(())
    }
}

impl WriteLease for [u8] {
    fn write_at(&mut self, offset: usize, src: &[u8]) -> Result<(), AccessError> {
        let range = checked_range(offset, src.len(), <[u8]>::len(self))?;
        let dst = self.get_mut(range).ok_or(AccessError::OutOfBounds)?;
        dst.copy_from_slice(src);
        Ok(())
    }
}

impl<const N: usize> Lease for [u8; N] {
    fn len(&self) -> usize {
        N
    }
}

impl<const N: usize> ReadLease for [u8; N] {
    fn read_at(&self, offset: usize, dst: &mut [u8]) -> Result<(), AccessError> {
        self.as_slice().read_at(offset, dst)
    }
}

impl<const N: usize> WriteLease for [u8; N] {
    fn write_at(&mut self, offset: usize, src: &[u8]) -> Result<(), AccessError> {
        self.as_mut_slice().write_at(offset, src)
    }
}

impl<T: Lease + ?Sized> Lease for &T {
    fn len(&self) -> usize {
        (**self).len()
    }
}

impl<T: Lease + ?Sized> Lease for &mut T {
    fn len(&self) -> usize {
        (**self).len()
    }
}

impl<T: ReadLease + ?Sized> ReadLease for &T {
    fn read_at(&self, offset: usize, dst: &mut [u8]) -> Result<(), AccessError> {
        (**self).read_at(offset, dst)
    }
}

impl<T: ReadLease + ?Sized> ReadLease for &mut T {
    fn read_at(&self, offset: usize, dst: &mut [u8]) -> Result<(), AccessError> {
        (**self).read_at(offset, dst)
    }
}

impl<T: WriteLease + ?Sized> WriteLease for &mut T {
    fn write_at(&mut self, offset: usize, src: &[u8]) -> Result<(), AccessError> {
        (**self).write_at(offset, src)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_copy_in_bounds_and_refuse_out_of_bounds() {
        let mut mem = [0u8; 8];
        mem.write_at(6, &[1, 2]).unwrap();
        assert_eq!(mem.write_at(7, &[1, 2]), Err(AccessError::OutOfBounds));
        assert_eq!(
            mem.write_at(usize::MAX, &[1]),
            Err(AccessError::OutOfBounds)
        );
        let mut out = [0u8; 3];
        mem.read_at(5, &mut out).unwrap();
        assert_eq!(out, [0, 1, 2]);
        assert_eq!(mem.read_at(6, &mut out), Err(AccessError::OutOfBounds));
        // Zero-length accesses at the very end are in bounds.
        mem.read_at(8, &mut []).unwrap();
        assert_eq!(mem.read_at(9, &mut []), Err(AccessError::OutOfBounds));
    }
}
