//! The SP's network: smoltcp over the LAN9118, with one UDP socket on the
//! ereport port, as the snitch's [`Net`].
//!
//! QEMU's user-mode network puts the guest at `10.0.2.15/24` behind a
//! gateway at `10.0.2.2`, and forwards the host port to the guest's (the
//! forwarded datagrams arrive from `10.0.2.2`).

use smoltcp::iface::{Config as IfaceConfig, Interface, SocketHandle, SocketSet};
use smoltcp::socket::udp;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint, Ipv4Address};
use snitch::{Net, RecvError, SendError};

use crate::lan9118::Lan9118;
use crate::startup::now_ms;

/// The guest's address on QEMU's user-mode network.
pub const ADDRESS: Ipv4Address = Ipv4Address::new(10, 0, 2, 15);
/// The user-mode network's gateway.
pub const GATEWAY: Ipv4Address = Ipv4Address::new(10, 0, 2, 2);

/// The stack, the NIC and the snitch's socket.
pub struct SpNet<'a> {
    iface: Interface,
    nic: Lan9118,
    sockets: SocketSet<'a>,
    udp: SocketHandle,
    /// Datagrams the socket received that were longer than the snitch's
    /// buffer (handed over truncated, with their real length).
    pub truncated: u32,
    /// Datagrams queued to send, and their payload bytes.
    pub sent: u32,
    /// Payload bytes of the datagrams sent.
    pub sent_bytes: u64,
}

/// The socket's buffers, kept by the caller (no allocator).
pub struct Buffers<'a> {
    /// Socket storage for the one socket.
    pub sockets: &'a mut [smoltcp::iface::SocketStorage<'a>],
    /// Receive metadata and payload.
    pub rx_meta: &'a mut [udp::PacketMetadata],
    /// Receive payload bytes.
    pub rx: &'a mut [u8],
    /// Transmit metadata.
    pub tx_meta: &'a mut [udp::PacketMetadata],
    /// Transmit payload bytes.
    pub tx: &'a mut [u8],
}

impl<'a> SpNet<'a> {
    /// Brings the interface up on `nic` and binds the socket to `port`.
    pub fn new(
        mut nic: Lan9118,
        port: u16,
        seed: u64,
        b: Buffers<'a>,
    ) -> Result<Self, &'static str> {
        let mac = HardwareAddress::Ethernet(EthernetAddress(nic.mac()));
        let mut config = IfaceConfig::new(mac);
        config.random_seed = seed;
        let mut iface = Interface::new(config, &mut nic, now());
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(ADDRESS), 24));
        });
        iface
            .routes_mut()
            .add_default_ipv4_route(GATEWAY)
            .map_err(|_| "no room for the default route")?;
        let mut socket = udp::Socket::new(
            udp::PacketBuffer::new(b.rx_meta, b.rx),
            udp::PacketBuffer::new(b.tx_meta, b.tx),
        );
        socket
            .bind(port)
            .map_err(|_| "cannot bind the ereport port")?;
        let mut sockets = SocketSet::new(b.sockets);
        let udp = sockets.add(socket);
        Ok(Self {
            iface,
            nic,
            sockets,
            udp,
            truncated: 0,
            sent: 0,
            sent_bytes: 0,
        })
    }

    /// Moves frames between the NIC and the stack.
    pub fn poll(&mut self) {
        let _ = self.iface.poll(now(), &mut self.nic, &mut self.sockets);
    }

    /// The NIC.
    pub fn nic(&self) -> &Lan9118 {
        &self.nic
    }
}

fn now() -> Instant {
    Instant::from_millis(i64::try_from(now_ms()).unwrap_or(i64::MAX))
}

impl Net for SpNet<'_> {
    type Addr = IpEndpoint;

    fn recv(&mut self, buf: &mut [u8]) -> Result<(usize, IpEndpoint), RecvError> {
        self.poll();
        let socket = self.sockets.get_mut::<udp::Socket>(self.udp);
        let (data, meta) = socket.recv().map_err(|_| RecvError::QueueEmpty)?;
        let n = data.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), data.get(..n)) {
            dst.copy_from_slice(src);
        }
        if data.len() > buf.len() {
            self.truncated = self.truncated.wrapping_add(1);
        }
        // The real length: the snitch sees a long packet as long.
        Ok((data.len(), meta.endpoint))
    }

    fn send(&mut self, to: &IpEndpoint, data: &[u8]) -> Result<(), SendError> {
        let socket = self.sockets.get_mut::<udp::Socket>(self.udp);
        match socket.send_slice(data, *to) {
            Ok(()) => {
                self.sent = self.sent.wrapping_add(1);
                self.sent_bytes = self.sent_bytes.wrapping_add(data.len() as u64);
                // Out at once: the snitch's buffer is free again anyway,
                // and the reply should not wait for the next loop.
                self.poll();
                Ok(())
            }
            Err(udp::SendError::BufferFull) => Err(SendError::QueueFull),
            Err(udp::SendError::Unaddressable) => Err(SendError::Failed),
        }
    }

    fn wait(&mut self) {
        // Cooperative: nothing blocks. Moving frames is the wait; the main
        // loop goes on to the other tasks.
        self.poll();
    }
}
