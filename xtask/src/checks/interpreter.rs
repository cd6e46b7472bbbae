//! The interpreter check: a script run inside an interpreter imports the recipe's packages
//! and every builtin module, hashes known answers through hashlib and through the builtin
//! HACL* modules, and reports any module that came from a shared object.

use crate::checks::Interp;
use crate::model::recipe::Recipe;
use crate::util::{fs, process};
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::path::Path;

const SCRIPT: &str = include_str!("../../py/check_interpreter.py");

#[derive(Deserialize, Debug)]
pub struct Report {
    pub errors: Vec<String>,
    pub missing_builtin: Vec<String>,
    pub from_shared_objects: Vec<String>,
    pub builtin_module_names: Vec<String>,
    pub version: String,
}

/// What the script is asked to check: modules that must be builtin and packages to import
/// (those whose builtin module the target has).
pub fn request(recipe: &Recipe, builtin: &[String]) -> String {
    let mut imports: Vec<&str> = recipe
        .checks
        .imports
        .iter()
        .filter(|(_, needs)| needs.is_empty() || builtin.iter().any(|b| b == *needs))
        .map(|(p, _)| p.as_str())
        .collect();
    imports.extend(builtin.iter().map(String::as_str));
    serde_json::json!({ "builtin": builtin, "imports": imports }).to_string()
}

/// Runs the check with `interp` (with `-I`), from `scratch` by a relative path, which every
/// runner maps (WASI sees only its preopens); fails unless everything held.
pub fn check(
    interp: &Interp,
    scratch: &Path,
    recipe: &Recipe,
    builtin: &[String],
    what: &str,
) -> Result<Report> {
    fs::create_dir_all(scratch)?;
    fs::write(&scratch.join("check_interpreter.py"), SCRIPT)?;
    let mut cmd = interp.command();
    cmd.arg("-I")
        .arg("check_interpreter.py")
        .arg(request(recipe, builtin))
        .current_dir(scratch)
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME");
    let stdout = process::stdout(&mut cmd)
        .with_context(|| format!("{what} failed the interpreter check"))?;
    let line = stdout.lines().last().unwrap_or_default();
    let report: Report =
        serde_json::from_str(line).with_context(|| format!("unexpected check output: {stdout}"))?;
    require_clean(&report, what, &recipe.version)?;
    Ok(report)
}

fn require_clean(report: &Report, what: &str, version: &str) -> Result<()> {
    let mut problems = report.errors.clone();
    if !report.missing_builtin.is_empty() {
        problems.push(format!(
            "not built in: {}",
            report.missing_builtin.join(", ")
        ));
    }
    if !report.from_shared_objects.is_empty() {
        problems.push(format!(
            "loaded from shared objects: {}",
            report.from_shared_objects.join(", ")
        ));
    }
    if report.version != version {
        problems.push(format!(
            "reports version {}, expected {version}",
            report.version
        ));
    }
    if !problems.is_empty() {
        bail!("{what} failed its checks:\n  {}", problems.join("\n  "));
    }
    Ok(())
}

/// `lib-dynload` must hold no extension modules: everything is built in.
pub fn check_no_dynload(stdlib: &Path) -> Result<()> {
    let found: Vec<String> = walkdir::WalkDir::new(stdlib.join("lib-dynload"))
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "so"))
        .map(|e| e.path().display().to_string())
        .collect();
    if !found.is_empty() {
        bail!(
            "extension modules were built as shared objects: {}",
            found.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirty_reports_name_every_problem() {
        let r = Report {
            errors: vec!["sha256: wrong".into()],
            missing_builtin: vec!["_ssl".into()],
            from_shared_objects: vec!["_ctypes".into()],
            builtin_module_names: vec![],
            version: "3.13.4".into(),
        };
        let err = require_clean(&r, "python3", "3.13.5")
            .unwrap_err()
            .to_string();
        for needle in ["sha256: wrong", "_ssl", "_ctypes", "3.13.4"] {
            assert!(err.contains(needle), "{err}");
        }
    }
}
