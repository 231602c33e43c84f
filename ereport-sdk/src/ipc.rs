//! Packrat's ereport interface, as the traits its clients call.
//!
//! Producers and the snitch depend on these, never on packrat's
//! implementation. Each method mirrors one idol operation: `&self`, plain
//! arguments, and slices the client lends as leases. On a real SP the
//! idol-generated `Packrat` client implements them in a few lines; on the
//! host, `packrat-ereport` offers an in-process implementation.

use core::fmt;

use crate::ids::{Ena, RestartId};

/// Why an ereport was not stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliverError {
    /// Packrat's store is full; it counted the loss and will report it. Try
    /// again later if the ereport still matters.
    StoreFull,
    /// The body was empty.
    Empty,
    /// The body was longer than packrat accepts.
    TooLong,
    /// The producer's lease went away while packrat copied it.
    WentAway,
    /// The ereport could not be encoded (a field's encoder refused it).
    Encode,
    /// Packrat could not be reached (it restarted during the call).
    Unavailable,
    /// The class's rate limit refused it, before any IPC; the reporter
    /// counts it and reports the count in a suppression record.
    Suppressed,
}

impl DeliverError {
    /// Whether retrying later may succeed: a full store or a restarting
    /// packrat, as opposed to an ereport that will never be accepted.
    pub const fn is_transient(self) -> bool {
        matches!(
            self,
            DeliverError::StoreFull | DeliverError::Unavailable | DeliverError::WentAway
        )
    }
}

impl fmt::Display for DeliverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeliverError::StoreFull => "packrat's ereport store is full",
            DeliverError::Empty => "empty ereport",
            DeliverError::TooLong => "ereport longer than packrat accepts",
            DeliverError::WentAway => "the lender went away during the copy",
            DeliverError::Encode => "ereport failed to encode",
            DeliverError::Unavailable => "packrat unavailable",
            DeliverError::Suppressed => "suppressed by the class's rate limit",
        })
    }
}

impl core::error::Error for DeliverError {}

/// Why packrat could not encode a flush response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// No restart id has been set yet: the snitch must send nothing.
    NoRestartId,
    /// The lease cannot hold even the header and an empty metadata map.
    LeaseTooShort,
    /// The snitch's lease went away.
    WentAway,
    /// Packrat could not be reached.
    Unavailable,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReadError::NoRestartId => "no restart id set yet",
            ReadError::LeaseTooShort => "lease too short for a response header and metadata",
            ReadError::WentAway => "the lender went away",
            ReadError::Unavailable => "packrat unavailable",
        })
    }
}

impl core::error::Error for ReadError {}

/// Why packrat refused a set-once value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminError {
    /// The value was set before; it is set once per boot.
    AlreadySet,
    /// The value is not acceptable (a restart id of 0).
    Invalid,
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AdminError::AlreadySet => "already set",
            AdminError::Invalid => "invalid value",
        })
    }
}

impl core::error::Error for AdminError {}

/// A fixed-capacity string for identity fields.
pub type IdString<const N: usize> = heapless::String<N>;

/// The Hubris caboose of the running image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caboose {
    /// Board name.
    pub board: IdString<32>,
    /// Image version.
    pub version: IdString<32>,
    /// Git commit of the image.
    pub commit: IdString<48>,
}

/// The SP's identity (VPD), sent to MGS in the metadata map.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    /// `baseboard_part_number`.
    pub part_number: IdString<32>,
    /// `baseboard_serial_number`.
    pub serial_number: IdString<32>,
    /// `baseboard_rev`.
    pub revision: u32,
    /// `hubris_caboose`; `None` is sent as null.
    pub caboose: Option<Caboose>,
}

impl Caboose {
    /// Empty strings.
    pub const fn empty() -> Self {
        Self {
            board: heapless::String::new(),
            version: heapless::String::new(),
            commit: heapless::String::new(),
        }
    }
}

impl Identity {
    /// Empty strings, revision 0, no caboose. All zeroes, so a `static`
    /// holding one lands in `.bss`. (Note that `Option<Identity>`'s `None`
    /// is *not* all zeroes: it lives in a niche of `caboose`, so keep "not
    /// known yet" in a separate flag where that matters.)
    pub const fn empty() -> Self {
        Self {
            part_number: heapless::String::new(),
            serial_number: heapless::String::new(),
            revision: 0,
            caboose: None,
        }
    }
}

/// What producers call: deliver one encoded ereport (lent as a read lease).
pub trait DeliverEreport {
    /// Stores `body`, a CBOR map, returning its ENA.
    fn deliver_ereport(&self, body: &[u8]) -> Result<Ena, DeliverError>;
}

/// One request for ereports, as packrat receives it from the snitch: the
/// fields of the wire [`Request`](crate::wire::Request), typed.
///
/// Built from a parsed request with `From`, or in tests and tools from a
/// restart id with the builder methods:
///
/// ```
/// use ereport_sdk::{Ena, ReadRequest, RestartId};
///
/// let req = ReadRequest::new(RestartId(7)).start(Ena(11)).commit(Ena(10)).limit(4);
/// assert_eq!((req.start_ena, req.committed_ena, req.limit), (Ena(11), Ena(10), 4));
/// assert_eq!(req.request_id, 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadRequest {
    /// Echoed in the response header.
    pub request_id: u8,
    /// The restart id the gateway believes is current (0: unknown).
    pub restart_id: RestartId,
    /// First ENA wanted (used only when `restart_id` matches).
    pub start_ena: Ena,
    /// Most entries in the response.
    pub limit: u8,
    /// Free everything through this ENA first (0: nothing; used only when
    /// `restart_id` matches).
    pub committed_ena: Ena,
}

impl ReadRequest {
    /// A request for everything from ENA 1 of `restart_id`, up to 255
    /// entries, committing nothing, with request id 0.
    pub const fn new(restart_id: RestartId) -> Self {
        Self {
            request_id: 0,
            restart_id,
            start_ena: Ena::FIRST,
            limit: u8::MAX,
            committed_ena: Ena::NONE,
        }
    }

    /// The same request starting at `ena`.
    pub const fn start(mut self, ena: Ena) -> Self {
        self.start_ena = ena;
        self
    }

    /// The same request committing through `ena`.
    pub const fn commit(mut self, ena: Ena) -> Self {
        self.committed_ena = ena;
        self
    }

    /// The same request with at most `limit` entries.
    pub const fn limit(mut self, limit: u8) -> Self {
        self.limit = limit;
        self
    }

    /// The same request with request id `id`.
    pub const fn id(mut self, id: u8) -> Self {
        self.request_id = id;
        self
    }
}

impl From<&crate::wire::Request> for ReadRequest {
    fn from(r: &crate::wire::Request) -> Self {
        Self {
            request_id: r.request_id,
            restart_id: r.restart_id(),
            start_ena: r.start_ena(),
            limit: r.limit,
            committed_ena: r.committed_ena(),
        }
    }
}

/// What the snitch calls: encode a flush response into `out` (its transmit
/// buffer, lent as a write lease) and return its length.
pub trait ReadEreports {
    /// Frees through `req.committed_ena` when `req.restart_id` matches, then
    /// writes entries from `req.start_ena` (see `docs/protocol.md`).
    fn read_ereports(&self, req: &ReadRequest, out: &mut [u8]) -> Result<usize, ReadError>;
}

/// What the task that knows the SP's identity calls.
pub trait EreportAdmin {
    /// Sets this boot's restart id (non-zero, once).
    fn set_restart_id(&self, id: RestartId) -> Result<(), AdminError>;
    /// Sets the SP's identity (once).
    fn set_identity(&self, identity: &Identity) -> Result<(), AdminError>;
}

impl<T: DeliverEreport + ?Sized> DeliverEreport for &T {
    fn deliver_ereport(&self, body: &[u8]) -> Result<Ena, DeliverError> {
        (**self).deliver_ereport(body)
    }
}

impl<T: ReadEreports + ?Sized> ReadEreports for &T {
    fn read_ereports(&self, req: &ReadRequest, out: &mut [u8]) -> Result<usize, ReadError> {
        (**self).read_ereports(req, out)
    }
}
