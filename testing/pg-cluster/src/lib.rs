//! Test support (never shipped): throwaway PostgreSQL clusters for the
//! gateway's tests and benchmarks, and [`installed`], which says whether
//! PostgreSQL is there at all.
//!
//! PostgreSQL refuses to run as root, so when the tests run as root the
//! server's programs run as the `postgres` user (`runuser`). Each cluster
//! gets a private socket directory and a free port, listens on no TCP
//! address, and is stopped and removed on drop.
//!
//! The programs are found through `pg_config --bindir`; the environment
//! variable `PG_CONFIG` names another `pg_config` (a path that does not
//! exist hides PostgreSQL, which is how the skip path is tested).

use std::path::PathBuf;
use std::process::Command;
use std::time::SystemTime;

/// Where PostgreSQL's server programs are (`pg_config --bindir`, holding
/// `initdb` and `pg_ctl`), or why they are not there.
pub fn installed() -> Result<PathBuf, String> {
    let pg_config = std::env::var_os("PG_CONFIG").unwrap_or_else(|| "pg_config".into());
    let out = Command::new(&pg_config)
        .arg("--bindir")
        .output()
        .map_err(|e| format!("{} --bindir: {e}", PathBuf::from(&pg_config).display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} --bindir failed",
            PathBuf::from(&pg_config).display()
        ));
    }
    let bindir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    for program in ["initdb", "pg_ctl"] {
        if !bindir.join(program).is_file() {
            return Err(format!("no {program} in {}", bindir.display()));
        }
    }
    Ok(bindir)
}

/// What to tell a person who has no PostgreSQL.
pub const INSTALL_HINT: &str =
    "install PostgreSQL (Debian: apt-get install postgresql) to run the PostgreSQL tests";

/// A throwaway PostgreSQL cluster, for tests and benchmarks: `initdb` and `pg_ctl` (from `pg_config
/// --bindir`) as the `postgres` user when running as root (PostgreSQL
/// refuses root), on a private socket directory and a free port; stopped
/// and removed on drop.
pub struct TempCluster {
    dir: PathBuf,
    bindir: PathBuf,
    /// The server's options, to start it again the same way.
    opts: String,
    /// The connection string (`host=… port=… user=postgres dbname=postgres`).
    pub url: String,
}

fn as_postgres(program: &std::path::Path) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl TempCluster {
    /// Starts a cluster; panics with what went wrong if it cannot (it is
    /// for tests and benchmarks, which are skipped where PostgreSQL is not
    /// [`installed`]).
    pub fn start() -> TempCluster {
        use std::os::unix::fs::PermissionsExt;
        let bindir = match installed() {
            Ok(b) => b,
            Err(why) => panic!("PostgreSQL is not installed ({why}): {INSTALL_HINT}"),
        };
        let dir = std::env::temp_dir().join(format!(
            "ereport-pg-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let data = dir.join("data");
        let st = as_postgres(&bindir.join("initdb"))
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                // The same collation whatever the environment's locale: C
                // (text ordered by its bytes).
                "--locale=C",
                "-D",
            ])
            .arg(&data)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "initdb failed");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let opts = format!(
            "-k {} -p {port} -c listen_addresses='' -c fsync=off -c synchronous_commit=off",
            dir.display()
        );
        let cluster = TempCluster {
            url: format!(
                "host={} port={port} user=postgres dbname=postgres",
                dir.display()
            ),
            dir,
            bindir,
            opts,
        };
        cluster.start_server();
        cluster
    }

    /// The server's process id (the postmaster's), while it runs.
    pub fn server_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.join("data").join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// Starts the server (again), waiting until it accepts connections.
    pub fn start_server(&self) {
        let st = as_postgres(&self.bindir.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-w", "-o", &self.opts, "start"])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(
            st.success(),
            "pg_ctl start failed: see {}",
            self.dir.join("log").display()
        );
    }

    /// Stops the server as an administrator's restart does (`-m fast`:
    /// sessions are ended, connections dropped), waiting until it is down.
    pub fn stop_server(&self) {
        let st = as_postgres(&self.bindir.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-w", "-m", "fast", "stop"])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "pg_ctl stop failed");
    }

    /// The connection string for another user of the same database.
    pub fn url_for(&self, user: &str) -> String {
        self.url.replace("user=postgres", &format!("user={user}"))
    }
}

impl Drop for TempCluster {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bindir.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(std::process::Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
