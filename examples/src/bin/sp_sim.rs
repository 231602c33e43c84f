//! `sp-sim`: a simulated service processor serving ereports over UDP.
//!
//! Runs the real packrat and snitch code with simulated tasks; see the
//! `ereport_examples::sim` module.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ereport_examples::cli;
use ereport_examples::sim::{self, Sim, SimConfig};

const USAGE: &str = "\
usage: sp-sim [options]

  --listen ADDR        UDP address for the snitch (default 127.0.0.1:57005)
  --allow-remote       allow a non-loopback --listen address
  --store-bytes N      ereport store size, rounded up to a power of two
                       from 256 to 65536 (default 4096)
  --rate R             ereports per second, all producers (default 20)
  --fault-every DUR    inject a task fault this often (e.g. 2s; default never)
  --vpd-delay-ms MS    set the SP identity after this long (default 500)
  --seed N             seed for producers and faults (default 1)
  --run-for DUR        stop after this long (default: until Ctrl-C)
  --quiet              log nothing but errors";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sp-sim: {e}");
            ExitCode::FAILURE
        }
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
            "--listen",
            "--store-bytes",
            "--rate",
            "--fault-every",
            "--vpd-delay-ms",
            "--seed",
            "--run-for",
        ],
        &["--allow-remote", "--quiet"],
    )?;
    let d = SimConfig::default();
    let listen: SocketAddr = args.get("--listen", d.listen)?;
    if !listen.ip().is_loopback() && !args.flag("--allow-remote") {
        return Err(format!(
            "refusing to listen on non-loopback {listen}: pass --allow-remote to serve another host"
        ));
    }
    let rate: f64 = args.get("--rate", d.rate)?;
    if !rate.is_finite() || rate < 0.0 {
        return Err(format!("--rate {rate}: must be a non-negative number"));
    }
    let requested: usize = args.get("--store-bytes", d.store_bytes)?;
    let store_bytes = sim::store_size_for(requested)?;
    if store_bytes != requested {
        eprintln!(
            "sp-sim: --store-bytes {requested}: using a {store_bytes}-byte store (the size is a const generic)"
        );
    }
    let cfg = SimConfig {
        listen,
        store_bytes,
        rate,
        fault_every: args.duration("--fault-every")?.filter(|d| !d.is_zero()),
        vpd_delay: Duration::from_millis(args.get("--vpd-delay-ms", 500u64)?),
        seed: args.get("--seed", d.seed)?,
        identity: d.identity,
        log: !args.flag("--quiet"),
    };
    let run_for = args.duration("--run-for")?;
    let sim = Sim::start(cfg)?;
    let stop = sim.stop_handle();
    ctrlc::set_handler(stop).map_err(|e| format!("cannot handle Ctrl-C: {e}"))?;
    let started = Instant::now();
    while !sim.stopping() && run_for.is_none_or(|d| started.elapsed() < d) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let st = sim.stop();
    eprintln!(
        "sp-sim: {} ereports stored, {} lost (store full), {} producer restarts mid-copy, {} faults injected, {} responses sent, {} bad packets",
        st.delivered,
        st.lost_full,
        st.went_away,
        st.faults_injected,
        st.snitch.responses_sent,
        st.snitch.short + st.snitch.long + st.snitch.bad_version
    );
    Ok(())
}
