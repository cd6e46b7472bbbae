//! Packages from PyPI for the single-file isolate (`cargo xtask isolate --requirements FILE`).
//!
//! A pinned pip on the build machine resolves and downloads wheels for the sysroot's ABI and
//! the target's platforms, hashes required (pip's `--require-hashes`: every requirement and
//! dependency pinned). Pure-Python wheels go into the zip the isolate carries, so the single
//! file still runs anywhere; compiled ones go into `site-packages` beside it, where `site`
//! finds them as python3 finds its own. A wheel the target cannot use is an error naming it.

use crate::model::Model;
use crate::model::sysroot::Sysroot;
use crate::model::tools;
use crate::util::{fs, process, progress};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the resolved packages were put.
pub struct Installed {
    /// Pure-Python packages, to be zipped with the stdlib.
    pub pure: PathBuf,
    /// Names of the compiled wheels, installed into `site-packages` beside the isolate.
    pub compiled: Vec<String>,
}

pub fn install(
    model: &Model,
    sysroot: &Sysroot,
    requirements: &Path,
    site_packages: &Path,
) -> Result<Installed> {
    if !requirements.is_file() {
        bail!(
            "the requirements file {} does not exist",
            requirements.display()
        );
    }
    let venv = tools::tool_env(model.layout(), "pip", model.settings.offline)?;
    let work = model
        .layout()
        .work
        .join("packages")
        .join(&model.target.name);
    fs::remove_dir_all(&work)?;
    let wheels = work.join("wheels");
    fs::create_dir_all(&wheels)?;
    let abi = sysroot.manifest.python.abi.replace('.', "");
    let platforms = model.target.dist.wheel_platforms();
    let mut download = pip(&venv, "download");
    download
        .arg("--dest")
        .arg(&wheels)
        .arg("-r")
        .arg(requirements);
    target_args(&mut download, &abi, &platforms);
    let out = process::capture(&mut download)?;
    if !out.status.success() {
        bail!(
            "{}",
            explain(model, &String::from_utf8_lossy(&out.stderr), requirements)
        );
    }
    let (mut pure, mut compiled) = (Vec::new(), Vec::new());
    for entry in fs::read_dir(&wheels)? {
        let path = entry.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        match wheel_tags(&name) {
            Some((_, "none", "any")) => pure.push(path),
            Some(_) if !platforms.is_empty() => compiled.push(path),
            Some(_) => bail!(
                "{name} holds compiled code, and {} executables cannot load compiled extension modules: \
                 use a pure-Python alternative, or a target that loads them (a glibc target)",
                model.target.name
            ),
            None => bail!("{name} is not a wheel pip should have downloaded"),
        }
    }
    let pure_dir = work.join("pure");
    fs::create_dir_all(&pure_dir)?;
    install_wheels(&venv, &pure, &pure_dir, &abi, &platforms)?;
    install_wheels(&venv, &compiled, site_packages, &abi, &platforms)?;
    let names: Vec<String> = compiled
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    progress::note(format!(
        "packages: {} pure-Python wheel(s) into the isolate's zip, {} compiled into {}",
        pure.len(),
        names.len(),
        site_packages.display()
    ));
    Ok(Installed {
        pure: pure_dir,
        compiled: names,
    })
}

fn pip(venv: &Path, verb: &str) -> Command {
    let mut cmd = Command::new(venv.join("bin/python"));
    cmd.args([
        "-m",
        "pip",
        verb,
        "--disable-pip-version-check",
        "--no-input",
        "--require-hashes",
        "--only-binary",
        ":all:",
    ]);
    cmd
}

/// Wheels for the sysroot's CPython and the target's platforms (pure ones only when it has none).
fn target_args(cmd: &mut Command, abi: &str, platforms: &[String]) {
    cmd.args([
        "--python-version",
        abi,
        "--implementation",
        "cp",
        "--abi",
        &format!("cp{abi}"),
        "--abi",
        "abi3",
        "--abi",
        "none",
    ]);
    if platforms.is_empty() {
        cmd.args(["--platform", "any"]);
    }
    for p in platforms {
        cmd.args(["--platform", p]);
    }
}

fn install_wheels(
    venv: &Path,
    wheels: &[PathBuf],
    into: &Path,
    abi: &str,
    platforms: &[String],
) -> Result<()> {
    if wheels.is_empty() {
        return Ok(());
    }
    fs::create_dir_all(into)?;
    let mut cmd = pip(venv, "install");
    cmd.args([
        "--no-deps",
        "--no-index",
        "--no-compile",
        "--upgrade",
        "--target",
    ])
    .arg(into);
    target_args(&mut cmd, abi, platforms);
    // The files were verified against their hashes by the download; pip wants them again.
    let reqs = into.with_extension("requirements.txt");
    let mut text = String::new();
    for w in wheels {
        let digest = crate::util::hash::sha256_file(w)?;
        text.push_str(&format!("{} --hash=sha256:{digest}\n", w.display()));
    }
    fs::write(&reqs, text)?;
    process::output(cmd.arg("-r").arg(&reqs)).context("installing the downloaded wheels")?;
    fs::remove_file(&reqs)
}

/// `name-version(-build)?-python-abi-platform.whl` -> (python, abi, platform).
fn wheel_tags(file: &str) -> Option<(&str, &str, &str)> {
    let stem = file.strip_suffix(".whl")?;
    let parts: Vec<&str> = stem.split('-').collect();
    match parts.len() {
        5 | 6 => Some((
            parts[parts.len() - 3],
            parts[parts.len() - 2],
            parts[parts.len() - 1],
        )),
        _ => None,
    }
}

/// pip's complaint, with what it means for this target: which requirement had no usable
/// wheel, and why.
fn explain(model: &Model, stderr: &str, requirements: &Path) -> String {
    let missing: Vec<&str> = stderr
        .lines()
        .filter_map(|l| {
            l.split("for the requirement ")
                .nth(1)
                .or_else(|| l.split("found for ").nth(1))
        })
        .map(|s| s.trim().trim_end_matches([')', '.']))
        .collect();
    let why = if model.target.dist.wheel_platforms().is_empty() {
        format!(
            "{} executables cannot load compiled extension modules, so only pure-Python wheels (py3-none-any) can be used: \
             use a pure-Python alternative, or a target that loads them (a glibc target)",
            model.target.name
        )
    } else {
        format!(
            "no wheel for CPython {} ({}) on {} was found: check the version pins and that the package ships such wheels",
            model.recipe.version,
            model.recipe.abi(),
            model
                .target
                .dist
                .wheel_arch
                .as_deref()
                .unwrap_or("this platform")
        )
    };
    let last: Vec<&str> = stderr.lines().filter(|l| l.contains("ERROR")).collect();
    format!(
        "resolving {} for {}: {}{why}\n{}",
        requirements.display(),
        model.describe(),
        if missing.is_empty() {
            String::new()
        } else {
            format!("{}: ", missing.join(", "))
        },
        last.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_names_give_their_tags() {
        assert_eq!(
            wheel_tags("idna-3.10-py3-none-any.whl"),
            Some(("py3", "none", "any"))
        );
        assert_eq!(
            wheel_tags("numpy-2.2.6-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
            Some((
                "cp311",
                "cp311",
                "manylinux_2_17_x86_64.manylinux2014_x86_64"
            ))
        );
        assert_eq!(
            wheel_tags("x-1.0-1-py3-none-any.whl"),
            Some(("py3", "none", "any"))
        );
        assert_eq!(wheel_tags("x.tar.gz"), None);
    }
}
