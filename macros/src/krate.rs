//! How generated code names the SDK: `::ereport_sdk`, or whatever name the
//! calling crate's manifest gives `ereport-sdk` (a rename, directly or
//! inherited from the workspace), as `proc-macro-crate` finds it.

use proc_macro_crate::{FoundCrate, crate_name};
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::Ident;

/// The SDK's package name.
const SDK_PACKAGE: &str = "ereport-sdk";

/// The path generated code uses for the SDK. Inside the SDK itself (its
/// tests, examples and doctests) that is `::ereport_sdk` too: the SDK
/// declares `extern crate self as ereport_sdk`.
pub fn sdk_path() -> TokenStream {
    match crate_name(SDK_PACKAGE) {
        Ok(FoundCrate::Name(name)) => {
            let ident = Ident::new(&name, Span::call_site());
            quote!(::#ident)
        }
        // Not a dependency we can see (a doctest, a build outside cargo):
        // the SDK's own name, which `#[ereport(crate = "...")]` overrides.
        Ok(FoundCrate::Itself) | Err(_) => quote!(::ereport_sdk),
    }
}
