//! A sysroot before it is published (and, in the tests, after): its python3 passes the
//! interpreter check, nothing is a shared extension module, the HACL* code is in its
//! archives, and python3 needs only what the target allows.

use crate::checks::{Interp, binary, hacl, interpreter};
use crate::model::Model;
use anyhow::Result;
use std::path::{Path, PathBuf};
use sysroot_manifest::Link;

pub struct Verified {
    /// `sys.builtin_module_names` of the build's python3.
    pub builtin_module_names: Vec<String>,
    /// Archives that define HACL* code (sysroot-relative).
    pub hacl_archives: Vec<String>,
}

/// The build's own interpreter, sysroot-relative.
pub fn python_rel(model: &Model) -> String {
    format!(
        "bin/python{}{}",
        model.recipe.abi(),
        model.target.platform.exe_suffix()
    )
}

pub fn verify(model: &Model, root: &Path, link: &Link, scratch: &Path) -> Result<Verified> {
    let abi = model.recipe.abi();
    interpreter::check_no_dynload(&root.join(format!("lib/python{abi}")))?;
    let python = root.join(python_rel(model));
    let report = interpreter::check(
        &Interp::new(&model.runner, &python),
        scratch,
        model.recipe,
        &model.recipe.builtin_for(&model.target.name),
        "the sysroot's python3",
    )?;
    let mut archives: Vec<PathBuf> = std::fs::read_dir(root.join("lib"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "a"))
        .collect();
    archives.sort();
    let holders = hacl::in_archives(&archives, &model.recipe.hacl.symbols)?;
    binary::policy(&python, model.target, link.shared_library_name())?;
    Ok(Verified {
        builtin_module_names: report.builtin_module_names,
        hacl_archives: holders
            .iter()
            .map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string())
            .collect(),
    })
}
