//! CBOR values as JSON, for the gateway's output.

use ereport_sdk::decode::Value;
use serde_json::{Map, Number, Value as Json};

/// Converts a decoded CBOR value to JSON: maps with text keys become
/// objects (other keys are written in diagnostic notation), byte strings
/// become arrays of numbers, integers beyond JSON's safe range stay exact
/// (serde_json keeps u64/i64), and larger ones become strings.
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
        Value::Float(f) => {
            Number::from_f64(*f).map_or_else(|| Json::String(f.to_string()), Json::Number)
        }
        Value::Text(t) => Json::String(t.clone()),
        Value::Bytes(b) => Json::Array(b.iter().map(|x| Json::Number((*x).into())).collect()),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => {
            let mut m = Map::new();
            for (k, v) in entries {
                let key = match k {
                    Value::Text(t) => t.clone(),
                    other => other.diagnostic(),
                };
                m.insert(key, to_json(v));
            }
            Json::Object(m)
        }
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
