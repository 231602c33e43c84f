//! The MGS ereport protocol on the wire: UDP, little-endian.
//!
//! These types are byte-compatible with MGS. MGS's own message structs carry
//! no `#[repr(C)]`, so rustc lays out their fields (all of alignment 1)
//! largest first; the order below is that layout, measured on the toolchain
//! Hubris pins and identical on `x86_64` and `thumbv7em`. Here the order is
//! pinned with `#[repr(C)]` and by golden-byte tests, not left to the
//! compiler.
//!
//! Request, 35 bytes:
//!
//! ```text
//!  0       1                17              25              33     34
//!  +-------+----------------+---------------+---------------+------+------+
//!  | ver=0 | restart id u128| start ENA u64 | committed u64 | limit| req id|
//!  +-------+----------------+---------------+---------------+------+------+
//! ```
//!
//! Response header, 26 bytes, then the CBOR body (metadata map, then an
//! indefinite array of `[task, generation, uptime_ms, body]` entries):
//!
//! ```text
//!  0       1                17              25
//!  +-------+----------------+---------------+--------+
//!  | ver=0 | restart id u128| start ENA u64 | req id |
//!  +-------+----------------+---------------+--------+
//! ```

use core::fmt;

use zerocopy::byteorder::little_endian::{U64, U128};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::ids::{Ena, RestartId};

/// UDP port the SP's snitch listens on.
pub const SP_PORT: u16 = 57005;
/// UDP port MGS listens on.
pub const MGS_PORT: u16 = 57007;
/// Largest response the SP sends (one UDP payload).
pub const MAX_RESPONSE_LEN: usize = 1024;
/// The only protocol version defined.
pub const VERSION: u8 = 0;

/// A request from MGS for ereports.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct Request {
    /// Protocol version; must be [`VERSION`].
    pub version: u8,
    /// The restart id MGS believes is current (0: unknown).
    pub restart_id: U128,
    /// First ENA MGS wants.
    pub start_ena: U64,
    /// MGS has stored everything through this ENA (0: commit nothing).
    pub committed_ena: U64,
    /// Most ereports to return.
    pub limit: u8,
    /// Echoed in the response so MGS can match it.
    pub request_id: u8,
}

/// Length of a [`Request`] on the wire.
pub const REQUEST_LEN: usize = 35;
const _: () = assert!(size_of::<Request>() == REQUEST_LEN);

/// The header at the start of every response.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct ResponseHeader {
    /// Protocol version; [`VERSION`].
    pub version: u8,
    /// The SP's restart id.
    pub restart_id: U128,
    /// ENA of the first entry in the response, 0 if there is none.
    pub start_ena: U64,
    /// The request's id, echoed.
    pub request_id: u8,
}

/// Length of a [`ResponseHeader`] on the wire.
pub const RESPONSE_HEADER_LEN: usize = 26;
const _: () = assert!(size_of::<ResponseHeader>() == RESPONSE_HEADER_LEN);

/// Why a packet is not a valid request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// Fewer than [`REQUEST_LEN`] bytes.
    Short(usize),
    /// More than [`REQUEST_LEN`] bytes.
    Long(usize),
    /// A version other than [`VERSION`].
    Version(u8),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Short(n) => write!(f, "request too short: {n} bytes, want {REQUEST_LEN}"),
            RequestError::Long(n) => write!(f, "request too long: {n} bytes, want {REQUEST_LEN}"),
            RequestError::Version(v) => write!(f, "unknown request version {v}"),
        }
    }
}

impl core::error::Error for RequestError {}

impl Request {
    /// Reads a request out of a received packet, without copying. Anything
    /// but exactly one version-0 request is an error; nothing here panics.
    pub fn parse(packet: &[u8]) -> Result<&Request, RequestError> {
        match packet.len() {
            n if n < REQUEST_LEN => return Err(RequestError::Short(n)),
            n if n > REQUEST_LEN => return Err(RequestError::Long(n)),
            _ => {}
        }
        let req = Request::ref_from_bytes(packet).map_err(|_| RequestError::Short(packet.len()))?;
        if req.version != VERSION {
            return Err(RequestError::Version(req.version));
        }
        Ok(req)
    }

    /// A version-0 request.
    pub fn new(
        restart_id: RestartId,
        start_ena: Ena,
        committed_ena: Ena,
        limit: u8,
        request_id: u8,
    ) -> Self {
        Self {
            version: VERSION,
            restart_id: U128::new(restart_id.0),
            start_ena: U64::new(start_ena.0),
            committed_ena: U64::new(committed_ena.0),
            limit,
            request_id,
        }
    }

    /// The restart id field.
    pub fn restart_id(&self) -> RestartId {
        RestartId(self.restart_id.get())
    }

    /// The start ENA field.
    pub fn start_ena(&self) -> Ena {
        Ena(self.start_ena.get())
    }

    /// The committed ENA field.
    pub fn committed_ena(&self) -> Ena {
        Ena(self.committed_ena.get())
    }

    /// The request's wire bytes.
    pub fn to_bytes(&self) -> [u8; REQUEST_LEN] {
        let mut out = [0u8; REQUEST_LEN];
        out.copy_from_slice(self.as_bytes());
        out
    }
}

impl ResponseHeader {
    /// A version-0 header.
    pub fn new(restart_id: RestartId, start_ena: Ena, request_id: u8) -> Self {
        Self {
            version: VERSION,
            restart_id: U128::new(restart_id.0),
            start_ena: U64::new(start_ena.0),
            request_id,
        }
    }

    /// The restart id field.
    pub fn restart_id(&self) -> RestartId {
        RestartId(self.restart_id.get())
    }

    /// The start ENA field.
    pub fn start_ena(&self) -> Ena {
        Ena(self.start_ena.get())
    }

    /// The header's wire bytes.
    pub fn to_bytes(&self) -> [u8; RESPONSE_HEADER_LEN] {
        let mut out = [0u8; RESPONSE_HEADER_LEN];
        out.copy_from_slice(self.as_bytes());
        out
    }
}

/// Keys of the metadata map at the start of a response body.
pub mod metadata_keys {
    /// Baseboard part number (text).
    pub const PART_NUMBER: &str = "baseboard_part_number";
    /// Baseboard serial number (text).
    pub const SERIAL_NUMBER: &str = "baseboard_serial_number";
    /// Baseboard revision (uint).
    pub const REV: &str = "baseboard_rev";
    /// Hubris caboose: a map of `board`, `version`, `commit`, or null.
    pub const CABOOSE: &str = "hubris_caboose";
}
