//! The SP's tasks, run cooperatively: packrat (its store in a `static`, so
//! a RAM dump finds it by symbol), the kernel's view of tasks (generations,
//! faults, panic messages), and the clients producers and the snitch use to
//! reach packrat. Every body crosses into packrat through a lease that
//! checks its lender's generation at each access, and every response is
//! written into the snitch's buffer through a write lease, as on Hubris.

use core::cell::RefCell;

use cortex_m::interrupt::{self, Mutex};
use ereport_cortex_m::{KernelWriteLease, sys_borrow_read};
use ereport_sdk::{
    DeliverEreport, DeliverError, Ena, Identity, ReadEreports, ReadError, ReadRequest, RestartId,
    TaskId,
};
use lease_writer::{AccessError, Lease, ReadLease};
use packrat_ereport::faults::{FaultInfo, FaultReport, FaultTracker, Kernel};
use packrat_ereport::{IngestError, Store, StoreStats};
use sp_workload::{PACKRAT as PACKRAT_ID, SIM_TASKS, START_GENERATIONS, SimTasks};

use crate::startup::now_ms;

/// Packrat's ereport store size (W1's, and a Gimlet's order of size).
pub const STORE_BYTES: usize = 4096;

/// Packrat's state.
pub struct Packrat {
    /// The ereport store.
    pub store: Store<STORE_BYTES, SimTasks>,
    faults: FaultTracker<SIM_TASKS>,
    /// The identity, once `identity_known` (kept apart from it: an
    /// `Option<Identity>`'s `None` is not all zeroes, and would move this
    /// static and its 4 KiB store from `.bss` to `.data`).
    identity: Identity,
    identity_known: bool,
    /// Fault ereports recorded so far.
    pub faults_recorded: u32,
}

/// Packrat, found by this symbol in the ELF (`ereport-dump` finds the
/// store inside it).
pub static PACKRAT: Mutex<RefCell<Packrat>> = Mutex::new(RefCell::new(Packrat {
    store: Store::new(),
    faults: FaultTracker::new(),
    identity: Identity::empty(),
    identity_known: false,
    faults_recorded: 0,
}));

/// One task's kernel-side state.
#[derive(Clone, Copy)]
struct TaskState {
    generation: u8,
    fault_count: u32,
    /// The last fault, the generation that took it, and its panic message.
    fault: Option<(FaultInfo, u8, Option<&'static [u8]>)>,
    /// Restart the task during packrat's next copy from its lease.
    restart_on_next_read: bool,
}

/// The kernel's record of every task.
pub struct SpKernel {
    tasks: [TaskState; SIM_TASKS],
}

/// The kernel's state.
pub static KERNEL: Mutex<RefCell<SpKernel>> = Mutex::new(RefCell::new(SpKernel::new()));

impl SpKernel {
    const fn new() -> Self {
        let mut tasks = [TaskState {
            generation: 0,
            fault_count: 0,
            fault: None,
            restart_on_next_read: false,
        }; SIM_TASKS];
        let mut i = 0;
        while i < SIM_TASKS {
            tasks[i].generation = START_GENERATIONS[i];
            i += 1;
        }
        Self { tasks }
    }

    fn task(&self, index: u16) -> Option<&TaskState> {
        self.tasks.get(usize::from(index))
    }

    fn restart(&mut self, index: u16) {
        if let Some(t) = self.tasks.get_mut(usize::from(index)) {
            t.generation = t.generation.wrapping_add(1);
        }
    }

    /// Reads for a lease of task `index` lent at `generation`: restarts
    /// the task first if that was asked for, then says whether the lease is
    /// still good.
    fn lease_valid(&mut self, index: u16, generation: u8) -> bool {
        let Some(t) = self.tasks.get_mut(usize::from(index)) else {
            return false;
        };
        if core::mem::take(&mut t.restart_on_next_read) {
            t.generation = t.generation.wrapping_add(1);
        }
        t.generation == generation
    }
}

impl Kernel for SpKernel {
    fn fault_count(&self, index: u16) -> u32 {
        self.task(index).map_or(0, |t| t.fault_count)
    }
    fn generation(&self, index: u16) -> u8 {
        self.task(index).map_or(0, |t| t.generation)
    }
    fn fault_info(&self, index: u16) -> Option<FaultInfo> {
        let t = self.task(index)?;
        let (info, generation, _) = t.fault?;
        (generation == t.generation).then_some(info)
    }
    fn read_panic_message(&self, index: u16, buf: &mut [u8]) -> Option<usize> {
        let msg = self.task(index)?.fault?.2?;
        let n = msg.len().min(buf.len());
        buf.get_mut(..n)?.copy_from_slice(msg.get(..n)?);
        Some(n)
    }
}

/// Starts packrat with its restart id.
pub fn start_packrat(restart_id: RestartId) {
    interrupt::free(|cs| {
        let mut p = PACKRAT.borrow(cs).borrow_mut();
        p.store.init(PACKRAT_ID, now_ms());
        let _ = p.store.set_restart_id(restart_id);
    });
}

/// Sets the identity packrat reports as metadata (the VPD read).
pub fn set_identity(identity: Identity) {
    interrupt::free(|cs| {
        let mut p = PACKRAT.borrow(cs).borrow_mut();
        p.identity = identity;
        p.identity_known = true;
    });
}

/// Injects `info` into task `index` (with a panic message), lets packrat
/// record it, and restarts the task: at once, or during packrat's next copy
/// from its lease (`mid_copy`), which then goes away.
pub fn inject_fault(
    index: u16,
    info: FaultInfo,
    message: Option<&'static [u8]>,
    mid_copy: bool,
) -> FaultReport {
    interrupt::free(|cs| {
        let mut k = KERNEL.borrow(cs).borrow_mut();
        if let Some(t) = k.tasks.get_mut(usize::from(index)) {
            t.fault = Some((info, t.generation, message));
            t.fault_count = t.fault_count.wrapping_add(1);
        }
        let mut p = PACKRAT.borrow(cs).borrow_mut();
        let p = &mut *p;
        let report = p.faults.on_faults(&mut p.store, &*k, now_ms());
        p.faults_recorded = p.faults_recorded.wrapping_add(report.recorded as u32);
        if mid_copy {
            if let Some(t) = k.tasks.get_mut(usize::from(index)) {
                t.restart_on_next_read = true;
            }
        } else {
            k.restart(index);
        }
        report
    })
}

/// The store's counters, how many records it holds, and fault ereports
/// recorded.
pub fn packrat_stats() -> (StoreStats, usize, u32) {
    interrupt::free(|cs| {
        let p = PACKRAT.borrow(cs).borrow();
        (p.store.stats(), p.store.len(), p.faults_recorded)
    })
}

/// A producer's buffer lent to packrat: every access is a kernel copy
/// (`sys_borrow_read`) and fails once the lender restarted.
struct TaskLease<'a> {
    bytes: &'a [u8],
    index: u16,
    generation: u8,
}

impl Lease for TaskLease<'_> {
    fn len(&self) -> usize {
        self.bytes.len()
    }
}

impl ReadLease for TaskLease<'_> {
    fn read_at(&self, offset: usize, dst: &mut [u8]) -> Result<(), AccessError> {
        let valid = interrupt::free(|cs| {
            KERNEL
                .borrow(cs)
                .borrow_mut()
                .lease_valid(self.index, self.generation)
        });
        if !valid {
            return Err(AccessError::WentAway);
        }
        sys_borrow_read(self.bytes, offset, dst)
    }
}

/// A producer task's packrat client.
pub struct ProducerClient {
    /// The task's index.
    pub index: u16,
}

impl DeliverEreport for ProducerClient {
    fn deliver_ereport(&self, body: &[u8]) -> Result<Ena, DeliverError> {
        interrupt::free(|cs| {
            let generation = KERNEL.borrow(cs).borrow().generation(self.index);
            let lease = TaskLease {
                bytes: body,
                index: self.index,
                generation,
            };
            let sender = TaskId::new(self.index, generation);
            let mut p = PACKRAT.borrow(cs).borrow_mut();
            p.store
                .deliver(sender, now_ms(), &lease)
                .map_err(|e: IngestError| e.into())
        })
    }
}

/// Packrat's client as the snitch sees it: the response is encoded by
/// packrat into the snitch's buffer through a write lease.
pub struct SnitchClient;

impl ReadEreports for SnitchClient {
    fn read_ereports(&self, req: &ReadRequest, out: &mut [u8]) -> Result<usize, ReadError> {
        interrupt::free(|cs| {
            let mut p = PACKRAT.borrow(cs).borrow_mut();
            let p = &mut *p;
            let identity = p.identity_known.then_some(&p.identity);
            let r = p.store.read_ereports(req, KernelWriteLease(out), identity);
            // A commit may have freed room for faults that waited.
            let k = KERNEL.borrow(cs).borrow();
            let report = p.faults.record_pending(&mut p.store, &*k, now_ms());
            p.faults_recorded = p.faults_recorded.wrapping_add(report.recorded as u32);
            r
        })
    }
}
