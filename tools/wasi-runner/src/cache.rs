//! Compiled modules, cached on disk: compiling CPython takes seconds, a test suite starts it
//! hundreds of times.
//!
//! An entry is `<sha256 of the module>-<engine compatibility hash>.cwasm`, so a module and an
//! engine (wasmtime version, settings, host CPU features) that differ never share one. Hashing
//! a 30 MB module takes longer than running it warm, so an index remembers each module file's
//! digest under its identity (device, inode, size, modification and change times: any write
//! changes the change time, which no tool can set back); a file that changed is hashed again.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use wasmtime::{Engine, Module, Result, error::Context as _};

/// The custom section a pre-initialised module carries: the file name of the module it was
/// made from, beside it.
pub const WARM_SECTION: &str = "pysysroot-warm";

pub struct Loaded {
    pub module: Module,
    /// For a pre-initialised module, the cold module to fall back to.
    pub cold: Option<PathBuf>,
}

/// What the index knows about a module file.
struct Known {
    sha256: String,
    cold: Option<String>,
}

pub fn load(engine: &Engine, path: &Path, cache_dir: Option<&Path>) -> Result<Loaded> {
    let Some(dir) = cache_dir else {
        let bytes = read(path)?;
        let cold = warm_section(&bytes)?;
        let module =
            Module::new(engine, &bytes).with_context(|| format!("compiling {}", path.display()))?;
        return Ok(Loaded {
            module,
            cold: cold.map(|c| beside(path, &c)),
        });
    };
    let (known, bytes) = identify(path, dir)?;
    let compiled = dir.join(format!(
        "{}-{:016x}.cwasm",
        known.sha256,
        compatibility(engine)
    ));
    let cold = known.cold.as_deref().map(|c| beside(path, c));
    if compiled.is_file() {
        // SAFETY: the file was written by `Module::serialize` of this very engine
        // configuration (its name holds the compatibility hash) and is replaced only by
        // rename; wasmtime still checks its header and refuses a mismatch.
        if let Ok(module) = unsafe { Module::deserialize_file(engine, &compiled) } {
            return Ok(Loaded { module, cold });
        }
    }
    let bytes = match bytes {
        Some(b) => b,
        None => read(path)?,
    };
    let module =
        Module::new(engine, &bytes).with_context(|| format!("compiling {}", path.display()))?;
    write_atomic(&compiled, &module.serialize()?)?;
    Ok(Loaded { module, cold })
}

/// The engine's compatibility hash as a number for file names.
fn compatibility(engine: &Engine) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    h.finish()
}

fn beside(module: &Path, name: &str) -> PathBuf {
    module.parent().unwrap_or(Path::new(".")).join(name)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading the module {}", path.display()))
}

/// The module's digest and warm section, from the index when the file is unchanged; the
/// bytes too when they had to be read.
fn identify(path: &Path, dir: &Path) -> Result<(Known, Option<Vec<u8>>)> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("reading the module {}", path.display()))?;
    let stamp = format!(
        "{} {} {} {}.{} {}.{}",
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec()
    );
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let entry = dir
        .join("index")
        .join(&hex(&Sha256::digest(canonical.as_os_str().as_encoded_bytes()))[..32]);
    if let Some(known) = std::fs::read_to_string(&entry)
        .ok()
        .and_then(|text| parse_entry(&text, &stamp))
    {
        return Ok((known, None));
    }
    let bytes = read(path)?;
    let known = Known {
        sha256: hex(&Sha256::digest(&bytes)),
        cold: warm_section(&bytes)?,
    };
    let line = format!(
        "v1 {stamp}\n{}\n{}\n",
        known.sha256,
        known.cold.as_deref().unwrap_or("-")
    );
    write_atomic(&entry, line.as_bytes())?;
    Ok((known, Some(bytes)))
}

fn parse_entry(text: &str, stamp: &str) -> Option<Known> {
    let mut lines = text.lines();
    if lines.next()? != format!("v1 {stamp}") {
        return None;
    }
    let sha256 = lines.next()?.to_string();
    let cold = match lines.next()? {
        "-" => None,
        name => Some(name.to_string()),
    };
    (sha256.len() == 64).then_some(Known { sha256, cold })
}

/// The cold module's name a pre-initialised module carries, if it is one.
pub fn warm_section(bytes: &[u8]) -> Result<Option<String>> {
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let wasmparser::Payload::CustomSection(s) = payload?
            && s.name() == WARM_SECTION
        {
            let name =
                std::str::from_utf8(s.data()).context("the pysysroot-warm section is not UTF-8")?;
            return Ok(Some(name.to_string()));
        }
    }
    Ok(None)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Written beside, then renamed: a reader never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating the cache directory {}", parent.display()))?;
    }
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_entry_holds_only_for_the_same_file_identity() {
        let text = format!("v1 1 2 3 4.5 6.7\n{}\n-\n", "a".repeat(64));
        let known = parse_entry(&text, "1 2 3 4.5 6.7").unwrap();
        assert_eq!(known.sha256, "a".repeat(64));
        assert!(known.cold.is_none());
        assert!(parse_entry(&text, "1 2 3 4.5 6.8").is_none());
        let warm = format!("v1 s\n{}\nisolate.cold.wasm\n", "b".repeat(64));
        assert_eq!(
            parse_entry(&warm, "s").unwrap().cold.as_deref(),
            Some("isolate.cold.wasm")
        );
        assert!(parse_entry("v1 s\nshort\n-\n", "s").is_none());
    }
}
