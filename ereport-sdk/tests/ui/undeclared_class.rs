use ereport_sdk::{DeliverError, DeliverEreport, Ena, Ereport};

#[derive(Ereport)]
#[ereport(class = "hw.a", version = 0)]
struct A {
    x: u8,
}

#[derive(Ereport)]
#[ereport(class = "hw.b", version = 0)]
struct B {
    x: u8,
}

ereport_sdk::reporter! {
    struct OnlyA { A }
}

struct Packrat;
impl DeliverEreport for Packrat {
    fn deliver_ereport(&self, _: &[u8]) -> Result<Ena, DeliverError> {
        Ok(Ena(1))
    }
}

fn main() {
    let mut r = OnlyA::new();
    let _ = r.deliver(&Packrat, &B { x: 1 });
}
