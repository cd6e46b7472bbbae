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
    progress::note(build_first(&model.describe(), &model.sysroot_dir(), pgo));
    let opts = pipeline::Options {
        pgo,
        lto: true,
        bolt: true,
        force: false,
        substitute: pipeline::Substitute::Try,
    };
    pipeline::build(model, &opts)
}

/// What a command says before it builds a missing sysroot: that it does, and what it costs.
fn build_first(what: &str, dir: &std::path::Path, pgo: bool) -> String {
    format!(
        "no {what} sysroot at {}: building it first ({}; `cargo xtask build-python` builds it on its own)",
        dir.display(),
        if pgo {
            "PGO+LTO, about 30-50 minutes on 2 cores; --no-pgo takes about 15"
        } else {
            "no PGO, about 5-15 minutes on 2 cores"
        }
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 21, item 8: `run` (and `isolate`) without a sysroot say they build one, and how
    /// long that takes.
    #[test]
    fn a_missing_sysroot_is_announced_with_its_cost() {
        let dir = std::path::Path::new("/s/x86_64/3.13.5");
        let pgo = build_first("x86_64 3.13.5 static", dir, true);
        assert!(pgo.contains("/s/x86_64/3.13.5: building it first"), "{pgo}");
        assert!(
            pgo.contains("30-50 minutes") && pgo.contains("--no-pgo"),
            "{pgo}"
        );
        let quick = build_first("x86_64 3.13.5 static", dir, false);
        assert!(quick.contains("5-15 minutes"), "{quick}");
    }
}
