//! Finds a section of the running executable by its name, reading only the ELF header, the
//! section header table and the section-name table (a few kilobytes).
//!
//! The single-file isolate carries its stdlib zip as the section `.pysysroot.stdlib`
//! (written by xtask's `util::elf_section`), which `strip` keeps where it would drop bytes
//! merely appended. 64-bit little-endian ELF only, as that writer makes.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
#[cfg(not(target_os = "wasi"))]
use std::path::{Path, PathBuf};

/// Where a section's bytes are in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub offset: u64,
    pub size: u64,
}

impl Span {
    pub fn end(&self) -> u64 {
        self.offset + self.size
    }
}

const SHDR_SIZE: usize = 64;

pub fn read_at(file: &mut File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(&mut buf)?;
    Ok(buf)
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}

/// The section `name` of the ELF file `file`: `None` when the file is not a 64-bit
/// little-endian ELF file, has no section headers, or no such section inside the file.
pub fn find_section(file: &mut File, name: &[u8]) -> io::Result<Option<Span>> {
    let len = file.metadata()?.len();
    let header = read_at(file, 0, 64)?;
    if header[..4] != *b"\x7fELF" || header[4] != 2 || header[5] != 1 {
        return Ok(None);
    }
    let shoff = u64_at(&header, 0x28);
    let shentsize = u16_at(&header, 0x3a) as usize;
    let shnum = u16_at(&header, 0x3c) as usize;
    let shstrndx = u16_at(&header, 0x3e) as usize;
    let table_end = shoff.checked_add((shnum * SHDR_SIZE) as u64);
    if shoff == 0
        || shentsize != SHDR_SIZE
        || shstrndx >= shnum
        || table_end.is_none_or(|e| e > len)
    {
        return Ok(None);
    }
    let table = read_at(file, shoff, shnum * SHDR_SIZE)?;
    let span = |i: usize| Span {
        offset: u64_at(&table, i * SHDR_SIZE + 24),
        size: u64_at(&table, i * SHDR_SIZE + 32),
    };
    let names = span(shstrndx);
    if names.offset.checked_add(names.size).is_none_or(|e| e > len) || names.size > 1 << 20 {
        return Ok(None);
    }
    let names = read_at(file, names.offset, names.size as usize)?;
    // The writer puts the section last, and strip keeps it there: look from the end.
    for i in (0..shnum).rev() {
        let at = u32_at(&table, i * SHDR_SIZE) as usize;
        let this = names
            .get(at..)
            .and_then(|rest| rest.split(|b| *b == 0).next());
        if this == Some(name) {
            let s = span(i);
            return Ok(s
                .offset
                .checked_add(s.size)
                .is_some_and(|e| e <= len)
                .then_some(s));
        }
    }
    Ok(None)
}

/// `argv[0]` as a C `main` received it. Rust's std knows the arguments by itself only with
/// glibc; under musl an executable whose `main` is C's (the isolate) has none in
/// `std::env::args_os()`.
#[cfg(not(target_os = "wasi"))]
static ARGV0: std::sync::OnceLock<std::ffi::OsString> = std::sync::OnceLock::new();

/// Records `argv[0]` for [`running_executable`], once, before anything asks for it.
#[cfg(not(target_os = "wasi"))]
pub fn note_argv0(argv0: &std::ffi::CStr) {
    use std::os::unix::ffi::OsStrExt;
    let _ = ARGV0.set(std::ffi::OsStr::from_bytes(argv0.to_bytes()).to_os_string());
}

/// The file this process runs: `/proc/self/exe`, or, where there is no /proc (an empty root,
/// a minimal container), where `argv[0]` leads, as CPython's getpath finds python3 then: a
/// path when it holds a slash, else the first executable of that name on `PATH`. Not on WASI,
/// whose std cannot split `PATH` and whose modules are not ELF files.
#[cfg(not(target_os = "wasi"))]
pub fn running_executable() -> Option<PathBuf> {
    if let Ok(exe) = std::fs::read_link("/proc/self/exe") {
        return Some(exe);
    }
    let argv0 = PathBuf::from(
        std::env::args_os()
            .next()
            .or_else(|| ARGV0.get().cloned())?,
    );
    if argv0.as_os_str().as_encoded_bytes().contains(&b'/') {
        return std::fs::canonicalize(&argv0).ok();
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(&argv0))
        .find(|p| is_executable(p))
        .and_then(|p| std::fs::canonicalize(p).ok())
}

#[cfg(unix)]
#[cfg(not(target_os = "wasi"))]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(any(unix, target_os = "wasi")))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_of_this_test_executable() {
        let me = running_executable().expect("the test executable");
        assert_eq!(me, std::env::current_exe().unwrap());
        let mut file = File::open(&me).unwrap();
        let text = find_section(&mut file, b".text").unwrap().expect(".text");
        assert!(text.size > 0 && text.end() <= file.metadata().unwrap().len());
        assert_eq!(find_section(&mut file, b".pysysroot.stdlib").unwrap(), None);
    }

    #[test]
    fn a_file_that_is_not_elf64_has_no_sections() {
        let path = std::env::temp_dir().join(format!("engine-elf-{}", std::process::id()));
        let mut data = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        data[4] = 1; // ELFCLASS32
        std::fs::write(&path, &data).unwrap();
        let found = find_section(&mut File::open(&path).unwrap(), b".text").unwrap();
        std::fs::write(&path, b"#!/bin/sh\n").unwrap();
        let short = find_section(&mut File::open(&path).unwrap(), b".text");
        std::fs::remove_file(&path).unwrap();
        assert_eq!(found, None);
        assert!(short.is_err(), "shorter than an ELF header");
    }
}
