//! `isolate`: link the isolate (engine/) against sysroots and prove it against their python3.

use crate::checks;
use crate::commands::{FlavorArg, built, ensure_sysroot};
use crate::model::tools::Install;
use crate::model::{Catalog, Settings, target};
use crate::pipeline::link;
use crate::util::{fs, progress};
use anyhow::{Result, bail};
use sysroot_manifest::Flavor;

#[derive(clap::Args)]
pub struct Args {
    /// Targets to build for (repeatable) [default: every sysroot already built, else the native one].
    #[arg(long)]
    pub target: Vec<String>,
    /// CPython version [default: every built version; the default recipe when building].
    #[arg(long = "python", value_name = "VERSION")]
    pub python: Option<String>,
    #[arg(long, value_enum, default_value = "static")]
    pub flavor: FlavorArg,
    /// Build missing sysroots without PGO.
    #[arg(long)]
    pub no_pgo: bool,
    /// Skip CPython's regression-test subset (minutes under emulation).
    #[arg(long)]
    pub no_regrtest: bool,
    /// Packages from PyPI to ship with the single-file isolate (pip's format, every package
    /// pinned with its hashes): pure-Python ones inside it, compiled ones in
    /// `dist/lib/pythonX.Y/site-packages` beside it.
    #[arg(long, value_name = "FILE")]
    pub requirements: Option<std::path::PathBuf>,
}

pub fn run(settings: &Settings, args: &Args) -> Result<()> {
    let catalog = Catalog::load(&settings.layout)?;
    let flavor: Flavor = args.flavor.into();
    let mut models = Vec::new();
    if args.target.is_empty() {
        models = built(&catalog, settings, args.python.as_deref(), flavor)?;
        if models.is_empty() {
            progress::note("no sysroot built yet: using the native one");
        }
    }
    if models.is_empty() {
        let targets = if args.target.is_empty() {
            vec![target::native_name().to_string()]
        } else {
            args.target.clone()
        };
        for t in &targets {
            models.push(catalog.resolve(
                settings,
                t,
                args.python.as_deref(),
                flavor,
                Install::Yes,
            )?);
        }
    }
    let cwd = fs::current_dir()?;
    let requirements = args.requirements.as_ref().map(|r| cwd.join(r));
    // Before any sysroot is built: a typo must not cost a 30-minute build first.
    if let Some(r) = &requirements {
        let meta = std::fs::metadata(r)
            .map_err(|e| fs::io_error(e, "reading the requirements file", r))?;
        if !meta.is_file() {
            bail!(
                "the requirements file {} is not a file: give pip's requirements format, every package pinned with --hash",
                r.display()
            );
        }
    }
    let mut summary = Vec::new();
    for model in &models {
        let sysroot = ensure_sysroot(model, !args.no_pgo)?;
        link::isolate(model, &sysroot, requirements.as_deref())?;
        let opts = checks::isolate::Options {
            regrtest: !args.no_regrtest,
        };
        summary.push(checks::isolate::check(model, &sysroot, &opts)?);
    }
    println!("\nisolate summary:");
    for s in summary {
        println!("  {s}");
    }
    Ok(())
}
