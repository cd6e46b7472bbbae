//! Symbols defined in static archives and object files, ELF or WebAssembly: what the HACL*
//! check and the export list of CPython's C API are made from.

use anyhow::{Context, Result};
use object::read::archive::ArchiveFile;
use object::{Object, ObjectSymbol, SymbolKind, SymbolScope};
use std::collections::BTreeSet;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Symbol {
    pub name: String,
    /// Global with default visibility: other modules may bind to it.
    pub exported: bool,
    pub function: bool,
}

/// Every symbol defined in an archive's members (or in a single object file).
pub fn defined(path: &Path) -> Result<Vec<Symbol>> {
    let data = crate::util::fs::read(path)?;
    let mut out = Vec::new();
    if data.starts_with(b"!<arch>\n") {
        let archive = ArchiveFile::parse(&*data)
            .with_context(|| format!("reading the archive {}", path.display()))?;
        for member in archive.members() {
            let member = member.with_context(|| format!("reading {}", path.display()))?;
            let bytes = member
                .data(&*data)
                .with_context(|| format!("reading a member of {}", path.display()))?;
            object_symbols(bytes, &mut out).with_context(|| {
                format!(
                    "reading member {} of {}",
                    String::from_utf8_lossy(member.name()),
                    path.display()
                )
            })?;
        }
    } else {
        object_symbols(&data, &mut out).with_context(|| format!("reading {}", path.display()))?;
    }
    Ok(out)
}

/// The names alone.
pub fn defined_names(path: &Path) -> Result<BTreeSet<String>> {
    Ok(defined(path)?.into_iter().map(|s| s.name).collect())
}

fn object_symbols(bytes: &[u8], out: &mut Vec<Symbol>) -> Result<()> {
    if bytes.starts_with(b"\0asm") {
        return crate::util::wasm::object_symbols(bytes, out);
    }
    let file = object::File::parse(bytes).context("not an object file")?;
    for s in file.symbols() {
        // An assembler label without `.type` (CPython's perf trampoline) is NOTYPE but as
        // much a definition other modules bind to as a function.
        if !s.is_definition() || matches!(s.kind(), SymbolKind::Section | SymbolKind::File) {
            continue;
        }
        let Ok(name) = s.name() else { continue };
        out.push(Symbol {
            name: name.to_string(),
            exported: s.scope() == SymbolScope::Dynamic,
            function: s.kind() == SymbolKind::Text,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn reads_an_archive_built_by_the_c_compiler() {
        let d = std::env::temp_dir().join(format!("xtask-archive-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("a.c"),
            "int visible_fn(void) { return 1; }\n\
             __attribute__((visibility(\"hidden\"))) int hidden_fn(void) { return 2; }\n\
             int visible_data = 3;\nstatic int local_fn(void) { return 4; }\nint (*keep)(void) = local_fn;\n\
             __asm__(\".text\\n.globl asm_label\\nasm_label:\\n ret\\n\");\n",
        )
        .unwrap();
        assert!(
            Command::new("cc")
                .args(["-c", "-O2", "a.c", "-o", "a.o"])
                .current_dir(&d)
                .status()
                .unwrap()
                .success()
        );
        assert!(
            Command::new("ar")
                .args(["rc", "liba.a", "a.o"])
                .current_dir(&d)
                .status()
                .unwrap()
                .success()
        );
        let syms = defined(&d.join("liba.a")).unwrap();
        let get = |n: &str| syms.iter().find(|s| s.name == n).cloned();
        assert!(get("visible_fn").unwrap().exported && get("visible_fn").unwrap().function);
        assert!(!get("hidden_fn").unwrap().exported);
        assert!(get("visible_data").unwrap().exported && !get("visible_data").unwrap().function);
        assert!(get("local_fn").is_none_or(|s| !s.exported));
        assert!(get("asm_label").unwrap().exported);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
