//! C libraries for extension modules, built per target from pinned crate sources.
//!
//! `recipes/deps/Cargo.lock` pins crates that carry upstream source trees (zlib in `libz-sys`,
//! OpenSSL in `openssl-src`, ...). Cargo fetches and checksums them; this module builds each
//! library as `recipes/deps/<name>.toml` describes, into its own prefix, once per target and
//! input hash. Libraries are always built position-independent, so one build serves every
//! flavor; none of them is on the interpreter's hot path.

use crate::fetch::sha256_bytes;
use crate::progress;
use crate::target::Target;
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dep {
    pub name: String,
    /// The crate in `recipes/deps/Cargo.toml` that carries the source.
    #[serde(rename = "crate")]
    pub krate: String,
    /// Directory of the library's source inside the crate.
    pub source: String,
    /// License files, relative to `source`, shipped with the sysroot.
    pub licenses: Vec<String>,
    /// The `-l` names it provides, in link order.
    pub libs: Vec<String>,
    /// Extra CPython configure flags pointing at this library (`{prefix}` is its prefix).
    #[serde(default)]
    pub configure_args: Vec<String>,
    pub build: Build,
    pub pkgconfig: Option<PkgConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Build {
    /// Compile a list of C files and archive them.
    Cc {
        files: Vec<String>,
        #[serde(default)]
        exclude: Vec<String>,
        #[serde(default)]
        includes: Vec<String>,
        #[serde(default)]
        defines: Vec<String>,
        #[serde(default)]
        flags: Vec<String>,
        /// Headers (files or directories) to install into `include/`.
        headers: Vec<String>,
        /// Extra defines per target name.
        #[serde(default)]
        targets: BTreeMap<String, CcExtra>,
    },
    /// The library's own build system: configure, make, install (run in a build directory).
    Configure {
        configure: Vec<String>,
        make: Vec<String>,
        install: Vec<String>,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CcExtra {
    #[serde(default)]
    pub defines: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PkgConfig {
    pub name: String,
    pub version: String,
    /// What linking the static library also needs (`-lm`): configure's link tests use
    /// `pkg-config --libs`, which leaves out `Libs.private`.
    #[serde(default)]
    pub libs: Vec<String>,
}

/// A built library, ready for configure and for the sysroot.
#[derive(Debug, Clone)]
pub struct Built {
    pub dep: Dep,
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
        let out = cmd
            .output()
            .context("running cargo metadata for the C library sources")?;
        if !out.status.success() {
            bail!(
                "cargo could not fetch the pinned C library sources ({}):\n{}",
                manifest.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
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

    pub fn version_and_checksum(&self, krate: &str) -> Result<(String, String)> {
        let (v, c, _) = self.get(krate)?;
        Ok((v.clone(), c.clone()))
    }

    fn get(&self, krate: &str) -> Result<&(String, String, PathBuf)> {
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
        toml::from_str(
            &fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("parsing {}", path.display()))
    }

    fn checksum(&self, name: &str, version: &str) -> Option<String> {
        self.package
            .iter()
            .find(|p| p.name == name && p.version == version)
            .and_then(|p| p.checksum.clone())
    }
}

pub fn load(deps_dir: &Path, name: &str) -> Result<Dep> {
    let path = deps_dir.join(format!("{name}.toml"));
    let text = fs::read_to_string(&path)
        .with_context(|| format!("reading C library recipe {}", path.display()))?;
    let dep: Dep = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    if dep.name != name {
        bail!("{} declares name {:?}", path.display(), dep.name);
    }
    Ok(dep)
}

/// Everything that makes one target's C libraries: compilers, flags, where to put them.
pub struct Libraries<'a> {
    pub target: &'a Target,
    pub cc: Vec<String>,
    pub ar: Vec<String>,
    pub ranlib: Vec<String>,
    pub cflags: Vec<String>,
    pub jobs: usize,
    /// `<work>/deps/<target>`: one prefix per library below it.
    pub root: PathBuf,
}

/// Builds (or reuses) every library the target lists, in order.
pub fn build_all(ctx: &Libraries, deps_dir: &Path, sources: &Sources) -> Result<Vec<Built>> {
    let mut out = Vec::new();
    for name in &ctx.target.deps {
        let dep = load(deps_dir, name)?;
        let (version, checksum, crate_dir) = sources.get(&dep.krate)?.clone();
        let source_dir = crate_dir.join(&dep.source);
        let recipe_text = fs::read(deps_dir.join(format!("{name}.toml")))?;
        // Everything that changes the library's bytes is in the key.
        let key = sha256_bytes(
            format!(
                "{}\n{checksum}\n{}\n{:?}\n{:?}\n{:?}\n{:?}",
                sha256_bytes(&recipe_text),
                ctx.target.name,
                ctx.cc,
                ctx.ar,
                ctx.cflags,
                ctx.target.vars
            )
            .as_bytes(),
        );
        let prefix = ctx.root.join(format!("{name}-{}", &key[..16]));
        let built = Built {
            dep: dep.clone(),
            prefix: prefix.clone(),
            source_dir: source_dir.clone(),
            version,
            checksum,
        };
        if prefix.join(".complete").is_file() {
            progress::note(format!("{name}: reusing {}", prefix.display()));
        } else {
            let tmp = prefix.with_extension("tmp");
            let _ = fs::remove_dir_all(&tmp);
            fs::create_dir_all(&tmp)?;
            build_one(ctx, &dep, &source_dir, &tmp)
                .with_context(|| format!("building C library {name} for {}", ctx.target.name))?;
            // Prefix-dependent files (pkg-config, libtool archives) must name the final path.
            rewrite_prefix(&tmp, &prefix)?;
            if let Some(pc) = &dep.pkgconfig {
                write_pkgconfig(&tmp, &prefix, pc, &dep.libs)?;
            }
            fs::write(tmp.join(".complete"), &key)?;
            let _ = fs::remove_dir_all(&prefix);
            fs::rename(&tmp, &prefix)?;
        }
        for lib in &dep.libs {
            if !built.archive(lib).is_file() {
                bail!(
                    "C library {name} did not produce {}",
                    built.archive(lib).display()
                );
            }
        }
        out.push(built);
    }
    Ok(out)
}

fn build_one(ctx: &Libraries, dep: &Dep, src: &Path, prefix: &Path) -> Result<()> {
    let work = prefix.with_extension("build");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work)?;
    let log = ctx.root.join("logs").join(format!("{}.log", dep.name));
    let _ = fs::remove_file(&log);
    match &dep.build {
        Build::Cc {
            files,
            exclude,
            includes,
            defines,
            flags,
            headers,
            targets,
        } => {
            let mut args: Vec<String> = ctx.cflags.clone();
            args.push("-fPIC".into());
            args.extend(flags.iter().cloned());
            args.extend(
                includes
                    .iter()
                    .map(|i| format!("-I{}", src.join(i).display())),
            );
            let extra = targets
                .get(&ctx.target.name)
                .map(|t| t.defines.clone())
                .unwrap_or_default();
            args.extend(defines.iter().chain(&extra).map(|d| format!("-D{d}")));
            let sources = expand_files(src, files, exclude)?;
            compile_archive(ctx, dep, &sources, &args, &work, &prefix.join("lib"), &log)?;
            let include = prefix.join("include");
            fs::create_dir_all(&include)?;
            for h in headers {
                let from = src.join(h);
                copy_tree(
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
            let vars = template_vars(ctx, src, prefix);
            for (step, argv) in [
                ("configure", configure),
                ("make", make),
                ("install", install),
            ] {
                let argv = expand(argv, &vars)?;
                let mut cmd = Command::new(&argv[0]);
                cmd.args(&argv[1..]).current_dir(&work);
                cmd.env("CC", ctx.cc.join(" "))
                    .env("AR", ctx.ar.join(" "))
                    .env("RANLIB", ctx.ranlib.join(" "));
                cmd.env("CFLAGS", ctx.cflags.join(" "))
                    .env("SOURCE_DATE_EPOCH", "0");
                // A make jobserver from an outer make would confuse these builds.
                cmd.env_remove("MAKEFLAGS").env_remove("MFLAGS");
                progress::run_logged(&format!("{} {step}", dep.name), &mut cmd, &log)?;
            }
        }
    }
    fs::remove_dir_all(&work)?;
    Ok(())
}

fn template_vars(ctx: &Libraries, src: &Path, prefix: &Path) -> BTreeMap<String, Vec<String>> {
    let mut vars: BTreeMap<String, Vec<String>> = ctx
        .target
        .vars
        .iter()
        .map(|(k, v)| (k.clone(), vec![v.clone()]))
        .collect();
    vars.insert("src".into(), vec![src.display().to_string()]);
    vars.insert("prefix".into(), vec![prefix.display().to_string()]);
    vars.insert("host".into(), vec![ctx.target.host.clone()]);
    vars.insert("jobs".into(), vec![ctx.jobs.to_string()]);
    vars.insert("cflags".into(), ctx.cflags.clone());
    vars
}

/// Substitutes `{name}` in each argument. An argument that is exactly `{name}` of a list
/// variable becomes that many arguments (none for an empty list).
pub fn expand(argv: &[String], vars: &BTreeMap<String, Vec<String>>) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for arg in argv {
        if let Some(name) = arg.strip_prefix('{').and_then(|a| a.strip_suffix('}'))
            && let Some(values) = vars.get(name)
        {
            out.extend(values.iter().cloned());
            continue;
        }
        let mut s = arg.clone();
        for (k, v) in vars {
            s = s.replace(&format!("{{{k}}}"), &v.join(" "));
        }
        if let Some(start) = s.find('{')
            && s[start..].contains('}')
        {
            bail!(
                "unknown variable in {arg:?}; known: {}",
                vars.keys().cloned().collect::<Vec<_>>().join(", ")
            );
        }
        out.push(s);
    }
    Ok(out)
}

/// Expands `dir/*.c` patterns (one `*` in the file name) and drops excluded names.
fn expand_files(src: &Path, files: &[String], exclude: &[String]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for f in files {
        if f.contains('*') {
            let rel = Path::new(f);
            let dir = src.join(rel.parent().unwrap_or(Path::new("")));
            let pattern = rel.file_name().unwrap().to_string_lossy().into_owned();
            let mut found: Vec<PathBuf> = fs::read_dir(&dir)
                .with_context(|| format!("listing {}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file() && glob_match(&pattern, &p.file_name().unwrap().to_string_lossy())
                })
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(src.join(f));
        }
    }
    out.retain(|p| {
        let name = p.file_name().unwrap().to_string_lossy();
        !exclude.iter().any(|x| glob_match(x, &name))
    });
    for p in &out {
        if !p.is_file() {
            bail!("source file {} does not exist", p.display());
        }
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
    ctx: &Libraries,
    dep: &Dep,
    sources: &[PathBuf],
    args: &[String],
    work: &Path,
    lib_dir: &Path,
    log: &Path,
) -> Result<()> {
    progress::note(format!(
        "{}: compiling {} files (log: {})",
        dep.name,
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
                s.file_stem().unwrap().to_string_lossy()
            ))
        })
        .collect();
    let jobs: Vec<(PathBuf, PathBuf)> = sources
        .iter()
        .cloned()
        .zip(objects.iter().cloned())
        .collect();
    let queue = std::sync::Mutex::new(jobs.into_iter());
    let failures = std::sync::Mutex::new(Vec::<String>::new());
    std::thread::scope(|scope| {
        for _ in 0..ctx.jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let Some((src, obj)) = queue.lock().unwrap().next() else {
                        break;
                    };
                    let mut cmd = Command::new(&ctx.cc[0]);
                    cmd.args(&ctx.cc[1..])
                        .args(args)
                        .arg("-c")
                        .arg(&src)
                        .arg("-o")
                        .arg(&obj);
                    match cmd.output() {
                        Ok(o) if o.status.success() => {}
                        Ok(o) => failures.lock().unwrap().push(format!(
                            "$ {}\n{}{}",
                            progress::describe(&cmd),
                            String::from_utf8_lossy(&o.stdout),
                            String::from_utf8_lossy(&o.stderr)
                        )),
                        Err(e) => failures
                            .lock()
                            .unwrap()
                            .push(format!("cannot run {}: {e}", ctx.cc[0])),
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
    let archive = lib_dir.join(format!("lib{}.a", dep.libs[0]));
    let _ = fs::remove_file(&archive);
    let mut ar = Command::new(&ctx.ar[0]);
    ar.args(&ctx.ar[1..])
        .arg("rcD")
        .arg(&archive)
        .args(&objects);
    let out = ar
        .output()
        .with_context(|| format!("running {}", ctx.ar[0]))?;
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            progress::describe(&ar),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Copies a file, or a directory with everything under it, to `to`.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    if from.is_dir() {
        for entry in walkdir::WalkDir::new(from).sort_by_file_name() {
            let entry = entry?;
            let dest = to.join(entry.path().strip_prefix(from)?);
            if entry.file_type().is_dir() {
                fs::create_dir_all(&dest)?;
            } else {
                fs::copy(entry.path(), &dest)
                    .with_context(|| format!("copying {}", entry.path().display()))?;
            }
        }
    } else {
        if let Some(d) = to.parent() {
            fs::create_dir_all(d)?;
        }
        fs::copy(from, to).with_context(|| format!("copying {}", from.display()))?;
    }
    Ok(())
}

/// Installed text files (`.pc`, `.la`) name the temporary prefix; point them at the final one.
fn rewrite_prefix(tmp: &Path, prefix: &Path) -> Result<()> {
    let (from, to) = (tmp.display().to_string(), prefix.display().to_string());
    for entry in walkdir::WalkDir::new(tmp) {
        let entry = entry?;
        let p = entry.path();
        if entry.file_type().is_file() && p.extension().is_some_and(|e| e == "pc" || e == "la") {
            let text = fs::read_to_string(p)?;
            fs::write(p, text.replace(&from, &to))?;
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
        dir.join(format!("{}.pc", pc.name)),
        format!(
            "prefix={}\nName: {}\nDescription: {} (pysysroot)\nVersion: {}\nCflags: -I${{prefix}}/include\nLibs: -L${{prefix}}/lib {}\n",
            prefix.display(),
            pc.name,
            pc.name,
            pc.version,
            libs.join(" ")
        ),
    )?;
    Ok(())
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
    fn expands_templates_and_refuses_unknown_variables() {
        let vars: BTreeMap<String, Vec<String>> = [
            ("prefix".to_string(), vec!["/p".to_string()]),
            (
                "cflags".to_string(),
                vec!["-O2".to_string(), "-g".to_string()],
            ),
            ("empty".to_string(), vec![]),
        ]
        .into();
        let argv: Vec<String> = ["--prefix={prefix}", "{cflags}", "{empty}", "x"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            expand(&argv, &vars).unwrap(),
            ["--prefix=/p", "-O2", "-g", "x"]
        );
        let err = expand(&["{nope}".to_string()], &vars)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variable"), "{err}");
    }

    #[test]
    fn every_library_recipe_parses_and_its_crate_is_pinned() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../recipes/deps");
        let lock = Lockfile::read(&dir.join("Cargo.lock")).unwrap();
        let manifest: toml::Table =
            toml::from_str(&fs::read_to_string(dir.join("Cargo.toml")).unwrap()).unwrap();
        let pinned = manifest["dependencies"].as_table().unwrap();
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml")
                && path.file_name().unwrap() != "Cargo.toml"
            {
                let dep = load(&dir, path.file_stem().unwrap().to_str().unwrap()).unwrap();
                assert!(
                    pinned.contains_key(&dep.krate),
                    "{} uses unpinned crate {}",
                    dep.name,
                    dep.krate
                );
                assert!(
                    lock.package
                        .iter()
                        .any(|p| p.name == dep.krate && p.checksum.is_some()),
                    "{} not locked",
                    dep.krate
                );
                assert!(!dep.libs.is_empty());
            }
        }
    }
}
