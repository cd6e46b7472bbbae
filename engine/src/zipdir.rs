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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A stored zip of `names` (each with its flags), with `front` bytes before it.
    fn zip(front: usize, names: &[(&[u8], u16)]) -> (Vec<u8>, Vec<u32>) {
        let mut out = vec![0xEEu8; front];
        let (mut dir, mut offsets) = (Vec::new(), Vec::new());
        for (i, (name, flags)) in names.iter().enumerate() {
            let offset = (out.len() - front) as u32;
            offsets.push(offset);
            let data = format!("data {i}");
            out.extend(b"PK\x03\x04\x14\0");
            out.extend(flags.to_le_bytes());
            out.extend([0u8; 10]);
            out.extend((data.len() as u32).to_le_bytes());
            out.extend((data.len() as u32).to_le_bytes());
            out.extend((name.len() as u16).to_le_bytes());
            out.extend(0u16.to_le_bytes());
            out.extend(*name);
            out.extend(data.as_bytes());
            dir.extend(b"PK\x01\x02\x14\0\x14\0");
            dir.extend(flags.to_le_bytes());
            dir.extend(8u16.to_le_bytes()); // compress
            dir.extend(0x1234u16.to_le_bytes()); // time
            dir.extend(0x0021u16.to_le_bytes()); // date
            dir.extend((0xC0FFEE00u32 + i as u32).to_le_bytes()); // crc
            dir.extend((data.len() as u32 + 1).to_le_bytes()); // compressed size
            dir.extend((data.len() as u32).to_le_bytes());
            dir.extend((name.len() as u16).to_le_bytes());
            dir.extend(3u16.to_le_bytes()); // extra
            dir.extend(2u16.to_le_bytes()); // comment
            dir.extend([0u8; 8]);
            dir.extend(offset.to_le_bytes());
            dir.extend(*name);
            dir.extend(b"xyzcc");
        }
        let dir_at = (out.len() - front) as u32;
        out.extend(&dir);
        out.extend(b"PK\x05\x06\0\0\0\0");
        out.extend((names.len() as u16).to_le_bytes());
        out.extend((names.len() as u16).to_le_bytes());
        out.extend((dir.len() as u32).to_le_bytes());
        out.extend(dir_at.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        (out, offsets)
    }

    fn read_bytes(bytes: &[u8], span: Span) -> Result<Directory, String> {
        let path = std::env::temp_dir().join(format!(
            "engine-zipdir-{}-{}",
            std::process::id(),
            span.offset
        ));
        std::fs::File::create(&path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
        let result = read(&mut File::open(&path).unwrap(), span);
        std::fs::remove_file(&path).unwrap();
        result
    }

    #[test]
    fn entries_as_zipimport_reads_them() {
        let names: [(&[u8], u16); 3] = [
            (b"os.py", 0x800),
            (b"pkg/caf\xc3\xa9.py", 0x800),
            (b"old/\x82t\xe9.txt", 0),
        ];
        let (mut bytes, offsets) = zip(1000, &names);
        let span = Span {
            offset: 1000,
            size: (bytes.len() - 1000) as u64,
        };
        // What follows the zip in the file (the section headers) is not read.
        bytes.extend([0x55u8; 3000]);
        let dir = read_bytes(&bytes, span).unwrap();
        assert_eq!(dir.entries.len(), 3);
        for (i, e) in dir.entries.iter().enumerate() {
            assert_eq!(dir.name(e), names[i].0);
            assert_eq!(e.utf8, names[i].1 == 0x800);
            assert_eq!(
                e.file_offset,
                1000 + offsets[i] as u64,
                "shifted by the bytes in front"
            );
            assert_eq!((e.compress, e.time, e.date), (8, 0x1234, 0x21));
            assert_eq!(e.crc, 0xC0FFEE00 + i as u32);
            assert_eq!((e.data_size, e.file_size), (7, 6));
        }
    }

    #[test]
    fn an_end_record_followed_by_a_comment_is_found() {
        let (mut bytes, _) = zip(10, &[(b"a.py", 0x800)]);
        let n = bytes.len();
        bytes[n - 2..].copy_from_slice(&5u16.to_le_bytes());
        bytes.extend(b"hello");
        let span = Span {
            offset: 10,
            size: (bytes.len() - 10) as u64,
        };
        let dir = read_bytes(&bytes, span).unwrap();
        assert_eq!(dir.name(&dir.entries[0]), b"a.py");
        assert_eq!(dir.entries[0].file_offset, 10);
    }

    #[test]
    fn what_zipimport_would_refuse_or_read_otherwise_is_an_error() {
        let (good, _) = zip(0, &[(b"a.py", 0x800), (b"b.py", 0x800)]);
        let span = |b: &Vec<u8>| Span {
            offset: 0,
            size: b.len() as u64,
        };
        // Zip64 values, which only 3.13 reads.
        let mut zip64 = good.clone();
        let dir_at = u32_at(&zip64, zip64.len() - 6) as usize;
        zip64[dir_at + 20..dir_at + 24].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            read_bytes(&zip64, span(&zip64)).err().unwrap(),
            "Zip64 sizes or offsets"
        );
        // An entry count that is not the directory's (3.13 refuses it).
        let mut count = good.clone();
        let n = count.len();
        count[n - 14..n - 12].copy_from_slice(&3u16.to_le_bytes());
        assert!(
            read_bytes(&count, span(&count))
                .err()
                .unwrap()
                .contains("the end record says 3")
        );
        // A directory said to start before the file does.
        let mut offset = good.clone();
        offset[n - 6..n - 2].copy_from_slice(&1_000_000u32.to_le_bytes());
        assert!(read_bytes(&offset, span(&offset)).is_err());
        // No end record at all.
        let none = vec![0u8; 100];
        assert_eq!(
            read_bytes(&none, span(&none)).err().unwrap(),
            "no end record"
        );
    }
}
