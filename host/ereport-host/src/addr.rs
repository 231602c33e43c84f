//! SP addresses as people type them: `HOST:PORT`, `HOST`
//! (port [`SP_PORT`]), `[v6]:PORT` or a bare IPv6 address; host names are
//! resolved.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use ereport_sdk::wire::SP_PORT;

/// Why an SP address was not usable.
#[derive(Debug)]
pub enum AddrError {
    /// Empty text.
    Empty,
    /// The port after the last `:` is not a number from 0 to 65535.
    Port(String),
    /// The host name did not resolve (or resolved to nothing).
    Resolve {
        /// The text given.
        addr: String,
        /// What the resolver said.
        reason: String,
    },
}

impl core::fmt::Display for AddrError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AddrError::Empty => f.write_str("expected HOST[:PORT], e.g. 127.0.0.1:57005"),
            AddrError::Port(p) => write!(f, "port {p:?} is not a number from 0 to 65535"),
            AddrError::Resolve { addr, reason } => write!(f, "cannot resolve {addr:?}: {reason}"),
        }
    }
}

impl core::error::Error for AddrError {}

/// Parses and resolves an SP address, defaulting the port to [`SP_PORT`].
///
/// ```
/// use ereport_host::addr::parse_sp_addr;
///
/// assert_eq!(parse_sp_addr("127.0.0.1").unwrap().port(), 57005);
/// assert_eq!(parse_sp_addr("127.0.0.1:9").unwrap().port(), 9);
/// assert_eq!(parse_sp_addr("::1").unwrap().port(), 57005);
/// assert!(parse_sp_addr("localhost").unwrap().ip().is_loopback());
/// assert!(parse_sp_addr("127.0.0.1:http").is_err());
/// ```
pub fn parse_sp_addr(s: &str) -> Result<SocketAddr, AddrError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(AddrError::Empty);
    }
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    if let Ok(ip) = s
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Ok(SocketAddr::new(ip, SP_PORT));
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|_| AddrError::Port(p.to_string()))?,
        ),
        None => (s, SP_PORT),
    };
    let resolve_error = |reason: String| AddrError::Resolve {
        addr: s.to_string(),
        reason,
    };
    (host, port)
        .to_socket_addrs()
        .map_err(|e| resolve_error(e.to_string()))?
        // Prefer IPv4 where a name has both (most tools here bind IPv4).
        .min_by_key(|a| a.is_ipv6())
        .ok_or_else(|| resolve_error("no addresses".to_string()))
}
