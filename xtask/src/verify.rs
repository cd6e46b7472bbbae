//! Verify: prove a staged sysroot is what the manifest will claim, before it is published.
//!
//! The sysroot's own interpreter imports the modules the acceptance names and hashes known
//! answers through hashlib and through the builtin HACL* modules; nothing may come from a
//! shared object. The archives must define the recipe's HACL* symbols. Executables may only
//! need the C runtime.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const CHECK_SCRIPT: &str = include_str!("../py/check_sysroot.py");

/// Standard-library packages imported by the check, each with the builtin module it needs.
const IMPORTS: &[(&str, Option<&str>)] = &[
    ("hashlib", None),
    ("json", Some("_json")),
    ("decimal", Some("_decimal")),
    ("zlib", Some("zlib")),
    ("sqlite3", Some("_sqlite3")),
    ("datetime", Some("_datetime")),
    ("ctypes", Some("_ctypes")),
    ("ssl", Some("_ssl")),
    ("lzma", Some("_lzma")),
    ("bz2", Some("_bz2")),
    ("xml.etree.ElementTree", Some("pyexpat")),
];

/// DT_NEEDED entries an executable may have: the C runtime, nothing else.
pub const ALLOWED_NEEDED: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libdl.so.2",
    "libpthread.so.0",
    "libutil.so.1",
    "librt.so.1",
    "libgcc_s.so.1",
];

#[derive(Deserialize, Debug)]
pub struct Report {
    pub errors: Vec<String>,
    pub missing_builtin: Vec<String>,
    pub from_shared_objects: Vec<String>,
    pub builtin_module_names: Vec<String>,
    pub version: String,
}

/// The argument the check script takes: modules that must be builtin and packages to import.
pub fn check_request(builtin: &[String]) -> String {
    let imports: Vec<&str> = IMPORTS
        .iter()
        .filter(|(_, needs)| needs.is_none_or(|m| builtin.iter().any(|b| b == m)))
        .map(|(p, _)| *p)
        .collect();
    let mut all: Vec<&str> = imports;
    all.extend(builtin.iter().map(String::as_str));
    serde_json::json!({ "builtin": builtin, "imports": all }).to_string()
}

/// Runs the check script with `interpreter` (a command: runner, executable, flags), from
/// `script_dir` by a relative path, which every runner maps (WASI sees only its preopens).
pub fn run_check(interpreter: &[String], script_dir: &Path, builtin: &[String]) -> Result<Report> {
    std::fs::write(script_dir.join("check_sysroot.py"), CHECK_SCRIPT)?;
    let out = Command::new(&interpreter[0])
        .args(&interpreter[1..])
        .arg("check_sysroot.py")
        .current_dir(script_dir)
        .arg(check_request(builtin))
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .output()
        .with_context(|| format!("running {}", interpreter.join(" ")))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "{} failed the sysroot check ({}):\n{stdout}{}",
            interpreter.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("unexpected check output: {stdout}"))
}

pub fn require_clean(report: &Report, what: &str, version: &str) -> Result<()> {
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

/// Symbols each archive defines (`T`), per `nm`.
pub fn defined_symbols(nm: &[String], archive: &Path) -> Result<BTreeSet<String>> {
    let out = Command::new(&nm[0])
        .args(&nm[1..])
        .args(["--defined-only", "--format=posix"])
        .arg(archive)
        .output()
        .with_context(|| format!("running {} on {}", nm.join(" "), archive.display()))?;
    if !out.status.success() {
        bail!(
            "{} {} failed: {}",
            nm.join(" "),
            archive.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (name, kind) = (f.next()?, f.next()?);
            (kind == "T" || kind == "t").then(|| name.to_string())
        })
        .collect())
}

/// Finds every required HACL* symbol defined in the archives; returns the archives that hold them.
pub fn check_hacl(nm: &[String], archives: &[PathBuf], symbols: &[String]) -> Result<Vec<PathBuf>> {
    let mut missing: BTreeSet<&String> = symbols.iter().collect();
    let mut holders = Vec::new();
    for a in archives {
        let defined = defined_symbols(nm, a)?;
        let found: Vec<&String> = missing
            .iter()
            .filter(|s| defined.contains(s.as_str()))
            .copied()
            .collect();
        if !found.is_empty() {
            holders.push(a.clone());
        }
        for s in found {
            missing.remove(s);
        }
    }
    if !missing.is_empty() {
        bail!(
            "HACL* symbols not defined in the sysroot's archives: {}",
            missing.into_iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(holders)
}

/// The `DT_NEEDED` entries of an ELF file.
pub fn needed(elf: &Path) -> Result<Vec<String>> {
    let out = Command::new("readelf")
        .args(["-dW"])
        .arg(elf)
        .output()
        .context("running readelf (binutils)")?;
    if !out.status.success() {
        bail!(
            "readelf -d {} failed: {}",
            elf.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| {
            l.split('[')
                .nth(1)
                .map(|s| s.trim_end_matches(']').to_string())
        })
        .collect())
}

pub fn check_needed(elf: &Path, extra_allowed: &[&str]) -> Result<()> {
    let bad: Vec<String> = needed(elf)?
        .into_iter()
        .filter(|n| {
            !ALLOWED_NEEDED.contains(&n.as_str())
                && !n.starts_with("ld-linux")
                && !extra_allowed.contains(&n.as_str())
        })
        .collect();
    if !bad.is_empty() {
        bail!(
            "{} needs shared libraries outside the C runtime: {}",
            elf.display(),
            bad.join(", ")
        );
    }
    Ok(())
}

/// `lib-dynload` must hold no extension modules: everything is built in.
pub fn check_no_dynload(stdlib: &Path) -> Result<()> {
    let dir = stdlib.join("lib-dynload");
    let found: Vec<String> = walkdir::WalkDir::new(&dir)
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
    fn request_imports_only_what_the_target_has() {
        let req: serde_json::Value =
            serde_json::from_str(&check_request(&["_json".into(), "zlib".into()])).unwrap();
        let imports: Vec<&str> = req["imports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(
            imports.contains(&"json") && imports.contains(&"zlib") && imports.contains(&"hashlib")
        );
        assert!(
            !imports.contains(&"sqlite3") && !imports.contains(&"ctypes"),
            "{imports:?}"
        );
    }

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

    #[test]
    fn this_test_binary_needs_only_the_c_runtime() {
        // A real ELF file: the check must parse readelf and accept the C runtime.
        let me = std::env::current_exe().unwrap();
        let n = needed(&me).unwrap();
        assert!(n.iter().any(|x| x == "libc.so.6"), "{n:?}");
        check_needed(&me, &[]).unwrap();
    }
}
