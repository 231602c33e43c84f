//! The snitch: a low-priority task that serves ereports to the management
//! gateway (MGS) over UDP.
//!
//! It is a loop: receive a packet; parse it as a version-0 request (with
//! `zerocopy`, without copying, and without panicking on any input); ask
//! packrat to encode the response straight into the transmit buffer, lent as
//! a lease; send it, retrying while the net server restarted or its queue is
//! full; and when the receive queue is empty, wait for the socket
//! notification. Anything that is not a valid request is dropped and
//! counted.
//!
//! The snitch is generic over [`Net`] (the `net` task) and
//! [`ReadEreports`] (packrat's client), and depends on packrat's interface
//! only, never on its implementation.
//!
//! ```
//! use ereport_sdk::{ReadEreports, ReadError, ReadRequest};
//! use snitch::{Net, RecvError, SendError, Snitch};
//!
//! /// A net with one queued request, that records what is sent.
//! struct OnePacket(Option<[u8; 35]>, Vec<Vec<u8>>);
//! impl Net for OnePacket {
//!     type Addr = ();
//!     fn recv(&mut self, buf: &mut [u8]) -> Result<(usize, ()), RecvError> {
//!         let p = self.0.take().ok_or(RecvError::QueueEmpty)?;
//!         buf[..35].copy_from_slice(&p);
//!         Ok((35, ()))
//!     }
//!     fn send(&mut self, _: &(), data: &[u8]) -> Result<(), SendError> {
//!         self.1.push(data.to_vec());
//!         Ok(())
//!     }
//!     fn wait(&mut self) {}
//! }
//!
//! struct Packrat;
//! impl ReadEreports for Packrat {
//!     fn read_ereports(&self, req: &ReadRequest, out: &mut [u8]) -> Result<usize, ReadError> {
//!         out[..28].fill(0);
//!         out[25] = req.request_id;
//!         Ok(28)
//!     }
//! }
//!
//! let mut req = [0u8; 35];
//! req[34] = 9; // request id
//! let mut s = Snitch::new(OnePacket(Some(req), vec![]), Packrat);
//! s.poll();
//! assert_eq!(s.counters().responses_sent, 1);
//! assert_eq!(s.net().1[0][25], 9);
//! ```

#![cfg_attr(not(feature = "std"), no_std)]
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
pub mod udp;

use ereport_sdk::wire::{MAX_RESPONSE_LEN, REQUEST_LEN, Request, RequestError};
use ereport_sdk::{ReadEreports, ReadError, ReadRequest};

/// Receive buffer length: a request is 35 bytes; anything longer is seen as
/// long (a net that truncates to this length still reports it as long).
pub const RX_LEN: usize = REQUEST_LEN + 1;

/// Why a receive got nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvError {
    /// No packet is queued: wait for the socket notification.
    QueueEmpty,
    /// The net server restarted; try again.
    ServerRestarted,
}

/// Why a send failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The transmit queue is full: wait, then retry.
    QueueFull,
    /// The net server restarted: retry.
    ServerRestarted,
    /// The packet cannot be sent (no route, say): drop it.
    Failed,
}

/// The `net` task, as the snitch uses it.
pub trait Net {
    /// Where a packet came from (and its reply goes to).
    type Addr;
    /// Receives one packet into `buf`, returning its length (which may
    /// exceed `buf.len()` if the packet was truncated) and its sender.
    fn recv(&mut self, buf: &mut [u8]) -> Result<(usize, Self::Addr), RecvError>;
    /// Sends `data` to `to`.
    fn send(&mut self, to: &Self::Addr, data: &[u8]) -> Result<(), SendError>;
    /// Blocks until the socket notification (a packet arrived, or room to
    /// send).
    fn wait(&mut self);
}

/// Most attempts at sending one response before it is dropped. MGS retries
/// its request anyway; a bound keeps a wedged net from wedging the snitch.
pub const MAX_SEND_ATTEMPTS: u32 = 64;

/// Counters for every event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Packets received.
    pub received: u32,
    /// Valid requests.
    pub requests: u32,
    /// Dropped: shorter than a request.
    pub short: u32,
    /// Dropped: longer than a request.
    pub long: u32,
    /// Dropped: an unknown version.
    pub bad_version: u32,
    /// Responses sent.
    pub responses_sent: u32,
    /// Requests answered with nothing: packrat has no restart id yet.
    pub no_restart_id: u32,
    /// Requests packrat could not answer otherwise.
    pub read_errors: u32,
    /// Send retries because the queue was full.
    pub send_queue_full: u32,
    /// Retries because the net server restarted (receive or send).
    pub net_restarts: u32,
    /// Responses dropped after [`MAX_SEND_ATTEMPTS`] or a hard failure.
    pub send_dropped: u32,
    /// Times the snitch waited for the socket notification.
    pub waits: u32,
}

/// What one [`Snitch::poll`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Nothing was queued; the snitch waited for the notification.
    Waited,
    /// A response was sent.
    Responded,
    /// A packet was dropped (invalid, or no response could be made or sent).
    Dropped,
    /// The net server restarted during the receive.
    NetRestarted,
}

/// The snitch's state: its net, packrat's client, buffers and counters.
pub struct Snitch<N: Net, P: ReadEreports> {
    net: N,
    packrat: P,
    rx: [u8; RX_LEN],
    tx: [u8; MAX_RESPONSE_LEN],
    counters: Counters,
}

fn bump(c: &mut u32) {
    *c = c.saturating_add(1);
}

impl<N: Net, P: ReadEreports> Snitch<N, P> {
    /// A snitch over `net` and `packrat`.
    pub fn new(net: N, packrat: P) -> Self {
        Self {
            net,
            packrat,
            rx: [0; RX_LEN],
            tx: [0; MAX_RESPONSE_LEN],
            counters: Counters::default(),
        }
    }

    /// The counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The net.
    pub fn net(&self) -> &N {
        &self.net
    }

    /// Serves forever (the task's main loop).
    pub fn run(&mut self) -> ! {
        loop {
            self.poll();
        }
    }

    /// Handles at most one packet, or waits for one.
    pub fn poll(&mut self) -> Event {
        let (len, from) = match self.net.recv(&mut self.rx) {
            Ok(p) => p,
            Err(RecvError::QueueEmpty) => {
                bump(&mut self.counters.waits);
                self.net.wait();
                return Event::Waited;
            }
            Err(RecvError::ServerRestarted) => {
                bump(&mut self.counters.net_restarts);
                return Event::NetRestarted;
            }
        };
        bump(&mut self.counters.received);
        // A longer packet shows as RX_LEN bytes, which parses as long.
        let packet = self.rx.get(..len.min(RX_LEN)).unwrap_or(&[]);
        let req = match Request::parse(packet) {
            Ok(r) => *r,
            Err(e) => {
                match e {
                    RequestError::Short(_) => bump(&mut self.counters.short),
                    RequestError::Long(_) => bump(&mut self.counters.long),
                    RequestError::Version(_) => bump(&mut self.counters.bad_version),
                }
                return Event::Dropped;
            }
        };
        bump(&mut self.counters.requests);
        let n = match self
            .packrat
            .read_ereports(&ReadRequest::from(&req), &mut self.tx)
        {
            Ok(n) => n,
            Err(ReadError::NoRestartId) => {
                bump(&mut self.counters.no_restart_id);
                return Event::Dropped;
            }
            Err(_) => {
                bump(&mut self.counters.read_errors);
                return Event::Dropped;
            }
        };
        let Some(response) = self.tx.get(..n) else {
            bump(&mut self.counters.read_errors);
            return Event::Dropped;
        };
        for _ in 0..MAX_SEND_ATTEMPTS {
            match self.net.send(&from, response) {
                Ok(()) => {
                    bump(&mut self.counters.responses_sent);
                    return Event::Responded;
                }
                Err(SendError::QueueFull) => {
                    bump(&mut self.counters.send_queue_full);
                    self.net.wait();
                }
                Err(SendError::ServerRestarted) => bump(&mut self.counters.net_restarts),
                Err(SendError::Failed) => break,
            }
        }
        bump(&mut self.counters.send_dropped);
        Event::Dropped
    }
}
