//! `demo`: the simulator and the gateway in one process, for a few seconds.
//!
//! A small store and a brisk rate make the store overflow between polls, so
//! a loss record shows up; a task fault is injected now and then. Every
//! ereport that arrives is printed, then a summary table.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ereport_examples::cli;
use ereport_examples::gateway::{Gateway, GatewayConfig, StoredEreport};
use ereport_examples::sim::{Sim, SimConfig};
use serde_json::Value as Json;

const USAGE: &str = "\
usage: demo [--seconds N] [--seed N]

Starts the SP simulator and the gateway client in one process, shows the
ereports arriving, and prints a summary.";

fn describe(e: &StoredEreport) -> (String, String) {
    let class = e
        .json
        .get("k")
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_string();
    if let Some(lost) = e.json.get("lost") {
        let what = match lost {
            Json::Null => "LOSS   ereports before boot are unknown".to_string(),
            n => format!("LOSS   {n} ereports lost: the store was full"),
        };
        return ("(loss record)".into(), what);
    }
    let mut fields: Vec<String> = Vec::new();
    if let Some(Json::Object(m)) = Some(&e.json) {
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
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args = match cli::parse(argv, &["--seconds", "--seed"], &[]) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    let seconds: f64 = args.get("--seconds", 6.0).unwrap_or(6.0);
    let seed: u64 = args.get("--seed", 7).unwrap_or(7);

    let sim = match Sim::start(SimConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        store_bytes: 2048,
        rate: 120.0,
        fault_every: Some(Duration::from_millis(1500)),
        vpd_delay: Duration::from_millis(300),
        seed,
        log: false,
        ..SimConfig::default()
    }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cfg = GatewayConfig {
        sp: sim.local_addr(),
        ..GatewayConfig::default()
    };
    let db = match rusqlite::Connection::open_in_memory() {
        Ok(db) => db,
        Err(e) => {
            eprintln!("demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut gw = match Gateway::with_connection(cfg, db) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("demo: {e}");
            return ExitCode::FAILURE;
        }
    };

    println!(
        "SP simulator on {} (restart id {})",
        sim.local_addr(),
        sim.restart_id()
    );
    println!(
        "store 2048 bytes, ~120 ereports/s, a task fault every 1.5 s; gateway polls every 400 ms\n"
    );
    println!(
        "{:>5}  {:<14} {:>3} {:>8}  {:<26} details",
        "ENA", "task", "gen", "uptime", "class"
    );
    let mut by_class: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_task: BTreeMap<String, usize> = BTreeMap::new();
    let (mut losses, mut lost_total, mut faults) = (0usize, 0u64, 0usize);
    let mut metadata_shown = false;
    let started = Instant::now();
    let deadline = Duration::from_secs_f64(seconds.clamp(1.0, 600.0));
    let mut draining = false;
    loop {
        if !draining && started.elapsed() >= deadline {
            // Stop producing, let deliveries in flight land, and let the
            // gateway take what is left.
            sim.pause_producers(true);
            std::thread::sleep(Duration::from_millis(100));
            draining = true;
        }
        let got = match gw.poll() {
            Ok(g) => g,
            Err(e) => {
                eprintln!("demo: gateway: {e}");
                break;
            }
        };
        if !metadata_shown && !gw.metadata().is_empty() {
            let m = gw.metadata();
            println!(
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
            println!(
                "{:>5}  {:<14} {:>3} {:>6}ms  {:<26} {}",
                e.ena.0, e.task_name, e.task_gen, e.uptime_ms, class, details
            );
            if e.json.get("lost").is_some() {
                losses += 1;
                lost_total += e.json.get("lost").and_then(Json::as_u64).unwrap_or(0);
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
    println!("\nsummary");
    println!("  {:<28} {:>8}", "class", "stored");
    for (class, n) in &by_class {
        println!("  {class:<28} {n:>8}");
    }
    println!("  {:<28} {:>8}", "task", "stored");
    for (task, n) in &by_task {
        println!("  {task:<28} {n:>8}");
    }
    println!("  {:<28} {:>8}", "SP: ereports delivered", st.delivered);
    println!("  {:<28} {:>8}", "SP: lost, store full", st.lost_full);
    println!("  {:<28} {:>8}", "gateway: loss records", losses);
    println!("  {:<28} {:>8}", "gateway: losses reported", lost_total);
    println!("  {:<28} {:>8}", "SP: faults injected", st.faults_injected);
    println!("  {:<28} {:>8}", "gateway: fault ereports", faults);
    println!("  {:<28} {:>8}", "gateway: ereports stored", gs.stored);
    println!("  {:<28} {:>8}", "gateway: requests sent", gs.requests);
    println!(
        "  {:<28} {:>8}",
        "snitch: responses sent", st.snitch.responses_sent
    );
    ExitCode::SUCCESS
}
