//! The committed catalog (`docs/catalog.json`, `docs/catalog.md`) is the
//! catalog of the classes as built, and a class cannot change its fields
//! without changing its version.

use ereport_host::catalog_file::{CatalogProblem, catalog_markdown, check_catalog};
use serde_json::Value;
use sp_sim::catalog::workspace_catalog;

const REGENERATE: &str = "regenerate with: cargo run -p sp-sim --bin ereport-catalog > docs/catalog.json \
     && cargo run -p sp-sim --bin ereport-catalog -- --markdown > docs/catalog.md";

fn committed() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/catalog.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_committed_catalog_is_current() {
    let current = workspace_catalog();
    let problems = check_catalog(&committed(), &current);
    assert!(
        problems.is_empty(),
        "{}\n{REGENERATE}",
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(committed(), current, "{REGENERATE}");
    let md = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/catalog.md"
    ))
    .unwrap();
    assert_eq!(md, catalog_markdown(&current), "{REGENERATE}");
}

/// The class `name` of a catalog, to edit.
fn class_mut<'a>(catalog: &'a mut Value, name: &str) -> &'a mut Value {
    catalog["classes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["class"] == name)
        .unwrap()
}

#[test]
fn a_changed_field_without_a_version_bump_fails_the_check() {
    let current = workspace_catalog();
    // The catalog as it would be committed before someone changed the
    // overtemp class's `sensor` field from u8 to i16 without bumping v0.
    let mut before = current.clone();
    let overtemp = class_mut(&mut before, "hw.temp.overtemp");
    let sensor = overtemp["body"]["fields"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["name"] == "sensor")
        .unwrap();
    sensor["type"]["type"] = Value::from("int");
    let problems = check_catalog(&before, &current);
    assert_eq!(
        problems,
        [CatalogProblem::ChangedWithoutVersionBump {
            class: "hw.temp.overtemp".into(),
            version: 0
        }]
    );
    assert!(problems[0].to_string().contains("bump `version`"));

    // With the version bumped, the old file is only stale.
    let mut bumped = current.clone();
    class_mut(&mut bumped, "hw.temp.overtemp")["version"] = Value::from(1);
    let problems = check_catalog(&before, &bumped);
    assert!(
        problems
            .iter()
            .all(|p| !matches!(p, CatalogProblem::ChangedWithoutVersionBump { .. })),
        "{problems:?}"
    );
    assert!(problems.contains(&CatalogProblem::Missing {
        class: "hw.temp.overtemp".into(),
        version: 1
    }));
}

#[test]
fn the_catalog_describes_every_shape() {
    let c = workspace_catalog();
    let classes = c["classes"].as_array().unwrap();
    let find = |name: &str| classes.iter().find(|c| c["class"] == name).unwrap().clone();
    let alert = find("hw.pwr.pmbus.alert");
    let fields = alert["body"]["fields"].as_array().unwrap();
    assert_eq!(fields[0]["name"], "rail");
    assert_eq!(
        fields[0]["type"],
        serde_json::json!({"type": "text", "max_len": 16})
    );
    assert_eq!(fields[2]["flattened"], true);
    assert_eq!(fields[2]["optional"], true);
    assert_eq!(fields[2]["type"]["fields"][0]["name"], "vout_mv");
    let seq = find("hw.seq.fail");
    assert_eq!(seq["body"]["fields"][0]["type"]["type"], "enum");
    assert_eq!(
        seq["body"]["fields"][0]["type"]["variants"][1]["name"],
        "pg_wait"
    );
    assert_eq!(seq["body"]["fields"][1]["type"]["max_items"], 4);
    assert!(classes.iter().any(|c| c["class"] == "hubris.fault.panic"));
    assert!(classes.iter().any(|c| c["class"] == "ereport.suppressed"));
    assert!(classes.iter().any(|c| c["class"] == "ereport.data_loss"));
    // Every max_len is the class's real static maximum.
    assert_eq!(
        alert["max_len"],
        <sp_sim::classes::PmbusAlert as ereport_sdk::Ereport>::MAX_LEN
    );
}
