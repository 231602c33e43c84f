use ereport_sdk::{Ereport, EreportField};

#[derive(EreportField)]
#[ereport(variant_id = "kind")]
enum Source {
    Sensor { id: u8 },
}

#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0)]
struct Outer {
    kind: u8,
    #[ereport(flatten)]
    source: Source,
}

#[derive(EreportField)]
#[ereport(variant_id = "id")]
enum Direct {
    Sensor { id: u8 },
}

fn main() {}
