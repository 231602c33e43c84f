//! `sp-sim` and the demo, driven by their flags as a user would.

use std::process::Command;

fn sp_sim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sp-sim"))
}

/// An example's executable: `cargo test` builds the package's examples
/// beside the test binaries (`target/<profile>/examples/`).
#[test]
fn sp_sim_refuses_remote_addresses_unless_allowed() {
    let out = sp_sim()
        .args(["--listen", "0.0.0.0:0", "--run-for", "0s"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("non-loopback") && err.contains("--allow-remote"),
        "{err}"
    );
}

#[test]
fn bad_values_name_the_flag_and_the_expected_form() {
    for (args, flag, hint) in [
        (vec!["--store-bytes", "10"], "store", "64"),
        (vec!["--store-bytes", "100000"], "store", "65536"),
        (
            vec!["--store-bytes", "many"],
            "--store-bytes",
            "invalid digit",
        ),
        (vec!["--rate", "-3"], "--rate", "non-negative"),
        (vec!["--rate", "abc"], "--rate", "non-negative"),
        (vec!["--fault-every", "soon"], "--fault-every", "soon"),
        (vec!["--listen", "127.0.0.1:http"], "--listen", "port"),
        (vec!["--bogus"], "--bogus", "unexpected argument"),
    ] {
        let out = sp_sim().args(&args).arg("--quiet").output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag) && err.contains(hint), "{args:?}: {err}");
    }
}

#[test]
fn help_and_version() {
    let out = sp_sim().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for text in [
        "--listen",
        "[default: 127.0.0.1:57005]",
        "[default: 4096]",
        "Examples:",
    ] {
        assert!(help.contains(text), "{text} in\n{help}");
    }
    let out = sp_sim().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("sp-sim "));
}

#[test]
fn a_host_name_listens_and_one_summary_is_printed() {
    let out = sp_sim()
        .args([
            "--listen",
            "localhost:0",
            "--run-for",
            "300ms",
            "--rate",
            "0",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("stopped").count(), 1, "{err}");
    let quiet = sp_sim()
        .args(["--listen", "127.0.0.1:0", "--run-for", "100ms", "--quiet"])
        .output()
        .unwrap();
    assert!(quiet.status.success());
    assert!(
        quiet.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stderr)
    );
}

#[test]
fn a_rack_writes_its_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("rack.json");
    let out = sp_sim()
        .args([
            "--count",
            "6",
            "--listen",
            "127.0.0.1:0",
            "--run-for",
            "300ms",
            "--rate",
            "0",
        ])
        .arg("--inventory-out")
        .arg(&inventory)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inv: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&inventory).unwrap()).unwrap();
    let sps = inv.as_array().unwrap();
    assert_eq!(sps.len(), 6);
    assert_eq!(sps[0]["name"], "sled-00");
    assert_eq!(sps[0]["kind"], "sled");
    assert_eq!(sps[2]["kind"], "switch");
    assert_eq!(sps[5]["name"], "power-1");
    let addrs: std::collections::BTreeSet<&str> =
        sps.iter().map(|s| s["address"].as_str().unwrap()).collect();
    assert_eq!(addrs.len(), 6, "each SP on its own port");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("stopped").count(), 1, "{err}");
    assert!(err.contains("6 SPs"), "{err}");
}
