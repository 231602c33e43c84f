//! Ereports for task faults, recorded by packrat on the faulted task's
//! behalf.
//!
//! When the kernel (through jefe) says fault counts changed, packrat asks,
//! for each task whose count moved, what the fault was, and stores one
//! `hubris.fault.*` ereport under that task's id. If the task has already
//! been restarted the details are gone: a bare `hubris.fault` is recorded
//! under the generation that faulted. If the store is full, the faults are
//! remembered (no loss is counted for them) and recorded after the next
//! flush frees room: call [`FaultTracker::record_pending`] after every flush.

use core::fmt;

use ereport_sdk::cbor_len::encode_head;
use ereport_sdk::{Ena, TaskId};
use minicbor::Encoder;
use minicbor::encode::{Error, Write};

use crate::store::{IngestError, Store, TaskTable};

/// Most bytes of a panic message packrat reads out of a faulted task.
pub const PANIC_MESSAGE_MAX: usize = 128;

/// Whether a memory or bus fault came from the task or from the kernel
/// acting for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultSource {
    /// The task's own access.
    User,
    /// The kernel, on the task's behalf (a lease, say).
    Kernel,
}

impl FaultSource {
    fn name(self) -> &'static str {
        match self {
            FaultSource::User => "user",
            FaultSource::Kernel => "kernel",
        }
    }
}

/// What a task did wrong in a syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsageError {
    /// No such syscall.
    BadSyscallNumber,
    /// A slice argument the task may not access.
    InvalidSlice,
    /// A task id out of range.
    TaskOutOfRange,
    /// A task the caller may not name.
    IllegalTask,
    /// A lease number out of range.
    LeaseOutOfRange,
    /// An offset past a lease's end.
    OffsetOutOfRange,
    /// An interrupt the task does not own.
    NoIrq,
    /// A malformed kernel IPC message.
    BadKernelMessage,
    /// A bad reply-fault reason.
    BadReplyFaultReason,
    /// A supervisor-only call.
    NotSupervisor,
}

impl UsageError {
    fn name(self) -> &'static str {
        match self {
            UsageError::BadSyscallNumber => "bad_syscall_number",
            UsageError::InvalidSlice => "invalid_slice",
            UsageError::TaskOutOfRange => "task_out_of_range",
            UsageError::IllegalTask => "illegal_task",
            UsageError::LeaseOutOfRange => "lease_out_of_range",
            UsageError::OffsetOutOfRange => "offset_out_of_range",
            UsageError::NoIrq => "no_irq",
            UsageError::BadKernelMessage => "bad_kernel_message",
            UsageError::BadReplyFaultReason => "bad_reply_fault_reason",
            UsageError::NotSupervisor => "not_supervisor",
        }
    }
}

/// Why a server faulted its client with a reply fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyFaultReason {
    /// An operation the server does not define.
    UndefinedOperation,
    /// A message of the wrong size.
    BadMessageSize,
    /// A message whose contents do not decode.
    BadMessageContents,
    /// The wrong leases.
    BadLeases,
    /// A reply buffer too small for the reply.
    ReplyBufferTooSmall,
    /// An access the client is not allowed.
    AccessViolation,
}

impl ReplyFaultReason {
    fn name(self) -> &'static str {
        match self {
            ReplyFaultReason::UndefinedOperation => "undefined_operation",
            ReplyFaultReason::BadMessageSize => "bad_message_size",
            ReplyFaultReason::BadMessageContents => "bad_message_contents",
            ReplyFaultReason::BadLeases => "bad_leases",
            ReplyFaultReason::ReplyBufferTooSmall => "reply_buffer_too_small",
            ReplyFaultReason::AccessViolation => "access_violation",
        }
    }
}

/// The kernel's record of a task's fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultInfo {
    /// A memory access the MPU refused.
    MemoryAccess {
        /// The address, when the hardware reported it.
        address: Option<u32>,
        /// Who made the access.
        source: FaultSource,
    },
    /// The stack ran out.
    StackOverflow {
        /// The faulting stack address.
        address: u32,
    },
    /// A bus error.
    BusError {
        /// The address, when the hardware reported it.
        address: Option<u32>,
        /// Who made the access.
        source: FaultSource,
    },
    /// Integer division by zero.
    DivideByZero,
    /// Execution from memory that is not text.
    IllegalText,
    /// An undefined instruction.
    IllegalInstruction,
    /// An invalid operation (the code is the hardware's status).
    InvalidOperation(u32),
    /// A syscall used wrongly.
    SyscallUsage(UsageError),
    /// The task panicked; the message is read separately.
    Panic,
    /// Another task injected the fault.
    Injected(TaskId),
    /// A server faulted the task in reply.
    FromServer(TaskId, ReplyFaultReason),
}

impl FaultInfo {
    /// The ereport class recorded for this fault.
    pub fn class(&self) -> &'static str {
        match self {
            FaultInfo::MemoryAccess { .. } => "hubris.fault.mem",
            FaultInfo::StackOverflow { .. } => "hubris.fault.stack",
            FaultInfo::BusError { .. } => "hubris.fault.bus",
            FaultInfo::DivideByZero => "hubris.fault.div0",
            FaultInfo::IllegalText => "hubris.fault.illegal_txt",
            FaultInfo::IllegalInstruction => "hubris.fault.illegal_inst",
            FaultInfo::InvalidOperation(_) => "hubris.fault.invalid_op",
            FaultInfo::SyscallUsage(_) => "hubris.fault.syscall",
            FaultInfo::Panic => "hubris.fault.panic",
            FaultInfo::Injected(_) => "hubris.fault.injected",
            FaultInfo::FromServer(..) => "hubris.fault.reply",
        }
    }
}

/// Class recorded when the details of a fault are gone.
pub const BARE_FAULT_CLASS: &str = "hubris.fault";

/// What packrat asks the kernel about tasks (`kipc` on a real SP).
pub trait Kernel {
    /// Faults the task at `index` has taken since boot.
    fn fault_count(&self, index: u16) -> u32;
    /// The task's current generation.
    fn generation(&self, index: u16) -> u8;
    /// The fault, if the task is still in its faulted state (not yet
    /// restarted).
    fn fault_info(&self, index: u16) -> Option<FaultInfo>;
    /// Copies the panic message of a task that panicked into `buf`,
    /// returning its length, or `None` if it cannot be read.
    fn read_panic_message(&self, index: u16, buf: &mut [u8]) -> Option<usize>;
}

/// What [`FaultTracker`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultReport {
    /// Fault ereports stored.
    pub recorded: usize,
    /// Tasks whose faults wait for room.
    pub pending: usize,
}

/// Follows fault counts for `TASKS` tasks and records fault ereports.
/// `const`-constructed and all zeroes.
#[derive(Debug)]
pub struct FaultTracker<const TASKS: usize> {
    seen: [u32; TASKS],
    pending: [u32; TASKS],
}

impl<const TASKS: usize> Default for FaultTracker<TASKS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const TASKS: usize> FaultTracker<TASKS> {
    /// No faults seen.
    pub const fn new() -> Self {
        Self {
            seen: [0; TASKS],
            pending: [0; TASKS],
        }
    }

    /// Faults waiting for room in the store, for the task at `index`.
    pub fn pending(&self, index: u16) -> u32 {
        self.pending.get(usize::from(index)).copied().unwrap_or(0)
    }

    /// Call when the kernel says fault counts changed: notes new faults of
    /// every task and records what fits.
    pub fn on_faults<const N: usize, T: TaskTable, K: Kernel + ?Sized>(
        &mut self,
        store: &mut Store<N, T>,
        kernel: &K,
        uptime: u64,
    ) -> FaultReport {
        for (i, (seen, pending)) in self
            .seen
            .iter_mut()
            .zip(self.pending.iter_mut())
            .enumerate()
        {
            let Ok(index) = u16::try_from(i) else { break };
            let count = kernel.fault_count(index);
            // Counts only grow; a wrapped counter still gives the right
            // difference.
            let new = count.wrapping_sub(*seen);
            *seen = count;
            *pending = pending.saturating_add(new);
        }
        self.record_pending(store, kernel, uptime)
    }

    /// Records remembered faults that now fit (call after every flush).
    pub fn record_pending<const N: usize, T: TaskTable, K: Kernel + ?Sized>(
        &mut self,
        store: &mut Store<N, T>,
        kernel: &K,
        uptime: u64,
    ) -> FaultReport {
        let mut report = FaultReport::default();
        for (i, pending) in self.pending.iter_mut().enumerate() {
            if *pending == 0 {
                continue;
            }
            let Ok(index) = u16::try_from(i) else { break };
            match record_fault(store, kernel, index, *pending, uptime) {
                Ok(_) => {
                    *pending = 0;
                    report.recorded = report.recorded.saturating_add(1);
                }
                Err(_) => report.pending = report.pending.saturating_add(1),
            }
        }
        report
    }
}

/// Records one fault ereport for the task at `index`, which took `nfaults`
/// faults, straight into the store's ring space.
pub fn record_fault<const N: usize, T: TaskTable, K: Kernel + ?Sized>(
    store: &mut Store<N, T>,
    kernel: &K,
    index: u16,
    nfaults: u32,
    uptime: u64,
) -> Result<Ena, IngestError> {
    let generation = kernel.generation(index);
    let info = kernel.fault_info(index);
    let mut msg = [0u8; PANIC_MESSAGE_MAX];
    let message = match info {
        Some(FaultInfo::Panic) => kernel
            .read_panic_message(index, &mut msg)
            .and_then(|n| msg.get(..n)),
        _ => None,
    };
    let (sender, class) = match &info {
        Some(i) => (TaskId::new(index, generation), i.class()),
        // Already restarted: the fault belonged to the previous generation.
        None => (
            TaskId::new(index, generation.wrapping_sub(1)),
            BARE_FAULT_CLASS,
        ),
    };
    let max_len = 96usize.saturating_add(message.map_or(0, lossy_len));
    store.insert_encoded(sender, uptime, max_len, |e| {
        encode_fault::<T, _>(e, class, info.as_ref(), message, nfaults)
    })
}

/// Length of `bytes` as UTF-8 with each invalid sequence replaced by U+FFFD.
fn lossy_len(bytes: &[u8]) -> usize {
    bytes.utf8_chunks().fold(0usize, |n, c| {
        let bad = if c.invalid().is_empty() { 0 } else { 3 };
        n.saturating_add(c.valid().len()).saturating_add(bad)
    })
}

fn task_name<T: TaskTable>(id: TaskId) -> &'static str {
    T::NAMES
        .get(usize::from(id.index))
        .copied()
        .unwrap_or("unknown")
}

fn encode_fault<T: TaskTable, W: Write>(
    e: &mut Encoder<W>,
    class: &str,
    info: Option<&FaultInfo>,
    message: Option<&[u8]>,
    nfaults: u32,
) -> Result<(), Error<W::Error>> {
    let fields = match info {
        None => 0,
        Some(
            FaultInfo::MemoryAccess { .. } | FaultInfo::BusError { .. } | FaultInfo::FromServer(..),
        ) => 2,
        Some(FaultInfo::DivideByZero | FaultInfo::IllegalText | FaultInfo::IllegalInstruction) => 0,
        Some(_) => 1,
    };
    let extra = u64::from(nfaults > 1);
    e.map(extra.saturating_add(fields).saturating_add(2))?;
    e.str("k")?.str(class)?.str("v")?.u8(0)?;
    let opt_addr = |e: &mut Encoder<W>, a: Option<u32>| -> Result<(), Error<W::Error>> {
        e.str("address")?;
        match a {
            Some(a) => e.u32(a)?,
            None => e.null()?,
        };
        Ok(())
    };
    match info {
        None
        | Some(FaultInfo::DivideByZero | FaultInfo::IllegalText | FaultInfo::IllegalInstruction) => {
        }
        Some(
            FaultInfo::MemoryAccess { address, source } | FaultInfo::BusError { address, source },
        ) => {
            opt_addr(e, *address)?;
            e.str("source")?.str(source.name())?;
        }
        Some(FaultInfo::StackOverflow { address }) => {
            e.str("address")?.u32(*address)?;
        }
        Some(FaultInfo::InvalidOperation(code)) => {
            e.str("code")?.u32(*code)?;
        }
        Some(FaultInfo::SyscallUsage(err)) => {
            e.str("error")?.str(err.name())?;
        }
        Some(FaultInfo::Panic) => {
            e.str("message")?;
            match message {
                Some(m) => write_lossy(e, m)?,
                None => {
                    e.null()?;
                }
            }
        }
        Some(FaultInfo::Injected(by)) => {
            e.str("by")?.str(task_name::<T>(*by))?;
        }
        Some(FaultInfo::FromServer(server, reason)) => {
            e.str("server")?.str(task_name::<T>(*server))?;
            e.str("reason")?.str(reason.name())?;
        }
    }
    if nfaults > 1 {
        e.str("nfaults")?.u32(nfaults)?;
    }
    Ok(())
}

/// Writes `bytes` as a text string, invalid UTF-8 replaced by U+FFFD, with
/// no buffer: the length is counted first, then the pieces are written.
fn write_lossy<W: Write>(e: &mut Encoder<W>, bytes: &[u8]) -> Result<(), Error<W::Error>> {
    let mut head = [0u8; 9];
    let n = encode_head(3, lossy_len(bytes) as u64, &mut head);
    let w = e.writer_mut();
    w.write_all(head.get(..n).unwrap_or(&[]))
        .map_err(Error::write)?;
    for chunk in bytes.utf8_chunks() {
        w.write_all(chunk.valid().as_bytes())
            .map_err(Error::write)?;
        if !chunk.invalid().is_empty() {
            w.write_all("\u{FFFD}".as_bytes()).map_err(Error::write)?;
        }
    }
    Ok(())
}

impl fmt::Display for FaultSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Schemas of the fault classes packrat records, for the class catalog
/// (packrat encodes them by hand, so they are written out here).
pub mod schema {
    use ereport_sdk::MAX_TASK_NAME_LEN;
    use ereport_sdk::schema::{ClassSchema, FieldSchema, TypeSchema};

    use super::PANIC_MESSAGE_MAX as MAX_PANIC_MESSAGE;

    const UINT: TypeSchema = TypeSchema::Uint;
    /// The longest of the names packrat writes for sources, usage errors
    /// and reply-fault reasons.
    const NAME: TypeSchema = TypeSchema::Text { max_len: 22 };
    const TASK: TypeSchema = TypeSchema::Text {
        max_len: MAX_TASK_NAME_LEN,
    };
    /// Invalid UTF-8 is replaced by U+FFFD (3 bytes for each bad byte).
    const MESSAGE: TypeSchema = TypeSchema::Text {
        max_len: 3usize.saturating_mul(MAX_PANIC_MESSAGE),
    };

    const fn field(name: &'static str, ty: &'static TypeSchema, optional: bool) -> FieldSchema {
        let max_len = match ty {
            TypeSchema::Text { max_len } => max_len.saturating_add(3),
            _ => 5,
        };
        FieldSchema {
            name,
            ty,
            optional,
            flattened: false,
            max_len,
        }
    }

    /// `nfaults`: present when the task faulted more than once unrecorded.
    const NFAULTS: FieldSchema = field("nfaults", &UINT, true);

    const fn class(class: &'static str, fields: &'static [FieldSchema]) -> ClassSchema {
        ClassSchema {
            class,
            version: 0,
            body: TypeSchema::Map { fields },
            max_len: 96usize.saturating_add(3usize.saturating_mul(MAX_PANIC_MESSAGE)),
        }
    }

    /// Every `hubris.fault.*` class, and the bare `hubris.fault`.
    pub const FAULT_SCHEMAS: &[ClassSchema] = &[
        class("hubris.fault", &[NFAULTS]),
        class(
            "hubris.fault.mem",
            &[
                field("address", &UINT, true),
                field("source", &NAME, false),
                NFAULTS,
            ],
        ),
        class(
            "hubris.fault.bus",
            &[
                field("address", &UINT, true),
                field("source", &NAME, false),
                NFAULTS,
            ],
        ),
        class(
            "hubris.fault.stack",
            &[field("address", &UINT, false), NFAULTS],
        ),
        class("hubris.fault.div0", &[NFAULTS]),
        class("hubris.fault.illegal_txt", &[NFAULTS]),
        class("hubris.fault.illegal_inst", &[NFAULTS]),
        class(
            "hubris.fault.invalid_op",
            &[field("code", &UINT, false), NFAULTS],
        ),
        class(
            "hubris.fault.syscall",
            &[field("error", &NAME, false), NFAULTS],
        ),
        class(
            "hubris.fault.panic",
            &[field("message", &MESSAGE, true), NFAULTS],
        ),
        class(
            "hubris.fault.injected",
            &[field("by", &TASK, false), NFAULTS],
        ),
        class(
            "hubris.fault.reply",
            &[
                field("server", &TASK, false),
                field("reason", &NAME, false),
                NFAULTS,
            ],
        ),
    ];

    /// Packrat's loss records, `{"lost": n}` (`null`: unknown, before
    /// boot). They carry no `"k"` or `"v"` on the wire; the catalog lists
    /// them under this name, and the control plane calls them
    /// `ereport.data_loss.certain` / `.possible`.
    pub const LOSS_SCHEMA: ClassSchema = ClassSchema {
        class: "ereport.data_loss",
        version: 0,
        body: TypeSchema::Map {
            fields: &[field("lost", &UINT, true)],
        },
        max_len: 15,
    };
}
