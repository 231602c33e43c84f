//! `sp-sim`: a simulated service processor serving ereports over UDP.
//!
//! Runs the real packrat and snitch code with simulated tasks; see the
//! `sp_sim::sim` module.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use sp_sim::sim::{self, Sim, SimConfig};

/// A simulated SP: the real packrat and snitch code, with simulated tasks
/// that report ereports, fault and restart, serving the MGS ereport protocol
/// over UDP.
///
/// Collect what it sends with `ereport-gateway --sp ADDR`. Stop it with
/// Ctrl-C (or --run-for); it prints one summary line when it stops.
#[derive(Parser, Debug)]
#[command(version, about, long_about, after_help = EXAMPLES)]
struct Args {
    /// UDP address for the snitch (a host name is resolved).
    #[arg(long, default_value_t = sim::DEFAULT_LISTEN, value_name = "HOST:PORT", value_parser = parse_listen)]
    listen: SocketAddr,

    /// Allow a --listen address that is not loopback (the protocol has no
    /// authentication: anyone who can reach the port can read and commit).
    #[arg(long)]
    allow_remote: bool,

    /// Ereport store size in bytes, rounded up to a power of two from 256
    /// to 65536.
    #[arg(long, default_value_t = sim::DEFAULT_STORE_BYTES, value_name = "BYTES")]
    store_bytes: usize,

    /// Ereports per second, all producers together (0: none).
    #[arg(long, default_value_t = sim::DEFAULT_RATE, value_name = "PER_SECOND", value_parser = parse_rate, allow_negative_numbers = true)]
    rate: f64,

    /// A storm: the `power` task's PMBus alert fires this many times a
    /// second (its ordinary reports stop meanwhile).
    #[arg(long, default_value_t = 0.0, value_name = "PER_SECOND", value_parser = parse_rate, allow_negative_numbers = true)]
    storm: f64,

    /// Turn storm control off: no rate limit on the alert class and no
    /// per-task share of the store (to see what a storm does without it).
    #[arg(long)]
    no_storm_control: bool,

    /// Inject a task fault this often (e.g. 2s, 500ms).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    fault_every: Option<Duration>,

    /// Set the SP identity (VPD) this many milliseconds after start; until
    /// then responses carry no metadata.
    #[arg(long, default_value_t = sim::DEFAULT_VPD_DELAY.as_millis() as u64, value_name = "MS")]
    vpd_delay_ms: u64,

    /// Seed for the producers and the fault injector: the same seed gives
    /// the same sequence of reports.
    #[arg(long, default_value_t = sim::DEFAULT_SEED)]
    seed: u64,

    /// Stop after this long (e.g. 30s, 5m); default: until Ctrl-C.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    run_for: Option<Duration>,

    /// Print nothing but errors (no event log, no summary).
    #[arg(long)]
    quiet: bool,

    /// Run a rack of 36 SPs (32 sleds, 2 switches, 2 power shelves) on
    /// consecutive ports from --listen, each with its own restart id,
    /// identity, producers and faults; every other flag applies to each.
    #[arg(long)]
    rack: bool,

    /// With --rack, this many SPs instead of 36 (implies --rack).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1000))]
    count: Option<u16>,

    /// With --rack, write the inventory (name, kind, slot, address of each
    /// SP, as JSON) here, for `ereport-gateway --inventory`.
    #[arg(long, value_name = "FILE")]
    inventory_out: Option<std::path::PathBuf>,
}

const EXAMPLES: &str = "\
Examples:
  sp-sim --rate 50 --fault-every 3s
  sp-sim --listen 127.0.0.1:0 --store-bytes 1024 --run-for 10s
  sp-sim --storm 5000                     # a flapping PMBus alert, contained
  sp-sim --storm 5000 --no-storm-control  # ... and what it does unchecked
  sp-sim --rack --listen 127.0.0.1:60000 --inventory-out rack.json";

fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    ereport_host::addr::parse_sp_addr(s).map_err(|e| e.to_string())
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r >= 0.0 => Ok(r),
        _ => Err("expected a non-negative number of ereports per second, e.g. 20 or 0.5".into()),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            ereport_host::errln!("sp-sim: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    if !args.listen.ip().is_loopback() && !args.allow_remote {
        return Err(format!(
            "refusing to listen on non-loopback {}: pass --allow-remote to serve another host",
            args.listen
        ));
    }
    let store_bytes = sim::store_size_for(args.store_bytes).map_err(|e| e.to_string())?;
    if store_bytes != args.store_bytes && !args.quiet {
        ereport_host::errln!(
            "sp-sim: --store-bytes {}: using a {store_bytes}-byte store (the size is a const generic)",
            args.store_bytes
        );
    }
    let cfg = SimConfig {
        listen: args.listen,
        store_bytes,
        rate: args.rate,
        fault_every: args.fault_every.filter(|d| !d.is_zero()),
        vpd_delay: Duration::from_millis(args.vpd_delay_ms),
        seed: args.seed,
        log: !args.quiet,
        storm_rate: args.storm,
        storm_control: !args.no_storm_control,
        ..SimConfig::default()
    };
    if args.rack || args.count.is_some() {
        return run_rack(args, cfg);
    }
    if args.inventory_out.is_some() {
        return Err("--inventory-out goes with --rack".into());
    }
    let sim = Sim::start(cfg).map_err(|e| e.to_string())?;
    let stop = sim.stop_handle();
    ctrlc::set_handler(stop).map_err(|e| format!("cannot handle Ctrl-C: {e}"))?;
    let started = Instant::now();
    while !sim.stopping() && args.run_for.is_none_or(|d| started.elapsed() < d) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let st = sim.stop();
    let suppressed: u64 = st.producers.iter().map(|p| p.suppressed).sum();
    if !args.quiet {
        ereport_host::errln!(
            "sp-sim: stopped: {}, {} lost (store full or over a task's share),{} {} producer {} mid-copy, {} {} injected, {} {} sent, {} bad {}",
            count(st.delivered, "ereport stored", "ereports stored"),
            st.lost_full,
            if suppressed > 0 {
                format!(" {suppressed} suppressed by rate limits,")
            } else {
                String::new()
            },
            st.went_away,
            plural(st.went_away, "restart", "restarts"),
            st.faults_injected,
            plural(st.faults_injected, "fault", "faults"),
            st.snitch.responses_sent,
            plural(st.snitch.responses_sent, "response", "responses"),
            st.snitch.short + st.snitch.long + st.snitch.bad_version,
            plural(
                st.snitch.short + st.snitch.long + st.snitch.bad_version,
                "packet",
                "packets"
            ),
        );
    }
    Ok(())
}

/// `--rack`: many SPs until Ctrl-C or --run-for, then one summary.
fn run_rack(args: &Args, cfg: SimConfig) -> Result<(), String> {
    let size = args.count.map_or(sp_sim::rack::RACK_SIZE, usize::from);
    let rack = sp_sim::rack::Rack::start(
        size,
        args.listen,
        &SimConfig {
            // One summary for the rack, not an event log per SP.
            log: false,
            ..cfg
        },
    )
    .map_err(|e| e.to_string())?;
    if let Some(path) = &args.inventory_out {
        let text = serde_json::to_string_pretty(&rack.inventory()).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if !args.quiet {
        let first = rack.sps().next().map(|(s, _)| s.addr);
        let last = rack.sps().last().map(|(s, _)| s.addr);
        if let (Some(first), Some(last)) = (first, last) {
            ereport_host::errln!("sp-sim: a rack of {size} SPs on {first} to {last}");
        }
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = stop.clone();
    ctrlc::set_handler(move || s.store(true, std::sync::atomic::Ordering::SeqCst))
        .map_err(|e| format!("cannot handle Ctrl-C: {e}"))?;
    let started = Instant::now();
    while !stop.load(std::sync::atomic::Ordering::SeqCst)
        && args.run_for.is_none_or(|d| started.elapsed() < d)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = rack.stop();
    if !args.quiet {
        let stored: u64 = stats.iter().map(|(_, s)| s.delivered).sum();
        let lost: u64 = stats.iter().map(|(_, s)| s.lost_full).sum();
        let sent: u64 = stats
            .iter()
            .map(|(_, s)| u64::from(s.snitch.responses_sent))
            .sum();
        ereport_host::errln!(
            "sp-sim: stopped: {} SPs, {}, {} lost, {} {} sent",
            stats.len(),
            count(stored, "ereport stored", "ereports stored"),
            lost,
            sent,
            plural(sent, "response", "responses"),
        );
    }
    Ok(())
}

fn plural<N: PartialEq + From<u8>>(n: N, one: &'static str, many: &'static str) -> &'static str {
    if n == N::from(1) { one } else { many }
}

fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
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
