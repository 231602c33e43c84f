//! Shapes the derive accepts from upstream Hubris's style that upstream HEAD
//! does not itself ship, pinned by our own bytes: upstream's variant-id enum
//! example used as a field, `&'static` fields, `skip_if_nil`, `skip`, tuple
//! variants (which keep their name, unlike upstream: see docs/derive.md), and
//! the thermal classes-as-variants enum from an unmerged upstream branch.
//! The classes upstream HEAD ships are checked against upstream's own bytes
//! in `upstream.rs`.

use ereport_sdk::decode::decode_value;
use ereport_sdk::{Ereport, EreportField, FixedStr, Nested};
use minicbor::Encoder;

/// What our derive writes, through both paths, which must agree.
fn ours<T: Ereport>(v: &T) -> Vec<u8> {
    let mut buf = vec![0u8; T::MAX_LEN];
    let n = v.encode_to_slice(&mut buf).unwrap();
    buf.truncate(n);
    let mut e = Encoder::new(Vec::new());
    v.encode(&mut e).unwrap();
    assert_eq!(e.into_writer(), buf, "write and encode disagree");
    buf
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---- variant-id unit variants, references, skip_if_nil --------------------

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
    assert_eq!(
        hex(&ours(&v)),
        "a8616b6b746573742e73686170657361760164756e6974a164747970656856617269616e\
         74316c72656e616d65645f756e6974a16474797065746d795f636f6f6c5f756e69745f76\
         617269616e74656e616d6564a364747970656f6d795f636f6f6c5f76617269616e746163\
         01616402666c696d697473821907d0194650697468726573686f6c64185f677072657365\
         6e7407"
    );
    // Decoded: the unit variants as one-entry maps naming the variant (as
    // upstream writes them), the struct variant's id beside its fields,
    // `&'static` fields as their values, `maybe` left out.
    assert_eq!(
        decode_value(&ours(&v)).unwrap().diagnostic(),
        r#"{"k": "test.shapes", "v": 1, "unit": {"type": "Variant1"}, "renamed_unit": {"type": "my_cool_unit_variant"}, "named": {"type": "my_cool_variant", "c": 1, "d": 2}, "limits": [2000, 18000], "threshold": 95, "present": 7}"#
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

// ---- classes as the variants of one enum (an upstream branch) -----------
//
// Branch-only: not in upstream HEAD (`4c371f0`), where the thermal task
// sends no ereports. An unmerged upstream branch declared the thermal
// classes as one enum with `variant_id = "k"`, each variant renamed to its
// class and carrying its version as a field renamed "v". The derive accepts
// that style as a field type; this pins our bytes for it.

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
    // {"k": "hw.temp.crit", "v": 0, "refdes": "U12", "sensor_id": 4,
    //  "temp_c": 105.5, "time": 777}
    assert_eq!(
        hex(&bytes),
        "a6616b6c68772e74656d702e637269746176006672656664657363553132\
         6973656e736f725f6964046674656d705f63fa42d300006474696d65190309"
    );
}

// ---- raw identifiers ------------------------------------------------------

#[derive(Ereport)]
#[ereport(class = "test.raw", version = 0)]
struct RawNames {
    r#gen: u8,
    r#type: u8,
    #[ereport(rename = "gen")]
    generation: u8,
}

#[test]
fn raw_identifiers_keep_their_prefix_as_upstream_writes_them() {
    let v = RawNames {
        r#gen: 1,
        r#type: 2,
        generation: 3,
    };
    assert_eq!(
        decode_value(&ours(&v)).unwrap().diagnostic(),
        r#"{"k": "test.raw", "v": 0, "r#gen": 1, "r#type": 2, "gen": 3}"#
    );
}

// ---- classes as fields, chars and tuples ---------------------------------

#[derive(Ereport)]
#[ereport(class = "hw.pwr.vout.fault", version = 2)]
struct VoutFault {
    rail: u8,
}

#[derive(Ereport)]
#[ereport(class = "hw.pwr.summary", version = 0)]
struct Summary {
    last: Nested<VoutFault>,
    previous: Option<Nested<VoutFault>>,
}

#[test]
fn a_class_nested_as_a_field_keeps_its_class_and_version() {
    let v = Summary {
        last: Nested(VoutFault { rail: 3 }),
        previous: None,
    };
    assert_eq!(
        decode_value(&ours(&v)).unwrap().diagnostic(),
        r#"{"k": "hw.pwr.summary", "v": 0, "last": {"k": "hw.pwr.vout.fault", "v": 2, "rail": 3}, "previous": null}"#
    );
    // The bound counts the nested class's whole map.
    assert_eq!(
        <Nested<VoutFault> as EreportField>::MAX_LEN,
        <VoutFault as Ereport>::MAX_LEN
    );
}

#[derive(Ereport)]
#[ereport(class = "test.misc", version = 0)]
struct Misc {
    c: char,
    pair: (u8, i16),
}

#[test]
fn chars_are_scalar_values_and_tuples_are_arrays_as_minicbor_writes_them() {
    let v = Misc {
        c: '\u{10FFFF}',
        pair: (1, -300),
    };
    let bytes = ours(&v);
    assert_eq!(
        decode_value(&bytes).unwrap().diagnostic(),
        r#"{"k": "test.misc", "v": 0, "c": 1114111, "pair": [1, -300]}"#
    );
    // The same items minicbor writes for the same values.
    let mut e = Encoder::new(Vec::new());
    e.char('\u{10FFFF}').unwrap();
    e.str("pair").unwrap();
    e.encode((1u8, -300i16)).unwrap();
    assert!(hex(&bytes).ends_with(&hex(&e.into_writer())));
    // The largest char and the widest tuple items are the bound.
    assert_eq!(<char as EreportField>::MAX_LEN, 5);
    assert_eq!(<(u8, i16) as EreportField>::MAX_LEN, 1 + 2 + 3);
}
