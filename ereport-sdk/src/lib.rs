//! The ereport SDK: what every Hubris task, packrat, the snitch and the
//! gateway share.
//!
//! - [`Ena`], [`RestartId`], [`TaskId`]: the identifiers of the protocol.
//! - [`wire`]: the MGS wire protocol as `zerocopy` types, byte-compatible
//!   with MGS and pinned by golden-byte tests.
//! - [`DeliverEreport`], [`ReadEreports`], [`EreportAdmin`]: packrat's IPC
//!   interface as traits, so producers and the snitch never depend on
//!   packrat's implementation.
//! - [`Ereport`] and [`EreportField`], with their derives: ereport classes as
//!   Rust types, every encoded length known at compile time.
//! - [`reporter!`]: declare the classes a task reports and get a reporter
//!   whose buffer is sized to the largest of them.
//! - `decode` (feature `std`): the host-side decoder of response packets.
//!
//! # Declaring and delivering an ereport
//!
//! ```
//! use ereport_sdk::{Ereport, EreportField};
//!
//! #[derive(EreportField)]
//! struct Rail {
//!     index: u8,
//!     name: heapless::String<12>,
//! }
//!
//! #[derive(EreportField)]
//! enum Cause {
//!     Overcurrent,
//!     #[ereport(rename = "uv")]
//!     Undervoltage,
//! }
//!
//! #[derive(Ereport)]
//! #[ereport(class = "hw.pwr.pmbus.alert", version = 0)]
//! struct PmbusAlert {
//!     rail: Rail,
//!     cause: Cause,
//!     #[ereport(rename = "status")]
//!     status_word: u16,
//!     temp_c: Option<f32>,
//! }
//!
//! let alert = PmbusAlert {
//!     rail: Rail { index: 2, name: "VDD_CORE".try_into().unwrap() },
//!     cause: Cause::Undervoltage,
//!     status_word: 0x0840,
//!     temp_c: None,
//! };
//! let mut buf = [0u8; PmbusAlert::MAX_LEN];
//! let len = alert.encode_to_slice(&mut buf).unwrap();
//! // {"k": "hw.pwr.pmbus.alert", "v": 0, "rail": {..}, "cause": "uv", ...}
//! assert_eq!(buf[0], 0xa0 | 6);
//! assert!(len <= PmbusAlert::MAX_LEN);
//! ```
//!
//! # Encoding
//!
//! - An ereport is a definite-length map: `"k"` (class), `"v"` (version),
//!   then its fields by name (or `rename`), skipping `skip` fields, leaving
//!   out `skip_if_nil` fields that are `None`, and merging `flatten` fields'
//!   entries (no allocation: the map length is counted first, which costs
//!   no encoding).
//! - `Option<T>`: the value, or null; flattened, nothing when `None`.
//! - Arrays and `heapless::Vec`: CBOR arrays; `heapless::String`,
//!   [`FixedStr`] and [`FixedString`]: text; [`Bytes<N>`]: a byte string;
//!   `&T`: what `T` writes.
//! - Enums: unit variants as their name (text); struct variants as maps.
//!   With `#[ereport(variant_id = "kind")]` every variant is a map starting
//!   with `"kind": name`, unit variants too. Tuple variants are a one-entry
//!   map from the name to the value (or an array of values).
//! - `MAX_LEN` is a true and tight upper bound: for each field type a maximal
//!   value encodes to exactly it. `usize`/`isize` count at the target's width.
//!
//! Attributes are also read as `#[cbor(...)]`, upstream Hubris's name, so
//! that its classes port by changing imports: see `docs/derive.md`, which
//! also lists where the bytes differ from upstream's.
//!
//! [`Ereport::encode_to_slice`] writes through a [`SliceWriter`]: the
//! derive emits the class prefix and every key as precomputed bytes, so an
//! encode is a few copies and value heads, with no encoder to set up.
//!
//! # Design
//!
//! Buffers on a microcontroller are sized at compile time, so every length
//! here is a `const`, and everything that would make it wrong (a type with
//! no static length, a key written twice, an ereport larger than packrat
//! accepts) is a compile error rather than a runtime surprise.

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

#[cfg(feature = "std")]
extern crate std;

// Lets the derives name this crate `::ereport_sdk` from inside it.
extern crate self as ereport_sdk;

mod ereport;
mod fixedstr;
mod ids;
mod ipc;
mod reporter;
pub mod schema;
pub mod storm;
pub mod wire;
mod writer;

#[cfg(feature = "std")]
pub mod decode;

pub use ereport::{
    Bytes, EncodeError, Ereport, EreportField, FlattenFields, Keys, MAX_EREPORT_LEN,
    MAX_TASK_NAME_LEN, Nested, NoRateLimit, Nullable,
};
pub use ereport_macros::{Ereport, EreportField};
pub use fixedstr::{FixedStr, FixedString, FromUtf8Error, StringTooLong};
pub use ids::{Ena, RestartId, TaskId};
pub use ipc::{
    AdminError, Caboose, DeliverEreport, DeliverError, EreportAdmin, IdString, Identity,
    ReadEreports, ReadError, ReadRequest,
};
pub use reporter::{
    AnyDeclared, ClassCounts, Declared, Delivery, RECENT_DELIVERIES, ReporterState,
    SUPPRESSION_QUIET_MS,
};
pub use writer::SliceWriter;

pub use heapless;
pub use minicbor;

/// Used by generated code; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::ereport::{
        EncodeError, Nullable, first_duplicate, head_len, max, sat_add, str_len, too_long_message,
    };
    pub use crate::reporter::buffer_len;
    pub use crate::writer::SliceWriter;
    pub use minicbor::Encoder;
    pub use minicbor::encode::{Error, Write};
    #[cfg(feature = "ereporter-macro")]
    pub use static_cell::ConstStaticCell;

    /// Writes precomputed CBOR (keys, the class prefix) through minicbor.
    #[inline]
    pub fn put<W: Write>(e: &mut Encoder<W>, bytes: &[u8]) -> Result<(), Error<W::Error>> {
        e.writer_mut().write_all(bytes).map_err(Error::write)
    }
}

/// Const helpers for computing CBOR lengths, shared with packrat.
pub mod cbor_len {
    pub use crate::ereport::{encode_head, head_len, str_len};
}

/// Compile-time checks of the length arithmetic at the target's pointer
/// width. The `thumbv7em-none-eabihf` build in CI proves them for the SP's
/// 32-bit `usize`; the host build for 64 bits.
mod width_check {
    use crate::{EreportField, FlattenFields};

    #[derive(crate::EreportField)]
    struct Widths {
        count: usize,
        delta: isize,
        many: heapless::Vec<usize, 300>,
        #[ereport(flatten)]
        more: Option<Extra>,
    }

    #[derive(crate::EreportField)]
    struct Extra {
        big: [isize; 2],
    }

    #[cfg(target_pointer_width = "32")]
    const WORD: usize = 5;
    #[cfg(target_pointer_width = "64")]
    const WORD: usize = 9;

    const _: () = assert!(<usize as EreportField>::MAX_LEN == WORD);
    const _: () = assert!(<isize as EreportField>::MAX_LEN == WORD);
    // {"count": w, "delta": w, "many": [300 x w], "big": [w, w]}
    const _: () = assert!(<Extra as FlattenFields>::MAX_ENTRIES_LEN == 4 + 1 + 2 * WORD);
    const _: () = assert!(
        <Widths as EreportField>::MAX_LEN
            == 1 + (6 + WORD) + (6 + WORD) + (5 + 3 + 300 * WORD) + (4 + 1 + 2 * WORD)
    );
}
