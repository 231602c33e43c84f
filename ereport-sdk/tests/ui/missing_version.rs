use ereport_sdk::Ereport;

#[derive(Ereport)]
#[ereport(class = "hw.x")]
struct NoVersion {
    a: u8,
}

fn main() {}
