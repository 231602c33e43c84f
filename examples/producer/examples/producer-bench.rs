//! `producer-bench`: the producer figures of BENCHMARKS.md, as `name: value`
//! lines: for each of the three classes, the bytes its value encodes to,
//! its static maximum, and (with `--instructions`) instructions per encode,
//! counted by running this program under `valgrind --tool=callgrind` with
//! `--toggle-collect` on the class's `#[inline(never)]` entry point. Build
//! it with the firmware profile (`--profile firmware`).

use bench_support::callgrind;

use std::process::ExitCode;

use clap::Parser;
use ereport_producer::{
    ALERT, Alert, NESTED, Nested, SMALL, Small, encode_nested, encode_pmbus_alert, encode_small,
};
use ereport_sdk::Ereport;
use ereport_sdk::decode::decode_value;

/// Encodes per callgrind pass: the count is divided out.
const ROUNDS: u64 = 1000;

type EntryPoint = fn(&mut [u8]) -> usize;

/// (name, entry point, its function's symbol, bytes of the largest value).
const CLASSES: [(&str, EntryPoint, &str, usize); 3] = [
    ("small", encode_small, "encode_small", Small::MAX_LEN),
    ("nested", encode_nested, "encode_nested", Nested::MAX_LEN),
    (
        "pmbus_alert",
        encode_pmbus_alert,
        "encode_pmbus_alert",
        Alert::MAX_LEN,
    ),
];

/// Upstream Hubris's derive on the same classes and values, QUOTED, not
/// measured by this program: upstream's derive is not in this repository
/// and cannot be built here, so these are the figures issue 20 reports from
/// running both derives side by side (x86_64 callgrind, firmware profile,
/// upstream commit 4c371f0). They are printed under `*_quoted` names.
const UPSTREAM_INSTRUCTIONS_QUOTED: [u64; 3] = [1_310, 1_548, 3_323];

/// Where the quoted figures come from, printed beside them.
const UPSTREAM_SOURCE: &str = "quoted from issue 20 (upstream derive at 4c371f0 run side by side, x86_64 callgrind, firmware profile); not measured by this program";

fn counts() -> Result<(), String> {
    let _ = (SMALL, NESTED, ALERT);
    for (name, f, _, max) in CLASSES {
        let mut buf = [0u8; 1024];
        let n = f(&mut buf);
        if n == 0 {
            return Err(format!("{name}: encoding failed"));
        }
        // The bytes are a valid CBOR item (and the benchmark measures real
        // encodings, not a failing path).
        decode_value(&buf[..n]).map_err(|e| format!("{name}: {e}"))?;
        println!("producer.{name}.bytes: {n}");
        println!("producer.{name}.max_len: {max}");
    }
    Ok(())
}

fn instructions() -> Result<(), String> {
    println!("# upstream figures: {UPSTREAM_SOURCE}");
    for ((name, _, symbol, _), upstream) in CLASSES.iter().zip(UPSTREAM_INSTRUCTIONS_QUOTED) {
        let per_encode = callgrind::instructions_in(symbol)? / ROUNDS;
        println!("producer.{name}.instructions: {per_encode}");
        println!("producer.{name}.instructions_upstream_quoted: {upstream}");
        println!(
            "producer.{name}.instructions_vs_upstream_quoted: {:.2}",
            per_encode as f64 / upstream as f64
        );
    }
    Ok(())
}

/// Each entry point, `ROUNDS` times: what callgrind runs.
fn run_once() {
    let mut buf = [0u8; 1024];
    for (_, f, _, _) in CLASSES {
        for _ in 0..ROUNDS {
            std::hint::black_box(f(&mut buf));
        }
    }
}

/// Prints the producer figures (bytes, static maximum, and instructions
/// per encode) for the benchmark's three classes.
#[derive(Parser, Debug)]
#[command(version, about, long_about)]
struct Args {
    /// Also count instructions per encode with valgrind's callgrind (build
    /// with `--profile firmware` so they describe shipped code).
    #[arg(long)]
    instructions: bool,
    /// Run each entry point and exit (what callgrind runs).
    #[arg(long, hide = true)]
    run_once: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.run_once {
        run_once();
        return ExitCode::SUCCESS;
    }
    let result = counts().and_then(|()| {
        if args.instructions {
            instructions()
        } else {
            Ok(())
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("producer-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
