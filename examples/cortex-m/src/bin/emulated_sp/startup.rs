//! Start-up: what the image learns from the machine before anything runs
//! (which boot this is, and its command line), and its millisecond clock.
//! Two `unsafe` blocks live here, each with its reason.

use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;

/// The boot counter: a magic word and a count, in RAM that start-up does
/// not clear (`.uninit`), so it survives a reset of the board (QEMU's
/// `system_reset`) while `.bss` and `.data` are set afresh.
#[unsafe(link_section = ".uninit.BOOT_COUNT")]
static mut BOOT_COUNT: MaybeUninit<[u32; 2]> = MaybeUninit::uninit();

/// What the boot counter's first word holds once it has been set.
const BOOT_MAGIC: u32 = 0xB007_C0DE;

/// Counts this boot and returns its number: 0 on power-up (the magic word
/// is not there yet), then 1, 2, ... after each reset.
pub fn boot_number() -> u32 {
    let cell = &raw mut BOOT_COUNT;
    // SAFETY: called once, from `main` before anything else runs and with
    // no interrupt handler touching it, so nothing else accesses the
    // counter. `.uninit` is RAM of the board's memory (never unmapped);
    // its content is whatever the last boot (or power-up: QEMU's RAM
    // starts zeroed) left, which is why it is read as plain words with a
    // magic check instead of trusted. Volatile keeps the compiler from
    // assuming anything about memory it did not initialise.
    unsafe {
        let words = cell.cast::<[u32; 2]>();
        let [magic, count] = core::ptr::read_volatile(words);
        let boot = if magic == BOOT_MAGIC {
            count.wrapping_add(1)
        } else {
            0
        };
        core::ptr::write_volatile(words, [BOOT_MAGIC, boot]);
        boot
    }
}

/// The program's command line from the emulator (semihosting
/// `SYS_GET_CMDLINE`), into `buf`; its length, or `None` if the host gave
/// none.
pub fn command_line(buf: &mut [u8]) -> Option<usize> {
    // The call's argument block: the buffer and its length; the host
    // writes the line (NUL-terminated) and puts its length in the second
    // word.
    let mut block = [buf.as_mut_ptr() as usize, buf.len().saturating_sub(1)];
    let block_ptr = block.as_mut_ptr();
    // SAFETY: `SYS_GET_CMDLINE` (0x15) writes at most `block[1] + 1`
    // bytes (the line and its NUL) at `block[0]`, which is `buf`, borrowed
    // mutably for this call, and writes the line's length into `block[1]`;
    // `block` lives on this stack across the call and is passed as a raw
    // pointer and read back volatile, so the compiler assumes nothing
    // about what the host wrote. The image runs under a semihosting host
    // (QEMU with `-semihosting-config enable=on`): the runner and
    // `run-sp.sh` always enable it.
    let (status, len) = unsafe {
        let status = cortex_m_semihosting::syscall1(
            cortex_m_semihosting::nr::GET_CMDLINE,
            block_ptr as usize,
        );
        (status, core::ptr::read_volatile(block_ptr.add(1)))
    };
    if status != 0 {
        return None;
    }
    // The line ends at its NUL, whatever length the host reported.
    let len = len.min(buf.len());
    Some(buf.get(..len)?.iter().position(|b| *b == 0).unwrap_or(len))
}

/// Milliseconds since the clock started, low and high words. Only the
/// SysTick handler writes them.
static MILLIS_LO: AtomicU32 = AtomicU32::new(0);
static MILLIS_HI: AtomicU32 = AtomicU32::new(0);

/// The board's core clock: 25 MHz on the MPS2 (QEMU's `SYSCLK_FRQ`).
pub const CORE_HZ: u32 = 25_000_000;

/// Starts SysTick at 1 kHz from the core clock.
pub fn start_clock(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(CORE_HZ / 1_000 - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

#[exception]
fn SysTick() {
    let lo = MILLIS_LO.load(Ordering::Relaxed).wrapping_add(1);
    if lo == 0 {
        MILLIS_HI.fetch_add(1, Ordering::Relaxed);
    }
    MILLIS_LO.store(lo, Ordering::Release);
}

/// Milliseconds since [`start_clock`].
pub fn now_ms() -> u64 {
    loop {
        let hi = MILLIS_HI.load(Ordering::Acquire);
        let lo = MILLIS_LO.load(Ordering::Acquire);
        if MILLIS_HI.load(Ordering::Acquire) == hi {
            return u64::from(hi) << 32 | u64::from(lo);
        }
    }
}
