//! Leases for Hubris IPC, and a `minicbor` writer that encodes straight into
//! one.
//!
//! A *lease* is a slice of another task's memory lent with an IPC message.
//! Every access is a syscall that copies bytes and fails if the lender has
//! restarted since ("went away"). This crate gives:
//!
//! - [`Lease`], [`ReadLease`], [`WriteLease`]: what Hubris offers, as traits,
//!   implemented for byte slices too so the same encoder runs over a task's
//!   own buffer;
//! - [`LeaseWriter`]: a [`minicbor::encode::Write`] over a write lease that
//!   coalesces the many tiny writes `minicbor` makes into few lease writes,
//!   can start after a header gap, fills a lease to its last byte, and can be
//!   checkpointed and rolled back;
//! - [`encode_if_fits`]: encode one item straight into the lease and undo it
//!   if it does not fit, which is how a response holds as many items as fit
//!   with neither a length pre-pass nor a second buffer;
//! - [`hubris_lease_glue!`]: the impls for `idol_runtime::Leased`;
//! - `testing` (feature): counting fake leases that can go away on cue.
//!
//! ```
//! use lease_writer::{encode_if_fits, Fit, LeaseWriter};
//! use minicbor::Encoder;
//!
//! let mut lease = [0u8; 32];
//! // Leave 2 bytes for a header written later, and stage up to 16 bytes.
//! let w = LeaseWriter::<_, 16>::starting_at(&mut lease[..], 2).unwrap();
//! let mut enc = Encoder::new(w);
//! enc.begin_array().unwrap();
//! // Keep a byte for the closing 0xff while items are written.
//! enc.writer_mut().reserve(1).unwrap();
//! for i in 0..100u32 {
//!     if encode_if_fits(&mut enc, |e| e.u32(i * 1000).map(drop)) != Ok(Fit::Fitted) {
//!         break;
//!     }
//! }
//! enc.writer_mut().release(1);
//! enc.end().unwrap();
//! let len = enc.writer_mut().finish().unwrap();
//! assert_eq!(len, 32);
//! assert_eq!(lease[2], 0x9f);
//! assert_eq!(lease[31], 0xff);
//! ```
//!
//! # Design
//!
//! - **Why stage at all?** `minicbor` writes a type byte, then the payload,
//!   as separate calls; each would be a `sys_borrow_write`, and a syscall
//!   costs far more than copying a few dozen bytes. The staging area is a
//!   const parameter so a task sizes it to its stack and its items; writes
//!   larger than it go straight through, so nothing is ever copied twice
//!   needlessly.
//! - **Why roll back instead of measuring?** Measuring means encoding every
//!   item twice. Rolling back costs nothing: bytes already flushed past the
//!   checkpoint stay in the lease beyond the final length and are overwritten.
//! - **Why a tail reservation?** An indefinite array needs its closing `0xff`
//!   to fit whatever the items did; reserving it makes "the last item that
//!   fits" exact without special cases.
//! - **Why is went-away sticky?** On Hubris a lender that restarted never
//!   comes back under the same lease; reporting success for later writes
//!   would claim delivery of bytes nobody received.

#![no_std]
#![forbid(unsafe_code)]
// The no-panic policy (docs/architecture.md): nothing from another task,
// the network or a lease can index out of bounds, overflow or unwrap.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::unwrap_used,
        clippy::panic
    )
)]

#[cfg(feature = "testing")]
extern crate std;

mod fit;
mod hubris;
mod lease;
mod writer;

#[cfg(feature = "testing")]
pub mod testing;

pub use fit::{Fit, ItemError, Rollback, encode_if_fits, put_if_fits};
pub use lease::{AccessError, Lease, ReadLease, WriteLease, checked_range};
pub use writer::{Checkpoint, DEFAULT_STAGING, LeaseWriter, WriteError};
