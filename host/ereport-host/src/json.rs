//! Ereports as JSON, following the control plane's conventions so that what
//! `--json` prints is what the control plane would store.
//!
//! - An ereport is one object: the body's fields, then the metadata map,
//!   then the envelope the gateway adds (`hubris_task_name`,
//!   `hubris_task_gen`, `hubris_uptime_ms`, `ereport_message_version`, and
//!   this gateway's `ena` and `restart_id`). Later keys win, so a body field
//!   named like an envelope key cannot hide the envelope (as in MGS).
//! - Byte strings are unpadded base64url text; NaN and the infinities are
//!   `null`; integers keep all their bits (beyond 64 bits, a string).
//! - A body that is not valid CBOR, or not a map, is not an ereport:
//!   `invalid_ereport_error` says why and `invalid_ereport_body_bytes`
//!   holds the raw body (base64url), beside the envelope.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ereport_sdk::decode::{DecodeError, Entry, Value, decode_value};
use ereport_sdk::{RestartId, wire};
use serde_json::{Map, Number, Value as Json};

/// Keys the gateway sets on every ereport object.
pub mod keys {
    /// The ereport's ENA.
    pub const ENA: &str = "ena";
    /// The SP's restart id, as 32 hex digits.
    pub const RESTART_ID: &str = "restart_id";
    /// The SP's name in the collector's inventory.
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
    /// `--catalog`, only on mismatches).
    pub const CATALOG_ERROR: &str = "catalog_error";
}

/// Converts a decoded CBOR value to JSON (see the module docs).
pub fn to_json(v: &Value) -> Json {
    match v {
        Value::Null | Value::Undefined => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => {
            if let Ok(u) = u64::try_from(*i) {
                Json::Number(u.into())
            } else if let Ok(s) = i64::try_from(*i) {
                Json::Number(s.into())
            } else {
                Json::String(i.to_string())
            }
        }
        Value::Float(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Text(t) => Json::String(t.clone()),
        Value::Bytes(b) => Json::String(URL_SAFE_NO_PAD.encode(b)),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::Text(t) => t.clone(),
                        other => other.diagnostic(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Value::Simple(v) => {
            let mut m = Map::new();
            m.insert("simple".into(), Json::Number((*v).into()));
            Json::Object(m)
        }
        Value::Tag(t, inner) => {
            let mut m = Map::new();
            m.insert("tag".into(), Json::Number((*t).into()));
            m.insert("value".into(), to_json(inner));
            Json::Object(m)
        }
    }
}

/// Why a decoded body is not a valid ereport, if it is not.
fn invalid_reason(decoded: &Result<Value, DecodeError>) -> Option<String> {
    match decoded {
        Ok(Value::Map(_)) => None,
        Ok(_) => Some("the body is not a CBOR map".to_string()),
        Err(e) => Some(format!("the body is not valid CBOR: {e}")),
    }
}

/// Why a body is not a valid ereport, if it is not.
pub fn body_error(body: &[u8]) -> Option<String> {
    invalid_reason(&decode_value(body))
}

/// Why an ereport's JSON object (from [`ereport_json`]) is not a valid
/// ereport, if it is not: read from the object, so the body is decoded
/// once.
pub fn invalid_error(ereport: &Json) -> Option<String> {
    ereport
        .get(keys::INVALID_ERROR)
        .and_then(Json::as_str)
        .map(str::to_string)
}

/// The JSON object for one ereport (see the module docs).
pub fn ereport_json(restart_id: RestartId, entry: &Entry, metadata: &Map<String, Json>) -> Json {
    let decoded = decode_value(&entry.body);
    let mut m = Map::new();
    match (invalid_reason(&decoded), decoded.as_ref().map(to_json)) {
        (None, Ok(Json::Object(body))) => m = body,
        (why, _) => {
            let why = why.unwrap_or_else(|| "the body is not a CBOR map".to_string());
            m.insert(keys::INVALID_ERROR.into(), Json::from(why));
            m.insert(
                keys::INVALID_BODY.into(),
                Json::from(URL_SAFE_NO_PAD.encode(&entry.body)),
            );
        }
    }
    for (k, v) in metadata {
        m.insert(k.clone(), v.clone());
    }
    m.insert(keys::ENA.into(), Json::from(entry.ena.0));
    m.insert(keys::RESTART_ID.into(), Json::from(restart_id.to_string()));
    m.insert(keys::TASK_NAME.into(), Json::from(entry.task_name.clone()));
    m.insert(keys::TASK_GEN.into(), Json::from(entry.task_gen));
    m.insert(keys::UPTIME_MS.into(), Json::from(entry.uptime_ms));
    m.insert(keys::MESSAGE_VERSION.into(), Json::from(wire::VERSION));
    Json::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ereport_sdk::Ena;

    fn entry(body: &[u8]) -> Entry {
        Entry {
            ena: Ena(7),
            task_name: "thermal".into(),
            task_gen: 2,
            uptime_ms: u64::MAX,
            body: body.to_vec(),
        }
    }

    #[test]
    fn mgs_value_conventions() {
        assert_eq!(to_json(&Value::Bytes(vec![0xfb, 0xff])), Json::from("-_8"));
        assert_eq!(to_json(&Value::Float(f64::NAN)), Json::Null);
        assert_eq!(to_json(&Value::Float(f64::INFINITY)), Json::Null);
        assert_eq!(
            to_json(&Value::Int(-(1 << 64))),
            Json::from("-18446744073709551616")
        );
    }

    #[test]
    fn envelope_keys_win_over_body_keys() {
        // {"hubris_task_name": "forged", "ena": 1, "x": 1}
        let mut body = vec![0xa3, 0x70];
        body.extend_from_slice(b"hubris_task_name");
        body.extend_from_slice(&[0x66]);
        body.extend_from_slice(b"forged");
        body.extend_from_slice(&[0x63, b'e', b'n', b'a', 0x01, 0x61, b'x', 0x01]);
        let j = ereport_json(RestartId(1), &entry(&body), &Map::new());
        assert_eq!(j["hubris_task_name"], "thermal");
        assert_eq!(j["ena"], 7);
        assert_eq!(j["x"], 1);
        assert_eq!(j["hubris_uptime_ms"], u64::MAX);
    }

    #[test]
    fn invalid_bodies_are_flagged_with_their_bytes() {
        let j = ereport_json(RestartId(1), &entry(&[0x01]), &Map::new());
        assert_eq!(j[keys::INVALID_ERROR], "the body is not a CBOR map");
        assert_eq!(j[keys::INVALID_BODY], "AQ");
        let j = ereport_json(RestartId(1), &entry(&[0xa1, 0x61]), &Map::new());
        assert!(
            j[keys::INVALID_ERROR]
                .as_str()
                .unwrap()
                .starts_with("the body is not valid CBOR")
        );
        assert_eq!(body_error(&[0xa0]), None);
        assert_eq!(invalid_error(&j), body_error(&[0xa1, 0x61]));
    }
}
