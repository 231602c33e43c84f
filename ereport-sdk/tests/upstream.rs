//! The ereport classes upstream Hubris ships, declared with this derive the
//! way upstream declares them (`#[cbor(...)]` placements, borrowed
//! strings, `&'static` flattened sub-records, `skip_if_nil`, hyphenated
//! classes, `variant_id` enums), each pinned two ways:
//!
//! - golden bytes: what our derive writes, byte for byte;
//! - the same items as upstream's encoding of the same values. Upstream's
//!   bytes are built here with minicbor calls that follow upstream's
//!   encoding rules (indefinite-length maps, the variant id after the
//!   fields, `nfaults` only past one), and both sides are decoded and
//!   compared with map order ignored.
//!
//! The declarations are written for these tests from upstream's shapes:
//! the shared ereport library's CPU and power classes, the test-ereport
//! task's classes, the fan classes, and packrat's task-fault ereports
//! (which upstream writes by hand).

use ereport_sdk::decode::{Value, decode_value};
use ereport_sdk::{Ereport, EreportField, FixedStr, FixedString, FlattenFields};
use minicbor::Encoder;

type Enc = Encoder<Vec<u8>>;

/// What our derive writes, through both paths, which must agree.
fn ours<T: Ereport>(v: &T) -> Vec<u8> {
    let mut buf = vec![0u8; T::MAX_LEN];
    let n = v.encode_to_slice(&mut buf).unwrap();
    buf.truncate(n);
    let mut e = Encoder::new(Vec::new());
    v.encode(&mut e).unwrap();
    assert_eq!(e.into_writer(), buf, "write and encode disagree");
    // The bound is true, and a buffer one byte short is refused.
    assert!(n <= T::MAX_LEN);
    let mut short = vec![0u8; n - 1];
    assert!(v.encode_to_slice(&mut short).is_err());
    buf
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Equal items: maps compared as sets of entries, everything else exactly.
fn same_items(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter().all(|(k, v)| {
                    y.iter()
                        .filter(|(k2, _)| same_items(k, k2))
                        .exactly_one()
                        .is_some_and(|(_, v2)| same_items(v, v2))
                })
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_items(a, b))
        }
        _ => a == b,
    }
}

trait ExactlyOne: Iterator + Sized {
    fn exactly_one(mut self) -> Option<Self::Item> {
        let first = self.next()?;
        self.next().is_none().then_some(first)
    }
}
impl<I: Iterator> ExactlyOne for I {}

/// Checks our bytes against the golden hex and against upstream's items.
fn check<T: Ereport>(v: &T, golden: &str, upstream: impl FnOnce(&mut Enc)) {
    let bytes = ours(v);
    let ours_v = decode_value(&bytes).unwrap();
    let mut e = Encoder::new(Vec::new());
    upstream(&mut e);
    let theirs = decode_value(&e.into_writer()).unwrap();
    assert!(
        same_items(&ours_v, &theirs),
        "{}: not the same items\n ours:     {}\n upstream: {}",
        T::CLASS,
        ours_v.diagnostic(),
        theirs.diagnostic()
    );
    assert_eq!(
        hex(&bytes),
        golden,
        "{}: golden bytes changed; ours now {}",
        T::CLASS,
        ours_v.diagnostic()
    );
}

/// Upstream's `#[ereport(class, version)]` prefix inside its indefinite map.
fn up_prefix(e: &mut Enc, class: &str, version: u32) {
    e.begin_map().unwrap();
    e.str("k").unwrap().str(class).unwrap();
    e.str("v").unwrap().u32(version).unwrap();
}

// ---- the shared ereport library: power ------------------------------------

/// `drv_cpu_power_state::PowerState`.
#[derive(EreportField, Clone, Copy)]
#[allow(dead_code)]
enum PowerState {
    A2,
    A2PlusFans,
    A1,
    A0,
    A0PlusHP,
    A0Thermtrip,
    A0Reset,
}

#[derive(EreportField, Clone, Copy)]
struct CurrentState {
    cur: PowerState,
    since: u64,
}

#[derive(EreportField, Clone, Copy, Default, Debug)]
struct PmbusStatus {
    word: Option<u16>,
    input: Option<u8>,
    iout: Option<u8>,
    vout: Option<u8>,
    temp: Option<u8>,
    cml: Option<u8>,
    mfr: Option<u8>,
}

#[derive(Ereport)]
#[ereport(class = "hw.pwr.pmbus.alert", version = 0)]
struct PmbusAlert<R: EreportField, const REFDES_LEN: usize> {
    refdes: FixedStr<'static, REFDES_LEN>,
    rail: R,
    time: u64,
    pwr_good: Option<bool>,
    pmbus_status: PmbusStatus,
}

/// `drv_i2c_devices::bmr491::MitigationFailureKind`, upstream's names.
#[derive(EreportField, Clone, Copy)]
#[allow(dead_code, clippy::enum_variant_names)]
enum MitigationFailureKind {
    #[cbor(rename = "RevRead")]
    RevisionReadFailed,
    #[cbor(rename = "StateRead")]
    StateReadFailed,
    #[cbor(rename = "Update")]
    UpdateFailed,
}

#[derive(Ereport)]
#[ereport(class = "hw.pwr.bmr491.mitfail", version = 0)]
struct Bmr491MitigationFailure<const REFDES_LEN: usize> {
    refdes: FixedStr<'static, REFDES_LEN>,
    failures: u32,
    last_cause: MitigationFailureKind,
    succeeded: bool,
}

fn up_status(e: &mut Enc, s: &PmbusStatus) {
    e.begin_map().unwrap();
    e.str("word").unwrap().encode(s.word).unwrap();
    for (k, v) in [
        ("input", s.input),
        ("iout", s.iout),
        ("vout", s.vout),
        ("temp", s.temp),
        ("cml", s.cml),
        ("mfr", s.mfr),
    ] {
        e.str(k).unwrap().encode(v).unwrap();
    }
    e.end().unwrap();
}

#[test]
fn pmbus_alert() {
    let status = PmbusStatus {
        word: Some(0x0840),
        vout: Some(0x80),
        mfr: Some(1),
        ..PmbusStatus::default()
    };
    let v = PmbusAlert::<FixedStr<'static, 16>, 6> {
        refdes: FixedStr::from_str("U431"),
        rail: FixedStr::from_str("VDD_VCORE"),
        time: 123_456_789,
        pwr_good: None,
        pmbus_status: status,
    };
    check(
        &v,
        "a7616b7268772e7077722e706d6275732e616c6572746176006672656664657364553433\
         31647261696c695644445f56434f52456474696d651a075bcd15687077725f676f6f64f6\
         6c706d6275735f737461747573a764776f726419084065696e707574f664696f7574f664\
         766f757418806474656d70f663636d6cf6636d667201",
        |e| {
            up_prefix(e, "hw.pwr.pmbus.alert", 0);
            e.str("refdes").unwrap().str("U431").unwrap();
            e.str("rail").unwrap().str("VDD_VCORE").unwrap();
            e.str("time").unwrap().u64(123_456_789).unwrap();
            e.str("pwr_good").unwrap().encode(None::<bool>).unwrap();
            e.str("pmbus_status").unwrap();
            up_status(e, &status);
            e.end().unwrap();
        },
    );
}

#[test]
fn bmr491_mitigation_failure() {
    let v = Bmr491MitigationFailure::<6> {
        refdes: FixedStr::from_str("U431"),
        failures: 3,
        last_cause: MitigationFailureKind::StateReadFailed,
        succeeded: false,
    };
    check(
        &v,
        "a6616b7568772e7077722e626d723439312e6d69746661696c6176006672656664657364\
         55343331686661696c75726573036a6c6173745f63617573656953746174655265616469\
         737563636565646564f4",
        |e| {
            up_prefix(e, "hw.pwr.bmr491.mitfail", 0);
            e.str("refdes").unwrap().str("U431").unwrap();
            e.str("failures").unwrap().u32(3).unwrap();
            e.str("last_cause").unwrap().str("StateRead").unwrap();
            e.str("succeeded").unwrap().bool(false).unwrap();
            e.end().unwrap();
        },
    );
}

// ---- the shared ereport library: CPU --------------------------------------

#[derive(EreportField)]
struct HostCpuRefdes {
    refdes: FixedString<2>,
    dev_id: FixedString<12>,
}

static SP5_CPU: HostCpuRefdes = HostCpuRefdes {
    refdes: FixedString::from_str("P0"),
    dev_id: FixedString::from_str("sp5-host-cpu"),
};

#[derive(Ereport)]
#[ereport(class = "hw.cpu.amd.thermtrip", version = 0)]
struct Thermtrip {
    #[cbor(flatten)]
    cpu: &'static HostCpuRefdes,
    state: CurrentState,
}

#[derive(Ereport)]
#[ereport(class = "hw.cpu.amd.smerr", version = 0)]
struct Smerr {
    #[cbor(flatten)]
    cpu: &'static HostCpuRefdes,
    state: CurrentState,
}

#[derive(Ereport)]
#[ereport(class = "hw.cpu.unsup", version = 0)]
struct UnsupportedCpu<T: FlattenFields> {
    #[cbor(flatten)]
    cpu: &'static HostCpuRefdes,
    #[cbor(flatten)]
    cpu_type: T,
}

/// What a sequencer knows of a CPU it does not support.
#[derive(EreportField)]
struct CpuId {
    family: u8,
    model: u8,
    stepping: u8,
}

fn up_cpu(e: &mut Enc) {
    e.str("refdes").unwrap().str("P0").unwrap();
    e.str("dev_id").unwrap().str("sp5-host-cpu").unwrap();
}

fn up_state(e: &mut Enc, cur: &str, since: u64) {
    e.str("state").unwrap().begin_map().unwrap();
    e.str("cur").unwrap().str(cur).unwrap();
    e.str("since").unwrap().u64(since).unwrap();
    e.end().unwrap();
}

#[test]
fn thermtrip_and_smerr() {
    let state = CurrentState {
        cur: PowerState::A0PlusHP,
        since: 90_210,
    };
    check(
        &Thermtrip {
            cpu: &SP5_CPU,
            state,
        },
        "a5616b7468772e6370752e616d642e746865726d74726970617600667265666465736250\
         30666465765f69646c7370352d686f73742d637075657374617465a26363757268413050\
         6c757348506573696e63651a00016062",
        |e| {
            up_prefix(e, "hw.cpu.amd.thermtrip", 0);
            up_cpu(e);
            up_state(e, "A0PlusHP", 90_210);
            e.end().unwrap();
        },
    );
    let state = CurrentState {
        cur: PowerState::A0Thermtrip,
        since: 7,
    };
    check(
        &Smerr {
            cpu: &SP5_CPU,
            state,
        },
        "a5616b7068772e6370752e616d642e736d65727261760066726566646573625030666465\
         765f69646c7370352d686f73742d637075657374617465a2636375726b4130546865726d\
         747269706573696e636507",
        |e| {
            up_prefix(e, "hw.cpu.amd.smerr", 0);
            up_cpu(e);
            up_state(e, "A0Thermtrip", 7);
            e.end().unwrap();
        },
    );
}

#[test]
fn unsupported_cpu() {
    let v = UnsupportedCpu {
        cpu: &SP5_CPU,
        cpu_type: CpuId {
            family: 0x1a,
            model: 0x11,
            stepping: 0,
        },
    };
    check(
        &v,
        "a7616b6c68772e6370752e756e73757061760066726566646573625030666465765f6964\
         6c7370352d686f73742d6370756666616d696c79181a656d6f64656c1168737465707069\
         6e6700",
        |e| {
            up_prefix(e, "hw.cpu.unsup", 0);
            up_cpu(e);
            e.str("family").unwrap().u8(0x1a).unwrap();
            e.str("model").unwrap().u8(0x11).unwrap();
            e.str("stepping").unwrap().u8(0).unwrap();
            e.end().unwrap();
        },
    );
}

// ---- the test-ereport task ------------------------------------------------

#[derive(Ereport)]
#[ereport(class = "hw.discovery-one.ae35.fault", version = 0)]
struct Ae35UnitEreport {
    critical_in_hrs: u32,
    detected_by: FixedStr<'static, 8>,
    n: u32,
}

#[derive(Ereport)]
#[ereport(class = "hw.apollo.undervolt", version = 13)]
#[cbor(variant_id = "bus")]
enum MainBusUndervoltEreport {
    MainBusA { volts: f32, n: u32 },
    MainBusB { volts: f32, n: u32 },
}

#[derive(Ereport)]
#[ereport(class = "test.ereport.please.ignore", version = 420)]
struct TestEreportPlsIgnore {
    badness: u32,
    msg: FixedStr<'static, 8>,
}

#[test]
fn test_ereport_task() {
    let v = Ae35UnitEreport {
        critical_in_hrs: 72,
        detected_by: FixedStr::from_str("HAL-9000"),
        n: 1,
    };
    check(
        &v,
        "a5616b781b68772e646973636f766572792d6f6e652e616533352e6661756c746176006f\
         637269746963616c5f696e5f68727318486b64657465637465645f62796848414c2d3930\
         3030616e01",
        |e| {
            up_prefix(e, "hw.discovery-one.ae35.fault", 0);
            e.str("critical_in_hrs").unwrap().u32(72).unwrap();
            e.str("detected_by").unwrap().str("HAL-9000").unwrap();
            e.str("n").unwrap().u32(1).unwrap();
            e.end().unwrap();
        },
    );
    let v = MainBusUndervoltEreport::MainBusB { volts: 0.0, n: 2 };
    check(
        &v,
        "a5616b7368772e61706f6c6c6f2e756e646572766f6c7461760d63627573684d61696e42\
         75734265766f6c7473fa00000000616e02",
        |e| {
            up_prefix(e, "hw.apollo.undervolt", 13);
            e.str("volts").unwrap().f32(0.0).unwrap();
            e.str("n").unwrap().u32(2).unwrap();
            // Upstream writes the variant id after the fields.
            e.str("bus").unwrap().str("MainBusB").unwrap();
            e.end().unwrap();
        },
    );
    let v = MainBusUndervoltEreport::MainBusA { volts: 0.01, n: 3 };
    check(
        &v,
        "a5616b7368772e61706f6c6c6f2e756e646572766f6c7461760d63627573684d61696e42\
         75734165766f6c7473fa3c23d70a616e03",
        |e| {
            up_prefix(e, "hw.apollo.undervolt", 13);
            e.str("volts").unwrap().f32(0.01).unwrap();
            e.str("n").unwrap().u32(3).unwrap();
            e.str("bus").unwrap().str("MainBusA").unwrap();
            e.end().unwrap();
        },
    );
    let v = TestEreportPlsIgnore {
        badness: 420,
        msg: FixedStr::from_str("im dead"),
    };
    check(
        &v,
        "a4616b781a746573742e657265706f72742e706c656173652e69676e6f726561761901a4\
         676261646e6573731901a4636d736767696d2064656164",
        |e| {
            up_prefix(e, "test.ereport.please.ignore", 420);
            e.str("badness").unwrap().u32(420).unwrap();
            e.str("msg").unwrap().str("im dead").unwrap();
            e.end().unwrap();
        },
    );
}

// ---- the fan classes ------------------------------------------------------

#[derive(EreportField)]
struct FanInfo {
    id: u32,
    lo_rpm_lim: u16,
    hi_rpm_lim: u16,
}

#[derive(Ereport)]
#[ereport(class = "hw.remove.fan", version = 0)]
struct FanRemoved {
    id: u32,
}

#[derive(Ereport)]
#[ereport(class = "hw.insert.fan", version = 0)]
struct FanInserted {
    id: u32,
}

#[derive(Ereport)]
#[ereport(class = "hw.fan.ok", version = 0)]
struct FanNominal {
    info: FanInfo,
}

#[derive(Ereport)]
#[ereport(class = "hw.fan.rpm.hi", version = 0)]
struct FanOverspeed {
    info: FanInfo,
    rpm: u16,
}

#[derive(Ereport)]
#[ereport(class = "hw.fan.rpm.lo", version = 0)]
struct FanUnderspeed {
    info: FanInfo,
    rpm: u16,
}

#[derive(Ereport)]
#[ereport(class = "hw.fan.rpm.err", version = 0)]
struct FanRpmReadFailed {
    id: u32,
}

fn info() -> FanInfo {
    FanInfo {
        id: 3,
        lo_rpm_lim: 2_000,
        hi_rpm_lim: 18_000,
    }
}

fn up_info(e: &mut Enc) {
    e.str("info").unwrap().begin_map().unwrap();
    e.str("id").unwrap().u32(3).unwrap();
    e.str("lo_rpm_lim").unwrap().u16(2_000).unwrap();
    e.str("hi_rpm_lim").unwrap().u16(18_000).unwrap();
    e.end().unwrap();
}

#[test]
fn fan_classes() {
    let id_only = |class: &str| {
        let class = class.to_string();
        move |e: &mut Enc| {
            up_prefix(e, &class, 0);
            e.str("id").unwrap().u32(3).unwrap();
            e.end().unwrap();
        }
    };
    check(
        &FanRemoved { id: 3 },
        "a3616b6d68772e72656d6f76652e66616e61760062696403",
        id_only("hw.remove.fan"),
    );
    check(
        &FanInserted { id: 3 },
        "a3616b6d68772e696e736572742e66616e61760062696403",
        id_only("hw.insert.fan"),
    );
    check(
        &FanRpmReadFailed { id: 3 },
        "a3616b6e68772e66616e2e72706d2e65727261760062696403",
        id_only("hw.fan.rpm.err"),
    );
    check(
        &FanNominal { info: info() },
        "a3616b6968772e66616e2e6f6b61760064696e666fa3626964036a6c6f5f72706d5f6c69\
         6d1907d06a68695f72706d5f6c696d194650",
        |e| {
            up_prefix(e, "hw.fan.ok", 0);
            up_info(e);
            e.end().unwrap();
        },
    );
    check(
        &FanOverspeed {
            info: info(),
            rpm: 19_500,
        },
        "a4616b6d68772e66616e2e72706d2e686961760064696e666fa3626964036a6c6f5f7270\
         6d5f6c696d1907d06a68695f72706d5f6c696d1946506372706d194c2c",
        |e| {
            up_prefix(e, "hw.fan.rpm.hi", 0);
            up_info(e);
            e.str("rpm").unwrap().u16(19_500).unwrap();
            e.end().unwrap();
        },
    );
    check(
        &FanUnderspeed {
            info: info(),
            rpm: 0,
        },
        "a4616b6d68772e66616e2e72706d2e6c6f61760064696e666fa3626964036a6c6f5f7270\
         6d5f6c696d1907d06a68695f72706d5f6c696d1946506372706d00",
        |e| {
            up_prefix(e, "hw.fan.rpm.lo", 0);
            up_info(e);
            e.str("rpm").unwrap().u16(0).unwrap();
            e.end().unwrap();
        },
    );
}

// ---- packrat's task-fault ereports ----------------------------------------
//
// Upstream packrat writes these by hand: "v" first, "nfaults" only when the
// task faulted more than once since its last ereport, then "k" and the
// fault's details. Declared with the derive, "nfaults" is `skip_if_nil`.

#[derive(EreportField, Clone, Copy)]
enum FaultSource {
    #[cbor(rename = "kern")]
    Kernel,
    #[cbor(rename = "usr")]
    User,
}

#[derive(Ereport)]
#[ereport(class = "hubris.fault.mem_access", version = 0)]
struct MemAccess {
    #[cbor(skip_if_nil)]
    nfaults: Option<u32>,
    addr: Option<u32>,
    src: FaultSource,
}

#[derive(Ereport)]
#[ereport(class = "hubris.fault.stack", version = 0)]
struct StackOverflow {
    #[cbor(skip_if_nil)]
    nfaults: Option<u32>,
    addr: Option<u32>,
}

#[derive(Ereport)]
#[ereport(class = "hubris.fault.bus", version = 0)]
struct BusError {
    #[cbor(skip_if_nil)]
    nfaults: Option<u32>,
    addr: Option<u32>,
    src: FaultSource,
}

/// The faults with no details: `div_0`, `illegal_txt`, `illegal_inst`,
/// `unknown` (the task was restarted before packrat read its status).
macro_rules! bare_fault {
    ($($name:ident = $class:literal),*) => {$(
        #[derive(Ereport)]
        #[ereport(class = $class, version = 0)]
        struct $name {
            #[cbor(skip_if_nil)]
            nfaults: Option<u32>,
        }
    )*};
}
bare_fault!(
    DivideByZero = "hubris.fault.div_0",
    IllegalText = "hubris.fault.illegal_txt",
    IllegalInstruction = "hubris.fault.illegal_inst",
    UnknownFault = "hubris.fault.unknown"
);

#[derive(Ereport)]
#[ereport(class = "hubris.fault.invalid_op", version = 0)]
struct InvalidOperation {
    #[cbor(skip_if_nil)]
    nfaults: Option<u32>,
    code: u32,
}

/// The kernel's syscall usage errors, by their variant names.
#[derive(EreportField, Clone, Copy)]
#[allow(dead_code)]
enum UsageError {
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
}

#[derive(Ereport)]
#[ereport(class = "hubris.fault.syscall", version = 0)]
struct SyscallUsage {
    #[cbor(skip_if_nil)]
    nfaults: Option<u32>,
    err: UsageError,
}

#[derive(Ereport)]
#[ereport(class = "hubris.fault.panic", version = 0)]
struct Panic {
    #[cbor(skip_if_nil)]
    nfaults: Option<u32>,
    /// The panic message, or null when it could not be read.
    msg: Option<FixedStr<'static, 128>>,
}

#[derive(EreportField)]
struct TaskRef {
    task: FixedStr<'static, 32>,
    #[cbor(rename = "gen")]
    generation: u8,
}

#[derive(Ereport)]
#[ereport(class = "hubris.fault.injected", version = 0)]
struct Injected {
    #[cbor(skip_if_nil)]
    nfaults: Option<u32>,
    by: TaskRef,
}

#[derive(EreportField, Clone, Copy)]
#[allow(dead_code)]
enum ReplyFaultReason {
    UndefinedOperation,
    BadMessageSize,
    #[cbor(rename = "BadMessageContent")]
    BadMessageContents,
    BadLeases,
    ReplyBufferTooSmall,
    AccessViolation,
}

#[derive(Ereport)]
#[ereport(class = "hubris.fault.from_srv", version = 0)]
struct FromServer {
    #[cbor(skip_if_nil)]
    nfaults: Option<u32>,
    srv: TaskRef,
    err: ReplyFaultReason,
}

/// Upstream's fault prefix: "v", then "nfaults" past one, then "k".
fn up_fault(e: &mut Enc, class: &str, nfaults: u32) {
    e.begin_map().unwrap();
    e.str("v").unwrap().u32(0).unwrap();
    if nfaults > 1 {
        e.str("nfaults").unwrap().u32(nfaults).unwrap();
    }
    e.str("k").unwrap().str(class).unwrap();
}

fn up_task(e: &mut Enc, name: &str, generation: u8) {
    e.begin_map().unwrap();
    e.str("task").unwrap().str(name).unwrap();
    e.str("gen").unwrap().u8(generation).unwrap();
    e.end().unwrap();
}

/// How a fault ereport carries `nfaults`: absent unless past one.
fn nfaults(n: u32) -> Option<u32> {
    (n > 1).then_some(n)
}

#[test]
fn packrat_faults() {
    let v = MemAccess {
        nfaults: nfaults(1),
        addr: Some(0x2000_1ffc),
        src: FaultSource::User,
    };
    check(
        &v,
        "a4616b776875627269732e6661756c742e6d656d5f61636365737361760064616464721a\
         20001ffc6373726363757372",
        |e| {
            up_fault(e, "hubris.fault.mem_access", 1);
            e.str("addr").unwrap().encode(Some(0x2000_1ffcu32)).unwrap();
            e.str("src").unwrap().str("usr").unwrap();
            e.end().unwrap();
        },
    );
    let v = BusError {
        nfaults: nfaults(4),
        addr: None,
        src: FaultSource::Kernel,
    };
    check(
        &v,
        "a5616b706875627269732e6661756c742e627573617600676e6661756c74730464616464\
         72f663737263646b65726e",
        |e| {
            up_fault(e, "hubris.fault.bus", 4);
            e.str("addr").unwrap().encode(None::<u32>).unwrap();
            e.str("src").unwrap().str("kern").unwrap();
            e.end().unwrap();
        },
    );
    let v = StackOverflow {
        nfaults: nfaults(2),
        addr: Some(0x2000_0000),
    };
    check(
        &v,
        "a4616b726875627269732e6661756c742e737461636b617600676e6661756c7473026461\
         6464721a20000000",
        |e| {
            up_fault(e, "hubris.fault.stack", 2);
            e.str("addr").unwrap().encode(Some(0x2000_0000u32)).unwrap();
            e.end().unwrap();
        },
    );
    check(
        &DivideByZero { nfaults: None },
        "a2616b726875627269732e6661756c742e6469765f30617600",
        |e| {
            up_fault(e, "hubris.fault.div_0", 1);
            e.end().unwrap();
        },
    );
    check(
        &IllegalText { nfaults: None },
        "a2616b78186875627269732e6661756c742e696c6c6567616c5f747874617600",
        |e| {
            up_fault(e, "hubris.fault.illegal_txt", 0);
            e.end().unwrap();
        },
    );
    check(
        &IllegalInstruction { nfaults: Some(9) },
        "a3616b78196875627269732e6661756c742e696c6c6567616c5f696e7374617600676e66\
         61756c747309",
        |e| {
            up_fault(e, "hubris.fault.illegal_inst", 9);
            e.end().unwrap();
        },
    );
    check(
        &UnknownFault { nfaults: None },
        "a2616b746875627269732e6661756c742e756e6b6e6f776e617600",
        |e| {
            up_fault(e, "hubris.fault.unknown", 1);
            e.end().unwrap();
        },
    );
    let v = InvalidOperation {
        nfaults: None,
        code: 0x0100_0000,
    };
    check(
        &v,
        "a3616b776875627269732e6661756c742e696e76616c69645f6f7061760064636f64651a\
         01000000",
        |e| {
            up_fault(e, "hubris.fault.invalid_op", 1);
            e.str("code").unwrap().u32(0x0100_0000).unwrap();
            e.end().unwrap();
        },
    );
    let v = SyscallUsage {
        nfaults: None,
        err: UsageError::LeaseOutOfRange,
    };
    check(
        &v,
        "a3616b746875627269732e6661756c742e73797363616c6c617600636572726f4c656173\
         654f75744f6652616e6765",
        |e| {
            up_fault(e, "hubris.fault.syscall", 1);
            e.str("err").unwrap().str("LeaseOutOfRange").unwrap();
            e.end().unwrap();
        },
    );
    // Upstream streams the message as an indefinite-length string of the
    // valid chunks: the same text.
    let v = Panic {
        nfaults: None,
        msg: Some(FixedStr::from_str("im dead lol")),
    };
    check(
        &v,
        "a3616b726875627269732e6661756c742e70616e6963617600636d73676b696d20646561\
         64206c6f6c",
        |e| {
            up_fault(e, "hubris.fault.panic", 1);
            e.str("msg").unwrap().begin_str().unwrap();
            e.str("im dead").unwrap().str(" lol").unwrap();
            e.end().unwrap();
            e.end().unwrap();
        },
    );
    check(
        &Panic {
            nfaults: nfaults(3),
            msg: None,
        },
        "a4616b726875627269732e6661756c742e70616e6963617600676e6661756c747303636d\
         7367f6",
        |e| {
            up_fault(e, "hubris.fault.panic", 3);
            e.str("msg").unwrap().null().unwrap();
            e.end().unwrap();
        },
    );
    let v = Injected {
        nfaults: None,
        by: TaskRef {
            task: FixedStr::from_str("jefe"),
            generation: 0,
        },
    };
    check(
        &v,
        "a3616b756875627269732e6661756c742e696e6a6563746564617600626279a264746173\
         6b646a6566656367656e00",
        |e| {
            up_fault(e, "hubris.fault.injected", 1);
            e.str("by").unwrap();
            up_task(e, "jefe", 0);
            e.end().unwrap();
        },
    );
    let v = FromServer {
        nfaults: None,
        srv: TaskRef {
            task: FixedStr::from_str("i2c_driver"),
            generation: 2,
        },
        err: ReplyFaultReason::BadMessageContents,
    };
    check(
        &v,
        "a4616b756875627269732e6661756c742e66726f6d5f73727661760063737276a2647461\
         736b6a6932635f6472697665726367656e0263657272714261644d657373616765436f6e\
         74656e74",
        |e| {
            up_fault(e, "hubris.fault.from_srv", 1);
            e.str("srv").unwrap();
            up_task(e, "i2c_driver", 2);
            e.str("err").unwrap().str("BadMessageContent").unwrap();
            e.end().unwrap();
        },
    );
}

// ---- shapes: variant-id unit variants, references, skip_if_nil ------------

/// Upstream's own example of a variant-id enum used as a field.
#[derive(EreportField, Clone, Copy)]
#[cbor(variant_id = "type")]
#[allow(dead_code)]
enum MyEnum {
    Variant1,
    Variant2 {
        a: u64,
        b: u64,
    },
    #[cbor(rename = "my_cool_variant")]
    Variant3 {
        c: u64,
        d: u64,
    },
    #[cbor(rename = "my_cool_unit_variant")]
    Variant4,
}

static LIMITS: [u16; 2] = [2_000, 18_000];
static THRESHOLD: u32 = 95;

#[derive(Ereport)]
#[ereport(class = "test.shapes", version = 1)]
struct Shapes {
    unit: MyEnum,
    renamed_unit: MyEnum,
    named: MyEnum,
    /// `&'static T` of a plain field type encodes as `T`.
    limits: &'static [u16; 2],
    threshold: &'static u32,
    #[cbor(skip_if_nil)]
    maybe: Option<u8>,
    #[cbor(skip_if_nil)]
    present: Option<u8>,
    #[cbor(skip)]
    #[allow(dead_code)]
    ignored: u64,
}

#[test]
fn variant_id_unit_variants_references_and_skip_if_nil() {
    let v = Shapes {
        unit: MyEnum::Variant1,
        renamed_unit: MyEnum::Variant4,
        named: MyEnum::Variant3 { c: 1, d: 2 },
        limits: &LIMITS,
        threshold: &THRESHOLD,
        maybe: None,
        present: Some(7),
        ignored: 0,
    };
    check(
        &v,
        "a8616b6b746573742e73686170657361760164756e6974a164747970656856617269616e\
         74316c72656e616d65645f756e6974a16474797065746d795f636f6f6c5f756e69745f76\
         617269616e74656e616d6564a364747970656f6d795f636f6f6c5f76617269616e746163\
         01616402666c696d697473821907d0194650697468726573686f6c64185f677072657365\
         6e7407",
        |e| {
            up_prefix(e, "test.shapes", 1);
            // Unit variants: a one-entry map naming the variant.
            e.str("unit").unwrap();
            e.map(1)
                .unwrap()
                .str("type")
                .unwrap()
                .str("Variant1")
                .unwrap();
            e.str("renamed_unit").unwrap();
            e.map(1).unwrap();
            e.str("type").unwrap().str("my_cool_unit_variant").unwrap();
            e.str("named").unwrap().begin_map().unwrap();
            e.str("c").unwrap().u64(1).unwrap();
            e.str("d").unwrap().u64(2).unwrap();
            e.str("type").unwrap().str("my_cool_variant").unwrap();
            e.end().unwrap();
            e.str("limits").unwrap().begin_array().unwrap();
            e.u16(2_000).unwrap().u16(18_000).unwrap();
            e.end().unwrap();
            e.str("threshold").unwrap().u32(95).unwrap();
            e.str("present").unwrap().u8(7).unwrap();
            e.end().unwrap();
        },
    );
    // `maybe` costs nothing when absent, and the bound counts it present.
    // `MyEnum`'s longest value is `Variant3`: {"type": "my_cool_variant",
    // "c": u64, "d": u64}.
    let my_enum = 1 + 5 + 16 + (2 + 9) * 2;
    assert_eq!(<MyEnum as EreportField>::MAX_LEN, my_enum);
    assert_eq!(
        <Shapes as Ereport>::MAX_LEN,
        (1 + 2 + 12 + 2 + 1) // head, "k", class, "v", 1
            + (5 + my_enum) + (13 + my_enum) + (6 + my_enum)
            + (7 + 1 + 2 * 3) // "limits": [u16; 2]
            + (10 + 5) // "threshold": u32
            + (6 + 2) + (8 + 2) // "maybe", "present": Option<u8>
    );
}

/// Tuple variants keep the variant's name (upstream writes the payload
/// alone): see docs/derive.md.
#[derive(EreportField)]
#[allow(dead_code)]
enum Reading {
    Raw(u16),
    Scaled(u16, i8),
}

#[derive(Ereport)]
#[ereport(class = "test.tuple", version = 0)]
struct TupleShapes {
    one: Reading,
    two: Reading,
}

#[test]
fn tuple_variants_keep_their_name() {
    let v = TupleShapes {
        one: Reading::Raw(7),
        two: Reading::Scaled(300, -2),
    };
    let d = decode_value(&ours(&v)).unwrap().diagnostic();
    assert_eq!(
        d,
        r#"{"k": "test.tuple", "v": 0, "one": {"Raw": 7}, "two": {"Scaled": [300, -2]}}"#
    );
}

// ---- the direct path never writes past, and agrees with minicbor ----------

mod direct_path {
    use super::*;
    use proptest::prelude::*;

    fn status() -> impl Strategy<Value = PmbusStatus> {
        (any::<Option<u16>>(), any::<[Option<u8>; 6]>()).prop_map(
            |(word, [input, iout, vout, temp, cml, mfr])| PmbusStatus {
                word,
                input,
                iout,
                vout,
                temp,
                cml,
                mfr,
            },
        )
    }

    const RAILS: [&str; 4] = ["", "V", "VDD_VCORE", "VDD_MEM_ABCD_0123"];

    proptest! {
        /// Into a buffer of every length: exactly the minicbor bytes when
        /// it fits, a refusal (not a partial success) when it does not.
        #[test]
        fn every_buffer_length(
            status in status(),
            time in any::<u64>(),
            pwr_good in any::<Option<bool>>(),
            rail in 0..RAILS.len(),
            nfaults in any::<Option<u32>>(),
        ) {
            let alert = PmbusAlert::<FixedStr<'static, 17>, 6> {
                refdes: FixedStr::from_str("U431"),
                rail: FixedStr::from_str(RAILS[rail]),
                time,
                pwr_good,
                pmbus_status: status,
            };
            let fault = IllegalInstruction { nfaults };
            for (expect, write) in [
                (
                    {
                        let mut e = Encoder::new(Vec::new());
                        alert.encode(&mut e).unwrap();
                        e.into_writer()
                    },
                    &(|b: &mut [u8]| alert.encode_to_slice(b)) as &dyn Fn(&mut [u8]) -> _,
                ),
                (
                    {
                        let mut e = Encoder::new(Vec::new());
                        fault.encode(&mut e).unwrap();
                        e.into_writer()
                    },
                    &|b: &mut [u8]| fault.encode_to_slice(b),
                ),
            ] {
                for len in 0..=expect.len() + 2 {
                    let mut buf = vec![0xeeu8; len + 4];
                    let got = write(&mut buf[..len]);
                    prop_assert!(buf[len..].iter().all(|b| *b == 0xee), "wrote past the slice");
                    if len >= expect.len() {
                        prop_assert_eq!(got, Ok(expect.len()));
                        prop_assert_eq!(&buf[..expect.len()], &expect[..]);
                    } else {
                        prop_assert!(got.is_err(), "{} bytes accepted into {}", expect.len(), len);
                    }
                }
            }
        }
    }
}

// ---- the thermal task: classes as the variants of one enum ---------------
//
// Before the ereport attribute, upstream's thermal task declared its
// classes as one enum with `variant_id = "k"`, each variant renamed to its
// class and carrying its version as a field renamed "v". Here that is a
// field type (the reporter delivers `Ereport` classes); it encodes the same.

const MAX_COMPONENT_ID_LEN: usize = 16;

#[derive(EreportField)]
#[cbor(variant_id = "k")]
#[allow(dead_code)]
enum ThermalEreport {
    #[cbor(rename = "hw.temp.crit")]
    ComponentCritical {
        #[cbor(rename = "v")]
        version: u8,
        refdes: FixedStr<'static, { MAX_COMPONENT_ID_LEN }>,
        sensor_id: u32,
        temp_c: f32,
        time: u64,
    },
    #[cbor(rename = "hw.temp.a2.thresh")]
    ComponentPowerDown {
        #[cbor(rename = "v")]
        version: u8,
        refdes: FixedStr<'static, { MAX_COMPONENT_ID_LEN }>,
        sensor_id: u32,
        temp_c: f32,
        time: u64,
    },
}

#[test]
fn thermal_classes_as_variants() {
    let v = ThermalEreport::ComponentCritical {
        version: 0,
        refdes: FixedStr::from_str("U12"),
        sensor_id: 4,
        temp_c: 105.5,
        time: 777,
    };
    let mut e = Encoder::new(Vec::new());
    v.encode(&mut e).unwrap();
    let bytes = e.into_writer();
    let mut buf = vec![0u8; <ThermalEreport as EreportField>::MAX_LEN];
    let mut w = ereport_sdk::SliceWriter::new(&mut buf);
    v.write(&mut w).unwrap();
    let n = w.position();
    assert_eq!(buf[..n], bytes[..], "write and encode disagree");
    let mut up = Encoder::new(Vec::new());
    up.begin_map().unwrap();
    up.str("v").unwrap().u8(0).unwrap();
    up.str("refdes").unwrap().str("U12").unwrap();
    up.str("sensor_id").unwrap().u32(4).unwrap();
    up.str("temp_c").unwrap().f32(105.5).unwrap();
    up.str("time").unwrap().u64(777).unwrap();
    up.str("k").unwrap().str("hw.temp.crit").unwrap();
    up.end().unwrap();
    let (ours_v, theirs) = (
        decode_value(&bytes).unwrap(),
        decode_value(&up.into_writer()).unwrap(),
    );
    assert!(same_items(&ours_v, &theirs), "{}", ours_v.diagnostic());
    // {"k": "hw.temp.crit", "v": 0, "refdes": "U12", "sensor_id": 4,
    //  "temp_c": 105.5, "time": 777}
    assert_eq!(
        hex(&bytes),
        "a6616b6c68772e74656d702e637269746176006672656664657363553132\
         6973656e736f725f6964046674656d705f63fa42d300006474696d65190309"
    );
}
