//! `ereport-gateway`: collects ereports from an SP as MGS and the control
//! plane do, into SQLite. See the `ereport_gateway` library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use ereport_gateway::catalog::Catalog;
use ereport_gateway::db::Db;
use ereport_gateway::gateway::{self, Event, Gateway, GatewayConfig, GatewayError, Poll};
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
    /// The SP's snitch: HOST[:PORT] (port 57005 if omitted; names resolve).
    #[arg(long, default_value_t = gateway_default_sp(), value_name = "HOST[:PORT]", value_parser = parse_sp)]
    sp: SocketAddr,

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

fn parse_sp(s: &str) -> Result<SocketAddr, String> {
    ereport_sdk::addr::parse_sp_addr(s).map_err(|e| e.to_string())
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
}

impl Printer {
    fn poll(&mut self, p: &Poll) {
        for ev in &p.events {
            // Rejections are counted, and named in the error if nothing
            // acceptable arrived; each one is not worth a line.
            if !matches!(ev, Event::Rejected(_)) {
                eprintln!("ereport-gateway: {}", output::event_line(ev));
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
    let cfg = GatewayConfig {
        timeout: *args.timeout,
        attempts: args.attempts,
        limit: args.limit,
        ..GatewayConfig::for_sp(args.sp)
    };
    let db = Db::open(&args.db).map_err(|e| e.to_string())?;
    let mut gw = Gateway::new(cfg, db).map_err(|e| e.to_string())?;
    if let Some(path) = &args.catalog {
        gw.set_catalog(Catalog::load(path).map_err(|e| e.to_string())?);
    }
    if let Some(rid) = gw.restart_id() {
        eprintln!(
            "ereport-gateway: resuming restart {rid} after ENA {}",
            gw.committed()
        );
    }
    let mut printer = Printer {
        out: Out::default(),
        json: args.json,
    };
    let result = if args.follow {
        follow(args, &mut gw, &mut printer)
    } else {
        gw.drain(&mut |p| printer.poll(p)).map(|_| ())
    };
    let st = gw.stats();
    if args.json {
        eprintln!("{}", output::summary_json(&st));
    } else {
        eprintln!(
            "ereport-gateway: {} in {}",
            output::summary_line(&st),
            gw.db().path().display()
        );
    }
    result.map_err(|e| e.to_string())
}

fn follow(args: &Args, gw: &mut Gateway, printer: &mut Printer) -> Result<(), GatewayError> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    if let Err(e) = ctrlc::set_handler(move || s.store(true, Ordering::SeqCst)) {
        eprintln!("ereport-gateway: cannot handle Ctrl-C: {e}");
    }
    let started = Instant::now();
    let mut db_failures = 0u32;
    while !stop.load(Ordering::SeqCst)
        && !printer.out.closed()
        && args.run_for.is_none_or(|d| started.elapsed() < d)
    {
        match gw.poll() {
            Ok(p) => {
                db_failures = 0;
                printer.poll(&p);
                if p.drained {
                    std::thread::sleep(*args.interval);
                }
            }
            Err(GatewayError::Db(e)) => {
                db_failures += 1;
                if db_failures >= args.max_db_failures {
                    return Err(GatewayError::Db(e));
                }
                eprintln!("ereport-gateway: database: {e}; retrying");
                std::thread::sleep(*args.interval);
            }
            // Keep following through an SP that is down or restarting.
            Err(e) => {
                eprintln!("ereport-gateway: {e}; retrying");
                std::thread::sleep(*args.interval);
            }
        }
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
