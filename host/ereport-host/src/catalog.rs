//! Checking ereports against a class catalog (`--catalog FILE`, the JSON
//! that `ereport-catalog` writes): an ereport whose class or version is not
//! in it, or whose fields do not match the class's schema (missing,
//! mistyped), is flagged, never refused: it is stored and printed with
//! `catalog_error` saying what did not match.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize as _;
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

/// The catalog file as `ereport-catalog` writes it; any other key is an
/// error, so a misspelt or foreign file is refused rather than half-read.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[allow(dead_code)]
    catalog_version: u64,
    classes: Vec<ClassEntry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassEntry {
    class: String,
    version: u64,
    #[serde(default)]
    #[allow(dead_code)]
    max_len: Option<u64>,
    #[serde(default)]
    body: Option<Ty>,
}

/// A type in the catalog, parsed once at load (the check never touches
/// JSON types again).
#[derive(Debug, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Ty {
    Uint,
    Int,
    Bool,
    Float,
    Text {
        #[serde(default)]
        max_len: Option<u64>,
    },
    Bytes {
        #[serde(default)]
        #[allow(dead_code)]
        max_len: Option<u64>,
    },
    Array {
        items: Box<Ty>,
        #[serde(default)]
        min_items: Option<u64>,
        #[serde(default)]
        max_items: Option<u64>,
    },
    Map {
        fields: Vec<Field>,
    },
    Enum {
        #[serde(default)]
        variant_id: Option<String>,
        variants: Vec<Variant>,
    },
    Tuple {
        #[allow(dead_code)]
        items: Vec<Ty>,
    },
    OneOf {
        types: Vec<Ty>,
    },
    Opaque,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Field {
    name: String,
    #[serde(rename = "type")]
    ty: Ty,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    #[allow(dead_code)]
    max_len: Option<u64>,
    #[serde(default)]
    flattened: bool,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Variant {
    name: String,
    #[allow(dead_code)]
    kind: String,
    #[serde(default)]
    #[allow(dead_code)]
    fields: Option<Vec<Field>>,
    #[serde(default)]
    #[allow(dead_code)]
    items: Option<Vec<Ty>>,
}

/// A loaded catalog: cheap to clone (every SP's session shares one).
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    /// class → version → the body's type (`None`: no schema).
    classes: Arc<BTreeMap<String, BTreeMap<u64, Option<Ty>>>>,
}

/// Where in an ereport a check is: rendered (`a.b[3]`) only for a
/// mismatch, so a match allocates nothing.
#[derive(Clone, Copy)]
enum At<'a> {
    Top,
    Key(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            At::Top => Ok(()),
            At::Key(At::Top, k) => f.write_str(k),
            At::Key(parent, k) => write!(f, "{parent}.{k}"),
            At::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

impl Catalog {
    /// Loads the catalog at `path`.
    pub fn load(path: &Path) -> Result<Self, CatalogError> {
        let format = |why: String| CatalogError::Format {
            path: path.to_path_buf(),
            why,
        };
        let file = std::fs::File::open(path).map_err(|source| CatalogError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let parsed: CatalogFile = serde_json::from_reader(std::io::BufReader::new(file))
            .map_err(|e| format(e.to_string()))?;
        Ok(Self::from_file(parsed))
    }

    /// A catalog from its JSON.
    pub fn from_json(json: &Value) -> Result<Self, String> {
        let parsed = CatalogFile::deserialize(json).map_err(|e| e.to_string())?;
        Ok(Self::from_file(parsed))
    }

    fn from_file(file: CatalogFile) -> Self {
        let mut classes: BTreeMap<String, BTreeMap<u64, Option<Ty>>> = BTreeMap::new();
        for c in file.classes {
            classes
                .entry(c.class)
                .or_default()
                .insert(c.version, c.body);
        }
        Catalog {
            classes: Arc::new(classes),
        }
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
        let Some(versions) = self.classes.get(class) else {
            return Some(format!("unknown class {class:?}"));
        };
        let Some(body) = versions.get(&version) else {
            return Some(format!("unknown version {version} of class {class:?}"));
        };
        match body {
            Some(Ty::Map { fields }) => check_fields(fields, obj, &At::Top).err(),
            // An enum class or an opaque body: its shape varies by variant.
            _ => None,
        }
    }
}

/// Checks a map type's fields against `obj` (flattened fields join it).
fn check_fields(fields: &[Field], obj: &Map<String, Value>, at: &At<'_>) -> Result<(), String> {
    for f in fields {
        if f.flattened {
            // Its keys are in this map; an absent optional one adds none.
            if let Ty::Map { fields: inner } = &f.ty {
                let all_absent = inner.iter().all(|g| !obj.contains_key(&g.name));
                if !(f.optional && all_absent) {
                    check_fields(inner, obj, at)?;
                }
            }
            continue;
        }
        let here = At::Key(at, &f.name);
        match obj.get(&f.name) {
            None if f.optional => {}
            None => return Err(format!("missing field \"{here}\"")),
            Some(Value::Null) if f.optional => {}
            Some(v) => check_value(&f.ty, v, &here)?,
        }
    }
    Ok(())
}

/// Checks one value against a type.
fn check_value(ty: &Ty, v: &Value, at: &At<'_>) -> Result<(), String> {
    let ok = match ty {
        Ty::Uint => v.is_u64(),
        Ty::Int => v.is_i64() || v.is_u64(),
        Ty::Bool => v.is_boolean(),
        // NaN and the infinities are null in the JSON.
        Ty::Float => v.is_number() || v.is_null(),
        Ty::Text { max_len } => v
            .as_str()
            .is_some_and(|s| s.len() as u64 <= max_len.unwrap_or(u64::MAX)),
        Ty::Bytes { .. } => v.is_string(),
        Ty::Tuple { .. } => {
            if !v.is_array() {
                return Err(format!("field \"{at}\" is not an array"));
            }
            true
        }
        Ty::Array {
            items,
            min_items,
            max_items,
        } => {
            let Some(xs) = v.as_array() else {
                return Err(format!("field \"{at}\" is not an array"));
            };
            let n = xs.len() as u64;
            if n < min_items.unwrap_or(0) || n > max_items.unwrap_or(u64::MAX) {
                return Err(format!("field \"{at}\" has {n} items"));
            }
            for (i, x) in xs.iter().enumerate() {
                check_value(items, x, &At::Index(at, i))?;
            }
            true
        }
        Ty::OneOf { types } => types.iter().any(|t| check_value(t, v, at).is_ok()),
        Ty::Map { fields } => match v.as_object() {
            Some(obj) => return check_fields(fields, obj, at),
            None => false,
        },
        Ty::Enum {
            variant_id,
            variants,
        } => {
            let known = |n: &str| variants.iter().any(|x| x.name == n);
            match v {
                Value::String(s) => known(s),
                Value::Object(o) => match variant_id {
                    Some(id) => o.get(id).and_then(Value::as_str).is_some_and(known),
                    None => o.keys().next().is_some_and(|k| known(k)),
                },
                _ => false,
            }
        }
        Ty::Opaque => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("field \"{at}\" is not {}", describe(ty)))
    }
}

fn describe(ty: &Ty) -> String {
    match ty {
        Ty::Text { max_len: Some(n) } => format!("text of at most {n} bytes"),
        Ty::Text { max_len: None } => "a text".into(),
        Ty::Uint => "an unsigned integer".into(),
        Ty::Int => "an integer".into(),
        Ty::Bool => "a bool".into(),
        Ty::Float => "a float".into(),
        Ty::Bytes { .. } => "a bytes".into(),
        Ty::Array { .. } => "an array".into(),
        Ty::Tuple { .. } => "a tuple".into(),
        Ty::Map { .. } => "a map".into(),
        Ty::Enum { .. } => "one of its enum's variants".into(),
        Ty::OneOf { types } => types.iter().map(describe).collect::<Vec<_>>().join(" or "),
        Ty::Opaque => "an opaque value".into(),
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

    #[test]
    fn nested_paths_are_named_and_foreign_files_refused() {
        let c = Catalog::from_json(&json!({"catalog_version": 1, "classes": [
            {"class": "hw.n", "version": 1, "max_len": 99, "body": {"type": "map", "fields": [
                {"name": "rails", "optional": false, "max_len": 50, "type": {
                    "type": "array", "min_items": 0, "max_items": 4, "items": {
                        "type": "map", "fields": [
                            {"name": "mv", "type": {"type": "uint"}, "optional": false, "max_len": 3}]}}}
            ]}}
        ]}))
        .unwrap();
        assert_eq!(
            c.check(&json!({"k": "hw.n", "v": 1, "rails": [{"mv": 1}, {"mv": -1}]}))
                .unwrap(),
            "field \"rails[1].mv\" is not an unsigned integer"
        );
        assert!(
            Catalog::from_json(&json!({"catalog_version": 1, "classes": [], "extra": 1}))
                .unwrap_err()
                .contains("unknown field `extra`")
        );
        assert!(
            Catalog::from_json(&json!({"catalog_version": 1, "classes": [
                {"class": "x", "version": 0, "body": {"type": "quaternion"}}]}))
            .is_err()
        );
    }
}
