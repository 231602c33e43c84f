//! `ereport-catalog`: the catalog of the workspace's ereport classes, as
//! JSON or Markdown, or checked against a committed file.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ereport_host::catalog_file::{catalog_markdown, check_catalog};
use sp_sim::catalog::workspace_catalog;

/// Prints the catalog of every ereport class the simulated SP can send
/// (producers' classes, packrat's fault and loss records, the SDK's
/// suppression record): each class's version, fields, their CBOR types,
/// which are optional, and their maximum lengths.
///
/// With --check, compares a committed catalog instead and fails if a class
/// changed its fields without changing its version, or the file is stale.
#[derive(Parser, Debug)]
#[command(version, about, long_about)]
struct Args {
    /// Print Markdown (a table per class) instead of JSON.
    #[arg(long, conflicts_with = "check")]
    markdown: bool,
    /// Check this committed catalog (e.g. docs/catalog.json).
    #[arg(long, value_name = "FILE")]
    check: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let current = workspace_catalog();
    if let Some(path) = &args.check {
        let committed = match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(c) => c,
            Err(e) => {
                ereport_host::errln!("ereport-catalog: {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        };
        let problems = check_catalog(&committed, &current);
        for p in &problems {
            ereport_host::errln!("ereport-catalog: {p}");
        }
        return if problems.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    if args.markdown {
        ereport_host::outln!("{}", catalog_markdown(&current).trim_end_matches('\n'));
    } else {
        match serde_json::to_string_pretty(&current) {
            Ok(s) => {
                ereport_host::outln!("{s}");
            }
            Err(e) => {
                ereport_host::errln!("ereport-catalog: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
