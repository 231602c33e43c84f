//! Parsing and validation: a type definition becomes a [`Shape`] of
//! [`Field`]s, with every misuse rejected here, spanned on the offending
//! tokens, before any code is generated.

use std::collections::HashMap;

use quote::format_ident;
use syn::spanned::Spanned;
use syn::{Error, Fields, Ident, Member, Result, Type};

use crate::attrs::{self, FieldAttrs};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ereport,
    Field,
}

pub struct Field {
    pub member: Member,
    pub binding: Ident,
    pub ty: Type,
    /// The map key, for a named field that is neither skipped nor flattened.
    pub key: Option<String>,
    pub attrs: FieldAttrs,
}

impl Field {
    pub fn skipped(&self) -> bool {
        self.attrs.skip.is_some()
    }
    pub fn flattened(&self) -> bool {
        self.attrs.flatten.is_some()
    }
    /// The Rust field's name (or index), for the catalog.
    pub fn member_name(&self) -> String {
        match &self.member {
            Member::Named(id) => {
                let name = id.to_string();
                name.strip_prefix("r#").unwrap_or(&name).to_string()
            }
            Member::Unnamed(i) => i.index.to_string(),
        }
    }
}

pub enum Shape {
    Named(Vec<Field>),
    Tuple(Vec<Field>),
    Unit,
}

pub struct Variant {
    pub ident: Ident,
    pub name: String,
    pub shape: Shape,
}

/// Keys an ereport's own fields may not use, with the reason. `"k"` and
/// `"v"` are the class and version; then the keys the control plane adds
/// to every ereport's JSON object (the envelope and the SP's metadata),
/// and the keys the collector adds beside them (where it came from, and
/// why a body is flagged), where a field of the same name would hide one
/// or the other.
pub const RESERVED_KEYS: &[(&str, &str)] = &[
    ("k", "it holds the ereport's class"),
    ("v", "it holds the ereport's version"),
    (
        "hubris_task_name",
        "the control plane adds it to every ereport",
    ),
    (
        "hubris_task_gen",
        "the control plane adds it to every ereport",
    ),
    (
        "hubris_uptime_ms",
        "the control plane adds it to every ereport",
    ),
    (
        "ereport_message_version",
        "the control plane adds it to every ereport",
    ),
    (
        "baseboard_part_number",
        "it is an SP metadata key, merged into every ereport",
    ),
    (
        "baseboard_serial_number",
        "it is an SP metadata key, merged into every ereport",
    ),
    (
        "baseboard_rev",
        "it is an SP metadata key, merged into every ereport",
    ),
    (
        "hubris_caboose",
        "it is an SP metadata key, merged into every ereport",
    ),
    ("ena", "the collector adds the ereport's ENA under it"),
    (
        "restart_id",
        "the collector adds the SP's restart id under it",
    ),
    ("sp_name", "the collector adds the SP's name under it"),
    (
        "invalid_ereport_error",
        "the collector flags an invalid body under it",
    ),
    (
        "invalid_ereport_body_bytes",
        "the collector keeps an invalid body's bytes under it",
    ),
    (
        "catalog_error",
        "the collector flags a mismatch with the class catalog under it",
    ),
];

/// Bytes of the CBOR head for argument `n` (same table as the SDK's).
pub fn head_len(n: u64) -> usize {
    match n {
        0..=23 => 1,
        24..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

pub fn str_len(s: &str) -> usize {
    head_len(s.len() as u64) + s.len()
}

pub fn fields(fields: &Fields) -> Result<Shape> {
    let named = matches!(fields, Fields::Named(_));
    let mut out = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let a = attrs::field_attrs(&f.attrs)?;
        let (member, key) = match &f.ident {
            Some(id) => {
                // A raw identifier keeps its `r#` in the key (`r#gen` is
                // written "r#gen"), as upstream's derive writes it.
                let name = id.to_string();
                let key = a.rename.as_ref().map(|r| r.value.clone()).unwrap_or(name);
                (Member::Named(id.clone()), Some(key))
            }
            None => (Member::Unnamed(syn::Index::from(i)), None),
        };
        if !named {
            if let Some(r) = &a.rename {
                return Err(Error::new(
                    r.span,
                    "`rename` is ignored on an unnamed field",
                ));
            }
            if let Some(s) = a.flatten {
                return Err(Error::new(
                    s,
                    "`flatten` needs a named field: an unnamed field is not a map entry",
                ));
            }
            if let Some(s) = a.skip_if_nil {
                return Err(Error::new(
                    s,
                    "`skip_if_nil` needs a named field: an unnamed field is not a map entry that can be left out",
                ));
            }
        }
        if a.skip.is_none() {
            unbounded_reference(&f.ty)?;
        }
        let key = if a.skip.is_some() || a.flatten.is_some() {
            None
        } else {
            key
        };
        out.push(Field {
            member,
            binding: format_ident!("__field{}", i),
            ty: f.ty.clone(),
            key,
            attrs: a,
        });
    }
    Ok(match fields {
        Fields::Named(_) => Shape::Named(out),
        Fields::Unnamed(_) => Shape::Tuple(out),
        Fields::Unit => Shape::Unit,
    })
}

/// Rejects borrowed types that carry no capacity (`&str`, `&[T]`, also
/// behind further references), naming the type that does. Other
/// references encode as what they refer to.
fn unbounded_reference(ty: &Type) -> Result<()> {
    let Type::Reference(r) = ty else {
        return Ok(());
    };
    match &*r.elem {
        Type::Path(p) if p.qself.is_none() && p.path.is_ident("str") => Err(Error::new_spanned(
            ty,
            "a `&str` has no static maximum length: use `FixedStr<'static, N>` (from the ereport SDK), which borrows the same text and carries its capacity `N`",
        )),
        Type::Slice(s) => {
            let elem = &s.elem;
            Err(Error::new_spanned(
                ty,
                format!(
                    "a slice has no static maximum length: use an array `[{0}; N]` or `heapless::Vec<{0}, N>`, or `Bytes<N>` for bytes",
                    quote::quote!(#elem)
                ),
            ))
        }
        inner => unbounded_reference(inner),
    }
}

/// Rejects two own fields with the same key (and `"k"`/`"v"` in an ereport).
pub fn check_own_keys(fields: &[Field], reserved: &[(&str, &str)]) -> Result<()> {
    let mut seen: HashMap<&str, ()> = HashMap::new();
    for f in fields {
        let Some(key) = &f.key else { continue };
        let span = f
            .attrs
            .rename
            .as_ref()
            .map_or_else(|| f.member.span(), |r| r.span);
        if let Some((_, why)) = reserved.iter().find(|(k, _)| k == key) {
            return Err(Error::new(span, format!("key {key:?} is reserved: {why}")));
        }
        if seen.insert(key, ()).is_some() {
            return Err(Error::new(
                span,
                format!("two fields encode the key {key:?}"),
            ));
        }
    }
    Ok(())
}
