//! Support for the Cortex-M programs: leases whose every access is an
//! out-of-line call (standing in for `sys_borrow_read`/`sys_borrow_write`,
//! so the compiler cannot see through them), a panic handler that fails the
//! run, and semihosting output.

#![no_std]
#![forbid(unsafe_code)]

use core::hint::black_box;

use cortex_m_semihosting::debug;
use lease_writer::{AccessError, Lease, ReadLease, WriteLease, checked_range};

/// The kernel's `sys_borrow_read`, stand-in: one out-of-line call per
/// access, which copies from the lender's memory.
#[inline(never)]
pub fn sys_borrow_read(lender: &[u8], offset: usize, dst: &mut [u8]) -> Result<(), AccessError> {
    let lender = black_box(lender);
    let range = checked_range(offset, dst.len(), lender.len())?;
    dst.copy_from_slice(lender.get(range).ok_or(AccessError::WentAway)?);
    Ok(())
}

/// The kernel's `sys_borrow_write`, stand-in.
#[inline(never)]
pub fn sys_borrow_write(lender: &mut [u8], offset: usize, src: &[u8]) -> Result<(), AccessError> {
    let lender = black_box(lender);
    let range = checked_range(offset, src.len(), lender.len())?;
    lender
        .get_mut(range)
        .ok_or(AccessError::WentAway)?
        .copy_from_slice(src);
    Ok(())
}

/// A read lease on another task's memory.
pub struct KernelReadLease<'a>(pub &'a [u8]);

impl Lease for KernelReadLease<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl ReadLease for KernelReadLease<'_> {
    fn read_at(&self, offset: usize, dst: &mut [u8]) -> Result<(), AccessError> {
        sys_borrow_read(self.0, offset, dst)
    }
}

/// A write lease on another task's memory.
pub struct KernelWriteLease<'a>(pub &'a mut [u8]);

impl Lease for KernelWriteLease<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl WriteLease for KernelWriteLease<'_> {
    fn write_at(&mut self, offset: usize, src: &[u8]) -> Result<(), AccessError> {
        sys_borrow_write(self.0, offset, src)
    }
}

/// Ends the emulator run with success.
pub fn exit_success() -> ! {
    debug::exit(debug::EXIT_SUCCESS);
    #[allow(clippy::empty_loop)]
    loop {}
}

/// Ends the emulator run with failure.
pub fn exit_failure() -> ! {
    debug::exit(debug::EXIT_FAILURE);
    #[allow(clippy::empty_loop)]
    loop {}
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    cortex_m_semihosting::hprintln!("panic: {}", info);
    exit_failure()
}
