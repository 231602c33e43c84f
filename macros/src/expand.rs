//! Code generation: impls of the SDK's traits for a parsed type.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Error, Ident, Result, Type};

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
    /// Const `FieldSchema` expressions, one per field, for the catalog.
    schema: Vec<TokenStream>,
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
        let mut encode = Vec::new();
        let mut flat_counts = Vec::new();
        let mut flat_max_entries = Vec::new();
        let mut flat_max_len = Vec::new();
        let mut field_max_len = Vec::new();
        let mut flat_keys = Vec::new();
        let mut schema = Vec::new();
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
                let name = f.member_name();
                schema.push(quote_spanned!(sp=> #k::schema::FieldSchema {
                    name: #name,
                    ty: &<#ty as #k::FlattenFields>::SCHEMA,
                    optional: <#ty as #k::FlattenFields>::OPTIONAL,
                    flattened: true,
                    max_len: <#ty as #k::FlattenFields>::MAX_ENTRIES_LEN,
                }));
            } else if let Some(key) = &f.key {
                own_keys.push(key.clone());
                fixed_count += 1;
                fixed_len += str_len(key);
                field_max_len.push(quote_spanned!(sp=> <#ty as #k::EreportField>::MAX_LEN));
                encode.push(quote_spanned!(sp=> __e.str(#key)?; <#ty as #k::EreportField>::encode(#b, __e)?;));
                schema.push(quote_spanned!(sp=> #k::schema::FieldSchema {
                    name: #key,
                    ty: &<#ty as #k::EreportField>::SCHEMA,
                    optional: <#ty as #k::EreportField>::OPTIONAL,
                    flattened: false,
                    max_len: <#ty as #k::EreportField>::MAX_LEN,
                }));
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
            schema,
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
                let e = self.entries(fs, None);
                let pat = self.pattern(quote!(Self), &shape);
                let fields = &e.schema;
                let schema = quote!(#k::schema::TypeSchema::Map { fields: &[#(#fields),*] });
                let flatten = self.flatten_impl(
                    &impl_generics,
                    &type_generics,
                    &where_clause,
                    &e,
                    schema,
                    quote!(let #pat = self;),
                );
                let rest =
                    self.map_impls(&impl_generics, &type_generics, &where_clause, name.span())?;
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
                    impl #impl_generics #k::EreportField for #name #type_generics #where_clause {
                        const MAX_LEN: usize = #max;
                        #schema
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
        impl_generics: &syn::ImplGenerics<'_>,
        type_generics: &syn::TypeGenerics<'_>,
        where_clause: &TokenStream,
        e: &Entries,
        schema: TokenStream,
        prelude: TokenStream,
    ) -> TokenStream {
        let k = &self.krate;
        let name = self.name();
        let Entries {
            count,
            encode,
            max_entries,
            max_len,
            keys,
            ..
        } = e;
        let check = self.dup_check(&quote!(<Self as #k::FlattenFields>::KEYS), name.span());
        quote! {
            impl #impl_generics #k::FlattenFields for #name #type_generics #where_clause {
                const MAX_ENTRIES: usize = #max_entries;
                const MAX_ENTRIES_LEN: usize = {
                    #check
                    #max_len
                };
                const KEYS: #k::Keys = #keys;
                const SCHEMA: #k::schema::TypeSchema = #schema;

                #[allow(unused_variables)]
                fn entry_count(&self) -> usize {
                    #prelude
                    #count
                }

                #[allow(unused_variables)]
                fn encode_entries<__W: #k::__private::Write>(
                    &self,
                    __e: &mut #k::__private::Encoder<__W>,
                ) -> ::core::result::Result<(), #k::__private::Error<__W::Error>> {
                    #prelude
                    #encode
                    Ok(())
                }
            }
        }
    }

    /// `EreportField` (as a map) or `Ereport`, on top of `FlattenFields`.
    fn map_impls(
        &self,
        impl_generics: &syn::ImplGenerics<'_>,
        type_generics: &syn::TypeGenerics<'_>,
        where_clause: &TokenStream,
        span: Span,
    ) -> Result<TokenStream> {
        let k = &self.krate;
        let name = self.name();
        match self.kind {
            Kind::Field => {
                let force = self.force(quote!(<#name as #k::EreportField>::MAX_LEN));
                Ok(quote! {
                    impl #impl_generics #k::EreportField for #name #type_generics #where_clause {
                        const MAX_LEN: usize = #k::__private::sat_add(
                            #k::__private::head_len(<Self as #k::FlattenFields>::MAX_ENTRIES as u64),
                            <Self as #k::FlattenFields>::MAX_ENTRIES_LEN,
                        );
                        const SCHEMA: #k::schema::TypeSchema = <Self as #k::FlattenFields>::SCHEMA;
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
                let fixed = str_len("k") + str_len(class_s) + str_len("v") + head_len(u64::from(v));
                let too_long = format!(
                    "ereport `{name}` can encode to more than MAX_EREPORT_LEN bytes, the longest body a response can always carry"
                );
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

        let mut out = TokenStream::new();
        if flattenable {
            let mut count_arms = Vec::new();
            let mut encode_arms = Vec::new();
            let mut max_entries = quote!(0usize);
            let mut max_len = quote!(0usize);
            let mut keys = Vec::new();
            let mut variant_schemas = Vec::new();
            for v in &variants {
                let ident = &v.ident;
                let pat = self.pattern(quote!(Self::#ident), &v.shape);
                let vname = &v.name;
                let empty = Vec::new();
                let fs = match &v.shape {
                    Shape::Named(fs) => fs,
                    _ => &empty,
                };
                let e = self.entries(fs, id.map(|i| (i.value.as_str(), v.name.as_str())));
                let Entries {
                    count: variant_count,
                    encode: variant_encode,
                    max_entries: variant_max_entries,
                    max_len: variant_max_len,
                    keys: variant_keys,
                    schema: variant_fields,
                } = e;
                variant_schemas.push(match v.shape {
                    Shape::Named(_) => quote!(#k::schema::VariantSchema::Struct { name: #vname, fields: &[#(#variant_fields),*] }),
                    _ => quote!(#k::schema::VariantSchema::Unit { name: #vname }),
                });
                count_arms.push(quote!(#pat => #variant_count,));
                encode_arms.push(quote!(#pat => { #variant_encode }));
                max_entries = quote!(#k::__private::max(#max_entries, #variant_max_entries));
                max_len = quote!(#k::__private::max(#max_len, #variant_max_len));
                keys.push(quote!(&#variant_keys));
            }
            let e = Entries {
                count: quote!(match self { #(#count_arms)* }),
                encode: quote!(match self { #(#encode_arms)* }),
                max_entries,
                max_len,
                keys: quote!(#k::Keys::AnyOf(&[#(#keys),*])),
                schema: Vec::new(),
            };
            let variant_id = match id {
                Some(i) => {
                    let i = &i.value;
                    quote!(::core::option::Option::Some(#i))
                }
                None => quote!(::core::option::Option::None),
            };
            let schema = quote!(#k::schema::TypeSchema::Enum { variant_id: #variant_id, variants: &[#(#variant_schemas),*] });
            out.extend(self.flatten_impl(
                &impl_generics,
                &type_generics,
                &where_clause,
                &e,
                schema,
                quote!(),
            ));
            if self.kind == Kind::Ereport {
                out.extend(self.map_impls(
                    &impl_generics,
                    &type_generics,
                    &where_clause,
                    name.span(),
                )?);
                return Ok(out);
            }
        }

        // EreportField: unit variants as strings, named ones as maps, tuple
        // ones as a one-entry map from the name to the value(s).
        let mut arms = Vec::new();
        let mut max = quote!(0usize);
        let mut variant_schemas = Vec::new();
        for v in &variants {
            let ident = &v.ident;
            let vname = &v.name;
            let pat = self.pattern(quote!(Self::#ident), &v.shape);
            variant_schemas.push(match &v.shape {
                Shape::Unit => quote!(#k::schema::VariantSchema::Unit { name: #vname }),
                Shape::Named(fs) => {
                    let fields =
                        self.entries(fs, id.map(|i| (i.value.as_str(), vname.as_str()))).schema;
                    quote!(#k::schema::VariantSchema::Struct { name: #vname, fields: &[#(#fields),*] })
                }
                Shape::Tuple(fs) => {
                    let tys = fs.iter().filter(|f| !f.skipped()).map(|f| &f.ty);
                    quote!(#k::schema::VariantSchema::Tuple { name: #vname, items: &[#(<#tys as #k::EreportField>::SCHEMA),*] })
                }
            });
            let (body, len) = match &v.shape {
                Shape::Unit => (quote!(__e.str(#vname)?;), {
                    let n = str_len(vname);
                    quote!(#n)
                }),
                Shape::Named(fs) => {
                    let Entries {
                        count,
                        encode,
                        max_entries,
                        max_len,
                        ..
                    } = self.entries(fs, id.map(|i| (i.value.as_str(), vname.as_str())));
                    (
                        quote!(__e.map((#count) as u64)?; #encode),
                        quote!(#k::__private::sat_add(#k::__private::head_len((#max_entries) as u64), #max_len)),
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
        let variant_id = match id {
            Some(i) => {
                let i = &i.value;
                quote!(::core::option::Option::Some(#i))
            }
            None => quote!(::core::option::Option::None),
        };
        out.extend(quote! {
            impl #impl_generics #k::EreportField for #name #type_generics #where_clause {
                const MAX_LEN: usize = #max;
                const SCHEMA: #k::schema::TypeSchema = #k::schema::TypeSchema::Enum {
                    variant_id: #variant_id,
                    variants: &[#(#variant_schemas),*],
                };
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
