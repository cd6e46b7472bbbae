//! A zip's central directory, read as zipimport's `_read_directory` reads it (CPython 3.11
//! to 3.13), so that the engine can hand zipimport the very dict it would build, without the
//! milliseconds its Python loop takes over a thousand entries.
//!
//! The rules followed: the end record is the last 22 bytes, or else the last `PK\5\6` in the
//! final 64 KiB + 22 bytes; the archive may have bytes in front of it (`arc_offset`, which
//! every entry's offset is shifted by); entries are read until a signature is not
//! `PK\1\2`, and (3.13) their number must be the end record's. Whatever zipimport would
//! refuse, and what only one of the versions accepts (Zip64 values), is an error here: the
//! caller then leaves the reading to zipimport itself.

use crate::elf::{Span, read_at};
use std::fs::File;

const END_SIZE: usize = 22;
const MAX_COMMENT: u64 = 65535;

/// The central directory as read from the file: entries name their bytes in it.
pub struct Directory {
    bytes: Vec<u8>,
    pub entries: Vec<Entry>,
}

impl Directory {
    /// The raw name of `e`; UTF-8 when `e.utf8` (flag bit 11), else ASCII or cp437.
    pub fn name(&self, e: &Entry) -> &[u8] {
        &self.bytes[e.name.clone()]
    }
}

/// One central-directory entry, with zipimport's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Where the raw name is in [`Directory`]'s bytes.
    pub name: std::ops::Range<usize>,
    pub utf8: bool,
    pub compress: u16,
    pub data_size: u32,
    pub file_size: u32,
    /// Where the local header is in the file (the entry's offset plus `arc_offset`).
    pub file_offset: u64,
    pub time: u16,
    pub date: u16,
    pub crc: u32,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The entries of the zip that ends at `span.end()`, in directory order.
pub fn read(file: &mut File, span: Span) -> Result<Directory, String> {
    let io = |e: std::io::Error| format!("reading the zip: {e}");
    if span.size < END_SIZE as u64 {
        return Err("too small for a zip".into());
    }
    let mut end_at = span.end() - END_SIZE as u64;
    let mut end = read_at(file, end_at, END_SIZE).map_err(io)?;
    if end[..4] != *b"PK\x05\x06" {
        let from = span
            .end()
            .saturating_sub(MAX_COMMENT + END_SIZE as u64)
            .max(span.offset);
        let tail = read_at(file, from, (span.end() - from) as usize).map_err(io)?;
        let pos = tail
            .windows(4)
            .rposition(|w| w == b"PK\x05\x06")
            .ok_or("no end record")?;
        end = tail
            .get(pos..pos + END_SIZE)
            .ok_or("a cut end record")?
            .to_vec();
        end_at = from + pos as u64;
    }
    let count = u16_at(&end, 8) as usize;
    let dir_size = u32_at(&end, 12) as u64;
    let dir_offset = u32_at(&end, 16) as u64;
    let dir_at = end_at
        .checked_sub(dir_size)
        .ok_or("bad central directory size")?;
    let arc_offset = dir_at
        .checked_sub(dir_offset)
        .ok_or("bad central directory offset")?;
    // zipimport reads on past the directory until a signature differs: the end record's.
    let bytes = read_at(file, dir_at, (span.end() - dir_at) as usize).map_err(io)?;
    let entries = entries(&bytes, dir_offset, arc_offset)?;
    if entries.len() != count {
        return Err(format!(
            "{} entries, the end record says {count}",
            entries.len()
        ));
    }
    Ok(Directory { bytes, entries })
}

fn entries(dir: &[u8], dir_offset: u64, arc_offset: u64) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let head = dir.get(at..).unwrap_or_default();
        if head.len() < 4 {
            return Err("the directory ends unexpectedly".into());
        }
        if head[..4] != *b"PK\x01\x02" {
            return Ok(out);
        }
        if head.len() < 46 {
            return Err("a cut directory entry".into());
        }
        let name_size = u16_at(head, 28) as usize;
        let rest = name_size + u16_at(head, 30) as usize + u16_at(head, 32) as usize;
        if head.len() < 46 + rest {
            return Err("a cut directory entry".into());
        }
        let (data_size, file_size, offset) = (u32_at(head, 20), u32_at(head, 24), u32_at(head, 42));
        if [data_size, file_size, offset].contains(&u32::MAX) {
            // 3.13 reads these from a Zip64 extra field, 3.11 does not.
            return Err("Zip64 sizes or offsets".into());
        }
        if offset as u64 > dir_offset {
            return Err("bad local header offset".into());
        }
        let flags = u16_at(head, 8);
        out.push(Entry {
            name: at + 46..at + 46 + name_size,
            utf8: flags & 0x800 != 0,
            compress: u16_at(head, 10),
            data_size,
            file_size,
            file_offset: offset as u64 + arc_offset,
            time: u16_at(head, 12),
            date: u16_at(head, 14),
            crc: u32_at(head, 16),
        });
        at += 46 + rest;
    }
}
