//! Schemas of ereport classes, as constants: what a class's fields are,
//! their CBOR types (nested types and enums included), which are optional,
//! and how long each can be. The derive writes them; `reporter!` collects
//! its classes' (`SCHEMAS`). They are plain `const` data: nothing is linked
//! into firmware that does not use them.
//!
//! The workspace keeps the catalog of its own classes in
//! `docs/catalog.json` (made by `cargo run -p sp-sim --bin ereport-catalog`),
//! and a test fails when a class's schema changes without its version.

/// A field type, as it is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeSchema {
    /// An unsigned integer.
    Uint,
    /// A signed integer.
    Int,
    /// A boolean.
    Bool,
    /// A floating-point number.
    Float,
    /// A text string of at most `max_len` bytes.
    Text {
        /// Capacity in bytes.
        max_len: usize,
    },
    /// A byte string of at most `max_len` bytes.
    Bytes {
        /// Capacity in bytes.
        max_len: usize,
    },
    /// An array of `min_items` to `max_items` items of one type.
    Array {
        /// The item type.
        of: &'static TypeSchema,
        /// Fewest items (a fixed array has exactly its length).
        min_items: usize,
        /// Most items.
        max_items: usize,
    },
    /// A map with these fields (a nested struct).
    Map {
        /// The fields.
        fields: &'static [FieldSchema],
    },
    /// One of these variants.
    Enum {
        /// The key naming the variant inside struct variants, if the enum
        /// has one (`variant_id`).
        variant_id: Option<&'static str>,
        /// The variants.
        variants: &'static [VariantSchema],
    },
    /// A fixed sequence of values of these types (a tuple struct).
    Tuple {
        /// The items' types, in order.
        items: &'static [TypeSchema],
    },
    /// Any one of these types (a hand-written field that is, say, a name
    /// or else an index).
    OneOf {
        /// The alternatives.
        types: &'static [TypeSchema],
    },
    /// A type implemented by hand, with no schema given.
    Opaque,
}

/// One field of a map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSchema {
    /// Its key (for a flattened field, the Rust field name: its own keys
    /// join the parent map).
    pub name: &'static str,
    /// Its type.
    pub ty: &'static TypeSchema,
    /// Whether it may be null (or, flattened, absent).
    pub optional: bool,
    /// Whether its entries join the parent map instead of a key of its own.
    pub flattened: bool,
    /// The most bytes its value can take.
    pub max_len: usize,
}

/// One variant of an enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VariantSchema {
    /// Encoded as its name (text).
    Unit {
        /// The name.
        name: &'static str,
    },
    /// Encoded as a map of its fields.
    Struct {
        /// The name.
        name: &'static str,
        /// The fields.
        fields: &'static [FieldSchema],
    },
    /// Encoded as `{name: value}` (or `{name: [values]}`).
    Tuple {
        /// The name.
        name: &'static str,
        /// The values' types.
        items: &'static [TypeSchema],
    },
}

/// An ereport class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClassSchema {
    /// `"k"`.
    pub class: &'static str,
    /// `"v"`.
    pub version: u32,
    /// What follows `"k"` and `"v"`: a [`TypeSchema::Map`] of fields, or
    /// for an enum class a [`TypeSchema::Enum`] of variants.
    pub body: TypeSchema,
    /// The most bytes an ereport of the class takes.
    pub max_len: usize,
}

/// The schema of the SDK's suppression record (see [`crate::storm`]).
pub const SUPPRESSED_SCHEMA: ClassSchema = ClassSchema {
    class: crate::storm::SUPPRESSED_CLASS,
    version: crate::storm::SUPPRESSED_VERSION,
    body: TypeSchema::Map {
        fields: &[
            FieldSchema {
                name: "class",
                ty: &TypeSchema::Text {
                    max_len: crate::MAX_EREPORT_LEN,
                },
                optional: false,
                flattened: false,
                max_len: crate::MAX_EREPORT_LEN,
            },
            FieldSchema {
                name: "count",
                ty: &TypeSchema::Uint,
                optional: false,
                flattened: false,
                max_len: 5,
            },
            FieldSchema {
                name: "first_ms",
                ty: &TypeSchema::Uint,
                optional: false,
                flattened: false,
                max_len: 9,
            },
            FieldSchema {
                name: "last_ms",
                ty: &TypeSchema::Uint,
                optional: false,
                flattened: false,
                max_len: 9,
            },
        ],
    },
    max_len: crate::MAX_EREPORT_LEN,
};
