//! `storm`: the storm scenario with storm control and without, printed as
//! `name: value` lines for BENCHMARKS.md.

use ereport_demo::storm as scenario;

use std::time::Duration;

use clap::Parser;

/// Runs a PMBus-alert storm on a simulated SP, once with storm control and
/// once without, and prints what reached the gateway from the quiet
/// producers.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The storming alert's rate, reports a second.
    #[arg(long, default_value_t = 5000.0)]
    storm_rate: f64,
    /// The quiet producers' rate, all together, reports a second.
    #[arg(long, default_value_t = 30.0)]
    quiet_rate: f64,
    /// How long the storm lasts, in seconds.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// How often the gateway takes a round of responses from the SP, in
    /// milliseconds.
    #[arg(long, default_value_t = 500)]
    poll_ms: u64,
}

fn main() {
    let a = Args::parse();
    for (name, control) in [("with_control", true), ("without_control", false)] {
        let o = scenario::run(
            control,
            a.storm_rate,
            a.quiet_rate,
            Duration::from_secs_f64(a.seconds),
            Duration::from_millis(a.poll_ms),
            7,
        );
        println!("storm.{name}.quiet.attempted: {}", o.quiet_attempted);
        println!("storm.{name}.quiet.stored: {}", o.quiet_stored);
        println!("storm.{name}.quiet.lost: {}", o.quiet_lost);
        println!("storm.{name}.quiet.at_gateway: {}", o.quiet_at_gateway);
        let pct = if o.quiet_attempted == 0 {
            100.0
        } else {
            100.0 * o.quiet_at_gateway as f64 / o.quiet_attempted as f64
        };
        println!("storm.{name}.quiet.delivered_percent: {pct:.1}");
        println!("storm.{name}.storm.attempted: {}", o.storm_attempted);
        println!("storm.{name}.storm.stored: {}", o.storm_stored);
        println!("storm.{name}.storm.suppressed: {}", o.storm_suppressed);
        println!("storm.{name}.storm.lost: {}", o.storm_lost);
        println!(
            "storm.{name}.suppression_records: {}",
            o.suppression_records
        );
    }
}
