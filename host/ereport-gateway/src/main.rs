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
use ereport_gateway::db::{Db, Filter};
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
#[command(version, about, long_about, after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
struct Args {
    #[command(subcommand)]
    command: Option<Sub>,

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

    /// With --follow, drain each SP again this long after its last drain
    /// ended (e.g. 500ms, 30s); each SP keeps its own turns.
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

    /// Delete ereports (and gaps) collected more than this many days ago,
    /// in bounded batches, before each round.
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..))]
    retain_days: Option<u32>,

    /// With --follow, exit after this many consecutive database failures.
    #[arg(long, default_value_t = DEFAULT_MAX_DB_FAILURES, value_parser = clap::value_parser!(u32).range(1..))]
    max_db_failures: u32,
}

/// What else the gateway does with its database.
#[derive(clap::Subcommand, Debug)]
enum Sub {
    /// List stored ereports, newest first: by SP, class (glob), restart and
    /// time window; a table, or JSON lines with --json.
    Query(QueryArgs),
    /// Count stored ereports per SP and class.
    Summary(SummaryArgs),
}

#[derive(clap::Args, Debug)]
struct QueryArgs {
    /// The database (a SQLite file, or postgres://…).
    #[arg(long, default_value = DEFAULT_DB, value_name = "PATH|URL")]
    db: PathBuf,
    /// Only this SP (its inventory name).
    #[arg(long, value_name = "NAME")]
    sp: Option<String>,
    /// Only classes matching this glob, e.g. 'hw.pwr.*'.
    #[arg(long, value_name = "GLOB")]
    class: Option<String>,
    /// Only this restart id (32 hex digits).
    #[arg(long, value_name = "ID")]
    restart: Option<String>,
    /// Only ereports collected within this long before now (e.g. 1h).
    #[arg(long, value_name = "DURATION")]
    since: Option<humantime::Duration>,
    /// Only ereports collected more than this long before now.
    #[arg(long, value_name = "DURATION")]
    until: Option<humantime::Duration>,
    /// At most this many ereports.
    #[arg(long, default_value_t = 1000)]
    limit: u64,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
struct SummaryArgs {
    /// The database (a SQLite file, or postgres://…).
    #[arg(long, default_value = DEFAULT_DB, value_name = "PATH|URL")]
    db: PathBuf,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
}

const EXAMPLES: &str = "\
Examples:
  ereport-gateway --sp 127.0.0.1:57005 --db ereports.sqlite
  ereport-gateway --sp localhost --json --follow --interval 1s
  ereport-gateway --json | head -n 5
  ereport-gateway --inventory rack.json --db postgres://localhost/omicron --follow --interval 30s
  ereport-gateway query --class 'hw.pwr.*' --since 1h
  ereport-gateway summary";

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
    match &args.command {
        Some(Sub::Query(q)) => return query(q),
        Some(Sub::Summary(s)) => return summary(s),
        None => {}
    }
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
    let admin = Db::open(&args.db).map_err(|e| e.to_string())?;
    retain(args, &admin)?;
    let catalog = match &args.catalog {
        Some(path) => Some(Catalog::load(path).map_err(|e| e.to_string())?),
        None => None,
    };
    let mut collector = Collector::new(&targets, &base, &args.db, catalog.as_ref(), args.parallel)
        .map_err(|e| e.to_string())?;
    // Draining once means to the end: no leaving an SP to another
    // collector that may stop before it is done.
    collector.set_yield_to_others(args.follow);
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
        follow(args, &collector, &printer, &admin)
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

/// `--retain-days`: deletes what is older.
fn retain(args: &Args, db: &Db) -> Result<(), String> {
    let Some(days) = args.retain_days else {
        return Ok(());
    };
    let age = Duration::from_secs(u64::from(days) * 86_400);
    let before = std::time::SystemTime::now()
        .checked_sub(age)
        .unwrap_or(std::time::UNIX_EPOCH);
    let n = db.retain(before).map_err(|e| e.to_string())?;
    if n > 0 {
        eprintln!(
            "ereport-gateway: deleted {} older than {}",
            output::count(n, "ereport", "ereports"),
            output::count(u64::from(days), "day", "days")
        );
    }
    Ok(())
}

fn ago(d: Option<humantime::Duration>) -> Option<std::time::SystemTime> {
    d.and_then(|d| std::time::SystemTime::now().checked_sub(*d))
}

/// `query`.
fn query(q: &QueryArgs) -> Result<(), String> {
    let db = Db::open(&q.db).map_err(|e| e.to_string())?;
    let rows = db
        .query(&Filter {
            sp: q.sp.clone(),
            class_glob: q.class.clone(),
            restart_id: q.restart.clone(),
            since: ago(q.since),
            until: ago(q.until),
            limit: q.limit,
        })
        .map_err(|e| e.to_string())?;
    let mut out = Out::default();
    for r in &rows {
        if q.json {
            out.line(&r.to_string());
        } else {
            let text = |k: &str| r.get(k).and_then(serde_json::Value::as_str).unwrap_or("?");
            let at = r
                .get("time_collected_ms")
                .and_then(serde_json::Value::as_u64)
                .map(|ms| {
                    humantime::format_rfc3339_seconds(
                        std::time::UNIX_EPOCH + Duration::from_millis(ms),
                    )
                    .to_string()
                })
                .unwrap_or_else(|| "?".into());
            out.line(&format!(
                "{at}  {:<10} {} ENA {:>7}  {}",
                output::escape(text("sp_name")),
                text("restart_id"),
                r.get("ena")
                    .and_then(serde_json::Value::as_u64)
                    .unwrap_or(0),
                output::escape(text("class")),
            ));
        }
    }
    if !q.json {
        eprintln!(
            "ereport-gateway: {}",
            output::count(rows.len() as u64, "ereport", "ereports")
        );
    }
    Ok(())
}

/// `summary`.
fn summary(s: &SummaryArgs) -> Result<(), String> {
    let db = Db::open(&s.db).map_err(|e| e.to_string())?;
    let rows = db.summary().map_err(|e| e.to_string())?;
    let mut out = Out::default();
    if !s.json {
        out.line(&format!("{:<12} {:<36} {:>8}", "SP", "class", "ereports"));
    }
    for (sp, class, n) in &rows {
        if s.json {
            out.line(&serde_json::json!({"sp": sp, "class": class, "count": n}).to_string());
        } else {
            out.line(&format!(
                "{:<12} {:<36} {n:>8}",
                output::escape(sp),
                output::escape(class)
            ));
        }
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Prints every SP's status. The statuses are read before the printer is
/// taken: a worker that holds its SP while it waits for the printer must
/// never be waited on by whoever holds the printer.
fn print_status(collector: &Collector, printer: &Mutex<Printer>) {
    let statuses = collector.status();
    let mut p = lock(printer);
    for st in statuses {
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

fn follow(
    args: &Args,
    collector: &Collector,
    printer: &Mutex<Printer>,
    admin: &Db,
) -> Result<(), String> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    if let Err(e) = ctrlc::set_handler(move || s.store(true, Ordering::SeqCst)) {
        eprintln!("ereport-gateway: cannot handle Ctrl-C: {e}");
    }
    let started = Instant::now();
    // What the drains since the last look found: database failures, and
    // whether any drain reached the database fine.
    let db_failed: Mutex<Option<(String, String)>> = Mutex::new(None);
    let db_fine = AtomicBool::new(false);
    let on_drained = |sp: &str, e: Option<&GatewayError>| match e {
        Some(e @ GatewayError::Db(_)) => {
            eprintln!("ereport-gateway: {sp}: {e}; retrying");
            *lock(&db_failed) = Some((sp.to_string(), e.to_string()));
        }
        // Keep following through SPs that are down or restarting.
        Some(e) => {
            eprintln!("ereport-gateway: {sp}: {e}; retrying");
            db_fine.store(true, Ordering::SeqCst);
        }
        None => db_fine.store(true, Ordering::SeqCst),
    };
    let interval = *args.interval;
    // The supervision below runs at least every 100 ms apart, whatever the
    // interval.
    let tick = interval.max(Duration::from_millis(100));
    std::thread::scope(|scope| {
        let workers = scope.spawn(|| {
            collector.follow(
                interval,
                &stop,
                &|sp, p| lock(printer).poll(sp, p),
                &on_drained,
            )
        });
        // Every interval: status, retention, and whether the database
        // keeps failing.
        let mut db_failures = 0u32;
        let mut next = collector::later(Instant::now(), tick);
        let result = loop {
            if stop.load(Ordering::SeqCst)
                || lock(printer).out.closed()
                || args.run_for.is_some_and(|d| started.elapsed() >= d)
            {
                break Ok(());
            }
            let now = Instant::now();
            if now < next {
                std::thread::sleep((next - now).min(Duration::from_millis(100)));
                continue;
            }
            next = collector::later(now, tick);
            if args.status {
                print_status(collector, printer);
            }
            if let Err(e) = retain(args, admin) {
                break Err(e);
            }
            match lock(&db_failed).take() {
                Some((sp, e)) => {
                    db_failures += 1;
                    if db_failures >= args.max_db_failures {
                        break Err(format!("{sp}: {e}"));
                    }
                }
                None if db_fine.swap(false, Ordering::SeqCst) => db_failures = 0,
                None => {}
            }
        };
        stop.store(true, Ordering::SeqCst);
        let _ = workers.join();
        result
    })
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
