//! What an ELF executable is and needs, read with the `object` crate: its kind (non-PIE,
//! PIE, static), interpreter, `DT_NEEDED` entries, exported symbols, the newest glibc symbol
//! version it asks for, its stack's permissions, and its own defined symbols.

use anyhow::{Context, Result, bail};
use object::elf;
use object::read::elf::{Dyn, ElfFile64, FileHeader, ProgramHeader};
use object::{Endianness, Object, ObjectSymbol, SymbolKind};
use std::collections::BTreeSet;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `ET_EXEC`: linked at a fixed address (non-PIE).
    Executable,
    /// `ET_DYN` with an interpreter or `DF_1_PIE`: a position-independent executable.
    PieExecutable,
    /// `ET_DYN` otherwise: a shared library.
    SharedObject,
    Relocatable,
}

#[derive(Debug, Clone)]
pub struct Info {
    pub kind: Kind,
    /// `PT_INTERP`: the dynamic loader; none for a static executable.
    pub interpreter: Option<String>,
    pub needed: Vec<String>,
    /// Symbols defined in the dynamic symbol table: what a loaded module can bind to.
    pub exported: BTreeSet<String>,
    /// The newest `GLIBC_x.y` among the versions it requires.
    pub glibc: Option<String>,
    /// `PT_GNU_STACK`: `Some(executable?)`, `None` when absent (the stack is then executable).
    pub stack_executable: Option<bool>,
    /// Symbols defined in `.symtab` (functions and data), if it was not stripped.
    pub defined: BTreeSet<String>,
    /// Whether relocations were kept in the executable (`--emit-relocs`), which BOLT wants.
    pub has_static_relocs: bool,
}

impl Info {
    /// Fully static: no interpreter and nothing to load.
    pub fn is_static(&self) -> bool {
        self.interpreter.is_none() && self.needed.is_empty()
    }
}

/// True if the file starts with the ELF magic.
pub fn is_elf(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

pub fn read(path: &Path) -> Result<Info> {
    let data = crate::util::fs::read(path)?;
    parse(&data).with_context(|| format!("reading the ELF file {}", path.display()))
}

fn parse(data: &[u8]) -> Result<Info> {
    let file = ElfFile64::<Endianness>::parse(data).context("not a 64-bit ELF file")?;
    let endian = file.endian();
    let header = file.elf_header();
    let mut interpreter = None;
    let mut stack_executable = None;
    for ph in header.program_headers(endian, data)? {
        match ph.p_type(endian) {
            elf::PT_INTERP => {
                let bytes = ph.data(endian, data).ok().unwrap_or_default();
                interpreter = Some(
                    String::from_utf8_lossy(bytes)
                        .trim_end_matches('\0')
                        .to_string(),
                );
            }
            elf::PT_GNU_STACK => stack_executable = Some(ph.p_flags(endian).0 & elf::PF_X.0 != 0),
            _ => {}
        }
    }
    let sections = file.elf_section_table();
    let mut needed = Vec::new();
    let mut pie_flag = false;
    if let Some((entries, link)) = sections.dynamic(endian, data)? {
        let strings = sections.strings(endian, data, link)?;
        for d in entries {
            let tag = d.d_tag(endian);
            let val: u64 = d.d_val(endian);
            if tag == elf::DT_NEEDED {
                let name = strings
                    .get(u32::try_from(val).context("DT_NEEDED offset")?)
                    .ok()
                    .context("a DT_NEEDED entry names no string")?;
                needed.push(String::from_utf8_lossy(name).into_owned());
            } else if tag == elf::DT_FLAGS_1 && val & elf::DF_1_PIE.0 != 0 {
                pie_flag = true;
            }
        }
    }
    let mut glibc: Option<String> = None;
    if let Some((mut needs, link)) = sections.gnu_verneed(endian, data)? {
        let strings = sections.strings(endian, data, link)?;
        while let Some((_, mut aux)) = needs.next()? {
            while let Some(a) = aux.next()? {
                let name = String::from_utf8_lossy(a.name(endian, strings)?).into_owned();
                if let Some(v) = name.strip_prefix("GLIBC_")
                    && v.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                    && glibc
                        .as_deref()
                        .is_none_or(|g| version_key(v) > version_key(g))
                {
                    glibc = Some(v.to_string());
                }
            }
        }
    }
    let kind = match header.e_type(endian) {
        elf::ET_EXEC => Kind::Executable,
        elf::ET_DYN if interpreter.is_some() || pie_flag => Kind::PieExecutable,
        elf::ET_DYN => Kind::SharedObject,
        elf::ET_REL => Kind::Relocatable,
        other => bail!("unexpected ELF type {other}"),
    };
    let named = |s: &object::read::elf::ElfSymbol64<'_, '_, Endianness>| {
        s.is_definition()
            && matches!(
                s.kind(),
                SymbolKind::Text | SymbolKind::Data | SymbolKind::Tls | SymbolKind::Unknown
            )
    };
    let exported = file
        .dynamic_symbols()
        .filter(|s| named(s))
        .filter_map(|s| s.name().ok().map(String::from))
        .collect();
    let defined = file
        .symbols()
        .filter(|s| named(s))
        .filter_map(|s| s.name().ok().map(String::from))
        .collect();
    let has_static_relocs = file.sections().any(|s| {
        use object::ObjectSection;
        s.name().is_ok_and(|n| n == ".rela.text")
    });
    Ok(Info {
        kind,
        interpreter,
        needed,
        exported,
        glibc,
        stack_executable,
        defined,
        has_static_relocs,
    })
}

/// `2.36` -> `[2, 36]`, for comparing versions numerically.
pub fn version_key(v: &str) -> Vec<u32> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_test_binary_reads_as_a_dynamic_executable() {
        let me = std::env::current_exe().unwrap();
        assert!(is_elf(&me));
        let info = read(&me).unwrap();
        assert!(info.needed.iter().any(|n| n == "libc.so.6"), "{info:?}");
        assert!(
            info.interpreter
                .as_deref()
                .is_some_and(|i| i.contains("ld-linux"))
        );
        assert_eq!(info.stack_executable, Some(false));
        assert!(info.glibc.is_some());
        assert!(matches!(info.kind, Kind::PieExecutable | Kind::Executable));
        assert!(!info.defined.is_empty(), "a test binary keeps its symbols");
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(version_key("2.36") > version_key("2.4"));
        assert!(version_key("2.17") < version_key("2.34"));
    }
}
