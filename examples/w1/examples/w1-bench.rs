//! `w1-bench`: the figures of `docs/w1.md`, printed as `name: value`.
//!
//! Counts (lease calls, bytes, records) come from counting fake leases over
//! the real packrat code. With `--instructions`, the program also runs
//! itself under `valgrind --tool=callgrind`, once per entry point, with
//! `--toggle-collect` on the `#[inline(never)]` functions below, and prints
//! instructions per report and per record. Build it with the firmware
//! profile (`--profile firmware`) so the figures describe shipped code.

use bench_support::callgrind;

use std::hint::black_box;

use clap::Parser;
use std::process::ExitCode;

use ereport_sdk::decode::decode_packet;
use ereport_sdk::{Ena, ReadRequest, TaskId};
use ereport_w1::{self as w1, W1Store};
use lease_writer::WriteLease;
use lease_writer::testing::FakeLease;

/// The 40 W1 reports: (sender, uptime, body).
fn reports() -> Vec<(TaskId, u64, Vec<u8>)> {
    let mut buf = [0u8; w1::MAX_REPORT_LEN];
    (0..w1::REPORTS)
        .map(|i| {
            let n = w1::encode_report(i, &mut buf);
            (w1::sender(i), w1::uptime(i), buf[..n].to_vec())
        })
        .collect()
}

/// Entry point measured for ingest: deliver the 40 reports, each lent as a
/// byte-slice lease (one copy into the ring).
#[inline(never)]
fn w1_insert(store: &mut W1Store, reports: &[(TaskId, u64, Vec<u8>)]) {
    for (sender, uptime, body) in reports {
        let _ = black_box(store.deliver(*sender, *uptime, body.as_slice()));
    }
}

/// Entry point measured for encode: the first response into a 1024-byte
/// lease.
#[inline(never)]
fn w1_encode<L: WriteLease>(store: &mut W1Store, lease: L) -> usize {
    store
        .read_ereports(&ReadRequest::new(w1::RESTART_ID).id(1), lease, None)
        .unwrap_or(0)
}

/// Entry point measured for flush: free the first response's records.
#[inline(never)]
fn w1_flush(store: &mut W1Store, through: Ena) -> usize {
    store.flush_thru(black_box(through))
}

struct Response {
    records: usize,
    bytes: usize,
    writes: usize,
    zero_writes: usize,
    last: Ena,
}

fn respond<const S: usize>(store: &mut W1Store, start: Ena, commit: Ena) -> Response {
    let mut lease = FakeLease::new(w1::LEASE_BYTES);
    let n = store
        .read_ereports_staged::<_, S>(
            &ReadRequest::new(w1::RESTART_ID)
                .start(start)
                .commit(commit)
                .id(1),
            &mut lease,
            None,
        )
        .expect("a 1024-byte lease always takes a response");
    let p = decode_packet(&lease.bytes()[..n]).expect("responses decode");
    Response {
        records: p.entries.len(),
        bytes: n,
        writes: lease.stats().writes,
        zero_writes: lease.stats().zero_length_writes,
        last: p.entries.last().map_or(Ena::NONE, |e| e.ena),
    }
}

fn drain<const S: usize>() -> (usize, usize, usize) {
    let mut store = w1::new_store();
    for (sender, uptime, body) in reports() {
        store
            .deliver(sender, uptime, body.as_slice())
            .expect("fits");
    }
    let (mut responses, mut writes, mut records) = (0, 0, 0);
    let mut start = Ena(1);
    let mut commit = Ena::NONE;
    loop {
        let r = respond::<S>(&mut store, start, commit);
        if r.records == 0 {
            return (responses, writes, records);
        }
        responses += 1;
        writes += r.writes;
        records += r.records;
        commit = r.last;
        start = Ena(r.last.0 + 1);
    }
}

fn counts() {
    let reports = reports();
    let mut store = w1::new_store();
    let (mut reads, mut copied) = (0, 0);
    for (sender, uptime, body) in &reports {
        let lease = FakeLease::from_bytes(body);
        store
            .deliver(*sender, *uptime, &lease)
            .expect("W1's 40 reports fit");
        reads += lease.stats().reads;
        copied += lease.stats().bytes_read;
    }
    let first = respond::<{ lease_writer::DEFAULT_STAGING }>(&mut store, Ena(1), Ena::NONE);
    let mut unstaged_store = w1::new_store();
    for (sender, uptime, body) in &reports {
        unstaged_store
            .deliver(*sender, *uptime, body.as_slice())
            .expect("fits");
    }
    let first_unstaged = respond::<0>(&mut unstaged_store, Ena(1), Ena::NONE);
    let (responses, drain_writes, drained) = drain::<{ lease_writer::DEFAULT_STAGING }>();
    let (_, drain_writes_unstaged, _) = drain::<0>();

    // Lease lengths for which encoding the first response fails.
    let failing = (128..=2048usize)
        .filter(|&len| {
            let mut s = w1::new_store();
            for (sender, uptime, body) in &reports {
                let _ = s.deliver(*sender, *uptime, body.as_slice());
            }
            let mut lease = vec![0u8; len];
            match s.read_ereports(
                &ReadRequest::new(w1::RESTART_ID).id(1),
                &mut lease[..],
                None,
            ) {
                Ok(n) => decode_packet(&lease[..n]).is_err(),
                Err(_) => true,
            }
        })
        .count();

    println!("w1.first_response.records: {}", first.records);
    println!("w1.first_response.bytes: {}", first.bytes);
    println!("w1.first_response.lease_writes: {}", first.writes);
    println!(
        "w1.first_response.zero_length_writes: {}",
        first.zero_writes
    );
    println!(
        "w1.first_response.lease_writes_unstaged: {}",
        first_unstaged.writes
    );
    println!("w1.drain.responses: {responses}");
    println!("w1.drain.records: {drained}");
    println!("w1.drain.lease_writes: {drain_writes}");
    println!("w1.drain.lease_writes_unstaged: {drain_writes_unstaged}");
    println!("w1.ingest.lease_reads: {reads}");
    println!("w1.ingest.bytes_copied: {copied}");
    println!("w1.lease_lengths_failing_128_2048: {failing}");
}

/// One pass over the measured entry points, for callgrind.
fn run_once() {
    let reports = reports();
    let mut store = w1::new_store();
    w1_insert(&mut store, &reports);
    let mut lease = [0u8; w1::LEASE_BYTES];
    let n = w1_encode(&mut store, &mut lease[..]);
    let records = decode_packet(&lease[..n])
        .map(|p| p.entries.len())
        .unwrap_or(0);
    w1_flush(&mut store, Ena(records as u64));
    black_box(&store);
}

fn instructions() -> Result<(), String> {
    let mut store = w1::new_store();
    w1_insert(&mut store, &reports());
    let mut lease = [0u8; w1::LEASE_BYTES];
    let n = w1_encode(&mut store, &mut lease[..]);
    let records = decode_packet(&lease[..n])
        .map_err(|e| e.to_string())?
        .entries
        .len() as u64;
    let insert = callgrind::instructions_in("w1_insert")?;
    let encode = callgrind::instructions_in("w1_encode")?;
    let flush = callgrind::instructions_in("w1_flush")?;
    println!("w1.ingest.instructions: {insert}");
    println!(
        "w1.ingest.instructions_per_report: {}",
        insert / w1::REPORTS as u64
    );
    println!("w1.encode.instructions: {encode}");
    println!("w1.encode.instructions_per_record: {}", encode / records);
    println!("w1.flush.instructions: {flush}");
    println!("w1.flush.instructions_per_record: {}", flush / records);
    Ok(())
}

/// Prints the W1 figures (docs/w1.md) as `name: value` lines: records,
/// bytes and lease calls per response, over the real packrat code with
/// counting fake leases.
#[derive(Parser, Debug)]
#[command(version, about, long_about)]
struct Args {
    /// Also count instructions per entry point with valgrind's callgrind
    /// (build with `--profile firmware` so they describe shipped code).
    #[arg(long)]
    instructions: bool,
    /// Run each entry point once and exit (what callgrind runs).
    #[arg(long, hide = true)]
    run_once: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.run_once {
        run_once();
        return ExitCode::SUCCESS;
    }
    counts();
    if args.instructions
        && let Err(e) = instructions()
    {
        eprintln!("w1-bench: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
