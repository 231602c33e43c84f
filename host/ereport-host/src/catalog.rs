//! Checking ereports against a class catalog (`--catalog FILE`, the JSON
//! that `ereport-catalog` writes): an ereport whose class or version is not
//! in it, or whose fields do not match the class's schema (missing,
//! mistyped), is flagged, never refused: it is stored and printed with
//! `catalog_error` saying what did not match.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// Why a catalog could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not a catalog.
    #[error("{path}: not a class catalog: {why}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

/// The class of a loss record, which carries no `"k"` on the wire.
const LOSS_CLASS: &str = "ereport.data_loss";

/// A loaded catalog.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    /// (class, version) → the body's type.
    bodies: BTreeMap<(String, u64), Value>,
    classes: BTreeSet<String>,
}

impl Catalog {
    /// Loads the catalog at `path`.
    pub fn load(path: &Path) -> Result<Self, CatalogError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let format = |why: String| CatalogError::Format {
            path: path.to_path_buf(),
            why,
        };
        let json: Value = serde_json::from_str(&text).map_err(|e| format(e.to_string()))?;
        Self::from_json(&json).map_err(format)
    }

    /// A catalog from its JSON.
    pub fn from_json(json: &Value) -> Result<Self, String> {
        let classes = json
            .get("classes")
            .and_then(Value::as_array)
            .ok_or("no \"classes\" array")?;
        let mut out = Catalog::default();
        for c in classes {
            let class = c
                .get("class")
                .and_then(Value::as_str)
                .ok_or("a class without a name")?;
            let version = c
                .get("version")
                .and_then(Value::as_u64)
                .ok_or_else(|| format!("class {class} has no version"))?;
            let body = c.get("body").cloned().unwrap_or(Value::Null);
            out.classes.insert(class.to_string());
            out.bodies.insert((class.to_string(), version), body);
        }
        Ok(out)
    }

    /// What does not match in an ereport's JSON object, if anything.
    pub fn check(&self, ereport: &Value) -> Option<String> {
        let obj = ereport.as_object()?;
        if obj.contains_key(crate::json::keys::INVALID_ERROR) {
            return None;
        }
        let (class, version) = match (obj.get("k"), obj.get("lost")) {
            (Some(Value::String(k)), _) => (k.as_str(), obj.get("v").and_then(Value::as_u64)),
            (None, Some(_)) => (LOSS_CLASS, Some(0)),
            _ => return Some("no class (\"k\") in the ereport".into()),
        };
        let Some(version) = version else {
            return Some(format!("class {class} without a version (\"v\")"));
        };
        if !self.classes.contains(class) {
            return Some(format!("unknown class {class:?}"));
        }
        let Some(body) = self.bodies.get(&(class.to_string(), version)) else {
            return Some(format!("unknown version {version} of class {class:?}"));
        };
        check_map(body, obj, "").err()
    }
}

/// Checks the fields of a map type against `obj` (flattened fields join
/// it).
fn check_map(ty: &Value, obj: &Map<String, Value>, path: &str) -> Result<(), String> {
    let Some(fields) = ty.get("fields").and_then(Value::as_array) else {
        // An enum class or an opaque body: its shape varies by variant.
        return Ok(());
    };
    for f in fields {
        let name = f.get("name").and_then(Value::as_str).unwrap_or("?");
        let optional = f.get("optional").and_then(Value::as_bool) == Some(true);
        let fty = f.get("type").cloned().unwrap_or(Value::Null);
        if f.get("flattened").and_then(Value::as_bool) == Some(true) {
            // Its keys are in this map; an absent optional one adds none.
            if fty.get("type").and_then(Value::as_str) == Some("map") {
                let all_absent = fty
                    .get("fields")
                    .and_then(Value::as_array)
                    .is_some_and(|fs| {
                        fs.iter().all(|g| {
                            g.get("name")
                                .and_then(Value::as_str)
                                .is_none_or(|n| !obj.contains_key(n))
                        })
                    });
                if !(optional && all_absent) {
                    check_map(&fty, obj, path)?;
                }
            }
            continue;
        }
        let at = format!("{path}{name}");
        match obj.get(name) {
            None if optional => {}
            None => return Err(format!("missing field {at:?}")),
            Some(Value::Null) if optional => {}
            Some(v) => check_value(&fty, v, &at)?,
        }
    }
    Ok(())
}

/// Checks one value against a type.
fn check_value(ty: &Value, v: &Value, at: &str) -> Result<(), String> {
    let kind = ty.get("type").and_then(Value::as_str).unwrap_or("opaque");
    let max = |k: &str| ty.get(k).and_then(Value::as_u64).unwrap_or(u64::MAX);
    let ok = match kind {
        "uint" => v.is_u64(),
        "int" => v.is_i64() || v.is_u64(),
        "bool" => v.is_boolean(),
        // NaN and the infinities are null in the JSON.
        "float" => v.is_number() || v.is_null(),
        "text" => v.as_str().is_some_and(|s| s.len() as u64 <= max("max_len")),
        "bytes" => v.is_string(),
        "array" | "tuple" => {
            let Some(items) = v.as_array() else {
                return Err(format!("field {at:?} is not an array"));
            };
            if kind == "array" {
                let n = items.len() as u64;
                if n < ty.get("min_items").and_then(Value::as_u64).unwrap_or(0)
                    || n > max("max_items")
                {
                    return Err(format!("field {at:?} has {n} items"));
                }
                let item = ty.get("items").cloned().unwrap_or(Value::Null);
                for (i, x) in items.iter().enumerate() {
                    check_value(&item, x, &format!("{at}[{i}]"))?;
                }
            }
            true
        }
        "one_of" => ty
            .get("types")
            .and_then(Value::as_array)
            .is_some_and(|ts| ts.iter().any(|t| check_value(t, v, at).is_ok())),
        "map" => match v.as_object() {
            Some(obj) => return check_map(ty, obj, &format!("{at}.")),
            None => false,
        },
        "enum" => {
            let names: Vec<&str> = ty
                .get("variants")
                .and_then(Value::as_array)
                .map(|vs| {
                    vs.iter()
                        .filter_map(|x| x.get("name").and_then(Value::as_str))
                        .collect()
                })
                .unwrap_or_default();
            match v {
                Value::String(s) => names.contains(&s.as_str()),
                Value::Object(o) => match ty.get("variant_id").and_then(Value::as_str) {
                    Some(id) => o
                        .get(id)
                        .and_then(Value::as_str)
                        .is_some_and(|n| names.contains(&n)),
                    None => o.keys().next().is_some_and(|k| names.contains(&k.as_str())),
                },
                _ => false,
            }
        }
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("field {at:?} is not {}", describe(ty)))
    }
}

fn describe(ty: &Value) -> String {
    let kind = ty.get("type").and_then(Value::as_str).unwrap_or("opaque");
    match (kind, ty.get("max_len").and_then(Value::as_u64)) {
        ("text", Some(n)) => format!("text of at most {n} bytes"),
        ("uint", _) => "an unsigned integer".into(),
        ("int", _) => "an integer".into(),
        ("enum", _) => "one of its enum's variants".into(),
        ("one_of", _) => {
            let alternatives: Vec<String> = ty
                .get("types")
                .and_then(Value::as_array)
                .map(|ts| ts.iter().map(describe).collect())
                .unwrap_or_default();
            alternatives.join(" or ")
        }
        (k, _) => format!("a {k}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn catalog() -> Catalog {
        Catalog::from_json(&json!({"catalog_version": 1, "classes": [
            {"class": "hw.x", "version": 0, "max_len": 40, "body": {"type": "map", "fields": [
                {"name": "n", "type": {"type": "uint"}, "optional": false, "max_len": 3},
                {"name": "s", "type": {"type": "text", "max_len": 4}, "optional": true, "max_len": 5},
                {"name": "r", "flattened": true, "optional": true, "max_len": 9, "type": {"type": "map", "fields": [
                    {"name": "mv", "type": {"type": "uint"}, "optional": false, "max_len": 3}]}}
            ]}},
            {"class": "ereport.data_loss", "version": 0, "max_len": 15, "body": {"type": "map", "fields": [
                {"name": "lost", "type": {"type": "uint"}, "optional": true, "max_len": 5}]}}
        ]}))
        .unwrap()
    }

    #[test]
    fn mismatches_are_named() {
        let c = catalog();
        assert_eq!(c.check(&json!({"k": "hw.x", "v": 0, "n": 1})), None);
        assert_eq!(
            c.check(&json!({"k": "hw.x", "v": 0, "n": 1, "mv": 5, "s": "ab"})),
            None
        );
        assert_eq!(
            c.check(&json!({"k": "hw.y", "v": 0})).unwrap(),
            "unknown class \"hw.y\""
        );
        assert_eq!(
            c.check(&json!({"k": "hw.x", "v": 3})).unwrap(),
            "unknown version 3 of class \"hw.x\""
        );
        assert_eq!(
            c.check(&json!({"k": "hw.x", "v": 0})).unwrap(),
            "missing field \"n\""
        );
        assert_eq!(
            c.check(&json!({"k": "hw.x", "v": 0, "n": "1"})).unwrap(),
            "field \"n\" is not an unsigned integer"
        );
        assert_eq!(
            c.check(&json!({"k": "hw.x", "v": 0, "n": 1, "s": "toolong"}))
                .unwrap(),
            "field \"s\" is not text of at most 4 bytes"
        );
        assert_eq!(
            c.check(&json!({"k": "hw.x", "v": 0, "n": 1, "mv": "x"}))
                .unwrap(),
            "field \"mv\" is not an unsigned integer"
        );
        assert_eq!(c.check(&json!({"lost": null})), None);
        assert_eq!(c.check(&json!({"lost": 12})), None);
    }
}
