//! The type model and code generation.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Error, Fields, Ident, Member, Result, Type};

use crate::attrs::{self, FieldAttrs, TypeAttrs};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ereport,
    Field,
}

struct Field {
    member: Member,
    binding: Ident,
    ty: Type,
    /// The map key, for a named field that is neither skipped nor flattened.
    key: Option<String>,
    attrs: FieldAttrs,
}

impl Field {
    fn skipped(&self) -> bool {
        self.attrs.skip.is_some()
    }
    fn flattened(&self) -> bool {
        self.attrs.flatten.is_some()
    }
}

enum Shape {
    Named(Vec<Field>),
    Tuple(Vec<Field>),
    Unit,
}

struct Variant {
    ident: Ident,
    name: String,
    shape: Shape,
}

/// Bytes of the CBOR head for argument `n` (same table as the SDK's).
fn head_len(n: u64) -> usize {
    match n {
        0..=23 => 1,
        24..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

fn str_len(s: &str) -> usize {
    head_len(s.len() as u64) + s.len()
}

fn fields(fields: &Fields) -> Result<Shape> {
    let named = matches!(fields, Fields::Named(_));
    let mut out = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let a = attrs::field_attrs(&f.attrs)?;
        let (member, key) = match &f.ident {
            Some(id) => {
                let name = id.to_string();
                let name = name.strip_prefix("r#").unwrap_or(&name).to_string();
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

/// Rejects two own fields with the same key (and `"k"`/`"v"` in an ereport).
fn check_own_keys(fields: &[Field], reserved: &[(&str, &str)]) -> Result<()> {
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
    let ta = attrs::type_attrs(&input.attrs)?;
    let krate = match &ta.krate {
        Some(p) => quote!(#p),
        None => sdk_path(),
    };
    if kind == Kind::Field {
        if let Some(c) = &ta.class {
            return Err(Error::new(
                c.span,
                "`class` belongs on #[derive(Ereport)], not #[derive(EreportField)]",
            ));
        }
        if let Some(v) = &ta.version {
            return Err(Error::new(
                v.span,
                "`version` belongs on #[derive(Ereport)], not #[derive(EreportField)]",
            ));
        }
    }
    let generator = Gen {
        input,
        krate,
        ta: &ta,
        kind,
    };
    match &input.data {
        Data::Union(u) => Err(Error::new(
            u.union_token.span(),
            "unions cannot be ereports or ereport fields: nothing says which field to encode",
        )),
        Data::Struct(s) => {
            if let Some(v) = &ta.variant_id {
                return Err(Error::new(
                    v.span,
                    "`variant_id` is ignored on a struct: it names an enum's variant",
                ));
            }
            let shape = fields(&s.fields)?;
            generator.structure(shape)
        }
        Data::Enum(e) => {
            let mut variants = Vec::new();
            for v in &e.variants {
                let va = attrs::variant_attrs(&v.attrs)?;
                let shape = fields(&v.fields)?;
                if let Some(r) = &va.rename {
                    let shows_name = match shape {
                        Shape::Unit | Shape::Tuple(_) => true,
                        Shape::Named(_) => ta.variant_id.is_some(),
                    };
                    if !shows_name {
                        return Err(Error::new(
                            r.span,
                            "`rename` is ignored on a struct variant unless the enum has a `variant_id` key",
                        ));
                    }
                }
                if let (Some(id), Shape::Tuple(_)) = (&ta.variant_id, &shape) {
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
            generator.enumeration(variants, e.enum_token.span())
        }
    }
}

/// How generated code names the SDK.
fn sdk_path() -> TokenStream {
    if std::env::var("CARGO_PKG_NAME").as_deref() == Ok("ereport-sdk") {
        // The SDK itself (its docs and self-checks) has `extern crate self as
        // ereport_sdk`.
        return quote!(::ereport_sdk);
    }
    let renamed = std::env::var("CARGO_MANIFEST_DIR")
        .ok()
        .and_then(|dir| std::fs::read_to_string(std::path::Path::new(&dir).join("Cargo.toml")).ok())
        .and_then(|manifest| renamed_dependency(&manifest));
    match renamed {
        Some(name) => {
            let ident = Ident::new(&name, Span::call_site());
            quote!(::#ident)
        }
        None => quote!(::ereport_sdk),
    }
}

/// The name under which a manifest depends on `ereport-sdk`, if it renames
/// it (`sdk = { package = "ereport-sdk", .. }` or a `[dependencies.sdk]`
/// table with `package = "ereport-sdk"`).
fn renamed_dependency(manifest: &str) -> Option<String> {
    let is_sdk = |line: &str| {
        let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        compact.contains("package=\"ereport-sdk\"")
    };
    let mut table: Option<String> = None;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            table = line
                .trim_matches(|c| c == '[' || c == ']')
                .rsplit_once("dependencies.")
                .map(|(_, name)| name.trim().trim_matches('"').to_string());
            continue;
        }
        if !is_sdk(line) {
            continue;
        }
        let name = if line.starts_with("package") {
            table.clone()?
        } else {
            line.split('=').next()?.trim().trim_matches('"').to_string()
        };
        return Some(name.replace('-', "_"));
    }
    None
}

struct Gen<'a> {
    input: &'a DeriveInput,
    krate: TokenStream,
    ta: &'a TypeAttrs,
    kind: Kind,
}

/// Pieces of code for a set of named fields that write map entries.
struct Entries {
    /// `usize` expression: entries written at run time.
    count: TokenStream,
    /// Statements writing the entries, with fields bound to their bindings.
    encode: TokenStream,
    /// Const `usize` expressions.
    max_entries: TokenStream,
    max_len: TokenStream,
    /// Const `Keys` expression.
    keys: TokenStream,
}

impl Gen<'_> {
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
        let mut encode = Vec::new();
        let mut flat_counts = Vec::new();
        let mut flat_max_entries = Vec::new();
        let mut flat_max_len = Vec::new();
        let mut field_max_len = Vec::new();
        let mut flat_keys = Vec::new();
        if let Some((id, name)) = variant_id {
            own_keys.push(id.to_string());
            fixed_count += 1;
            fixed_len += str_len(id) + str_len(name);
            encode.push(quote!(__e.str(#id)?.str(#name)?;));
        }
        for f in fields.iter().filter(|f| !f.skipped()) {
            let b = &f.binding;
            let ty = &f.ty;
            let sp = ty.span();
            if f.flattened() {
                flat_counts.push(quote_spanned!(sp=> <#ty as #k::FlattenFields>::entry_count(#b)));
                flat_max_entries.push(quote_spanned!(sp=> <#ty as #k::FlattenFields>::MAX_ENTRIES));
                flat_max_len.push(quote_spanned!(sp=> <#ty as #k::FlattenFields>::MAX_ENTRIES_LEN));
                flat_keys.push(quote_spanned!(sp=> &<#ty as #k::FlattenFields>::KEYS));
                encode.push(
                    quote_spanned!(sp=> <#ty as #k::FlattenFields>::encode_entries(#b, __e)?;),
                );
            } else if let Some(key) = &f.key {
                own_keys.push(key.clone());
                fixed_count += 1;
                fixed_len += str_len(key);
                field_max_len.push(quote_spanned!(sp=> <#ty as #k::EreportField>::MAX_LEN));
                encode.push(quote_spanned!(sp=> __e.str(#key)?; <#ty as #k::EreportField>::encode(#b, __e)?;));
            }
        }
        Entries {
            count: quote!(#fixed_count #(+ #flat_counts)*),
            encode: quote!(#(#encode)*),
            max_entries: quote!(#k::__private::sat_add(#fixed_count, 0 #(+ #flat_max_entries)*)),
            max_len: {
                let terms = field_max_len.iter().chain(flat_max_len.iter());
                let mut expr = quote!(#fixed_len);
                for t in terms {
                    expr = quote!(#k::__private::sat_add(#expr, #t));
                }
                expr
            },
            keys: quote!(#k::Keys::All { own: &[#(#own_keys),*], flattened: &[#(#flat_keys),*] }),
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

    fn dup_check(&self, keys: &TokenStream, span: Span) -> TokenStream {
        let k = &self.krate;
        let msg = format!(
            "`{}` can write the same map key twice (through `flatten` or the variant-id key)",
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
        let (ig, tg, _) = self.input.generics.split_for_impl();
        let wc = self.bounds(&[&shape]);
        match (&shape, self.kind) {
            (Shape::Named(fs), kind) => {
                if kind == Kind::Ereport {
                    check_own_keys(
                        fs,
                        &[
                            ("k", "it holds the ereport's class"),
                            ("v", "it holds the ereport's version"),
                        ],
                    )?;
                } else {
                    check_own_keys(fs, &[])?;
                }
                let e = self.entries(fs, None);
                let pat = self.pattern(quote!(Self), &shape);
                let flatten = self.flatten_impl(
                    &ig,
                    &tg,
                    &wc,
                    &e,
                    quote!(let #pat = self;),
                    quote!(let #pat = self;),
                );
                let rest = self.map_impls(&ig, &tg, &wc, name.span())?;
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
                let (encode, max) = if live.len() == 1 {
                    // A newtype encodes as what it wraps.
                    let ty = &live[0].ty;
                    let b = &live[0].binding;
                    (
                        quote!(<#ty as #k::EreportField>::encode(#b, __e)),
                        quote!(<#ty as #k::EreportField>::MAX_LEN),
                    )
                } else {
                    let n = live.len();
                    let head = head_len(n as u64);
                    let tys = live.iter().map(|f| &f.ty);
                    let tys2 = tys.clone();
                    let bs = live.iter().map(|f| &f.binding);
                    (
                        quote!(__e.array(#n as u64)?; #(<#tys as #k::EreportField>::encode(#bs, __e)?;)* Ok(())),
                        {
                            let mut len = quote!(#head);
                            for ty in tys2 {
                                len = quote!(#k::__private::sat_add(#len, <#ty as #k::EreportField>::MAX_LEN));
                            }
                            len
                        },
                    )
                };
                let force = self.force(quote!(<#name as #k::EreportField>::MAX_LEN));
                Ok(quote! {
                    impl #ig #k::EreportField for #name #tg #wc {
                        const MAX_LEN: usize = #max;
                        fn encode<__W: #k::__private::Write>(
                            &self,
                            __e: &mut #k::__private::Encoder<__W>,
                        ) -> ::core::result::Result<(), #k::__private::Error<__W::Error>> {
                            let #pat = self;
                            #encode
                        }
                    }
                    #force
                })
            }
        }
    }

    fn flatten_impl(
        &self,
        ig: &syn::ImplGenerics<'_>,
        tg: &syn::TypeGenerics<'_>,
        wc: &TokenStream,
        e: &Entries,
        count_prelude: TokenStream,
        encode_prelude: TokenStream,
    ) -> TokenStream {
        let k = &self.krate;
        let name = self.name();
        let Entries {
            count,
            encode,
            max_entries,
            max_len,
            keys,
        } = e;
        let check = self.dup_check(&quote!(<Self as #k::FlattenFields>::KEYS), name.span());
        quote! {
            impl #ig #k::FlattenFields for #name #tg #wc {
                const MAX_ENTRIES: usize = #max_entries;
                const MAX_ENTRIES_LEN: usize = {
                    #check
                    #max_len
                };
                const KEYS: #k::Keys = #keys;

                #[allow(unused_variables)]
                fn entry_count(&self) -> usize {
                    #count_prelude
                    #count
                }

                #[allow(unused_variables)]
                fn encode_entries<__W: #k::__private::Write>(
                    &self,
                    __e: &mut #k::__private::Encoder<__W>,
                ) -> ::core::result::Result<(), #k::__private::Error<__W::Error>> {
                    #encode_prelude
                    #encode
                    Ok(())
                }
            }
        }
    }

    /// `EreportField` (as a map) or `Ereport`, on top of `FlattenFields`.
    fn map_impls(
        &self,
        ig: &syn::ImplGenerics<'_>,
        tg: &syn::TypeGenerics<'_>,
        wc: &TokenStream,
        span: Span,
    ) -> Result<TokenStream> {
        let k = &self.krate;
        let name = self.name();
        match self.kind {
            Kind::Field => {
                let force = self.force(quote!(<#name as #k::EreportField>::MAX_LEN));
                Ok(quote! {
                    impl #ig #k::EreportField for #name #tg #wc {
                        const MAX_LEN: usize = #k::__private::sat_add(
                            #k::__private::head_len(<Self as #k::FlattenFields>::MAX_ENTRIES as u64),
                            <Self as #k::FlattenFields>::MAX_ENTRIES_LEN,
                        );
                        fn encode<__W: #k::__private::Write>(
                            &self,
                            __e: &mut #k::__private::Encoder<__W>,
                        ) -> ::core::result::Result<(), #k::__private::Error<__W::Error>> {
                            __e.map(<Self as #k::FlattenFields>::entry_count(self) as u64)?;
                            <Self as #k::FlattenFields>::encode_entries(self, __e)
                        }
                    }
                    #force
                })
            }
            Kind::Ereport => {
                let class = self.ta.class.as_ref().ok_or_else(|| {
                    Error::new(span, "missing `class`: add #[ereport(class = \"hw.example.fault\", version = 0)]")
                })?;
                attrs::check_class(class)?;
                let version = self.ta.version.as_ref().ok_or_else(|| {
                    Error::new(
                        span,
                        "missing `version`: add `version = 0` to #[ereport(...)]",
                    )
                })?;
                let class_s = &class.value;
                let v = version.value;
                let fixed = str_len("k") + str_len(class_s) + str_len("v") + head_len(u64::from(v));
                let too_long = format!(
                    "ereport `{name}` can encode to more than {} bytes, the most packrat accepts",
                    1024
                );
                let keys_check = self.dup_check(
                    &quote!(#k::Keys::All { own: &["k", "v"], flattened: &[&<Self as #k::FlattenFields>::KEYS] }),
                    span,
                );
                let force = self.force(quote!(<#name as #k::Ereport>::MAX_LEN));
                Ok(quote_spanned! {span=>
                    impl #ig #k::Ereport for #name #tg #wc {
                        const CLASS: &'static str = #class_s;
                        const VERSION: u32 = #v;
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
                                ::core::panic!(#too_long);
                            }
                            n
                        };
                        fn encode<__W: #k::__private::Write>(
                            &self,
                            __e: &mut #k::__private::Encoder<__W>,
                        ) -> ::core::result::Result<(), #k::__private::Error<__W::Error>> {
                            __e.map((<Self as #k::FlattenFields>::entry_count(self) as u64).saturating_add(2))?;
                            __e.str("k")?.str(#class_s)?.str("v")?.u32(#v)?;
                            <Self as #k::FlattenFields>::encode_entries(self, __e)
                        }
                    }
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
        let id = self.ta.variant_id.as_ref();
        for v in &variants {
            if let Shape::Named(fs) = &v.shape {
                let reserved: Vec<(&str, &str)> = id
                    .map(|i| (i.value.as_str(), "it is the enum's variant-id key"))
                    .into_iter()
                    .chain(
                        (self.kind == Kind::Ereport)
                            .then_some([
                                ("k", "it holds the ereport's class"),
                                ("v", "it holds the ereport's version"),
                            ])
                            .into_iter()
                            .flatten(),
                    )
                    .collect();
                check_own_keys(fs, &reserved)?;
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
        let (ig, tg, _) = self.input.generics.split_for_impl();
        let wc = self.bounds(&shapes);

        let mut out = TokenStream::new();
        if flattenable {
            let mut count_arms = Vec::new();
            let mut encode_arms = Vec::new();
            let mut max_entries = quote!(0usize);
            let mut max_len = quote!(0usize);
            let mut keys = Vec::new();
            for v in &variants {
                let ident = &v.ident;
                let pat = self.pattern(quote!(Self::#ident), &v.shape);
                let empty = Vec::new();
                let fs = match &v.shape {
                    Shape::Named(fs) => fs,
                    _ => &empty,
                };
                let e = self.entries(fs, id.map(|i| (i.value.as_str(), v.name.as_str())));
                let (c, enc, me, ml, ks) = (e.count, e.encode, e.max_entries, e.max_len, e.keys);
                count_arms.push(quote!(#pat => #c,));
                encode_arms.push(quote!(#pat => { #enc }));
                max_entries = quote!(#k::__private::max(#max_entries, #me));
                max_len = quote!(#k::__private::max(#max_len, #ml));
                keys.push(quote!(&#ks));
            }
            let e = Entries {
                count: quote!(match self { #(#count_arms)* }),
                encode: quote!(match self { #(#encode_arms)* }),
                max_entries,
                max_len,
                keys: quote!(#k::Keys::AnyOf(&[#(#keys),*])),
            };
            out.extend(self.flatten_impl(&ig, &tg, &wc, &e, quote!(), quote!()));
            if self.kind == Kind::Ereport {
                out.extend(self.map_impls(&ig, &tg, &wc, name.span())?);
                return Ok(out);
            }
        }

        // EreportField: unit variants as strings, named ones as maps, tuple
        // ones as a one-entry map from the name to the value(s).
        let mut arms = Vec::new();
        let mut max = quote!(0usize);
        for v in &variants {
            let ident = &v.ident;
            let vname = &v.name;
            let pat = self.pattern(quote!(Self::#ident), &v.shape);
            let (body, len) = match &v.shape {
                Shape::Unit => (quote!(__e.str(#vname)?;), {
                    let n = str_len(vname);
                    quote!(#n)
                }),
                Shape::Named(fs) => {
                    let e = self.entries(fs, id.map(|i| (i.value.as_str(), vname.as_str())));
                    let (c, enc, me, ml) = (e.count, e.encode, e.max_entries, e.max_len);
                    (
                        quote!(__e.map((#c) as u64)?; #enc),
                        quote!(#k::__private::sat_add(#k::__private::head_len((#me) as u64), #ml)),
                    )
                }
                Shape::Tuple(fs) => {
                    let live: Vec<&Field> = fs.iter().filter(|f| !f.skipped()).collect();
                    let tys: Vec<&Type> = live.iter().map(|f| &f.ty).collect();
                    let bs = live.iter().map(|f| &f.binding);
                    let fixed = 1 + str_len(vname);
                    if live.len() == 1 {
                        let ty = tys[0];
                        (
                            quote!(__e.map(1)?.str(#vname)?; #(<#tys as #k::EreportField>::encode(#bs, __e)?;)*),
                            quote!(#k::__private::sat_add(#fixed, <#ty as #k::EreportField>::MAX_LEN)),
                        )
                    } else {
                        let n = live.len();
                        let fixed = fixed + head_len(n as u64);
                        let mut len = quote!(#fixed);
                        for ty in &tys {
                            len = quote!(#k::__private::sat_add(#len, <#ty as #k::EreportField>::MAX_LEN));
                        }
                        (
                            quote!(__e.map(1)?.str(#vname)?.array(#n as u64)?; #(<#tys as #k::EreportField>::encode(#bs, __e)?;)*),
                            len,
                        )
                    }
                }
            };
            arms.push(quote!(#pat => { #body }));
            max = quote!(#k::__private::max(#max, #len));
        }
        let force = self.force(quote!(<#name as #k::EreportField>::MAX_LEN));
        out.extend(quote! {
            impl #ig #k::EreportField for #name #tg #wc {
                const MAX_LEN: usize = #max;
                #[allow(unused_variables)]
                fn encode<__W: #k::__private::Write>(
                    &self,
                    __e: &mut #k::__private::Encoder<__W>,
                ) -> ::core::result::Result<(), #k::__private::Error<__W::Error>> {
                    match self { #(#arms)* }
                    Ok(())
                }
            }
            #force
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::renamed_dependency;

    #[test]
    fn finds_a_renamed_sdk() {
        let inline = "[dependencies]\nminicbor = \"2\"\nsdk = { package = \"ereport-sdk\", path = \"../x\" }\n";
        assert_eq!(renamed_dependency(inline).as_deref(), Some("sdk"));
        let table = "[dev-dependencies.my-sdk]\npath = \"..\"\npackage = \"ereport-sdk\"\n";
        assert_eq!(renamed_dependency(table).as_deref(), Some("my_sdk"));
        assert_eq!(
            renamed_dependency("[dependencies]\nereport-sdk = { path = \"..\" }\n"),
            None
        );
    }
}
