//! The class catalog written out: the derive's schemas
//! (`ereport_sdk::schema`) as the JSON `ereport-catalog` prints and
//! `--catalog` reads, as Markdown for people, and the check that keeps a
//! committed catalog honest (a changed class must bump its version).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ereport_sdk::schema::{ClassSchema, FieldSchema, TypeSchema, VariantSchema};
use serde_json::{Value, json};

/// The catalog format's version (the `catalog_version` key).
pub const CATALOG_VERSION: u64 = 1;

fn field_json(f: &FieldSchema) -> Value {
    let mut v = json!({
        "name": f.name,
        "type": type_json(f.ty),
        "optional": f.optional,
        "max_len": f.max_len,
    });
    if f.flattened
        && let Some(m) = v.as_object_mut()
    {
        m.insert("flattened".into(), Value::Bool(true));
    }
    v
}

fn type_json(t: &TypeSchema) -> Value {
    match t {
        TypeSchema::Uint => json!({"type": "uint"}),
        TypeSchema::Int => json!({"type": "int"}),
        TypeSchema::Bool => json!({"type": "bool"}),
        TypeSchema::Float => json!({"type": "float"}),
        TypeSchema::Text { max_len } => json!({"type": "text", "max_len": max_len}),
        TypeSchema::Bytes { max_len } => json!({"type": "bytes", "max_len": max_len}),
        TypeSchema::Array {
            of,
            min_items,
            max_items,
        } => json!({
            "type": "array",
            "items": type_json(of),
            "min_items": min_items,
            "max_items": max_items,
        }),
        TypeSchema::Map { fields } => json!({
            "type": "map",
            "fields": fields.iter().map(field_json).collect::<Vec<_>>(),
        }),
        TypeSchema::Enum {
            variant_id,
            variants,
        } => json!({
            "type": "enum",
            "variant_id": variant_id,
            "variants": variants.iter().map(|v| match v {
                VariantSchema::Unit { name } => json!({"name": name, "kind": "unit"}),
                VariantSchema::Struct { name, fields } => json!({
                    "name": name,
                    "kind": "struct",
                    "fields": fields.iter().map(field_json).collect::<Vec<_>>(),
                }),
                VariantSchema::Tuple { name, items } => json!({
                    "name": name,
                    "kind": "tuple",
                    "items": items.iter().map(type_json).collect::<Vec<_>>(),
                }),
            }).collect::<Vec<_>>(),
        }),
        TypeSchema::Tuple { items } => json!({
            "type": "tuple",
            "items": items.iter().map(type_json).collect::<Vec<_>>(),
        }),
        TypeSchema::OneOf { types } => json!({
            "type": "one_of",
            "types": types.iter().map(type_json).collect::<Vec<_>>(),
        }),
        TypeSchema::Opaque => json!({"type": "opaque"}),
    }
}

/// One class as JSON: `class`, `version`, `max_len`, and `body` (its
/// fields as a map type, or an enum of variants).
pub fn class_json(c: &ClassSchema) -> Value {
    json!({
        "class": c.class,
        "version": c.version,
        "max_len": c.max_len,
        "body": type_json(&c.body),
    })
}

/// A catalog: every class once per version, sorted by class and version.
pub fn catalog_json(classes: &[ClassSchema]) -> Value {
    let mut by_key: BTreeMap<(&str, u32), Value> = BTreeMap::new();
    for c in classes {
        by_key.insert((c.class, c.version), class_json(c));
    }
    json!({
        "catalog_version": CATALOG_VERSION,
        "classes": by_key.into_values().collect::<Vec<_>>(),
    })
}

/// A readable summary of a type.
fn type_text(t: &Value) -> String {
    let s = |k: &str| t.get(k).and_then(Value::as_u64).unwrap_or(0);
    match t.get("type").and_then(Value::as_str).unwrap_or("?") {
        "text" => format!("text (≤ {} bytes)", s("max_len")),
        "bytes" => format!("bytes (≤ {})", s("max_len")),
        "array" => {
            let items = t.get("items").map_or_else(|| "?".to_string(), type_text);
            if s("min_items") == s("max_items") {
                format!("array of {} × {items}", s("max_items"))
            } else {
                format!("array of ≤ {} × {items}", s("max_items"))
            }
        }
        "map" => {
            let names: Vec<String> = t
                .get("fields")
                .and_then(Value::as_array)
                .map(|fs| {
                    fs.iter()
                        .map(|f| {
                            format!(
                                "{}: {}",
                                f.get("name").and_then(Value::as_str).unwrap_or("?"),
                                f.get("type").map_or_else(|| "?".to_string(), type_text)
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            format!("map {{{}}}", names.join(", "))
        }
        "enum" => {
            let names: Vec<String> = t
                .get("variants")
                .and_then(Value::as_array)
                .map(|vs| {
                    vs.iter()
                        .map(|v| {
                            let name = v.get("name").and_then(Value::as_str).unwrap_or("?");
                            match v.get("kind").and_then(Value::as_str) {
                                Some("unit") => format!("\"{name}\""),
                                Some("struct") => format!("{name} {{…}}"),
                                _ => format!("{name}(…)"),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            format!("one of {}", names.join(", "))
        }
        "one_of" => {
            let types: Vec<String> = t
                .get("types")
                .and_then(Value::as_array)
                .map(|ts| ts.iter().map(type_text).collect())
                .unwrap_or_default();
            types.join(" or ")
        }
        other => other.to_string(),
    }
}

/// The catalog as a Markdown document: a table of fields per class.
pub fn catalog_markdown(catalog: &Value) -> String {
    let mut out = String::from(
        "# Ereport class catalog\n\nGenerated from `docs/catalog.json` \
         (`cargo run -p sp-sim --bin ereport-catalog -- --markdown`); do not edit by hand.\n",
    );
    let classes = catalog
        .get("classes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for c in &classes {
        let name = c.get("class").and_then(Value::as_str).unwrap_or("?");
        let version = c.get("version").and_then(Value::as_u64).unwrap_or(0);
        let max = c.get("max_len").and_then(Value::as_u64).unwrap_or(0);
        let _ = write!(out, "\n## `{name}` v{version}\n\nAt most {max} bytes.\n\n");
        let body = c.get("body").cloned().unwrap_or(Value::Null);
        match body.get("fields").and_then(Value::as_array) {
            Some(fields) if !fields.is_empty() => {
                out.push_str("| field | type | optional | max bytes |\n|---|---|---|---:|\n");
                for f in fields {
                    let flat = f.get("flattened").and_then(Value::as_bool) == Some(true);
                    let _ = writeln!(
                        out,
                        "| `{}`{} | {} | {} | {} |",
                        f.get("name").and_then(Value::as_str).unwrap_or("?"),
                        if flat { " (flattened)" } else { "" },
                        f.get("type").map_or_else(|| "?".to_string(), type_text),
                        if f.get("optional").and_then(Value::as_bool) == Some(true) {
                            "yes"
                        } else {
                            "no"
                        },
                        f.get("max_len").and_then(Value::as_u64).unwrap_or(0),
                    );
                }
            }
            Some(_) => out.push_str("No fields beyond `k` and `v`.\n"),
            None => {
                let _ = writeln!(out, "Body: {}.", type_text(&body));
            }
        }
    }
    out
}

/// What is wrong with a committed catalog, against the classes as built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CatalogProblem {
    /// A class's schema changed but its version did not.
    ChangedWithoutVersionBump {
        /// The class.
        class: String,
        /// Its (unchanged) version.
        version: u64,
    },
    /// The catalog lacks a class version that is built (regenerate it).
    Missing {
        /// The class.
        class: String,
        /// Its version.
        version: u64,
    },
    /// The catalog has a class version that is no longer built.
    Removed {
        /// The class.
        class: String,
        /// Its version.
        version: u64,
    },
}

impl core::fmt::Display for CatalogProblem {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CatalogProblem::ChangedWithoutVersionBump { class, version } => write!(
                f,
                "class {class} changed its fields but kept version {version}: bump `version` in its #[ereport(...)]"
            ),
            CatalogProblem::Missing { class, version } => {
                write!(
                    f,
                    "class {class} v{version} is not in the catalog: regenerate it"
                )
            }
            CatalogProblem::Removed { class, version } => write!(
                f,
                "class {class} v{version} is in the catalog but no longer built: regenerate it"
            ),
        }
    }
}

fn key(c: &Value) -> (String, u64) {
    (
        c.get("class")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        c.get("version").and_then(Value::as_u64).unwrap_or(0),
    )
}

/// Compares a committed catalog with the current one: a class whose schema
/// differs under the same version is a [`CatalogProblem::ChangedWithoutVersionBump`];
/// any other difference means the committed file is stale.
pub fn check_catalog(committed: &Value, current: &Value) -> Vec<CatalogProblem> {
    let index = |c: &Value| -> BTreeMap<(String, u64), Value> {
        c.get("classes")
            .and_then(Value::as_array)
            .map(|cs| cs.iter().map(|c| (key(c), c.clone())).collect())
            .unwrap_or_default()
    };
    let (old, new) = (index(committed), index(current));
    let mut problems = Vec::new();
    for ((class, version), schema) in &new {
        match old.get(&(class.clone(), *version)) {
            Some(s) if s != schema => problems.push(CatalogProblem::ChangedWithoutVersionBump {
                class: class.clone(),
                version: *version,
            }),
            Some(_) => {}
            None => problems.push(CatalogProblem::Missing {
                class: class.clone(),
                version: *version,
            }),
        }
    }
    for (class, version) in old.keys() {
        if !new.contains_key(&(class.clone(), *version)) {
            problems.push(CatalogProblem::Removed {
                class: class.clone(),
                version: *version,
            });
        }
    }
    problems
}
