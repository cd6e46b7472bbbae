//! Host tools built from a Rust crate of this repository (`recipes/tools/<name>.toml` with a
//! `[cargo]` table), such as the WASI runner: compiled once per version of its sources into
//! the pinned-tools cache, by `cargo xtask provision`, outside the workspace so that `cargo
//! build` never compiles them.
//!
//! The version is the sha256 of the crate's files (its `Cargo.toml`, `Cargo.lock` and
//! sources, `target/` left out): any change builds a new binary in a directory of its own;
//! the old one stays usable by checkouts that still have the old sources.

use crate::util::{fs, hash, process, progress};
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Recipe {
    cargo: Crate,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Crate {
    /// The crate's directory, relative to the repository.
    path: String,
    /// The binary it builds.
    bin: String,
}

/// A cargo-built tool, resolved.
pub struct CargoTool {
    pub name: String,
    pub binary: PathBuf,
    /// Its crate, for messages.
    pub source: PathBuf,
}

impl CargoTool {
    /// The template variable a target file names it by: `wasi-runner` is `{wasi_runner}`.
    pub fn var(&self) -> String {
        self.name.replace('-', "_")
    }
}

/// Where tool `name`'s binary is (or will be), and whether it is built.
pub fn locate(root: &Path, cache: &Path, name: &str) -> Result<(CargoTool, bool)> {
    crate::model::check_name(name, "tool")?;
    let path = root.join("recipes/tools").join(format!("{name}.toml"));
    let recipe: Recipe = toml::from_str(&fs::read_to_string(&path)?).with_context(|| {
        format!(
            "parsing {}: a cargo-built tool needs [cargo] path = \"tools/<crate>\" and bin = \"<binary>\"",
            path.display()
        )
    })?;
    let source = root.join(&recipe.cargo.path);
    if !source.join("Cargo.toml").is_file() {
        bail!(
            "{} names the crate {}, which has no Cargo.toml: fix [cargo] path",
            path.display(),
            source.display()
        );
    }
    let version = sources_digest(&source)?;
    let dir = cache
        .join("tools")
        .join(format!("{name}-{}", &version[..16]));
    let tool = CargoTool {
        name: name.to_string(),
        binary: dir.join("bin").join(&recipe.cargo.bin),
        source,
    };
    let built = dir.join(".complete").is_file();
    Ok((tool, built))
}

/// The sha256 over the crate's file names and contents, in a fixed order.
pub fn sources_digest(dir: &Path) -> Result<String> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files)?;
    files.sort();
    let mut text = Vec::new();
    for rel in &files {
        text.extend(format!("{rel}\0").as_bytes());
        text.extend(hash::sha256_file(&dir.join(rel))?.as_bytes());
        text.push(b'\n');
    }
    Ok(hash::sha256_bytes(&text))
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry.path();
        let name = entry.file_name();
        if dir == root && name == "target" {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, out)?;
        } else {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            out.push(rel.display().to_string());
        }
    }
    Ok(())
}

/// Builds `tool` with its own lock file into its directory. Builds of every version share
/// one target directory, so a new version recompiles only what changed.
pub fn build(tool: &CargoTool, cache: &Path, offline: bool) -> Result<()> {
    let dir = tool
        .binary
        .parent()
        .and_then(Path::parent)
        .context("a tool's binary lives in <dir>/bin")?;
    let target_dir = cache.join("tools").join(format!("{}-target", tool.name));
    let log = cache.join("tools").join(format!("{}-build.log", tool.name));
    progress::note(format!(
        "building the pinned tool {} from {} (once per version; minutes)",
        tool.name,
        tool.source.display()
    ));
    let start = Instant::now();
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(["build", "--release", "--locked", "--manifest-path"])
        .arg(tool.source.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target_dir);
    if offline {
        cmd.arg("--offline");
    }
    process::run_logged(&format!("tools: build {}", tool.name), &mut cmd, &log)?;
    let name = tool.binary.file_name().context("binary name")?;
    let tmp = fs::sibling(dir, "tmp");
    fs::remove_dir_all(&tmp)?;
    fs::create_dir_all(&tmp.join("bin"))?;
    fs::copy_file(
        &target_dir.join("release").join(name),
        &tmp.join("bin").join(name),
    )?;
    fs::set_executable(&tmp.join("bin").join(name))?;
    fs::write(&tmp.join(".complete"), format!("{}\n", tool.name))?;
    fs::remove_dir_all(dir)?;
    fs::rename(&tmp, dir)?;
    progress::note(format!(
        "{} built in {:.0?}: {}",
        tool.name,
        start.elapsed(),
        tool.binary.display()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cargo-tool-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("recipes/tools")).unwrap();
        d
    }

    #[test]
    fn a_tool_is_versioned_by_its_sources_not_its_build_output() {
        let root = scratch("digest");
        let krate = root.join("tools/t");
        std::fs::create_dir_all(krate.join("src")).unwrap();
        std::fs::write(krate.join("Cargo.toml"), "[package]\n").unwrap();
        std::fs::write(krate.join("src/main.rs"), "fn main() {}\n").unwrap();
        std::fs::write(
            root.join("recipes/tools/t.toml"),
            "[cargo]\npath = \"tools/t\"\nbin = \"t\"\n",
        )
        .unwrap();
        let cache = root.join("cache");
        let (a, built) = locate(&root, &cache, "t").unwrap();
        assert!(!built);
        assert_eq!(a.var(), "t");
        std::fs::create_dir_all(krate.join("target/release")).unwrap();
        std::fs::write(krate.join("target/release/t"), "binary").unwrap();
        assert_eq!(locate(&root, &cache, "t").unwrap().0.binary, a.binary);
        std::fs::write(krate.join("src/main.rs"), "fn main() { }\n").unwrap();
        assert_ne!(locate(&root, &cache, "t").unwrap().0.binary, a.binary);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_bad_tool_recipe_says_what_to_write() {
        let root = scratch("bad");
        std::fs::write(root.join("recipes/tools/t.toml"), "[cargo]\npath = \"x\"\n").unwrap();
        let err = format!("{:#}", locate(&root, &root, "t").err().unwrap());
        assert!(err.contains("bin = "), "{err}");
        std::fs::write(
            root.join("recipes/tools/t.toml"),
            "[cargo]\npath = \"nowhere\"\nbin = \"t\"\n",
        )
        .unwrap();
        let err = format!("{:#}", locate(&root, &root, "t").err().unwrap());
        assert!(
            err.contains("has no Cargo.toml") && err.contains("nowhere"),
            "{err}"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
