//! Packrat's task-fault ereports against upstream packrat's own bytes:
//! every fault case of `golden.json` (Hubris `4c371f0`) is fed to
//! `record_fault` as the same kernel state, read back through a flush
//! response, and compared item for item with what upstream's encoder wrote,
//! together with the task name and generation the body is filed under.

use std::cell::RefCell;

use ereport_sdk::decode::decode_packet;
use ereport_sdk::{Ena, ReadRequest, RestartId, TaskId};
use packrat_ereport::faults::{
    FaultInfo, FaultSource, Kernel, ReplyFaultReason, UsageError, record_fault,
};
use packrat_ereport::{Store, TaskTable};
use serde_json::Value;
use upstream_golden::{Case, GIMLET_TASKS, cases, same_items, unhex};

/// Gimlet's task table. Indices that no case names get a placeholder (the
/// golden data names only the tasks its cases use).
enum Gimlet {}

const NAMES: [&str; 29] = {
    let mut t = [""; 29];
    let mut i = 0;
    while i < 29 {
        t[i] = match GIMLET_TASKS[i] {
            Some(name) => name,
            None => "unnamed_in_golden",
        };
        i += 1;
    }
    t
};

impl TaskTable for Gimlet {
    const NAMES: &'static [&'static str] = &NAMES;
}

/// The kernel state of one case.
struct CaseKernel {
    generation: u8,
    info: Option<FaultInfo>,
    /// `Some(Ok(bytes))`, `Some(Err(()))` when unreadable, `None` when the
    /// encoder is not expected to ask.
    panic_message: Option<Result<Vec<u8>, ()>>,
    asked_for_message: RefCell<bool>,
}

impl Kernel for CaseKernel {
    fn fault_count(&self, _: u16) -> u32 {
        unreachable!("record_fault is given the count")
    }
    fn generation(&self, _: u16) -> u8 {
        self.generation
    }
    fn fault_info(&self, _: u16) -> Option<FaultInfo> {
        self.info
    }
    fn read_panic_message(&self, _: u16, buf: &mut [u8]) -> Option<usize> {
        *self.asked_for_message.borrow_mut() = true;
        let bytes = self.panic_message.as_ref()?.as_ref().ok()?;
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        Some(n)
    }
}

fn task_id(v: &Value) -> TaskId {
    let index = v["index"].as_u64().unwrap() as u16;
    let generation = v["gen"].as_u64().unwrap() as u8;
    // The golden data names the task where the table has it: so must ours.
    match v["task_name"].as_str() {
        Some(name) => assert_eq!(NAMES[usize::from(index)], name, "task {index}"),
        None => assert!(usize::from(index) >= NAMES.len(), "task {index}"),
    }
    TaskId::new(index, generation)
}

fn variant<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object()?.get(name)
}

/// Upstream's `abi::FaultInfo`, as golden.json writes it, as ours.
fn fault_info(v: &Value) -> FaultInfo {
    let source = |s: &Value| match s.as_str().unwrap() {
        "User" => FaultSource::User,
        "Kernel" => FaultSource::Kernel,
        other => panic!("source {other}"),
    };
    let address = |v: &Value| v.as_u64().map(|a| a as u32);
    if let Some(name) = v.as_str() {
        return match name {
            "DivideByZero" => FaultInfo::DivideByZero,
            "IllegalText" => FaultInfo::IllegalText,
            "IllegalInstruction" => FaultInfo::IllegalInstruction,
            "Panic" => FaultInfo::Panic,
            other => panic!("fault {other}"),
        };
    }
    if let Some(f) = variant(v, "MemoryAccess") {
        return FaultInfo::MemoryAccess {
            address: address(&f["address"]),
            source: source(&f["source"]),
        };
    }
    if let Some(f) = variant(v, "BusError") {
        return FaultInfo::BusError {
            address: address(&f["address"]),
            source: source(&f["source"]),
        };
    }
    if let Some(f) = variant(v, "StackOverflow") {
        return FaultInfo::StackOverflow {
            address: address(&f["address"]).unwrap(),
        };
    }
    if let Some(f) = variant(v, "InvalidOperation") {
        return FaultInfo::InvalidOperation(f[0].as_u64().unwrap() as u32);
    }
    if let Some(f) = variant(v, "SyscallUsage") {
        return FaultInfo::SyscallUsage(usage_error(f[0].as_str().unwrap()));
    }
    if let Some(f) = variant(v, "Injected") {
        return FaultInfo::Injected(task_id(&f[0]));
    }
    if let Some(f) = variant(v, "FromServer") {
        return FaultInfo::FromServer(task_id(&f[0]), reply_reason(f[1].as_str().unwrap()));
    }
    panic!("fault {v}")
}

fn usage_error(name: &str) -> UsageError {
    use UsageError::*;
    let all = [
        BadSyscallNumber,
        InvalidSlice,
        TaskOutOfRange,
        IllegalTask,
        LeaseOutOfRange,
        OffsetOutOfRange,
        NoIrq,
        BadKernelMessage,
        BadReplyFaultReason,
        NotSupervisor,
        ReplyTooBig,
    ];
    *all.iter()
        .find(|e| format!("{e:?}") == name)
        .unwrap_or_else(|| panic!("usage error {name}"))
}

fn reply_reason(name: &str) -> ReplyFaultReason {
    use ReplyFaultReason::*;
    let all = [
        UndefinedOperation,
        BadMessageSize,
        BadMessageContents,
        BadLeases,
        ReplyBufferTooSmall,
        AccessViolation,
    ];
    *all.iter()
        .find(|e| format!("{e:?}") == name)
        .unwrap_or_else(|| panic!("reply-fault reason {name}"))
}

fn kernel(case: &Case) -> (CaseKernel, u16, u32) {
    let v = &case.value;
    let index = v["task_index"].as_u64().unwrap() as u16;
    assert_eq!(NAMES[usize::from(index)], v["task_name"].as_str().unwrap());
    let info = match (
        variant(&v["task_status"], "Faulted"),
        variant(&v["task_status"], "Healthy"),
    ) {
        (Some(f), None) => Some(fault_info(&f["fault"])),
        (None, Some(_)) => None,
        _ => panic!("{}: task_status {}", case.id, v["task_status"]),
    };
    let panic_message = match &v["panic_message"] {
        Value::String(s) if s == "NotRead" => None,
        m => match (variant(m, "Ok"), variant(m, "Err")) {
            (Some(ok), None) => Some(Ok(unhex(ok["bytes_hex"].as_str().unwrap()))),
            (None, Some(_)) => Some(Err(())),
            _ => panic!("{}: panic_message {m}", case.id),
        },
    };
    let k = CaseKernel {
        generation: v["current_generation"].as_u64().unwrap() as u8,
        info,
        panic_message,
        asked_for_message: RefCell::new(false),
    };
    (k, index, v["nfaults"].as_u64().unwrap() as u32)
}

/// Records the case's fault and returns the record as the gateway sees it:
/// (task name, generation, body).
fn record(case: &Case) -> (String, u32, Vec<u8>) {
    let (k, index, nfaults) = kernel(case);
    let mut store: Store<4096, Gimlet> = Store::new();
    store.init(TaskId::new(6, 0), 0);
    store.set_restart_id(RestartId(1)).unwrap();
    let ena = record_fault(&mut store, &k, index, nfaults, 1234).unwrap();
    assert_eq!(ena, Ena(2), "{}", case.id);
    assert_eq!(
        *k.asked_for_message.borrow(),
        k.panic_message.is_some(),
        "{}: the panic message is read exactly when upstream reads it",
        case.id
    );
    let mut tx = [0u8; 1024];
    let request = ReadRequest::new(RestartId(1)).start(Ena(2)).limit(1);
    let n = store.read_ereports(&request, &mut tx[..], None).unwrap();
    let packet = decode_packet(&tx[..n]).unwrap();
    assert_eq!(packet.entries.len(), 1, "{}", case.id);
    let e = &packet.entries[0];
    assert_eq!(e.uptime_ms, 1234);
    (e.task_name.clone(), e.task_gen, e.body.clone())
}

#[test]
fn every_fault_case_carries_upstreams_items() {
    let cases: Vec<Case> = cases().into_iter().filter(Case::is_fault).collect();
    assert_eq!(cases.len(), 50);
    let mut failures = Vec::new();
    for case in &cases {
        let (name, generation, body) = record(case);
        let filed = case.upstream_reported_task_id.unwrap();
        if name != NAMES[usize::from(filed.index)] || generation != u32::from(filed.r#gen) {
            failures.push(format!(
                "{}: filed under {name} gen {generation}, upstream {} gen {}",
                case.id,
                NAMES[usize::from(filed.index)],
                filed.r#gen
            ));
        }
        if let Err(why) = same_items(&body, &case.upstream_bytes()) {
            failures.push(format!("{} ({}): {why}", case.id, case.case));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_upstream_usage_error_and_reason_is_declared() {
    // golden.json names all 11 usage errors and all 6 reasons upstream has.
    let mut usage = std::collections::BTreeSet::new();
    let mut reasons = std::collections::BTreeSet::new();
    for case in cases().iter().filter(|c| c.is_fault()) {
        let fault = &case.value["task_status"]["Faulted"]["fault"];
        if let Some(f) = variant(fault, "SyscallUsage") {
            usage.insert(format!("{:?}", usage_error(f[0].as_str().unwrap())));
        }
        if let Some(f) = variant(fault, "FromServer") {
            reasons.insert(format!("{:?}", reply_reason(f[1].as_str().unwrap())));
        }
    }
    assert_eq!(usage.len(), 11);
    assert_eq!(reasons.len(), 6);
}
