//! `ereport-gateway`: collects ereports from an SP as MGS and the control
//! plane do, into SQLite. See the `ereport_gateway` library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use clap::builder::TypedValueParser as _;
use ereport_gateway::catalog::Catalog;
use ereport_gateway::collector::{self, Collector, Target};
use ereport_gateway::db::Db;
use ereport_gateway::gateway::{self, Event, GatewayConfig, GatewayError, Poll};
use ereport_gateway::output::{self, Out};

/// Default database file.
const DEFAULT_DB: &str = "ereports.sqlite";
/// Default wait between polls with --follow when nothing is new.
const DEFAULT_INTERVAL: Duration = Duration::from_millis(500);
/// Default consecutive database failures --follow tolerates.
const DEFAULT_MAX_DB_FAILURES: u32 = 5;

/// Collects ereports from a service processor into SQLite, speaking the MGS
/// ereport protocol: metadata refresh, restart tracking, retries, and a
/// commit only after the database holds what is committed.
///
/// Every response is checked against the request it answers; what does not
/// add up is rejected with its reason, and ENAs the SP skipped are recorded
/// as gaps. Ereports go to standard output (a line each, or JSON with
/// --json); events and the summary go to standard error.
#[derive(Parser, Debug)]
#[command(version, about, long_about, after_help = EXAMPLES)]
struct Args {
    /// An SP's snitch: [NAME=]HOST[:PORT] (port 57005 if omitted; names
    /// resolve). Repeat it for several SPs; with none (and no
    /// --inventory), 127.0.0.1:57005.
    #[arg(long, value_name = "[NAME=]HOST[:PORT]", value_parser = parse_target)]
    sp: Vec<Target>,

    /// An inventory of SPs: a JSON array of {"name", "kind", "slot",
    /// "address"}, as `sp-sim --rack --inventory-out` writes.
    #[arg(long, value_name = "FILE")]
    inventory: Option<PathBuf>,

    /// Drain up to this many SPs at once; a dead or slow SP costs only its
    /// own timeouts.
    #[arg(long, default_value_t = collector::DEFAULT_PARALLEL, value_parser = clap::value_parser!(u16).range(1..=1024).map(usize::from))]
    parallel: usize,

    /// This collector's id, recorded on every row it stores.
    #[arg(long, value_name = "ID", default_value_t = gateway::default_collector_id())]
    collector_id: String,

    /// Print each SP's status (restart id, last success, consecutive
    /// failures, counts) as JSON lines on standard output: after each round
    /// with --follow, else at the end.
    #[arg(long)]
    status: bool,

    /// SQLite database file (created if missing). Must be a file: the SP
    /// frees what the gateway commits.
    #[arg(long, default_value = DEFAULT_DB, value_name = "PATH")]
    db: PathBuf,

    /// Print each new ereport as one JSON object per line, and the summary
    /// as a JSON object on standard error.
    #[arg(long)]
    json: bool,

    /// Drain what the SP has, then exit (the default).
    #[arg(long, conflicts_with = "follow")]
    once: bool,

    /// Keep polling until Ctrl-C (or --run-for).
    #[arg(long)]
    follow: bool,

    /// With --follow, wait this long when nothing is new (e.g. 500ms, 2s).
    #[arg(long, default_value_t = DEFAULT_INTERVAL.into(), value_name = "DURATION")]
    interval: humantime::Duration,

    /// Per-attempt timeout (e.g. 250ms).
    #[arg(long, default_value_t = gateway::DEFAULT_TIMEOUT.into(), value_name = "DURATION")]
    timeout: humantime::Duration,

    /// Attempts per request before giving up.
    #[arg(long, default_value_t = gateway::DEFAULT_ATTEMPTS, value_parser = clap::value_parser!(u32).range(1..))]
    attempts: u32,

    /// Most ereports per response, 1 to 255.
    #[arg(long, default_value_t = gateway::DEFAULT_LIMIT, value_parser = clap::value_parser!(u8).range(1..))]
    limit: u8,

    /// With --follow, stop after this long (e.g. 30s, 5m).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, requires = "follow")]
    run_for: Option<Duration>,

    /// A class catalog (JSON, as `ereport-catalog` writes it): ereports
    /// whose class, version or fields do not match it are flagged with
    /// `catalog_error`, in the output and the database, not refused.
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,

    /// With --follow, exit after this many consecutive database failures.
    #[arg(long, default_value_t = DEFAULT_MAX_DB_FAILURES, value_parser = clap::value_parser!(u32).range(1..))]
    max_db_failures: u32,
}

const EXAMPLES: &str = "\
Examples:
  ereport-gateway --sp 127.0.0.1:57005 --db ereports.sqlite
  ereport-gateway --sp localhost --json --follow --interval 1s
  ereport-gateway --json | head -n 5";

fn gateway_default_sp() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], ereport_sdk::wire::SP_PORT))
}

fn parse_target(s: &str) -> Result<Target, String> {
    collector::parse_target(s).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ereport-gateway: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Printer {
    out: Out,
    json: bool,
    /// Several SPs: events name theirs.
    several: bool,
}

impl Printer {
    fn poll(&mut self, sp: &str, p: &Poll) {
        for ev in &p.events {
            // Rejections are counted, and named in the error if nothing
            // acceptable arrived; each one is not worth a line.
            if !matches!(ev, Event::Rejected(_)) {
                if self.several {
                    eprintln!("ereport-gateway: {sp}: {}", output::event_line(ev));
                } else {
                    eprintln!("ereport-gateway: {}", output::event_line(ev));
                }
            }
            if let (true, Event::Gap(g)) = (self.json, ev) {
                self.out.line(
                    &serde_json::json!({
                        "gap": {
                            "restart_id": g.restart_id.to_string(),
                            "first_ena": g.first.0,
                            "last_ena": g.last.0,
                        }
                    })
                    .to_string(),
                );
            }
        }
        for e in &p.stored {
            if self.json {
                self.out.line(&e.json.to_string());
            } else {
                self.out.line(&output::ereport_line(e));
            }
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let targets = collector::targets(&args.sp, args.inventory.as_deref(), gateway_default_sp())
        .map_err(|e| e.to_string())?;
    let base = GatewayConfig {
        timeout: *args.timeout,
        attempts: args.attempts,
        limit: args.limit,
        collector_id: args.collector_id.clone(),
        ..GatewayConfig::for_sp(gateway_default_sp())
    };
    // The database must open before anything else is said about it.
    drop(Db::open(&args.db).map_err(|e| e.to_string())?);
    let catalog = match &args.catalog {
        Some(path) => Some(Catalog::load(path).map_err(|e| e.to_string())?),
        None => None,
    };
    let collector = Collector::new(&targets, &base, &args.db, catalog.as_ref(), args.parallel)
        .map_err(|e| e.to_string())?;
    let several = collector.len() > 1;
    for st in collector.status() {
        if let Some(rid) = &st.restart_id {
            if several {
                eprintln!("ereport-gateway: {}: resuming restart {rid}", st.name);
            } else {
                eprintln!("ereport-gateway: resuming restart {rid}");
            }
        }
    }
    let printer = Mutex::new(Printer {
        out: Out::default(),
        json: args.json,
        several,
    });
    let result = if args.follow {
        follow(args, &collector, &printer)
    } else {
        let failed = collector.round(&|sp, p| lock(&printer).poll(sp, p));
        if args.status {
            print_status(&collector, &printer);
        }
        failures(&failed, collector.len())
    };
    let st = collector.stats();
    if args.json {
        eprintln!("{}", output::summary_json(&st));
    } else {
        let sps = if several {
            format!(
                " from {}",
                output::count(collector.len() as u64, "SP", "SPs")
            )
        } else {
            String::new()
        };
        eprintln!(
            "ereport-gateway: {}{sps} in {}",
            output::summary_line(&st),
            args.db.display()
        );
    }
    result
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn print_status(collector: &Collector, printer: &Mutex<Printer>) {
    let mut p = lock(printer);
    for st in collector.status() {
        p.out.line(&st.to_json().to_string());
    }
}

/// The error for SPs that could not be drained, naming them.
fn failures(failed: &[(String, GatewayError)], of: usize) -> Result<(), String> {
    match failed {
        [] => Ok(()),
        [(_, e)] if of == 1 => Err(e.to_string()),
        many => Err(format!(
            "could not drain {} of {of} SPs: {}",
            many.len(),
            many.iter()
                .map(|(sp, e)| format!("{sp} ({e})"))
                .collect::<Vec<_>>()
                .join("; ")
        )),
    }
}

fn follow(args: &Args, collector: &Collector, printer: &Mutex<Printer>) -> Result<(), String> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    if let Err(e) = ctrlc::set_handler(move || s.store(true, Ordering::SeqCst)) {
        eprintln!("ereport-gateway: cannot handle Ctrl-C: {e}");
    }
    let started = Instant::now();
    let mut db_failures = 0u32;
    while !stop.load(Ordering::SeqCst)
        && !lock(printer).out.closed()
        && args.run_for.is_none_or(|d| started.elapsed() < d)
    {
        let failed = collector.round(&|sp, p| lock(printer).poll(sp, p));
        if args.status {
            print_status(collector, printer);
        }
        match failed
            .iter()
            .find(|(_, e)| matches!(e, GatewayError::Db(_)))
        {
            Some((sp, e)) => {
                db_failures += 1;
                if db_failures >= args.max_db_failures {
                    return Err(format!("{sp}: {e}"));
                }
                eprintln!("ereport-gateway: {sp}: {e}; retrying");
            }
            None => db_failures = 0,
        }
        // Keep following through SPs that are down or restarting.
        for (sp, e) in failed
            .iter()
            .filter(|(_, e)| !matches!(e, GatewayError::Db(_)))
        {
            eprintln!("ereport-gateway: {sp}: {e}; retrying");
        }
        std::thread::sleep(*args.interval);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Args::command().debug_assert();
    }
}
