//! `test`: the whole test suite on this machine, set-up included: what the targets and the
//! tests need is provisioned, then the unit tests run, then the end-to-end tests
//! (`xtask/tests/e2e.rs`, and the binary cache's in `xtask/tests/binary_cache.rs`), which
//! build real CPython and start real servers.

use crate::commands::provision;
use crate::model::{Catalog, Settings};
use crate::util::process;
use anyhow::{Context, Result};
use std::process::Command;

#[derive(clap::Args)]
pub struct Args {
    /// Targets to build and check end to end (repeatable) [default: the native one].
    #[arg(long)]
    pub target: Vec<String>,
    /// Build the sysroots with PGO, as releases are.
    #[arg(long)]
    pub pgo: bool,
    /// The flavor of the sysroots the tests build and link against.
    #[arg(long, value_enum, default_value = "static")]
    pub flavor: crate::commands::FlavorArg,
    /// Arguments for the end-to-end test harness (a test name filter, `--nocapture`...).
    #[arg(last = true)]
    pub harness: Vec<String>,
}

/// Debian packages the tests themselves use, beyond what the targets need.
pub const TEST_APT: &[&str] = &["util-linux", "python3", "nginx"];

/// What the end-to-end tests read: the targets to build and check, whether with PGO, which
/// flavor.
pub const TARGETS_ENV: &str = "PYSYSROOT_TEST_TARGETS";
pub const PGO_ENV: &str = "PYSYSROOT_TEST_PGO";
pub const FLAVOR_ENV: &str = "PYSYSROOT_TEST_FLAVOR";

pub fn run(settings: &Settings, args: &Args) -> Result<()> {
    let mirror = settings
        .mirror
        .as_ref()
        .and_then(|m| m.local_dir())
        .context("the end-to-end tests serve a local mirror over HTTP and tamper with a copy of it: pass --mirror DIR or set PYSYSROOT_MIRROR=file:///dir")?;
    let catalog = Catalog::load(&settings.layout)?;
    let mut names = args.target.clone();
    if names.is_empty() {
        names.push(crate::model::target::native_name().to_string());
    }
    let targets = provision::targets(&catalog, &names)?;
    provision::install(settings, &targets, TEST_APT)?;
    let cargo = || {
        let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        c.current_dir(&settings.layout.root);
        c
    };
    process::run(cargo().args([
        "test",
        "--package",
        "xtask",
        "--package",
        "sysroot-manifest",
    ]))
    .context("the unit tests failed")?;
    let names: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
    process::run(
        cargo()
            .args([
                "test",
                "--package",
                "xtask",
                "--test",
                "e2e",
                "--test",
                "binary_cache",
                "--",
                "--ignored",
                "--test-threads=1",
            ])
            .args(&args.harness)
            .env(TARGETS_ENV, names.join(","))
            .env(PGO_ENV, if args.pgo { "1" } else { "0" })
            .env(
                FLAVOR_ENV,
                sysroot_manifest::Flavor::from(args.flavor).to_string(),
            )
            .env(
                crate::model::mirror::MIRROR_ENV,
                format!("file://{}", mirror.display()),
            )
            .env("PYSYSROOT_CACHE", &settings.layout.cache)
            .env("PYSYSROOT_JOBS", settings.jobs.to_string()),
    )
    .context("the end-to-end tests failed")
}
