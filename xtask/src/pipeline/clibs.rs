//! C libraries for extension modules, built per target from pinned crate sources.
//!
//! Cargo fetches and checksums the crates `recipes/deps/Cargo.lock` pins; this step builds
//! each library as its recipe describes, into its own prefix, once per target and input hash.
//! Libraries are always built position-independent, so one build serves every flavor; none
//! of them is on the interpreter's hot path.

use crate::model::Model;
use crate::model::library::{Build, Library, PkgConfig};
use crate::util::hash::sha256_bytes;
use crate::util::template::{self, Vars};
use crate::util::{fs, process, progress};
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A built library, ready for configure and for the sysroot.
#[derive(Debug, Clone)]
pub struct Built {
    pub lib: Library,
    pub prefix: PathBuf,
    pub source_dir: PathBuf,
    pub version: String,
    pub checksum: String,
}

impl Built {
    pub fn archive(&self, lib: &str) -> PathBuf {
        self.prefix.join("lib").join(format!("lib{lib}.a"))
    }
}

/// Source crates as cargo resolved them: name -> (version, checksum, directory).
pub struct Sources(BTreeMap<String, (String, String, PathBuf)>);

impl Sources {
    /// Asks cargo for the pinned crates (downloading them if needed, verifying checksums).
    pub fn resolve(deps_dir: &Path, offline: bool) -> Result<Sources> {
        let manifest = deps_dir.join("Cargo.toml");
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--manifest-path",
        ])
        .arg(&manifest);
        if offline {
            cmd.arg("--offline");
        }
        let out = process::output(&mut cmd).with_context(|| {
            format!(
                "cargo could not fetch the pinned C library sources of {}",
                manifest.display()
            )
        })?;
        #[derive(Deserialize)]
        struct Meta {
            packages: Vec<Package>,
        }
        #[derive(Deserialize)]
        struct Package {
            name: String,
            version: String,
            manifest_path: PathBuf,
        }
        let meta: Meta = serde_json::from_slice(&out.stdout)?;
        let lock = Lockfile::read(&deps_dir.join("Cargo.lock"))?;
        let mut map = BTreeMap::new();
        for p in meta.packages {
            if let Some(sum) = lock.checksum(&p.name, &p.version) {
                let dir = p
                    .manifest_path
                    .parent()
                    .context("crate without a directory")?
                    .to_path_buf();
                map.insert(p.name, (p.version, sum, dir));
            }
        }
        Ok(Sources(map))
    }

    pub fn get(&self, krate: &str) -> Result<&(String, String, PathBuf)> {
        self.0
            .get(krate)
            .with_context(|| format!("crate {krate} is not pinned in recipes/deps/Cargo.toml"))
    }
}

#[derive(Deserialize)]
struct Lockfile {
    package: Vec<LockedPackage>,
}

#[derive(Deserialize)]
struct LockedPackage {
    name: String,
    version: String,
    checksum: Option<String>,
}

impl Lockfile {
    fn read(path: &Path) -> Result<Lockfile> {
        toml::from_str(&fs::read_to_string(path)?)
            .with_context(|| format!("parsing {}", path.display()))
    }

    fn checksum(&self, name: &str, version: &str) -> Option<String> {
        self.package
            .iter()
            .find(|p| p.name == name && p.version == version)
            .and_then(|p| p.checksum.clone())
    }
}

/// Everything that makes one target's C libraries: compilers, flags, where to put them.
pub struct Toolchain {
    pub cc: Vec<String>,
    pub ar: Vec<String>,
    pub ranlib: Vec<String>,
    pub cflags: Vec<String>,
    pub jobs: usize,
    /// `<work>/deps/<target>`: one prefix per library below it.
    pub root: PathBuf,
}

/// Builds (or reuses) every library the target lists, in order.
pub fn build_all(model: &Model, tc: &Toolchain, sources: &Sources) -> Result<Vec<Built>> {
    let mut out = Vec::new();
    for lib in model.libraries() {
        let (version, checksum, crate_dir) = sources.get(&lib.krate)?.clone();
        // Everything that changes the library's bytes is in the key.
        let key = sha256_bytes(
            format!(
                "{}\n{checksum}\n{}\n{:?}\n{:?}\n{:?}\n{:?}",
                lib.digest, model.target.name, tc.cc, tc.ar, tc.cflags, model.target.vars
            )
            .as_bytes(),
        );
        let prefix = tc.root.join(format!("{}-{}", lib.name, &key[..16]));
        let built = Built {
            lib: lib.clone(),
            prefix: prefix.clone(),
            source_dir: crate_dir.join(&lib.source),
            version,
            checksum,
        };
        if prefix.join(".complete").is_file() {
            progress::note(format!("{}: reusing {}", lib.name, prefix.display()));
        } else {
            let tmp = prefix.with_extension("tmp");
            fs::remove_dir_all(&tmp)?;
            fs::create_dir_all(&tmp)?;
            build_one(model, tc, lib, &built.source_dir, &tmp).with_context(|| {
                format!("building C library {} for {}", lib.name, model.target.name)
            })?;
            // Prefix-dependent files (pkg-config, libtool archives) must name the final path.
            rewrite_prefix(&tmp, &prefix)?;
            if let Some(pc) = &lib.pkgconfig {
                write_pkgconfig(&tmp, &prefix, pc, &lib.libs)?;
            }
            fs::write(&tmp.join(".complete"), &key)?;
            fs::remove_dir_all(&prefix)?;
            fs::rename(&tmp, &prefix)?;
        }
        for name in &lib.libs {
            if !built.archive(name).is_file() {
                bail!(
                    "C library {} did not produce {}",
                    lib.name,
                    built.archive(name).display()
                );
            }
        }
        out.push(built);
    }
    Ok(out)
}

fn build_one(
    model: &Model,
    tc: &Toolchain,
    lib: &Library,
    src: &Path,
    prefix: &Path,
) -> Result<()> {
    let work = prefix.with_extension("build");
    fs::remove_dir_all(&work)?;
    fs::create_dir_all(&work)?;
    let log = tc.root.join("logs").join(format!("{}.log", lib.name));
    fs::remove_file(&log)?;
    match &lib.build {
        Build::Cc {
            files,
            exclude,
            includes,
            defines,
            flags,
            headers,
            targets,
        } => {
            let mut args: Vec<String> = tc.cflags.clone();
            args.push("-fPIC".into());
            args.extend(flags.iter().cloned());
            args.extend(
                includes
                    .iter()
                    .map(|i| format!("-I{}", src.join(i).display())),
            );
            let extra = targets
                .get(&model.target.name)
                .map(|t| t.defines.clone())
                .unwrap_or_default();
            args.extend(defines.iter().chain(&extra).map(|d| format!("-D{d}")));
            let sources = expand_files(src, files, exclude)?;
            compile_archive(tc, lib, &sources, &args, &work, &prefix.join("lib"), &log)?;
            let include = prefix.join("include");
            fs::create_dir_all(&include)?;
            for h in headers {
                crate::model::check_relative(h, "header")?;
                let from = src.join(h);
                fs::copy_tree(
                    &from,
                    &include.join(from.file_name().context("header path")?),
                )?;
            }
        }
        Build::Configure {
            configure,
            make,
            install,
        } => {
            let vars = template_vars(model, tc, src, prefix);
            for (step, argv) in [
                ("configure", configure),
                ("make", make),
                ("install", install),
            ] {
                let argv = template::expand(argv, &vars)?;
                let mut cmd = Command::new(&argv[0]);
                cmd.args(&argv[1..]).current_dir(&work);
                cmd.env("CC", tc.cc.join(" "))
                    .env("AR", tc.ar.join(" "))
                    .env("RANLIB", tc.ranlib.join(" "))
                    .env("CFLAGS", tc.cflags.join(" "))
                    .env("SOURCE_DATE_EPOCH", "0");
                // A make jobserver from an outer make would confuse these builds.
                cmd.env_remove("MAKEFLAGS").env_remove("MFLAGS");
                process::run_logged(&format!("{} {step}", lib.name), &mut cmd, &log)?;
            }
        }
    }
    fs::remove_dir_all(&work)
}

fn template_vars(model: &Model, tc: &Toolchain, src: &Path, prefix: &Path) -> Vars {
    let mut vars: Vars = model
        .target
        .vars
        .iter()
        .map(|(k, v)| (k.clone(), vec![v.clone()]))
        .collect();
    vars.extend(template::vars([
        ("src", src.display().to_string()),
        ("prefix", prefix.display().to_string()),
        ("host", model.target.host.clone()),
        ("jobs", tc.jobs.to_string()),
    ]));
    vars.insert("cflags".into(), tc.cflags.clone());
    vars
}

/// Expands `dir/*.c` patterns (one `*` in the file name) and drops excluded names.
fn expand_files(src: &Path, files: &[String], exclude: &[String]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for f in files {
        crate::model::check_relative(f, "source file")?;
        if f.contains('*') {
            let rel = Path::new(f);
            let dir = src.join(rel.parent().unwrap_or(Path::new("")));
            let pattern = rel
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map_err(|e| fs::io_error(e, "listing", &dir))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && glob_match(
                            &pattern,
                            &p.file_name().unwrap_or_default().to_string_lossy(),
                        )
                })
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(src.join(f));
        }
    }
    out.retain(|p| {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        !exclude.iter().any(|x| glob_match(x, &name))
    });
    if let Some(p) = out.iter().find(|p| !p.is_file()) {
        bail!("source file {} does not exist", p.display());
    }
    Ok(out)
}

/// `*` matches any run of characters; nothing else is special.
fn glob_match(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            name.len() >= head.len() + tail.len() && name.starts_with(head) && {
                let rest = &name[head.len()..];
                (0..=rest.len()).any(|i| rest.is_char_boundary(i) && glob_match(tail, &rest[i..]))
            }
        }
    }
}

/// Compiles `sources` in parallel and archives the objects (in sorted, stable order).
fn compile_archive(
    tc: &Toolchain,
    lib: &Library,
    sources: &[PathBuf],
    args: &[String],
    work: &Path,
    lib_dir: &Path,
    log: &Path,
) -> Result<()> {
    progress::note(format!(
        "{}: compiling {} files (log: {})",
        lib.name,
        sources.len(),
        log.display()
    ));
    fs::create_dir_all(lib_dir)?;
    if let Some(d) = log.parent() {
        fs::create_dir_all(d)?;
    }
    let objects: Vec<PathBuf> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| {
            work.join(format!(
                "{i:04}-{}.o",
                s.file_stem().unwrap_or_default().to_string_lossy()
            ))
        })
        .collect();
    let queue = std::sync::Mutex::new(sources.iter().zip(objects.iter()));
    let failures = std::sync::Mutex::new(Vec::<String>::new());
    std::thread::scope(|scope| {
        for _ in 0..tc.jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let Some((src, obj)) = queue.lock().unwrap().next() else {
                        break;
                    };
                    let mut cmd = Command::new(&tc.cc[0]);
                    cmd.args(&tc.cc[1..])
                        .args(args)
                        .arg("-c")
                        .arg(src)
                        .arg("-o")
                        .arg(obj);
                    if let Err(e) = process::output(&mut cmd) {
                        failures.lock().unwrap().push(format!("{e:#}"));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    if !failures.is_empty() {
        fs::write(log, failures.join("\n"))?;
        bail!(
            "{} of {} files failed to compile; first failure:\n{}\n(all failures: {})",
            failures.len(),
            sources.len(),
            failures[0],
            log.display()
        );
    }
    let archive = lib_dir.join(format!("lib{}.a", lib.libs[0]));
    fs::remove_file(&archive)?;
    process::output(
        Command::new(&tc.ar[0])
            .args(&tc.ar[1..])
            .arg("rcD")
            .arg(&archive)
            .args(&objects),
    )?;
    Ok(())
}

/// Installed text files (`.pc`, `.la`) name the temporary prefix; point them at the final one.
fn rewrite_prefix(tmp: &Path, prefix: &Path) -> Result<()> {
    let (from, to) = (tmp.display().to_string(), prefix.display().to_string());
    for entry in walkdir::WalkDir::new(tmp) {
        let entry = entry?;
        let p = entry.path();
        if entry.file_type().is_file() && p.extension().is_some_and(|e| e == "pc" || e == "la") {
            fs::write(p, fs::read_to_string(p)?.replace(&from, &to))?;
        }
    }
    Ok(())
}

fn write_pkgconfig(tmp: &Path, prefix: &Path, pc: &PkgConfig, libs: &[String]) -> Result<()> {
    let dir = tmp.join("lib/pkgconfig");
    fs::create_dir_all(&dir)?;
    let libs: Vec<String> = libs
        .iter()
        .map(|l| format!("-l{l}"))
        .chain(pc.libs.iter().cloned())
        .collect();
    fs::write(
        &dir.join(format!("{}.pc", pc.name)),
        format!(
            "prefix={}\nName: {}\nDescription: {} (pysysroot)\nVersion: {}\nCflags: -I${{prefix}}/include\nLibs: -L${{prefix}}/lib {}\n",
            prefix.display(),
            pc.name,
            pc.name,
            pc.version,
            libs.join(" ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*.c", "a.c"));
        assert!(glob_match("*mt.c", "stream_encoder_mt.c"));
        assert!(!glob_match("*mt.c", "stream_encoder.c"));
        assert!(glob_match("crc32_small.c", "crc32_small.c"));
        assert!(!glob_match("*.c", "a.h"));
    }

    #[test]
    fn every_library_recipe_names_a_locked_crate() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../recipes/deps");
        let lock = Lockfile::read(&dir.join("Cargo.lock")).unwrap();
        let manifest: toml::Table =
            toml::from_str(&std::fs::read_to_string(dir.join("Cargo.toml")).unwrap()).unwrap();
        let pinned = manifest["dependencies"].as_table().unwrap();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml")
                && path.file_name().unwrap() != "Cargo.toml"
            {
                let lib = Library::parse(&path, &std::fs::read_to_string(&path).unwrap()).unwrap();
                assert!(
                    pinned.contains_key(&lib.krate),
                    "{} uses unpinned crate {}",
                    lib.name,
                    lib.krate
                );
                assert!(
                    lock.package
                        .iter()
                        .any(|p| p.name == lib.krate && p.checksum.is_some()),
                    "{} not locked",
                    lib.krate
                );
            }
        }
    }
}
