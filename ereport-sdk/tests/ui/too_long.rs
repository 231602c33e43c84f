use ereport_sdk::Ereport;

#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0)]
struct Huge {
    message: heapless::String<1000>,
    more: [u32; 10],
}

fn main() {}
