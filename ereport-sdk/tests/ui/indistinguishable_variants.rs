use ereport_sdk::EreportField;

// Both variants write {"owner": ..}: which one it was is lost.
#[derive(EreportField)]
enum Lock {
    Busy { owner: u8 },
    Held { owner: u8 },
}

// Different keys can be told apart, and a variant id names the variant.
#[derive(EreportField)]
enum Reading {
    Celsius { c: i16 },
    Raw { raw: u16 },
}

#[derive(EreportField)]
#[ereport(variant_id = "kind")]
enum Owner {
    Busy { owner: u8 },
    Held { owner: u8 },
}

fn main() {}
