//! Code generation: impls of the SDK's traits for a parsed type.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Error, Ident, Result};

use crate::attrs::{self, TypeAttrs};
use crate::krate::sdk_path;
use crate::parse::{
    Field, Kind, RESERVED_KEYS, Shape, Variant, check_own_keys, fields, head_len, str_len,
};

pub fn expand(input: &DeriveInput, kind: Kind) -> Result<TokenStream> {
    let out = expand_items(input, kind)?;
    // Generated code must not trip the user's lints (their paths may look
    // needlessly qualified from where they stand).
    Ok(quote! {
        #[allow(unused_qualifications, clippy::all)]
        const _: () = {
            #out
        };
    })
}

fn expand_items(input: &DeriveInput, kind: Kind) -> Result<TokenStream> {
    let type_attrs = attrs::type_attrs(&input.attrs)?;
    let krate = match &type_attrs.krate {
        Some(p) => quote!(#p),
        None => sdk_path(),
    };
    if kind == Kind::Field {
        if let Some(c) = &type_attrs.class {
            return Err(Error::new(
                c.span,
                "`class` belongs on #[derive(Ereport)], not #[derive(EreportField)]",
            ));
        }
        if let Some(v) = &type_attrs.version {
            return Err(Error::new(
                v.span,
                "`version` belongs on #[derive(Ereport)], not #[derive(EreportField)]",
            ));
        }
        if let Some(l) = &type_attrs.rate_limit {
            return Err(Error::new(
                l.span,
                "`rate_limit` belongs on #[derive(Ereport)]: it limits a class, not a field type",
            ));
        }
    }
    let expander = Expander {
        input,
        krate,
        type_attrs: &type_attrs,
        kind,
    };
    match &input.data {
        Data::Union(u) => Err(Error::new(
            u.union_token.span(),
            "unions cannot be ereports or ereport fields: nothing says which field to encode",
        )),
        Data::Struct(s) => {
            if let Some(v) = &type_attrs.variant_id {
                return Err(Error::new(
                    v.span,
                    "`variant_id` is ignored on a struct: it names an enum's variant",
                ));
            }
            let shape = fields(&s.fields)?;
            expander.structure(shape)
        }
        Data::Enum(e) => {
            let mut variants = Vec::new();
            for v in &e.variants {
                let va = attrs::variant_attrs(&v.attrs)?;
                let shape = fields(&v.fields)?;
                if let Some(r) = &va.rename {
                    let shows_name = match shape {
                        Shape::Unit | Shape::Tuple(_) => true,
                        Shape::Named(_) => type_attrs.variant_id.is_some(),
                    };
                    if !shows_name {
                        return Err(Error::new(
                            r.span,
                            "`rename` is ignored on a struct variant unless the enum has a `variant_id` key",
                        ));
                    }
                }
                if let (Some(id), Shape::Tuple(_)) = (&type_attrs.variant_id, &shape) {
                    return Err(Error::new(
                        v.ident.span(),
                        format!(
                            "tuple variant `{}` cannot carry the variant-id key {:?}: give it named fields",
                            v.ident, id.value
                        ),
                    ));
                }
                let name = va
                    .rename
                    .map(|r| r.value)
                    .unwrap_or_else(|| v.ident.to_string());
                variants.push(Variant {
                    ident: v.ident.clone(),
                    name,
                    shape,
                });
            }
            expander.enumeration(variants, e.enum_token.span())
        }
    }
}

struct Expander<'a> {
    input: &'a DeriveInput,
    krate: TokenStream,
    type_attrs: &'a TypeAttrs,
    kind: Kind,
}

/// One step of an encoding: bytes known at compile time (keys, heads, the
/// class prefix), or code that writes a value. Each has a form for the
/// direct path (`write`, into a [`SliceWriter`]) and one for minicbor's
/// `Encoder` (`encode`); both write the same bytes.
enum Op {
    Bytes(Vec<u8>),
    Code {
        fast: TokenStream,
        slow: TokenStream,
    },
}

/// The CBOR head of major type `major` with argument `n`.
fn cbor_head(major: u8, n: u64) -> Vec<u8> {
    let mt = major << 5;
    let b = n.to_be_bytes();
    match head_len(n) {
        1 => vec![mt | b[7]],
        2 => vec![mt | 24, b[7]],
        3 => vec![mt | 25, b[6], b[7]],
        5 => vec![mt | 26, b[4], b[5], b[6], b[7]],
        _ => {
            let mut v = vec![mt | 27];
            v.extend_from_slice(&b);
            v
        }
    }
}

/// `s` as CBOR text, head included.
fn cbor_text(s: &str) -> Vec<u8> {
    let mut v = cbor_head(3, s.len() as u64);
    v.extend_from_slice(s.as_bytes());
    v
}

/// Code for `ops`, adjacent constant bytes merged into one write.
fn emit(k: &TokenStream, ops: &[Op], fast: bool) -> TokenStream {
    let mut out = TokenStream::new();
    let mut pending: Vec<u8> = Vec::new();
    let flush = |pending: &mut Vec<u8>, out: &mut TokenStream| {
        if pending.is_empty() {
            return;
        }
        let lit = syn::LitByteStr::new(pending, Span::call_site());
        out.extend(if fast {
            quote!(__w.put(#lit)?;)
        } else {
            quote!(#k::__private::put(__e, #lit)?;)
        });
        pending.clear();
    };
    for op in ops {
        match op {
            Op::Bytes(b) => pending.extend_from_slice(b),
            Op::Code { fast: f, slow: s } => {
                flush(&mut pending, &mut out);
                out.extend(if fast { f.clone() } else { s.clone() });
            }
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// Pieces of code for a set of named fields that write map entries.
struct Entries {
    /// Entries always written.
    fixed_count: usize,
    /// `usize` expressions: entries that depend on the value (flattened
    /// fields, `skip_if_nil` fields).
    dyn_count: Vec<TokenStream>,
    /// The entries, with fields bound to their bindings.
    ops: Vec<Op>,
    /// Const `usize` expressions.
    max_entries: TokenStream,
    max_len: TokenStream,
    /// Const `Keys` expression.
    keys: TokenStream,
    /// Const `FieldSchema` expressions, one per field, for the catalog.
    schema: Vec<TokenStream>,
    /// Per field, its key (or flattened field's name) and a const `usize`
    /// expression of the most bytes it writes, key included: what the
    /// too-long error names.
    sizes: Vec<(String, TokenStream)>,
}

/// The const lengths and keys of a type's entries.
struct Bounds {
    max_entries: TokenStream,
    max_len: TokenStream,
    keys: TokenStream,
}

impl Entries {
    fn bounds(&self) -> Bounds {
        Bounds {
            max_entries: self.max_entries.clone(),
            max_len: self.max_len.clone(),
            keys: self.keys.clone(),
        }
    }

    /// `usize` expression: entries written at run time.
    fn count(&self) -> TokenStream {
        let fixed = self.fixed_count;
        let dyns = &self.dyn_count;
        quote!(#fixed #(+ #dyns)*)
    }

    /// The map head, then `prefix` (the class and version of an ereport),
    /// then the entries: a map with `extra` more entries than these.
    fn map_ops(self, prefix: Option<(Vec<u8>, usize)>) -> Vec<Op> {
        let (prefix, extra) = prefix.unwrap_or_default();
        let mut ops = Vec::with_capacity(self.ops.len() + 2);
        if self.dyn_count.is_empty() {
            ops.push(Op::Bytes(cbor_head(5, (self.fixed_count + extra) as u64)));
        } else {
            let count = self.count();
            let n = quote!(((#count) as u64).saturating_add(#extra as u64));
            ops.push(Op::Code {
                fast: quote!(__w.head(5, #n)?;),
                slow: quote!(__e.map(#n)?;),
            });
        }
        ops.push(Op::Bytes(prefix));
        ops.extend(self.ops);
        ops
    }
}

impl Expander<'_> {
    fn name(&self) -> &Ident {
        &self.input.ident
    }

    fn bounds(&self, shapes: &[&Shape]) -> TokenStream {
        let k = &self.krate;
        let has_type_params = self.input.generics.type_params().next().is_some();
        let mut preds: Vec<TokenStream> = self
            .input
            .generics
            .where_clause
            .as_ref()
            .map(|w| w.predicates.iter().map(|p| quote!(#p)).collect())
            .unwrap_or_default();
        if has_type_params {
            for shape in shapes {
                let fs = match shape {
                    Shape::Named(f) | Shape::Tuple(f) => f,
                    Shape::Unit => continue,
                };
                for f in fs.iter().filter(|f| !f.skipped()) {
                    let ty = &f.ty;
                    preds.push(if f.flattened() {
                        quote!(#ty: #k::FlattenFields)
                    } else {
                        quote!(#ty: #k::EreportField)
                    });
                }
            }
        }
        if preds.is_empty() {
            quote!()
        } else {
            quote!(where #(#preds),*)
        }
    }

    /// Entries for named fields (plus a leading variant-id entry).
    fn entries(&self, fields: &[Field], variant_id: Option<(&str, &str)>) -> Entries {
        let k = &self.krate;
        let mut own_keys: Vec<String> = Vec::new();
        let mut fixed_count = 0usize;
        let mut fixed_len = 0usize;
        let mut ops = Vec::new();
        let mut dyn_count = Vec::new();
        let mut flat_max_entries = Vec::new();
        let mut flat_max_len = Vec::new();
        let mut field_max_len = Vec::new();
        let mut flat_keys = Vec::new();
        let mut schema = Vec::new();
        let mut sizes = Vec::new();
        let mut nullable_entries = 0usize;
        if let Some((id, name)) = variant_id {
            own_keys.push(id.to_string());
            fixed_count += 1;
            fixed_len += str_len(id) + str_len(name);
            let mut b = cbor_text(id);
            b.extend(cbor_text(name));
            ops.push(Op::Bytes(b));
        }
        for f in fields.iter().filter(|f| !f.skipped()) {
            let b = &f.binding;
            let ty = &f.ty;
            let sp = ty.span();
            if f.flattened() {
                dyn_count.push(quote_spanned!(sp=> <#ty as #k::FlattenFields>::entry_count(#b)));
                flat_max_entries.push(quote_spanned!(sp=> <#ty as #k::FlattenFields>::MAX_ENTRIES));
                let class_msg = format!(
                    "field `{}` flattens an ereport class: its \"k\" and \"v\" would be lost. Nest the whole ereport as a field (`Nested<T>`, without `flatten`), or flatten a type with #[derive(EreportField)]",
                    f.member_name()
                );
                flat_max_len.push(quote_spanned!(sp=> {
                    if <#ty as #k::FlattenFields>::EREPORT_CLASS.is_some() {
                        ::core::panic!(#class_msg);
                    }
                    <#ty as #k::FlattenFields>::MAX_ENTRIES_LEN
                }));
                flat_keys.push(quote_spanned!(sp=> &<#ty as #k::FlattenFields>::KEYS));
                ops.push(Op::Code {
                    fast: quote_spanned!(sp=> <#ty as #k::FlattenFields>::write_entries(#b, __w)?;),
                    slow: quote_spanned!(sp=> <#ty as #k::FlattenFields>::encode_entries(#b, __e)?;),
                });
                let name = f.member_name();
                sizes.push((
                    format!("{name} (flattened)"),
                    quote_spanned!(sp=> <#ty as #k::FlattenFields>::MAX_ENTRIES_LEN),
                ));
                schema.push(quote_spanned!(sp=> #k::schema::FieldSchema {
                    name: #name,
                    ty: &<#ty as #k::FlattenFields>::SCHEMA,
                    optional: <#ty as #k::FlattenFields>::OPTIONAL,
                    flattened: true,
                    max_len: <#ty as #k::FlattenFields>::MAX_ENTRIES_LEN,
                }));
            } else if let Some(key) = &f.key {
                own_keys.push(key.clone());
                fixed_len += str_len(key);
                let key_len = str_len(key);
                sizes.push((
                    key.clone(),
                    quote_spanned!(sp=> #k::__private::sat_add(#key_len, <#ty as #k::EreportField>::MAX_LEN)),
                ));
                field_max_len.push(quote_spanned!(sp=> <#ty as #k::EreportField>::MAX_LEN));
                let write = quote_spanned!(sp=> <#ty as #k::EreportField>::write(#b, __w)?;);
                let encode = quote_spanned!(sp=> <#ty as #k::EreportField>::encode(#b, __e)?;);
                if let Some(nil_span) = f.attrs.skip_if_nil {
                    // Spanned on the attribute: "needs an Option" points at
                    // `skip_if_nil` and the type.
                    let present =
                        quote_spanned!(nil_span=> !<#ty as #k::__private::Nullable>::is_nil(#b));
                    dyn_count.push(quote!((#present) as usize));
                    nullable_entries += 1;
                    let key_lit = syn::LitByteStr::new(&cbor_text(key), Span::call_site());
                    ops.push(Op::Code {
                        fast: quote!(if #present { __w.put(#key_lit)?; #write }),
                        slow: quote!(if #present { #k::__private::put(__e, #key_lit)?; #encode }),
                    });
                } else {
                    fixed_count += 1;
                    ops.push(Op::Bytes(cbor_text(key)));
                    ops.push(Op::Code {
                        fast: write,
                        slow: encode,
                    });
                }
                schema.push(quote_spanned!(sp=> #k::schema::FieldSchema {
                    name: #key,
                    ty: &<#ty as #k::EreportField>::SCHEMA,
                    optional: <#ty as #k::EreportField>::OPTIONAL,
                    flattened: false,
                    max_len: <#ty as #k::EreportField>::MAX_LEN,
                }));
            }
        }
        let own_entries = fixed_count + nullable_entries;
        Entries {
            fixed_count,
            dyn_count,
            ops,
            max_entries: quote!(#k::__private::sat_add(#own_entries, 0 #(+ #flat_max_entries)*)),
            max_len: {
                let terms = field_max_len.iter().chain(flat_max_len.iter());
                let mut expr = quote!(#fixed_len);
                for t in terms {
                    expr = quote!(#k::__private::sat_add(#expr, #t));
                }
                expr
            },
            keys: quote!(#k::Keys::All { own: &[#(#own_keys),*], flattened: &[#(#flat_keys),*] }),
            schema,
            sizes,
        }
    }

    fn pattern(&self, path: TokenStream, shape: &Shape) -> TokenStream {
        match shape {
            Shape::Unit => path,
            Shape::Named(fs) | Shape::Tuple(fs) => {
                let pats = fs.iter().map(|f| {
                    let m = &f.member;
                    let b = &f.binding;
                    quote!(#m: #b)
                });
                quote!(#path { #(#pats,)* .. })
            }
        }
    }

    /// `match self { pattern => ops, ... }` in both forms: (write, encode).
    fn arms(&self, arms: Vec<(TokenStream, Vec<Op>)>) -> (TokenStream, TokenStream) {
        let k = &self.krate;
        let fast = arms.iter().map(|(pat, ops)| {
            let body = emit(k, ops, true);
            quote!(#pat => { #body })
        });
        let slow = arms.iter().map(|(pat, ops)| {
            let body = emit(k, ops, false);
            quote!(#pat => { #body })
        });
        (
            quote!(match self { #(#fast)* }),
            quote!(match self { #(#slow)* }),
        )
    }

    /// The `write` and `encode` methods of `EreportField` or `Ereport`.
    fn methods(&self, fast: TokenStream, slow: TokenStream) -> TokenStream {
        let k = &self.krate;
        quote! {
            #[allow(unused_variables)]
            fn encode<__W: #k::__private::Write>(
                &self,
                __e: &mut #k::__private::Encoder<__W>,
            ) -> ::core::result::Result<(), #k::__private::Error<__W::Error>> {
                #slow
                ::core::result::Result::Ok(())
            }

            #[inline]
            #[allow(unused_variables)]
            fn write(
                &self,
                __w: &mut #k::__private::SliceWriter<'_>,
            ) -> ::core::result::Result<(), #k::__private::EncodeError> {
                #fast
                ::core::result::Result::Ok(())
            }
        }
    }

    fn dup_check(&self, keys: &TokenStream, span: Span) -> TokenStream {
        let k = &self.krate;
        let msg = format!(
            "`{}` can write the same map key twice, or a key the control plane reserves (through `flatten` or the variant-id key)",
            self.name()
        );
        quote_spanned!(span=>
            if #k::__private::first_duplicate(&#keys).is_some() {
                ::core::panic!(#msg);
            }
        )
    }

    /// `const _` that forces the checks of a non-generic type at its
    /// definition; generic types are checked when their lengths are used.
    fn force(&self, what: TokenStream) -> TokenStream {
        if self.input.generics.params.is_empty() {
            quote!(const _: usize = #what;)
        } else {
            quote!()
        }
    }

    fn structure(&self, shape: Shape) -> Result<TokenStream> {
        let k = &self.krate;
        let name = self.name();
        let (impl_generics, type_generics, _) = self.input.generics.split_for_impl();
        let where_clause = self.bounds(&[&shape]);
        match (&shape, self.kind) {
            (Shape::Named(fs), kind) => {
                if kind == Kind::Ereport {
                    check_own_keys(fs, RESERVED_KEYS)?;
                } else {
                    check_own_keys(fs, &[])?;
                }
                let pat = self.pattern(quote!(Self), &shape);
                let e = self.entries(fs, None);
                let fields = &e.schema;
                let schema = quote!(#k::schema::TypeSchema::Map { fields: &[#(#fields),*] });
                let bounds = e.bounds();
                let flatten = self.flatten_impl(
                    &impl_generics,
                    &type_generics,
                    &where_clause,
                    &bounds,
                    schema,
                    vec![(pat.clone(), e)],
                );
                let rest = self.map_impls(
                    &impl_generics,
                    &type_generics,
                    &where_clause,
                    name.span(),
                    vec![(pat, self.entries(fs, None))],
                )?;
                Ok(quote!(#flatten #rest))
            }
            (Shape::Tuple(_) | Shape::Unit, Kind::Ereport) => Err(Error::new(
                name.span(),
                "an ereport must be a struct with named fields or an enum: its fields become map keys",
            )),
            (Shape::Unit, Kind::Field) => Err(Error::new(
                name.span(),
                "a unit struct carries no data to encode; use a unit variant of an enum, or a bool",
            )),
            (Shape::Tuple(fs), Kind::Field) => {
                let live: Vec<&Field> = fs.iter().filter(|f| !f.skipped()).collect();
                let pat = self.pattern(quote!(Self), &shape);
                let schema = if live.len() == 1 {
                    let ty = &live[0].ty;
                    quote!(const SCHEMA: #k::schema::TypeSchema = <#ty as #k::EreportField>::SCHEMA;
                           const OPTIONAL: bool = <#ty as #k::EreportField>::OPTIONAL;)
                } else {
                    let tys = live.iter().map(|f| &f.ty);
                    quote!(const SCHEMA: #k::schema::TypeSchema = #k::schema::TypeSchema::Tuple {
                        items: &[#(<#tys as #k::EreportField>::SCHEMA),*],
                    };)
                };
                let (ops, max) = self.tuple_items(&live, Vec::new(), 0);
                let (fast, slow) = self.arms(vec![(pat, ops)]);
                let methods = self.methods(fast, slow);
                let force = self.force(quote!(<#name as #k::EreportField>::MAX_LEN));
                Ok(quote! {
                    impl #impl_generics #k::EreportField for #name #type_generics #where_clause {
                        const MAX_LEN: usize = #max;
                        #schema
                        #methods
                    }
                    #force
                })
            }
        }
    }

    /// Ops and maximum length for unnamed fields after `prefix` (`fixed`
    /// bytes): one field encodes as itself, several as an array.
    fn tuple_items(
        &self,
        live: &[&Field],
        mut prefix: Vec<u8>,
        fixed: usize,
    ) -> (Vec<Op>, TokenStream) {
        let k = &self.krate;
        let mut fixed = fixed;
        if live.len() != 1 {
            let head = cbor_head(4, live.len() as u64);
            fixed += head.len();
            prefix.extend(head);
        }
        let mut ops = vec![Op::Bytes(prefix)];
        let mut len = quote!(#fixed);
        for f in live {
            let ty = &f.ty;
            let b = &f.binding;
            let sp = ty.span();
            ops.push(Op::Code {
                fast: quote_spanned!(sp=> <#ty as #k::EreportField>::write(#b, __w)?;),
                slow: quote_spanned!(sp=> <#ty as #k::EreportField>::encode(#b, __e)?;),
            });
            len = quote!(#k::__private::sat_add(#len, <#ty as #k::EreportField>::MAX_LEN));
        }
        (ops, len)
    }

    /// `FlattenFields`: the type's bounds, keys and schema, and per arm
    /// (one for a struct, one per variant) its pattern and entries.
    fn flatten_impl(
        &self,
        impl_generics: &syn::ImplGenerics<'_>,
        type_generics: &syn::TypeGenerics<'_>,
        where_clause: &TokenStream,
        bounds: &Bounds,
        schema: TokenStream,
        arms: Vec<(TokenStream, Entries)>,
    ) -> TokenStream {
        let k = &self.krate;
        let name = self.name();
        let Bounds {
            max_entries,
            max_len,
            keys,
        } = bounds;
        let count_arms: Vec<TokenStream> = arms
            .iter()
            .map(|(pat, e)| {
                let count = e.count();
                quote!(#pat => #count,)
            })
            .collect();
        let check = self.dup_check(&quote!(<Self as #k::FlattenFields>::KEYS), name.span());
        let (fast, slow) = self.arms(arms.into_iter().map(|(pat, e)| (pat, e.ops)).collect());
        // An ereport class says so, so that flattening it is refused.
        let class = match (self.kind, &self.type_attrs.class) {
            (Kind::Ereport, Some(c)) => {
                let c = &c.value;
                quote!(const EREPORT_CLASS: ::core::option::Option<&'static str> = ::core::option::Option::Some(#c);)
            }
            _ => quote!(),
        };
        quote! {
            impl #impl_generics #k::FlattenFields for #name #type_generics #where_clause {
                #class
                const MAX_ENTRIES: usize = #max_entries;
                const MAX_ENTRIES_LEN: usize = {
                    #check
                    #max_len
                };
                const KEYS: #k::Keys = #keys;
                const SCHEMA: #k::schema::TypeSchema = #schema;

                #[allow(unused_variables)]
                #[inline]
                fn entry_count(&self) -> usize {
                    match self { #(#count_arms)* }
                }

                #[allow(unused_variables)]
                fn encode_entries<__W: #k::__private::Write>(
                    &self,
                    __e: &mut #k::__private::Encoder<__W>,
                ) -> ::core::result::Result<(), #k::__private::Error<__W::Error>> {
                    #slow
                    ::core::result::Result::Ok(())
                }

                #[allow(unused_variables)]
                #[inline]
                fn write_entries(
                    &self,
                    __w: &mut #k::__private::SliceWriter<'_>,
                ) -> ::core::result::Result<(), #k::__private::EncodeError> {
                    #fast
                    ::core::result::Result::Ok(())
                }
            }
        }
    }

    /// `EreportField` (as a map) or `Ereport`, on top of `FlattenFields`:
    /// per arm, the map head, the class prefix of an ereport, the entries.
    fn map_impls(
        &self,
        impl_generics: &syn::ImplGenerics<'_>,
        type_generics: &syn::TypeGenerics<'_>,
        where_clause: &TokenStream,
        span: Span,
        arms: Vec<(TokenStream, Entries)>,
    ) -> Result<TokenStream> {
        let k = &self.krate;
        let name = self.name();
        match self.kind {
            Kind::Field => {
                let arms = arms
                    .into_iter()
                    .map(|(pat, e)| (pat, e.map_ops(None)))
                    .collect();
                let (fast, slow) = self.arms(arms);
                let methods = self.methods(fast, slow);
                let force = self.force(quote!(<#name as #k::EreportField>::MAX_LEN));
                Ok(quote! {
                    impl #impl_generics #k::EreportField for #name #type_generics #where_clause {
                        const MAX_LEN: usize = #k::__private::sat_add(
                            #k::__private::head_len(<Self as #k::FlattenFields>::MAX_ENTRIES as u64),
                            <Self as #k::FlattenFields>::MAX_ENTRIES_LEN,
                        );
                        const SCHEMA: #k::schema::TypeSchema = <Self as #k::FlattenFields>::SCHEMA;
                        #methods
                    }
                    #force
                })
            }
            Kind::Ereport => {
                let class = self.type_attrs.class.as_ref().ok_or_else(|| {
                    Error::new(span, "missing `class`: add #[ereport(class = \"hw.example.fault\", version = 0)]")
                })?;
                attrs::check_class(class)?;
                let version = self.type_attrs.version.as_ref().ok_or_else(|| {
                    Error::new(
                        span,
                        "missing `version`: add `version = 0` to #[ereport(...)]",
                    )
                })?;
                let class_s = &class.value;
                let (rate_limit, no_rate_limit) = match &self.type_attrs.rate_limit {
                    Some(l) => {
                        let (per_second, burst) = (l.value.per_second, l.value.burst);
                        (
                            quote!(const RATE_LIMIT: ::core::option::Option<#k::storm::RateLimit> =
                                ::core::option::Option::Some(#k::storm::RateLimit { per_second: #per_second, burst: #burst });),
                            quote!(),
                        )
                    }
                    None => (
                        quote!(),
                        quote!(impl #impl_generics #k::NoRateLimit for #name #type_generics #where_clause {}),
                    ),
                };
                let v = version.value;
                // The fixed prefix: "k", the class, "v", the version.
                let mut prefix = cbor_text("k");
                prefix.extend(cbor_text(class_s));
                prefix.extend(cbor_text("v"));
                prefix.extend(cbor_head(0, u64::from(v)));
                let fixed = prefix.len();
                let sizes: Vec<TokenStream> = arms
                    .iter()
                    .flat_map(|(_, e)| e.sizes.iter())
                    .map(|(key, len)| quote!((#key, #len)))
                    .collect();
                let arms = arms
                    .into_iter()
                    .map(|(pat, e)| (pat, e.map_ops(Some((prefix.clone(), 2)))))
                    .collect();
                let (fast, slow) = self.arms(arms);
                let methods = self.methods(fast, slow);
                let name_s = name.to_string();
                // Flattened fields may not write a reserved key either.
                let reserved = RESERVED_KEYS.iter().map(|(key, _)| key);
                let keys_check = self.dup_check(
                    &quote!(#k::Keys::All { own: &[#(#reserved),*], flattened: &[&<Self as #k::FlattenFields>::KEYS] }),
                    span,
                );
                let force = self.force(quote!(<#name as #k::Ereport>::MAX_LEN));
                Ok(quote_spanned! {span=>
                    impl #impl_generics #k::Ereport for #name #type_generics #where_clause {
                        const CLASS: &'static str = #class_s;
                        const VERSION: u32 = #v;
                        #rate_limit
                        const SCHEMA: #k::schema::ClassSchema = #k::schema::ClassSchema {
                            class: #class_s,
                            version: #v,
                            body: <Self as #k::FlattenFields>::SCHEMA,
                            max_len: <Self as #k::Ereport>::MAX_LEN,
                        };
                        const MAX_LEN: usize = {
                            #keys_check
                            let n = #k::__private::sat_add(
                                #k::__private::sat_add(
                                    #k::__private::head_len(#k::__private::sat_add(<Self as #k::FlattenFields>::MAX_ENTRIES, 2) as u64),
                                    #fixed,
                                ),
                                <Self as #k::FlattenFields>::MAX_ENTRIES_LEN,
                            );
                            if n > #k::MAX_EREPORT_LEN {
                                let fields: &[(&str, usize)] = &[#(#sizes),*];
                                let message = #k::__private::too_long_message(#name_s, n, fields);
                                ::core::panic!("{}", message.as_str());
                            }
                            n
                        };
                        #methods
                    }
                    #no_rate_limit
                    #force
                })
            }
        }
    }

    fn enumeration(&self, variants: Vec<Variant>, enum_span: Span) -> Result<TokenStream> {
        let k = &self.krate;
        let name = self.name();
        if variants.is_empty() {
            return Err(Error::new(
                enum_span,
                "an enum with no variants has no value to encode",
            ));
        }
        let id = self.type_attrs.variant_id.as_ref();
        for v in &variants {
            if let Shape::Named(fs) = &v.shape {
                let reserved: Vec<(&str, &str)> = id
                    .map(|i| (i.value.as_str(), "it is the enum's variant-id key"))
                    .into_iter()
                    .chain(
                        (self.kind == Kind::Ereport)
                            .then_some(RESERVED_KEYS)
                            .into_iter()
                            .flatten()
                            .copied(),
                    )
                    .collect();
                check_own_keys(fs, &reserved)?;
            }
        }
        // Without a variant-id key a struct variant is written as its
        // fields alone: two with the same keys could not be told apart.
        if id.is_none() {
            fn key_set(v: &Variant) -> Option<Vec<&str>> {
                match &v.shape {
                    Shape::Named(fs) if fs.iter().all(|f| !f.flattened()) => {
                        let mut keys: Vec<&str> = fs
                            .iter()
                            .filter(|f| !f.skipped())
                            .filter_map(|f| f.key.as_deref())
                            .collect();
                        keys.sort_unstable();
                        Some(keys)
                    }
                    _ => None,
                }
            }
            for (i, a) in variants.iter().enumerate() {
                let Some(ka) = key_set(a) else { continue };
                for b in variants.iter().skip(i + 1) {
                    if key_set(b).as_ref() == Some(&ka) {
                        return Err(Error::new(
                            b.ident.span(),
                            format!(
                                "struct variants `{}` and `{}` of `{}` write the same keys, so a reader cannot tell which it was: add #[ereport(variant_id = \"kind\")] (upstream: #[cbor(variant_id = \"kind\")]) to the enum to write the variant's name under that key",
                                a.ident, b.ident, name
                            ),
                        ));
                    }
                }
            }
        }
        // Flattenable: every variant writes map entries.
        let writes_entries = |v: &Variant| match v.shape {
            Shape::Named(_) => true,
            Shape::Unit => id.is_some(),
            Shape::Tuple(_) => false,
        };
        let flattenable = variants.iter().all(&writes_entries);
        if self.kind == Kind::Ereport && !flattenable {
            let bad = variants
                .iter()
                .find(|v| !writes_entries(v))
                .map(|v| v.ident.span())
                .unwrap_or(enum_span);
            return Err(Error::new(
                bad,
                "every variant of an ereport enum must have named fields, or be a unit variant of an enum with a `variant_id` key",
            ));
        }
        let shapes: Vec<&Shape> = variants.iter().map(|v| &v.shape).collect();
        let (impl_generics, type_generics, _) = self.input.generics.split_for_impl();
        let where_clause = self.bounds(&shapes);
        let no_fields = Vec::new();
        let variant_entries = |v: &Variant| {
            let fs = match &v.shape {
                Shape::Named(fs) => fs,
                _ => &no_fields,
            };
            self.entries(fs, id.map(|i| (i.value.as_str(), v.name.as_str())))
        };
        let variant_id = match id {
            Some(i) => {
                let i = &i.value;
                quote!(::core::option::Option::Some(#i))
            }
            None => quote!(::core::option::Option::None),
        };

        let mut out = TokenStream::new();
        if flattenable {
            let mut arms = Vec::new();
            let mut max_entries = quote!(0usize);
            let mut max_len = quote!(0usize);
            let mut keys = Vec::new();
            let mut variant_schemas = Vec::new();
            for v in &variants {
                let ident = &v.ident;
                let pat = self.pattern(quote!(Self::#ident), &v.shape);
                let vname = &v.name;
                let e = variant_entries(v);
                let fields = &e.schema;
                variant_schemas.push(match v.shape {
                    Shape::Named(_) => quote!(#k::schema::VariantSchema::Struct { name: #vname, fields: &[#(#fields),*] }),
                    _ => quote!(#k::schema::VariantSchema::Unit { name: #vname }),
                });
                let Bounds {
                    max_entries: variant_max_entries,
                    max_len: variant_max_len,
                    keys: variant_keys,
                } = e.bounds();
                max_entries = quote!(#k::__private::max(#max_entries, #variant_max_entries));
                max_len = quote!(#k::__private::max(#max_len, #variant_max_len));
                keys.push(quote!(&#variant_keys));
                arms.push((pat, e));
            }
            let bounds = Bounds {
                max_entries,
                max_len,
                keys: quote!(#k::Keys::AnyOf(&[#(#keys),*])),
            };
            let schema = quote!(#k::schema::TypeSchema::Enum { variant_id: #variant_id, variants: &[#(#variant_schemas),*] });
            out.extend(self.flatten_impl(
                &impl_generics,
                &type_generics,
                &where_clause,
                &bounds,
                schema,
                arms,
            ));
            if self.kind == Kind::Ereport {
                let arms = variants
                    .iter()
                    .map(|v| {
                        let ident = &v.ident;
                        (
                            self.pattern(quote!(Self::#ident), &v.shape),
                            variant_entries(v),
                        )
                    })
                    .collect();
                out.extend(self.map_impls(
                    &impl_generics,
                    &type_generics,
                    &where_clause,
                    name.span(),
                    arms,
                )?);
                return Ok(out);
            }
        }

        // EreportField: unit variants as their name (or, with a variant-id
        // key, a one-entry map naming it, as upstream does), named ones as
        // maps, tuple ones as a one-entry map from the name to the value(s).
        let mut arms = Vec::new();
        let mut max = quote!(0usize);
        let mut variant_schemas = Vec::new();
        for v in &variants {
            let ident = &v.ident;
            let vname = &v.name;
            let pat = self.pattern(quote!(Self::#ident), &v.shape);
            variant_schemas.push(match &v.shape {
                Shape::Unit => quote!(#k::schema::VariantSchema::Unit { name: #vname }),
                Shape::Named(_) => {
                    let fields = variant_entries(v).schema;
                    quote!(#k::schema::VariantSchema::Struct { name: #vname, fields: &[#(#fields),*] })
                }
                Shape::Tuple(fs) => {
                    let tys = fs.iter().filter(|f| !f.skipped()).map(|f| &f.ty);
                    quote!(#k::schema::VariantSchema::Tuple { name: #vname, items: &[#(<#tys as #k::EreportField>::SCHEMA),*] })
                }
            });
            let (ops, len) = match &v.shape {
                Shape::Unit => {
                    let mut b = Vec::new();
                    if let Some(id) = id {
                        b.extend(cbor_head(5, 1));
                        b.extend(cbor_text(&id.value));
                    }
                    b.extend(cbor_text(vname));
                    let n = b.len();
                    (vec![Op::Bytes(b)], quote!(#n))
                }
                Shape::Named(_) => {
                    let e = variant_entries(v);
                    let Bounds {
                        max_entries,
                        max_len,
                        ..
                    } = e.bounds();
                    (
                        e.map_ops(None),
                        quote!(#k::__private::sat_add(#k::__private::head_len((#max_entries) as u64), #max_len)),
                    )
                }
                Shape::Tuple(fs) => {
                    let live: Vec<&Field> = fs.iter().filter(|f| !f.skipped()).collect();
                    let mut prefix = cbor_head(5, 1);
                    prefix.extend(cbor_text(vname));
                    let fixed = prefix.len();
                    self.tuple_items(&live, prefix, fixed)
                }
            };
            arms.push((pat, ops));
            max = quote!(#k::__private::max(#max, #len));
        }
        let (fast, slow) = self.arms(arms);
        let methods = self.methods(fast, slow);
        let force = self.force(quote!(<#name as #k::EreportField>::MAX_LEN));
        out.extend(quote! {
            impl #impl_generics #k::EreportField for #name #type_generics #where_clause {
                const MAX_LEN: usize = #max;
                const SCHEMA: #k::schema::TypeSchema = #k::schema::TypeSchema::Enum {
                    variant_id: #variant_id,
                    variants: &[#(#variant_schemas),*],
                };
                #methods
            }
            #force
        });
        Ok(out)
    }
}
