//! The dump reader on images of real stores: held records, recovered ones,
//! every kind of damage, and the command line.

use std::collections::BTreeMap;
use std::process::Command;

mod common;

use common::w1_partly_committed;
use ereport_dump::{Image, find_store, read_store};
use ereport_sdk::Ena;
use ereport_w1::{self as w1, W1Store};
use packrat_ereport::layout::RING_HEADER_LEN;
use proptest::prelude::*;

const BASE: u64 = 0x2000_0000;
/// Where the store's header sits in the image (after a word of something
/// else, as inside a `RefCell`).
const STORE_AT: u64 = BASE + 8;

fn image_of(s: &W1Store) -> Image {
    let mut bytes = vec![0xee; 8];
    bytes.extend_from_slice(&s.ring_header().to_bytes());
    bytes.extend_from_slice(s.ring_bytes());
    bytes.extend_from_slice(&[0xee; 24]);
    Image { base: BASE, bytes }
}

#[test]
fn held_records_are_exactly_what_the_store_holds() {
    let (s, bodies) = w1_partly_committed();
    let image = image_of(&s);
    assert_eq!(find_store(&image, BASE, 64), Ok(STORE_AT));
    let d = read_store(&image, STORE_AT, false).unwrap();
    assert_eq!(d.damage, None);
    assert_eq!((d.header.earliest, d.header.next), (Ena(16), Ena(42)));
    assert_eq!(d.header.restart_id, w1::RESTART_ID);
    let got: Vec<(u64, &Vec<u8>)> = d
        .records
        .iter()
        .map(|r| (r.ena.unwrap().0, &r.body))
        .collect();
    let want: Vec<(u64, &Vec<u8>)> = bodies.range(16..).map(|(e, b)| (*e, b)).collect();
    assert_eq!(got, want);
    assert!(d.records.iter().all(|r| !r.recovered));
    assert_eq!(d.records[0].uptime_ms, w1::uptime(14));
}

#[test]
fn recover_finds_the_committed_records_with_their_enas() {
    let (s, bodies) = w1_partly_committed();
    let d = read_store(&image_of(&s), STORE_AT, true).unwrap();
    let recovered: Vec<(Option<Ena>, &Vec<u8>)> = d
        .records
        .iter()
        .filter(|r| r.recovered)
        .map(|r| (r.ena, &r.body))
        .collect();
    let want: Vec<(Option<Ena>, &Vec<u8>)> = bodies
        .range(1..16)
        .map(|(e, b)| (Some(Ena(*e)), b))
        .collect();
    assert_eq!(recovered, want);
}

#[test]
fn a_store_never_used_or_not_there_is_a_clear_error() {
    let s = W1Store::new();
    let e = read_store(&image_of(&s), STORE_AT, false).unwrap_err();
    assert!(e.to_string().contains("no ereport store"), "{e}");
    let e = find_store(&image_of(&s), BASE - 4, 64).unwrap_err();
    assert!(e.to_string().contains("outside the image"), "{e}");
}

/// Checks a read of a damaged image: it may fail, or stop early (marked
/// partial); a complete read invents nothing: every held record is one of
/// the originals, except one whose bytes hold the damaged offset.
fn check_no_invention(
    image: &Image,
    bodies: &BTreeMap<u64, Vec<u8>>,
    damaged_ring_offset: Option<usize>,
) {
    let Ok(d) = read_store(image, STORE_AT, true) else {
        return;
    };
    if d.damage.is_some() {
        return;
    }
    for r in d.records.iter().filter(|r| !r.recovered) {
        let ena = r.ena.unwrap().0;
        let original = bodies.get(&ena);
        let hit = damaged_ring_offset.is_some_and(|o| {
            let len = 13 + r.body.len();
            (o + d.header.capacity - r.offset) % d.header.capacity < len
        });
        if !hit && d.header.earliest == Ena(16) {
            assert_eq!(original, Some(&r.body), "ENA {ena}");
        }
    }
    for r in d.records.iter().filter(|r| r.recovered) {
        if let Some(e) = r.ena {
            assert!(e < d.header.earliest);
        }
    }
}

#[test]
fn damage_at_every_header_offset_gives_an_error_or_a_marked_result() {
    let (s, bodies) = w1_partly_committed();
    let clean = image_of(&s);
    for at in 0..RING_HEADER_LEN {
        for v in [0x00, 0xff, 0x01, 0x80] {
            let mut image = clean.clone();
            let b = &mut image.bytes[8 + at];
            if *b == v {
                continue;
            }
            *b = v;
            check_no_invention(&image, &bodies, None);
            let held = read_store(&image, STORE_AT, false);
            if let Ok(d) = held
                && d.damage.is_none()
                && d.header.earliest == Ena(16)
                && d.header.next == Ena(42)
            {
                assert_eq!(d.records.len(), 26, "offset {at} = {v:#x}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn damage_in_the_ring_invents_nothing(at in 0usize..4096, v in any::<u8>()) {
        let (s, bodies) = w1_partly_committed();
        let mut image = image_of(&s);
        image.bytes[8 + RING_HEADER_LEN + at] = v;
        check_no_invention(&image, &bodies, Some(at));
    }

    #[test]
    fn any_bytes_after_a_valid_magic_are_read_without_panic(junk in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut bytes = b"EREPORT1".to_vec();
        bytes.extend_from_slice(&junk);
        let image = Image { base: BASE, bytes };
        let _ = read_store(&image, BASE, true);
    }
}

fn dump_cmd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ereport-dump"))
}

#[test]
fn the_command_prints_as_the_gateway_does() {
    let (s, _) = w1_partly_committed();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ram.bin");
    std::fs::write(&path, &image_of(&s).bytes).unwrap();
    let tasks = w1::W1_TASK_NAMES.join(",");
    let out = dump_cmd()
        .args([
            "--base",
            "0x20000000",
            "--store",
            "0x20000000",
            "--recover",
            "--json",
            "--tasks",
            &tasks,
        ])
        .arg("--image")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 41);
    assert_eq!(lines[0]["ena"], 16);
    assert_eq!(lines[0]["recovered"], false);
    assert_eq!(lines[0]["report"]["hubris_task_name"], "sequencer");
    assert_eq!(lines[26]["ena"], 1);
    assert_eq!(lines[26]["recovered"], true);
    assert_eq!(lines[26]["report"]["hubris_task_name"], "packrat");
    assert_eq!(lines[27]["report"]["k"], "hw.temp.overtemp");
    assert_eq!(lines[27]["class"], "hw.temp.overtemp");
    let table = dump_cmd()
        .args(["--base", "0x20000000", "--store", "0x20000000"])
        .arg("--image")
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert_eq!(text.lines().count(), 26);
    assert!(
        text.lines().next().unwrap().contains("ENA      16  task3"),
        "{text}"
    );
}

#[test]
fn damaged_and_missing_stores_from_the_command() {
    let (s, _) = w1_partly_committed();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ram.bin");
    let mut image = image_of(&s);
    // The oldest record's length: past what is in use.
    let head = u32::from_le_bytes(image.bytes[8 + 16..8 + 20].try_into().unwrap()) as usize;
    image.bytes[8 + RING_HEADER_LEN + head + 1] = 0x03;
    std::fs::write(&path, &image.bytes).unwrap();
    let out = dump_cmd()
        .args(["--base", "0x20000000", "--store", "0x20000000", "--json"])
        .arg("--image")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "partial");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().last().unwrap().contains("\"partial\""),
        "{text}"
    );
    std::fs::write(&path, vec![0u8; 256]).unwrap();
    let out = dump_cmd()
        .args(["--base", "0x20000000", "--store", "0x20000000"])
        .arg("--image")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no ereport store"));
}
