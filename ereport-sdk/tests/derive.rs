//! What the derives encode, and that `MAX_LEN` is a true and tight bound.

use ereport_sdk::decode::{Value, decode_value};
use ereport_sdk::heapless::{String as HString, Vec as HVec};
use ereport_sdk::{Ereport, EreportField, FlattenFields};
use proptest::prelude::*;

fn field_bytes<T: EreportField>(v: &T) -> Vec<u8> {
    let mut e = minicbor::Encoder::new(Vec::new());
    v.encode(&mut e).unwrap();
    e.into_writer()
}

fn ereport_bytes<T: Ereport>(v: &T) -> Vec<u8> {
    let mut buf = vec![0u8; T::MAX_LEN];
    let n = v.encode_to_slice(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn diag<T: Ereport>(v: &T) -> String {
    decode_value(&ereport_bytes(v)).unwrap().diagnostic()
}

#[derive(EreportField, Clone, Debug)]
struct Rail {
    index: u8,
    name: HString<8>,
}

#[derive(EreportField, Clone, Debug)]
enum Cause {
    Overcurrent,
    #[ereport(rename = "uv")]
    Undervoltage,
    Limit {
        amps: u16,
    },
    Raw(u32),
    Pair(u8, bool),
}

#[derive(EreportField, Clone, Debug)]
#[ereport(variant_id = "kind")]
enum Source {
    Sensor {
        id: u16,
    },
    #[ereport(rename = "manual")]
    Operator,
}

#[derive(EreportField, Clone, Debug)]
struct Location {
    slot: u8,
    bay: Option<u8>,
}

#[derive(Ereport, Clone, Debug)]
#[ereport(class = "hw.pwr.pmbus.alert", version = 3)]
struct Alert {
    rail: Rail,
    cause: Cause,
    #[ereport(rename = "status")]
    status_word: u16,
    temp: Option<f32>,
    #[ereport(skip)]
    #[allow(dead_code)]
    scratch: Vec<u8>,
    #[ereport(flatten)]
    loc: Location,
    #[ereport(flatten)]
    src: Option<Source>,
    samples: [i16; 3],
    history: HVec<u8, 4>,
}

fn alert() -> Alert {
    Alert {
        rail: Rail {
            index: 2,
            name: "VDD".try_into().unwrap(),
        },
        cause: Cause::Undervoltage,
        status_word: 0x840,
        temp: None,
        scratch: vec![1, 2, 3],
        loc: Location {
            slot: 4,
            bay: Some(1),
        },
        src: Some(Source::Sensor { id: 300 }),
        samples: [-1, 0, 1000],
        history: HVec::from_slice(&[9, 8]).unwrap(),
    }
}

#[test]
fn ereport_map_has_class_and_version_first() {
    assert_eq!(
        diag(&alert()),
        r#"{"k": "hw.pwr.pmbus.alert", "v": 3, "rail": {"index": 2, "name": "VDD"}, "cause": "uv", "status": 2112, "temp": null, "slot": 4, "bay": 1, "kind": "Sensor", "id": 300, "samples": [-1, 0, 1000], "history": [9, 8]}"#
    );
    let mut a = alert();
    a.src = None;
    a.cause = Cause::Limit { amps: 7 };
    a.temp = Some(1.5);
    let d = diag(&a);
    assert!(d.contains(r#""cause": {"amps": 7}"#), "{d}");
    assert!(!d.contains("kind"), "a None flattens to nothing: {d}");
    assert!(d.contains(r#""temp": 1.5"#), "{d}");
    a.src = Some(Source::Operator);
    assert!(diag(&a).contains(r#""kind": "manual""#));
    a.cause = Cause::Raw(5);
    assert!(diag(&a).contains(r#""cause": {"Raw": 5}"#));
    a.cause = Cause::Pair(1, true);
    assert!(diag(&a).contains(r#""cause": {"Pair": [1, true]}"#));
    assert_eq!(Alert::CLASS, "hw.pwr.pmbus.alert");
    assert_eq!(Alert::VERSION, 3);
}

#[test]
fn golden_bytes_of_a_small_ereport() {
    #[derive(Ereport)]
    #[ereport(class = "hw.seq.fail", version = 0)]
    struct SeqFail {
        rail: u8,
    }
    let bytes = ereport_bytes(&SeqFail { rail: 30 });
    let mut expect = vec![0xa3, 0x61, b'k', 0x6b];
    expect.extend(b"hw.seq.fail");
    expect.extend([0x61, b'v', 0x00, 0x64]);
    expect.extend(b"rail");
    expect.extend([0x18, 30]);
    assert_eq!(bytes, expect);
    assert_eq!(SeqFail::MAX_LEN, expect.len());
}

#[test]
fn primitive_bounds_are_reached_by_maximal_values() {
    fn reaches<T: EreportField>(v: T) {
        assert_eq!(
            field_bytes(&v).len(),
            T::MAX_LEN,
            "{}",
            std::any::type_name::<T>()
        );
    }
    reaches(u8::MAX);
    reaches(u16::MAX);
    reaches(u32::MAX);
    reaches(u64::MAX);
    reaches(usize::MAX);
    reaches(i8::MIN);
    reaches(i8::MAX);
    reaches(i16::MIN);
    reaches(i32::MIN);
    reaches(i64::MIN);
    reaches(isize::MIN);
    reaches(true);
    reaches(f32::MAX);
    reaches(f64::MIN_POSITIVE);
    reaches(Some(u32::MAX));
    reaches(None::<bool>);
    reaches([u16::MAX; 30]);
    reaches(HString::<30>::try_from("abcdefghijklmnopqrstuvwxyz0123").unwrap());
    reaches(HVec::<i64, 3>::from_slice(&[i64::MIN; 3]).unwrap());
    reaches(Rail {
        index: 255,
        name: "12345678".try_into().unwrap(),
    });
    reaches(Cause::Overcurrent); // the longest variant: 1 + 11 bytes
    reaches(Source::Sensor { id: u16::MAX });
    reaches(ereport_sdk::Bytes::<30>::from_slice(&[7; 30]).unwrap());
    assert_eq!(
        field_bytes(&ereport_sdk::Bytes::<30>::from_slice(&[7; 2]).unwrap()),
        [0x42, 7, 7]
    );
    // usize counts at the target's width: 9 bytes on a 64-bit host, 5 on the
    // 32-bit SP (checked at compile time in the thumbv7em build).
    assert_eq!(
        <usize as EreportField>::MAX_LEN,
        if cfg!(target_pointer_width = "64") {
            9
        } else {
            5
        }
    );
}

#[test]
fn derived_bounds_by_hand() {
    // {"index": u8, "name": String<8>}: head 1 + 6+2 + 5+9.
    assert_eq!(<Rail as EreportField>::MAX_LEN, 1 + 6 + 2 + 5 + 9);
    // Largest variant: "Overcurrent" = 1 + 11; {"Pair": [u8, bool]} = 10.
    assert_eq!(<Cause as EreportField>::MAX_LEN, 12);
    assert_eq!(field_bytes(&Cause::Pair(255, true)).len(), 10);
    assert_eq!(<Source as FlattenFields>::MAX_ENTRIES, 2);
    assert_eq!(<Location as FlattenFields>::MAX_ENTRIES, 2);
}

#[derive(Ereport, Debug, Clone)]
#[ereport(class = "test.enum_report", version = 1, variant_id = "what")]
enum EnumReport {
    Tripped {
        rail: u8,
        #[ereport(flatten)]
        loc: Location,
    },
    Cleared,
}

#[test]
fn enum_ereports_name_their_variant() {
    let d = diag(&EnumReport::Tripped {
        rail: 1,
        loc: Location { slot: 2, bay: None },
    });
    assert_eq!(
        d,
        r#"{"k": "test.enum_report", "v": 1, "what": "Tripped", "rail": 1, "slot": 2, "bay": null}"#
    );
    assert_eq!(
        diag(&EnumReport::Cleared),
        r#"{"k": "test.enum_report", "v": 1, "what": "Cleared"}"#
    );
}

#[derive(EreportField, Debug, Clone)]
struct Wrapper<T> {
    inner: T,
    #[ereport(flatten)]
    more: Option<Location>,
}

#[derive(EreportField, Debug, Clone)]
struct Newtype(u32);

#[derive(Ereport, Debug, Clone)]
#[ereport(class = "test.generic", version = 0)]
struct Generic<T: Copy, const N: usize> {
    values: [T; N],
    wrapped: Wrapper<T>,
    n: Newtype,
}

#[test]
fn generics_with_bounds() {
    let g = Generic::<u8, 2> {
        values: [1, 2],
        wrapped: Wrapper {
            inner: 9,
            more: None,
        },
        n: Newtype(7),
    };
    assert_eq!(
        diag(&g),
        r#"{"k": "test.generic", "v": 0, "values": [1, 2], "wrapped": {"inner": 9}, "n": 7}"#
    );
    assert!(ereport_bytes(&g).len() <= Generic::<u8, 2>::MAX_LEN);
    const { assert!(Generic::<u64, 2>::MAX_LEN > Generic::<u8, 2>::MAX_LEN) };
}

fn arb_string<const N: usize>() -> impl Strategy<Value = HString<N>> {
    proptest::collection::vec(any::<char>(), 0..=N).prop_map(|cs| {
        let mut s = HString::new();
        for c in cs {
            if s.push(c).is_err() {
                break;
            }
        }
        s
    })
}

fn arb_location() -> impl Strategy<Value = Location> {
    (any::<u8>(), any::<Option<u8>>()).prop_map(|(slot, bay)| Location { slot, bay })
}

fn arb_alert() -> impl Strategy<Value = Alert> {
    let cause = prop_oneof![
        Just(Cause::Overcurrent),
        Just(Cause::Undervoltage),
        any::<u16>().prop_map(|amps| Cause::Limit { amps }),
        any::<u32>().prop_map(Cause::Raw),
        any::<(u8, bool)>().prop_map(|(a, b)| Cause::Pair(a, b)),
    ];
    let src = proptest::option::of(prop_oneof![
        any::<u16>().prop_map(|id| Source::Sensor { id }),
        Just(Source::Operator),
    ]);
    (
        (any::<u8>(), arb_string::<8>()),
        cause,
        any::<u16>(),
        any::<Option<f32>>(),
        arb_location(),
        src,
        any::<[i16; 3]>(),
        proptest::collection::vec(any::<u8>(), 0..=4),
    )
        .prop_map(
            |((index, name), cause, status_word, temp, loc, src, samples, history)| Alert {
                rail: Rail { index, name },
                cause,
                status_word,
                temp,
                scratch: Vec::new(),
                loc,
                src,
                samples,
                history: HVec::from_slice(&history).unwrap(),
            },
        )
}

proptest! {
    #[test]
    fn encoded_length_never_exceeds_max(a in arb_alert()) {
        let bytes = ereport_bytes(&a);
        prop_assert!(bytes.len() <= Alert::MAX_LEN);
        // And it is one well-formed map whose first keys are k and v.
        let v = decode_value(&bytes).unwrap();
        prop_assert_eq!(v.get("k"), Some(&Value::Text("hw.pwr.pmbus.alert".into())));
        let Value::Map(entries) = &v else { panic!("not a map") };
        prop_assert_eq!(entries[0].0.as_str(), Some("k"));
        prop_assert_eq!(entries[1].0.as_str(), Some("v"));
    }

    #[test]
    fn enum_ereports_stay_in_bounds(rail in any::<u8>(), loc in arb_location(), cleared in any::<bool>()) {
        let e = if cleared { EnumReport::Cleared } else { EnumReport::Tripped { rail, loc } };
        prop_assert!(ereport_bytes(&e).len() <= EnumReport::MAX_LEN);
    }
}

#[test]
fn alert_bound_is_tight() {
    // The maximal value: every field at its longest.
    let a = Alert {
        rail: Rail {
            index: 255,
            name: "ABCDEFGH".try_into().unwrap(),
        },
        cause: Cause::Overcurrent,
        status_word: u16::MAX,
        temp: Some(1.0),
        scratch: Vec::new(),
        loc: Location {
            slot: 255,
            bay: Some(255),
        },
        src: Some(Source::Sensor { id: u16::MAX }), // the longer variant
        samples: [i16::MIN; 3],
        history: HVec::from_slice(&[255; 4]).unwrap(),
    };
    assert_eq!(ereport_bytes(&a).len(), Alert::MAX_LEN);
}
