//! The build python: a native interpreter of the same version that a cross build runs its
//! build scripts with (freezing, code generation, compileall). Built once per version from the
//! same pinned source, never taken from the host, which may be any version.

use crate::model::Model;
use crate::pipeline::compile::scrub_env;
use crate::pipeline::unpack;
use crate::util::{fs, process, progress};
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn ensure(model: &Model, tarball: &Path) -> Result<PathBuf> {
    let version = &model.recipe.version;
    let dir = model.layout().work.join("build-python").join(version);
    let python = dir.join("build/python");
    // Two cross builds of one version (aarch64 and wasi) share it: one builds, the other waits.
    let _lock = fs::Lock::acquire(
        &dir.with_extension("lock"),
        &format!("build of the build python {version}"),
    )?;
    if dir.join(".complete").is_file() && python.is_file() {
        progress::note(format!(
            "build python {version}: reusing {}",
            python.display()
        ));
        return Ok(python);
    }
    fs::remove_dir_all(&dir)?;
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
    process::run_logged(
        &format!("build python {version}: configure"),
        &mut configure,
        &log,
    )?;
    let mut make = Command::new("make");
    make.arg(format!("-j{}", model.settings.jobs))
        .current_dir(&build);
    scrub_env(&mut make, &epoch);
    process::run_logged(&format!("build python {version}: make"), &mut make, &log)?;
    fs::write(&dir.join(".complete"), version)?;
    Ok(python)
}
