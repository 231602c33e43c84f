use ereport_sdk::Ereport;

#[derive(Ereport)]
#[ereport(clas = "hw.x", version = 0)]
struct Typo {
    a: u8,
}

#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0)]
struct FieldTypo {
    #[ereport(renam = "b")]
    a: u8,
}

fn main() {}
