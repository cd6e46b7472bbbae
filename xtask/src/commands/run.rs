//! `run`: the isolate of a target's static sysroot, under the target's runner, with the
//! caller's arguments, stdio and environment.

use crate::checks::Interp;
use crate::commands::ensure_sysroot;
use crate::model::tools::Install;
use crate::model::{Catalog, Settings, target};
use crate::pipeline::link;
use crate::util::process;
use anyhow::Result;
use sysroot_manifest::Flavor;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = target::native_name())]
    pub target: String,
    #[arg(long = "python", value_name = "VERSION")]
    pub python: Option<String>,
    /// Arguments for the isolate (script and its arguments, -c CODE, -m MODULE...).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Returns the isolate's exit status.
pub fn run(settings: &Settings, args: &Args) -> Result<i32> {
    let catalog = Catalog::load(&settings.layout)?;
    let model = catalog.resolve(
        settings,
        &args.target,
        args.python.as_deref(),
        Flavor::Static,
        Install::Yes,
    )?;
    let sysroot = ensure_sysroot(&model, true)?;
    let exe = sysroot.isolate(&model);
    if !exe.is_file() {
        link::isolate(&model, &sysroot, None)?;
    }
    let status = process::status(Interp::new(&model.runner, &exe).command().args(&args.args))?;
    Ok(status.code().unwrap_or(1))
}
