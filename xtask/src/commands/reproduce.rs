//! `reproduce`: two clean builds of a sysroot without PGO (same inputs, same place, apart
//! from the user's sysroots), each packed: the archives' sha256 must be equal; if not, the
//! files that differ are named.

use crate::commands::dist;
use crate::model::tools::Install;
use crate::model::{Catalog, Settings, target};
use crate::pipeline;
use crate::util::fs;
use crate::util::hash::sha256_bytes;
use anyhow::{Context, Result, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use sysroot_manifest::Flavor;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = target::native_name())]
    pub target: String,
    #[arg(long = "python", value_name = "VERSION")]
    pub python: Option<String>,
}

pub fn run(settings: &Settings, args: &Args) -> Result<()> {
    let mut settings = settings.clone();
    settings.layout.sysroots = settings.layout.work.join("reproduce/sysroots");
    let catalog = Catalog::load(&settings.layout)?;
    let model = catalog.resolve(
        &settings,
        &args.target,
        args.python.as_deref(),
        Flavor::Static,
        Install::Yes,
    )?;
    let build_and_pack = |name: &str| -> Result<PathBuf> {
        // Without PGO: a profile records what the profile run happened to do.
        let opts = pipeline::Options {
            pgo: false,
            lto: true,
            bolt: true,
            force: true,
            substitute: pipeline::Substitute::Never,
        };
        pipeline::build(&model, &opts)?;
        let out = settings.layout.work.join("reproduce").join(name);
        fs::remove_dir_all(&out)?;
        let archives = dist::pack_all(std::slice::from_ref(&model), &out)?;
        archives.into_iter().next().context("dist wrote no archive")
    };
    let first = build_and_pack("dist-first")?;
    let second = build_and_pack("dist-second")?;
    let (a, b) = (fs::read(&first)?, fs::read(&second)?);
    if a == b {
        println!(
            "  two clean builds: identical archives, sha256 {}",
            sha256_bytes(&a)
        );
        return Ok(());
    }
    let (x, y) = (archive_digests(&first)?, archive_digests(&second)?);
    let differ: BTreeSet<&String> = x
        .keys()
        .chain(y.keys())
        .filter(|k| x.get(*k) != y.get(*k))
        .collect();
    bail!(
        "two clean builds gave different archives ({} vs {}); {} entries differ: {:?}",
        sha256_bytes(&a),
        sha256_bytes(&b),
        differ.len(),
        differ.iter().take(20).collect::<Vec<_>>()
    )
}

/// Path -> sha256 of every file in a .tar.gz.
fn archive_digests(path: &Path) -> Result<BTreeMap<String, String>> {
    use std::io::Read;
    let mut out = BTreeMap::new();
    let mut archive = tar::Archive::new(
        zstd::stream::read::Decoder::new(fs::open(path)?)
            .map_err(|e| fs::io_error(e, "reading", path))?,
    );
    let entries = archive
        .entries()
        .map_err(|e| fs::io_error(e, "reading", path))?;
    for entry in entries {
        let mut data = Vec::new();
        let name = entry
            .and_then(|mut entry| {
                entry.read_to_end(&mut data)?;
                Ok(entry.path()?.display().to_string())
            })
            .map_err(|e| fs::io_error(e, "reading", path))?;
        out.insert(name, sha256_bytes(&data));
    }
    Ok(out)
}
