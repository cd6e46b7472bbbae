//! Install: assemble the sysroot in a staging directory.
//!
//! `make install` does most of it; then come the pieces an embedder needs that it leaves out:
//! libpython in `lib/`, the build-tree archives `MODLIBS` names (HACL*, libmpdec, expat),
//! the C libraries, an LTO-optimised libpython object, the list of CPython's C API that an
//! embedding executable exports, and licences.

use crate::model::target::Family;
use crate::pipeline::clibs::Built;
use crate::pipeline::compile::{Build, PREFIX, make_var, scrub_env};
use crate::util::{archive, fs, process};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;
use sysroot_manifest::{Flavor, Link};

/// Runs `make install` into `staging`, then flattens the prefix away.
pub fn make_install(b: &Build, staging: &Path) -> Result<()> {
    let mut cmd = Command::new("make");
    cmd.arg("install")
        .arg(format!("DESTDIR={}", staging.display()))
        .current_dir(&b.dir);
    scrub_env(&mut cmd, &b.epoch);
    let log = b.log("6-install");
    process::run_logged("install", &mut cmd, &log)?;
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
        fs::rename(&entry.path(), &staging.join(entry.file_name()))?;
    }
    std::fs::remove_dir(&installed).map_err(|e| fs::io_error(e, "removing", &installed))?;
    let python = format!(
        "python{}{}",
        b.model.recipe.abi(),
        b.model.target.platform.exe_suffix()
    );
    relocatable_scripts(&staging.join("bin"), &python)
}

/// The scripts `make install` writes (pip3, pydoc3...) start with `#!` and the interpreter's
/// build-time path: the prefix, which never exists, or for a cross build the build python's.
/// They are rewritten to run the interpreter beside them, found through the script's own
/// path (python-build-standalone's shell-and-Python polyglot), so they work wherever the
/// sysroot is.
fn relocatable_scripts(bin: &Path, python: &str) -> Result<()> {
    for entry in fs::read_dir(bin)? {
        let path = entry.path();
        if !path.is_file() || path.is_symlink() {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        let names_python = first
            .strip_prefix("#!/")
            .and_then(|p| Path::new(p.trim()).file_name())
            .is_some_and(|n| n.to_string_lossy().starts_with("python"));
        if !names_python {
            continue;
        }
        let polyglot = format!(
            "#!/bin/sh\n\'\'\'exec\' \"$(dirname -- \"$(realpath -- \"$0\")\")/{python}\" \"$0\" \"$@\"\n\' \'\'\'\n"
        );
        fs::write(&path, polyglot + rest)?;
    }
    Ok(())
}

/// Copies libpython, the build-tree archives and the C libraries into `lib/` and returns the
/// link, in the order CPython links its own `python`.
pub fn collect_link(b: &Build, staging: &Path, libs: &[Built]) -> Result<Link> {
    let lib = staging.join("lib");
    let model = b.model;
    let flavor = model.target.flavor(model.flavor);
    let mut inputs = Vec::new();
    let mut shared_library = None;
    if model.flavor == Flavor::Shared {
        let ldlibrary = make_var(&b.dir, "LDLIBRARY")?;
        if !lib.join(&ldlibrary).exists() {
            bail!("make install did not install {ldlibrary}");
        }
        inputs.push(format!("lib/{ldlibrary}"));
        shared_library = Some(format!("lib/{}", make_var(&b.dir, "INSTSONAME")?));
    } else {
        let library = make_var(&b.dir, "LIBRARY")?;
        fs::copy_file(&b.dir.join(&library), &lib.join(&library))?;
        if b.lto {
            let lto = lto_archive_name(&model.recipe.abi());
            lto_object(b, &lib.join(&library), &lib.join(&lto))?;
            inputs.push(format!("lib/{lto}"));
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
    let mut ldflags = flavor.ldflags.clone();
    for tok in tokens {
        if let Some(name) = tok.strip_prefix("-l") {
            if let Some(dep) = libs.iter().find(|d| d.lib.libs.iter().any(|l| l == name)) {
                let file = format!("lib{name}.a");
                fs::copy_file(&dep.archive(name), &lib.join(&file))?;
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
            fs::copy_file(&from, &lib.join(&file))?;
            push_last(&mut inputs, format!("lib/{file}"));
        } else if !tok.starts_with("-L") {
            // Our own -L paths point into the build machine; the archives are copied instead.
            push_last(&mut ldflags, tok);
        }
    }
    for l in &flavor.libs {
        push_last(&mut system_libs, l.clone());
    }
    Ok(Link {
        inputs,
        system_libs,
        ldflags,
        rustflags: flavor.rustflags.clone(),
        exports: None,
        shared_library,
    })
}

/// Name of the LTO-optimised libpython archive (one relocatable object).
pub fn lto_archive_name(abi: &str) -> String {
    format!("libpython{abi}-lto.a")
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
    let flavor = b.model.target.flavor(b.model.flavor);
    if b.model.target.toolchain.family != Family::Gcc {
        bail!(
            "an LTO object needs GCC's -flinker-output; target {} builds with {:?}: set [optimize] lto = false",
            b.model.target.name,
            b.model.target.toolchain.family
        );
    }
    let object = archive.with_extension("o");
    let lto_flags = make_var(&b.dir, "PY_LDFLAGS_NODIST")?;
    let output = flavor
        .lto_link_output
        .map_or("nolto-rel", crate::model::target::LinkOutput::as_gcc);
    let mut cmd = Command::new(&b.cc[0]);
    cmd.args(&b.cc[1..])
        .args(["-r", "-nostdlib"])
        .args(lto_flags.split_whitespace())
        .args(flavor.cflags.iter())
        .args(b.bolt.iter().flat_map(|c| &c.cflags))
        .arg(format!("-flinker-output={output}"))
        .arg("-o")
        .arg(&object)
        .arg("-Wl,--whole-archive")
        .arg(library)
        .arg("-Wl,--no-whole-archive");
    scrub_env(&mut cmd, &b.epoch);
    process::run_logged(
        "LTO: libpython as one optimised object",
        &mut cmd,
        &b.log("7-lto-object"),
    )?;
    let mut ar = Command::new(&b.ar[0]);
    ar.args(&b.ar[1..]).arg("rcD").arg(archive).arg(&object);
    process::run_logged("LTO: archive the object", &mut ar, &b.log("7-lto-object"))?;
    fs::remove_file(&object)
}

/// For a target with a `[cpu]` level: the start-up check (`xtask/c/cpu_check.c`) becomes a
/// member of the first link input, which every embedder links whole, so each executable made
/// from the sysroot refuses a CPU without the level instead of dying of SIGILL.
pub fn cpu_check(b: &Build, staging: &Path, link: &Link, march: &str) -> Result<()> {
    let flavor = b.model.target.flavor(b.model.flavor);
    let source = b.model.layout().root.join("xtask/c/cpu_check.c");
    let object = b.dir.join("pysysroot_cpu_check.o");
    let mut cc = Command::new(&b.cc[0]);
    cc.args(&b.cc[1..])
        .args(&flavor.cflags)
        .args(["-O2", "-c"])
        .arg(format!("-DPYSYSROOT_MARCH=\"{march}\""))
        .arg(&source)
        .arg("-o")
        .arg(&object);
    process::run_logged("CPU check: compile", &mut cc, &b.log("7-cpu-check"))?;
    let mut ar = Command::new(&b.ar[0]);
    ar.args(&b.ar[1..])
        .arg("rD")
        .arg(staging.join(&link.inputs[0]))
        .arg(&object);
    process::run_logged("CPU check: archive", &mut ar, &b.log("7-cpu-check"))
}

/// Writes the list of CPython's C API that an embedding executable exports, as a linker
/// dynamic list, and returns its sysroot-relative path: every global, default-visibility
/// symbol libpython defines, as python3 exports them (`-Xlinker -export-dynamic`) for
/// extension modules, but none of a bundled C library's (`never` holds their prefixes).
pub fn exports_list(staging: &Path, link: &Link, abi: &str, never: &[&str]) -> Result<String> {
    let libpython = staging.join(&link.inputs[0]);
    let mut names: Vec<String> = archive::defined(&libpython)?
        .into_iter()
        .filter(|s| s.exported && !never.iter().any(|p| s.name.starts_with(p)))
        .map(|s| s.name)
        .collect();
    names.sort();
    names.dedup();
    if !names.iter().any(|n| n == "PyExc_SystemError") || names.len() < 500 {
        bail!(
            "{} exports only {} symbols of CPython's C API: the export list would be wrong",
            libpython.display(),
            names.len()
        );
    }
    let rel = format!("lib/python{abi}.exports");
    let mut text = String::from("{\n");
    for n in &names {
        text.push_str(&format!("  {n};\n"));
    }
    text.push_str("};\n");
    fs::write(&staging.join(&rel), text)?;
    Ok(rel)
}

/// Licence texts of CPython and every bundled C library, copied as files only: a licence
/// that is a link into the rest of the machine is refused.
pub fn licenses(b: &Build, staging: &Path, libs: &[Built]) -> Result<()> {
    let dir = staging.join("licenses");
    fs::create_dir_all(&dir.join("cpython"))?;
    copy_regular(&b.src, "LICENSE", &dir.join("cpython/LICENSE"))?;
    for dep in libs {
        let d = dir.join(&dep.lib.name);
        fs::create_dir_all(&d)?;
        for l in &dep.lib.licenses {
            let name = Path::new(l).file_name().context("licence name")?;
            copy_regular(&dep.source_dir, l, &d.join(name))?;
        }
        fs::write(
            &d.join("SOURCE"),
            format!(
                "{} {} from crate {} (sha256 {})\n",
                dep.lib.name, dep.version, dep.lib.krate, dep.checksum
            ),
        )?;
    }
    Ok(())
}

/// Copies `base/rel`, which must be a regular file inside `base` however it is reached: a
/// directory on the way that is a link out of the tree is refused as a link itself is.
fn copy_regular(base: &Path, rel: &str, to: &Path) -> Result<()> {
    let from = base.join(rel);
    let meta = std::fs::symlink_metadata(&from).map_err(|e| fs::io_error(e, "reading", &from))?;
    let real = std::fs::canonicalize(&from).map_err(|e| fs::io_error(e, "resolving", &from))?;
    let real_base = std::fs::canonicalize(base).map_err(|e| fs::io_error(e, "resolving", base))?;
    if !meta.is_file() || !real.starts_with(&real_base) {
        bail!(
            "{} is not a regular file inside {} (a link, or reached through one): refusing to \
             copy it into the sysroot; check the licence paths of the recipe",
            from.display(),
            base.display()
        );
    }
    fs::copy_file(&from, to).map(|_| ())
}

/// `--disable-test-modules` also skips installing the `test` package; the regression subset
/// the isolate runs needs it, so it is copied from the source.
pub fn test_package(b: &Build, stdlib: &Path) -> Result<()> {
    let dest = stdlib.join("test");
    if dest.exists() {
        return Ok(());
    }
    fs::copy_tree(&b.src.join("Lib/test"), &dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_run_the_interpreter_beside_them_wherever_they_are() {
        let d = std::env::temp_dir().join(format!("xtask-scripts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("bin")).unwrap();
        // A stand-in interpreter that reports how it was called.
        std::fs::write(
            d.join("bin/python3.99"),
            "#!/bin/sh\necho \"$(basename \"$1\") $2 $3\"\n",
        )
        .unwrap();
        std::fs::write(
            d.join("bin/pip3"),
            "#!/pysysroot/bin/python3.99\nimport sys\n",
        )
        .unwrap();
        std::fs::write(d.join("bin/other"), "#!/bin/sh\necho untouched\n").unwrap();
        for f in ["python3.99", "pip3", "other"] {
            fs::set_executable(&d.join("bin").join(f)).unwrap();
        }
        relocatable_scripts(&d.join("bin"), "python3.99").unwrap();
        let moved = d.join("moved");
        std::fs::rename(d.join("bin"), &moved).unwrap();
        let out = Command::new(moved.join("pip3"))
            .args(["a", "b"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "pip3 a b\n");
        assert!(
            std::fs::read_to_string(moved.join("pip3"))
                .unwrap()
                .ends_with("import sys\n")
        );
        assert_eq!(
            std::fs::read_to_string(moved.join("other")).unwrap(),
            "#!/bin/sh\necho untouched\n"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// Issue 21, item 2: a licence is copied only from inside its tree, never through a link.
    #[test]
    fn a_licence_is_never_read_through_a_link() {
        let d = std::env::temp_dir().join(format!("xtask-licence-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("src/real")).unwrap();
        std::fs::write(d.join("src/real/LICENSE"), "MIT").unwrap();
        std::fs::write(d.join("outside"), "secret").unwrap();
        std::os::unix::fs::symlink(d.join("outside"), d.join("src/LINK")).unwrap();
        std::os::unix::fs::symlink(&d, d.join("src/up")).unwrap();
        copy_regular(&d.join("src"), "real/LICENSE", &d.join("copy")).unwrap();
        assert_eq!(std::fs::read_to_string(d.join("copy")).unwrap(), "MIT");
        for bad in ["LINK", "up/outside"] {
            let err = copy_regular(&d.join("src"), bad, &d.join("bad"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("refusing"), "{bad}: {err}");
            assert!(!d.join("bad").exists(), "{bad}");
        }
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn push_last_keeps_the_last_position() {
        let mut v = Vec::new();
        for x in ["ssl", "crypto", "z", "crypto"] {
            push_last(&mut v, x.to_string());
        }
        assert_eq!(v, ["ssl", "z", "crypto"]);
    }
}
