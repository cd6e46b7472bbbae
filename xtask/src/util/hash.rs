//! sha256 of files and bytes, as lowercase hex.

use anyhow::Result;
use sha2::{Digest, Sha256};
use std::io;
use std::path::Path;

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = crate::util::fs::open(path)?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher).map_err(|e| crate::util::fs::io_error(e, "reading", path))?;
    Ok(hex(&hasher.finalize()))
}

pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// True for 64 lowercase hex digits: the form every pinned digest takes.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer_and_form() {
        let d = sha256_bytes(b"abc");
        assert_eq!(
            d,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(is_sha256(&d));
        assert!(!is_sha256(&d.to_uppercase()));
        assert!(!is_sha256(&d[1..]));
    }
}
