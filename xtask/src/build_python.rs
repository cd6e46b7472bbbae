//! The build python: a native interpreter of the same version that a cross build runs its
//! build scripts with (freezing, code generation, compileall). Built once per version from the
//! same pinned source, never taken from the host, which may be any version.

use crate::compile::scrub_env;
use crate::progress;
use crate::recipe::Recipe;
use crate::{Ctx, unpack};
use anyhow::Result;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn ensure(ctx: &Ctx, recipe: &Recipe, tarball: &Path) -> Result<PathBuf> {
    let dir = ctx.work_dir().join("build-python").join(&recipe.version);
    let python = dir.join("build/python");
    // Two cross builds of one version (aarch64 and wasi) share it: one builds, the other waits.
    fs::create_dir_all(dir.parent().unwrap())?;
    let lock = fs::File::create(dir.with_extension("lock"))?;
    if lock.try_lock().is_err() {
        progress::note(format!(
            "build python {}: another build is making it; waiting",
            recipe.version
        ));
        lock.lock()?;
    }
    if dir.join(".complete").is_file() && python.is_file() {
        progress::note(format!(
            "build python {}: reusing {}",
            recipe.version,
            python.display()
        ));
        return Ok(python);
    }
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    let src = dir.join("src");
    unpack::unpack(tarball, &src)?;
    let epoch = unpack::source_date_epoch(&src);
    let build = dir.join("build");
    fs::create_dir_all(&build)?;
    let log = dir.join("build-python.log");
    let mut configure = Command::new("sh");
    configure
        .arg(src.join("configure"))
        .args(["--prefix=/pysysroot-build-python", "--without-ensurepip"])
        .current_dir(&build);
    scrub_env(&mut configure, &epoch);
    progress::run_logged(
        &format!("build python {}: configure", recipe.version),
        &mut configure,
        &log,
    )?;
    let mut make = Command::new("make");
    make.arg(format!("-j{}", ctx.jobs)).current_dir(&build);
    scrub_env(&mut make, &epoch);
    progress::run_logged(
        &format!("build python {}: make", recipe.version),
        &mut make,
        &log,
    )?;
    fs::write(dir.join(".complete"), &recipe.version)?;
    Ok(python)
}
