//! `dist`: validate every executable of a sysroot and its isolate against the target's
//! policy, then pack one deterministic archive per sysroot, plus `SHA256SUMS`.
//!
//! Deterministic: entries sorted, owner 0/0, modes normalised, every mtime
//! `SOURCE_DATE_EPOCH` (default 1980-01-01), gzip without name or time. Two things in a
//! sysroot are not a function of its inputs and are normalised in the archive: the build's
//! wall times in `manifest.json` (zeroed; they stay in the build logs, which are not packed)
//! and the sysroot's absolute path in `pyo3-config.txt` (written as `@SYSROOT@`: substitute
//! where the archive is unpacked).

use crate::checks::binary;
use crate::commands::built;
use crate::model::sysroot::Sysroot;
use crate::model::tools::Install;
use crate::model::{Catalog, Model, Settings};
use crate::pipeline::{link, record, substitute};
use crate::util::hash::sha256_file;
use crate::util::store::Store;
use crate::util::{fs, progress, sign};
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use sysroot_manifest::{Flavor, Manifest};

#[derive(clap::Args)]
pub struct Args {
    /// Targets to pack (repeatable) [default: every built one].
    #[arg(long)]
    pub target: Vec<String>,
    #[arg(long = "python", value_name = "VERSION")]
    pub python: Option<String>,
    /// Output directory [default: target/dist].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Sign each archive for binary caches with this secret key (`cargo xtask keygen`),
    /// writing `<archive>.narinfo` beside it.
    #[arg(long, value_name = "KEY_FILE")]
    pub sign: Option<PathBuf>,
    /// Upload each signed archive to this binary cache under its build key (file:///dir, a
    /// directory, http(s)://host/path accepting PUT, or s3://bucket/path with the AWS_*
    /// settings); a key already there is left alone.
    #[arg(long, value_name = "URL", requires = "sign")]
    pub push: Option<String>,
}

const DEFAULT_EPOCH: u64 = 315_532_800; // 1980-01-01, the earliest time zip can store

pub fn run(settings: &Settings, args: &Args) -> Result<()> {
    let catalog = Catalog::load(&settings.layout)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| settings.layout.root.join("target/dist"));
    let models = if args.target.is_empty() {
        built(&catalog, settings, args.python.as_deref(), Flavor::Static)?
    } else {
        args.target
            .iter()
            .map(|t| {
                catalog.resolve(
                    settings,
                    t,
                    args.python.as_deref(),
                    Flavor::Static,
                    Install::Yes,
                )
            })
            .collect::<Result<Vec<_>>>()?
    };
    if models.is_empty() {
        bail!(
            "no sysroot is built in {}: run cargo xtask build-python first (or pass the \
             --sysroots-dir they were built in)",
            settings.layout.sysroots.display()
        );
    }
    // Read before the long packing, so a wrong path fails at once.
    let key = args.sign.as_deref().map(sign::secret_key).transpose()?;
    let store = args.push.as_deref().map(Store::parse).transpose()?;
    let archives = pack_all(&models, &out)?;
    let Some(key) = key else { return Ok(()) };
    for (model, archive) in models.iter().zip(&archives) {
        let sysroot = Sysroot::open(model)?;
        let narinfo = substitute::signed(&key, &sysroot.manifest, archive)?;
        let signed = archive.with_file_name(format!("{}.narinfo", archive_name(&sysroot.manifest)));
        fs::write_atomic(&signed, serde_json::to_vec_pretty(&narinfo)?)?;
        progress::note(format!("signed: {}", signed.display()));
        if let Some(store) = &store {
            substitute::push(store, &sysroot.manifest.build.key, &narinfo, archive)?;
        }
    }
    Ok(())
}

/// Validates and packs each sysroot into `out`; returns the archives.
pub fn pack_all(models: &[Model], out: &Path) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(out)?;
    let epoch = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds"))?,
        Err(_) => DEFAULT_EPOCH,
    };
    let mut sums = BTreeMap::new();
    let mut archives = Vec::new();
    for model in models {
        let sysroot = Sysroot::open(model).with_context(|| {
            format!(
                "build it first: cargo xtask build-python --target {} --python {}",
                model.target.name, model.recipe.version
            )
        })?;
        // The archive goes out under the build key: what the key names must be what it holds.
        if let Some(problem) = record::first_changed_of_build(&sysroot.root, &sysroot.manifest)? {
            bail!(
                "{}: {problem} since it was built, so it no longer is what its build key {} \
                 names; rebuild it (cargo xtask build-python --target {} --python {}) \
                 before packing it",
                sysroot.root.display(),
                &sysroot.manifest.build.key[..12],
                model.target.name,
                model.recipe.version
            );
        }
        say_what_is_left_out(&sysroot)?;
        link::isolate(model, &sysroot, None)?;
        let report = validate(model, &sysroot)?;
        let name = archive_name(&sysroot.manifest);
        let path = out.join(&name);
        pack(&sysroot, &report, &path, epoch)?;
        let digest = sha256_file(&path)?;
        progress::note(format!("{name}: sha256 {digest}"));
        sums.insert(name, digest);
        archives.push(path);
    }
    write_sums(out, sums)?;
    Ok(archives)
}

pub fn archive_name(m: &Manifest) -> String {
    format!("pysysroot-{}-{}.tar.zst", m.python.version, m.target.name)
}

/// Keeps the sums of archives made earlier for other targets.
fn write_sums(out: &Path, mut sums: BTreeMap<String, String>) -> Result<()> {
    let path = out.join("SHA256SUMS");
    if let Ok(old) = std::fs::read_to_string(&path) {
        for line in old.lines() {
            if let Some((digest, file)) = line.split_once("  ")
                && !sums.contains_key(file)
                && out.join(file).is_file()
            {
                sums.insert(file.to_string(), digest.to_string());
            }
        }
    }
    let text: String = sums.iter().map(|(f, d)| format!("{d}  {f}\n")).collect();
    fs::write_atomic(&path, text)?;
    println!(
        "wrote {} (check with: cd {} && sha256sum -c SHA256SUMS)",
        path.display(),
        out.display()
    );
    Ok(())
}

/// What validation found, recorded in the archive as `dist.json`.
#[derive(serde::Serialize)]
struct Report {
    /// Per executable: what it needs at run time.
    executables: BTreeMap<String, binary::Needs>,
}

/// python-build-standalone's checks, for every executable that ships.
fn validate(model: &Model, s: &Sysroot) -> Result<Report> {
    let m = &s.manifest;
    let rel = |p: &Path| p.strip_prefix(&s.root).unwrap_or(p).display().to_string();
    let exes = [s.python(), s.isolate(model), s.standalone(model)];
    // A pre-initialised isolate ships the module it was made from beside it.
    let cold = exes[1..]
        .iter()
        .map(|e| crate::pipeline::snapshot::cold_path(e))
        .filter(|c| c.is_file());
    let mut executables = BTreeMap::new();
    for exe in exes.iter().cloned().chain(cold) {
        executables.insert(
            rel(&exe),
            binary::policy(&exe, model.target, m.link.shared_library_name())?,
        );
    }
    for exe in &exes[1..] {
        binary::cpu_level(exe, model.target, m.build.optimizations.march.as_deref())?;
    }
    if model.target.platform.is_elf() {
        let never = model.bundled_symbol_prefixes();
        let loads = model.target.platform.loads_extension_modules();
        for exe in &exes[1..] {
            binary::exports(exe, &s.python(), &never, loads)?;
        }
    }
    if !s.root.join("licenses/cpython/LICENSE").is_file() {
        bail!(
            "{} lacks CPython's licence",
            s.root.join("licenses").display()
        );
    }
    println!(
        "  validated {}: {}, licences present",
        model.describe(),
        match &model.target.dist.glibc_baseline {
            Some(base) => format!(
                "C runtime only, stack not executable, glibc <= {base}, C API exported, no bundled library's symbols"
            ),
            None if model.target.platform.is_elf() =>
                "no shared library at all, stack not executable".to_string(),
            None => format!("imports only from {:?}", model.target.dist.imports),
        }
    );
    Ok(Report { executables })
}

/// Packages installed into the sysroot's `site-packages` since the build are left out of the
/// archive (they are no part of what the build key names); says which.
fn say_what_is_left_out(s: &Sysroot) -> Result<()> {
    match record::installed_since(&s.root, s.manifest.packages.as_ref())? {
        None => progress::warn(format!(
            "{}'s manifest does not record which packages the build installed: its \
             site-packages is packed as it is; rebuild it to pack only the build's own",
            s.root.display()
        )),
        Some(left) => {
            // Bytecode an interpreter wrote for the build's own packages is no installation.
            let left: Vec<&String> = left
                .iter()
                .filter(|rel| !rel.contains("/__pycache__/"))
                .collect();
            if left.is_empty() {
                return Ok(());
            }
            let mut names: Vec<&str> = left
                .iter()
                .filter_map(|rel| rel.split("/site-packages/").nth(1)?.split('/').next())
                .collect();
            names.dedup();
            let files = match left.len() {
                1 => "1 file".to_string(),
                n => format!("{n} files"),
            };
            progress::note(format!(
                "left out of the archive: {files} installed into site-packages since the \
                 build ({})",
                names.join(", ")
            ));
        }
    }
    Ok(())
}

/// Whether `rel` goes into the archive: all but the logs, and of `site-packages` only what
/// the build put there (everything, for a manifest without that record).
fn packed(m: &Manifest, rel: &str, is_dir: bool) -> bool {
    if rel.is_empty() || rel == "logs" || rel.starts_with("logs/") {
        return false;
    }
    let Some(packages) = m.packages.as_ref().filter(|_| record::is_package(rel)) else {
        return true;
    };
    if is_dir {
        let under = format!("{rel}/");
        packages.keys().any(|p| p.starts_with(&under))
    } else {
        packages.contains_key(rel)
    }
}

/// Writes the archive: the sysroot (without build logs) under `pysysroot-<version>-<target>/`.
fn pack(s: &Sysroot, report: &Report, path: &Path, epoch: u64) -> Result<()> {
    let m = &s.manifest;
    let top = format!("pysysroot-{}-{}", m.python.version, m.target.name);
    let tmp = fs::sibling(path, "part");
    // zstd at level 10: about a quarter of the size, unpacked in a fraction of a second.
    let zst = zstd::stream::write::Encoder::new(fs::create(&tmp)?, 10)?;
    let mut tar = tar::Builder::new(zst);
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
    let sysroot_path = s.root.display().to_string();
    for entry in walkdir::WalkDir::new(&s.root).sort_by_file_name() {
        let entry = entry?;
        let r = entry.path().strip_prefix(&s.root)?.display().to_string();
        if !packed(m, &r, entry.file_type().is_dir()) {
            continue;
        }
        let name = format!("{top}/{r}");
        let meta = std::fs::symlink_metadata(entry.path())
            .map_err(|e| fs::io_error(e, "reading", entry.path()))?;
        if meta.is_dir() {
            tar.append_data(
                &mut header(0, 0o755, tar::EntryType::Directory),
                format!("{name}/"),
                std::io::empty(),
            )?;
        } else if meta.file_type().is_symlink() {
            tar.append_link(
                &mut header(0, 0o777, tar::EntryType::Symlink),
                &name,
                std::fs::read_link(entry.path())
                    .map_err(|e| fs::io_error(e, "reading link", entry.path()))?,
            )?;
        } else {
            use std::os::unix::fs::PermissionsExt;
            let mode = if meta.permissions().mode() & 0o111 != 0 {
                0o755
            } else {
                0o644
            };
            let data = match r.as_str() {
                sysroot_manifest::FILE_NAME => normalised_manifest(m).into_bytes(),
                "pyo3-config.txt" => fs::read_to_string(entry.path())?
                    .replace(&sysroot_path, "@SYSROOT@")
                    .into_bytes(),
                _ => fs::read(entry.path())?,
            };
            tar.append_data(
                &mut header(data.len() as u64, mode, tar::EntryType::Regular),
                &name,
                data.as_slice(),
            )?;
        }
    }
    let dist = serde_json::to_string_pretty(report)? + "\n";
    tar.append_data(
        &mut header(dist.len() as u64, 0o644, tar::EntryType::Regular),
        format!("{top}/dist.json"),
        dist.as_bytes(),
    )?;
    tar.into_inner()?.finish()?.sync_all()?;
    fs::rename(&tmp, path)
}

/// The manifest without what differs between two builds of the same inputs: wall times.
fn normalised_manifest(m: &Manifest) -> String {
    let mut m = m.clone();
    m.build.seconds = 0.0;
    if let Some(p) = m.build.optimizations.pgo.as_mut() {
        p.seconds = 0.0;
    }
    m.to_json()
}
