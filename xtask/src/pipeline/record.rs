//! Record: assemble the staged sysroot's extras and write what it is (`manifest.json`): how
//! it was built, from what, how to link it, and the digest of every file, which both the
//! up-to-date check and a substitute from the binary cache are held against.

use crate::checks::sysroot::Verified;
use crate::model::recipe::Source;
use crate::pipeline::compile::{Build, Configured, make_var};
use crate::pipeline::{Plan, install};
use crate::util::fs;
use crate::util::hash::sha256_file;
use anyhow::Result;
use std::collections::BTreeMap;
use std::path::Path;
use sysroot_manifest::{Flavor, Link, Manifest, ProfileRun};

/// Installs into `staging` and adds what `make install` leaves out; returns the link.
pub fn assemble(b: &Build, staging: &Path) -> Result<Link> {
    let m = b.model;
    install::make_install(b, staging)?;
    let abi = m.recipe.abi();
    install::test_package(b, &staging.join(format!("lib/python{abi}")))?;
    let mut link = install::collect_link(b, staging, b.libs)?;
    if let Some(cpu) = &m.target.cpu {
        install::cpu_check(b, staging, &link, &cpu.march)?;
    }
    if m.target.platform.loads_extension_modules() && m.flavor != Flavor::Shared {
        let never = m.bundled_symbol_prefixes();
        let rel = install::exports_list(staging, &link, &abi, &never)?;
        link.ldflags
            .push(format!("-Wl,--dynamic-list={{sysroot}}/{rel}"));
        link.exports = Some(rel);
    }
    install::licenses(b, staging, b.libs)?;
    Ok(link)
}

/// What the build did, for the manifest.
pub struct Outcome {
    pub source: Source,
    pub configured: Configured,
    pub profile: Option<ProfileRun>,
    pub bolt: Option<sysroot_manifest::Bolt>,
    pub link: Link,
    pub verified: Verified,
    pub seconds: f64,
}

pub fn manifest(plan: &Plan, b: &Build, staging: &Path, o: Outcome) -> Result<Manifest> {
    let m = plan.model;
    let abi = m.recipe.abi();
    let mut inputs = plan.inputs.clone();
    if let Some(i) = inputs.iter_mut().find(|i| i.kind == "source") {
        i.name = o.source.url.clone();
        i.sha256 = o.source.sha256.clone();
    }
    // The build machine's checkout and tools are no business of the sysroot's users, and
    // would make manifests differ between two machines building the same inputs.
    let portable = |v: &str| m.tools.unexpand(v);
    let (files, packages) = digests(staging)?;
    let python = format!("bin/python{abi}{}", make_var(&b.dir, "EXE")?);
    Ok(Manifest {
        schema: sysroot_manifest::SCHEMA,
        python: sysroot_manifest::Python {
            version: m.recipe.version.clone(),
            abi: abi.clone(),
        },
        target: sysroot_manifest::Target {
            name: m.target.name.clone(),
            rust_triple: m.target.rust_triple.clone(),
            host: m.target.host.clone(),
            pointer_width: m.target.pointer_width,
            runner: m.target.runner.command().to_vec(),
        },
        flavor: m.flavor,
        build: sysroot_manifest::Build {
            key: plan.key.clone(),
            optimizations: sysroot_manifest::Optimizations {
                pgo: o.profile,
                lto: plan.lto,
                bolt: o.bolt,
                skipped: plan.skipped.clone(),
                march: m.target.cpu.as_ref().map(|c| c.march.clone()),
            },
            configure_args: o.configured.args.iter().map(|a| portable(a)).collect(),
            configure_env: o
                .configured
                .env
                .iter()
                .map(|(k, v)| (k.clone(), portable(v)))
                .collect(),
            toolchain: m
                .tools
                .versions(m.target)?
                .into_iter()
                .map(|(k, v)| (k, portable(&v)))
                .collect(),
            revision: git_revision(&m.layout().root),
            seconds: o.seconds,
        },
        inputs,
        modules: sysroot_manifest::Modules {
            builtin: o.verified.builtin_module_names,
            absent: m.recipe.absent_for(&m.target.name),
        },
        paths: sysroot_manifest::Paths {
            include: format!("include/python{abi}"),
            stdlib: format!("lib/python{abi}"),
            lib: "lib".into(),
            python,
            pyo3_config: "pyo3-config.txt".into(),
        },
        link: o.link,
        hacl: sysroot_manifest::Hacl {
            archives: o.verified.hacl_archives,
            symbols: m.recipe.hacl.symbols.clone(),
        },
        files,
        packages: Some(packages),
    })
}

/// Writes the manifest, the PyO3 configuration for where the sysroot will live, and the
/// build's logs into the staged sysroot.
pub fn write(staging: &Path, final_dir: &Path, manifest: &Manifest, logs: &Path) -> Result<()> {
    fs::write(
        &staging.join(sysroot_manifest::FILE_NAME),
        manifest.to_json(),
    )?;
    fs::write(
        &staging.join(&manifest.paths.pyo3_config),
        manifest.pyo3_config(final_dir),
    )?;
    let dest = staging.join("logs");
    fs::create_dir_all(&dest)?;
    for entry in fs::read_dir(logs)? {
        fs::copy_file(&entry.path(), &dest.join(entry.file_name()))?;
    }
    Ok(())
}

/// Rewrites what names the sysroot's own place (the PyO3 configuration) when the sysroot
/// was moved or unpacked elsewhere: it is derived from the manifest and the directory.
pub fn locate(sysroot: &crate::model::sysroot::Sysroot) -> Result<()> {
    let m = &sysroot.manifest;
    let path = sysroot.root.join(&m.paths.pyo3_config);
    let want = m.pyo3_config(&sysroot.root);
    if std::fs::read_to_string(&path).ok().as_deref() != Some(want.as_str()) {
        fs::write_atomic(&path, want)?;
    }
    Ok(())
}

/// Files of a sysroot that are no part of its record: the record itself, what depends on
/// where it lives, the logs, and what `cargo xtask isolate` adds later.
fn unrecorded(rel: &str) -> bool {
    let top = rel.split('/').next().unwrap_or(rel);
    matches!(rel, sysroot_manifest::FILE_NAME | "pyo3-config.txt")
        || matches!(top, "logs" | "dist")
        || rel.starts_with("bin/isolate")
}

/// Whether a recorded path is in the interpreter's `site-packages`, which belongs to whoever
/// installs packages into it: the build's own packages are recorded apart from its files.
pub fn is_package(rel: &str) -> bool {
    rel.contains("/site-packages/") && !unrecorded(rel)
}

/// Every file of the record, by its path relative to `root`.
fn recorded(root: &Path) -> Result<Vec<(String, std::path::PathBuf)>> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let entry = entry?;
        let rel = entry.path().strip_prefix(root)?.display().to_string();
        if !entry.file_type().is_dir() && !unrecorded(&rel) {
            out.push((rel, entry.into_path()));
        }
    }
    Ok(out)
}

/// sha256 of every recorded file, the build's files and its packages apart; a symbolic link
/// is recorded by its target.
pub fn digests(root: &Path) -> Result<(BTreeMap<String, String>, BTreeMap<String, String>)> {
    let (mut files, mut packages) = (BTreeMap::new(), BTreeMap::new());
    for (rel, path) in recorded(root)? {
        let into = if is_package(&rel) {
            &mut packages
        } else {
            &mut files
        };
        into.insert(rel, digest(&path)?);
    }
    Ok((files, packages))
}

/// Files in `site-packages` that the build did not put there (installed since), by path;
/// `None` without a record of the build's packages (a manifest written before there was one).
pub fn installed_since(
    root: &Path,
    packages: Option<&BTreeMap<String, String>>,
) -> Result<Option<Vec<String>>> {
    let Some(packages) = packages else {
        return Ok(None);
    };
    Ok(Some(
        recorded(root)?
            .into_iter()
            .map(|(rel, _)| rel)
            .filter(|rel| is_package(rel) && !packages.contains_key(rel))
            .collect(),
    ))
}

fn digest(path: &Path) -> Result<String> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| fs::io_error(e, "reading", path))?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path).map_err(|e| fs::io_error(e, "reading", path))?;
        return Ok(format!("link:{}", target.display()));
    }
    sha256_file(path)
}

/// The first recorded file that is missing or differs from its record, if any.
pub fn first_changed(root: &Path, files: &BTreeMap<String, String>) -> Result<Option<String>> {
    for (rel, want) in files {
        let path = root.join(rel);
        if std::fs::symlink_metadata(&path).is_err() {
            return Ok(Some(format!("{rel} is missing")));
        }
        if digest(&path)? != *want {
            return Ok(Some(format!("{rel} was modified")));
        }
    }
    Ok(None)
}

/// The same over everything the build recorded, its own packages included: what an archive
/// under its key must hold.
pub fn first_changed_of_build(root: &Path, m: &Manifest) -> Result<Option<String>> {
    if let Some(problem) = first_changed(root, &m.files)? {
        return Ok(Some(problem));
    }
    match &m.packages {
        Some(packages) => first_changed(root, packages),
        None => Ok(None),
    }
}

/// `git rev-parse HEAD` of the repository, with `-dirty` when it has uncommitted changes.
pub fn git_revision(root: &Path) -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(root)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let rev = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    match git(&["status", "--porcelain"]) {
        Some(s) if !s.is_empty() => format!("{rev}-dirty"),
        _ => rev,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_notices_a_deleted_an_edited_and_a_relinked_file() {
        let d = std::env::temp_dir().join(format!("xtask-record-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("lib/python3.99/site-packages")).unwrap();
        std::fs::write(d.join("lib/a.a"), "a").unwrap();
        std::fs::write(d.join("lib/b.py"), "b").unwrap();
        std::fs::write(d.join("lib/python3.99/site-packages/user.py"), "mine").unwrap();
        std::os::unix::fs::symlink("a.a", d.join("lib/link")).unwrap();
        let (files, packages) = digests(&d).unwrap();
        assert_eq!(files.len(), 3, "{files:?}");
        assert_eq!(
            packages.keys().collect::<Vec<_>>(),
            ["lib/python3.99/site-packages/user.py"]
        );
        assert_eq!(first_changed(&d, &files).unwrap(), None);
        // Whoever installs packages may change them; the build's own files stay as built.
        std::fs::write(d.join("lib/python3.99/site-packages/user.py"), "changed").unwrap();
        assert_eq!(first_changed(&d, &files).unwrap(), None);
        std::fs::write(d.join("lib/b.py"), "edited").unwrap();
        assert!(
            first_changed(&d, &files)
                .unwrap()
                .unwrap()
                .contains("lib/b.py was modified")
        );
        std::fs::write(d.join("lib/b.py"), "b").unwrap();
        std::fs::remove_file(d.join("lib/link")).unwrap();
        std::os::unix::fs::symlink("b.py", d.join("lib/link")).unwrap();
        assert!(
            first_changed(&d, &files)
                .unwrap()
                .unwrap()
                .contains("lib/link")
        );
        std::fs::remove_file(d.join("lib/a.a")).unwrap();
        assert!(
            first_changed(&d, &files)
                .unwrap()
                .unwrap()
                .contains("lib/a.a is missing")
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// What was installed into `site-packages` after the build is told apart from the
    /// build's own packages (what `dist` leaves out); the single file's `dist/` is no part
    /// of either.
    #[test]
    fn packages_installed_since_the_build_are_told_apart() {
        let d = std::env::temp_dir().join(format!("xtask-record-pkg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let site = d.join("lib/python3.99/site-packages");
        std::fs::create_dir_all(site.join("pip")).unwrap();
        std::fs::write(site.join("pip/__init__.py"), "pip").unwrap();
        std::fs::create_dir_all(d.join("dist/lib/python3.99/site-packages")).unwrap();
        std::fs::write(d.join("dist/lib/python3.99/site-packages/w.py"), "").unwrap();
        assert_eq!(installed_since(&d, None).unwrap(), None, "an old manifest");
        let (_, packages) = digests(&d).unwrap();
        assert_eq!(
            packages.keys().collect::<Vec<_>>(),
            ["lib/python3.99/site-packages/pip/__init__.py"]
        );
        assert_eq!(installed_since(&d, Some(&packages)).unwrap(), Some(vec![]));
        std::fs::create_dir_all(site.join("numpy")).unwrap();
        std::fs::write(site.join("numpy/__init__.py"), "").unwrap();
        std::fs::write(site.join("six.py"), "").unwrap();
        assert_eq!(
            installed_since(&d, Some(&packages)).unwrap().unwrap(),
            [
                "lib/python3.99/site-packages/numpy/__init__.py",
                "lib/python3.99/site-packages/six.py"
            ]
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
