//! `demo`: the simulator and the gateway in one process, for a few seconds.
//!
//! A small store and a brisk rate make the store overflow between polls, so
//! a loss record shows up; a task fault is injected now and then. Every
//! ereport that arrives is printed, then a summary table.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use ereport_gateway::StoredEreport;
use ereport_gateway::gateway::{Gateway, GatewayConfig};
use ereport_gateway::output::escape;
use ereport_host::json::Loss;
use serde_json::Value as Json;
use sp_sim::sim::{Sim, SimConfig};

/// Default length of the demo, in seconds.
const DEFAULT_SECONDS: f64 = 6.0;
/// Default seed.
const DEFAULT_SEED: u64 = 7;

/// Starts the SP simulator and the gateway in one process, shows the
/// ereports arriving (a loss record when the small store overflows, task
/// faults now and then), and prints a summary.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// How long the producers run, in seconds (1 to 600).
    #[arg(long, default_value_t = DEFAULT_SECONDS, value_parser = parse_seconds)]
    seconds: f64,
    /// Seed for the simulated producers and faults.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (1.0..=600.0).contains(&v) => Ok(v),
        _ => Err("expected a number of seconds from 1 to 600".into()),
    }
}

fn describe(e: &StoredEreport) -> (String, String) {
    let class = e
        .report
        .get("k")
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_string();
    if let Some(loss) = e.loss() {
        let what = match loss {
            Loss::Possible => "LOSS   ereports before boot are unknown".to_string(),
            Loss::Certain(Some(1)) => "LOSS   1 ereport lost: the store was full".to_string(),
            Loss::Certain(Some(n)) => format!("LOSS   {n} ereports lost: the store was full"),
            Loss::Certain(None) => "LOSS   ereports lost: the store was full".to_string(),
        };
        return ("(loss record)".into(), what);
    }
    let mut fields: Vec<String> = Vec::new();
    if let Some(Json::Object(m)) = Some(&e.report) {
        let skip = [
            "k",
            "v",
            "ena",
            "restart_id",
            "hubris_task_name",
            "hubris_task_gen",
            "hubris_uptime_ms",
            "ereport_message_version",
            "baseboard_part_number",
            "baseboard_serial_number",
            "baseboard_rev",
            "hubris_caboose",
            "pad",
        ];
        for (k, v) in m {
            if !skip.contains(&k.as_str()) {
                fields.push(format!("{k}={v}"));
            }
        }
    }
    let tag = if class.starts_with("hubris.fault") {
        "FAULT  "
    } else {
        ""
    };
    (class, format!("{tag}{}", fields.join(" ")))
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            ereport_host::errln!("demo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let sim = Sim::start(SimConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        store_bytes: 2048,
        rate: 120.0,
        fault_every: Some(Duration::from_millis(1500)),
        vpd_delay: Duration::from_millis(300),
        seed: args.seed,
        log: false,
        ..SimConfig::default()
    })
    .map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    let db =
        ereport_gateway::store::open(dir.path().join("demo.sqlite")).map_err(|e| e.to_string())?;
    let mut gw =
        Gateway::new(GatewayConfig::for_sp(sim.local_addr()), db).map_err(|e| e.to_string())?;

    ereport_host::outln!(
        "SP simulator on {} (restart id {})",
        sim.local_addr(),
        sim.restart_id()
    );
    ereport_host::outln!(
        "store 2048 bytes, ~120 ereports/s, a task fault every 1.5 s; gateway polls every 400 ms\n"
    );
    ereport_host::outln!(
        "{:>5}  {:<14} {:>3} {:>8}  {:<26} details",
        "ENA",
        "task",
        "gen",
        "uptime",
        "class"
    );
    let mut by_class: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_task: BTreeMap<String, usize> = BTreeMap::new();
    let (mut losses, mut lost_total, mut faults) = (0usize, 0u64, 0usize);
    let mut metadata_shown = false;
    let started = Instant::now();
    let deadline = Duration::from_secs_f64(args.seconds);
    let mut draining = false;
    loop {
        // Whoever read the output has gone (`demo | head`): stop quietly.
        if !ereport_host::output::stdout_open() {
            let _ = sim.stop();
            return Ok(());
        }
        if !draining && started.elapsed() >= deadline {
            // Stop producing, let deliveries in flight land, and let the
            // gateway take what is left.
            sim.pause_producers(true);
            std::thread::sleep(Duration::from_millis(100));
            draining = true;
        }
        let got = match gw.poll() {
            Ok(p) => p.stored,
            Err(e) => {
                ereport_host::errln!("demo: gateway: {e}");
                break;
            }
        };
        if !metadata_shown && !gw.metadata().is_empty() {
            let m = gw.metadata();
            ereport_host::outln!(
                "       -- metadata arrived: part {} serial {} rev {} --",
                m.get("baseboard_part_number").unwrap_or(&Json::Null),
                m.get("baseboard_serial_number").unwrap_or(&Json::Null),
                m.get("baseboard_rev").unwrap_or(&Json::Null)
            );
            metadata_shown = true;
        }
        if got.is_empty() {
            if draining {
                break;
            }
            std::thread::sleep(Duration::from_millis(400));
            continue;
        }
        for e in &got {
            let (class, details) = describe(e);
            ereport_host::outln!(
                "{:>5}  {:<14} {:>3} {:>6}ms  {:<26} {}",
                e.ena.0,
                escape(&e.task_name),
                e.task_gen,
                e.uptime_ms,
                escape(&class),
                escape(&details)
            );
            if let Some(loss) = e.loss() {
                losses += 1;
                if let Loss::Certain(Some(n)) = loss {
                    lost_total += n;
                }
            } else {
                if class.starts_with("hubris.fault") {
                    faults += 1;
                }
                *by_class.entry(class).or_default() += 1;
                *by_task.entry(e.task_name.clone()).or_default() += 1;
            }
        }
        if !draining {
            std::thread::sleep(Duration::from_millis(400));
        }
    }
    let st = sim.stop();
    let gs = gw.stats();
    ereport_host::outln!("\nsummary");
    ereport_host::outln!("  {:<28} {:>8}", "class", "stored");
    for (class, n) in &by_class {
        ereport_host::outln!("  {class:<28} {n:>8}");
    }
    ereport_host::outln!("  {:<28} {:>8}", "task", "stored");
    for (task, n) in &by_task {
        ereport_host::outln!("  {task:<28} {n:>8}");
    }
    ereport_host::outln!("  {:<28} {:>8}", "SP: ereports delivered", st.delivered);
    ereport_host::outln!("  {:<28} {:>8}", "SP: lost, store full", st.lost_full);
    ereport_host::outln!("  {:<28} {:>8}", "gateway: loss records", losses);
    ereport_host::outln!("  {:<28} {:>8}", "gateway: losses reported", lost_total);
    ereport_host::outln!("  {:<28} {:>8}", "SP: faults injected", st.faults_injected);
    ereport_host::outln!("  {:<28} {:>8}", "gateway: fault ereports", faults);
    ereport_host::outln!("  {:<28} {:>8}", "gateway: ereports stored", gs.stored);
    ereport_host::outln!("  {:<28} {:>8}", "gateway: requests sent", gs.requests);
    ereport_host::outln!(
        "  {:<28} {:>8}",
        "snitch: responses sent",
        st.snitch.responses_sent
    );
    Ok(())
}
