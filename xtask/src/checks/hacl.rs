//! HACL*: CPython 3.12+ hashes through formally verified HACL* code, compiled into archives
//! that `make install` forgets. The recipe lists functions that must really be there, so a
//! build that stubbed them out, or an embedder that dropped the archive, is caught.

use crate::util::{archive, elf};
use anyhow::{Result, bail};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every listed symbol is defined in one of `archives`; returns the archives that hold any.
pub fn in_archives(archives: &[PathBuf], symbols: &[String]) -> Result<Vec<PathBuf>> {
    let mut missing: BTreeSet<&String> = symbols.iter().collect();
    let mut holders = Vec::new();
    for a in archives {
        let defined = archive::defined_names(a)?;
        let found: Vec<&String> = missing
            .iter()
            .filter(|s| defined.contains(**s))
            .copied()
            .collect();
        if !found.is_empty() {
            holders.push(a.clone());
        }
        for s in found {
            missing.remove(s);
        }
    }
    if !missing.is_empty() {
        bail!(
            "HACL* symbols not defined in the sysroot's archives: {}",
            missing.into_iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(holders)
}

/// An executable linked from the sysroot defines every listed symbol its own python3 defines:
/// LTO may inline some HACL* functions (aarch64 inlines the SHA-2 block functions), in
/// python3's link as in the LTO object, but what python3 kept the executable must keep too.
/// Returns how many of the listed symbols it defines.
pub fn in_executable(exe: &Path, python3: &Path, symbols: &[String]) -> Result<usize> {
    let defined = elf::read(exe)?.defined;
    let reference = elf::read(python3)?.defined;
    let missing: Vec<&String> = symbols
        .iter()
        .filter(|s| reference.contains(*s) && !defined.contains(*s))
        .collect();
    let present = symbols.iter().filter(|s| defined.contains(*s)).count();
    if !missing.is_empty() || (present == 0 && !symbols.is_empty()) {
        bail!(
            "HACL* symbols missing from {}: {missing:?} ({present} of the recipe's {} present)",
            exe.display(),
            symbols.len()
        );
    }
    Ok(present)
}
