use ereport_sdk::Ereport;

#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0)]
struct NamedK {
    k: u8,
}

#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0)]
struct RenamedV {
    #[ereport(rename = "v")]
    version: u8,
}

fn main() {}
