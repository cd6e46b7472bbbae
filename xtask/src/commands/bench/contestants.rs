//! Who runs in the bench: the sysroot's python3, the isolate of every flavor that is built
//! (or asked to be), and the distro's python3 of the same version, which becomes the
//! reference when there is one.

use super::Args;
use crate::checks::{self, Interp};
use crate::commands::ensure_sysroot;
use crate::model::sysroot::Sysroot;
use crate::model::target::Runner;
use crate::model::tools::Install;
use crate::model::{Catalog, Model};
use crate::pipeline::link;
use crate::util::{process, progress};
use anyhow::{Context, Result, bail};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use sysroot_manifest::Flavor;

#[derive(Clone, Serialize)]
pub struct Contestant {
    pub name: String,
    #[serde(skip)]
    pub interp: Interp,
    pub describe: String,
}

/// The contestants, the reference's name, and the suffix of the results directory
/// (`-no-pgo` for builds without PGO, so they never overwrite those of PGO builds).
pub fn gather(
    catalog: &Catalog,
    model: &Model,
    args: &Args,
) -> Result<(Vec<Contestant>, String, &'static str)> {
    let mut out = Vec::new();
    let mut suffix = "";
    for flavor in Flavor::ALL {
        if !model.target.supports(flavor) {
            continue;
        }
        let m = catalog.resolve(
            model.settings,
            &model.target.name,
            Some(&model.recipe.version),
            flavor,
            Install::Yes,
        )?;
        if flavor != Flavor::Static && !args.build_variants && !Sysroot::exists(&m.sysroot_dir()) {
            progress::note(format!(
                "no {} sysroot: its isolate is left out (--build-variants builds it)",
                m.describe()
            ));
            continue;
        }
        let sysroot = ensure_sysroot(&m, !args.no_pgo)?;
        let exe = sysroot.isolate(&m);
        if !exe.is_file() {
            link::isolate(&m, &sysroot, None)?;
        }
        let b = &sysroot.manifest.build;
        let describe = format!(
            "PGO {}, LTO {}, {}",
            b.optimizations.pgo.is_some(),
            b.optimizations.lto,
            sysroot.manifest.link.ldflags.join(" ")
        );
        if flavor == Flavor::Static {
            if b.optimizations.pgo.is_none() {
                suffix = "-no-pgo";
            }
            out.push(contestant(
                "python3",
                &m.runner,
                &sysroot.python(),
                format!("the sysroot's own python3 ({describe})"),
            ));
        }
        let name = match flavor {
            Flavor::Static => "isolate static",
            Flavor::StaticPic => "isolate static-PIC",
            Flavor::Shared => "isolate shared",
        };
        out.push(contestant(name, &m.runner, &exe, describe));
    }
    for name in &args.compare_targets {
        out.extend(other_target(catalog, model, name, args)?);
    }
    for dir in &args.compare_sysroots {
        out.extend(other_build(model, dir)?);
    }
    out.extend(without_bolt(catalog, model)?);
    let mut reference = "python3".to_string();
    if let Some(distro) = distro_python(model)? {
        out.insert(
            0,
            contestant(
                "distro python3",
                &Runner::Native,
                &distro,
                distro_describe(&distro),
            ),
        );
        reference = "distro python3".into();
    }
    Ok((out, reference, suffix))
}

/// Another target's static python3 and isolate, when this machine runs it natively.
fn other_target(
    catalog: &Catalog,
    model: &Model,
    name: &str,
    args: &Args,
) -> Result<Vec<Contestant>> {
    let m = catalog.resolve(
        model.settings,
        name,
        Some(&model.recipe.version),
        Flavor::Static,
        Install::Yes,
    )?;
    if !m.runner.is_native() {
        anyhow::bail!(
            "--compare-target {name}: its programs do not run natively here, so their times would be the emulator's"
        );
    }
    let sysroot = ensure_sysroot(&m, !args.no_pgo)?;
    let exe = sysroot.isolate(&m);
    if !exe.is_file() {
        link::isolate(&m, &sysroot, None)?;
    }
    let b = &sysroot.manifest.build.optimizations;
    let describe = format!(
        "target {name}: PGO {}, LTO {}, BOLT {}",
        b.pgo.is_some(),
        b.lto,
        b.bolt.is_some()
    );
    Ok(vec![
        contestant(
            &format!("python3 {name}"),
            &m.runner,
            &sysroot.python(),
            describe.clone(),
        ),
        contestant(&format!("isolate static {name}"), &m.runner, &exe, describe),
    ])
}

/// Another build of the same version that runs here as this target's programs do (the same
/// target with another training or flags, or another libc or CPU level of the same machine),
/// named by its build key, so that two builds meet in one run instead of in two runs on a
/// noisy machine.
fn other_build(model: &Model, dir: &Path) -> Result<Vec<Contestant>> {
    // Workers run in their own directories: a relative path must not reach them as it is.
    let dir = &std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let sysroot = Sysroot::load(dir).with_context(|| {
        format!(
            "--compare-sysroot {}: no sysroot there (a directory like sysroots/<target>/<version>)",
            dir.display()
        )
    })?;
    let m = &sysroot.manifest;
    if m.target.runner != model.target.runner.command() || m.python.version != model.recipe.version
    {
        bail!(
            "--compare-sysroot {}: it holds {} {}, which does not run here as {} does; compare builds of the same version for the same machine",
            dir.display(),
            m.target.name,
            m.python.version,
            model.describe()
        );
    }
    let key = &m.build.key[..8.min(m.build.key.len())];
    // Another target's build says which, as the key alone would not.
    let key = if m.target.name == model.target.name {
        key.to_string()
    } else {
        format!("{} {key}", m.target.name)
    };
    let b = &m.build.optimizations;
    let describe = format!(
        "{}: PGO {}, LTO {}, BOLT {}, revision {}",
        dir.display(),
        b.pgo
            .as_ref()
            .map_or("off".to_string(), |p| p.task.join(" ")),
        b.lto,
        b.bolt.is_some(),
        m.build.revision
    );
    let mut out = vec![contestant(
        &format!("python3 {key}"),
        &model.runner,
        &sysroot.python(),
        describe.clone(),
    )];
    let exe = sysroot.isolate(model);
    if exe.is_file() {
        out.push(contestant(
            &format!("isolate static {key}"),
            &model.runner,
            &exe,
            describe,
        ));
    } else {
        progress::note(format!(
            "--compare-sysroot {}: no bin/isolate there, only its python3 runs",
            dir.display()
        ));
    }
    Ok(out)
}

/// The static sysroot's python3 and isolate as they were before BOLT rewrote them, when it
/// did: the bench holds BOLT's gain per benchmark against them.
fn without_bolt(catalog: &Catalog, model: &Model) -> Result<Vec<Contestant>> {
    let m = catalog.resolve(
        model.settings,
        &model.target.name,
        Some(&model.recipe.version),
        Flavor::Static,
        Install::Yes,
    )?;
    if !Sysroot::exists(&m.sysroot_dir()) {
        return Ok(Vec::new());
    }
    let sysroot = Sysroot::open(&m)?;
    let kept = sysroot.root.join(crate::pipeline::bolt::KEPT);
    let mut out = Vec::new();
    for (name, exe) in [
        ("python3", sysroot.python()),
        ("isolate static", sysroot.isolate(&m)),
    ] {
        let before = kept.join(exe.file_name().unwrap_or_default());
        if before.is_file() {
            let describe = format!("{} before BOLT", exe.display());
            out.push(contestant(
                &without_bolt_name(name),
                &m.runner,
                &before,
                describe,
            ));
        }
    }
    Ok(out)
}

/// The name of a contestant's pre-BOLT copy: the report pairs the two by it.
pub fn without_bolt_name(name: &str) -> String {
    format!("{name} no BOLT")
}

fn contestant(name: &str, runner: &Runner, exe: &Path, describe: String) -> Contestant {
    Contestant {
        name: name.into(),
        interp: Interp::new(runner, exe),
        describe,
    }
}

/// The distro's python3 of the recipe's exact version, when this machine has one and the
/// target runs natively (Debian 12: python3.11 is 3.11.2).
fn distro_python(model: &Model) -> Result<Option<PathBuf>> {
    let distro = PathBuf::from(format!("/usr/bin/python{}", model.recipe.abi()));
    if !model.runner.is_native() || !distro.is_file() {
        return Ok(None);
    }
    let v = process::stdout(Command::new(&distro).arg("--version"))?;
    Ok((v.trim() == format!("Python {}", model.recipe.version)).then_some(distro))
}

/// Names the `.pth` files in the distro python's site directories that no Debian package
/// installed: `site` runs them at every start-up, so that python3 starts slower than a stock
/// Debian one, and the results must say so.
fn distro_describe(distro: &Path) -> String {
    let dirs = Command::new(distro)
        .args([
            "-c",
            "import site; print(*site.getsitepackages(), sep='\\n')",
        ])
        .env_clear()
        .envs(checks::clean_env())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let mut foreign: Vec<PathBuf> = dirs
        .lines()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pth"))
        .filter(|p| {
            !Command::new("dpkg")
                .arg("-S")
                .arg(p)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    foreign.sort();
    let mut describe = "Debian's /usr/bin/python3 of the same version".to_string();
    if !foreign.is_empty() {
        let list: Vec<String> = foreign.iter().map(|p| p.display().to_string()).collect();
        progress::warn(format!(
            "the distro python3 runs .pth files no Debian package installed, so it starts slower than a stock Debian python3: {}",
            list.join(", ")
        ));
        describe.push_str(&format!(
            "; it also runs {}, which no Debian package installed",
            list.join(", ")
        ));
    }
    describe
}
