//! Finding the store through the firmware's ELF: the symbols of statics
//! (`.bss`, `.data`), by name as written in the source.

use object::{Object, ObjectSymbol, SymbolKind};

/// A data symbol: a static's demangled name, address and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSymbol {
    /// The name without its hash (`w1_dump::STORE`).
    pub name: String,
    /// Its address.
    pub addr: u64,
    /// Its size in bytes.
    pub size: u64,
}

/// Why the ELF could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    /// Not an object file this reader understands.
    #[error("not an ELF file: {0}")]
    Parse(#[from] object::Error),
    /// No static matches the name.
    #[error("no static named {0:?} in the ELF (try without --symbol to search every static)")]
    NoSymbol(String),
}

/// Every data symbol (statics) in `elf`.
pub fn data_symbols(elf: &[u8]) -> Result<Vec<DataSymbol>, ElfError> {
    let file = object::File::parse(elf)?;
    Ok(file
        .symbols()
        .filter(|s| s.kind() == SymbolKind::Data && s.size() > 0)
        .filter_map(|s| {
            let raw = s.name().ok()?;
            Some(DataSymbol {
                name: format!("{:#}", rustc_demangle::demangle(raw)),
                addr: s.address(),
                size: s.size(),
            })
        })
        .collect())
}

/// The statics whose name is `name` or ends with `::name`.
pub fn find(elf: &[u8], name: &str) -> Result<Vec<DataSymbol>, ElfError> {
    let suffix = format!("::{name}");
    let found: Vec<DataSymbol> = data_symbols(elf)?
        .into_iter()
        .filter(|s| s.name == name || s.name.ends_with(&suffix))
        .collect();
    if found.is_empty() {
        return Err(ElfError::NoSymbol(name.to_string()));
    }
    Ok(found)
}
