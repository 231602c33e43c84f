//! Instruction counts for the benchmark examples (`w1-bench`,
//! `producer-bench`): the running
//! program runs itself again under `valgrind --tool=callgrind` with
//! `--run-once`, collecting only inside one function.

use std::process::Command;

/// Instructions executed inside functions matching `*function*` during one
/// `--run-once` pass of this program.
pub fn instructions_in(function: &str) -> Result<u64, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let stem = exe
        .file_stem()
        .map_or_else(|| "bench".into(), |s| s.to_string_lossy().into_owned());
    let out = std::env::temp_dir().join(format!(
        "{stem}-{}-{function}.callgrind",
        std::process::id()
    ));
    let run = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(format!("--toggle-collect=*{function}*"))
        .arg(&exe)
        .arg("--run-once")
        .output()
        .map_err(|e| format!("cannot run valgrind (is it installed?): {e}"))?;
    if !run.status.success() {
        return Err(format!(
            "valgrind failed: {}",
            String::from_utf8_lossy(&run.stderr)
        ));
    }
    let text = std::fs::read_to_string(&out).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&out);
    text.lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| "no totals in callgrind output".to_string())
}
