//! Adds data to an ELF file as a section of its own, without moving a byte of what is there.
//!
//! The single-file isolate carries its stdlib zip this way. Data merely appended to an
//! executable is what `strip` and `objcopy` drop first (they keep only what a section or
//! segment covers); a section survives them. The zip stays at the end of the file, where
//! zipimport and zipfile look for it: after it come only a new section-name string table and
//! a new section header table (the old ones stay where they were, unreferenced), a few
//! kilobytes, well within the 64 KiB + 22 bytes in which zipimport searches for the zip's
//! end record. The new section is the table's last entry, so that `strip` and `objcopy`,
//! which lay out non-loaded sections in table order, write it last again.
//!
//! 64-bit little-endian ELF only (x86_64, aarch64): anything else is refused.

use crate::util::fs;
use anyhow::{Result, bail, ensure};
use std::path::Path;

/// The section that carries the single-file isolate's stdlib zip; `engine/src/stdlib.rs`
/// looks for the same name.
pub const STDLIB_SECTION: &str = ".pysysroot.stdlib";

const EHDR_SIZE: usize = 64;
const SHDR_SIZE: usize = 64;
const SHT_PROGBITS: u32 = 1;
const SHT_STRTAB: u32 = 3;
/// Section indexes from here on are reserved (extended numbering).
const SHN_LORESERVE: u16 = 0xff00;

/// Writes `output`: the ELF file `input` with `payload` appended as the non-loaded
/// `PROGBITS` section `name`, the last in its section header table.
pub fn append_section(input: &Path, name: &str, payload: &[u8], output: &Path) -> Result<()> {
    let data = fs::read(input)?;
    let bytes = with_section(input, &data, name, payload)?;
    fs::write(output, bytes)
}

/// A section header, as far as this module reads and writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shdr {
    name: u32,
    kind: u32,
    offset: u64,
    size: u64,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn shdr_at(b: &[u8], at: usize) -> Shdr {
    Shdr {
        name: u32_at(b, at),
        kind: u32_at(b, at + 4),
        offset: u64_at(b, at + 24),
        size: u64_at(b, at + 32),
    }
}

/// `data` (the ELF file `path`, named in errors) with the section added.
pub fn with_section(path: &Path, data: &[u8], name: &str, payload: &[u8]) -> Result<Vec<u8>> {
    let p = path.display();
    let header = Header::parse(path, data)?;
    let table = header.shoff as usize;
    let strtab = shdr_at(data, table + header.shstrndx as usize * SHDR_SIZE);
    let names = data
        .get(strtab.offset as usize..(strtab.offset + strtab.size) as usize)
        .filter(|_| strtab.kind == SHT_STRTAB);
    let Some(names) = names else {
        bail!(
            "{p}: its section-name table (section {}) is not a string table inside the file: the file is damaged; add the section to the executable as the linker wrote it",
            header.shstrndx
        );
    };
    for i in 0..header.shnum as usize {
        let s = shdr_at(data, table + i * SHDR_SIZE);
        let taken = names
            .get(s.name as usize..)
            .and_then(|rest| rest.split(|b| *b == 0).next())
            .is_some_and(|n| n == name.as_bytes());
        ensure!(
            !taken,
            "{p} already has a section {name}: add it to the executable as the linker wrote it (bin/), not to a copy that carries one"
        );
    }
    let mut out = Vec::with_capacity(data.len() + payload.len() + 4096);
    out.extend_from_slice(data);
    let payload_at = out.len() as u64;
    out.extend_from_slice(payload);
    // The new string table: the old names, then this one.
    let strtab_at = out.len() as u64;
    let name_at = names.len() as u32;
    out.extend_from_slice(names);
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    let strtab_size = out.len() as u64 - strtab_at;
    out.resize(out.len().next_multiple_of(8), 0);
    let shoff = out.len() as u64;
    out.extend_from_slice(&data[table..table + header.shnum as usize * SHDR_SIZE]);
    let moved = shoff as usize + header.shstrndx as usize * SHDR_SIZE;
    out[moved + 24..moved + 32].copy_from_slice(&strtab_at.to_le_bytes());
    out[moved + 32..moved + 40].copy_from_slice(&strtab_size.to_le_bytes());
    out.extend_from_slice(&new_shdr(name_at, payload_at, payload.len() as u64));
    out[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
    out[0x3c..0x3e].copy_from_slice(&(header.shnum + 1).to_le_bytes());
    Ok(out)
}

/// A non-loaded `PROGBITS` section of `size` bytes at `offset`, byte-aligned (so no tool pads
/// in front of it), with no flags (nothing maps it).
fn new_shdr(name: u32, offset: u64, size: u64) -> [u8; SHDR_SIZE] {
    let mut h = [0u8; SHDR_SIZE];
    h[0..4].copy_from_slice(&name.to_le_bytes());
    h[4..8].copy_from_slice(&SHT_PROGBITS.to_le_bytes());
    h[24..32].copy_from_slice(&offset.to_le_bytes());
    h[32..40].copy_from_slice(&size.to_le_bytes());
    h[48..56].copy_from_slice(&1u64.to_le_bytes());
    h
}

/// What the ELF header says about the section header table, once it is known to be one this
/// module can extend.
struct Header {
    shoff: u64,
    shnum: u16,
    shstrndx: u16,
}

impl Header {
    fn parse(path: &Path, data: &[u8]) -> Result<Header> {
        let p = path.display();
        const ONLY: &str = "only 64-bit little-endian ELF executables (x86_64, aarch64 Linux) can carry the stdlib as a section";
        ensure!(
            data.len() >= 16 && data[..4] == *b"\x7fELF",
            "{p} is not an ELF file: {ONLY}"
        );
        match (data[4], data[5]) {
            (2, 1) => {}
            (1, _) => bail!("{p} is a 32-bit ELF file: {ONLY}"),
            (2, 2) => bail!("{p} is a big-endian ELF file: {ONLY}"),
            (class, order) => {
                bail!("{p} has an unknown ELF class {class} or byte order {order}: {ONLY}")
            }
        }
        ensure!(
            data.len() >= EHDR_SIZE,
            "{p} ends inside its ELF header ({} bytes): the file is truncated",
            data.len()
        );
        let header = Header {
            shoff: u64_at(data, 0x28),
            shnum: u16_at(data, 0x3c),
            shstrndx: u16_at(data, 0x3e),
        };
        let shentsize = u16_at(data, 0x3a);
        if header.shoff == 0 {
            bail!(
                "{p} has no section header table (sstrip removes it): add the section to the executable as the linker wrote it"
            );
        }
        ensure!(
            header.shnum != 0 && header.shnum < SHN_LORESERVE - 1,
            "{p} uses extended section numbering (65,279 sections or more), which this tool does not write: add the section to a smaller executable"
        );
        ensure!(
            shentsize as usize == SHDR_SIZE,
            "{p} has section headers of {shentsize} bytes instead of {SHDR_SIZE}: the file is damaged"
        );
        ensure!(
            header.shstrndx != 0 && header.shstrndx < header.shnum,
            "{p} has no section-name table (e_shstrndx {}): the file is damaged",
            header.shstrndx
        );
        let end = header.shoff as usize + header.shnum as usize * SHDR_SIZE;
        ensure!(
            header.shoff as usize <= data.len() && end <= data.len(),
            "{p}: its section header table (at {}, {} entries) runs past the end of the file ({} bytes): the file is truncated",
            header.shoff,
            header.shnum,
            data.len()
        );
        Ok(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::{Object, ObjectSection};
    use std::path::PathBuf;

    fn scratch(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("xtask-elf-section-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn sections(data: &[u8]) -> Vec<(String, Vec<u8>, u64)> {
        let file = object::File::parse(data).unwrap();
        file.sections()
            .map(|s| {
                (
                    s.name().unwrap().to_string(),
                    s.data().unwrap_or_default().to_vec(),
                    s.address(),
                )
            })
            .collect()
    }

    #[test]
    fn the_payload_becomes_the_last_section_and_every_other_one_is_unchanged() {
        let me = std::env::current_exe().unwrap();
        let data = std::fs::read(&me).unwrap();
        let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let out = with_section(&me, &data, STDLIB_SECTION, &payload).unwrap();
        // Only the ELF header's e_shoff and e_shnum change; nothing else before the payload.
        assert_eq!(out[EHDR_SIZE..data.len()], data[EHDR_SIZE..]);
        assert_eq!(out[..0x28], data[..0x28]);
        assert_eq!(out[0x30..0x3c], data[0x30..0x3c]);
        assert_eq!(out[0x3e..EHDR_SIZE], data[0x3e..EHDR_SIZE]);
        let before = sections(&data);
        let after = sections(&out);
        assert_eq!(after.len(), before.len() + 1);
        for (old, new) in before.iter().zip(&after) {
            if old.0 == ".shstrtab" {
                // Moved, and the new name added at its end.
                assert!(new.1.starts_with(&old.1) && new.1.ends_with(b".pysysroot.stdlib\0"));
            } else {
                assert_eq!(old, new);
            }
        }
        let (name, bytes, address) = after.last().unwrap();
        assert_eq!(name, STDLIB_SECTION);
        assert_eq!(*bytes, payload);
        assert_eq!(*address, 0, "not loaded");
        // Only the new names and section headers follow the payload.
        let file = object::File::parse(&*out).unwrap();
        let section = file.section_by_name(STDLIB_SECTION).unwrap();
        let (offset, size) = section.file_range().unwrap();
        assert_eq!(offset, data.len() as u64);
        let trailing = out.len() as u64 - (offset + size);
        assert!(trailing < 16 * 1024, "{trailing} bytes after the payload");
    }

    #[test]
    fn an_executable_with_the_section_still_runs() {
        let true_ = Path::new("/bin/true");
        let data = std::fs::read(true_).unwrap();
        let out = with_section(true_, &data, STDLIB_SECTION, b"PK\x05\x06 not loaded").unwrap();
        let dir = scratch("runs");
        let exe = dir.join("true");
        std::fs::write(&exe, out).unwrap();
        crate::util::fs::set_executable(&exe).unwrap();
        let status = std::process::Command::new(&exe).status().unwrap();
        assert!(status.success(), "{status}");
    }

    #[test]
    fn adding_it_twice_is_refused() {
        let me = std::env::current_exe().unwrap();
        let data = std::fs::read(&me).unwrap();
        let once = with_section(&me, &data, STDLIB_SECTION, b"zip").unwrap();
        let err = with_section(&me, &once, STDLIB_SECTION, b"zip").unwrap_err();
        assert!(
            err.to_string()
                .contains("already has a section .pysysroot.stdlib"),
            "{err}"
        );
    }

    #[test]
    fn non_elf_and_32_bit_files_are_refused_naming_the_path() {
        let dir = scratch("refused");
        let text = dir.join("script.sh");
        std::fs::write(
            &text,
            "#!/bin/sh\necho hello, this is long enough to be a header..............\n",
        )
        .unwrap();
        let err = append_section(&text, STDLIB_SECTION, b"zip", &dir.join("out"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("{} is not an ELF file", text.display())),
            "{err}"
        );
        assert!(err.contains("64-bit little-endian"), "{err}");

        let mut elf32 = vec![0u8; 52];
        elf32[..6].copy_from_slice(b"\x7fELF\x01\x01");
        let small = dir.join("elf32");
        std::fs::write(&small, &elf32).unwrap();
        let err = append_section(&small, STDLIB_SECTION, b"zip", &dir.join("out"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("{} is a 32-bit ELF file", small.display())),
            "{err}"
        );

        let mut big = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        big[5] = 2;
        let err = with_section(Path::new("big"), &big, STDLIB_SECTION, b"zip").unwrap_err();
        assert!(
            err.to_string().contains("big is a big-endian ELF file"),
            "{err}"
        );
        assert!(!dir.join("out").exists(), "nothing is written");
    }

    #[test]
    fn a_file_without_section_headers_is_refused() {
        let me = std::env::current_exe().unwrap();
        let mut data = std::fs::read(&me).unwrap();
        data[0x28..0x30].copy_from_slice(&0u64.to_le_bytes());
        let err = with_section(Path::new("sstripped"), &data, STDLIB_SECTION, b"zip").unwrap_err();
        assert!(
            err.to_string()
                .contains("sstripped has no section header table"),
            "{err}"
        );
        let mut data = std::fs::read(&me).unwrap();
        data.truncate(data.len() - 100);
        let err = with_section(Path::new("cut"), &data, STDLIB_SECTION, b"zip").unwrap_err();
        assert!(
            err.to_string().contains("cut: its section header table"),
            "{err}"
        );
    }
}
