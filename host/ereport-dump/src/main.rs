//! `ereport-dump`: the ereports in an SP's memory image. See the
//! `ereport_dump` library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ereport_dump::{Dump, Image, Record, elf, find_store, read_store};
use ereport_host::StoredEreport;
use ereport_host::json::{ereport_json, invalid_error};
use ereport_host::output::{self, Out, count, ereport_line_with_ena, escape};
use ereport_sdk::Ena;
use ereport_sdk::decode::Entry;
use serde_json::{Map, Value as Json};

/// How far past a given store address the header is searched for (a
/// `RefCell` or `Mutex` around the store puts a word or two first).
const SEARCH_AFTER_ADDR: u64 = 64;

/// Prints the ereports held in packrat's store from a raw memory image (a
/// RAM dump of a live or crashed SP), as the gateway prints them.
///
/// The store is found by symbol in the firmware's ELF (`--elf`, optionally
/// `--symbol`), or at an address (`--store`). With `--recover`, records in
/// the ring's freed space (already committed, not yet overwritten) are
/// printed too, marked as recovered, with their ENA where it can be
/// inferred. A store that does not add up is read up to the first bad
/// record and marked partial (exit status 2).
#[derive(Parser, Debug)]
#[command(version, about, long_about, after_help = EXAMPLES)]
struct Args {
    /// The raw memory image (e.g. QEMU's `pmemsave`, a debugger's dump).
    #[arg(long, value_name = "FILE")]
    image: PathBuf,

    /// The address of the image's first byte (e.g. 0x20000000).
    #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
    base: u64,

    /// The firmware ELF, to find the store by symbol.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "store",
        conflicts_with = "store"
    )]
    elf: Option<PathBuf>,

    /// With --elf: the static holding the store (`STORE`, or a path ending
    /// in it); default: every static is searched.
    #[arg(long, value_name = "NAME", requires = "elf")]
    symbol: Option<String>,

    /// The store's address, without an ELF.
    #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
    store: Option<u64>,

    /// Also print intact records found in the ring's freed space.
    #[arg(long)]
    recover: bool,

    /// One JSON object per line (the gateway's form), with `recovered`.
    #[arg(long)]
    json: bool,

    /// Task names by index, comma-separated (default: `task<N>`).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    tasks: Vec<String>,
}

const EXAMPLES: &str = "\
Examples:
  ereport-dump --elf w1-dump --image ram.bin --base 0x20000000
  ereport-dump --store 0x20000010 --image ram.bin --base 0x20000000 --recover --json";

fn parse_addr(s: &str) -> Result<u64, String> {
    let t = s.trim().replace('_', "");
    let r = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse(),
    };
    r.map_err(|_| "expected an address, e.g. 0x20000000".to_string())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(2),
        Err(e) => {
            ereport_host::errln!("ereport-dump: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Finds the store's header address.
fn locate(args: &Args, image: &Image) -> Result<u64, String> {
    if let Some(addr) = args.store {
        // A little past the address (the store may sit inside a lock), but
        // not past the image.
        let len = SEARCH_AFTER_ADDR.min(image.end().saturating_sub(addr));
        return find_store(image, addr, len).map_err(|e| e.to_string());
    }
    let Some(path) = &args.elf else {
        return Err("give --elf or --store".into());
    };
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let symbols = match &args.symbol {
        Some(name) => elf::find(&bytes, name),
        None => elf::data_symbols(&bytes),
    }
    .map_err(|e| format!("{}: {e}", path.display()))?;
    let found: Vec<(String, u64)> = symbols
        .iter()
        .filter_map(|s| Some((s.name.clone(), find_store(image, s.addr, s.size).ok()?)))
        .collect();
    match found.as_slice() {
        [(_, addr)] => Ok(*addr),
        [] => Err(format!(
            "no initialised ereport store in {} inside the image",
            args.symbol
                .as_deref()
                .map_or("any static".to_string(), |s| format!("static {s:?}"))
        )),
        many => Err(format!(
            "several statics hold a store ({}): pick one with --symbol",
            many.iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn task_name(args: &Args, dump: &Dump, index: u16) -> String {
    match args.tasks.get(usize::from(index)) {
        Some(n) => n.clone(),
        None if index == dump.header.own_index => "packrat".to_string(),
        None => format!("task{index}"),
    }
}

fn stored(args: &Args, dump: &Dump, r: &Record) -> StoredEreport {
    let entry = Entry {
        ena: r.ena.unwrap_or(Ena::NONE),
        task_name: task_name(args, dump, r.task),
        task_gen: u32::from(r.generation),
        uptime_ms: r.uptime_ms,
        body: r.body.clone(),
    };
    let rid = dump.header.restart_id;
    let report = ereport_json(&entry, &Map::new());
    let invalid_error = invalid_error(&report);
    StoredEreport {
        restart_id: rid,
        ena: entry.ena,
        task_name: entry.task_name,
        task_gen: entry.task_gen,
        uptime_ms: entry.uptime_ms,
        invalid_error,
        catalog_error: None,
        body: entry.body,
        report,
    }
}

fn run(args: &Args) -> Result<bool, String> {
    let bytes = std::fs::read(&args.image).map_err(|e| format!("{}: {e}", args.image.display()))?;
    let image = Image {
        base: args.base,
        bytes,
    };
    let addr = locate(args, &image)?;
    let dump = read_store(&image, addr, args.recover).map_err(|e| e.to_string())?;
    let h = &dump.header;
    let held = dump.records.iter().filter(|r| !r.recovered).count() as u64;
    let recovered = dump.records.len() as u64 - held;
    ereport_host::errln!(
        "ereport-dump: store at {:#x}: restart id {}, {} held (ENAs {} to {}), {} of {} bytes in use{}",
        h.addr,
        h.restart_id,
        count(held, "record", "records"),
        h.earliest,
        h.next.0.saturating_sub(1),
        h.used,
        h.capacity,
        h.pending_losses.map_or(String::new(), |n| format!(
            ", losing ({n} not yet reported)"
        )),
    );
    if args.recover {
        ereport_host::errln!(
            "ereport-dump: {} recovered from freed space",
            count(recovered, "record", "records")
        );
    }
    let mut out = Out::default();
    for r in &dump.records {
        let e = stored(args, &dump, r);
        if args.json {
            // As the gateway prints an ereport (the report, with where it
            // came from beside it), and whether it was recovered from
            // freed space; a recovered record's ENA may be unknown.
            let mut line = output::ereport_json_line(&e, None);
            if let Json::Object(m) = &mut line {
                if r.ena.is_none() {
                    m.insert("ena".into(), Json::Null);
                }
                m.insert("recovered".into(), Json::Bool(r.recovered));
            }
            out.line(&line.to_string());
        } else {
            let mut line = ereport_line_with_ena(&e, r.ena);
            if r.recovered {
                line.push_str("  (recovered)");
            }
            out.line(&line);
        }
    }
    if let Some(d) = &dump.damage {
        if args.json {
            out.line(
                &serde_json::json!({"partial": {"at_ena": d.at.0, "reason": d.reason}}).to_string(),
            );
        }
        ereport_host::errln!(
            "ereport-dump: partial: the held records stop at ENA {}: {}",
            d.at,
            escape(&d.reason)
        );
        return Ok(true);
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Args::command().debug_assert();
    }

    #[test]
    fn addresses_in_hex_or_decimal() {
        assert_eq!(parse_addr("0x2000_0000"), Ok(0x2000_0000));
        assert_eq!(parse_addr("4096"), Ok(4096));
        assert!(parse_addr("0xzz").is_err());
    }
}
