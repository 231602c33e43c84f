// Keys the control plane merges into every ereport's JSON object cannot be
// field names: one would hide the other.
use ereport_sdk::{Ereport, EreportField};

#[derive(Ereport)]
#[ereport(class = "hw.test.a", version = 0)]
struct TaskName {
    hubris_task_name: u8,
}

#[derive(Ereport)]
#[ereport(class = "hw.test.b", version = 0)]
struct RenamedToMetadata {
    #[ereport(rename = "baseboard_serial_number")]
    serial: u8,
}

#[derive(EreportField)]
struct Envelope {
    hubris_uptime_ms: u64,
}

#[derive(Ereport)]
#[ereport(class = "hw.test.c", version = 0)]
struct ThroughFlatten {
    #[ereport(flatten)]
    inner: Envelope,
}

#[derive(Ereport)]
#[ereport(class = "hw.test.d", version = 0)]
struct CollectorKeys {
    ena: u64,
    #[ereport(rename = "sp_name")]
    name: u8,
}

#[derive(Ereport)]
#[ereport(class = "hw.test.e", version = 0)]
struct Flagged {
    invalid_ereport_error: u8,
}

fn main() {
    let _ = <ThroughFlatten as Ereport>::MAX_LEN;
}
