//! Builds one of the Cortex-M programs of `examples/cortex-m` with the
//! firmware profile and returns where cargo put it,
//! honoured.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Builds the `bin` program of `examples/cortex-m` for thumbv7em.
pub fn build(bin: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/cortex-m");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(&dir)
        .args([
            "build",
            "--profile",
            "firmware",
            "--target",
            "thumbv7em-none-eabihf",
        ])
        .args(["--bin", bin, "--message-format=json"])
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "building the Cortex-M program {bin} failed"
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == bin)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reports the executable")
}
