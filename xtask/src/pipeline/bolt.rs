//! BOLT: post-link layout optimisation with LLVM BOLT, by instrumentation, of python3 and of
//! the isolate (after PGO and LTO, as CPython's `--enable-bolt` and python-build-standalone
//! do). The binary is instrumented, the instrumented copy runs the training set (profiles
//! one file per process), the profiles are merged, and BOLT rewrites the original with them.
//! The flags are the target's data (`[bolt]`); the pre-BOLT binary is kept beside, under
//! `share/pysysroot/nobolt/`, so the bench can hold the two against each other.

use crate::checks::Interp;
use crate::model::target::BoltConfig;
use crate::pipeline::training::TestModules;
use crate::util::{fs, process, progress};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// `llvm-bolt --version`'s version line, or why BOLT cannot run here.
pub fn version(config: &BoltConfig) -> Result<String> {
    let out = process::stdout(Command::new(&config.llvm_bolt).arg("--version")).with_context(|| {
        format!(
            "BOLT is not available ({}): install it (cargo xtask provision), or build with --no-bolt",
            config.llvm_bolt
        )
    })?;
    Ok(out
        .lines()
        .find(|l| l.contains("version"))
        .unwrap_or_default()
        .trim()
        .to_string())
}

/// What runs the instrumented binary: the training set.
pub trait Training {
    /// Runs `interp` through the training set; returns a description of what ran.
    fn train(&self, interp: &Interp) -> Result<Vec<String>>;
}

/// Optimises `exe` in place; its pre-BOLT copy goes to `keep`. `work` holds the
/// instrumented binary and the profiles. A profile already in `profiles` for exactly this
/// binary (by its sha256) is used again instead of training. Returns what the training ran.
pub fn optimize(
    config: &BoltConfig,
    exe: &Path,
    keep: &Path,
    interp_for: impl Fn(&Path) -> Interp,
    training: &dyn Training,
    work: &Path,
) -> Result<Vec<String>> {
    let started = Instant::now();
    let name = exe
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let log = work.join(format!("bolt-{name}.log"));
    let cached = work
        .join("bolt-profiles")
        .join(format!("{}.fdata", crate::util::hash::sha256_file(exe)?));
    let ran = if cached.is_file() {
        progress::note(format!(
            "BOLT: reusing the profile of this very {name} ({})",
            cached.display()
        ));
        vec![format!(
            "the training profile recorded for this binary ({})",
            cached.display()
        )]
    } else {
        let ran = profile(config, exe, &interp_for, training, work, &log)?;
        fs::create_dir_all(cached.parent().expect("a directory"))?;
        fs::rename(
            &work
                .join(format!("bolt-{name}"))
                .join(format!("{name}.fdata")),
            &cached,
        )?;
        ran
    };
    let fdata = cached;
    fs::create_dir_all(
        keep.parent()
            .context("a place to keep the pre-BOLT binary")?,
    )?;
    fs::copy_file(exe, keep)?;
    let optimized = exe.with_file_name(format!("{name}.bolt"));
    let mut cmd = Command::new(&config.llvm_bolt);
    cmd.arg(keep)
        .arg("-o")
        .arg(&optimized)
        .arg(format!("-data={}", fdata.display()))
        .args(&config.apply);
    process::run_logged(&format!("BOLT: optimise {name}"), &mut cmd, &log)?;
    fs::rename(&optimized, exe)?;
    progress::note(format!(
        "BOLT: {name} optimised in {:.0?}",
        started.elapsed()
    ));
    Ok(ran)
}

/// Instruments `exe`, runs the training with the instrumented copy, and merges the
/// per-process profiles into `<work>/bolt-<name>/<name>.fdata`.
fn profile(
    config: &BoltConfig,
    exe: &Path,
    interp_for: &dyn Fn(&Path) -> Interp,
    training: &dyn Training,
    work: &Path,
    log: &Path,
) -> Result<Vec<String>> {
    let name = exe
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let profiles = work.join(format!("bolt-{name}"));
    fs::remove_dir_all(&profiles)?;
    fs::create_dir_all(&profiles)?;
    // The instrumented binary sits beside the original, so that it finds the same stdlib.
    let instrumented = exe.with_file_name(format!("{name}.bolt-instrumented"));
    let mut cmd = Command::new(&config.llvm_bolt);
    cmd.arg(exe)
        .arg("-o")
        .arg(&instrumented)
        .args(["-instrument", "-instrumentation-file-append-pid"])
        .arg(format!(
            "-instrumentation-file={}",
            profiles.join(&name).display()
        ))
        .args(&config.instrument);
    process::run_logged(&format!("BOLT: instrument {name}"), &mut cmd, log)?;
    let ran = training.train(&interp_for(&instrumented));
    fs::remove_file(&instrumented)?;
    let ran = ran?;
    merge(config, &profiles, &name, log)?;
    Ok(ran)
}

/// One profile from the per-process ones the training wrote.
fn merge(config: &BoltConfig, profiles: &Path, name: &str, log: &Path) -> Result<PathBuf> {
    let files: Vec<PathBuf> = std::fs::read_dir(profiles)
        .map_err(|e| fs::io_error(e, "listing", profiles))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "fdata"))
        .collect();
    if files.is_empty() {
        bail!(
            "the instrumented {name} wrote no BOLT profile into {}: see {}",
            profiles.display(),
            log.display()
        );
    }
    let out = process::output(Command::new(&config.merge_fdata).args(&files))
        .context("merging the BOLT profiles")?;
    let fdata = profiles.join(format!("{name}.fdata"));
    fs::write(&fdata, out.stdout)?;
    Ok(fdata)
}

/// The sysroot's python3, rewritten by BOLT after training; its pre-BOLT copy is kept in
/// `share/pysysroot/nobolt/`.
pub fn python3(
    model: &crate::model::Model,
    config: &BoltConfig,
    b: &crate::pipeline::compile::Build,
    staging: &Path,
    work: &Path,
) -> Result<sysroot_manifest::Bolt> {
    let rel = crate::checks::sysroot::python_rel(model);
    let exe = staging.join(&rel);
    let keep = staging.join(KEPT).join(exe.file_name().unwrap_or_default());
    let scratch = work.join("bolt-training");
    fs::create_dir_all(&scratch)?;
    let test_modules = if model.target.platform.loads_extension_modules()
        && !model.recipe.pgo.test_modules.is_empty()
    {
        let dir = staging.join(TEST_MODULES);
        b.test_extensions(&dir, "8-bolt-test-modules")?;
        // The staged sysroot is not published yet; the sysroot's checks, after this, find
        // `lib-dynload` empty again.
        let dynload = staging.join(format!("lib/python{}/lib-dynload", model.recipe.abi()));
        TestModules::Extensions {
            dir,
            into: dynload.is_dir().then_some(dynload),
        }
    } else {
        TestModules::Absent
    };
    let training = crate::pipeline::training::TrainingSet {
        pgo: &model.recipe.pgo,
        test_modules,
        corpus: model.layout().corpus_dir(),
        builtin: model.recipe.builtin_for(&model.target.name),
        target: model.target.name.clone(),
        cwd: scratch,
        env: vec![("SOURCE_DATE_EPOCH".into(), b.epoch.clone())],
        log: b.log("8-bolt-training"),
        log_published: Some(b.log_published("8-bolt-training")),
    };
    let ran = optimize(
        config,
        &exe,
        &keep,
        |e| Interp::new(&model.runner, e),
        &training,
        work,
    )?;
    Ok(sysroot_manifest::Bolt {
        tool: version(config)?,
        flags: config.apply.clone(),
        binaries: vec![rel],
        training: ran,
    })
}

/// Where the binaries are kept as they were before BOLT (sysroot-relative).
pub const KEPT: &str = "share/pysysroot/nobolt";

/// Where the recipe's test modules are kept as extension modules (sysroot-relative), for
/// BOLT's training of python3 and, later, of the isolate; never on the interpreter's path.
pub const TEST_MODULES: &str = "share/pysysroot/training-modules";
