//! Packrat's ereport store: the part of the packrat task that stores
//! ereports and answers the snitch.
//!
//! - [`Store`]: a fixed ring of `N` bytes, `const`-constructed and all
//!   zeroes (a `static` lands in `.bss`). Ingest copies each body from the
//!   producer's lease straight into ring space; ENAs are implicit; a full
//!   store counts losses and reports them with a `{"lost": n}` record as soon
//!   as there is room; `flush_thru` frees records in O(records).
//! - [`Store::read_ereports`]: the flush response, encoded straight into the
//!   snitch's lease with `lease-writer`: as many entries as fit, each written
//!   once and rolled back if it does not fit, with the header written last.
//! - [`faults`]: `hubris.fault.*` ereports recorded on behalf of tasks that
//!   faulted, remembered when the store is full.
//!
//! ```
//! use ereport_sdk::{ReadRequest, RestartId, TaskId};
//! use packrat_ereport::{Store, TaskTable};
//!
//! enum Tasks {}
//! impl TaskTable for Tasks {
//!     const NAMES: &'static [&'static str] = &["jefe", "thermal", "packrat"];
//! }
//!
//! let mut store: Store<1024, Tasks> = Store::new();
//! store.init(TaskId::new(2, 0), 0);
//! store.set_restart_id(RestartId(0x1234)).unwrap();
//! store.deliver(TaskId::new(1, 0), 5, &[0xa1, 0x61, b'x', 0x01][..]).unwrap();
//!
//! let mut tx = [0u8; 1024];
//! let n = store
//!     .read_ereports(&ReadRequest::new(RestartId(0x1234)).id(7), &mut tx[..], None)
//!     .unwrap();
//! assert!(n > 26);
//! assert_eq!(tx[25], 7); // the request id, echoed
//! ```
//!
//! # Design
//!
//! - **No receive buffer.** A 1024-byte buffer to receive bodies into would
//!   double packrat's RAM for ereports and copy every body twice. Bodies go
//!   from the lease into the ring; a lender that dies mid-copy leaves only
//!   bytes in free space, which nothing refers to.
//! - **No length pre-pass.** The response writer checkpoints before each
//!   entry and rolls back the one that does not fit, so each stored byte is
//!   read once and written once.
//! - **Implicit ENAs.** Storing an ENA per record would cost 8 bytes each;
//!   the ring is ordered, so the ENA is the earliest plus the position.
//! - **Loss is data.** A full store never drops silently: the count of lost
//!   ereports goes into the stream itself as a record, exactly where the gap
//!   is, so the control plane sees it in order.

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

pub mod faults;
pub mod layout;
mod response;
mod ring;
mod store;

pub use response::MIN_RESPONSE_LEN;
pub use store::{
    HEADER_LEN, IngestError, MAX_TASK_NAME_LEN, NoTaskNames, SHARE_STAT_TASKS, Store, StoreStats,
    TaskTable,
};
