use ereport_sdk::EreportField;

#[derive(EreportField)]
#[ereport(variant_id = "kind")]
enum Mixed {
    Named { a: u8 },
    Tuple(u8),
}

fn main() {}
