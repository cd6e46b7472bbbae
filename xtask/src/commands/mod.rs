//! One file per command, each with its `Args` and its `run`.

pub mod bench;
pub mod build_python;
pub mod dist;
pub mod doctor;
pub mod env;
pub mod fetch;
pub mod isolate;
pub mod keygen;
pub mod list;
pub mod provision;
pub mod reproduce;
pub mod run;
pub mod test;

use crate::model::sysroot::Sysroot;
use crate::model::tools::Install;
use crate::model::{Catalog, Model, Settings};
use crate::pipeline;
use crate::util::progress;
use anyhow::Result;
use sysroot_manifest::Flavor;

/// `--flavor` on the command line.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum FlavorArg {
    Static,
    StaticPic,
    Shared,
}

impl From<FlavorArg> for Flavor {
    fn from(f: FlavorArg) -> Flavor {
        match f {
            FlavorArg::Static => Flavor::Static,
            FlavorArg::StaticPic => Flavor::StaticPic,
            FlavorArg::Shared => Flavor::Shared,
        }
    }
}

/// The sysroot of `model`: the published one as it is (`build-python` rebuilds it when its
/// inputs change), or a new build, announced with what it costs.
pub fn ensure_sysroot(model: &Model, pgo: bool) -> Result<Sysroot> {
    if Sysroot::exists(&model.sysroot_dir()) {
        return Sysroot::open(model);
    }
    let pgo = pgo && model.target.optimize.pgo;
    progress::note(format!(
        "no {} sysroot at {}: building it first ({}; `cargo xtask build-python` builds it on its own)",
        model.describe(),
        model.sysroot_dir().display(),
        if pgo {
            "PGO+LTO, about 30-50 minutes on 2 cores; --no-pgo takes about 15"
        } else {
            "no PGO, about 5-15 minutes on 2 cores"
        }
    ));
    let opts = pipeline::Options {
        pgo,
        lto: true,
        bolt: true,
        force: false,
        substitute: pipeline::Substitute::Try,
    };
    pipeline::build(model, &opts)
}

/// Every published sysroot of `flavor` (and `python`, if given), as resolved models.
pub fn built<'c>(
    catalog: &'c Catalog,
    settings: &'c Settings,
    python: Option<&str>,
    flavor: Flavor,
) -> Result<Vec<Model<'c>>> {
    let mut found = Vec::new();
    let dirs = std::fs::read_dir(&settings.layout.sysroots)
        .into_iter()
        .flatten()
        .flatten();
    for target_dir in dirs {
        for sub in std::fs::read_dir(target_dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if let Ok(Sysroot { manifest: m, .. }) = Sysroot::load(&sub.path())
                && m.flavor == flavor
                && python.is_none_or(|v| v == m.python.version)
            {
                found.push((m.target.name, m.python.version));
            }
        }
    }
    found.sort();
    found
        .iter()
        .map(|(t, v)| catalog.resolve(settings, t, Some(v), flavor, Install::Yes))
        .collect()
}
