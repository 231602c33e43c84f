//! Parsing `#[ereport(...)]` attributes, rejecting what would be ignored.
//!
//! `#[cbor(...)]` is read the same way, so that types written for upstream
//! Hubris's derive (`#[cbor(rename, skip, skip_if_nil, flatten)]` on fields,
//! `#[cbor(rename)]` on variants, `#[cbor(variant_id)]` on enums) port by
//! changing imports. A type may carry one of each; a key given in both is a
//! duplicate.

use proc_macro2::Span;
use syn::spanned::Spanned as _;
use syn::{Attribute, Error, LitInt, LitStr, Path, Result};

/// A value with the span of the tokens it came from.
#[derive(Clone)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

#[derive(Default)]
pub struct TypeAttrs {
    pub class: Option<Spanned<String>>,
    pub version: Option<Spanned<u32>>,
    pub rate_limit: Option<Spanned<RateLimit>>,
    pub variant_id: Option<Spanned<String>>,
    pub krate: Option<Path>,
}

/// `rate_limit(per_second = N, burst = M)`.
#[derive(Clone, Copy)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

#[derive(Default)]
pub struct FieldAttrs {
    pub rename: Option<Spanned<String>>,
    pub skip: Option<Span>,
    pub flatten: Option<Span>,
    /// Leave the entry out when the value is null (`None`).
    pub skip_if_nil: Option<Span>,
}

#[derive(Default)]
pub struct VariantAttrs {
    pub rename: Option<Spanned<String>>,
}

/// The attribute names this derive reads: its own, and upstream's.
const ATTR_NAMES: [&str; 2] = ["ereport", "cbor"];

/// The `#[ereport]` and `#[cbor]` attributes among `attrs`, at most one of
/// each; a second of either is an error.
fn the_attrs(attrs: &[Attribute]) -> Result<Vec<&Attribute>> {
    let mut found: Vec<&Attribute> = Vec::new();
    for name in ATTR_NAMES {
        let mut named = attrs.iter().filter(|a| a.path().is_ident(name));
        if let Some(first) = named.next() {
            if let Some(second) = named.next() {
                return Err(Error::new(
                    second.span(),
                    format!("duplicate #[{name}] attribute: put every key in one #[{name}(...)]"),
                ));
            }
            found.push(first);
        }
    }
    Ok(found)
}

fn set_once<T>(slot: &mut Option<T>, value: T, span: Span, key: &str) -> Result<()> {
    if slot.is_some() {
        return Err(Error::new(
            span,
            format!("duplicate `{key}` in #[ereport] or #[cbor]"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

fn unknown(meta: &syn::meta::ParseNestedMeta<'_>, allowed: &str) -> Error {
    let name = meta
        .path
        .get_ident()
        .map(|i| i.to_string())
        .unwrap_or_else(|| "?".into());
    meta.error(format!(
        "unknown ereport attribute `{name}`; expected {allowed}"
    ))
}

pub fn type_attrs(attrs: &[Attribute]) -> Result<TypeAttrs> {
    let mut out = TypeAttrs::default();
    for attr in the_attrs(attrs)? {
        type_attr(attr, &mut out)?;
    }
    Ok(out)
}

fn type_attr(attr: &Attribute, out: &mut TypeAttrs) -> Result<()> {
    attr.parse_nested_meta(|meta| {
        let span = meta.path.span();
        if meta.path.is_ident("class") {
            let lit: LitStr = meta.value()?.parse()?;
            let v = Spanned {
                value: lit.value(),
                span: lit.span(),
            };
            set_once(&mut out.class, v, span, "class")
        } else if meta.path.is_ident("version") {
            let expr: syn::Expr = meta.value()?.parse()?;
            let lit = match &expr {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Int(i),
                    ..
                }) => i.clone(),
                other => {
                    return Err(Error::new(
                        other.span(),
                        "`version` must be an unsigned integer literal, like `version = 0`",
                    ));
                }
            };
            let value = parse_version(&lit)?;
            set_once(
                &mut out.version,
                Spanned {
                    value,
                    span: lit.span(),
                },
                span,
                "version",
            )
        } else if meta.path.is_ident("variant_id") {
            let v = non_empty_str(&meta, "variant_id")?;
            set_once(&mut out.variant_id, v, span, "variant_id")
        } else if meta.path.is_ident("crate") {
            let lit: LitStr = meta.value()?.parse()?;
            let path: Path = lit.parse()?;
            set_once(&mut out.krate, path, span, "crate")
        } else if meta.path.is_ident("rate_limit") {
            let limit = rate_limit(&meta)?;
            set_once(&mut out.rate_limit, limit, span, "rate_limit")
        } else {
            Err(unknown(
                &meta,
                "`class`, `version`, `rate_limit`, `variant_id` or `crate`",
            ))
        }
    })
}

/// `rate_limit(per_second = N, burst = M)`: both keys, each a positive
/// integer that fits a u32.
fn rate_limit(meta: &syn::meta::ParseNestedMeta<'_>) -> Result<Spanned<RateLimit>> {
    let span = meta.path.span();
    if !meta.input.peek(syn::token::Paren) {
        return Err(meta.error(
            "`rate_limit` takes its values in parentheses: `rate_limit(per_second = 10, burst = 20)`",
        ));
    }
    let mut per_second = None;
    let mut burst = None;
    meta.parse_nested_meta(|inner| {
        let key = if inner.path.is_ident("per_second") {
            "per_second"
        } else if inner.path.is_ident("burst") {
            "burst"
        } else {
            return Err(inner.error("unknown `rate_limit` key; expected `per_second` or `burst`"));
        };
        let lit: LitInt = inner.value()?.parse()?;
        let value = lit
            .base10_parse::<u32>()
            .ok()
            .filter(|v| *v > 0)
            .ok_or_else(|| {
                Error::new(
                    lit.span(),
                    format!("`{key}` must be a whole number from 1 to {}", u32::MAX),
                )
            })?;
        let slot = if key == "per_second" {
            &mut per_second
        } else {
            &mut burst
        };
        set_once(slot, value, inner.path.span(), key)
    })?;
    match (per_second, burst) {
        (Some(per_second), Some(burst)) => Ok(Spanned {
            value: RateLimit { per_second, burst },
            span,
        }),
        _ => Err(Error::new(
            span,
            "`rate_limit` needs both `per_second` and `burst`, like `rate_limit(per_second = 10, burst = 20)`",
        )),
    }
}

/// A `key = "text"` value that must not be empty (a map key or a name).
fn non_empty_str(meta: &syn::meta::ParseNestedMeta<'_>, key: &str) -> Result<Spanned<String>> {
    let lit: LitStr = meta.value()?.parse()?;
    if lit.value().is_empty() {
        return Err(Error::new(lit.span(), format!("`{key}` must not be empty")));
    }
    Ok(Spanned {
        value: lit.value(),
        span: lit.span(),
    })
}

fn parse_version(lit: &LitInt) -> Result<u32> {
    if !lit.suffix().is_empty() && lit.suffix() != "u32" {
        return Err(Error::new(lit.span(), "`version` must be a u32"));
    }
    lit.base10_parse::<u32>()
        .map_err(|_| Error::new(lit.span(), "`version` must fit in a u32"))
}

pub fn field_attrs(attrs: &[Attribute]) -> Result<FieldAttrs> {
    let mut out = FieldAttrs::default();
    for attr in the_attrs(attrs)? {
        attr.parse_nested_meta(|meta| {
            let span = meta.path.span();
            if meta.path.is_ident("rename") {
                let v = non_empty_str(&meta, "rename")?;
                set_once(&mut out.rename, v, span, "rename")
            } else if meta.path.is_ident("skip") {
                set_once(&mut out.skip, span, span, "skip")
            } else if meta.path.is_ident("flatten") {
                set_once(&mut out.flatten, span, span, "flatten")
            } else if meta.path.is_ident("skip_if_nil") {
                set_once(&mut out.skip_if_nil, span, span, "skip_if_nil")
            } else {
                Err(unknown(
                    &meta,
                    "`rename`, `skip`, `skip_if_nil` or `flatten` on a field",
                ))
            }
        })?;
    }
    if let (Some(_), Some(n)) = (out.skip, out.skip_if_nil) {
        return Err(Error::new(n, "`skip_if_nil` is ignored on a skipped field"));
    }
    if let (Some(_), Some(n)) = (out.flatten, out.skip_if_nil) {
        return Err(Error::new(
            n,
            "`skip_if_nil` is ignored on a flattened field: a flattened `None` already adds no entries",
        ));
    }
    if let (Some(_), Some(r)) = (out.skip, &out.rename) {
        return Err(Error::new(r.span, "`rename` is ignored on a skipped field"));
    }
    if let (Some(_), Some(f)) = (out.skip, out.flatten) {
        return Err(Error::new(f, "`flatten` is ignored on a skipped field"));
    }
    if let (Some(_), Some(r)) = (out.flatten, &out.rename) {
        return Err(Error::new(
            r.span,
            "`rename` is ignored on a flattened field: its fields keep their own keys",
        ));
    }
    Ok(out)
}

pub fn variant_attrs(attrs: &[Attribute]) -> Result<VariantAttrs> {
    let mut out = VariantAttrs::default();
    for attr in the_attrs(attrs)? {
        attr.parse_nested_meta(|meta| {
            let span = meta.path.span();
            if meta.path.is_ident("rename") {
                let v = non_empty_str(&meta, "rename")?;
                set_once(&mut out.rename, v, span, "rename")
            } else {
                Err(unknown(&meta, "`rename` on a variant"))
            }
        })?;
    }
    Ok(out)
}

/// Classes the SDK writes itself, which no derived class may use.
const RESERVED_CLASSES: &[&str] = &["ereport.suppressed"];

/// Checks a class name: dot-separated segments of `a-z`, `0-9`, `_` and
/// `-` (upstream ships `hw.discovery-one.ae35.fault`), and none the SDK
/// reserves.
pub fn check_class(class: &Spanned<String>) -> Result<()> {
    if RESERVED_CLASSES.contains(&class.value.as_str()) {
        return Err(Error::new(
            class.span,
            format!(
                "ereport class {:?} is reserved by the SDK for its own records",
                class.value
            ),
        ));
    }
    let ok = !class.value.is_empty()
        && class.value.split('.').all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            class.span,
            format!(
                "invalid ereport class {:?}: a class is dot-separated segments of `a-z`, `0-9`, `_` and `-`, like \"hw.pwr.pmbus.alert\"",
                class.value
            ),
        ))
    }
}
