//! Host provisioning: what each target needs on the build machine, taken from the target
//! files (`[host_tools]`), checked (`doctor`) or installed (`provision`).

use crate::Ctx;
use crate::target::{self, Target};
use crate::tools::Tools;
use anyhow::{Result, bail};
use std::collections::BTreeSet;
use std::process::Command;

/// Packages every target needs: compilers and tools the pipeline itself runs.
const COMMON_APT: &[&str] = &[
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
    pub pip_targets: Vec<String>,
}

fn targets(ctx: &Ctx, names: &[String]) -> Result<Vec<Target>> {
    let all = target::load_all(&ctx.root.join("sysroots"))?;
    if names.is_empty() {
        return Ok(all.into_iter().map(|(t, _)| t).collect());
    }
    names
        .iter()
        .map(|n| target::select(&ctx.root.join("sysroots"), n).map(|(t, _)| t))
        .collect()
}

fn apt_installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn rustup_installed() -> BTreeSet<String> {
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

pub fn missing(ctx: &Ctx, names: &[String]) -> Result<Missing> {
    let ts = targets(ctx, names)?;
    let mut apt: BTreeSet<String> = COMMON_APT.iter().map(|s| s.to_string()).collect();
    let mut rustup = BTreeSet::new();
    for t in &ts {
        apt.extend(t.host_tools.apt.iter().cloned());
        rustup.extend(t.host_tools.rustup.iter().cloned());
    }
    let have = rustup_installed();
    Ok(Missing {
        apt: apt.into_iter().filter(|p| !apt_installed(p)).collect(),
        rustup: rustup.into_iter().filter(|t| !have.contains(t)).collect(),
        pip_targets: ts
            .iter()
            .filter(|t| !t.host_tools.pip.is_empty() && !Tools::is_provisioned(ctx, t))
            .map(|t| t.name.clone())
            .collect(),
    })
}

/// `doctor`: reports what is present and what is missing, with the command that fixes it.
pub fn doctor(ctx: &Ctx, names: &[String]) -> Result<()> {
    let ts = targets(ctx, names)?;
    let m = missing(ctx, names)?;
    let mut bad_toolchains = Vec::new();
    for t in &ts {
        println!("target {} ({}):", t.name, t.rust_triple);
        if let Some((var, dir)) = &t.toolchain_chosen_by {
            let check = t.check_chosen_toolchain();
            println!(
                "  {} C toolchain from {var}={dir} (instead of the pinned one)",
                if check.is_ok() { "ok     " } else { "MISSING" }
            );
            bad_toolchains.extend(check.err().map(|e| e.to_string()));
        }
        for p in COMMON_APT
            .iter()
            .map(|s| s.to_string())
            .chain(t.host_tools.apt.iter().cloned())
        {
            println!(
                "  {} apt {p}",
                if m.apt.contains(&p) {
                    "MISSING"
                } else {
                    "ok     "
                }
            );
        }
        for r in &t.host_tools.rustup {
            println!(
                "  {} rustup target {r}",
                if m.rustup.contains(r) {
                    "MISSING"
                } else {
                    "ok     "
                }
            );
        }
        for p in &t.host_tools.pip {
            println!(
                "  {} pinned tool {p}",
                if m.pip_targets.contains(&t.name) {
                    "MISSING"
                } else {
                    "ok     "
                }
            );
        }
    }
    if m.apt.is_empty()
        && m.rustup.is_empty()
        && m.pip_targets.is_empty()
        && bad_toolchains.is_empty()
    {
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
    if !m.pip_targets.is_empty() {
        println!(
            "  cargo xtask provision --target {}",
            m.pip_targets.join(" --target ")
        );
    }
    println!(
        "  (or all at once: cargo xtask provision{})",
        names
            .iter()
            .map(|n| format!(" --target {n}"))
            .collect::<String>()
    );
    bail!("host tools are missing")
}

/// `provision`: installs what is missing.
pub fn provision(ctx: &Ctx, names: &[String]) -> Result<()> {
    let m = missing(ctx, names)?;
    if !m.apt.is_empty() {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let prefix: Vec<&str> = if root { vec![] } else { vec!["sudo"] };
        crate::progress::note(format!("installing Debian packages: {}", m.apt.join(" ")));
        for args in [
            vec!["apt-get", "update", "-q"],
            [
                vec!["apt-get", "install", "-y", "-q", "--no-install-recommends"],
                m.apt.iter().map(String::as_str).collect(),
            ]
            .concat(),
        ] {
            let argv: Vec<&str> = prefix.iter().copied().chain(args).collect();
            let status = Command::new(argv[0])
                .args(&argv[1..])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()?;
            if !status.success() {
                bail!("{} failed ({status})", argv.join(" "));
            }
        }
    }
    if !m.rustup.is_empty() {
        crate::progress::note(format!("adding Rust targets: {}", m.rustup.join(" ")));
        let status = Command::new("rustup")
            .args(["target", "add"])
            .args(&m.rustup)
            .status()?;
        if !status.success() {
            bail!("rustup target add {} failed", m.rustup.join(" "));
        }
    }
    for t in targets(ctx, names)? {
        Tools::provision(ctx, &t)?;
    }
    doctor(ctx, names)
}
