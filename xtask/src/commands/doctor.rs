//! `doctor`: what each target needs on this machine, what is missing, and the command that
//! installs it.

use crate::commands::provision::{COMMON_APT, missing, targets};
use crate::model::target::Target;
use crate::model::{Catalog, Settings};
use anyhow::{Result, bail};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub target: Vec<String>,
}

pub fn run(settings: &Settings, args: &Args) -> Result<()> {
    let catalog = Catalog::load(&settings.layout)?;
    report(settings, &targets(&catalog, &args.target)?, &[])
}

/// Prints the state of every need; fails when something is missing.
pub fn report(settings: &Settings, targets: &[&Target], extra_apt: &[&str]) -> Result<()> {
    let m = missing(settings, targets, extra_apt);
    let mut bad_toolchains = Vec::new();
    let mark = |missing: bool| if missing { "MISSING" } else { "ok     " };
    for t in targets {
        println!("target {} ({}):", t.name, t.rust_triple);
        if let Some((var, dir)) = &t.toolchain_chosen_by {
            let check = t.check_chosen_toolchain();
            println!(
                "  {} C toolchain from {var}={dir} (instead of the pinned one)",
                mark(check.is_err())
            );
            bad_toolchains.extend(check.err().map(|e| e.to_string()));
        }
        for p in COMMON_APT
            .iter()
            .chain(extra_apt)
            .map(|s| s.to_string())
            .chain(t.host_tools.apt.iter().cloned())
        {
            println!("  {} apt {p}", mark(m.apt.contains(&p)));
        }
        for r in &t.host_tools.rustup {
            println!("  {} rustup target {r}", mark(m.rustup.contains(r)));
        }
        for p in &t.host_tools.pip {
            println!(
                "  {} pinned tool {p}",
                mark(m.pip_targets.contains(&t.name))
            );
        }
        for c in &t.host_tools.cargo {
            println!(
                "  {} pinned tool {c} (built from this repository)",
                mark(m.pip_targets.contains(&t.name))
            );
        }
    }
    if m.is_empty() && bad_toolchains.is_empty() {
        println!("everything is in place");
        return Ok(());
    }
    println!("\nto fix:");
    for e in &bad_toolchains {
        println!("  {e}");
    }
    if !m.apt.is_empty() {
        println!("  apt-get install -y {}", m.apt.join(" "));
    }
    if !m.rustup.is_empty() {
        println!("  rustup target add {}", m.rustup.join(" "));
    }
    let names: String = targets
        .iter()
        .map(|t| format!(" --target {}", t.name))
        .collect();
    println!("  (or all at once: cargo xtask provision{names})");
    bail!("host tools are missing")
}
