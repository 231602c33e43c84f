//! A small IPC layer for simulated tasks: leases over real memory with
//! lender generations, so a task restarted mid-request makes its leases go
//! away exactly as on Hubris.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use lease_writer::{AccessError, Lease, ReadLease};

/// A simulated task's memory and generation.
#[derive(Debug, Default)]
pub struct TaskSlot {
    generation: AtomicU8,
    memory: Mutex<Vec<u8>>,
    restart_on_next_read: AtomicBool,
}

impl TaskSlot {
    /// A task at generation `generation`.
    pub fn new(generation: u8) -> Self {
        Self {
            generation: AtomicU8::new(generation),
            ..Self::default()
        }
    }

    /// The current generation.
    pub fn generation(&self) -> u8 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Restarts the task: its generation moves on and every lease it lent
    /// goes away.
    pub fn restart(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Arranges for the task to restart while the borrower is copying its
    /// next lease: that read fails as "went away".
    pub fn restart_during_next_read(&self) {
        self.restart_on_next_read.store(true, Ordering::SeqCst);
    }

    /// Puts `bytes` in the task's memory (the task writing its own buffer)
    /// and lends them: the lease is valid for the current generation only.
    pub fn lend(&self, bytes: &[u8]) -> SimLease<'_> {
        let mut m = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        m.clear();
        m.extend_from_slice(bytes);
        SimLease {
            slot: self,
            generation: self.generation(),
            len: bytes.len(),
        }
    }
}

/// A read lease on a simulated task's memory.
#[derive(Debug)]
pub struct SimLease<'a> {
    slot: &'a TaskSlot,
    generation: u8,
    len: usize,
}

impl Lease for SimLease<'_> {
    fn len(&self) -> usize {
        self.len
    }
}

impl ReadLease for SimLease<'_> {
    fn read_at(&self, offset: usize, dst: &mut [u8]) -> Result<(), AccessError> {
        let range = lease_writer::checked_range(offset, dst.len(), self.len)?;
        if self.slot.restart_on_next_read.swap(false, Ordering::SeqCst) {
            self.slot.restart();
        }
        if self.slot.generation() != self.generation {
            return Err(AccessError::WentAway);
        }
        let m = self.slot.memory.lock().unwrap_or_else(|p| p.into_inner());
        dst.copy_from_slice(m.get(range).ok_or(AccessError::OutOfBounds)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarted_lenders_leases_go_away() {
        let slot = TaskSlot::new(3);
        let lease = slot.lend(&[1, 2, 3]);
        let mut out = [0u8; 3];
        lease.read_at(0, &mut out).unwrap();
        assert_eq!(out, [1, 2, 3]);
        slot.restart();
        assert_eq!(lease.read_at(0, &mut out), Err(AccessError::WentAway));
        let lease = slot.lend(&[4]);
        slot.restart_during_next_read();
        assert_eq!(lease.read_at(0, &mut out[..1]), Err(AccessError::WentAway));
        assert_eq!(slot.generation(), 5);
    }
}
