//! What the control plane stores and shows (issue 19): the conformance
//! file of reports, the schema migrated with its rows, every PostgreSQL
//! statement planned and within what CockroachDB accepts, and `query` and
//! `info` saying the same on both databases.

mod common;

use std::path::Path;
use std::process::Command;

use common::PgCluster;
use ereport_gateway::db::SpRow;
use ereport_gateway::db::migrations::{self, Dialect};
use ereport_gateway::gateway::StoredEreport;
use ereport_gateway::json::{ereport_json, report_class};
use ereport_sdk::decode::Entry;
use ereport_sdk::{Ena, Ereport, RestartId};
use serde_json::{Map, Value, json};

fn gateway() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ereport-gateway"))
}

/// A CBOR head: major type and argument.
fn head(major: u8, n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    common::head(&mut out, major, n);
    out
}

fn text(s: &str) -> Vec<u8> {
    let mut out = head(3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
    out
}

/// A map of the given encoded keys and values.
fn map(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = head(5, entries.len() as u64);
    for (k, v) in entries {
        out.extend_from_slice(k);
        out.extend_from_slice(v);
    }
    out
}

/// A body of a real class, as the SDK encodes it.
fn encoded(e: &impl Ereport) -> Vec<u8> {
    let mut buf = [0u8; 1024];
    let n = e.encode_to_slice(&mut buf).unwrap();
    buf[..n].to_vec()
}

/// The packets of the conformance file: (name, body, metadata).
fn cases() -> Vec<(&'static str, Vec<u8>, Map<String, Value>)> {
    let md = |v: Value| v.as_object().cloned().unwrap_or_default();
    let vpd = md(json!({
        "baseboard_part_number": "913-0000019",
        "baseboard_serial_number": "BRM42220017",
        "baseboard_rev": 6,
        "hubris_caboose": {"board": "gimlet-f", "version": "1.0.0"},
    }));
    let u = |n: u64| head(0, n);
    let neg = |n: u64| head(1, n);
    let null = vec![0xf6];
    vec![
        (
            "sim.overtemp",
            encoded(&sp_sim::classes::Overtemp {
                sensor: 3,
                millidegrees: 91_500,
                limit_millidegrees: 90_000,
            }),
            vpd.clone(),
        ),
        (
            "sim.pmbus_alert",
            encoded(&sp_sim::classes::PmbusAlert {
                rail: heapless::String::try_from("VDD_VCORE").unwrap(),
                status_word: 0x0840,
                reading: Some(sp_sim::classes::Reading {
                    vout_mv: 1_100,
                    iout_ma: 95_000,
                }),
            }),
            vpd.clone(),
        ),
        (
            "loss.possible",
            map(&[(text("lost"), null.clone())]),
            vpd.clone(),
        ),
        ("loss.certain", map(&[(text("lost"), u(3))]), vpd.clone()),
        ("loss.negative", map(&[(text("lost"), neg(0))]), Map::new()),
        (
            "loss.text",
            map(&[(text("lost"), text("many"))]),
            Map::new(),
        ),
        (
            "loss.with_class",
            map(&[(text("k"), text("hw.x")), (text("lost"), u(3))]),
            Map::new(),
        ),
        (
            "class.fallback",
            map(&[(text("class"), text("hw.y"))]),
            Map::new(),
        ),
        ("class.not_text", map(&[(text("k"), u(7))]), Map::new()),
        (
            "precedence.envelope_over_body",
            map(&[
                (text("k"), text("hw.x")),
                (text("hubris_task_name"), text("forged")),
            ]),
            Map::new(),
        ),
        (
            "precedence.metadata_over_body",
            map(&[(text("k"), text("hw.x")), (text("baseboard_rev"), u(1))]),
            vpd.clone(),
        ),
        (
            "cbor.tags",
            map(&[
                (text("k"), text("hw.x")),
                (
                    text("big"),
                    [head(6, 2), head(2, 2), vec![0x01, 0x00]].concat(),
                ),
                (text("neg"), [head(6, 3), head(2, 1), vec![0xff]].concat()),
                (
                    text("hex"),
                    [head(6, 23), head(2, 2), vec![0xbe, 0xef]].concat(),
                ),
                (
                    text("b64"),
                    [head(6, 22), head(2, 2), vec![0xfb, 0xff]].concat(),
                ),
                (text("epoch"), [head(6, 1), u(1_700_000_000)].concat()),
            ]),
            Map::new(),
        ),
        (
            "cbor.floats",
            map(&[
                (text("k"), text("hw.x")),
                (text("nan"), vec![0xf9, 0x7e, 0x00]),
                (text("inf"), vec![0xf9, 0x7c, 0x00]),
                (text("half"), vec![0xf9, 0x38, 0x00]),
            ]),
            Map::new(),
        ),
        (
            "cbor.integer_below_i64",
            map(&[(text("k"), text("hw.x")), (text("n"), neg(u64::MAX))]),
            Map::new(),
        ),
        (
            "cbor.non_text_key",
            map(&[(text("k"), text("hw.x")), (u(1), null.clone())]),
            Map::new(),
        ),
        (
            "cbor.simple_value",
            map(&[(text("k"), text("hw.x")), (text("s"), vec![0xf0])]),
            Map::new(),
        ),
        (
            "cbor.undefined",
            map(&[(text("u"), vec![0xf7])]),
            Map::new(),
        ),
        ("invalid.not_a_map", u(1), vpd.clone()),
        ("invalid.truncated", vec![0xa1, 0x61], Map::new()),
        (
            "invalid.too_deep",
            [vec![0xa1], text("d"), vec![0x81; 40], vec![0x00]].concat(),
            Map::new(),
        ),
    ]
}

/// The reports the collector stores for [`cases`], with their classes,
/// must equal `docs/conformance.json` (regenerate with
/// `UPDATE_CONFORMANCE=1 cargo test -p ereport-gateway --test parity`, and
/// review the difference).
#[test]
fn stored_reports_match_the_conformance_file() {
    let mut got = Map::new();
    for (name, body, metadata) in cases() {
        let entry = Entry {
            ena: Ena(2),
            task_name: "thermal".into(),
            task_gen: 1,
            uptime_ms: 123_456,
            body: body.clone(),
        };
        let report = ereport_json(&entry, &metadata);
        got.insert(
            name.into(),
            json!({
                "body_hex": body.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                "metadata": metadata,
                "class": report_class(&report),
                "report": report,
            }),
        );
    }
    let got = serde_json::to_string_pretty(&Value::Object(got)).unwrap() + "\n";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/conformance.json");
    if std::env::var_os("UPDATE_CONFORMANCE").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        got == want,
        "the stored reports differ from docs/conformance.json; if the change is meant, \
         regenerate it with UPDATE_CONFORMANCE=1 and review the diff\n{got}"
    );
}

/// Loads a store with the same rows: two SPs, three restarts' worth.
fn load(db: &ereport_gateway::db::Db) -> Vec<(RestartId, u64)> {
    let mut keys = Vec::new();
    for (sp, kind, slot, rid, serial, classes) in [
        (
            "sled-03",
            "sled",
            3,
            RestartId(0x5f3c_0a4e_1d2b_4c8e_9a61_0b7d_2e4f_8c13),
            "BRM42220017",
            &["hw.temp.overtemp", "hw.pwr.pmbus.alert", "HW.TEMP.X"][..],
        ),
        (
            "switch-0",
            "switch",
            0,
            RestartId(0x0123_4567_89ab_4cde_8f01_2345_6789_abcd),
            "BRM44220001",
            &["hw.seq.fail", "hw.temp.overtemp"][..],
        ),
    ] {
        let mut md = Map::new();
        md.insert("baseboard_serial_number".into(), json!(serial));
        md.insert("baseboard_part_number".into(), json!("913-0000019"));
        db.save_restart(rid, &md).unwrap();
        let rows: Vec<StoredEreport> = classes
            .iter()
            .enumerate()
            .map(|(i, class)| {
                let ena = i as u64 + 1;
                keys.push((rid, ena));
                let mut report = md.clone();
                report.insert("k".into(), json!(class));
                report.insert("hubris_task_name".into(), json!("thermal"));
                StoredEreport {
                    restart_id: rid,
                    ena: Ena(ena),
                    task_name: "thermal".into(),
                    task_gen: 1,
                    uptime_ms: 1000 + ena,
                    body: vec![0xa0],
                    report: Value::Object(report),
                    invalid_error: None,
                    catalog_error: None,
                }
            })
            .collect();
        let row = SpRow {
            name: sp.into(),
            kind: Some(kind.into()),
            slot: Some(slot),
            rack_id: Some(ereport_gateway::db::Uuid::from_u128(0xace)),
            part_number: Some("913-0000019".into()),
            serial_number: Some(serial.into()),
            collector_id: ereport_gateway::db::Uuid::from_u128(0xc0),
        };
        db.store(&row, rid, &rows, None, Ena(rows.len() as u64))
            .unwrap();
    }
    keys
}

/// A command's standard output with what differs between two loads made
/// moments apart (times) taken out.
fn untimed(args: &[&str], db: &str) -> String {
    let out = gateway().args(args).args(["--db", db]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} on {db}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // RFC 3339 times in tables, milliseconds in JSON.
    let mut masked = String::new();
    for line in text.lines() {
        let mut l = line.to_string();
        for (i, _) in line.match_indices("20") {
            let t = &line[i..];
            if t.len() >= 24 && t.as_bytes()[4] == b'-' && t.as_bytes()[10] == b'T' {
                l = l.replace(&t[..24], "<time>");
            }
        }
        let l = match serde_json::from_str::<Value>(&l) {
            Ok(mut v) => {
                strip_times(&mut v);
                v.to_string()
            }
            Err(_) => l,
        };
        masked.push_str(&l);
        masked.push('\n');
    }
    masked
}

fn strip_times(v: &mut Value) {
    if let Value::Object(m) = v {
        for k in ["time_collected_ms", "first_seen_ms", "latest_ereport_ms"] {
            if m.contains_key(k) {
                m.insert(k.into(), json!("<time>"));
            }
        }
        for inner in m.values_mut() {
            strip_times(inner);
        }
    }
}

#[test]
#[cfg_attr(
    not(postgres_installed),
    ignore = "PostgreSQL is not installed (apt-get install postgresql)"
)]
fn query_and_info_say_the_same_on_both_databases() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("db.sqlite").to_string_lossy().into_owned();
    let pg = PgCluster::start();
    let keys = load(&ereport_gateway::store::open(Path::new(&sqlite)).unwrap());
    load(&ereport_gateway::store::open(Path::new(&pg.url)).unwrap());
    let (rid, ena) = keys[1];
    let rid = ereport_gateway::db::rid_text(rid);
    let ena = ena.to_string();
    let queries: Vec<Vec<&str>> = vec![
        vec!["query"],
        vec!["query", "--json"],
        vec!["query", "--class", "hw.temp.*"],
        vec!["query", "--class", "HW.*", "--json"],
        vec!["query", "--serial", "BRM44220001"],
        vec!["query", "--slot-type", "sled", "--slot", "3", "--json"],
        vec!["query", "--restart", &rid],
        vec!["query", "--after", "2001-01-01T00:00:00Z", "--json"],
        vec!["info", &rid, &ena],
        vec!["info", &rid, &ena, "--json"],
        vec!["summary"],
    ];
    for args in &queries {
        let a = untimed(args, &sqlite);
        let b = untimed(args, &pg.url);
        assert_eq!(a, b, "{args:?}");
        assert!(!a.trim().is_empty(), "{args:?} printed nothing");
    }
    // The table has a header row, and the class glob is case-sensitive.
    let table = untimed(&["query", "--class", "hw.temp.*"], &sqlite);
    let mut lines = table.lines();
    assert!(lines.next().unwrap().contains("RESTART ID"));
    assert_eq!(lines.count(), 2, "{table}");
    let info: Value =
        serde_json::from_str(untimed(&["info", &rid, &ena, "--json"], &pg.url).trim()).unwrap();
    assert_eq!(info["ereport"]["restart_id"], rid.as_str());
    assert_eq!(info["ereport"]["sp_type"], "sled");
    assert_eq!(
        info["restart"]["rack_id"],
        "00000000-0000-0000-0000-000000000ace"
    );
    assert_eq!(
        info["restart"]["metadata"]["baseboard_serial_number"],
        "BRM42220017"
    );
    // An ereport that is not there is an error, not silence.
    let out = gateway()
        .args(["info", &rid, "99", "--db", &pg.url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no ereport"));
}

/// A PostgreSQL database of schema version 6, with rows, is migrated to
/// the control plane's shapes with every row intact.
#[test]
#[cfg_attr(
    not(postgres_installed),
    ignore = "PostgreSQL is not installed (apt-get install postgresql)"
)]
fn a_version_6_postgres_database_is_migrated_with_its_rows() {
    let pg = PgCluster::start();
    let mut client = postgres::Client::connect(&pg.url, postgres::NoTls).unwrap();
    migrations::runner_to(Dialect::Postgres, 6)
        .unwrap()
        .run(&mut client)
        .unwrap();
    client
        .batch_execute(
            "INSERT INTO sp_restarts (restart_id, sp_name, metadata, first_seen)
                 VALUES ('0123456789abcdef0123456789abcdef', 'sled-0',
                         '{\"baseboard_serial_number\": \"S1\"}', now());
             INSERT INTO ereports (restart_id, ena, sp_name, sp_kind, sp_slot, serial_number,
                                   class, time_collected, collector_id, task_name, task_gen,
                                   uptime_ms, body, report)
                 SELECT '0123456789abcdef0123456789abcdef', e, 'sled-0', 'sled', 12, 'S1',
                        'hw.x', now(), 'collector-' || (e % 2), 't', 1, e, '\\xa0',
                        '{\"k\": \"hw.x\"}'
                 FROM generate_series(1, 2500) AS e;
             INSERT INTO sp_cursor VALUES ('sled-0', '0123456789abcdef0123456789abcdef', 2500);
             INSERT INTO gaps (restart_id, sp_name, first_ena, last_ena, seen)
                 VALUES ('0123456789abcdef0123456789abcdef', 'sled-0', 2501, 2501, now());
             INSERT INTO sp_leases VALUES ('sled-0', 'collector-1', now());",
        )
        .unwrap();
    let db = ereport_gateway::store::open(Path::new(&pg.url)).unwrap();
    let rid = RestartId(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
    assert_eq!(db.committed("sled-0").unwrap(), Some((rid, Ena(2500))));
    let rows = db
        .query(&ereport_gateway::db::Filter {
            limit: 10_000,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(rows.len(), 2500, "every row came across");
    let row = db.info(rid, Ena(17)).unwrap().unwrap();
    assert_eq!(row.reporter, "sp");
    assert_eq!(row.sp_type.as_deref(), Some("sled"));
    assert_eq!(row.sp_slot, Some(12));
    assert_eq!(row.report, json!({"k": "hw.x"}));
    assert_eq!(db.gaps().unwrap().len(), 1);
    let collectors: i64 = client
        .query_one("SELECT COUNT(DISTINCT collector_id) FROM ereport", &[])
        .unwrap()
        .get(0);
    assert_eq!(collectors, 2, "distinct collector ids stay distinct");
    // The control plane's column types.
    let types: Vec<(String, String)> = client
        .query(
            "SELECT column_name::TEXT, udt_name::TEXT FROM information_schema.columns
             WHERE table_name = 'ereport' ORDER BY ordinal_position",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (column, ty) in [
        ("restart_id", "uuid"),
        ("ena", "int8"),
        ("time_deleted", "timestamptz"),
        ("time_collected", "timestamptz"),
        ("collector_id", "uuid"),
        ("serial_number", "text"),
        ("part_number", "text"),
        ("class", "text"),
        ("report", "jsonb"),
        ("reporter", "ereporter_type"),
        ("sp_type", "sp_type"),
        ("sp_slot", "int4"),
        ("sled_id", "uuid"),
        ("marked_seen_in", "uuid"),
    ] {
        assert!(
            types.contains(&(column.to_string(), ty.to_string())),
            "{column} {ty} in {types:?}"
        );
    }
    let indexes: Vec<String> = client
        .query(
            "SELECT indexname::TEXT FROM pg_indexes WHERE tablename = 'ereport'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for index in [
        "lookup_ereports_by_sp_slot",
        "lookup_ereports_by_sled",
        "lookup_ereports_by_serial",
        "lookup_ereports_by_class",
        "lookup_unmarked_ereports",
        "lookup_deleted_ereports",
        "order_ereports_by_timestamp",
    ] {
        assert!(indexes.iter().any(|i| i == index), "{index} in {indexes:?}");
    }
}

/// Constructs CockroachDB does not have (or this project keeps out), with
/// why: whole words or phrases, matched with whitespace collapsed.
/// Checked against every statement the PostgreSQL store issues and every
/// migration.
const NOT_FOR_COCKROACHDB: &[(&str, &str)] = &[
    ("pg_advisory", "advisory locks"),
    ("create function", "stored functions"),
    ("create or replace function", "stored functions"),
    ("create procedure", "stored procedures"),
    ("language plpgsql", "stored procedures"),
    ("do $$", "anonymous code blocks"),
    (
        "serial",
        "SERIAL columns (CockroachDB's differ: unique_rowid)",
    ),
    ("nextval(", "sequences"),
    ("create sequence", "sequences"),
    ("create trigger", "triggers"),
    ("listen", "LISTEN/NOTIFY"),
    ("notify", "LISTEN/NOTIFY"),
    ("ctid", "physical row ids"),
    ("xmin", "system columns"),
    ("inherits", "table inheritance"),
    ("create rule", "rules"),
    ("exclude using", "exclusion constraints"),
    (
        "alter column",
        "column type changes (restricted in CockroachDB)",
    ),
    ("lock table", "explicit table locks"),
    ("tablesample", "sampling"),
];

#[test]
#[cfg_attr(
    not(postgres_installed),
    ignore = "PostgreSQL is not installed (apt-get install postgresql)"
)]
fn every_statement_plans_and_stays_within_what_cockroachdb_accepts() {
    let pg = PgCluster::start();
    drop(ereport_gateway::store::open(Path::new(&pg.url)).unwrap());
    let mut client = postgres::Client::connect(&pg.url, postgres::NoTls).unwrap();
    let statements = ereport_gateway::store::postgres::statements();
    assert!(statements.len() > 20, "{} statements", statements.len());
    for (i, (name, sql)) in statements.iter().enumerate() {
        if sql.trim_start().starts_with("SET ") {
            client.batch_execute(sql).unwrap();
            continue;
        }
        // Planned without running it: prepared, then EXPLAINed with every
        // parameter null.
        let params = client
            .prepare(sql)
            .unwrap_or_else(|e| panic!("{name}: {e:?}\n{sql}"))
            .params()
            .len();
        client
            .batch_execute(&format!("PREPARE s{i} AS {sql}"))
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let nulls = vec!["NULL"; params].join(", ");
        let args = if params == 0 {
            String::new()
        } else {
            format!("({nulls})")
        };
        let plan = client
            .query(&format!("EXPLAIN EXECUTE s{i}{args}"), &[])
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert!(!plan.is_empty(), "{name}");
    }
    let migrations = migrations::steps(Dialect::Postgres);
    for (name, sql) in statements
        .iter()
        .map(|(n, s)| (*n, s.clone()))
        .chain(migrations)
    {
        let lower = sql
            .to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for (construct, why) in NOT_FOR_COCKROACHDB {
            assert!(
                !contains_words(&lower, construct),
                "{name} uses {construct:?} ({why}), which CockroachDB lacks:\n{sql}"
            );
        }
    }
}

/// Whether `needle` occurs in `hay` as whole words (`serial` is not in
/// `serial_number`).
fn contains_words(hay: &str, needle: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    hay.match_indices(needle).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + needle.len()..].chars().next();
        let joined_before = before.is_some_and(word);
        let joined_after = needle.ends_with(word) && after.is_some_and(word);
        !(joined_before || joined_after)
    })
}

#[test]
fn the_construct_check_matches_words_only() {
    assert!(contains_words("id serial primary key", "serial"));
    assert!(!contains_words("serial_number text", "serial"));
    assert!(contains_words("select nextval('s')", "nextval("));
    assert!(!contains_words("where x_ctid = 1", "ctid"));
}

/// The conflict check folded into the store (issue 22), on both
/// databases: rows stored with the same body are left alone, a row stored
/// with another body stores nothing of the response and moves no cursor.
#[test]
#[cfg_attr(
    not(postgres_installed),
    ignore = "PostgreSQL is not installed (apt-get install postgresql)"
)]
fn a_checked_store_refuses_a_conflict_whole_on_both_databases() {
    use ereport_gateway::db::Checked;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("db.sqlite").to_string_lossy().into_owned();
    let pg = PgCluster::start();
    for target in [sqlite.as_str(), pg.url.as_str()] {
        let db = ereport_gateway::store::open(Path::new(target)).unwrap();
        let rid = RestartId(0xfeed);
        db.save_restart(rid, &Map::new()).unwrap();
        let row = |ena: u64, body: &[u8]| StoredEreport {
            restart_id: rid,
            ena: Ena(ena),
            task_name: "thermal".into(),
            task_gen: 0,
            uptime_ms: ena,
            body: body.to_vec(),
            report: json!({"k": "hw.x"}),
            invalid_error: None,
            catalog_error: None,
        };
        let sp = SpRow {
            name: "sled-0".into(),
            ..SpRow::default()
        };
        let first = [row(1, b"\xa0"), row(2, b"\xa0")];
        assert_eq!(
            db.store_checked(&sp, rid, &first, Ena(2)).unwrap(),
            Checked::Stored(vec![true, true]),
            "{target}"
        );
        // 2 again with its body, 3 new: only 3 is new.
        let again = [row(2, b"\xa0"), row(3, b"\xa0")];
        assert_eq!(
            db.store_checked(&sp, rid, &again, Ena(3)).unwrap(),
            Checked::Stored(vec![false, true]),
            "{target}"
        );
        // 3 with another body: nothing of 3 to 5 is stored.
        let forged = [row(3, b"\xa1\x61x\x01"), row(4, b"\xa0"), row(5, b"\xa0")];
        assert_eq!(
            db.store_checked(&sp, rid, &forged, Ena(5)).unwrap(),
            Checked::Conflict(Ena(3)),
            "{target}"
        );
        assert!(db.info(rid, Ena(4)).unwrap().is_none(), "{target}");
        assert_eq!(db.committed("sled-0").unwrap(), Some((rid, Ena(3))));
    }
}
