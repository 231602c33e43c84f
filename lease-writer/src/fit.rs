//! Encode an item if it fits, roll it back if it does not.

use core::fmt;

use minicbor::Encoder;
use minicbor::encode::{Encode, Error};

use crate::lease::WriteLease;
use crate::writer::{Checkpoint, LeaseWriter, WriteError};

/// A writer that can mark a position and return to it: [`LeaseWriter`],
/// and a mutable reference to one (so an `Encoder` can borrow the writer
/// instead of owning it, and the writer is never moved).
pub trait Rollback {
    /// Marks the current position.
    fn checkpoint(&self) -> Checkpoint;
    /// Forgets everything written after `cp`.
    fn rollback(&mut self, cp: Checkpoint);
}

impl<L: WriteLease, const S: usize> Rollback for LeaseWriter<L, S> {
    fn checkpoint(&self) -> Checkpoint {
        LeaseWriter::checkpoint(self)
    }
    fn rollback(&mut self, cp: Checkpoint) {
        LeaseWriter::rollback(self, cp)
    }
}

impl<T: Rollback + ?Sized> Rollback for &mut T {
    fn checkpoint(&self) -> Checkpoint {
        (**self).checkpoint()
    }
    fn rollback(&mut self, cp: Checkpoint) {
        (**self).rollback(cp)
    }
}

/// What became of one item offered to [`encode_if_fits`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fit {
    /// The item is in the lease.
    Fitted,
    /// The item did not fit; the writer is back where it was before it.
    DidNotFit,
}

/// Why [`encode_if_fits`] could not even decide whether an item fits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemError {
    /// The lender went away; the response is lost.
    WentAway,
    /// The item's own encoder reported an error (not a write error). The
    /// writer was rolled back.
    Encode,
}

impl fmt::Display for ItemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ItemError::WentAway => "lender went away",
            ItemError::Encode => "item failed to encode",
        })
    }
}

impl core::error::Error for ItemError {}

/// Runs `f` to encode one item straight into the lease. If the lease runs out
/// of space part-way, the writer is rolled back to where it was and the
/// answer is [`Fit::DidNotFit`]: nothing is measured beforehand and no second
/// buffer is used.
///
/// ```
/// use lease_writer::{encode_if_fits, Fit, LeaseWriter};
/// use minicbor::Encoder;
///
/// let mut lease = [0u8; 8];
/// let mut enc = Encoder::new(LeaseWriter::<_, 16>::new(&mut lease[..]));
/// assert_eq!(encode_if_fits(&mut enc, |e| e.str("four").map(drop)), Ok(Fit::Fitted));
/// // Six more bytes do not fit in the three that are left: rolled back.
/// assert_eq!(encode_if_fits(&mut enc, |e| e.str("seven").map(drop)), Ok(Fit::DidNotFit));
/// assert_eq!(enc.writer_mut().finish(), Ok(5));
/// ```
pub fn encode_if_fits<W, F>(enc: &mut Encoder<W>, f: F) -> Result<Fit, ItemError>
where
    W: minicbor::encode::Write<Error = WriteError> + Rollback,
    F: FnOnce(&mut Encoder<W>) -> Result<(), Error<WriteError>>,
{
    let cp = enc.writer().checkpoint();
    match f(enc) {
        Ok(()) => Ok(Fit::Fitted),
        Err(e) => {
            enc.writer_mut().rollback(cp);
            match e.as_write() {
                Some(WriteError::OutOfSpace) => Ok(Fit::DidNotFit),
                Some(WriteError::WentAway) => Err(ItemError::WentAway),
                None => Err(ItemError::Encode),
            }
        }
    }
}

/// [`encode_if_fits`] for a value that implements [`Encode`].
pub fn put_if_fits<W, T>(enc: &mut Encoder<W>, item: &T) -> Result<Fit, ItemError>
where
    W: minicbor::encode::Write<Error = WriteError> + Rollback,
    T: Encode<()> + ?Sized,
{
    encode_if_fits(enc, |e| e.encode(item).map(drop))
}
