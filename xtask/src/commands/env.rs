//! `env`: how to link your own crate against a sysroot, as cargo configuration or shell
//! exports: the PyO3 configuration and manifest, and the flags every crate of the
//! executable needs (non-PIE, lazy binding, the exported C API, the target's linker).

use crate::commands::FlavorArg;
use crate::model::sysroot::Sysroot;
use crate::model::tools::Install;
use crate::model::{Catalog, Settings, target};
use crate::pipeline::link::Embedding;
use anyhow::{Context, Result};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = target::native_name())]
    pub target: String,
    #[arg(long = "python", value_name = "VERSION")]
    pub python: Option<String>,
    #[arg(long, value_enum, default_value = "static")]
    pub flavor: FlavorArg,
    /// `cargo`: a .cargo/config.toml fragment for `cargo --config FILE`; `shell`: export lines.
    #[arg(long, value_enum, default_value = "cargo")]
    pub format: Format,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Cargo,
    Shell,
}

pub fn run(settings: &Settings, args: &Args) -> Result<()> {
    let catalog = Catalog::load(&settings.layout)?;
    let model = catalog.resolve(
        settings,
        &args.target,
        args.python.as_deref(),
        args.flavor.into(),
        Install::Yes,
    )?;
    let sysroot = Sysroot::open(&model).with_context(|| {
        format!(
            "the {} sysroot is not built: cargo xtask build-python --target {} --python {}",
            model.describe(),
            model.target.name,
            model.recipe.version
        )
    })?;
    let e = Embedding::new(&model, &sysroot)?;
    print!(
        "{}",
        match args.format {
            Format::Cargo => e.cargo_config(),
            Format::Shell => e.shell(),
        }
    );
    Ok(())
}
