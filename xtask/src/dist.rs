//! `dist`: validate every artifact of a sysroot and its isolate, then pack one deterministic
//! archive per sysroot, plus `SHA256SUMS`.
//!
//! Deterministic: entries sorted, owner 0/0, modes normalised, every mtime
//! `SOURCE_DATE_EPOCH` (default 1980-01-01), gzip without name or time. Two things in a
//! sysroot are not a function of its inputs and are normalised in the archive: the build's wall
//! times in `manifest.json` (zeroed; they stay in the build logs, which are not packed) and
//! the sysroot's absolute path in `pyo3-config.txt` (written as `@SYSROOT@`: substitute where
//! the archive is unpacked).

use crate::fetch::sha256_file;
use crate::isolate;
use crate::progress::note;
use crate::target::Target;
use crate::{Ctx, verify};
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use sysroot_manifest::{Flavor, Manifest};

pub struct Options {
    pub targets: Vec<String>,
    pub python: Option<String>,
    pub out: PathBuf,
}

const DEFAULT_EPOCH: u64 = 315_532_800; // 1980-01-01, the earliest time zip can store

pub fn run(ctx: &Ctx, opts: &Options) -> Result<()> {
    let sysroots = built_sysroots(ctx, opts)?;
    fs::create_dir_all(&opts.out)?;
    let epoch = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds"))?,
        Err(_) => DEFAULT_EPOCH,
    };
    let mut sums = BTreeMap::new();
    for dir in sysroots {
        let built = isolate::build(ctx, &dir)?;
        let report = validate(ctx, &built)?;
        let name = format!(
            "pysysroot-{}-{}.tar.gz",
            built.manifest.python.version, built.manifest.target.name
        );
        let path = opts.out.join(&name);
        pack(&built, &report, &path, epoch)?;
        let digest = sha256_file(&path)?;
        note(format!("{name}: sha256 {digest}"));
        sums.insert(name, digest);
    }
    // Keep the sums of archives made earlier for other targets.
    let sums_path = opts.out.join("SHA256SUMS");
    if let Ok(old) = fs::read_to_string(&sums_path) {
        for line in old.lines() {
            if let Some((digest, file)) = line.split_once("  ")
                && !sums.contains_key(file)
                && opts.out.join(file).is_file()
            {
                sums.insert(file.to_string(), digest.to_string());
            }
        }
    }
    let text: String = sums.iter().map(|(f, d)| format!("{d}  {f}\n")).collect();
    fs::write(&sums_path, text)?;
    println!(
        "wrote {} (check with: cd {} && sha256sum -c SHA256SUMS)",
        sums_path.display(),
        opts.out.display()
    );
    Ok(())
}

/// The static sysroots to pack: those of the named targets, or every one built.
fn built_sysroots(ctx: &Ctx, opts: &Options) -> Result<Vec<PathBuf>> {
    let recipe = crate::recipe::select(&ctx.root.join("recipes"), opts.python.as_deref())?.0;
    let mut names = opts.targets.clone();
    if names.is_empty() {
        names = crate::target::load_all(&ctx.root.join("sysroots"))?
            .into_iter()
            .map(|(t, _)| t.name)
            .collect();
        names.retain(|t| {
            Manifest::load(&crate::install::sysroot_dir(
                &ctx.sysroots,
                t,
                &recipe.version,
                Flavor::Static,
            ))
            .is_ok()
        });
    }
    let mut out = Vec::new();
    for name in names {
        let (target, _) = crate::target::select(&ctx.root.join("sysroots"), &name)?;
        let dir = crate::install::sysroot_dir(
            &ctx.sysroots,
            &target.name,
            &recipe.version,
            Flavor::Static,
        );
        if Manifest::load(&dir).is_err() {
            bail!(
                "no {} sysroot for CPython {} at {}: build it first (cargo xtask build-python --target {} --python {})",
                target.name,
                recipe.version,
                dir.display(),
                target.name,
                recipe.version
            );
        }
        out.push(dir);
    }
    if out.is_empty() {
        bail!(
            "no sysroot for CPython {} is built: run cargo xtask build-python first",
            recipe.version
        );
    }
    Ok(out)
}

/// What validation found, recorded in the archive as `dist.json`.
#[derive(serde::Serialize)]
struct Report {
    /// Per executable: the highest `GLIBC_x.y` symbol version it needs.
    glibc: BTreeMap<String, String>,
    /// Per executable: its `DT_NEEDED` entries (ELF) or import modules (WASI).
    needs: BTreeMap<String, Vec<String>>,
}

/// python-build-standalone's checks, for every executable that ships.
fn validate(ctx: &Ctx, b: &isolate::Built) -> Result<Report> {
    let m = &b.manifest;
    let mut report = Report {
        glibc: BTreeMap::new(),
        needs: BTreeMap::new(),
    };
    let exes = [
        m.paths.python.clone(),
        rel(&b.sysroot, &b.exe),
        rel(&b.sysroot, &b.standalone),
    ];
    if m.target.rust_triple.starts_with("wasm") {
        for exe in &exes {
            let imports = wasm_imports(ctx, &b.target, &b.sysroot.join(exe))?;
            if let Some(bad) = imports.iter().find(|i| *i != "wasi_snapshot_preview1") {
                bail!(
                    "{exe} imports from {bad:?}: an undefined symbol became an import (only WASI is provided at run time)"
                );
            }
            report.needs.insert(exe.clone(), imports);
        }
    } else {
        let baseline = b
            .target
            .glibc_baseline
            .as_deref()
            .context("the target defines no glibc_baseline")?;
        for exe in &exes {
            let path = b.sysroot.join(exe);
            verify::check_needed(&path, m.link.shared_library_name().as_slice())?;
            report.needs.insert(exe.clone(), verify::needed(&path)?);
            let glibc = max_glibc(&path)?;
            if version_key(&glibc) > version_key(baseline) {
                bail!(
                    "{exe} needs GLIBC_{glibc}, newer than the target's baseline {baseline} (sysroots/{}.toml)",
                    b.target.name
                );
            }
            check_stack(&path)?;
            report.glibc.insert(exe.clone(), glibc);
        }
        // The isolate exports nothing of its C libraries (python3 exports its symbols on
        // purpose, for extension modules, like CPython's own).
        for exe in &exes[1..] {
            let exported = exported_symbols(&b.sysroot.join(exe))?;
            if let Some(s) = exported
                .iter()
                .find(|s| DEPENDENCY_PREFIXES.iter().any(|p| s.starts_with(p)))
            {
                bail!("{exe} exports {s}, a symbol of a bundled C library");
            }
        }
    }
    let licenses = b.sysroot.join("licenses");
    if !licenses.join("cpython/LICENSE").is_file() {
        bail!("{} lacks CPython's licence", licenses.display());
    }
    match &b.target.glibc_baseline {
        Some(base) => println!(
            "  validated {}: C runtime only, stack not executable, glibc <= {base}, no bundled library's symbols exported, licences present",
            m.target.name
        ),
        None => println!(
            "  validated {}: imports only wasi_snapshot_preview1, licences present",
            m.target.name
        ),
    }
    Ok(report)
}

/// Symbol prefixes of the C libraries bundled into the isolate.
const DEPENDENCY_PREFIXES: &[&str] = &[
    "SSL_", "CRYPTO_", "EVP_", "OPENSSL_", "sqlite3_", "lzma_", "BZ2_", "ffi_", "deflate",
    "inflate", "XML_", "mpd_",
];

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

fn readelf(args: &[&str], elf: &Path) -> Result<String> {
    let out = Command::new("readelf")
        .args(args)
        .arg(elf)
        .output()
        .context("running readelf (binutils)")?;
    if !out.status.success() {
        bail!(
            "readelf {} {} failed: {}",
            args.join(" "),
            elf.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn version_key(v: &str) -> Vec<u32> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// The highest `GLIBC_x.y` version among the symbols `elf` imports.
fn max_glibc(elf: &Path) -> Result<String> {
    let text = readelf(&["--dyn-syms", "-W"], elf)?;
    let best = text
        .split(|c: char| c.is_whitespace() || c == '@' || c == '(' || c == ')')
        .filter_map(|w| w.strip_prefix("GLIBC_"))
        .filter(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .max_by_key(|v| version_key(v));
    Ok(best.unwrap_or("none").to_string())
}

/// `PT_GNU_STACK` must be present and not executable.
fn check_stack(elf: &Path) -> Result<()> {
    let text = readelf(&["-lW"], elf)?;
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("GNU_STACK"))
        .with_context(|| {
            format!(
                "{} has no GNU_STACK header: its stack would be executable",
                elf.display()
            )
        })?;
    if line
        .split_whitespace()
        .any(|w| w.contains('E') && w.chars().all(|c| "RWE".contains(c)))
    {
        bail!("{} has an executable stack: {line}", elf.display());
    }
    Ok(())
}

/// Symbols `elf` defines in its dynamic symbol table.
fn exported_symbols(elf: &Path) -> Result<Vec<String>> {
    let text = readelf(&["--dyn-syms", "-W"], elf)?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // Num: Value Size Type Bind Vis Ndx Name
            (f.len() >= 8 && f[6] != "UND" && f[0].ends_with(':'))
                .then(|| f[7].split('@').next().unwrap_or(f[7]).to_string())
        })
        .collect())
}

/// The modules a WASI program imports from, read by the pinned wasmtime.
fn wasm_imports(ctx: &Ctx, target: &Target, wasm: &Path) -> Result<Vec<String>> {
    let tools = crate::tools::Tools::provision(ctx, target)?;
    let venv = tools
        .venv
        .context("the WASI target has no tool environment")?;
    let out = Command::new(venv.join("bin/python"))
        .args(["-c", "import sys, wasmtime; m = wasmtime.Module.from_file(wasmtime.Engine(), sys.argv[1]); print('\\n'.join(sorted({i.module for i in m.imports})))"])
        .arg(wasm)
        .output()?;
    if !out.status.success() {
        bail!(
            "reading the imports of {}: {}",
            wasm.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect())
}

/// Writes the archive: the sysroot (without build logs) under `pysysroot-<version>-<target>/`.
fn pack(b: &isolate::Built, report: &Report, path: &Path, epoch: u64) -> Result<()> {
    let m = &b.manifest;
    let top = format!("pysysroot-{}-{}", m.python.version, m.target.name);
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for entry in walkdir::WalkDir::new(&b.sysroot).sort_by_file_name() {
        let entry = entry?;
        let r = rel(&b.sysroot, entry.path());
        if r.is_empty() || r == "logs" || r.starts_with("logs/") {
            continue;
        }
        files.push((r, entry.path().to_path_buf()));
    }
    let tmp = path.with_extension("gz.part");
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(fs::File::create(&tmp)?, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    let header = |size: u64, mode: u32, kind: tar::EntryType| {
        let mut h = tar::Header::new_gnu();
        h.set_size(size);
        h.set_mode(mode);
        h.set_entry_type(kind);
        h.set_mtime(epoch);
        h.set_uid(0);
        h.set_gid(0);
        h
    };
    let sysroot_path = b.sysroot.display().to_string();
    for (r, p) in &files {
        let name = format!("{top}/{r}");
        let meta = fs::symlink_metadata(p)?;
        if meta.is_dir() {
            let mut h = header(0, 0o755, tar::EntryType::Directory);
            tar.append_data(&mut h, format!("{name}/"), std::io::empty())?;
        } else if meta.file_type().is_symlink() {
            let mut h = header(0, 0o777, tar::EntryType::Symlink);
            tar.append_link(&mut h, &name, fs::read_link(p)?)?;
        } else {
            use std::os::unix::fs::PermissionsExt;
            let mode = if meta.permissions().mode() & 0o111 != 0 {
                0o755
            } else {
                0o644
            };
            let data = match r.as_str() {
                // As written, not `b.manifest`, whose runner names this machine's tools.
                "manifest.json" => {
                    normalised_manifest(&Manifest::load(&b.sysroot)?.0)?.into_bytes()
                }
                "pyo3-config.txt" => fs::read_to_string(p)?
                    .replace(&sysroot_path, "@SYSROOT@")
                    .into_bytes(),
                _ => fs::read(p)?,
            };
            let mut h = header(data.len() as u64, mode, tar::EntryType::Regular);
            tar.append_data(&mut h, &name, data.as_slice())?;
        }
    }
    let dist = serde_json::to_string_pretty(report)? + "\n";
    let mut h = header(dist.len() as u64, 0o644, tar::EntryType::Regular);
    tar.append_data(&mut h, format!("{top}/dist.json"), dist.as_bytes())?;
    tar.into_inner()?.finish()?.sync_all()?;
    fs::rename(&tmp, path)?;
    Ok(())
}

/// The manifest without what differs between two builds of the same inputs: wall times.
fn normalised_manifest(m: &Manifest) -> Result<String> {
    let mut m = m.clone();
    m.build.seconds = 0.0;
    if let Some(p) = m.build.profile.as_mut() {
        p.seconds = 0.0;
    }
    Ok(m.to_json())
}

/// `cargo xtask reproduce`: two clean builds of the sysroot without PGO (same inputs, same
/// place, apart from the user's sysroots), each packed: the archives' sha256 must be equal;
/// if not, the files that differ are named.
pub fn reproduce(ctx: &Ctx, target: &str, python: Option<&str>) -> Result<()> {
    let ctx = &Ctx {
        sysroots: ctx.work_dir().join("reproduce/sysroots"),
        ..ctx.clone()
    };
    let build_and_pack = |name: &str| -> Result<(PathBuf, String)> {
        // Without PGO: a profile records what the profile run happened to do.
        let o = crate::sysroot::Options {
            target: target.to_string(),
            python: python.map(String::from),
            flavor: Flavor::Static,
            pgo: false,
            lto: true,
            force: true,
            dry_run: false,
        };
        crate::sysroot::build_python(ctx, &o)?;
        let out = ctx.work_dir().join("reproduce").join(name);
        let _ = fs::remove_dir_all(&out);
        run(
            ctx,
            &Options {
                targets: vec![target.to_string()],
                python: python.map(String::from),
                out: out.clone(),
            },
        )?;
        let sums = fs::read_to_string(out.join("SHA256SUMS"))?;
        let (digest, file) = sums
            .lines()
            .next()
            .and_then(|l| l.split_once("  "))
            .context("empty SHA256SUMS")?;
        Ok((out.join(file), digest.to_string()))
    };
    let (first, a) = build_and_pack("dist-first")?;
    let (second, b) = build_and_pack("dist-second")?;
    if a == b {
        println!("  two clean builds: identical archives, sha256 {a}");
        return Ok(());
    }
    let (x, y) = (archive_digests(&first)?, archive_digests(&second)?);
    let differ: Vec<&String> = x
        .keys()
        .chain(y.keys())
        .filter(|k| x.get(*k) != y.get(*k))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    bail!(
        "two clean builds gave different archives ({a} vs {b}); {} entries differ: {:?}",
        differ.len(),
        differ.iter().take(20).collect::<Vec<_>>()
    )
}

/// Path -> sha256 of every file in a .tar.gz.
fn archive_digests(path: &Path) -> Result<std::collections::BTreeMap<String, String>> {
    use std::io::Read;
    let mut out = std::collections::BTreeMap::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(fs::File::open(path)?));
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.display().to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data)?;
        out.insert(name, crate::fetch::sha256_bytes(&data));
    }
    Ok(out)
}
