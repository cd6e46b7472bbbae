//! A built sysroot: its directory and manifest, read once, and the paths of what lives in it.

use crate::model::Model;
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};
use sysroot_manifest::Manifest;

/// The prefix compiled into the interpreter. It never exists: the sysroot is found relative
/// to the executable, and a nonexistent fallback fails loudly instead of picking up a
/// different installation.
pub const PREFIX: &str = "/pysysroot";

pub struct Sysroot {
    pub root: PathBuf,
    pub manifest: Manifest,
}

impl Sysroot {
    /// The published sysroot of `model`, which must match it.
    pub fn open(model: &Model) -> Result<Sysroot> {
        let Sysroot { root, manifest } = Sysroot::load(&model.sysroot_dir())?;
        if manifest.target.name != model.target.name
            || manifest.python.version != model.recipe.version
            || manifest.flavor != model.flavor
        {
            bail!(
                "{} holds a sysroot for {} {} {}, not {}: rebuild it (cargo xtask build-python)",
                root.display(),
                manifest.target.name,
                manifest.python.version,
                manifest.flavor,
                model.describe()
            );
        }
        Ok(Sysroot { root, manifest })
    }

    /// Whatever sysroot `dir` holds, by its manifest.
    pub fn load(dir: &Path) -> Result<Sysroot> {
        let (manifest, root) = Manifest::load(dir)?;
        Ok(Sysroot { root, manifest })
    }

    /// Whether `dir` holds a sysroot of the current schema.
    pub fn exists(dir: &Path) -> bool {
        Sysroot::load(dir).is_ok()
    }

    /// The build's own interpreter.
    pub fn python(&self) -> PathBuf {
        self.root.join(&self.manifest.paths.python)
    }

    /// `bin/isolate` (or `bin/isolate.wasm`): uses the sysroot's stdlib, like python3 beside it.
    pub fn isolate(&self, model: &Model) -> PathBuf {
        self.root.join("bin").join(model.target.exe_name("isolate"))
    }

    /// `dist/isolate`: the single file that carries its stdlib; on WASI `dist/isolate.wasm`
    /// with `dist/lib/pythonXY.zip` beside it.
    pub fn standalone(&self, model: &Model) -> PathBuf {
        self.root
            .join("dist")
            .join(model.target.exe_name("isolate"))
    }

    pub fn stdlib(&self) -> PathBuf {
        self.root.join(&self.manifest.paths.stdlib)
    }
}
