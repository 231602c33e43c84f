use ereport_sdk::EreportField;

#[derive(EreportField)]
#[ereport(class = "hw.x")]
struct Nested {
    a: u8,
}

fn main() {}
