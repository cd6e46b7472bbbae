//! WebAssembly modules and objects, read with `wasmparser`: a module's imports, and the
//! symbols an object file defines (its `linking` section).

use crate::util::archive::Symbol;
use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::path::Path;
use wasmparser::{KnownCustom, Linking, Parser, Payload, SymbolFlags, SymbolInfo};

/// The module names a WebAssembly program imports from (`wasi_snapshot_preview1`...), and the
/// functions it imports from each, as `module.name`.
pub fn imports(path: &Path) -> Result<BTreeSet<(String, String)>> {
    let data = crate::util::fs::read(path)?;
    let mut out = BTreeSet::new();
    for payload in Parser::new(0).parse_all(&data) {
        if let Payload::ImportSection(reader) =
            payload.with_context(|| format!("reading the WebAssembly module {}", path.display()))?
        {
            for import in reader.into_imports() {
                let import =
                    import.with_context(|| format!("reading the imports of {}", path.display()))?;
                out.insert((import.module.to_string(), import.name.to_string()));
            }
        }
    }
    Ok(out)
}

pub(crate) fn object_symbols(bytes: &[u8], out: &mut Vec<Symbol>) -> Result<()> {
    for payload in Parser::new(0).parse_all(bytes) {
        let Payload::CustomSection(custom) = payload.context("not a WebAssembly object")? else {
            continue;
        };
        let KnownCustom::Linking(linking) = custom.as_known() else {
            continue;
        };
        for sub in linking.subsections() {
            let Linking::SymbolTable(symbols) = sub? else {
                continue;
            };
            for symbol in symbols {
                let (flags, name, function) = match symbol? {
                    SymbolInfo::Func { flags, name, .. } => (flags, name, true),
                    SymbolInfo::Data { flags, name, .. } => (flags, Some(name), false),
                    _ => continue,
                };
                let (Some(name), false) = (name, flags.contains(SymbolFlags::UNDEFINED)) else {
                    continue;
                };
                out.push(Symbol {
                    name: name.to_string(),
                    exported: !flags.contains(SymbolFlags::BINDING_LOCAL)
                        && !flags.contains(SymbolFlags::VISIBILITY_HIDDEN),
                    function,
                });
            }
        }
    }
    Ok(())
}
