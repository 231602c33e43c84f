//! Ereports for task faults, recorded by packrat on the faulted task's
//! behalf, with upstream Hubris packrat's data model.
//!
//! When the kernel (through jefe) says fault counts changed, packrat asks,
//! for each task whose count moved, what the fault was, and stores one
//! `hubris.fault.*` ereport under that task's id, as if the task had
//! reported it. If the task has already been restarted the details are gone:
//! a bare `hubris.fault` is recorded under the generation that faulted. If
//! the store is full, the faults are remembered (no loss is counted for
//! them) and recorded after the next flush frees room: call
//! [`FaultTracker::record_pending`] after every flush.
//!
//! # The bodies
//!
//! Every body carries what upstream packrat (`task/packrat/src/ereport.rs`
//! at Hubris `4c371f0`) writes for the same fault: the same class strings,
//! keys, value spellings and nesting, pinned item for item against upstream's
//! own bytes by `tests/upstream_faults.rs`.
//!
//! | fault | class | keys besides `k`, `v` and `nfaults` |
//! |---|---|---|
//! | memory access | `hubris.fault.mem` | `addr` (uint or null), `src` (`"usr"` / `"kern"`) |
//! | stack overflow | `hubris.fault.stack` | `addr` |
//! | bus error | `hubris.fault.bus` | `addr` (uint or null), `src` |
//! | divide by zero | `hubris.fault.div0` | |
//! | illegal text | `hubris.fault.illegal_txt` | |
//! | illegal instruction | `hubris.fault.illegal_inst` | |
//! | invalid operation | `hubris.fault.invalid_op` | `code` (the fault status register) |
//! | syscall usage | `hubris.fault.syscall` | `err` (the [`UsageError`] variant's name) |
//! | panic | `hubris.fault.panic` | `msg` (text, or null when unreadable) |
//! | injected | `hubris.fault.injected` | `by` (`{"task": name or index, "gen": g}`) |
//! | reply fault | `hubris.fault.reply` | `srv` (`{"task", "gen"}`), `err` (the [`ReplyFaultReason`] variant's name) |
//! | task already restarted | `hubris.fault` | |
//!
//! `nfaults` is present only when the task faulted more than once since
//! packrat last recorded a fault for it. A task outside the image's task
//! table is named by its index (a uint) instead of its name.
//!
//! Each body is a type in [`body`] declared with `#[derive(Ereport)]`, so the
//! catalog's schemas ([`schema::FAULT_SCHEMAS`]) come from the same
//! declarations as the bytes. Two differences of form remain, neither of
//! which changes a decoded item: maps are definite-length and `k` comes
//! before `v` and `nfaults` (upstream writes indefinite maps ordered `v`,
//! `nfaults`, `k`), and the panic message is one definite text string
//! (upstream writes an indefinite string of chunks; the text is the same,
//! each invalid UTF-8 sequence replaced by U+FFFD).

use ereport_sdk::cbor_len::{encode_head, str_len};
use ereport_sdk::minicbor::Encoder;
use ereport_sdk::minicbor::encode::{Error, Write};
use ereport_sdk::schema::TypeSchema;
use ereport_sdk::{Ena, Ereport, EreportField, FixedStr, MAX_TASK_NAME_LEN, TaskId};

use crate::store::{IngestError, Store, TaskTable};

/// Most bytes of a panic message packrat reads out of a faulted task
/// (upstream's `PANIC_MESSAGE_MAX_LEN`).
pub const PANIC_MESSAGE_MAX: usize = 128;

/// The generation bits of a Hubris `TaskId` (a 16-bit id holds a 10-bit
/// index and a 6-bit generation): generations recorded in fault ereports are
/// reduced to them, as the kernel's `TaskId` reduces them upstream.
pub const GENERATION_MASK: u8 = 0x3f;

/// Whether a memory or bus fault came from the task or from the kernel
/// acting for it. Written `"usr"` or `"kern"`, as upstream does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EreportField)]
pub enum FaultSource {
    /// The task's own access.
    #[ereport(rename = "usr")]
    User,
    /// The kernel, on the task's behalf (a syscall argument, say).
    #[ereport(rename = "kern")]
    Kernel,
}

/// What a task did wrong in a syscall: upstream's `abi::UsageError`, written
/// as the variant's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EreportField)]
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
    /// A reply longer than the caller's reply buffer.
    ReplyTooBig,
}

/// Why a server faulted its client with a reply fault: upstream's
/// `abi::ReplyFaultReason`, written as the variant's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EreportField)]
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

/// The kernel's record of a task's fault (upstream's `abi::FaultInfo`).
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
            FaultInfo::MemoryAccess { .. } => body::MemoryAccess::CLASS,
            FaultInfo::StackOverflow { .. } => body::StackOverflow::CLASS,
            FaultInfo::BusError { .. } => body::BusError::CLASS,
            FaultInfo::DivideByZero => body::DivideByZero::CLASS,
            FaultInfo::IllegalText => body::IllegalText::CLASS,
            FaultInfo::IllegalInstruction => body::IllegalInstruction::CLASS,
            FaultInfo::InvalidOperation(_) => body::InvalidOperation::CLASS,
            FaultInfo::SyscallUsage(_) => body::SyscallUsage::CLASS,
            FaultInfo::Panic => body::Panic::CLASS,
            FaultInfo::Injected(_) => body::Injected::CLASS,
            FaultInfo::FromServer(..) => body::FromServer::CLASS,
        }
    }
}

/// Class recorded when the details of a fault are gone.
pub const BARE_FAULT_CLASS: &str = body::Restarted::CLASS;

/// How a fault ereport names another task: by its name in the image's task
/// table, or by its index when the index is outside the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskName {
    /// The task's name (text).
    Name(FixedStr<'static, MAX_TASK_NAME_LEN>),
    /// The task's index (a uint): it has no name in the table.
    Index(u16),
}

impl TaskName {
    /// The name of the task at `index` in `T`'s table, or its index.
    pub fn of<T: TaskTable>(index: u16) -> Self {
        match T::NAMES
            .get(usize::from(index))
            .and_then(|n| FixedStr::try_from_str(n).ok())
        {
            Some(name) => TaskName::Name(name),
            None => TaskName::Index(index),
        }
    }
}

impl EreportField for TaskName {
    const MAX_LEN: usize = {
        let name = str_len(MAX_TASK_NAME_LEN);
        // A u16 index: at most a 3-byte uint.
        if name > 3 { name } else { 3 }
    };
    const SCHEMA: TypeSchema = TypeSchema::OneOf {
        types: &[
            TypeSchema::Text {
                max_len: MAX_TASK_NAME_LEN,
            },
            TypeSchema::Uint,
        ],
    };

    fn encode<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>> {
        match self {
            TaskName::Name(name) => e.str(name.as_str())?,
            TaskName::Index(index) => e.u16(*index)?,
        };
        Ok(())
    }
}

/// Another task named in a fault (the injector, or the server that
/// faulted its client): `{"task": name or index, "gen": generation}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EreportField)]
pub struct TaskRef {
    /// The task's name, or its index outside the task table.
    pub task: TaskName,
    /// Its generation (6 bits).
    #[ereport(rename = "gen")]
    pub generation: u8,
}

impl TaskRef {
    /// `id`, named through `T`'s task table.
    pub fn of<T: TaskTable>(id: TaskId) -> Self {
        Self {
            task: TaskName::of::<T>(id.index),
            generation: id.generation & GENERATION_MASK,
        }
    }
}

/// A panic message as packrat read it: at most [`PANIC_MESSAGE_MAX`] bytes,
/// cut wherever the task's panic handler cut it, so possibly mid-character.
/// Written as text with each invalid UTF-8 sequence replaced by U+FFFD (what
/// upstream's chunks decode to), with no buffer: the length is counted
/// first, then the pieces are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PanicMessage<'a>(&'a [u8]);

impl<'a> PanicMessage<'a> {
    /// The message in `bytes`, of which at most [`PANIC_MESSAGE_MAX`] are
    /// kept.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self(bytes.get(..PANIC_MESSAGE_MAX).unwrap_or(bytes))
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Length of the text, each invalid sequence counted as U+FFFD's three
    /// bytes.
    fn lossy_len(&self) -> usize {
        self.0.utf8_chunks().fold(0usize, |n, c| {
            let bad = if c.invalid().is_empty() { 0 } else { 3 };
            n.saturating_add(c.valid().len()).saturating_add(bad)
        })
    }
}

impl EreportField for PanicMessage<'_> {
    /// Every byte invalid: three bytes of U+FFFD each.
    const MAX_LEN: usize = str_len(3 * PANIC_MESSAGE_MAX);
    const SCHEMA: TypeSchema = TypeSchema::Text {
        max_len: 3 * PANIC_MESSAGE_MAX,
    };

    fn encode<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>> {
        let mut head = [0u8; 9];
        let n = encode_head(3, self.lossy_len() as u64, &mut head);
        let w = e.writer_mut();
        w.write_all(head.get(..n).unwrap_or(&[]))
            .map_err(Error::write)?;
        for chunk in self.0.utf8_chunks() {
            w.write_all(chunk.valid().as_bytes())
                .map_err(Error::write)?;
            if !chunk.invalid().is_empty() {
                w.write_all("\u{FFFD}".as_bytes()).map_err(Error::write)?;
            }
        }
        Ok(())
    }
}

/// The body of each fault class, declared once: the encoder and the
/// catalog's schemas both come from these. `nfaults` is left out when the
/// task faulted once (`None`).
pub mod body {
    use ereport_sdk::Ereport;

    use super::{FaultSource, PanicMessage, ReplyFaultReason, TaskRef, UsageError};

    /// The task was restarted before packrat looked: the details are gone.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Ereport)]
    #[ereport(class = "hubris.fault", version = 0)]
    pub struct Restarted {
        /// Faults since the last one recorded, when more than one.
        #[ereport(skip_if_nil)]
        pub nfaults: Option<u32>,
    }

    /// A memory access the MPU refused.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Ereport)]
    #[ereport(class = "hubris.fault.mem", version = 0)]
    pub struct MemoryAccess {
        /// Faults since the last one recorded, when more than one.
        #[ereport(skip_if_nil)]
        pub nfaults: Option<u32>,
        /// The address, or null when the hardware gave none.
        pub addr: Option<u32>,
        /// Who made the access.
        pub src: FaultSource,
    }

    /// The stack ran out.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Ereport)]
    #[ereport(class = "hubris.fault.stack", version = 0)]
    pub struct StackOverflow {
        /// Faults since the last one recorded, when more than one.
        #[ereport(skip_if_nil)]
        pub nfaults: Option<u32>,
        /// The stack address that overflowed.
        pub addr: u32,
    }

    /// A bus error.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Ereport)]
    #[ereport(class = "hubris.fault.bus", version = 0)]
    pub struct BusError {
        /// Faults since the last one recorded, when more than one.
        #[ereport(skip_if_nil)]
        pub nfaults: Option<u32>,
        /// The address, or null when the hardware gave none.
        pub addr: Option<u32>,
        /// Who made the access.
        pub src: FaultSource,
    }

    /// Integer division by zero.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Ereport)]
    #[ereport(class = "hubris.fault.div0", version = 0)]
    pub struct DivideByZero {
        /// Faults since the last one recorded, when more than one.
        #[ereport(skip_if_nil)]
        pub nfaults: Option<u32>,
    }

    /// Execution from memory that is not text.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Ereport)]
    #[ereport(class = "hubris.fault.illegal_txt", version = 0)]
    pub struct IllegalText {
        /// Faults since the last one recorded, when more than one.
        #[ereport(skip_if_nil)]
        pub nfaults: Option<u32>,
    }

    /// An undefined instruction.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Ereport)]
    #[ereport(class = "hubris.fault.illegal_inst", version = 0)]
    pub struct IllegalInstruction {
        /// Faults since the last one recorded, when more than one.
        #[ereport(skip_if_nil)]
        pub nfaults: Option<u32>,
    }

    /// An invalid operation.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Ereport)]
    #[ereport(class = "hubris.fault.invalid_op", version = 0)]
    pub struct InvalidOperation {
        /// Faults since the last one recorded, when more than one.
        #[ereport(skip_if_nil)]
        pub nfaults: Option<u32>,
        /// The architecture's fault status (CFSR on ARMv7-M and ARMv8-M).
        pub code: u32,
    }

    /// A syscall used wrongly.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Ereport)]
    #[ereport(class = "hubris.fault.syscall", version = 0)]
    pub struct SyscallUsage {
        /// Faults since the last one recorded, when more than one.
        #[ereport(skip_if_nil)]
        pub nfaults: Option<u32>,
        /// What was wrong.
        pub err: UsageError,
    }

    /// The task panicked.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Ereport)]
    #[ereport(class = "hubris.fault.panic", version = 0)]
    pub struct Panic<'a> {
        /// Faults since the last one recorded, when more than one.
        #[ereport(skip_if_nil)]
        pub nfaults: Option<u32>,
        /// The message, or null when the kernel could not read it.
        pub msg: Option<PanicMessage<'a>>,
    }

    /// Another task injected the fault.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Ereport)]
    #[ereport(class = "hubris.fault.injected", version = 0)]
    pub struct Injected {
        /// Faults since the last one recorded, when more than one.
        #[ereport(skip_if_nil)]
        pub nfaults: Option<u32>,
        /// The task that injected it.
        pub by: TaskRef,
    }

    /// A server faulted the task in its reply.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Ereport)]
    #[ereport(class = "hubris.fault.reply", version = 0)]
    pub struct FromServer {
        /// Faults since the last one recorded, when more than one.
        #[ereport(skip_if_nil)]
        pub nfaults: Option<u32>,
        /// The server.
        pub srv: TaskRef,
        /// Why it faulted the task.
        pub err: ReplyFaultReason,
    }

    // Every body fits the smallest buffer a producer's ereport may need.
    const _: () = assert!(<Panic<'static> as Ereport>::MAX_LEN <= ereport_sdk::MAX_EREPORT_LEN);
}

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
            // difference. (Upstream takes `usize::MAX - old + new` after a
            // wrap, one fewer; a count that wraps a u32 does not happen.)
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
///
/// A task still faulted is recorded under its current generation; one
/// already restarted, under the generation before (in 6 bits, so a task
/// restarted into generation 0 is recorded as 63, as upstream does).
pub fn record_fault<const N: usize, T: TaskTable, K: Kernel + ?Sized>(
    store: &mut Store<N, T>,
    kernel: &K,
    index: u16,
    nfaults: u32,
    uptime: u64,
) -> Result<Ena, IngestError> {
    let generation = kernel.generation(index);
    let nfaults = (nfaults > 1).then_some(nfaults);
    let Some(info) = kernel.fault_info(index) else {
        let previous = generation.wrapping_sub(1) & GENERATION_MASK;
        let sender = TaskId::new(index, previous);
        return store_body(store, sender, uptime, &body::Restarted { nfaults });
    };
    let sender = TaskId::new(index, generation);
    match info {
        FaultInfo::MemoryAccess { address, source } => {
            let b = body::MemoryAccess {
                nfaults,
                addr: address,
                src: source,
            };
            store_body(store, sender, uptime, &b)
        }
        FaultInfo::StackOverflow { address } => {
            let b = body::StackOverflow {
                nfaults,
                addr: address,
            };
            store_body(store, sender, uptime, &b)
        }
        FaultInfo::BusError { address, source } => {
            let b = body::BusError {
                nfaults,
                addr: address,
                src: source,
            };
            store_body(store, sender, uptime, &b)
        }
        FaultInfo::DivideByZero => {
            store_body(store, sender, uptime, &body::DivideByZero { nfaults })
        }
        FaultInfo::IllegalText => store_body(store, sender, uptime, &body::IllegalText { nfaults }),
        FaultInfo::IllegalInstruction => {
            store_body(store, sender, uptime, &body::IllegalInstruction { nfaults })
        }
        FaultInfo::InvalidOperation(code) => {
            let b = body::InvalidOperation { nfaults, code };
            store_body(store, sender, uptime, &b)
        }
        FaultInfo::SyscallUsage(err) => {
            store_body(store, sender, uptime, &body::SyscallUsage { nfaults, err })
        }
        FaultInfo::Panic => {
            let mut buf = [0u8; PANIC_MESSAGE_MAX];
            let msg = kernel
                .read_panic_message(index, &mut buf)
                .and_then(|n| buf.get(..n))
                .map(PanicMessage::new);
            store_body(store, sender, uptime, &body::Panic { nfaults, msg })
        }
        FaultInfo::Injected(by) => {
            let b = body::Injected {
                nfaults,
                by: TaskRef::of::<T>(by),
            };
            store_body(store, sender, uptime, &b)
        }
        FaultInfo::FromServer(server, reason) => {
            let b = body::FromServer {
                nfaults,
                srv: TaskRef::of::<T>(server),
                err: reason,
            };
            store_body(store, sender, uptime, &b)
        }
    }
}

/// Encodes `body` straight into the store's free ring space.
fn store_body<const N: usize, T: TaskTable, B: Ereport>(
    store: &mut Store<N, T>,
    sender: TaskId,
    uptime: u64,
    body: &B,
) -> Result<Ena, IngestError> {
    store.insert_encoded(sender, uptime, B::MAX_LEN, |e| body.encode(e))
}

/// Schemas of the fault classes packrat records, for the class catalog:
/// the derived schemas of the [`body`] types, so they cannot drift from
/// what is encoded.
pub mod schema {
    use ereport_sdk::Ereport;
    use ereport_sdk::schema::{ClassSchema, FieldSchema, TypeSchema};

    use super::body;

    /// Every `hubris.fault.*` class, and the bare `hubris.fault`.
    pub const FAULT_SCHEMAS: &[ClassSchema] = &[
        body::Restarted::SCHEMA,
        body::MemoryAccess::SCHEMA,
        body::StackOverflow::SCHEMA,
        body::BusError::SCHEMA,
        body::DivideByZero::SCHEMA,
        body::IllegalText::SCHEMA,
        body::IllegalInstruction::SCHEMA,
        body::InvalidOperation::SCHEMA,
        body::SyscallUsage::SCHEMA,
        <body::Panic<'static> as Ereport>::SCHEMA,
        body::Injected::SCHEMA,
        body::FromServer::SCHEMA,
    ];

    /// Packrat's loss records, `{"lost": n}` (`null`: unknown, before
    /// boot). They carry no `"k"` or `"v"` on the wire; the catalog lists
    /// them under this name, and the control plane calls them
    /// `ereport.data_loss.certain` / `.possible`.
    pub const LOSS_SCHEMA: ClassSchema = ClassSchema {
        class: "ereport.data_loss",
        version: 0,
        body: TypeSchema::Map {
            fields: &[FieldSchema {
                name: "lost",
                ty: &TypeSchema::Uint,
                optional: true,
                flattened: false,
                max_len: 5,
            }],
        },
        max_len: 15,
    };
}
