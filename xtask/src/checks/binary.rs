//! Shipped executables against the target's `dist` policy (as python-build-standalone checks
//! its builds): what they load, the newest glibc they need, their stack, their kind, and
//! what they export.

use crate::model::target::{Platform, Target};
use crate::util::{elf, wasm};
use anyhow::{Result, bail};
use std::path::Path;
use sysroot_manifest::Flavor;

/// What an executable needs at run time, for `dist.json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Needs {
    /// `DT_NEEDED` entries (ELF) or the modules it imports from (WASI).
    pub needs: Vec<String>,
    /// The newest `GLIBC_x.y` it asks for.
    pub glibc: Option<String>,
}

/// The target's policy: only allowed libraries or imports, glibc no newer than the baseline,
/// a stack that is not executable. `also_allowed` is a shared libpython, when it has one.
pub fn policy(path: &Path, target: &Target, also_allowed: Option<&str>) -> Result<Needs> {
    let name = path.display();
    if !target.platform.is_elf() {
        let modules: Vec<String> = wasm::imports(path)?
            .into_iter()
            .map(|(m, _)| m)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if let Some(bad) = modules.iter().find(|m| !target.dist.imports.contains(m)) {
            bail!(
                "{name} imports from {bad:?}: an undefined symbol became an import (only {:?} is provided at run time)",
                target.dist.imports
            );
        }
        return Ok(Needs {
            needs: modules,
            glibc: None,
        });
    }
    let info = elf::read(path)?;
    let bad: Vec<&String> = info
        .needed
        .iter()
        .filter(|n| !target.dist.needed.contains(n) && Some(n.as_str()) != also_allowed)
        .collect();
    if !bad.is_empty() {
        bail!(
            "{name} needs shared libraries outside the C runtime: {bad:?} (allowed: {:?}, sysroots/{}.toml [dist])",
            target.dist.needed,
            target.name
        );
    }
    if let (Some(need), Some(base)) = (&info.glibc, &target.dist.glibc_baseline)
        && elf::version_key(need) > elf::version_key(base)
    {
        bail!(
            "{name} needs GLIBC_{need}, newer than the target's baseline {base} (sysroots/{}.toml)",
            target.name
        );
    }
    match info.stack_executable {
        None => bail!("{name} has no GNU_STACK header: its stack would be executable"),
        Some(true) => bail!("{name} has an executable stack"),
        Some(false) => {}
    }
    Ok(Needs {
        needs: info.needed,
        glibc: info.glibc,
    })
}

/// The executable is what its flavor promises: non-PIE for static (fully static on musl),
/// PIE for static-PIC, and no shared libpython unless the flavor is shared. Returns how
/// `file` would put it.
pub fn kind(path: &Path, platform: Platform, flavor: Flavor) -> Result<String> {
    if !platform.is_elf() {
        return Ok("WebAssembly module".into());
    }
    let info = elf::read(path)?;
    let pie = info.kind == elf::Kind::PieExecutable;
    let statically = platform.fully_static();
    let want_pie = flavor != Flavor::Static;
    let ok = match info.kind {
        elf::Kind::Executable | elf::Kind::PieExecutable => pie == want_pie,
        _ => false,
    } && (!statically || info.is_static());
    let describe = format!(
        "{}{} executable{}",
        if info.is_static() {
            "statically linked "
        } else {
            "dynamically linked "
        },
        if pie { "PIE" } else { "non-PIE" },
        info.interpreter
            .as_deref()
            .map(|i| format!(", interpreter {i}"))
            .unwrap_or_default()
    );
    if !ok {
        bail!(
            "{} is a {describe}: the {flavor} flavor makes a {}{} executable",
            path.display(),
            if statically { "statically linked " } else { "" },
            if want_pie { "PIE" } else { "non-PIE" }
        );
    }
    if flavor != Flavor::Shared && info.needed.iter().any(|n| n.contains("python")) {
        bail!(
            "{} needs a shared libpython: {:?}",
            path.display(),
            info.needed
        );
    }
    Ok(describe)
}

/// An embedding executable exports CPython's C API, as python3 does for extension modules
/// (every `Py`/`_Py` symbol python3 exports), and nothing of a bundled C library. Returns
/// how many symbols it exports.
pub fn exports(exe: &Path, python3: &Path, never: &[&str], loads_modules: bool) -> Result<usize> {
    let exported = elf::read(exe)?.exported;
    if let Some(s) = exported
        .iter()
        .find(|s| never.iter().any(|p| s.starts_with(p)))
    {
        bail!(
            "{} exports {s}, a symbol of a bundled C library: extension modules that bring their own copy would bind to it",
            exe.display()
        );
    }
    if loads_modules {
        let api: Vec<String> = elf::read(python3)?
            .exported
            .into_iter()
            .filter(|s| s.starts_with("Py") || s.starts_with("_Py"))
            .collect();
        let missing: Vec<&String> = api.iter().filter(|s| !exported.contains(*s)).collect();
        if !missing.is_empty() {
            bail!(
                "{} does not export {} of the {} C API symbols python3 exports (first: {:?}): compiled extension modules would fail to load",
                exe.display(),
                missing.len(),
                api.len(),
                &missing[..missing.len().min(5)]
            );
        }
    }
    Ok(exported.len())
}

/// An executable of a target with a `[cpu]` level is labelled with it (the manifest's
/// `march`) and carries the start-up check that refuses a CPU without it; one of any other
/// target claims no level. Returns the level.
pub fn cpu_level(exe: &Path, target: &Target, recorded: Option<&str>) -> Result<Option<String>> {
    let wanted = target.cpu.as_ref().map(|c| c.march.as_str());
    if wanted != recorded {
        bail!(
            "the manifest says the sysroot was built for CPU level {recorded:?}, sysroots/{}.toml says {wanted:?}: rebuild it",
            target.name
        );
    }
    if let Some(level) = wanted
        && !crate::util::archive::defined_names(exe)?.contains(CPU_CHECK)
    {
        bail!(
            "{} is built for {level} but lacks the start-up check ({CPU_CHECK}): on an older CPU it would die of SIGILL; relink it from the sysroot",
            exe.display()
        );
    }
    Ok(wanted.map(String::from))
}

/// The function `xtask/c/cpu_check.c` defines.
pub const CPU_CHECK: &str = "pysysroot_cpu_check";
