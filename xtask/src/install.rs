//! Install: assemble the sysroot in a staging directory.
//!
//! `make install` does most of it; then come the pieces an embedder needs that it leaves out:
//! libpython in `lib/`, the build-tree archives `MODLIBS` names (HACL*, libmpdec, expat),
//! the C libraries, an LTO-optimised libpython object, licences, the PyO3 configuration and
//! the manifest. Publishing (the atomic rename) happens only after `verify` passed.

use crate::compile::{Build, PREFIX, make_var, scrub_env};
use crate::deps::Built;
use crate::progress;
use anyhow::{Context, Result, bail};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use sysroot_manifest::{Flavor, Link};

/// Name of the LTO-optimised libpython archive (one relocatable object).
pub fn lto_archive_name(abi: &str) -> String {
    format!("libpython{abi}-lto.a")
}

/// Runs `make install` into `staging`, then flattens the prefix away.
pub fn make_install(b: &Build, staging: &Path) -> Result<()> {
    let mut cmd = Command::new("make");
    cmd.arg("install")
        .arg(format!("DESTDIR={}", staging.display()))
        .current_dir(&b.dir);
    scrub_env(&mut cmd, &b.epoch);
    let log = b.log("6-install");
    progress::run_logged("install", &mut cmd, &log)?;
    // `install` depends on `all`; if make decided to recompile here, the objects would lack the
    // PGO flags that only the profile-opt stage passes. It never should; prove it.
    let text = fs::read_to_string(&log)?;
    if text
        .lines()
        .any(|l| l.contains(" -c ") && l.contains(".o ") && !l.contains("compileall"))
    {
        bail!(
            "`make install` recompiled objects (see {}): the installed build may not match the optimised one",
            log.display()
        );
    }
    let installed = staging.join(PREFIX.trim_start_matches('/'));
    for entry in fs::read_dir(&installed)? {
        let entry = entry?;
        fs::rename(entry.path(), staging.join(entry.file_name()))?;
    }
    fs::remove_dir(&installed)?;
    Ok(())
}

/// Copies libpython, the build-tree archives and the C libraries into `lib/` and returns the
/// link line, in the order CPython links its own `python`.
pub fn collect_link(b: &Build, staging: &Path, deps: &[Built]) -> Result<Link> {
    let lib = staging.join("lib");
    let abi = b.recipe.abi();
    let mut inputs = Vec::new();
    let mut shared_library = None;
    if b.flavor == Flavor::Shared {
        let ldlibrary = make_var(&b.dir, "LDLIBRARY")?;
        if !lib.join(&ldlibrary).exists() {
            bail!("make install did not install {ldlibrary}");
        }
        inputs.push(format!("lib/{ldlibrary}"));
        shared_library = Some(format!("lib/{}", make_var(&b.dir, "INSTSONAME")?));
    } else {
        let library = make_var(&b.dir, "LIBRARY")?;
        fs::copy(b.dir.join(&library), lib.join(&library))
            .with_context(|| format!("copying {library}"))?;
        if b.lto {
            lto_object(b, &lib.join(&library), &lib.join(lto_archive_name(&abi)))?;
            inputs.push(format!("lib/{}", lto_archive_name(&abi)));
        } else {
            inputs.push(format!("lib/{library}"));
        }
    }

    // MODLIBS: static modules' libraries; LIBS and SYSLIBS: the C runtime.
    let mut tokens = Vec::new();
    for var in ["MODLIBS", "LIBS", "SYSLIBS"] {
        tokens.extend(make_var(&b.dir, var)?.split_whitespace().map(String::from));
    }
    let mut system_libs = Vec::new();
    let mut ldflags = b.target.flavor(b.flavor).ldflags.clone();
    for tok in tokens {
        if let Some(name) = tok.strip_prefix("-l") {
            if let Some(dep) = deps.iter().find(|d| d.dep.libs.iter().any(|l| l == name)) {
                let file = format!("lib{name}.a");
                fs::copy(dep.archive(name), lib.join(&file))?;
                push_last(&mut inputs, format!("lib/{file}"));
            } else {
                push_last(&mut system_libs, name.to_string());
            }
        } else if tok.ends_with(".a") {
            let from = b.dir.join(&tok);
            let file = from
                .file_name()
                .context("archive name")?
                .to_string_lossy()
                .into_owned();
            fs::copy(&from, lib.join(&file))
                .with_context(|| format!("copying build archive {}", from.display()))?;
            push_last(&mut inputs, format!("lib/{file}"));
        } else if tok.starts_with("-L") {
            // Our own -L paths point into the build machine; the archives are copied instead.
        } else {
            push_last(&mut ldflags, tok);
        }
    }
    for l in &b.target.flavor(b.flavor).libs {
        push_last(&mut system_libs, l.clone());
    }
    Ok(Link {
        inputs,
        system_libs,
        ldflags,
        shared_library,
    })
}

/// Keeps one copy of each entry, at its last position: for static archives, a later position
/// still satisfies everything before it.
fn push_last(list: &mut Vec<String>, item: String) {
    list.retain(|x| *x != item);
    list.push(item);
}

/// Link-time optimises all of libpython once, at build time, into one relocatable object.
///
/// CPython's `--with-lto` archive holds fat objects: an embedder linking it without the LTO
/// plugin (rustc's default linker today) silently gets the non-LTO code. Doing the LTO link
/// here, with the same flags as CPython's own `python` link, gives the isolate the code
/// python3 has, and keeps the isolate's own link fast.
fn lto_object(b: &Build, library: &Path, archive: &Path) -> Result<()> {
    let object = archive.with_extension("o");
    let lto_flags = make_var(&b.dir, "PY_LDFLAGS_NODIST")?;
    let flavor = b.target.flavor(b.flavor);
    let output = flavor
        .lto_link_output
        .map_or("nolto-rel", crate::target::LinkOutput::as_gcc);
    let mut cmd = Command::new(&b.cc[0]);
    cmd.args(&b.cc[1..])
        .args(["-r", "-nostdlib"])
        .args(lto_flags.split_whitespace())
        .args(flavor.cflags.iter())
        .arg(format!("-flinker-output={output}"))
        .arg("-o")
        .arg(&object)
        .arg("-Wl,--whole-archive")
        .arg(library)
        .arg("-Wl,--no-whole-archive");
    scrub_env(&mut cmd, &b.epoch);
    progress::run_logged(
        "LTO: libpython as one optimised object",
        &mut cmd,
        &b.log("7-lto-object"),
    )?;
    let mut ar = Command::new(&b.ar[0]);
    ar.args(&b.ar[1..]).arg("rcD").arg(archive).arg(&object);
    progress::run_logged("LTO: archive the object", &mut ar, &b.log("7-lto-object"))?;
    fs::remove_file(&object)?;
    Ok(())
}

/// Licence texts of CPython and every bundled C library.
pub fn licenses(b: &Build, staging: &Path, deps: &[Built]) -> Result<()> {
    let dir = staging.join("licenses");
    fs::create_dir_all(dir.join("cpython"))?;
    fs::copy(b.src.join("LICENSE"), dir.join("cpython/LICENSE"))?;
    for dep in deps {
        let d = dir.join(&dep.dep.name);
        fs::create_dir_all(&d)?;
        for l in &dep.dep.licenses {
            let from = dep.source_dir.join(l);
            fs::copy(&from, d.join(from.file_name().context("licence name")?))
                .with_context(|| format!("copying {}", from.display()))?;
        }
        fs::write(
            d.join("SOURCE"),
            format!(
                "{} {} from crate {} (sha256 {})\n",
                dep.dep.name, dep.version, dep.dep.krate, dep.checksum
            ),
        )?;
    }
    Ok(())
}

/// `--disable-test-modules` also skips installing the `test` package; the regression subset
/// the isolate runs needs it, so it is copied from the source.
pub fn test_package(b: &Build, stdlib: &Path) -> Result<()> {
    let dest = stdlib.join("test");
    if dest.exists() {
        return Ok(());
    }
    for entry in walkdir::WalkDir::new(b.src.join("Lib/test")) {
        let entry = entry?;
        let to = dest.join(entry.path().strip_prefix(b.src.join("Lib/test"))?);
        if entry.file_type().is_dir() {
            fs::create_dir_all(&to)?;
        } else if entry.file_type().is_file() {
            fs::copy(entry.path(), &to)?;
        }
    }
    Ok(())
}

/// The PyO3 build configuration: static libpython, link lines left to the embedder's
/// build script (which takes them from the manifest).
pub fn pyo3_config(b: &Build, final_dir: &Path) -> String {
    let abi = b.recipe.abi();
    let shared = b.flavor == Flavor::Shared;
    format!(
        "implementation=CPython\nversion={abi}\nshared={shared}\nabi3=false\nlib_name=python{abi}\n\
         lib_dir={}\nexecutable={}\npointer_width={}\nbuild_flags=\nsuppress_build_script_link_lines=true\n",
        final_dir.join("lib").display(),
        final_dir.join("bin").join(format!("python{abi}")).display(),
        b.target.pointer_width,
    )
}

/// Where a sysroot for this build is published.
pub fn sysroot_dir(sysroots: &Path, target: &str, version: &str, flavor: Flavor) -> PathBuf {
    let name = match flavor {
        Flavor::Static => version.to_string(),
        other => format!("{version}-{other}"),
    };
    sysroots.join(target).join(name)
}

/// Swaps `staging` in for `final_dir`. The old sysroot, if any, is moved aside first and
/// deleted last, so at every instant `final_dir` is either the old or the new complete tree.
pub fn publish(staging: &Path, final_dir: &Path) -> Result<()> {
    let old = final_dir.with_file_name(format!(
        ".{}.old-{}",
        final_dir.file_name().unwrap().to_string_lossy(),
        std::process::id()
    ));
    if final_dir.exists() {
        fs::rename(final_dir, &old)
            .with_context(|| format!("moving the previous {} aside", final_dir.display()))?;
    }
    fs::rename(staging, final_dir)
        .with_context(|| format!("publishing {}", final_dir.display()))?;
    if old.exists() {
        fs::remove_dir_all(&old)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_last_keeps_the_last_position() {
        let mut v = Vec::new();
        for x in ["ssl", "crypto", "z", "crypto"] {
            push_last(&mut v, x.to_string());
        }
        assert_eq!(v, ["ssl", "z", "crypto"]);
    }

    #[test]
    fn publish_replaces_atomically() {
        let d = std::env::temp_dir().join(format!("xtask-publish-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(d.join("final")).unwrap();
        fs::write(d.join("final/old"), "old").unwrap();
        fs::create_dir_all(d.join("staging")).unwrap();
        fs::write(d.join("staging/new"), "new").unwrap();
        publish(&d.join("staging"), &d.join("final")).unwrap();
        assert!(
            d.join("final/new").is_file()
                && !d.join("final/old").exists()
                && !d.join("staging").exists()
        );
        let leftovers: Vec<_> = fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, ["final"]);
        fs::remove_dir_all(&d).unwrap();
    }
}
