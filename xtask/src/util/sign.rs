//! Signatures with minisign keys (the `minisign` crate, interoperable with the minisign
//! tool): key pairs without a password (for CI), signing a small statement, and verifying
//! it against a list of trusted public keys.

use anyhow::{Context, Result, anyhow, bail};
use minisign::{KeyPair, PublicKey, PublicKeyBox, SecretKey, SecretKeyBox, SignatureBox};
use std::io::Cursor;
use std::path::Path;

/// A new key pair as minisign's text files: (secret key, public key).
pub fn keygen(comment: &str) -> Result<(String, String)> {
    let KeyPair { pk, sk } = KeyPair::generate_unencrypted_keypair()
        .map_err(|e| anyhow!("generating a key pair: {e}"))?;
    let secret = sk
        .to_box(Some(comment))
        .map_err(|e| anyhow!("{e}"))?
        .into_string();
    let public = pk.to_box().map_err(|e| anyhow!("{e}"))?.into_string();
    Ok((secret, public))
}

/// A secret key from its file (unencrypted, as `keygen` writes it).
pub fn secret_key(path: &Path) -> Result<SecretKey> {
    let text = crate::util::fs::read_to_string(path)?;
    SecretKeyBox::from_string(&text)
        .and_then(|b| b.into_unencrypted_secret_key())
        .map_err(|e| anyhow!("{} is not an unencrypted minisign secret key ({e}): make one with `cargo xtask keygen`", path.display()))
}

/// The public key that goes with a secret one.
pub fn public_of(sk: &SecretKey) -> Result<PublicKey> {
    PublicKey::from_secret_key(sk).map_err(|e| anyhow!("{e}"))
}

/// A public key written as minisign's base64 line (`RWQ...`), its whole `.pub` file, or the
/// path of that file.
pub fn public_key(spec: &str) -> Result<PublicKey> {
    let spec = spec.trim();
    let path = Path::new(spec);
    if path.is_file() {
        let text = crate::util::fs::read_to_string(path)?;
        return PublicKeyBox::from_string(&text)
            .and_then(|b| b.into_public_key())
            .map_err(|e| anyhow!("{} is not a minisign public key: {e}", path.display()));
    }
    if let Ok(pk) = PublicKey::from_base64(spec) {
        return Ok(pk);
    }
    PublicKeyBox::from_string(spec)
        .and_then(|b| b.into_public_key())
        .map_err(|_| {
            anyhow!("{spec:?} is neither a minisign public key (RWQ...) nor a file holding one")
        })
}

/// The key's id, as minisign prints it.
pub fn key_id(pk: &PublicKey) -> String {
    crate::util::hash::hex(pk.keynum()).to_uppercase()
}

/// Signs `data`; `trusted` goes into the signature's signed comment.
pub fn sign(sk: &SecretKey, data: &[u8], trusted: &str) -> Result<String> {
    let pk = public_of(sk)?;
    let sig = minisign::sign(Some(&pk), sk, Cursor::new(data), Some(trusted), None)
        .map_err(|e| anyhow!("signing: {e}"))?;
    Ok(sig.into_string())
}

/// Verifies `signature` over `data` with whichever trusted key made it; returns that key's
/// id. An unknown key is named in the error.
pub fn verify(trusted: &[PublicKey], data: &[u8], signature: &str) -> Result<String> {
    let sig = SignatureBox::from_string(signature)
        .context("the signature is not a minisign signature")?;
    let id = crate::util::hash::hex(sig.keynum()).to_uppercase();
    let Some(pk) = trusted.iter().find(|pk| pk.keynum() == sig.keynum()) else {
        bail!(
            "it is signed by key {id}, which is not trusted (trusted: {}); add the key with --trusted-key if you trust it",
            if trusted.is_empty() {
                "none".to_string()
            } else {
                trusted.iter().map(key_id).collect::<Vec<_>>().join(", ")
            }
        );
    };
    minisign::verify(pk, &sig, Cursor::new(data), true, false, false)
        .map_err(|e| anyhow!("the signature by key {id} does not verify: {e}"))?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_verifies_and_refuses_other_keys_and_edits() {
        let (secret, public) = keygen("test").unwrap();
        let dir = std::env::temp_dir().join(format!("xtask-sign-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("k.sec"), &secret).unwrap();
        let sk = secret_key(&dir.join("k.sec")).unwrap();
        let pk = public_key(&public).unwrap();
        let sig = sign(&sk, b"statement", "build key k").unwrap();
        assert_eq!(
            verify(std::slice::from_ref(&pk), b"statement", &sig).unwrap(),
            key_id(&pk)
        );
        let err = verify(std::slice::from_ref(&pk), b"statement!", &sig)
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not verify"), "{err}");
        let (_, other) = keygen("other").unwrap();
        let err = verify(&[public_key(&other).unwrap()], b"statement", &sig)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not trusted") && err.contains(&key_id(&pk)),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
