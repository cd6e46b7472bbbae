//! Link: an executable embedding a sysroot, the supported way, and the isolate made that way.
//!
//! [`Embedding`] is everything cargo needs to link any crate against a sysroot: the PyO3
//! configuration (whose link lines reach every crate that uses PyO3), the manifest, the
//! flavor's code-generation flags and executable-level link flags for the target, and its
//! linker. `cargo xtask env` prints it for users; `cargo xtask isolate` builds `engine/` with
//! exactly that, then bundles the stdlib into the single-file isolate.

use crate::model::Model;
use crate::model::sysroot::{PREFIX, Sysroot};
use crate::util::elf_section::{self, STDLIB_SECTION};
use crate::util::{fs, process, progress, shell};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

pub struct Embedding {
    pub triple: String,
    /// `PYO3_CONFIG_FILE`, `PYSYSROOT_MANIFEST`.
    pub env: Vec<(String, String)>,
    /// For every crate of the executable: the flavor's codegen flags and link flags.
    pub rustflags: Vec<String>,
    /// The target's linker, when it is not cargo's default.
    pub linker: Option<PathBuf>,
}

impl Embedding {
    pub fn new(model: &Model, sysroot: &Sysroot) -> Result<Embedding> {
        let m = &sysroot.manifest;
        let linker = match &model.target.toolchain.rust_linker {
            None => None,
            Some(argv) => {
                let argv = model.tools.expand(argv)?;
                Some(match argv.as_slice() {
                    [one] => PathBuf::from(one),
                    _ => linker_script(&model.layout().work, &model.target.name, &argv)?,
                })
            }
        };
        Ok(Embedding {
            triple: m.target.rust_triple.clone(),
            env: vec![
                (
                    "PYO3_CONFIG_FILE".into(),
                    sysroot
                        .root
                        .join(&m.paths.pyo3_config)
                        .display()
                        .to_string(),
                ),
                (
                    "PYSYSROOT_MANIFEST".into(),
                    sysroot
                        .root
                        .join(sysroot_manifest::FILE_NAME)
                        .display()
                        .to_string(),
                ),
            ],
            rustflags: m.rustflags(&sysroot.root),
            linker,
        })
    }

    /// A `.cargo/config.toml` fragment (for `cargo --config FILE` or a project's own config).
    pub fn cargo_config(&self) -> String {
        let q = |s: &str| toml::Value::String(s.to_string()).to_string();
        let mut text = String::from(
            "# Written by `cargo xtask env`: links a crate against a pysysroot sysroot.\n[env]\n",
        );
        for (k, v) in &self.env {
            text.push_str(&format!("{k} = {}\n", q(v)));
        }
        text.push_str(&format!("\n[target.{}]\nrustflags = [", self.triple));
        text.push_str(
            &self
                .rustflags
                .iter()
                .map(|f| q(f))
                .collect::<Vec<_>>()
                .join(", "),
        );
        text.push_str("]\n");
        if let Some(l) = &self.linker {
            text.push_str(&format!("linker = {}\n", q(&l.display().to_string())));
        }
        text
    }

    /// The same as shell `export` lines.
    pub fn shell(&self) -> String {
        let var = cargo_target_var(&self.triple, "");
        let mut text = String::new();
        for (k, v) in &self.env {
            text.push_str(&format!("export {k}={}\n", shell::quote(v)));
        }
        text.push_str(&format!(
            "export {var}RUSTFLAGS={}\n",
            shell::quote(&self.rustflags.join(" "))
        ));
        if let Some(l) = &self.linker {
            text.push_str(&format!(
                "export {var}LINKER={}\n",
                shell::quote(&l.display().to_string())
            ));
        }
        text
    }
}

/// `CARGO_TARGET_<TRIPLE>_<NAME>`.
fn cargo_target_var(triple: &str, name: &str) -> String {
    format!(
        "CARGO_TARGET_{}_{name}",
        triple.to_uppercase().replace(['-', '.'], "_")
    )
}

/// A script that runs `command` with the linker's arguments: cargo's linker setting is a
/// single program, a target's linker may be a command (`python zig_cc.py -target ...`).
fn linker_script(work: &Path, target: &str, command: &[String]) -> Result<PathBuf> {
    let dir = work.join("linkers");
    fs::create_dir_all(&dir)?;
    let script = dir.join(format!("{target}-linker"));
    fs::write_atomic(
        &script,
        format!(
            "#!/bin/sh\n# Written by xtask from sysroots/{target}.toml.\nexec {} \"$@\"\n",
            shell::join(command)
        ),
    )?;
    fs::set_executable(&script)?;
    Ok(script)
}

/// `cargo <args> --release --package engine` linked against `sysroot` the supported way,
/// with a target directory of its own per sysroot (PyO3's configuration differs per sysroot,
/// so sharing one would rebuild everything at every switch).
pub fn cargo(model: &Model, sysroot: &Sysroot, args: &[&str]) -> Result<Command> {
    let mut embedding = Embedding::new(model, sysroot)?;
    // An isolate BOLT will rewrite keeps its relocations, as python3 was linked. Rust's
    // legacy symbol names spell paths with dots (`engine..warm..call`), which BOLT takes for
    // the `.warm`/`.cold` fragments of split functions and then fails to find their parent;
    // v0 names have no dots.
    if let Some(config) = bolted(model, sysroot) {
        for f in &config.ldflags {
            embedding
                .rustflags
                .extend(["-C".to_string(), format!("link-arg={f}")]);
        }
        embedding
            .rustflags
            .extend(["-C".to_string(), "symbol-mangling-version=v0".to_string()]);
    }
    let dir = target_dir(model, sysroot);
    fs::create_dir_all(&dir)?;
    let config = dir.join("pysysroot.toml");
    fs::write_atomic(&config, embedding.cargo_config())?;
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(args)
        .arg("--config")
        .arg(&config)
        .args([
            "--release",
            "--package",
            "engine",
            "--target",
            &embedding.triple,
        ])
        .current_dir(&model.layout().root)
        .env("CARGO_TARGET_DIR", &dir);
    Ok(cmd)
}

/// BOLT's configuration when the sysroot's python3 was rewritten by it: the isolate is too.
fn bolted<'m>(model: &'m Model, sysroot: &Sysroot) -> Option<&'m crate::model::target::BoltConfig> {
    sysroot
        .manifest
        .build
        .optimizations
        .bolt
        .as_ref()
        .and(model.target.bolt.as_ref())
}

/// The isolate rewritten by BOLT with the same training set as python3 (a profile for this
/// very binary is reused); its pre-BOLT copy goes beside python3's.
fn bolt_isolate(
    model: &Model,
    sysroot: &Sysroot,
    config: &crate::model::target::BoltConfig,
    exe: &Path,
) -> Result<()> {
    let work = model
        .layout()
        .work
        .join("isolate-bolt")
        .join(&model.target.name);
    let scratch = work.join("training");
    fs::create_dir_all(&scratch)?;
    // The test modules python3's BOLT training had, if the sysroot kept them; on PYTHONPATH,
    // as a published sysroot's `lib-dynload` is not written for a training.
    let modules = sysroot.root.join(super::bolt::TEST_MODULES);
    let test_modules = match modules.is_dir() {
        true => super::training::TestModules::Extensions {
            dir: modules,
            into: None,
        },
        false => super::training::TestModules::Absent,
    };
    let training = super::training::TrainingSet {
        pgo: &model.recipe.pgo,
        test_modules,
        corpus: model.layout().corpus_dir(),
        builtin: sysroot.manifest.modules.builtin.clone(),
        target: model.target.name.clone(),
        cwd: scratch,
        env: Vec::new(),
        log: work.join("training.log"),
        log_published: None,
    };
    let keep = sysroot
        .root
        .join(super::bolt::KEPT)
        .join(exe.file_name().unwrap_or_default());
    let interp = |e: &Path| crate::checks::Interp::new(&model.runner, e);
    super::bolt::optimize(config, exe, &keep, interp, &training, &work)?;
    Ok(())
}

fn target_dir(model: &Model, sysroot: &Sysroot) -> PathBuf {
    let layout = model.layout();
    layout.root.join("target/isolate").join(
        sysroot
            .root
            .strip_prefix(&layout.sysroots)
            .unwrap_or(&sysroot.root),
    )
}

/// Builds the isolate into `bin/`, then the single-file copy into `dist/`, with the packages
/// of a requirements file when one is given.
pub fn isolate(model: &Model, sysroot: &Sysroot, requirements: Option<&Path>) -> Result<()> {
    progress::note(format!("building the isolate for {}", model.describe()));
    let start = Instant::now();
    process::run(&mut cargo(model, sysroot, &["build", "--bin", "isolate"])?)
        .with_context(|| format!("building the isolate for {}", model.target.rust_triple))?;
    progress::note(format!("isolate built in {:.1?}", start.elapsed()));
    let name = model.target.exe_name("isolate");
    let built = target_dir(model, sysroot)
        .join(&model.target.rust_triple)
        .join("release")
        .join(&name);
    let exe = sysroot.isolate(model);
    match model.runner.snapshot_command(&sysroot.root)? {
        // Pre-initialised, with the sysroot as its home, as the runner maps it for bin/.
        Some(_) => {
            let cold = super::snapshot::cold_path(&exe);
            fs::copy_file(&built, &cold)?;
            super::snapshot::take(&model.runner, &cold, &exe, &sysroot.root, &[])?;
        }
        None => {
            fs::copy_file(&built, &exe)?;
        }
    }
    if let Some(config) = bolted(model, sysroot) {
        bolt_isolate(model, sysroot, config, &exe)?;
    }
    let dist = sysroot.root.join("dist");
    fs::remove_dir_all(&dist)?;
    fs::create_dir_all(&dist)?;
    let packages = match requirements {
        None => None,
        Some(file) => {
            let abi = &sysroot.manifest.python.abi;
            let site = dist.join(format!("lib/python{abi}/site-packages"));
            Some(super::packages::install(model, sysroot, file, &site)?)
        }
    };
    bundle_stdlib(
        model,
        sysroot,
        &exe,
        packages.as_ref().map(|p| p.pure.as_path()),
    )
}

/// The stdlib (and pure-Python packages) as a zip, made by the sysroot's own python3 (its
/// bytecode), carried by the single-file isolate. Paths are relative to the sysroot, which
/// every runner maps (a WASI guest sees nothing else).
fn bundle_stdlib(
    model: &Model,
    sysroot: &Sysroot,
    exe: &Path,
    packages: Option<&Path>,
) -> Result<()> {
    let root = &sysroot.root;
    let dist = root.join("dist");
    let script = model.layout().helpers_dir().join("make_stdlib_zip.py");
    fs::copy_file(&script, &dist.join("make_stdlib_zip.py"))?;
    let mut args = vec!["-I".to_string(), "dist/make_stdlib_zip.py".into()];
    if !model.target.platform.is_elf() {
        // A WASI python3's stdlib is always at this guest path: tracebacks through the
        // single file's stdlib name the same files as python3's.
        let stdlib = &sysroot.manifest.paths.stdlib;
        args.extend(["--code-dir".into(), format!("{PREFIX}/{stdlib}")]);
    }
    args.extend([
        sysroot.manifest.paths.stdlib.clone(),
        "dist/stdlib.zip".into(),
    ]);
    if let Some(p) = packages {
        fs::copy_tree(p, &dist.join(".packages"))?;
        args.push("dist/.packages".into());
    }
    let python = crate::checks::Interp::new(&model.runner, &sysroot.python());
    process::output(python.command().args(&args).current_dir(root))
        .context("zipping the stdlib with the sysroot's python3")?;
    fs::remove_file(&dist.join("make_stdlib_zip.py"))?;
    fs::remove_dir_all(&dist.join(".packages"))?;
    let zip = dist.join("stdlib.zip");
    let standalone = sysroot.standalone(model);
    if model.target.platform.is_elf() {
        // The executable's last section, which zipimport reads and strip keeps.
        elf_section::append_section(exe, STDLIB_SECTION, &fs::read(&zip)?, &standalone)?;
        fs::remove_file(&zip)?;
    } else {
        // A WASI module cannot read itself: the zip ships beside it, where CPython looks for
        // it under its prefix (`lib/pythonXY.zip`); `lib-dynload` marks the platform library
        // directory, empty since every extension module is built in.
        let abi = &sysroot.manifest.python.abi;
        let lib = dist.join("lib");
        fs::create_dir_all(&lib.join(format!("python{abi}/lib-dynload")))?;
        fs::rename(
            &zip,
            &lib.join(format!("python{}.zip", abi.replace('.', ""))),
        )?;
        match model.runner.snapshot_command(&dist)? {
            // Its own snapshot: what start-up reads is what ships beside it.
            Some(_) => {
                let cold = super::snapshot::cold_path(&standalone);
                fs::copy_file(&super::snapshot::cold_path(exe), &cold)?;
                fs::set_executable(&cold)?;
                super::snapshot::take(&model.runner, &cold, &standalone, &dist, &[])?;
            }
            None => {
                fs::copy_file(exe, &standalone)?;
            }
        }
    }
    fs::set_executable(&standalone)?;
    if !standalone.is_file() {
        bail!("{} was not written", standalone.display());
    }
    Ok(())
}
