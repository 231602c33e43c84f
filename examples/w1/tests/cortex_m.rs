//! W1 on an emulated Cortex-M7 (QEMU `mps2-an500`) gives byte-for-byte the
//! responses the same code gives on the host.
//!
//! Needs `qemu-system-arm` and the `thumbv7em-none-eabihf` target, so it is
//! `#[ignore]`d in the plain test run; `.ci/run` installs both and runs it
//! with `--ignored`, where a missing emulator fails the run.

use bench_support::cortex_m as host_build;

use std::fmt::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ereport_w1 as w1;

fn host_output() -> String {
    let mut store = w1::new_store();
    let mut lease = [0u8; w1::LEASE_BYTES];
    let mut out = String::new();
    let mut k = 0;
    let c = w1::run_cycle(&mut store, &mut lease, |r| {
        k += 1;
        let hex: String = r.iter().map(|b| format!("{b:02x}")).collect();
        writeln!(out, "response {k} {hex}").unwrap();
    })
    .unwrap();
    writeln!(out, "cycle {} {} {}", c.first, c.responses, c.records).unwrap();
    out
}

fn run_qemu(elf: &PathBuf) -> String {
    let mut child = Command::new("qemu-system-arm")
        .args(["-cpu", "cortex-m7", "-machine", "mps2-an500", "-nographic"])
        .args(["-semihosting-config", "enable=on,target=native", "-kernel"])
        .arg(elf)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("qemu-system-arm is installed (apt-get install qemu-system-arm)");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(
                status.success(),
                "the target program failed:\n{text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            return text;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("qemu did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[ignore = "needs qemu-system-arm and the thumbv7em target; .ci/run runs it"]
fn w1_on_an_emulated_cortex_m7_matches_the_host() {
    let elf = host_build::build("w1-qemu");
    let target = run_qemu(&elf);
    let lines: Vec<&str> = target.lines().collect();
    assert_eq!(lines[0], "usize_bytes 4", "a 32-bit target");
    // The 4096-byte ring and its bookkeeping (the 72-byte header, counters,
    // the task share and its refusal counts), and nothing like a receive
    // buffer.
    let store: usize = lines[1]
        .strip_prefix("store_bytes ")
        .unwrap()
        .parse()
        .unwrap();
    assert!((4096..=4096 + 256).contains(&store), "{store}");
    assert!(lines[2].starts_with("identity_bytes "));
    let lines = &lines[2..];
    // {"k": "test.width", "v": 0, "count": usize, "delta": isize, "seq":
    // u64} with 5-byte words.
    let max32 = 1 + 2 + 11 + 2 + 1 + (6 + 5) + (6 + 5) + (4 + 9);
    assert_eq!(lines[1], format!("width_probe.max_len {max32}"));
    assert_eq!(
        lines[2],
        format!("width_probe.maximal_len {max32}"),
        "the bound is reached, not exceeded"
    );
    let from_target: String = lines[3..].iter().map(|l| format!("{l}\n")).collect();
    let host = host_output();
    assert_eq!(
        from_target, host,
        "the target's responses differ from the host's"
    );
    assert!(host.ends_with("cycle 15 3 41\n"));
}
