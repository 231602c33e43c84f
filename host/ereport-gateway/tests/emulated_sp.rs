//! The emulated SP (`examples/cortex-m/run-sp.sh`: the firmware crates as
//! one Cortex-M7 image under QEMU, on a LAN9118 and smoltcp) collected by
//! the gateway exactly as a person runs both: `--once` into SQLite for the
//! first boot and into PostgreSQL after a reset, then a RAM dump read with
//! `ereport-dump`'s library (its program is run on an emulated image by
//! `ereport-dump`'s own `qemu_dump` test).
//!
//! Needs `qemu-system-arm` and the `thumbv7em-none-eabihf` target (and
//! PostgreSQL), so it is `#[ignore]`d in the plain test run; `.ci/run` runs
//! it. Every wait is bounded and fails with what the SP printed; nothing
//! asserts on how long something took.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bench_support::qemu::{Emulator, Monitor};
use ereport_dump::{Image, elf, find_store, read_store};
use ereport_gateway::store::{Filter, StoredRow};
use ereport_sdk::RestartId;

/// The board's RAM (examples/cortex-m/memory.x).
const RAM_BASE: u64 = 0x2000_0000;
const RAM_LEN: u64 = 0x40_0000;
/// The identity the emulated SP reports (sp-workload's default).
const SERIAL: &str = "SIM00000001";
const PART: &str = "913-0000019";
/// How long the SP may take to build and boot, and a wait for any line.
const BOOT_WAIT: Duration = Duration::from_secs(600);
const LINE_WAIT: Duration = Duration::from_secs(120);

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `ereport-gateway --sp emulated=127.0.0.1:PORT --db DB --once` with the
/// workspace's class catalog; the run must succeed.
fn collect_once(port: u16, db: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_ereport-gateway"))
        .args(["--sp", &format!("emulated=127.0.0.1:{port}")])
        .args(["--db", db, "--once", "--catalog"])
        .arg(workspace().join("docs/catalog.json"))
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ereport-gateway --once into {db}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn rows(db: &str) -> Vec<StoredRow> {
    let store = ereport_gateway::store::open_read_only(Path::new(db)).unwrap();
    let mut rows = store
        .query(&Filter {
            limit: u64::MAX >> 1,
            ..Filter::default()
        })
        .unwrap();
    rows.sort_by_key(|r| (r.restart_id.0, r.ena));
    rows
}

/// Checks what every collection must hold: ENAs contiguous from 1 for
/// each restart, every body a valid ereport of a class in the catalog.
fn check_rows(rows: &[StoredRow]) -> BTreeMap<u128, u64> {
    let mut last: BTreeMap<u128, u64> = BTreeMap::new();
    for r in rows {
        let prev = last.insert(r.restart_id.0, r.ena).unwrap_or(0);
        assert_eq!(
            r.ena,
            prev + 1,
            "ENAs contiguous from 1 in restart {:?}",
            r.restart_id
        );
        assert_eq!(r.invalid_error, None, "ENA {}: {:?}", r.ena, r.report);
        assert_eq!(r.catalog_error, None, "ENA {}: {:?}", r.ena, r.report);
        assert_eq!(r.sp_name.as_deref(), Some("emulated"));
    }
    last
}

/// A loss record saying some ereports were lost (ENA 1's says "unknown").
fn is_loss(r: &StoredRow) -> bool {
    r.report
        .get("lost")
        .and_then(serde_json::Value::as_u64)
        .is_some_and(|n| n > 0)
}

/// A task-fault ereport (`hubris.fault` when the fault itself was no
/// longer known, `hubris.fault.*` otherwise).
fn is_fault(r: &StoredRow) -> bool {
    r.class
        .as_deref()
        .is_some_and(|c| c == "hubris.fault" || c.starts_with("hubris.fault."))
}

fn restart_of(line: &str) -> RestartId {
    let text = line
        .split("restart id ")
        .nth(1)
        .and_then(|t| t.split(',').next())
        .unwrap_or_else(|| panic!("no restart id in {line:?}"));
    RestartId(
        u128::from_str_radix(&text.replace('-', ""), 16)
            .unwrap_or_else(|e| panic!("restart id {text:?}: {e}")),
    )
}

#[test]
#[ignore = "needs qemu-system-arm and the thumbv7em target; .ci/run runs it"]
fn the_emulated_sp_is_collected_reset_and_dumped() {
    let elf_path = bench_support::cortex_m::build("emulated-sp");
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("sp.sqlite");
    let sqlite = sqlite.to_str().unwrap();
    let monitor_path = dir.path().join("monitor.sock");
    let port = free_udp_port();

    // Faults every second, the identity after 8 s, producers for 12 s of
    // each boot; the store (4 KiB) overflows within a second at 200/s.
    let mut sp = Emulator::new(
        Command::new(workspace().join("examples/cortex-m/run-sp.sh"))
            .args(["--port", &port.to_string(), "--seed", "21", "--rate", "200"])
            .args([
                "--fault-every",
                "1s",
                "--vpd-delay",
                "8s",
                "--produce-for",
                "12s",
            ])
            .arg("--monitor")
            .arg(&monitor_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run-sp.sh runs"),
    );
    let boot0 = restart_of(&sp.wait_for("emulated-sp: boot 0, restart id", BOOT_WAIT));
    sp.wait_for("listening on udp", LINE_WAIT);
    let listening = Instant::now();
    let mut monitor = Monitor::connect(&monitor_path, LINE_WAIT);

    // Boot 0 into SQLite. The first collection comes before the identity
    // is known (8 s of the SP's clock): its rows carry no serial number,
    // unless this machine was too slow to tell (then that check is left
    // out, and says so).
    collect_once(port, sqlite);
    let early = rows(sqlite);
    assert!(!early.is_empty(), "the first collection stored nothing");
    if listening.elapsed() < Duration::from_secs(4) && !sp.seen("identity set") {
        for r in &early {
            assert_eq!(r.serial_number, None, "ENA {} before the identity", r.ena);
        }
    } else {
        eprintln!("the first collection ended too late to check rows before the identity");
    }
    // Collect until 500 ereports are stored (bounded), then once more
    // after the identity is set.
    let deadline = Instant::now() + LINE_WAIT;
    while rows(sqlite).len() < 500 {
        assert!(
            Instant::now() < deadline,
            "fewer than 500 ereports within {LINE_WAIT:?}; the SP printed:\n{}",
            sp.log.join("\n")
        );
        collect_once(port, sqlite);
    }
    sp.wait_for("identity set", LINE_WAIT);
    let before = rows(sqlite).len();
    collect_once(port, sqlite);
    let all = rows(sqlite);
    assert!(
        all.len() > before,
        "the collection after the identity stored nothing"
    );
    for r in &all[before..] {
        assert_eq!(r.serial_number.as_deref(), Some(SERIAL), "ENA {}", r.ena);
        assert_eq!(r.part_number.as_deref(), Some(PART), "ENA {}", r.ena);
    }
    let last = check_rows(&all);
    assert_eq!(last.keys().copied().collect::<Vec<_>>(), vec![boot0.0]);
    assert!(all.len() >= 500);
    assert!(
        all.iter().any(is_loss),
        "no loss record, though the store overflowed"
    );
    assert!(all.iter().any(is_fault), "no task-fault ereport");
    assert!(
        all.iter()
            .any(|r| r.class.as_deref() == Some("ereport.suppressed")),
        "no suppression record from the rate-limited class"
    );

    // A reset: a new restart id, ENAs from 1 again, into PostgreSQL.
    if pg_cluster::installed().is_err() {
        assert!(
            std::env::var_os("EREPORT_REQUIRE_POSTGRES").is_none(),
            "PostgreSQL is required here and not installed"
        );
        eprintln!("PostgreSQL is not installed: the reset and dump are checked into SQLite");
    }
    let pg = pg_cluster::installed()
        .ok()
        .map(|_| pg_cluster::TempCluster::start());
    let db1 = match &pg {
        Some(pg) => pg.url.clone(),
        None => dir.path().join("boot1.sqlite").to_str().unwrap().to_owned(),
    };
    monitor.command("system_reset", LINE_WAIT);
    let boot1 = restart_of(&sp.wait_for("emulated-sp: boot 1, restart id", LINE_WAIT));
    assert_ne!(boot1, boot0, "a reset must bring a new restart id");
    sp.wait_for("listening on udp", LINE_WAIT);
    // Part of boot 1's ereports collected (and so committed) ...
    collect_once(port, &db1);
    let committed = rows(&db1);
    let committed_last = check_rows(&committed)[&boot1.0];
    // ... then, once the SP is quiet, its RAM.
    sp.wait_for("producers and faults stopped", LINE_WAIT);
    let image = Image {
        base: RAM_BASE,
        bytes: monitor.pmemsave(RAM_BASE, RAM_LEN, &dir.path().join("ram.bin")),
    };
    let elf_bytes = std::fs::read(&elf_path).unwrap();
    let symbol = elf::find(&elf_bytes, "PACKRAT").unwrap();
    assert_eq!(symbol.len(), 1, "one PACKRAT symbol");
    let addr = find_store(&image, symbol[0].addr, symbol[0].size).unwrap();
    let held = read_store(&image, addr, false).unwrap();
    assert_eq!(held.damage, None);
    assert_eq!(held.header.restart_id, boot1);
    assert!(
        !held.records.is_empty(),
        "the store held nothing after production"
    );
    let first_held = held.records[0].ena.unwrap().0;
    assert_eq!(
        first_held,
        committed_last + 1,
        "the store holds exactly what the gateway has not committed"
    );

    // The next collection stores exactly what the dump showed held, byte
    // for byte.
    collect_once(port, &db1);
    let after = rows(&db1);
    check_rows(&after);
    let bodies = stored_bodies(&db1, boot1);
    let last_held = held.records.last().unwrap().ena.unwrap().0;
    for r in &held.records {
        let ena = r.ena.unwrap().0;
        assert_eq!(
            bodies.get(&ena),
            Some(&r.body),
            "ENA {ena}: the dump and the database"
        );
    }
    // What came after: the loss the dump's header had pending, written as
    // soon as a commit made room, and fault ereports that waited.
    let pending = held.header.pending_losses.map(u64::from);
    for r in after.iter().filter(|r| r.ena > last_held) {
        let fault = is_fault(r);
        let pending_loss = r.report.get("lost").and_then(serde_json::Value::as_u64) == pending
            && pending.is_some();
        assert!(
            fault || pending_loss,
            "ENA {} was not in the dump and is neither its pending loss ({pending:?}) nor a \
             deferred fault ereport: {:?}",
            r.ena,
            r.report
        );
    }
}

/// Bodies stored for `rid`, by ENA, read from either database.
fn stored_bodies(db: &str, rid: RestartId) -> BTreeMap<u64, Vec<u8>> {
    let uuid = ereport_host::output::restart_uuid(rid);
    if db.contains('=') {
        let mut client = postgres::Client::connect(db, postgres::NoTls).unwrap();
        client
            .query(
                "SELECT ena, body FROM ereport WHERE restart_id::text = $1",
                &[&uuid],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get::<_, i64>(0) as u64, r.get::<_, Vec<u8>>(1)))
            .collect()
    } else {
        let conn = rusqlite::Connection::open(db).unwrap();
        let mut stmt = conn
            .prepare("SELECT ena, body FROM ereport WHERE restart_id = ?1")
            .unwrap();
        stmt.query_map([&uuid], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Vec<u8>>(1)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }
}
