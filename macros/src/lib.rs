//! `#[derive(Ereport)]` and `#[derive(EreportField)]`.
//!
//! Use these through `ereport-sdk`, which re-exports them and holds the traits
//! they implement; the SDK's documentation describes the encoding. This crate
//! only turns a type definition into those impls, and rejects at compile
//! time, with a span on the offending tokens, everything it would otherwise
//! have to ignore or get wrong: a malformed class, unknown attribute keys,
//! keys that collide (also through `flatten` and the variant-id key, checked
//! by a const evaluation since a derive cannot see other types' fields),
//! shapes with no map encoding, field names the control plane reserves, and
//! ereports that could exceed `ereport_sdk::MAX_EREPORT_LEN`.
//!
//! Generated code names the SDK as `::ereport_sdk`, or as the name the
//! calling crate's `Cargo.toml` gives it when it renames the dependency
//! (found with `proc-macro-crate`, workspace inheritance included), or as
//! `#[ereport(crate = "path")]` says.
//!
//! - `parse`: the type definition as fields and shapes, validated;
//! - `expand`: the impls generated from them;
//! - `krate`: how the generated code names the SDK.

mod attrs;
mod expand;
mod krate;
mod parse;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `ereport_sdk::Ereport`: see the SDK's documentation.
#[proc_macro_derive(Ereport, attributes(ereport, cbor))]
pub fn derive_ereport(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::expand(&input, parse::Kind::Ereport)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derives `ereport_sdk::EreportField` (and `FlattenFields` where the type can
/// be flattened) for types nested inside ereports.
#[proc_macro_derive(EreportField, attributes(ereport, cbor))]
pub fn derive_ereport_field(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::expand(&input, parse::Kind::Field)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
