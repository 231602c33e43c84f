use ereport_sdk::Ereport;

#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0)]
struct Renamed {
    a: u8,
    #[ereport(rename = "a")]
    b: u8,
}

fn main() {}
