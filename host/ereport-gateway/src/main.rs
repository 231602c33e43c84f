//! `ereport-gateway`: collects ereports from SPs as MGS and the control
//! plane do, into SQLite or PostgreSQL. See the `ereport_gateway` library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use clap::builder::TypedValueParser as _;
use ereport_gateway::catalog::Catalog;
use ereport_gateway::collector::{self, Collector, Target};
use ereport_gateway::gateway::{self, Event, GatewayConfig, GatewayError, Poll};
use ereport_gateway::output::{self, Out, error_chain};
use ereport_gateway::store::{self, Db, Filter, OpenOptions};

/// A line on standard error, prefixed with the program's name; nothing
/// (and no panic) if standard error is closed.
macro_rules! say {
    ($($arg:tt)*) => {
        output::stderr_line(&format!("ereport-gateway: {}", format_args!($($arg)*)))
    };
}

/// Default database file.
const DEFAULT_DB: &str = "ereports.sqlite";
/// Default wait between polls with --follow when nothing is new.
const DEFAULT_INTERVAL: Duration = Duration::from_millis(500);
/// How often --follow applies --retain-days after the start: retention is
/// by the day, and each pass is a statement per thousand rows.
const RETAIN_EVERY: Duration = Duration::from_secs(3600);
/// Default longest wait between a quiet SP's drains with --follow.
const DEFAULT_MAX_INTERVAL: Duration = Duration::from_secs(30);
/// Default length of a claim on an SP: twice the longest quiet wait.
const DEFAULT_CLAIM: Duration = Duration::from_secs(60);
/// Default consecutive database failures --follow tolerates.
const DEFAULT_MAX_DB_FAILURES: u32 = 5;
/// Default time --follow waits for an unreachable database server.
const DEFAULT_MAX_DB_OUTAGE: Duration = Duration::from_secs(600);
/// The longest retention: a century.
const MAX_RETAIN_DAYS: i64 = 36_500;
// (as the u32 clap's range takes)
const _: () = assert!(MAX_RETAIN_DAYS < u32::MAX as i64);

/// Collects ereports from service processors into SQLite or PostgreSQL,
/// speaking the MGS ereport protocol: metadata refresh, restart tracking,
/// retries, and a commit only after the database holds what is committed.
///
/// Every response is checked against the request it answers; what does not
/// add up is rejected with its reason, and ENAs the SP skipped are recorded
/// as gaps. Ereports go to standard output (a line each, or JSON with
/// --json); events, --status lines and the summary go to standard error.
/// Ctrl-C, SIGTERM and SIGHUP end --follow with a summary.
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
    /// "rack_id", "address"} (kind, slot and rack_id optional), as `sp-sim
    /// --rack --inventory-out` writes.
    #[arg(long, value_name = "FILE")]
    inventory: Option<PathBuf>,

    /// Drain up to this many SPs at once; a dead or slow SP costs only its
    /// own timeouts.
    #[arg(long, default_value_t = collector::DEFAULT_PARALLEL, value_parser = clap::value_parser!(u16).range(1..=1024).map(usize::from))]
    parallel: usize,

    /// This collector's id: a UUID, recorded on every row it stores and on
    /// its claims. Give the same one at every start to keep it across
    /// restarts (as the control plane's collectors do); without it, each
    /// run takes a random one.
    #[arg(long, value_name = "UUID")]
    collector_id: Option<uuid::Uuid>,

    /// Print each SP's status (restart id, last success, consecutive
    /// failures, counts) as JSON lines on standard error, apart from the
    /// ereports on standard output: every interval with --follow, else at
    /// the end.
    #[arg(long)]
    status: bool,

    /// The database: a SQLite file (created if missing; a file, since the
    /// SP frees what the gateway commits), or PostgreSQL as a URL
    /// (postgres://USER@HOST/DB) or a key=value string ('host=… dbname=…').
    /// The schema is created, or migrated from an older gateway's.
    #[arg(long, default_value = DEFAULT_DB, value_name = "PATH|URL")]
    db: PathBuf,

    /// PostgreSQL: the most connections this collector opens, shared by
    /// all its SPs (the server's default limit is 100 for everyone).
    #[arg(long, default_value_t = store::DEFAULT_PG_CONNECTIONS, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64).map(usize::from))]
    db_connections: usize,

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

    /// With --follow, an SP that had nothing waits twice as long for its
    /// next drain as last time, up to this (e.g. 30s; the control plane
    /// polls every 30 s), and is back at --interval once it has ereports.
    /// Give the same value as --interval to poll at a fixed pace.
    #[arg(long, default_value_t = DEFAULT_MAX_INTERVAL.into(), value_name = "DURATION")]
    max_interval: humantime::Duration,

    /// With --follow, collectors sharing a database divide the SPs by
    /// claims in it: this collector drains an SP only while it holds the
    /// SP's claim, lasting this long and renewed before a drain that finds
    /// less than half of it left (it must outlast --interval and
    /// --max-interval), and takes over SPs whose collector stopped once
    /// their claims expire. A collector that exits normally gives its
    /// claims up at once. 0s turns claims off (every collector drains every
    /// SP, taking turns when it finds another at work).
    #[arg(long, default_value_t = DEFAULT_CLAIM.into(), value_name = "DURATION")]
    claim: humantime::Duration,

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

    /// Mark ereports collected more than this many days ago (1 to 36500)
    /// deleted, as the control plane does (their time_deleted is set;
    /// queries leave them out; `purge` removes them), and delete gaps as
    /// old: in bounded batches, at start and, with --follow, every hour.
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=MAX_RETAIN_DAYS))]
    retain_days: Option<u32>,

    /// With --follow, exit after this many consecutive intervals in which
    /// the database failed (a statement refused, not the server being
    /// away: see --max-db-outage).
    #[arg(long, default_value_t = DEFAULT_MAX_DB_FAILURES, value_parser = clap::value_parser!(u32).range(1..))]
    max_db_failures: u32,

    /// With --follow, exit once the database server has been unreachable
    /// this long (e.g. 10m). Until then the collector keeps trying,
    /// reconnecting with backoff, and carries on when the server is back.
    #[arg(long, default_value_t = DEFAULT_MAX_DB_OUTAGE.into(), value_name = "DURATION")]
    max_db_outage: humantime::Duration,
}

/// What else the gateway does with its database.
#[derive(clap::Subcommand, Debug)]
enum Sub {
    /// List stored ereports, newest first: by SP, class (glob), restart and
    /// time window; a table, or JSON lines with --json.
    Query(Box<QueryArgs>),
    /// Count stored ereports per SP and class.
    Summary(SummaryArgs),
    /// Show one ereport, RESTART_ID ENA, with everything known about it:
    /// where it came from, when it was collected, its restart's metadata
    /// and the report. Ereports marked deleted are shown too.
    Info(InfoArgs),
    /// Delete, for good, ereports that retention (--retain-days) marked
    /// deleted more than --deleted-days ago, in bounded batches.
    Purge(PurgeArgs),
}

#[derive(clap::Args, Debug)]
struct InfoArgs {
    /// The database (a SQLite file, or PostgreSQL: postgres://… or
    /// key=value). Read only.
    #[arg(long, default_value = DEFAULT_DB, value_name = "PATH|URL")]
    db: PathBuf,
    /// The SP restart (a UUID, with or without hyphens).
    #[arg(value_name = "RESTART_ID", value_parser = store::parse_restart_id)]
    restart_id: ereport_sdk::RestartId,
    /// The ereport's ENA.
    #[arg(value_name = "ENA")]
    ena: u64,
    /// One JSON object: {"ereport": …, "restart": …}.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
struct PurgeArgs {
    /// The database (a SQLite file, or PostgreSQL: postgres://… or
    /// key=value). Needs the right to delete.
    #[arg(long, default_value = DEFAULT_DB, value_name = "PATH|URL")]
    db: PathBuf,
    /// Delete ereports marked deleted more than this many days ago (1 to
    /// 36500).
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=MAX_RETAIN_DAYS))]
    deleted_days: u32,
}

#[derive(clap::Args, Debug)]
struct QueryArgs {
    /// The database (a SQLite file, or PostgreSQL: postgres://… or
    /// key=value). Read only: nothing is created or migrated.
    #[arg(long, default_value = DEFAULT_DB, value_name = "PATH|URL")]
    db: PathBuf,
    /// Only this SP (its inventory name).
    #[arg(long, value_name = "NAME")]
    sp: Option<String>,
    /// Only classes matching this glob, e.g. 'hw.pwr.*' (`*` any run of
    /// characters, `?` one; case-sensitive).
    #[arg(long, value_name = "GLOB")]
    class: Option<String>,
    /// Only this restart id (a UUID, with or without hyphens).
    #[arg(long, value_name = "UUID", value_parser = store::parse_restart_id)]
    restart: Option<ereport_sdk::RestartId>,
    /// Only this serial number (baseboard_serial_number).
    #[arg(long, value_name = "SERIAL")]
    serial: Option<String>,
    /// Only this part number (baseboard_part_number).
    #[arg(long, value_name = "PART")]
    part: Option<String>,
    /// Only SPs of this slot type.
    #[arg(long, value_name = "TYPE", value_parser = clap::builder::PossibleValuesParser::new(collector::SP_KINDS).map(String::from))]
    slot_type: Option<String>,
    /// Only the SP in this slot (with --slot-type, of that type).
    #[arg(long, value_name = "N")]
    slot: Option<u32>,
    /// Only ereports collected within this long before now (e.g. 1h, 7d).
    #[arg(long, value_name = "DURATION", conflicts_with = "after")]
    since: Option<humantime::Duration>,
    /// Only ereports collected more than this long before now.
    #[arg(long, value_name = "DURATION", conflicts_with = "before")]
    until: Option<humantime::Duration>,
    /// Only ereports collected at or after this time (RFC 3339, e.g.
    /// 2026-12-01T08:00:00Z; a date and time without a zone is UTC).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    after: Option<SystemTime>,
    /// Only ereports collected before this time (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    before: Option<SystemTime>,
    /// At most this many ereports.
    #[arg(long, default_value_t = 1000)]
    limit: u64,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
struct SummaryArgs {
    /// The database (a SQLite file, or PostgreSQL: postgres://… or
    /// key=value). Read only: nothing is created or migrated.
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
  ereport-gateway --db 'host=/var/run/postgresql dbname=omicron' --follow
  ereport-gateway query --class 'hw.pwr.*' --since 1h
  ereport-gateway query --after 2026-12-01T00:00:00Z --before 2026-12-02T00:00:00Z --json
  ereport-gateway query --serial BRM42220017 --slot-type sled --slot 3
  ereport-gateway info 5f3c0a4e-1d2b-4c8e-9a61-0b7d2e4f8c13 42
  ereport-gateway purge --deleted-days 30
  ereport-gateway summary --db postgres://reader@db/omicron";

fn gateway_default_sp() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], ereport_sdk::wire::SP_PORT))
}

fn parse_target(s: &str) -> Result<Target, String> {
    collector::parse_target(s).map_err(|e| e.to_string())
}

/// An absolute time: RFC 3339, or a date and time taken as UTC.
fn parse_time(s: &str) -> Result<SystemTime, String> {
    humantime::parse_rfc3339_weak(s.trim()).map_err(|e| {
        format!("{e} (expected a time such as 2026-12-01T08:00:00Z or \"2026-12-01 08:00:00\")")
    })
}

/// `d` before now, or an error naming `flag` if that is before 1970 (no
/// ereport was collected then; a duration that large is a mistake).
fn ago(flag: &str, d: Option<humantime::Duration>) -> Result<Option<SystemTime>, String> {
    let Some(d) = d else { return Ok(None) };
    match SystemTime::now().checked_sub(*d) {
        Some(t) if t > UNIX_EPOCH => Ok(Some(t)),
        _ => Err(format!(
            "{flag} {d}: reaches back before 1970; give a shorter duration or an absolute time"
        )),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say!("{e}");
            ExitCode::FAILURE
        }
    }
}

struct Printer {
    out: Out,
    json: bool,
    /// With several SPs, every human line names its SP, padded to this
    /// width (0: one SP, no name).
    name_width: usize,
}

impl Printer {
    fn poll(&mut self, sp: &str, p: &Poll) {
        for ev in &p.events {
            // Rejections are counted, and named in the error if nothing
            // acceptable arrived; each one is not worth a line.
            if !matches!(ev, Event::Rejected(_)) {
                if self.name_width > 0 {
                    say!("{}: {}", output::escape(sp), output::event_line(ev));
                } else {
                    say!("{}", output::event_line(ev));
                }
            }
            if let (true, Event::Gap(g)) = (self.json, ev) {
                self.out.line(
                    &serde_json::json!({
                        "gap": {
                            "sp_name": sp,
                            "restart_id": output::restart_uuid(g.restart_id),
                            "first_ena": g.first.0,
                            "last_ena": g.last.0,
                            "freed_before_first_contact":
                                g.kind == gateway::GapKind::FreedBeforeFirstContact,
                        }
                    })
                    .to_string(),
                );
            }
        }
        self.stored(sp, p);
        self.out.flush();
    }

    fn stored(&mut self, sp: &str, p: &Poll) {
        for e in &p.stored {
            if self.json {
                self.out
                    .line(&output::ereport_json_line(e, Some(sp)).to_string());
            } else if self.name_width > 0 {
                let line = format!(
                    "{:<w$}  {}",
                    output::escape(sp),
                    output::ereport_line(e),
                    w = self.name_width
                );
                self.out.line(&line);
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
        Some(Sub::Info(i)) => return info(i),
        Some(Sub::Purge(p)) => return purge(p),
        None => {}
    }
    let defaulted = args.sp.is_empty() && args.inventory.is_none();
    let targets = collector::targets(&args.sp, args.inventory.as_deref(), gateway_default_sp())
        .map_err(|e| error_chain(&e))?;
    let base = GatewayConfig {
        timeout: *args.timeout,
        attempts: args.attempts,
        limit: args.limit,
        collector_id: args
            .collector_id
            .unwrap_or_else(gateway::default_collector_id),
        ..GatewayConfig::for_sp(gateway_default_sp())
    };
    // The database must open before anything else is said about it. One
    // store for every SP: one SQLite connection, or one small pool.
    let db = store::open_with(
        &args.db,
        &OpenOptions {
            read_only: false,
            pg_connections: args.db_connections,
        },
    )
    .map_err(|e| error_chain(&e))?;
    retain(args, &db)?;
    let catalog = match &args.catalog {
        Some(path) => Some(Catalog::load(path).map_err(|e| error_chain(&e))?),
        None => None,
    };
    let mut collector = Collector::new(&targets, &base, &db, catalog.as_ref(), args.parallel)
        .map_err(|e| error_chain(&e))?;
    // Draining once means to the end: no leaving an SP to another
    // collector that may stop before it is done.
    collector.set_yield_to_others(args.follow);
    collector.set_quiet_backoff(*args.max_interval);
    if args.follow && !args.claim.is_zero() {
        // The longest an SP waits between drains.
        let longest = (*args.interval).max(*args.max_interval);
        if *args.claim <= longest {
            return Err(format!(
                "--claim {} must outlast the longest wait between an SP's drains ({}, from --interval and --max-interval): its claim would lapse between them",
                args.claim,
                humantime::format_duration(longest)
            ));
        }
        collector.set_claims(Some(*args.claim));
    }
    let several = collector.len() > 1;
    for st in collector.status() {
        if let Some(rid) = &st.restart_id {
            if several {
                say!("{}: resuming restart {rid}", output::escape(&st.name));
            } else {
                say!("resuming restart {rid}");
            }
        }
    }
    let name_width = if several {
        targets
            .iter()
            .map(|t| output::escape(&t.name).chars().count())
            .max()
            .unwrap_or(0)
    } else {
        0
    };
    let printer = Mutex::new(Printer {
        out: Out::default(),
        json: args.json,
        name_width,
    });
    let result = if args.follow {
        follow(args, &collector, &printer, &db)
    } else {
        let failed = collector.round(&|sp, p| lock(&printer).poll(sp, p));
        if args.status {
            print_status(&collector);
        }
        failures(&failed, collector.len(), defaulted)
    };
    let st = collector.stats();
    if args.json {
        output::stderr_line(&output::summary_json(&st).to_string());
    } else {
        let sps = if several {
            format!(
                " from {}",
                output::count(collector.len() as u64, "SP", "SPs")
            )
        } else {
            String::new()
        };
        say!("{}{sps} in {}", output::summary_line(&st), db.name());
    }
    result
}

/// `--retain-days`: marks what is older deleted.
fn retain(args: &Args, db: &Db) -> Result<(), String> {
    let Some(days) = args.retain_days else {
        return Ok(());
    };
    let now = SystemTime::now();
    let before = now
        .checked_sub(Duration::from_secs(u64::from(days) * 86_400))
        .filter(|t| *t > UNIX_EPOCH)
        .ok_or_else(|| format!("--retain-days {days}: reaches back before 1970"))?;
    let n = db.retain(before).map_err(|e| error_chain(&e))?;
    if n > 0 {
        say!(
            "marked {} older than {} deleted",
            output::count(n, "ereport", "ereports"),
            output::count(u64::from(days), "day", "days")
        );
    }
    Ok(())
}

/// `query`.
fn query(q: &QueryArgs) -> Result<(), String> {
    let since = match q.after {
        Some(t) => Some(t),
        None => ago("--since", q.since)?,
    };
    let until = match q.before {
        Some(t) => Some(t),
        None => ago("--until", q.until)?,
    };
    if let (Some(a), Some(b)) = (since, until)
        && a >= b
    {
        return Err("the time window is empty: its start is not before its end".into());
    }
    let db = store::open_read_only(&q.db).map_err(|e| error_chain(&e))?;
    let rows = db
        .query(&Filter {
            sp: q.sp.clone(),
            class_glob: q.class.clone(),
            restart_id: q.restart,
            serial_number: q.serial.clone(),
            part_number: q.part.clone(),
            sp_type: q.slot_type.clone(),
            slot: q.slot,
            since,
            until,
            limit: q.limit,
        })
        .map_err(|e| error_chain(&e))?;
    let mut out = Out::default();
    if q.json {
        for r in &rows {
            out.line(&serde_json::to_string(r).unwrap_or_default());
            if out.closed() {
                break;
            }
        }
    } else {
        let mut table = tabled::builder::Builder::default();
        table.push_record([
            "TIME COLLECTED",
            "RESTART ID",
            "ENA",
            "SP",
            "TYPE",
            "SLOT",
            "SERIAL",
            "CLASS",
        ]);
        for r in &rows {
            table.push_record([
                time_text(r.time_collected_ms),
                store::rid_text(r.restart_id),
                r.ena.to_string(),
                blank(r.sp_name.as_deref()),
                blank(r.sp_type.as_deref()),
                r.sp_slot.map(|s| s.to_string()).unwrap_or_default(),
                blank(r.serial_number.as_deref()),
                blank(r.class.as_deref()),
            ]);
        }
        out.line(&render(table));
        say!(
            "{}",
            output::count(rows.len() as u64, "ereport", "ereports")
        );
    }
    Ok(())
}

/// A table as text: a header row, columns aligned, no borders.
fn render(table: tabled::builder::Builder) -> String {
    table
        .build()
        .with(tabled::settings::Style::blank())
        .to_string()
}

/// A time as RFC 3339 (milliseconds), or blank.
fn time_text(ms: Option<i64>) -> String {
    ms.and_then(|ms| u64::try_from(ms).ok())
        .map(|ms| {
            humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
        })
        .unwrap_or_default()
}

/// Text from the database for a terminal (control characters escaped), or
/// blank.
fn blank(text: Option<&str>) -> String {
    text.map(output::escape).unwrap_or_default()
}

/// `info`.
fn info(i: &InfoArgs) -> Result<(), String> {
    let db = store::open_read_only(&i.db).map_err(|e| error_chain(&e))?;
    let ena = ereport_sdk::Ena(i.ena);
    let Some(row) = db.info(i.restart_id, ena).map_err(|e| error_chain(&e))? else {
        return Err(format!(
            "no ereport {} ENA {} in {}",
            store::rid_text(i.restart_id),
            i.ena,
            db.name()
        ));
    };
    let restart = db.restart(i.restart_id).map_err(|e| error_chain(&e))?;
    let mut out = Out::default();
    if i.json {
        out.line(&serde_json::json!({"ereport": row, "restart": restart}).to_string());
        return Ok(());
    }
    let opt = |v: Option<String>| v.unwrap_or_default();
    let mut table = tabled::builder::Builder::default();
    table.push_record(["FIELD", "VALUE"]);
    let fields: Vec<(&str, String)> = vec![
        ("restart id", store::rid_text(row.restart_id)),
        ("ENA", row.ena.to_string()),
        ("class", blank(row.class.as_deref())),
        ("time collected", time_text(row.time_collected_ms)),
        ("time deleted", time_text(row.time_deleted_ms)),
        ("collector id", opt(row.collector_id.map(|c| c.to_string()))),
        ("reporter", output::escape(&row.reporter)),
        ("slot type", blank(row.sp_type.as_deref())),
        ("slot", opt(row.sp_slot.map(|s| s.to_string()))),
        ("SP name", blank(row.sp_name.as_deref())),
        ("serial number", blank(row.serial_number.as_deref())),
        ("part number", blank(row.part_number.as_deref())),
        (
            "marked seen in",
            opt(row.marked_seen_in.map(|c| c.to_string())),
        ),
        ("task", output::escape(&row.task_name)),
        ("task generation", row.task_gen.to_string()),
        ("SP uptime (ms)", row.uptime_ms.to_string()),
        ("invalid", blank(row.invalid_error.as_deref())),
        ("catalog mismatch", blank(row.catalog_error.as_deref())),
    ];
    for (k, v) in fields {
        table.push_record([k.to_string(), v]);
    }
    if let Some(r) = &restart {
        table.push_record(["restart first seen".to_string(), time_text(r.first_seen_ms)]);
        table.push_record([
            "restart's latest ereport".to_string(),
            time_text(r.latest_ereport_ms),
        ]);
        table.push_record(["rack id".to_string(), opt(r.rack_id.map(|c| c.to_string()))]);
        for (k, v) in &r.metadata {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            table.push_record([
                format!("metadata {}", output::escape(k)),
                output::escape(&v),
            ]);
        }
    }
    out.line(&render(table));
    out.line("report:");
    out.line(&serde_json::to_string_pretty(&row.report).unwrap_or_default());
    Ok(())
}

/// `purge`.
fn purge(p: &PurgeArgs) -> Result<(), String> {
    let before = SystemTime::now()
        .checked_sub(Duration::from_secs(u64::from(p.deleted_days) * 86_400))
        .filter(|t| *t > UNIX_EPOCH)
        .ok_or_else(|| {
            format!(
                "--deleted-days {}: reaches back before 1970",
                p.deleted_days
            )
        })?;
    // Purging a database that is not there would make an empty one.
    let text = p.db.to_string_lossy();
    if !store::postgres::is_postgres(&text) && !p.db.exists() {
        return Err(error_chain(&store::DbError::Missing(text.into_owned())));
    }
    let db = store::open(&p.db).map_err(|e| error_chain(&e))?;
    let n = db.purge(before).map_err(|e| error_chain(&e))?;
    say!(
        "purged {} marked deleted more than {} ago",
        output::count(n, "ereport", "ereports"),
        output::count(u64::from(p.deleted_days), "day", "days")
    );
    Ok(())
}

/// `summary`.
fn summary(s: &SummaryArgs) -> Result<(), String> {
    let db = store::open_read_only(&s.db).map_err(|e| error_chain(&e))?;
    let rows = db.summary().map_err(|e| error_chain(&e))?;
    let mut out = Out::default();
    if !s.json {
        out.line(&format!("{:<12} {:<36} {:>8}", "SP", "class", "ereports"));
    }
    for r in &rows {
        if s.json {
            out.line(
                &serde_json::json!({"sp": r.sp, "class": r.class, "count": r.count}).to_string(),
            );
        } else {
            out.line(&format!(
                "{:<12} {:<36} {:>8}",
                output::escape(&r.sp),
                output::escape(&r.class),
                r.count
            ));
        }
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Prints every SP's status on standard error, a JSON line each. The
/// statuses are read without the printer: a worker that holds its SP while
/// it waits for the printer must never be waited on by whoever holds the
/// printer.
fn print_status(collector: &Collector) {
    for st in collector.status() {
        output::stderr_line(&st.to_json().to_string());
    }
}

/// The error for SPs that could not be drained, naming them. `defaulted`:
/// the one SP is the default address, where sp-sim listens, so a silence
/// there most likely means sp-sim is not running.
fn failures(failed: &[(String, GatewayError)], of: usize, defaulted: bool) -> Result<(), String> {
    match failed {
        [] => Ok(()),
        [(_, e @ GatewayError::NoAnswer { .. })] if of == 1 && defaulted => Err(format!(
            "{}; no --sp or --inventory was given, so this is the simulator's address: is sp-sim running (cargo run -p sp-sim)?",
            error_chain(e)
        )),
        [(_, e)] if of == 1 => Err(error_chain(e)),
        many => Err(format!(
            "could not drain {} of {of} SPs: {}",
            many.len(),
            many.iter()
                .map(|(sp, e)| format!("{} ({})", output::escape(sp), error_chain(e)))
                .collect::<Vec<_>>()
                .join("; ")
        )),
    }
}

/// What the drains since the supervisor last looked said of the database.
#[derive(Default)]
struct DbHealth {
    /// A statement failed on a live connection: (SP, error).
    failed: Option<(String, String)>,
    /// The server was out of reach: the error.
    unavailable: Option<String>,
    /// Some drain reached the database fine.
    fine: bool,
}

fn follow(
    args: &Args,
    collector: &Collector,
    printer: &Mutex<Printer>,
    db: &Db,
) -> Result<(), String> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    // Ctrl-C, SIGTERM and SIGHUP (the `termination` feature) all stop the
    // loop, so each ends with the summary.
    if let Err(e) = ctrlc::set_handler(move || s.store(true, Ordering::SeqCst)) {
        say!("cannot handle Ctrl-C and SIGTERM: {e}");
    }
    let started = Instant::now();
    let health = Mutex::new(DbHealth::default());
    // Set while the server is out of reach; the first drain to get through
    // afterwards says so.
    let outage = AtomicBool::new(false);
    let on_drained = |sp: &str, e: Option<&GatewayError>| match e {
        Some(GatewayError::Db(d)) if d.is_unavailable() => {
            let text = error_chain(d);
            say!(
                "{}: database unavailable, will retry: {text}",
                output::escape(sp)
            );
            outage.store(true, Ordering::SeqCst);
            lock(&health).unavailable = Some(text);
        }
        Some(e @ GatewayError::Db(_)) => {
            let text = error_chain(e);
            say!("{}: {text}; retrying", output::escape(sp));
            lock(&health).failed = Some((sp.to_string(), text));
        }
        // Keep following through SPs that are down or restarting.
        Some(e) => {
            say!("{}: {}; retrying", output::escape(sp), error_chain(e));
            lock(&health).fine = true;
        }
        None => {
            if outage.swap(false, Ordering::SeqCst) {
                say!("the database is back");
            }
            lock(&health).fine = true;
        }
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
        let mut outage_since: Option<Instant> = None;
        // Retention ran at the start.
        let mut next_retention = collector::later(Instant::now(), RETAIN_EVERY);
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
                print_status(collector);
            }
            if now >= next_retention {
                next_retention = collector::later(now, RETAIN_EVERY);
                match retain(args, db) {
                    Ok(()) => {}
                    // The server being away is an outage like any other.
                    Err(e) if outage_since.is_some() => say!("retention: {e}"),
                    Err(e) => break Err(e),
                }
            }
            let seen = std::mem::take(&mut *lock(&health));
            if seen.fine && seen.failed.is_none() && seen.unavailable.is_none() {
                db_failures = 0;
                outage_since = None;
            }
            if let Some(e) = seen.unavailable {
                let since = *outage_since.get_or_insert(now);
                if now.duration_since(since) >= *args.max_db_outage {
                    break Err(format!(
                        "the database has been unreachable for {} (--max-db-outage): {e}",
                        humantime::format_duration(Duration::from_secs(
                            now.duration_since(since).as_secs()
                        ))
                    ));
                }
            }
            if let Some((sp, e)) = seen.failed {
                db_failures += 1;
                if db_failures >= args.max_db_failures {
                    break Err(format!("{}: {e}", output::escape(&sp)));
                }
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
