//! A driver for the SMSC LAN9118 Ethernet controller as a smoltcp
//! [`Device`], polled (no interrupts).
//!
//! The controller is programmed through 32-bit registers: frames go out by
//! writing two command words and the frame's words to the TX data FIFO,
//! and come in as a status word (length and errors) in the RX status FIFO
//! followed by the frame's words, and its CRC, in the RX data FIFO. The MAC
//! itself sits behind an indirect register pair (`MAC_CSR_CMD`/`DATA`).
//! Register offsets and bits are the data sheet's; QEMU's model
//! (`hw/net/lan9118.c`) implements the subset used here.
//!
//! Every register access goes through [`Mmio`], the only `unsafe` here.

use core::sync::atomic::{AtomicBool, Ordering};

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// Where the controller is on the MPS2 AN500 board (QEMU `mps2-an500`).
pub const MPS2_AN500_BASE: usize = 0xA000_0000;

// System control and status registers (byte offsets).
const RX_DATA_FIFO: usize = 0x00;
const TX_DATA_FIFO: usize = 0x20;
const RX_STATUS_FIFO: usize = 0x40;
const TX_STATUS_FIFO: usize = 0x48;
const ID_REV: usize = 0x50;
const INT_EN: usize = 0x5C;
const BYTE_TEST: usize = 0x64;
const RX_CFG: usize = 0x6C;
const TX_CFG: usize = 0x70;
const HW_CFG: usize = 0x74;
const RX_FIFO_INF: usize = 0x7C;
const TX_FIFO_INF: usize = 0x80;
const PMT_CTRL: usize = 0x84;
const MAC_CSR_CMD: usize = 0xA4;
const MAC_CSR_DATA: usize = 0xA8;

/// What `BYTE_TEST` reads on a controller that is there and in 32-bit
/// mode.
const BYTE_TEST_VALUE: u32 = 0x8765_4321;
/// `HW_CFG.SRST`: soft reset, self-clearing.
const HW_CFG_SRST: u32 = 1 << 0;
/// `PMT_CTRL.READY`: the device is ready after reset.
const PMT_CTRL_READY: u32 = 1 << 0;
/// `TX_CFG.TX_ON`: the transmitter is on.
const TX_CFG_TX_ON: u32 = 1 << 1;
/// `TX_CFG.TXS_DUMP`: empty the TX status FIFO.
const TX_CFG_TXS_DUMP: u32 = 1 << 15;
/// `RX_CFG.RX_DUMP`: empty the RX FIFOs.
const RX_CFG_RX_DUMP: u32 = 1 << 15;
/// `MAC_CSR_CMD`: busy (start the access), and read rather than write.
const CSR_BUSY: u32 = 1 << 31;
const CSR_READ: u32 = 1 << 30;

// MAC registers, behind MAC_CSR_CMD.
const MAC_CR: u32 = 1;
const MAC_ADDRH: u32 = 2;
const MAC_ADDRL: u32 = 3;
/// `MAC_CR`: full duplex, transmitter and receiver on (not promiscuous:
/// the MAC keeps frames for its own address and broadcasts).
const MAC_CR_FDPX: u32 = 1 << 20;
const MAC_CR_TXEN: u32 = 1 << 3;
const MAC_CR_RXEN: u32 = 1 << 2;

/// TX command A: first and last segment of a frame held in one buffer.
const TX_CMD_A_FIRST: u32 = 1 << 13;
const TX_CMD_A_LAST: u32 = 1 << 12;
/// RX status: error summary, and where the frame length sits.
const RX_STS_ERROR: u32 = 1 << 15;
const RX_STS_LEN_SHIFT: u32 = 16;
const RX_STS_LEN_MASK: u32 = 0x3FFF;

/// The largest frame kept: an Ethernet frame without its CRC.
pub const MAX_FRAME: usize = 1514;
/// The RX buffer: a frame and its 4-byte CRC, rounded to words.
const RX_BUF: usize = 1520;
/// Polls of a self-clearing bit before the device is declared stuck.
const SPIN_LIMIT: u32 = 100_000;

/// The controller's registers at a base address.
#[derive(Clone, Copy)]
struct Mmio {
    base: usize,
}

impl Mmio {
    fn read(&self, offset: usize) -> u32 {
        // SAFETY: `base` is the controller's register block in the board's
        // memory map (`MPS2_AN500_BASE`, the only value `Lan9118::take`
        // gives it, once), `offset` is one of the register offsets above
        // (all below 0x100, the block's size, and 4-aligned), and the
        // register is a device register, not memory Rust owns: a volatile
        // 32-bit read is how it is accessed and aliases nothing.
        unsafe { core::ptr::read_volatile((self.base + offset) as *const u32) }
    }

    fn write(&self, offset: usize, value: u32) {
        // SAFETY: as in `read`; a 32-bit volatile store to a device
        // register.
        unsafe { core::ptr::write_volatile((self.base + offset) as *mut u32, value) }
    }

    fn mac_read(&self, reg: u32) -> Result<u32, Error> {
        self.mac_wait()?;
        self.write(MAC_CSR_CMD, CSR_BUSY | CSR_READ | reg);
        self.mac_wait()?;
        Ok(self.read(MAC_CSR_DATA))
    }

    fn mac_write(&self, reg: u32, value: u32) -> Result<(), Error> {
        self.mac_wait()?;
        self.write(MAC_CSR_DATA, value);
        self.write(MAC_CSR_CMD, CSR_BUSY | reg);
        self.mac_wait()
    }

    fn mac_wait(&self) -> Result<(), Error> {
        spin_until(|| self.read(MAC_CSR_CMD) & CSR_BUSY == 0).ok_or(Error::Stuck("MAC_CSR_CMD"))
    }
}

fn spin_until(mut done: impl FnMut() -> bool) -> Option<()> {
    (0..SPIN_LIMIT).any(|_| done()).then_some(())
}

/// Whether the controller has been taken ([`Lan9118::take`]).
static TAKEN: AtomicBool = AtomicBool::new(false);

/// Why the controller could not be brought up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// It was taken already.
    Taken,
    /// `BYTE_TEST` read something else: no controller at this address, or
    /// not in 32-bit mode.
    NotThere(u32),
    /// A self-clearing bit did not clear (the register named).
    Stuck(&'static str),
}

/// Frame counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames received and handed to the stack.
    pub rx_frames: u32,
    /// Frames dropped: errors flagged by the MAC, or too long.
    pub rx_dropped: u32,
    /// Frames sent.
    pub tx_frames: u32,
    /// Times the stack wanted to send and the TX FIFO had no room.
    pub tx_full: u32,
}

/// The controller, brought up and polled.
pub struct Lan9118 {
    regs: Mmio,
    mac: [u8; 6],
    rx: [u8; RX_BUF],
    rx_frames: u32,
    rx_dropped: u32,
    tx: TxPath,
}

/// The transmit side: apart from the receive side, so the stack can hold
/// a received frame and room to answer it at once.
struct TxPath {
    regs: Mmio,
    buf: [u8; MAX_FRAME],
    frames: u32,
    full: u32,
}

impl Lan9118 {
    /// Takes the board's controller (at [`MPS2_AN500_BASE`]), resets it
    /// and starts its MAC, with the MAC address the device holds (QEMU's
    /// `-nic ...,mac=`, or its default). There is one: a second call is
    /// refused, so no two drivers ever drive the registers.
    pub fn take() -> Result<Self, Error> {
        if TAKEN.swap(true, Ordering::AcqRel) {
            return Err(Error::Taken);
        }
        let regs = Mmio {
            base: MPS2_AN500_BASE,
        };
        let test = regs.read(BYTE_TEST);
        if test != BYTE_TEST_VALUE {
            return Err(Error::NotThere(test));
        }
        regs.write(HW_CFG, HW_CFG_SRST);
        spin_until(|| regs.read(HW_CFG) & HW_CFG_SRST == 0).ok_or(Error::Stuck("HW_CFG"))?;
        spin_until(|| regs.read(PMT_CTRL) & PMT_CTRL_READY != 0).ok_or(Error::Stuck("PMT_CTRL"))?;
        // Polled: no interrupts.
        regs.write(INT_EN, 0);
        // Empty FIFOs, no RX offset or end padding.
        regs.write(RX_CFG, RX_CFG_RX_DUMP);
        regs.write(TX_CFG, TX_CFG_TXS_DUMP | TX_CFG_TX_ON);
        let lo = regs.mac_read(MAC_ADDRL)?.to_le_bytes();
        let hi = regs.mac_read(MAC_ADDRH)?.to_le_bytes();
        let mac = [lo[0], lo[1], lo[2], lo[3], hi[0], hi[1]];
        regs.mac_write(MAC_CR, MAC_CR_FDPX | MAC_CR_TXEN | MAC_CR_RXEN)?;
        Ok(Self {
            regs,
            mac,
            rx: [0; RX_BUF],
            rx_frames: 0,
            rx_dropped: 0,
            tx: TxPath {
                regs,
                buf: [0; MAX_FRAME],
                frames: 0,
                full: 0,
            },
        })
    }

    /// The MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// The chip's id and revision (`ID_REV`; `0x0118_0001` under QEMU).
    pub fn id_rev(&self) -> u32 {
        self.regs.read(ID_REV)
    }

    /// The frame counters.
    pub fn stats(&self) -> Stats {
        Stats {
            rx_frames: self.rx_frames,
            rx_dropped: self.rx_dropped,
            tx_frames: self.tx.frames,
            tx_full: self.tx.full,
        }
    }

    /// Takes the next good frame out of the RX FIFOs into the RX buffer,
    /// returning its length; frames with errors or too long are read out
    /// and dropped.
    // Out of line, so the image's size figures can tell the driver apart.
    #[inline(never)]
    fn next_frame(&mut self) -> Option<usize> {
        // The RX FIFO holds at most a few dozen frames; bound the loop so
        // a stream of bad frames cannot keep the caller here.
        for _ in 0..64 {
            let waiting = (self.regs.read(RX_FIFO_INF) >> 16) & 0xFF;
            if waiting == 0 {
                return None;
            }
            let status = self.regs.read(RX_STATUS_FIFO);
            // The length counts the CRC; the data FIFO holds it too.
            let len = ((status >> RX_STS_LEN_SHIFT) & RX_STS_LEN_MASK) as usize;
            let keep = status & RX_STS_ERROR == 0 && (15..=RX_BUF).contains(&len);
            for i in 0..len.div_ceil(4) {
                let word = self.regs.read(RX_DATA_FIFO).to_le_bytes();
                if keep && let Some(dst) = self.rx.get_mut(i * 4..i * 4 + 4) {
                    dst.copy_from_slice(&word);
                }
            }
            if keep {
                self.rx_frames = self.rx_frames.wrapping_add(1);
                return Some(len - 4);
            }
            self.rx_dropped = self.rx_dropped.wrapping_add(1);
        }
        None
    }
}

impl TxPath {
    /// Whether the TX FIFO has room for a frame of `len` bytes and its two
    /// command words.
    // Out of line, so the image's size figures can tell the driver apart.
    #[inline(never)]
    fn room(&mut self, len: usize) -> bool {
        // Statuses are not used: read them out so their FIFO never fills
        // (bounded by the FIFO's 512 entries).
        for _ in 0..512 {
            if (self.regs.read(TX_FIFO_INF) >> 16) & 0xFF == 0 {
                break;
            }
            let _ = self.regs.read(TX_STATUS_FIFO);
        }
        let free = (self.regs.read(TX_FIFO_INF) & 0xFFFF) as usize;
        free >= len.div_ceil(4) * 4 + 8
    }

    /// Writes the first `len` bytes of the buffer out as one frame, or
    /// drops it (counted) if the FIFO has no room.
    // Out of line, so the image's size figures can tell the driver apart.
    #[inline(never)]
    fn send(&mut self, len: usize) {
        let len = len.min(MAX_FRAME);
        if !self.room(len) {
            self.full = self.full.wrapping_add(1);
            return;
        }
        // Lengths fit in 11 bits (at most 1514).
        self.regs
            .write(TX_DATA_FIFO, TX_CMD_A_FIRST | TX_CMD_A_LAST | len as u32);
        self.regs.write(TX_DATA_FIFO, len as u32);
        for chunk in self.buf.get(..len).unwrap_or(&[]).chunks(4) {
            let mut word = [0u8; 4];
            if let Some(w) = word.get_mut(..chunk.len()) {
                w.copy_from_slice(chunk);
            }
            self.regs.write(TX_DATA_FIFO, u32::from_le_bytes(word));
        }
        self.frames = self.frames.wrapping_add(1);
    }
}

/// A received frame, lent to the stack.
pub struct RxToken<'a>(&'a [u8]);

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

/// Room to send one frame.
pub struct TxToken<'a>(&'a mut TxPath);

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let len = len.min(MAX_FRAME);
        let r = f(self.0.buf.get_mut(..len).unwrap_or(&mut []));
        self.0.send(len);
        r
    }
}

impl Device for Lan9118 {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        let len = self.next_frame()?;
        let frame = self.rx.get(..len).unwrap_or(&[]);
        Some((RxToken(frame), TxToken(&mut self.tx)))
    }

    fn transmit(&mut self, _: Instant) -> Option<TxToken<'_>> {
        if self.tx.room(MAX_FRAME) {
            Some(TxToken(&mut self.tx))
        } else {
            self.tx.full = self.tx.full.wrapping_add(1);
            None
        }
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MAX_FRAME;
        caps.max_burst_size = Some(1);
        caps
    }
}
