//! A UDP [`Net`] over `std::net`, for the host simulator.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use crate::{Net, RecvError, SendError};

/// A bound UDP socket as the snitch's net.
#[derive(Debug)]
pub struct UdpNet {
    socket: UdpSocket,
    wait: Duration,
}

impl UdpNet {
    /// Binds `addr`. [`Net::wait`] blocks for at most `wait`, so a caller
    /// polling a stop flag between packets notices it within that time.
    pub fn bind(addr: SocketAddr, wait: Duration) -> std::io::Result<Self> {
        let socket = UdpSocket::bind(addr)?;
        socket.set_nonblocking(true)?;
        Ok(Self { socket, wait })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }
}

impl Net for UdpNet {
    type Addr = SocketAddr;

    fn recv(&mut self, buf: &mut [u8]) -> Result<(usize, SocketAddr), RecvError> {
        // Peek first so an over-long datagram is seen as long, not
        // truncated to the buffer.
        let mut probe = [0u8; 2048];
        match self.socket.peek_from(&mut probe) {
            Ok((n, _)) => {
                let (_, from) = self
                    .socket
                    .recv_from(buf)
                    .map_err(|_| RecvError::ServerRestarted)?;
                Ok((n, from))
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(RecvError::QueueEmpty)
            }
            // ICMP port-unreachable and the like surface here on some
            // systems; the socket is still fine.
            Err(_) => Err(RecvError::ServerRestarted),
        }
    }

    fn send(&mut self, to: &SocketAddr, data: &[u8]) -> Result<(), SendError> {
        match self.socket.send_to(data, to) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::WouldBlock => Err(SendError::QueueFull),
            Err(_) => Err(SendError::Failed),
        }
    }

    fn wait(&mut self) {
        // Block until a packet is readable or `wait` passes.
        let _ = self.socket.set_nonblocking(false);
        let _ = self.socket.set_read_timeout(Some(self.wait));
        let mut probe = [0u8; 1];
        let _ = self.socket.peek_from(&mut probe);
        let _ = self.socket.set_nonblocking(true);
    }
}
