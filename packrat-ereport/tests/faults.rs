//! Task-fault ereports: golden bytes for every class, deferral when full.

use std::cell::RefCell;

use ereport_sdk::decode::decode_packet;
use ereport_sdk::{Ena, ReadRequest, RestartId, TaskId};
use ereport_w1::W1Tasks;
use packrat_ereport::Store;
use packrat_ereport::faults::{
    FaultInfo, FaultSource, FaultTracker, Kernel, ReplyFaultReason, UsageError, record_fault,
};

#[derive(Default)]
struct FakeKernel {
    counts: RefCell<Vec<u32>>,
    info: RefCell<Vec<Option<FaultInfo>>>,
    generations: RefCell<Vec<u8>>,
    panic_message: RefCell<Option<Vec<u8>>>,
}

impl FakeKernel {
    fn new() -> Self {
        Self {
            counts: RefCell::new(vec![0; 6]),
            info: RefCell::new(vec![None; 6]),
            generations: RefCell::new(vec![0; 6]),
            panic_message: RefCell::new(None),
        }
    }

    fn fault(&self, task: usize, info: Option<FaultInfo>, times: u32) {
        self.counts.borrow_mut()[task] += times;
        self.info.borrow_mut()[task] = info;
    }
}

impl Kernel for FakeKernel {
    fn fault_count(&self, index: u16) -> u32 {
        self.counts.borrow()[usize::from(index)]
    }
    fn generation(&self, index: u16) -> u8 {
        self.generations.borrow()[usize::from(index)]
    }
    fn fault_info(&self, index: u16) -> Option<FaultInfo> {
        self.info.borrow()[usize::from(index)]
    }
    fn read_panic_message(&self, _: u16, buf: &mut [u8]) -> Option<usize> {
        let m = self.panic_message.borrow();
        let m = m.as_ref()?;
        let n = m.len().min(buf.len());
        buf[..n].copy_from_slice(&m[..n]);
        Some(n)
    }
}

fn store() -> Store<2048, W1Tasks> {
    let mut s = Store::new();
    s.init(TaskId::new(5, 0), 0);
    s.set_restart_id(RestartId(1)).unwrap();
    s
}

/// Records one fault for task 2 and returns (sender gen, body diagnostic).
fn record(k: &FakeKernel, info: Option<FaultInfo>, n: u32) -> (String, u32, Vec<u8>) {
    let mut s = store();
    k.fault(2, info, n);
    let ena = record_fault(&mut s, k, 2, n, 77).unwrap();
    assert_eq!(ena, Ena(2));
    let mut buf = [0u8; 1024];
    let len = s
        .read_ereports(
            &ReadRequest::new(RestartId(1)).start(Ena(2)).limit(1),
            &mut buf[..],
            None,
        )
        .unwrap();
    let p = decode_packet(&buf[..len]).unwrap();
    let e = &p.entries[0];
    assert_eq!(e.uptime_ms, 77);
    (e.task_name.clone(), e.task_gen, e.body.clone())
}

fn text(s: &str) -> Vec<u8> {
    let mut v = vec![0x60 | s.len() as u8];
    v.extend(s.as_bytes());
    v
}

/// `{"task": name, "gen": generation}`.
fn task_ref(name: &str, generation: u8) -> Vec<u8> {
    [
        vec![0xa2],
        text("task"),
        text(name),
        text("gen"),
        vec![generation],
    ]
    .concat()
}

/// Golden bytes: map head, "k", class, "v", 0, then `rest`.
fn golden(fields: u8, class: &str, rest: &[u8]) -> Vec<u8> {
    let mut v = vec![0xa0 | (2 + fields)];
    v.extend(text("k"));
    let mut c = vec![if class.len() < 24 {
        0x60 | class.len() as u8
    } else {
        0x78
    }];
    if class.len() >= 24 {
        c.push(class.len() as u8);
    }
    c.extend(class.as_bytes());
    v.extend(c);
    v.extend(text("v"));
    v.push(0);
    v.extend(rest);
    v
}

#[test]
fn golden_bytes_for_every_class() {
    let k = FakeKernel::new();
    k.generations.borrow_mut()[2] = 1;
    let addr = |a: u32| {
        let mut v = text("addr");
        v.push(0x1a);
        v.extend(a.to_be_bytes());
        v
    };
    let cases: Vec<(FaultInfo, &str, u8, Vec<u8>)> = vec![
        (
            FaultInfo::MemoryAccess {
                address: Some(0x2000_0100),
                source: FaultSource::User,
            },
            "hubris.fault.mem",
            2,
            [addr(0x2000_0100), text("src"), text("usr")].concat(),
        ),
        (
            FaultInfo::MemoryAccess {
                address: None,
                source: FaultSource::Kernel,
            },
            "hubris.fault.mem",
            2,
            [text("addr"), vec![0xf6], text("src"), text("kern")].concat(),
        ),
        (
            FaultInfo::StackOverflow {
                address: 0x2000_fff0,
            },
            "hubris.fault.stack",
            1,
            addr(0x2000_fff0),
        ),
        (
            FaultInfo::BusError {
                address: Some(0x4000_0000),
                source: FaultSource::User,
            },
            "hubris.fault.bus",
            2,
            [addr(0x4000_0000), text("src"), text("usr")].concat(),
        ),
        (FaultInfo::DivideByZero, "hubris.fault.div0", 0, vec![]),
        (
            FaultInfo::IllegalText,
            "hubris.fault.illegal_txt",
            0,
            vec![],
        ),
        (
            FaultInfo::IllegalInstruction,
            "hubris.fault.illegal_inst",
            0,
            vec![],
        ),
        (
            FaultInfo::InvalidOperation(0x100),
            "hubris.fault.invalid_op",
            1,
            [text("code"), vec![0x19, 0x01, 0x00]].concat(),
        ),
        (
            FaultInfo::SyscallUsage(UsageError::LeaseOutOfRange),
            "hubris.fault.syscall",
            1,
            [text("err"), text("LeaseOutOfRange")].concat(),
        ),
        (
            FaultInfo::SyscallUsage(UsageError::ReplyTooBig),
            "hubris.fault.syscall",
            1,
            [text("err"), text("ReplyTooBig")].concat(),
        ),
        (
            FaultInfo::Injected(TaskId::new(0, 0)),
            "hubris.fault.injected",
            1,
            [text("by"), task_ref("jefe", 0)].concat(),
        ),
        (
            // Outside the task table: named by its index, a uint.
            FaultInfo::Injected(TaskId::new(1023, 63)),
            "hubris.fault.injected",
            1,
            [
                text("by"),
                vec![0xa2],
                text("task"),
                vec![0x19, 0x03, 0xff],
                text("gen"),
                vec![0x18, 63],
            ]
            .concat(),
        ),
        (
            FaultInfo::FromServer(TaskId::new(3, 2), ReplyFaultReason::BadMessageContents),
            "hubris.fault.reply",
            2,
            [
                text("srv"),
                task_ref("sequencer", 2),
                text("err"),
                text("BadMessageContents"),
            ]
            .concat(),
        ),
    ];
    for (info, class, fields, rest) in cases {
        let (task, generation, body) = record(&k, Some(info), 1);
        assert_eq!(task, "power");
        assert_eq!(generation, 1, "the faulted generation");
        assert_eq!(body, golden(fields, class, &rest), "{class}");
        assert_eq!(info.class(), class);
    }
}

#[test]
fn panic_messages_are_lossy_text_or_null() {
    let k = FakeKernel::new();
    *k.panic_message.borrow_mut() = Some(b"index out of bounds".to_vec());
    let (_, _, body) = record(&k, Some(FaultInfo::Panic), 1);
    assert_eq!(
        body,
        golden(
            1,
            "hubris.fault.panic",
            &[text("msg"), text("index out of bounds")].concat()
        )
    );

    *k.panic_message.borrow_mut() = Some(b"bad \xff\xfe utf8".to_vec());
    let (_, _, body) = record(&k, Some(FaultInfo::Panic), 1);
    assert_eq!(
        body,
        golden(
            1,
            "hubris.fault.panic",
            &[text("msg"), text("bad \u{FFFD}\u{FFFD} utf8")].concat()
        )
    );

    *k.panic_message.borrow_mut() = None;
    let (_, _, body) = record(&k, Some(FaultInfo::Panic), 1);
    assert_eq!(
        body,
        golden(1, "hubris.fault.panic", &[text("msg"), vec![0xf6]].concat())
    );

    // The longest message packrat reads, all invalid: still one record.
    *k.panic_message.borrow_mut() = Some(vec![0xff; 500]);
    let (_, _, body) = record(&k, Some(FaultInfo::Panic), 1);
    let v = ereport_sdk::decode::decode_value(&body).unwrap();
    assert_eq!(v.get("msg").unwrap().as_str().unwrap().chars().count(), 128);
}

#[test]
fn restarted_task_gets_a_bare_fault_under_the_previous_generation() {
    let k = FakeKernel::new();
    k.generations.borrow_mut()[2] = 4;
    let (task, generation, body) = record(&k, None, 3);
    assert_eq!(task, "power");
    assert_eq!(generation, 3);
    assert_eq!(
        body,
        golden(1, "hubris.fault", &[text("nfaults"), vec![0x03]].concat())
    );

    // Restarted into generation 0: the faulted generation, in the kernel's
    // six bits, is 63.
    k.generations.borrow_mut()[2] = 0;
    let (_, generation, body) = record(&k, None, 1);
    assert_eq!(generation, 63);
    assert_eq!(body, golden(0, "hubris.fault", &[]));
}

#[test]
fn tracker_records_new_faults_once() {
    let k = FakeKernel::new();
    let mut s = store();
    let mut t: FaultTracker<6> = FaultTracker::new();
    k.fault(1, Some(FaultInfo::DivideByZero), 1);
    k.fault(3, Some(FaultInfo::IllegalText), 2);
    let r = t.on_faults(&mut s, &k, 10);
    assert_eq!((r.recorded, r.pending), (2, 0));
    let r = t.on_faults(&mut s, &k, 11);
    assert_eq!(r.recorded, 0, "no new faults");
    assert_eq!(s.len(), 3);
}

#[test]
fn full_store_remembers_faults_and_records_them_after_a_flush() {
    let k = FakeKernel::new();
    let mut s: Store<128, W1Tasks> = Store::new();
    s.init(TaskId::new(5, 0), 0);
    s.set_restart_id(RestartId(1)).unwrap();
    let big = {
        let mut b = vec![0x58, 80];
        b.resize(82, 1);
        b
    };
    s.deliver(TaskId::new(1, 0), 0, &big[..]).unwrap();
    let mut t: FaultTracker<6> = FaultTracker::new();
    k.fault(4, Some(FaultInfo::StackOverflow { address: 8 }), 1);
    let r = t.on_faults(&mut s, &k, 5);
    assert_eq!((r.recorded, r.pending), (0, 1));
    assert_eq!(t.pending(4), 1);
    assert_eq!(s.stats().lost, 0, "a deferred fault is not a loss");
    assert_eq!(s.pending_losses(), None);
    // Another fault of the same task while waiting: counted together.
    k.fault(4, Some(FaultInfo::StackOverflow { address: 8 }), 1);
    t.on_faults(&mut s, &k, 6);
    s.flush_thru(Ena(2));
    let r = t.record_pending(&mut s, &k, 7);
    assert_eq!((r.recorded, r.pending), (1, 0));
    let mut buf = [0u8; 256];
    let n = s
        .read_ereports(
            &ReadRequest::new(RestartId(1)).start(Ena(3)).limit(9),
            &mut buf[..],
            None,
        )
        .unwrap();
    let p = decode_packet(&buf[..n]).unwrap();
    assert_eq!(p.entries[0].task_name, "ereportulator");
    let v = p.entries[0].body_value().unwrap();
    assert_eq!(v.get("nfaults").and_then(|v| v.as_u64()), Some(2));
}
