//! Whether PostgreSQL is installed, for the PostgreSQL tests: where it is
//! not, they are ignored with the reason (and this script says so once,
//! as a build warning), so the test command still passes there. With
//! `EREPORT_REQUIRE_POSTGRES=1` (CI sets it) a missing PostgreSQL fails the
//! build instead.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(postgres_installed)");
    println!("cargo::rerun-if-env-changed=PG_CONFIG");
    println!("cargo::rerun-if-env-changed=EREPORT_REQUIRE_POSTGRES");
    println!("cargo::rerun-if-env-changed=PATH");
    match pg_cluster::installed() {
        Ok(bindir) => {
            println!("cargo::rustc-cfg=postgres_installed");
            println!("cargo::rerun-if-changed={}", bindir.display());
        }
        Err(why) => {
            let required =
                std::env::var("EREPORT_REQUIRE_POSTGRES").is_ok_and(|v| !v.is_empty() && v != "0");
            if required {
                panic!(
                    "EREPORT_REQUIRE_POSTGRES is set, but PostgreSQL is not installed ({why}): {}",
                    pg_cluster::INSTALL_HINT
                );
            }
            println!(
                "cargo::warning=PostgreSQL is not installed ({why}): its tests are ignored; {}",
                pg_cluster::INSTALL_HINT
            );
            // Installing it changes a directory on the PATH: look again.
            if let Some(path) = std::env::var_os("PATH") {
                for dir in std::env::split_paths(&path).filter(|d| d.is_dir()) {
                    println!("cargo::rerun-if-changed={}", dir.display());
                }
            }
        }
    }
}
