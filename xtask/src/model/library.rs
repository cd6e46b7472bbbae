//! C library recipes: `recipes/deps/<name>.toml`, one per library an extension module needs.
//!
//! `recipes/deps/Cargo.lock` pins crates that carry the upstream source trees (zlib in
//! `libz-sys`, OpenSSL in `openssl-src`, ...); a recipe says which crate, where the source is
//! inside it, how to build it and what it provides.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Library {
    pub name: String,
    /// The crate in `recipes/deps/Cargo.toml` that carries the source.
    #[serde(rename = "crate")]
    pub krate: String,
    /// Directory of the library's source inside the crate.
    pub source: String,
    /// License files, relative to `source`, shipped with the sysroot.
    pub licenses: Vec<String>,
    /// The `-l` names it provides, in link order.
    pub libs: Vec<String>,
    /// Prefixes of the symbols it defines: an embedding executable must export none of them.
    pub symbols: Vec<String>,
    /// Extra CPython configure flags pointing at this library (`{prefix}` is its prefix).
    #[serde(default)]
    pub configure_args: Vec<String>,
    pub build: Build,
    pub pkgconfig: Option<PkgConfig>,
    /// sha256 of the recipe file, part of every key built from it.
    #[serde(skip)]
    pub digest: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Build {
    /// Compile a list of C files and archive them.
    Cc {
        files: Vec<String>,
        #[serde(default)]
        exclude: Vec<String>,
        #[serde(default)]
        includes: Vec<String>,
        #[serde(default)]
        defines: Vec<String>,
        #[serde(default)]
        flags: Vec<String>,
        /// Headers (files or directories) to install into `include/`.
        headers: Vec<String>,
        /// Extra defines per target name.
        #[serde(default)]
        targets: BTreeMap<String, CcExtra>,
    },
    /// The library's own build system: configure, make, install (run in a build directory).
    Configure {
        configure: Vec<String>,
        make: Vec<String>,
        install: Vec<String>,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CcExtra {
    #[serde(default)]
    pub defines: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PkgConfig {
    pub name: String,
    pub version: String,
    /// What linking the static library also needs (`-lm`): configure's link tests use
    /// `pkg-config --libs`, which leaves out `Libs.private`.
    #[serde(default)]
    pub libs: Vec<String>,
}

impl Library {
    pub fn parse(path: &Path, text: &str) -> Result<Library> {
        let mut lib: Library =
            toml::from_str(text).with_context(|| format!("parsing {}", path.display()))?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if lib.name != stem {
            bail!(
                "{} declares name {:?}: the file must be {}.toml",
                path.display(),
                lib.name,
                lib.name
            );
        }
        if lib.libs.is_empty() || lib.symbols.is_empty() {
            bail!(
                "{}: `libs` and `symbols` must name what the library provides",
                path.display()
            );
        }
        for l in &lib.licenses {
            crate::model::check_relative(l, "licence file")
                .with_context(|| path.display().to_string())?;
        }
        lib.digest = crate::util::hash::sha256_bytes(text.as_bytes());
        Ok(lib)
    }
}
