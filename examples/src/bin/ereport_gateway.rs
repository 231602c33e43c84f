//! `ereport-gateway`: collects ereports from an SP as MGS and the control
//! plane do, into SQLite. See the `ereport_examples::gateway` module.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ereport_examples::cli;
use ereport_examples::gateway::{Gateway, GatewayConfig, StoredEreport};

const USAGE: &str = "\
usage: ereport-gateway [options]

  --sp ADDR            the SP's snitch (default 127.0.0.1:57005)
  --db PATH            SQLite database (default ereports.sqlite)
  --json               print each new ereport as one JSON object per line
  --once               drain what the SP has, then exit (the default)
  --follow             keep polling until Ctrl-C
  --interval-ms MS     with --follow, wait this long when nothing is new (default 500)
  --timeout-ms MS      per-attempt timeout (default 250)
  --attempts N         attempts per request before giving up (default 20)
  --limit N            most ereports per response, 1..=255 (default 255)
  --run-for DUR        with --follow, stop after this long";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ereport-gateway: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print(e: &StoredEreport, json: bool) {
    if json {
        println!("{}", e.json);
    } else {
        let class = e.json.get("k").and_then(|k| k.as_str()).unwrap_or("?");
        println!(
            "{} ENA {:>6}  {:<14} gen {:<3} {:>10} ms  {}",
            e.restart_id, e.ena, e.task_name, e.task_gen, e.uptime_ms, class
        );
    }
}

fn run() -> Result<(), String> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return Ok(());
    }
    let args = cli::parse(
        argv,
        &[
            "--sp",
            "--db",
            "--interval-ms",
            "--timeout-ms",
            "--attempts",
            "--limit",
            "--run-for",
        ],
        &["--json", "--once", "--follow"],
    )?;
    if args.flag("--once") && args.flag("--follow") {
        return Err("--once and --follow exclude each other".into());
    }
    let d = GatewayConfig::default();
    let sp: SocketAddr = args.get("--sp", d.sp)?;
    let limit: u8 = args.get("--limit", d.limit)?;
    if limit == 0 {
        return Err("--limit must be at least 1".into());
    }
    let cfg = GatewayConfig {
        sp,
        bind: if sp.is_ipv4() {
            d.bind
        } else {
            SocketAddr::from(([0u16; 8], 0))
        },
        timeout: Duration::from_millis(args.get("--timeout-ms", 250u64)?),
        attempts: args.get("--attempts", d.attempts)?.max(1),
        limit,
    };
    let db = PathBuf::from(args.value("--db").unwrap_or("ereports.sqlite"));
    let json = args.flag("--json");
    let mut gw = Gateway::open(cfg, &db).map_err(|e| format!("{}: {e}", db.display()))?;
    if let Some(rid) = gw.restart_id() {
        eprintln!(
            "ereport-gateway: resuming restart {rid} after ENA {}",
            gw.committed()
        );
    }
    if !args.flag("--follow") {
        let n = gw
            .drain(&mut |e| print(e, json))
            .map_err(|e| e.to_string())?;
        eprintln!(
            "ereport-gateway: {n} new ereports stored in {}",
            db.display()
        );
        return Ok(());
    }
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    ctrlc::set_handler(move || s.store(true, Ordering::SeqCst)).map_err(|e| e.to_string())?;
    let interval = Duration::from_millis(args.get("--interval-ms", 500u64)?);
    let run_for = args.duration("--run-for")?;
    let started = Instant::now();
    while !stop.load(Ordering::SeqCst) && run_for.is_none_or(|d| started.elapsed() < d) {
        match gw.poll() {
            Ok(got) if got.is_empty() => std::thread::sleep(interval),
            Ok(got) => got.iter().for_each(|e| print(e, json)),
            // Keep following through an SP that is down or restarting.
            Err(e) => {
                eprintln!("ereport-gateway: {e}; retrying");
                std::thread::sleep(interval);
            }
        }
    }
    let st = gw.stats();
    eprintln!(
        "ereport-gateway: {} ereports stored, {} requests, {} timeouts, {} SP restarts seen",
        st.stored, st.requests, st.timeouts, st.restarts_seen
    );
    Ok(())
}
