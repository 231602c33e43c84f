//! Post-mortem on the emulated SP: the Cortex-M program `w1-dump` runs W1
//! and commits its first response; QEMU saves the RAM; `ereport-dump` on the
//! ELF and that image reads exactly the records still held, and with
//! `--recover` the committed ones too, byte for byte what the host read
//! through the protocol.
//!
//! Needs `qemu-system-arm` and the `thumbv7em-none-eabihf` target, so it is
//! `#[ignore]`d in the plain test run; `.ci/run` runs it.

mod common;

use bench_support::cortex_m as host_build;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use bench_support::qemu::{Emulator, Monitor};

use common::w1_partly_committed;
use ereport_dump::{Image, elf, find_store, read_store};
use ereport_sdk::Ena;

/// The emulated board's RAM (examples/cortex-m/memory.x).
const RAM_BASE: u64 = 0x2000_0000;
const RAM_LEN: u64 = 0x40_0000;

/// Runs `elf` until it prints `dump-ready`, then saves the RAM to a file in
/// `dir` through QEMU's monitor.
fn run_and_dump(elf: &Path, dir: &Path) -> PathBuf {
    let socket = dir.join("monitor.sock");
    let image = dir.join("ram.bin");
    let mut qemu = Emulator::new(
        Command::new("qemu-system-arm")
            .args(["-cpu", "cortex-m7", "-machine", "mps2-an500", "-nographic"])
            .args(["-semihosting-config", "enable=on,target=native"])
            .arg("-monitor")
            .arg(format!("unix:{},server=on,wait=off", socket.display()))
            .arg("-kernel")
            .arg(elf)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("qemu-system-arm is installed (apt-get install qemu-system-arm)"),
    );
    qemu.wait_for("dump-ready", Duration::from_secs(60));
    assert!(!qemu.seen("failed"), "w1-dump: {}", qemu.log.join("\n"));
    let mut monitor = Monitor::connect(&socket, Duration::from_secs(30));
    monitor.pmemsave(RAM_BASE, RAM_LEN, &image);
    image
}

#[test]
#[ignore = "needs qemu-system-arm and the thumbv7em target; .ci/run runs it"]
fn the_emulated_sps_ram_holds_what_the_protocol_read() {
    let elf_path = host_build::build("w1-dump");
    let dir = tempfile::tempdir().unwrap();
    let image_path = run_and_dump(&elf_path, dir.path());
    let image = Image {
        base: RAM_BASE,
        bytes: std::fs::read(&image_path).unwrap(),
    };
    let elf_bytes = std::fs::read(&elf_path).unwrap();
    let symbols = elf::find(&elf_bytes, "EREPORT_STORE").unwrap();
    assert_eq!(symbols.len(), 1);
    let addr = find_store(&image, symbols[0].addr, symbols[0].size).unwrap();
    let (_, bodies) = w1_partly_committed();

    let held = read_store(&image, addr, false).unwrap();
    assert_eq!(held.damage, None);
    let got: Vec<(Ena, &Vec<u8>)> = held
        .records
        .iter()
        .map(|r| (r.ena.unwrap(), &r.body))
        .collect();
    let want: Vec<(Ena, &Vec<u8>)> = bodies.range(16..).map(|(e, b)| (Ena(*e), b)).collect();
    assert_eq!(got, want, "held records, byte for byte");

    let all = read_store(&image, addr, true).unwrap();
    let recovered: Vec<(Option<Ena>, &Vec<u8>)> = all
        .records
        .iter()
        .filter(|r| r.recovered)
        .map(|r| (r.ena, &r.body))
        .collect();
    let want: Vec<(Option<Ena>, &Vec<u8>)> = bodies
        .range(..16)
        .map(|(e, b)| (Some(Ena(*e)), b))
        .collect();
    assert_eq!(
        recovered, want,
        "committed records, recovered byte for byte"
    );

    // The program, as a person runs it.
    let out = Command::new(env!("CARGO_BIN_EXE_ereport-dump"))
        .arg("--elf")
        .arg(&elf_path)
        .arg("--image")
        .arg(&image_path)
        .args([
            "--base",
            "0x20000000",
            "--symbol",
            "EREPORT_STORE",
            "--recover",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 41);
}
