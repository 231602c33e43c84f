//! Checks that a datagram is an answer to the request just sent, before
//! anything in it is believed.
//!
//! The protocol has no authentication: anyone who can reach the gateway's
//! socket, or forge the SP's address, can send it a response. What the
//! gateway can do is insist on consistency. This module is the stateless
//! half of that: one request and one datagram in, an accepted [`Packet`] or
//! a [`Rejection`] saying what was wrong out. The stateful checks (gaps,
//! records already stored, restarts) are the gateway's, against its
//! database.

use ereport_sdk::decode::{DecodeError, Packet, decode_packet};
use ereport_sdk::wire::{MAX_RESPONSE_LEN, Request};
use ereport_sdk::{Ena, RestartId};

/// The largest ENA the gateway stores: databases hold signed 64-bit
/// integers, and an ENA is never clamped.
pub const MAX_STORABLE_ENA: u64 = i64::MAX as u64;

/// Why a datagram was not taken as the answer to a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// More than [`MAX_RESPONSE_LEN`] bytes arrived: no SP sends that, and a
    /// longer datagram may have been cut short by the receive buffer.
    #[error("datagram of {0} bytes is longer than the {MAX_RESPONSE_LEN}-byte maximum")]
    TooLong(usize),
    /// It does not decode (bad header, version, CBOR or entry shape).
    #[error("malformed response: {0}")]
    Malformed(DecodeError),
    /// It answers another request id (a late answer to an earlier attempt,
    /// or a guess).
    #[error("request id {got}, expected {expected}")]
    RequestId {
        /// The id in the response.
        got: u8,
        /// The id just sent.
        expected: u8,
    },
    /// A restart id of 0, which no SP has.
    #[error("restart id 0")]
    ZeroRestartId,
    /// More entries than the request's limit.
    #[error("{got} entries, more than the limit of {limit}")]
    OverLimit {
        /// Entries in the response.
        got: usize,
        /// The request's limit.
        limit: u8,
    },
    /// An entry's ENA does not fit the database's signed 64-bit integer.
    #[error("ENA {0} is beyond the largest storable ENA ({MAX_STORABLE_ENA})")]
    EnaTooLarge(u64),
    /// Entries for the restart the request named, but starting before the
    /// requested ENA: only possible for records already stored, which the
    /// gateway checks against its database.
    #[error("start ENA {start} before requested {requested}, for ereports not stored")]
    StartBeforeRequested {
        /// The response's start ENA.
        start: Ena,
        /// The request's start ENA.
        requested: Ena,
    },
    /// An ENA already stored with other content.
    #[error("ENA {ena} is already stored with other content")]
    Conflict {
        /// The ENA.
        ena: Ena,
    },
}

impl Rejection {
    /// Whether this is only a late or foreign answer (another request id),
    /// which retries make normal, rather than a response that is wrong.
    pub fn is_stale(&self) -> bool {
        matches!(self, Rejection::RequestId { .. })
    }
}

/// Checks `datagram` against `request`: size, decoding, request id, restart
/// id, entry count and ENA range. On success the packet's entries are safe
/// to key by ENA. Where the packet starts relative to the requested ENA is
/// for [`check_start`] and the gateway's database to judge.
pub fn validate(request: &Request, datagram: &[u8]) -> Result<Packet, Rejection> {
    if datagram.len() > MAX_RESPONSE_LEN {
        return Err(Rejection::TooLong(datagram.len()));
    }
    let packet = decode_packet(datagram).map_err(Rejection::Malformed)?;
    if packet.request_id != request.request_id {
        return Err(Rejection::RequestId {
            got: packet.request_id,
            expected: request.request_id,
        });
    }
    if packet.restart_id == RestartId::UNKNOWN {
        return Err(Rejection::ZeroRestartId);
    }
    if packet.entries.len() > usize::from(request.limit) {
        return Err(Rejection::OverLimit {
            got: packet.entries.len(),
            limit: request.limit,
        });
    }
    if let Some(last) = packet.entries.last()
        && last.ena.0 > MAX_STORABLE_ENA
    {
        return Err(Rejection::EnaTooLarge(last.ena.0));
    }
    Ok(packet)
}

/// Where a packet for the restart the request named starts, relative to the
/// requested ENA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// No entries.
    Empty,
    /// At the requested ENA.
    AsRequested,
    /// Before it: the first `overlap` entries must already be stored.
    Overlap {
        /// Entries before the requested ENA.
        overlap: u64,
    },
    /// After it: ENAs `first..=last` were not sent.
    Gap {
        /// First missing ENA.
        first: Ena,
        /// Last missing ENA.
        last: Ena,
    },
}

/// Classifies `packet`'s start against `requested` (for a packet whose
/// restart id is the one the request named).
pub fn check_start(packet: &Packet, requested: Ena) -> Start {
    if packet.entries.is_empty() {
        return Start::Empty;
    }
    let start = packet.start_ena;
    match start.cmp(&requested) {
        core::cmp::Ordering::Equal => Start::AsRequested,
        core::cmp::Ordering::Less => Start::Overlap {
            overlap: requested.0.saturating_sub(start.0),
        },
        core::cmp::Ordering::Greater => Start::Gap {
            first: requested,
            last: Ena(start.0.saturating_sub(1)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ereport_sdk::wire::ResponseHeader;

    fn response(rid: u128, start: u64, id: u8, entries: &[&[u8]]) -> Vec<u8> {
        let mut p = ResponseHeader::new(RestartId(rid), Ena(start), id)
            .to_bytes()
            .to_vec();
        p.extend_from_slice(&[0xbf, 0xff]);
        if !entries.is_empty() {
            p.push(0x9f);
            for body in entries {
                p.extend_from_slice(&[0x84, 0x61, b't', 0x00, 0x00]);
                p.push(0x40 | body.len() as u8);
                p.extend_from_slice(body);
            }
            p.push(0xff);
        }
        p
    }

    #[test]
    fn each_inconsistency_has_its_reason() {
        let req = Request::new(RestartId(5), Ena(3), Ena(2), 2, 9);
        let body: &[u8] = &[0xa0];
        assert!(validate(&req, &response(5, 3, 9, &[body, body])).is_ok());
        assert_eq!(
            validate(&req, &response(5, 3, 8, &[body])),
            Err(Rejection::RequestId {
                got: 8,
                expected: 9
            })
        );
        assert_eq!(
            validate(&req, &response(0, 3, 9, &[])),
            Err(Rejection::ZeroRestartId)
        );
        assert_eq!(
            validate(&req, &response(5, 3, 9, &[body, body, body])),
            Err(Rejection::OverLimit { got: 3, limit: 2 })
        );
        assert_eq!(
            validate(&req, &response(5, 1 << 63, 9, &[body])),
            Err(Rejection::EnaTooLarge(1 << 63))
        );
        let mut long = response(5, 3, 9, &[body]);
        long.resize(MAX_RESPONSE_LEN + 1, 0);
        assert_eq!(
            validate(&req, &long),
            Err(Rejection::TooLong(MAX_RESPONSE_LEN + 1))
        );
        let mut bad = response(5, 3, 9, &[body]);
        bad[0] = 1;
        assert!(matches!(
            validate(&req, &bad),
            Err(Rejection::Malformed(DecodeError::Version(1)))
        ));
    }

    #[test]
    fn starts_are_classified() {
        let req = Request::new(RestartId(5), Ena(3), Ena(2), 9, 1);
        let body: &[u8] = &[0xa0];
        let at = |start| {
            check_start(
                &validate(&req, &response(5, start, 1, &[body])).unwrap(),
                Ena(3),
            )
        };
        assert_eq!(at(3), Start::AsRequested);
        assert_eq!(at(1), Start::Overlap { overlap: 2 });
        assert_eq!(
            at(1003),
            Start::Gap {
                first: Ena(3),
                last: Ena(1002)
            }
        );
        let empty = validate(&req, &response(5, 0, 1, &[])).unwrap();
        assert_eq!(check_start(&empty, Ena(3)), Start::Empty);
    }
}
