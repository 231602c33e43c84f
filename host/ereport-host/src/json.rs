//! Ereports as JSON, as the management gateway (MGS) makes them and the
//! control plane stores them in its `report` column: what this collector
//! stores is what the control plane would store for the same packet.
//!
//! - An ereport is one object: the body's fields, then the envelope MGS
//!   adds (`hubris_task_name`, `hubris_task_gen`, `hubris_uptime_ms`,
//!   `ereport_message_version`), then the SP's metadata. Later keys win, as
//!   in MGS: the envelope over a body field of the same name, the metadata
//!   over both. Where it came from (restart id, ENA, SP) is not in it: the
//!   control plane keeps those in columns, and this collector's `--json`
//!   output prints them beside the report ([`crate::output::ereport_json_line`]).
//! - CBOR becomes JSON as RFC 8949 §6.1 says and MGS does: byte strings
//!   are unpadded base64url text; NaN and the infinities are `null`;
//!   bignum tags 2 and 3 are base64url text (3 with a leading `~`); tags
//!   21, 22 and 23 on a byte string are base64url, base64 and hex text;
//!   any other tag is its content. `undefined` is `null`.
//! - What JSON cannot hold (an integer below −2^63 or above 2^64−1, a map
//!   key that is not text, a simple value other than the four named ones)
//!   makes the body invalid, as in MGS; so does a body that is not valid
//!   CBOR or not a map. An invalid ereport keeps `invalid_ereport_error`
//!   (why) and `invalid_ereport_body_bytes` (the raw body, base64url) with
//!   the envelope and the metadata.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use ereport_sdk::decode::{Entry, Value, decode_value};
use ereport_sdk::wire;
use serde_json::{Map, Number, Value as Json};

/// Keys of the JSON this crate writes.
pub mod keys {
    /// The ereport's ENA (beside the report in `--json` output).
    pub const ENA: &str = "ena";
    /// The SP's restart id, a UUID (beside the report in `--json` output).
    pub const RESTART_ID: &str = "restart_id";
    /// The SP's name in the collector's inventory (beside the report).
    pub const SP_NAME: &str = "sp_name";
    /// The reporting task's name.
    pub const TASK_NAME: &str = "hubris_task_name";
    /// The reporting task's generation.
    pub const TASK_GEN: &str = "hubris_task_gen";
    /// The SP's uptime when the ereport was stored, in milliseconds.
    pub const UPTIME_MS: &str = "hubris_uptime_ms";
    /// The protocol version of the response that carried it.
    pub const MESSAGE_VERSION: &str = "ereport_message_version";
    /// Why the body is not a valid ereport (only on invalid ones).
    pub const INVALID_ERROR: &str = "invalid_ereport_error";
    /// The raw body of an invalid ereport, base64url (only on invalid ones).
    pub const INVALID_BODY: &str = "invalid_ereport_body_bytes";
    /// How the ereport does not match the class catalog (only with
    /// `--catalog`, only on mismatches; beside the report).
    pub const CATALOG_ERROR: &str = "catalog_error";
    /// The class key.
    pub const CLASS: &str = "k";
    /// The class key the control plane falls back to.
    pub const CLASS_FALLBACK: &str = "class";
    /// A loss record's count (`null`: unknown).
    pub const LOST: &str = "lost";
}

/// Why a CBOR value has no JSON form (MGS refuses the same ones).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// An integer outside what JSON numbers hold here (−2^63 to 2^64−1).
    #[error("CBOR integer too large for JSON: {0}")]
    Integer(i128),
    /// A map key that is not text.
    #[error("non-string object key: {0}")]
    NonStringKey(String),
    /// A simple value other than false, true, null and undefined.
    #[error("CBOR simple value {0} has no JSON form")]
    Simple(u8),
}

/// Converts a decoded CBOR value to JSON (see the module docs).
pub fn to_json(v: &Value) -> Result<Json, JsonError> {
    Ok(match v {
        Value::Null | Value::Undefined => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => {
            if let Ok(u) = u64::try_from(*i) {
                Json::Number(u.into())
            } else if let Ok(s) = i64::try_from(*i) {
                Json::Number(s.into())
            } else {
                return Err(JsonError::Integer(*i));
            }
        }
        Value::Float(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Text(t) => Json::String(t.clone()),
        Value::Bytes(b) => Json::String(URL_SAFE_NO_PAD.encode(b)),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        Value::Map(entries) => Json::Object(object(entries)?),
        Value::Simple(v) => return Err(JsonError::Simple(*v)),
        Value::Tag(tag, inner) => match (tag, inner.as_ref()) {
            (3, Value::Bytes(b)) => Json::String(format!("~{}", URL_SAFE_NO_PAD.encode(b))),
            (2 | 21, Value::Bytes(b)) => Json::String(URL_SAFE_NO_PAD.encode(b)),
            (22, Value::Bytes(b)) => Json::String(STANDARD_NO_PAD.encode(b)),
            (23, Value::Bytes(b)) => {
                Json::String(b.iter().map(|x| format!("{x:02x}")).collect::<String>())
            }
            (_, inner) => to_json(inner)?,
        },
    })
}

/// A CBOR map's entries as a JSON object (a key written twice: the last
/// wins).
fn object(entries: &[(Value, Value)]) -> Result<Map<String, Json>, JsonError> {
    let mut m = Map::new();
    for (k, v) in entries {
        let Value::Text(key) = k else {
            return Err(JsonError::NonStringKey(k.diagnostic()));
        };
        m.insert(key.clone(), to_json(v)?);
    }
    Ok(m)
}

/// The metadata map of a response as JSON. A value with no JSON form is
/// kept as its CBOR diagnostic text (MGS refuses the whole packet; losing
/// the ereports that came with it would be worse).
pub fn metadata_json(entries: &std::collections::BTreeMap<String, Value>) -> Map<String, Json> {
    entries
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                to_json(v).unwrap_or_else(|_| Json::String(v.diagnostic())),
            )
        })
        .collect()
}

/// The body's fields, or why it is not a valid ereport.
fn body_object(body: &[u8]) -> Result<Map<String, Json>, String> {
    match decode_value(body) {
        Ok(Value::Map(entries)) => {
            object(&entries).map_err(|e| format!("body CBOR cannot be converted to JSON: {e}"))
        }
        Ok(_) => Err("invalid body CBOR: the body is not a CBOR map".to_string()),
        Err(e) => Err(format!("invalid body CBOR: {e}")),
    }
}

/// Why a body is not a valid ereport, if it is not.
pub fn body_error(body: &[u8]) -> Option<String> {
    body_object(body).err()
}

/// Why an ereport's report (from [`ereport_json`]) is not a valid
/// ereport, if it is not: read from the report, so the body is decoded
/// once.
pub fn invalid_error(report: &Json) -> Option<String> {
    report
        .get(keys::INVALID_ERROR)
        .and_then(Json::as_str)
        .map(str::to_string)
}

/// The report for one ereport, as MGS makes it (see the module docs).
pub fn ereport_json(entry: &Entry, metadata: &Map<String, Json>) -> Json {
    let mut m = match body_object(&entry.body) {
        Ok(body) => body,
        Err(why) => {
            let mut m = Map::new();
            m.insert(keys::INVALID_ERROR.into(), Json::from(why));
            m.insert(
                keys::INVALID_BODY.into(),
                Json::from(URL_SAFE_NO_PAD.encode(&entry.body)),
            );
            m
        }
    };
    m.insert(keys::TASK_NAME.into(), Json::from(entry.task_name.clone()));
    m.insert(keys::TASK_GEN.into(), Json::from(entry.task_gen));
    m.insert(keys::UPTIME_MS.into(), Json::from(entry.uptime_ms));
    m.insert(keys::MESSAGE_VERSION.into(), Json::from(wire::VERSION));
    for (k, v) in metadata {
        m.insert(k.clone(), v.clone());
    }
    Json::Object(m)
}

/// What kind of loss record a report is, by the control plane's rule:
/// only a report with no class (`"k"`, else `"class"`) is one; `"lost":
/// null` is a possible loss, `"lost"` with any number a certain one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// `{"lost": null}`: ereports may have been lost (before boot).
    Possible,
    /// `{"lost": n}`: ereports were lost; how many, if `n` is a count.
    Certain(Option<u64>),
}

/// The class the control plane records for a report: `"k"`, else
/// `"class"`, if it is text (present but not text: none); with neither, a
/// loss record's class ([`Loss`]): `ereport.data_loss.possible` or
/// `ereport.data_loss.certain`; else none.
pub fn report_class(report: &Json) -> Option<String> {
    match report
        .get(keys::CLASS)
        .or_else(|| report.get(keys::CLASS_FALLBACK))
    {
        Some(Json::String(class)) => Some(class.clone()),
        Some(_) => None,
        None => match loss(report)? {
            Loss::Possible => Some("ereport.data_loss.possible".into()),
            Loss::Certain(_) => Some("ereport.data_loss.certain".into()),
        },
    }
}

/// Whether a report is a loss record, by the control plane's rule (see
/// [`Loss`]).
pub fn loss(report: &Json) -> Option<Loss> {
    if report.get(keys::CLASS).is_some() || report.get(keys::CLASS_FALLBACK).is_some() {
        return None;
    }
    match report.get(keys::LOST)? {
        Json::Null => Some(Loss::Possible),
        Json::Number(n) => Some(Loss::Certain(n.as_u64())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ereport_sdk::Ena;
    use serde_json::json;

    fn entry(body: &[u8]) -> Entry {
        Entry {
            ena: Ena(7),
            task_name: "thermal".into(),
            task_gen: 2,
            uptime_ms: u64::MAX,
            body: body.to_vec(),
        }
    }

    fn bytes(b: &[u8]) -> Box<Value> {
        Box::new(Value::Bytes(b.to_vec()))
    }

    #[test]
    fn mgs_value_conventions() {
        let ok = |v: Value| to_json(&v).unwrap();
        assert_eq!(ok(Value::Bytes(vec![0xfb, 0xff])), Json::from("-_8"));
        assert_eq!(ok(Value::Float(f64::NAN)), Json::Null);
        assert_eq!(ok(Value::Float(f64::INFINITY)), Json::Null);
        assert_eq!(ok(Value::Undefined), Json::Null);
        assert_eq!(ok(Value::Int(-(1 << 63))), json!(i64::MIN));
        assert_eq!(ok(Value::Int(u64::MAX.into())), json!(u64::MAX));
        assert_eq!(ok(Value::Tag(2, bytes(&[0xfb, 0xff]))), json!("-_8"));
        assert_eq!(ok(Value::Tag(3, bytes(&[0xfb, 0xff]))), json!("~-_8"));
        assert_eq!(ok(Value::Tag(21, bytes(&[0xfb, 0xff]))), json!("-_8"));
        assert_eq!(ok(Value::Tag(22, bytes(&[0xfb, 0xff]))), json!("+/8"));
        assert_eq!(ok(Value::Tag(23, bytes(&[0xfb, 0x0f]))), json!("fb0f"));
        assert_eq!(
            ok(Value::Tag(1, Box::new(Value::Int(1_700_000_000)))),
            json!(1_700_000_000)
        );
        assert_eq!(
            to_json(&Value::Int(-(1 << 63) - 1)),
            Err(JsonError::Integer(-(1 << 63) - 1))
        );
        assert_eq!(to_json(&Value::Simple(16)), Err(JsonError::Simple(16)));
        assert!(matches!(
            to_json(&Value::Map(vec![(Value::Int(1), Value::Null)])),
            Err(JsonError::NonStringKey(_))
        ));
    }

    #[test]
    fn the_envelope_wins_over_the_body_and_the_metadata_over_both() {
        // {"hubris_task_name": "forged", "baseboard_rev": 1, "x": 1}
        let mut body = vec![0xa3, 0x70];
        body.extend_from_slice(b"hubris_task_name");
        body.extend_from_slice(&[0x66]);
        body.extend_from_slice(b"forged");
        body.extend_from_slice(&[0x6d]);
        body.extend_from_slice(b"baseboard_rev");
        body.extend_from_slice(&[0x01, 0x61, b'x', 0x01]);
        let mut md = Map::new();
        md.insert("baseboard_rev".into(), json!(8));
        md.insert("hubris_uptime_ms".into(), json!(5));
        let j = ereport_json(&entry(&body), &md);
        assert_eq!(j["hubris_task_name"], "thermal");
        assert_eq!(j["baseboard_rev"], 8);
        assert_eq!(j["hubris_uptime_ms"], 5, "metadata last, as MGS");
        assert_eq!(j["x"], 1);
        assert_eq!(j.get("ena"), None, "where it came from is not in it");
        assert_eq!(j.get("restart_id"), None);
    }

    #[test]
    fn invalid_bodies_are_flagged_with_their_bytes() {
        let j = ereport_json(&entry(&[0x01]), &Map::new());
        assert_eq!(
            j[keys::INVALID_ERROR],
            "invalid body CBOR: the body is not a CBOR map"
        );
        assert_eq!(j[keys::INVALID_BODY], "AQ");
        assert_eq!(j[keys::TASK_NAME], "thermal");
        let j = ereport_json(&entry(&[0xa1, 0x61]), &Map::new());
        assert!(
            j[keys::INVALID_ERROR]
                .as_str()
                .unwrap()
                .starts_with("invalid body CBOR: ")
        );
        assert_eq!(body_error(&[0xa0]), None);
        assert_eq!(invalid_error(&j), body_error(&[0xa1, 0x61]));
        // {1: null}: valid CBOR that JSON cannot hold.
        let j = ereport_json(&entry(&[0xa1, 0x01, 0xf6]), &Map::new());
        assert_eq!(
            j[keys::INVALID_ERROR],
            "body CBOR cannot be converted to JSON: non-string object key: 1"
        );
    }

    #[test]
    fn classes_and_losses_follow_the_control_plane() {
        let class = |j: Json| report_class(&j);
        assert_eq!(class(json!({"k": "hw.x"})), Some("hw.x".into()));
        assert_eq!(class(json!({"class": "hw.y"})), Some("hw.y".into()));
        assert_eq!(
            class(json!({"k": "hw.x", "class": "hw.y"})),
            Some("hw.x".into())
        );
        assert_eq!(class(json!({"k": 3})), None, "not text");
        assert_eq!(class(json!({"k": 3, "class": "hw.y"})), None);
        assert_eq!(class(json!({"k": "hw.x", "lost": 3})), Some("hw.x".into()));
        assert_eq!(
            class(json!({"lost": null})),
            Some("ereport.data_loss.possible".into())
        );
        for lost in [json!(3), json!(-1), json!(2.5), json!(0)] {
            assert_eq!(
                class(json!({ "lost": lost })),
                Some("ereport.data_loss.certain".into())
            );
        }
        assert_eq!(class(json!({"lost": "many"})), None);
        assert_eq!(class(json!({"x": 1})), None);
        assert_eq!(loss(&json!({"lost": 3})), Some(Loss::Certain(Some(3))));
        assert_eq!(loss(&json!({"lost": -1})), Some(Loss::Certain(None)));
        assert_eq!(loss(&json!({"k": "x", "lost": 3})), None);
    }
}
