//! `provision`: install what the targets need on this machine, from their files'
//! `[host_tools]` (Debian packages, Rust targets, pinned PyPI tools). `doctor` reports the
//! same without changing anything.

use crate::model::target::Target;
use crate::model::tools::{Install, Tools};
use crate::model::{Catalog, Settings};
use crate::util::{process, progress};
use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::process::Command;

#[derive(clap::Args)]
pub struct Args {
    /// Targets to provision for (repeatable) [default: all].
    #[arg(long)]
    pub target: Vec<String>,
}

/// What the pipeline itself runs, whatever the target.
pub const COMMON_APT: &[&str] = &[
    "build-essential",
    "pkg-config",
    "patch",
    "perl",
    "file",
    "binutils",
    "python3",
    "python3-venv",
];

pub struct Missing {
    pub apt: Vec<String>,
    pub rustup: Vec<String>,
    /// Targets whose pinned tools (PyPI packages, cargo-built tools) are not installed.
    pub pip_targets: Vec<String>,
}

impl Missing {
    pub fn is_empty(&self) -> bool {
        self.apt.is_empty() && self.rustup.is_empty() && self.pip_targets.is_empty()
    }
}

pub fn targets<'c>(catalog: &'c Catalog, names: &[String]) -> Result<Vec<&'c Target>> {
    if names.is_empty() {
        return Ok(catalog.targets.iter().collect());
    }
    names.iter().map(|n| catalog.target(n)).collect()
}

/// What `targets` need (and `extra_apt`) that this machine lacks.
pub fn missing(settings: &Settings, targets: &[&Target], extra_apt: &[&str]) -> Missing {
    let mut apt: BTreeSet<String> = COMMON_APT
        .iter()
        .chain(extra_apt)
        .map(|s| s.to_string())
        .collect();
    let mut rustup = BTreeSet::new();
    for t in targets {
        apt.extend(t.host_tools.apt.iter().cloned());
        rustup.extend(t.host_tools.rustup.iter().cloned());
    }
    let have = installed_rust_targets();
    Missing {
        apt: apt.into_iter().filter(|p| !apt_installed(p)).collect(),
        rustup: rustup.into_iter().filter(|t| !have.contains(t)).collect(),
        pip_targets: targets
            .iter()
            .filter(|t| !Tools::is_provisioned(&settings.layout.root, &settings.layout.cache, t))
            .map(|t| t.name.clone())
            .collect(),
    }
}

pub fn apt_installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// The architectures of `pkg:arch` packages that dpkg does not know yet: a foreign
/// architecture's libraries (multiarch) need it added before `apt-get update`.
fn foreign_architectures(packages: &[String]) -> BTreeSet<&str> {
    let dpkg = |arg: &str| {
        Command::new("dpkg")
            .arg(arg)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default()
    };
    let known = format!(
        "{} {}",
        dpkg("--print-architecture"),
        dpkg("--print-foreign-architectures")
    );
    architectures_to_add(packages, &known)
}

fn architectures_to_add<'a>(packages: &'a [String], known: &str) -> BTreeSet<&'a str> {
    packages
        .iter()
        .filter_map(|p| p.split_once(':').map(|(_, arch)| arch))
        .filter(|arch| !known.split_whitespace().any(|k| k == *arch))
        .collect()
}

fn installed_rust_targets() -> BTreeSet<String> {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(|l| l.trim().to_string())
                .collect()
        })
        .unwrap_or_default()
}

pub fn run(settings: &Settings, args: &Args) -> Result<()> {
    let catalog = Catalog::load(&settings.layout)?;
    let targets = targets(&catalog, &args.target)?;
    install(settings, &targets, &[])?;
    crate::commands::doctor::report(settings, &targets, &[])
}

/// Installs what `targets` (and `extra_apt`) need.
pub fn install(settings: &Settings, targets: &[&Target], extra_apt: &[&str]) -> Result<()> {
    let m = missing(settings, targets, extra_apt);
    if !m.apt.is_empty() {
        let root = unsafe { libc::geteuid() } == 0;
        let sudo: &[&str] = if root { &[] } else { &["sudo", "-n"] };
        progress::note(format!("installing Debian packages: {}", m.apt.join(" ")));
        let add_arch: Vec<Vec<&str>> = foreign_architectures(&m.apt)
            .into_iter()
            .map(|arch| vec!["dpkg", "--add-architecture", arch])
            .collect();
        let first: String = add_arch
            .iter()
            .map(|a| format!("sudo {} && ", a.join(" ")))
            .collect();
        let how = format!(
            "installing Debian packages needs root: run `{first}sudo apt-get update && sudo apt-get install -y {}` yourself, or run this as root",
            m.apt.join(" ")
        );
        for args in add_arch.into_iter().chain([
            vec!["apt-get", "update", "-q"],
            [
                vec!["apt-get", "install", "-y", "-q", "--no-install-recommends"],
                m.apt.iter().map(String::as_str).collect(),
            ]
            .concat(),
        ]) {
            let argv: Vec<&str> = sudo.iter().copied().chain(args).collect();
            process::run(
                Command::new(argv[0])
                    .args(&argv[1..])
                    .env("DEBIAN_FRONTEND", "noninteractive"),
            )
            .context(how.clone())?;
        }
    }
    if !m.rustup.is_empty() {
        progress::note(format!("adding Rust targets: {}", m.rustup.join(" ")));
        process::run(
            Command::new("rustup")
                .args(["target", "add"])
                .args(&m.rustup),
        )?;
    }
    for t in targets {
        Tools::resolve(
            &settings.layout.root,
            &settings.layout.cache,
            t,
            settings.offline,
            Install::Yes,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unknown_foreign_architectures_are_added() {
        let packages: Vec<String> = [
            "qemu-user",
            "zlib1g:arm64",
            "libc6:arm64",
            "libz:riscv64",
            "make:amd64",
        ]
        .map(String::from)
        .to_vec();
        let add = architectures_to_add(&packages, "amd64\n");
        assert_eq!(add.into_iter().collect::<Vec<_>>(), ["arm64", "riscv64"]);
        let add = architectures_to_add(&packages, "amd64\n arm64\nriscv64\n");
        assert!(add.is_empty());
    }
}
