//! Hygiene check: `ereport-sdk` is a dependency under another name, and
//! nothing called `ereport_sdk` is in scope, yet the derives expand.

#![no_std]

use sdk::{Ereport, EreportField};

/// A nested type.
#[derive(EreportField)]
pub struct Inner {
    /// A field.
    pub a: u8,
}

/// An ereport using every path the derive generates.
#[derive(Ereport)]
#[ereport(class = "test.hygiene", version = 0)]
pub struct Renamed {
    /// A nested field.
    pub inner: Inner,
    /// A flattened field.
    #[ereport(flatten)]
    pub flat: Option<Inner2>,
}

/// A flattened type.
#[derive(EreportField)]
pub struct Inner2 {
    /// A field.
    pub b: u16,
}

/// The same with an explicit `crate` path.
#[derive(Ereport)]
#[ereport(class = "test.hygiene.explicit", version = 1, crate = "sdk")]
pub struct Explicit {
    /// A field.
    pub x: u8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_expand_under_a_renamed_crate() {
        let mut buf = [0u8; Renamed::MAX_LEN];
        let n = Renamed {
            inner: Inner { a: 1 },
            flat: Some(Inner2 { b: 2 }),
        }
        .encode_to_slice(&mut buf)
        .unwrap();
        let v = sdk::decode::decode_value(&buf[..n]).unwrap();
        assert_eq!(
            v.diagnostic(),
            r#"{"k": "test.hygiene", "v": 0, "inner": {"a": 1}, "b": 2}"#
        );
        assert_eq!(Explicit::CLASS, "test.hygiene.explicit");
    }
}
