//! `build-python`: the pipeline for one sysroot.

use crate::commands::FlavorArg;
use crate::model::tools::Install;
use crate::model::{Catalog, Settings, target};
use crate::pipeline;
use anyhow::Result;

#[derive(clap::Args)]
pub struct Args {
    /// Target to build for: a name from sysroots/*.toml (x86_64, aarch64, wasi) or its Rust triple.
    #[arg(long, default_value = target::native_name())]
    pub target: String,
    /// CPython version: a recipe in recipes/ [default: the recipe marked default].
    #[arg(long = "python", value_name = "VERSION")]
    pub python: Option<String>,
    /// static: non-PIC libpython, non-PIE executables (fastest). static-pic: -fPIC libpython for
    /// PIE executables. shared: libpython.so, for comparisons.
    #[arg(long, value_enum, default_value = "static")]
    pub flavor: FlavorArg,
    /// Skip profile-guided optimisation, PGO and BOLT (much faster to build; for CI and development).
    #[arg(long)]
    pub no_pgo: bool,
    /// Skip link-time optimisation.
    #[arg(long)]
    pub no_lto: bool,
    /// Skip BOLT (which runs after PGO, where the target has it).
    #[arg(long)]
    pub no_bolt: bool,
    /// Rebuild even if the sysroot is up to date.
    #[arg(long)]
    pub force: bool,
    /// Only say whether the sysroot is up to date (and print its cache key); change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Build even when a binary cache has a substitute.
    #[arg(long, conflicts_with = "substitute_only")]
    pub no_substitute: bool,
    /// Take the sysroot from a binary cache or fail; never build.
    #[arg(long)]
    pub substitute_only: bool,
}

pub fn run(settings: &Settings, args: &Args) -> Result<()> {
    let catalog = Catalog::load(&settings.layout)?;
    // A dry run installs nothing: it needs the pinned tools to be there already.
    let install = if args.dry_run {
        Install::No
    } else {
        Install::Yes
    };
    let model = catalog.resolve(
        settings,
        &args.target,
        args.python.as_deref(),
        args.flavor.into(),
        install,
    )?;
    let opts = pipeline::Options {
        pgo: !args.no_pgo,
        lto: !args.no_lto,
        bolt: !args.no_bolt,
        force: args.force,
        substitute: match (args.no_substitute, args.substitute_only) {
            (true, _) => pipeline::Substitute::Never,
            (_, true) => pipeline::Substitute::Only,
            _ => pipeline::Substitute::Try,
        },
    };
    if args.dry_run {
        let plan = pipeline::plan(&model, &opts)?;
        let state = match pipeline::up_to_date(&plan)? {
            Ok(_) => "up to date".to_string(),
            Err(why) => format!("needs a build: {why}"),
        };
        println!(
            "{} {state} (key {})",
            model.sysroot_dir().display(),
            plan.key
        );
        return Ok(());
    }
    pipeline::build(&model, &opts)?;
    Ok(())
}
