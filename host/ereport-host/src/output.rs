//! What people see: one line per ereport, escaped and aligned; events and
//! summaries counted in words.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::json::Loss;
use crate::record::{Event, GapKind, GatewayStats, StoredEreport};

/// Width of the ENA column: ENAs up to a million align.
const ENA_WIDTH: usize = 7;
/// Width of the task-name column.
const TASK_WIDTH: usize = 14;

/// `text` with control characters (and backslashes) escaped, so nothing an
/// SP sends can move the cursor or forge a line.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "{}", c.escape_default());
            }
            c => out.push(c),
        }
    }
    out
}

/// `n` and the noun, singular or plural: "1 ereport", "12 ereports".
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The human line for one ereport.
pub fn ereport_line(e: &StoredEreport) -> String {
    ereport_line_with_ena(e, Some(e.ena))
}

/// The human line for one ereport whose ENA may be unknown (`?`), as for
/// records recovered from a memory image.
pub fn ereport_line_with_ena(e: &StoredEreport, ena: Option<ereport_sdk::Ena>) -> String {
    let ena = ena.map_or_else(|| "?".to_string(), |e| e.to_string());
    let what = if let Some(why) = &e.invalid_error {
        format!("INVALID ({})", escape(why))
    } else if let Some(loss) = e.loss() {
        match loss {
            Loss::Certain(Some(n)) => format!("lost {}", count(n, "ereport", "ereports")),
            Loss::Certain(None) => format!(
                "lost ereports (count {})",
                e.report
                    .get(crate::json::keys::LOST)
                    .map_or_else(String::new, |n| n.to_string())
            ),
            Loss::Possible => "lost an unknown number of ereports (before boot)".to_string(),
        }
    } else {
        escape(e.class().as_deref().unwrap_or("(no class)"))
    };
    let what = match &e.catalog_error {
        Some(why) => format!("{what}  [not in the catalog: {}]", escape(why)),
        None => what,
    };
    format!(
        "{} ENA {:>ENA_WIDTH$}  {:<TASK_WIDTH$} gen {:<3} {:>12} ms  {}",
        restart_uuid(e.restart_id),
        ena,
        escape(&e.task_name),
        e.task_gen,
        e.uptime_ms,
        what
    )
}

/// A restart id as the control plane writes it: a hyphenated UUID.
pub fn restart_uuid(rid: ereport_sdk::RestartId) -> String {
    uuid::Uuid::from_u128(rid.0).hyphenated().to_string()
}

/// One ereport as `--json` prints it: the report as the control plane
/// stores it, with where it came from beside it (not merged into it):
/// `{"restart_id", "ena", "sp_name", "class", "report"}`, and
/// `catalog_error` when the catalog check flagged it.
pub fn ereport_json_line(e: &StoredEreport, sp: Option<&str>) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    m.insert(
        crate::json::keys::RESTART_ID.into(),
        restart_uuid(e.restart_id).into(),
    );
    m.insert(crate::json::keys::ENA.into(), e.ena.0.into());
    if let Some(sp) = sp {
        m.insert(crate::json::keys::SP_NAME.into(), sp.into());
    }
    m.insert("class".into(), e.class().into());
    if let Some(why) = &e.catalog_error {
        m.insert(crate::json::keys::CATALOG_ERROR.into(), why.clone().into());
    }
    m.insert("report".into(), e.report.clone());
    serde_json::Value::Object(m)
}

/// The human line for an event.
pub fn event_line(e: &Event) -> String {
    match e {
        Event::Restart { from: None, to } => format!("SP restart id {}", restart_uuid(*to)),
        Event::Restart { from: Some(f), to } => format!(
            "SP restarted: restart id {} -> {}",
            restart_uuid(*f),
            restart_uuid(*to)
        ),
        Event::Gap(g) => match g.kind {
            GapKind::Skipped => format!(
                "gap: restart {} ENAs {} to {} were never sent ({} missing)",
                restart_uuid(g.restart_id),
                g.first,
                g.last,
                count(g.len(), "ereport", "ereports")
            ),
            GapKind::FreedBeforeFirstContact => format!(
                "restart {} ENAs {} to {} are not in this database ({}): the SP had \
                 already freed them, so they were committed elsewhere before this \
                 database first saw the restart",
                restart_uuid(g.restart_id),
                g.first,
                g.last,
                count(g.len(), "ereport", "ereports")
            ),
        },
        Event::CursorAhead {
            committed,
            sp_earliest,
        } => format!(
            "the database had committed through ENA {committed}, but the SP still holds ENA {sp_earliest}: starting again from the SP's earliest record"
        ),
        Event::Rejected(r) => format!("rejected a response: {r}"),
    }
}

/// The one-line summary of a run.
pub fn summary_line(st: &GatewayStats) -> String {
    let mut s = format!(
        "{} stored, {} sent",
        count(st.stored, "new ereport", "new ereports"),
        count(st.requests, "request", "requests")
    );
    if st.invalid > 0 {
        let _ = write!(s, ", {} flagged invalid", st.invalid);
    }
    if st.loss_records > 0 {
        let _ = write!(
            s,
            ", {} (the SP lost {})",
            count(st.loss_records, "loss record", "loss records"),
            count(st.lost, "ereport", "ereports")
        );
    }
    if st.gaps > 0 {
        let _ = write!(
            s,
            ", {} ({} not in the database)",
            count(st.gaps, "gap", "gaps"),
            count(st.gap_enas, "ENA", "ENAs")
        );
    }
    if st.catalog_mismatches > 0 {
        let _ = write!(
            s,
            ", {} not matching the catalog",
            count(st.catalog_mismatches, "ereport", "ereports")
        );
    }
    if st.rejected > 0 {
        let _ = write!(
            s,
            ", {} rejected",
            count(st.rejected, "response", "responses")
        );
    }
    if st.timeouts > 0 {
        let _ = write!(s, ", {}", count(st.timeouts, "timeout", "timeouts"));
    }
    if st.restarts_seen > 0 {
        let _ = write!(
            s,
            ", {} seen",
            count(st.restarts_seen, "SP restart", "SP restarts")
        );
    }
    s
}

/// The summary as one JSON object.
pub fn summary_json(st: &GatewayStats) -> serde_json::Value {
    serde_json::json!({
        "summary": {
            "stored": st.stored,
            "invalid": st.invalid,
            "catalog_mismatches": st.catalog_mismatches,
            "loss_records": st.loss_records,
            "lost": st.lost,
            "gaps": st.gaps,
            "gap_enas": st.gap_enas,
            "rejected": st.rejected,
            "requests": st.requests,
            "timeouts": st.timeouts,
            "ignored": st.ignored,
            "restarts_seen": st.restarts_seen,
            "yielded": st.yielded,
            "already_stored": st.already_stored,
        }
    })
}

/// `error` and every cause under it, joined by `: `, skipping a cause
/// whose text its parent already said: what a program prints, so the
/// driver's reason (a permission, a timeout) reaches the screen.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !said.is_empty() && !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

/// Writes one line to standard error, ignoring failure: a program whose
/// standard error is a closed pipe carries on (and says nothing) rather
/// than panicking as `eprintln!` does.
pub fn stderr_line(text: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// Set once standard output is found closed.
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Writes one line to standard output. After the reader has gone
/// (`| head`), writes nothing and returns `false` (as does
/// [`stdout_open`]): the program can stop producing output and exit
/// quietly, where `println!` panics.
pub fn stdout_line(text: &str) -> bool {
    use std::sync::atomic::Ordering;
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return false;
    }
    let mut out = io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => true,
        Err(e) => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            if e.kind() != io::ErrorKind::BrokenPipe {
                stderr_line(&format!("cannot write to standard output: {e}"));
            }
            false
        }
    }
}

/// Whether standard output is still being read (see [`stdout_line`]).
pub fn stdout_open() -> bool {
    !STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed)
}

/// `println!` that does not panic on a closed pipe: a line through
/// [`stdout_line`](crate::output::stdout_line), `false` once standard
/// output is closed.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::stdout_line(&::std::format!($($arg)*))
    };
}

/// `eprintln!` that does not panic on a closed pipe: a line through
/// [`stderr_line`](crate::output::stderr_line).
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::output::stderr_line(&::std::format!($($arg)*))
    };
}

/// Standard output, buffered, that reports a closed pipe instead of
/// panicking. Lines are written out by [`flush`](Self::flush) (a program
/// calls it after each batch, so a follower sees each poll's lines at
/// once) and when it is dropped.
pub struct Out {
    out: io::BufWriter<io::Stdout>,
    closed: bool,
}

impl Default for Out {
    fn default() -> Self {
        Self {
            out: io::BufWriter::with_capacity(64 * 1024, io::stdout()),
            closed: false,
        }
    }
}

impl Out {
    /// Writes one line; after the reader has gone (`| head`), writes
    /// nothing and [`closed`](Self::closed) says so.
    pub fn line(&mut self, text: &str) {
        if self.closed {
            return;
        }
        if let Err(e) = writeln!(self.out, "{text}") {
            self.failed(&e);
        }
    }

    /// Writes out what is buffered.
    pub fn flush(&mut self) {
        if self.closed {
            return;
        }
        if let Err(e) = self.out.flush() {
            self.failed(&e);
        }
    }

    fn failed(&mut self, e: &io::Error) {
        self.closed = true;
        if e.kind() != io::ErrorKind::BrokenPipe {
            stderr_line(&format!("cannot write to standard output: {e}"));
        }
    }

    /// Whether standard output has been closed.
    pub fn closed(&self) -> bool {
        self.closed
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_forge_lines() {
        assert_eq!(escape("a\nb\x1b[2J\\"), "a\\nb\\u{1b}[2J\\\\");
        assert_eq!(escape("plain.class"), "plain.class");
    }

    #[test]
    fn error_chains_say_each_cause_once() {
        #[derive(Debug)]
        struct Leaf;
        impl std::fmt::Display for Leaf {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("permission denied for schema public")
            }
        }
        impl std::error::Error for Leaf {}
        #[derive(Debug)]
        struct Mid(Leaf);
        impl std::fmt::Display for Mid {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("db error")
            }
        }
        impl std::error::Error for Mid {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        #[derive(Debug)]
        struct Top(Mid);
        impl std::fmt::Display for Top {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "postgres://u:***@h/db: {}", self.0)
            }
        }
        impl std::error::Error for Top {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        assert_eq!(
            error_chain(&Top(Mid(Leaf))),
            "postgres://u:***@h/db: db error: permission denied for schema public"
        );
    }

    #[test]
    fn counts_read_as_words() {
        assert_eq!(count(1, "ereport", "ereports"), "1 ereport");
        assert_eq!(count(12, "ereport", "ereports"), "12 ereports");
    }
}
