//! Host tools a target needs beyond the system's: pinned PyPI packages (zig) in a virtual
//! environment of their own under the cache, keyed by the pinned requirements, and tools
//! built from a crate of this repository ([`cargo_tool`]: the WASI runner).
//!
//! Target files refer to that environment as `{tools}` (`{tools}/bin/python -m ziglang cc`),
//! to a cargo-built tool by its name (`{wasi_runner}`), to the pinned-tools cache as
//! `{tools_cache}`, and to the repository as `{root}`.

use crate::model::cargo_tool::{self, CargoTool};
use crate::model::target::Target;
use crate::util::template::{self, Vars};
use crate::util::{fs, hash, process, progress};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Tools {
    /// The virtual environment holding the target's pinned PyPI tools, if it needs any.
    pub venv: Option<PathBuf>,
    /// The repository, for the helper scripts a target's commands name as `{root}/xtask/py/...`.
    pub root: PathBuf,
    /// Tools built from this repository's crates, by name.
    pub cargo: Vec<CargoTool>,
    /// Where pinned tools (and what they keep, such as compiled WebAssembly) live.
    pub cache: PathBuf,
}

/// Whether resolving may install what is missing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Install {
    Yes,
    /// Find what is there; a missing environment is an error that says how to provision it.
    No,
}

impl Tools {
    pub fn is_provisioned(root: &Path, cache: &Path, target: &Target) -> bool {
        let pip = target.host_tools.pip.is_empty()
            || env_path(cache, &target.host_tools.pip)
                .join(".complete")
                .is_file();
        pip && target
            .host_tools
            .cargo
            .iter()
            .all(|name| cargo_tool::locate(root, cache, name).is_ok_and(|(_, built)| built))
    }

    /// The target's pinned PyPI tools, installed once when `install` allows it.
    pub fn resolve(
        root: &Path,
        cache: &Path,
        target: &Target,
        offline: bool,
        install: Install,
    ) -> Result<Tools> {
        target.check_chosen_toolchain()?;
        let reqs = &target.host_tools.pip;
        let venv = match reqs.is_empty() {
            true => None,
            false => {
                let how = format!("cargo xtask provision --target {}", target.name);
                Some(pinned_env(cache, reqs, offline, install, &how)?)
            }
        };
        let mut cargo = Vec::new();
        for name in &target.host_tools.cargo {
            let (tool, built) = cargo_tool::locate(root, cache, name)?;
            if !built {
                match install {
                    Install::No => bail!(
                        "the tool {name} is not built: cargo xtask provision --target {}",
                        target.name
                    ),
                    Install::Yes => cargo_tool::build(&tool, cache, offline)?,
                }
            }
            cargo.push(tool);
        }
        Ok(Tools {
            venv,
            root: root.to_path_buf(),
            cargo,
            cache: cache.to_path_buf(),
        })
    }

    /// `{root}`, `{tools}`, `{tools_cache}` and each cargo-built tool's name.
    pub fn vars(&self) -> Vars {
        let mut vars = template::vars([
            ("root", self.root.display().to_string()),
            (
                "tools_cache",
                self.cache.join("tools").display().to_string(),
            ),
        ]);
        if let Some(v) = &self.venv {
            vars.insert("tools".into(), vec![v.display().to_string()]);
        }
        for t in &self.cargo {
            vars.insert(t.var(), vec![t.binary.display().to_string()]);
        }
        vars
    }

    /// A command from a target file with `{tools}` and `{root}` resolved.
    pub fn expand(&self, argv: &[String]) -> Result<Vec<String>> {
        template::expand(argv, &self.vars())
    }

    /// This machine's tools and checkout written back as `{tools}` and `{root}`, for records
    /// that must be the same on every machine.
    pub fn unexpand(&self, text: &str) -> String {
        template::unexpand(text, &self.vars())
    }

    /// `tool -> version line` for the C compiler and each pinned tool: part of the cache key
    /// and the manifest.
    pub fn versions(&self, target: &Target) -> Result<Vec<(String, String)>> {
        let cc = self.expand(&target.toolchain.cc)?;
        let out = process::stdout(Command::new(&cc[0]).args(&cc[1..]).arg("--version"))
            .with_context(|| {
                format!(
                    "asking the C compiler of {} for its version (cargo xtask doctor --target {})",
                    target.name, target.name
                )
            })?;
        let first = out.lines().next().unwrap_or_default().trim().to_string();
        // Named as the target file writes it, so the record (and the cache key) is the same on
        // every machine and checkout.
        let mut v = vec![(
            "cc".to_string(),
            format!("{} = {first}", target.toolchain.cc.join(" ")),
        )];
        v.extend(
            target
                .host_tools
                .pip
                .iter()
                .map(|r| (r.split("==").next().unwrap_or(r).to_string(), r.clone())),
        );
        Ok(v)
    }
}

/// Where the environment for these requirements lives: keyed by them.
fn env_path(cache: &Path, requirements: &[String]) -> PathBuf {
    let mut sorted = requirements.to_vec();
    sorted.sort();
    let key = hash::sha256_bytes(sorted.join("\n").as_bytes());
    cache.join("tools").join(format!("venv-{}", &key[..16]))
}

/// A virtual environment of its own holding pinned PyPI requirements (`name==version`,
/// optionally with `--hash=sha256:...`, which then all must have), created once by the host's
/// python3 and keyed by the requirements. `how` is the command that provisions it.
pub fn pinned_env(
    cache: &Path,
    requirements: &[String],
    offline: bool,
    install: Install,
    how: &str,
) -> Result<PathBuf> {
    if let Some(r) = requirements.iter().find(|r| !r.contains("==")) {
        bail!("PyPI tool {r:?} is not pinned (write name==version)");
    }
    let venv = env_path(cache, requirements);
    if venv.join(".complete").is_file() {
        return Ok(venv);
    }
    let names: Vec<&str> = requirements
        .iter()
        .map(|r| r.split_whitespace().next().unwrap_or(r))
        .collect();
    if install == Install::No {
        bail!(
            "the pinned tools {} are not installed: {how}",
            names.join(", ")
        );
    }
    if offline {
        bail!(
            "the pinned tools {} are not installed and --offline forbids installing them",
            names.join(", ")
        );
    }
    let tmp = fs::sibling(&venv, "tmp");
    fs::remove_dir_all(&tmp)?;
    let log = cache.join("tools").join("install.log");
    // The host's python3 only creates the environment; the tools inside are pinned.
    process::run_logged(
        "tools: create environment",
        Command::new("python3").args(["-m", "venv"]).arg(&tmp),
        &log,
    )
    .context(
        "creating a virtual environment needs python3 with venv (apt-get install python3-venv)",
    )?;
    let reqs = tmp.join("requirements.txt");
    fs::write(&reqs, requirements.join("\n") + "\n")?;
    let mut pip = Command::new(tmp.join("bin/python"));
    pip.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "-r",
    ])
    .arg(&reqs);
    if requirements.iter().any(|r| r.contains("--hash")) {
        pip.arg("--require-hashes");
    }
    process::run_logged(
        &format!("tools: install {}", names.join(" ")),
        &mut pip,
        &log,
    )?;
    fs::write(&tmp.join(".complete"), requirements.join("\n"))?;
    fs::remove_dir_all(&venv)?;
    fs::rename(&tmp, &venv)?;
    progress::note(format!("pinned tools installed in {}", venv.display()));
    Ok(venv)
}

/// A tool's file, `recipes/tools/<name>.toml`: its pinned `requirements`, and whatever else
/// the command that uses the tool reads from it (`T`, which rejects fields it does not know).
pub fn tool_file<T: serde::de::DeserializeOwned>(
    layout: &crate::model::Layout,
    name: &str,
) -> Result<(Vec<String>, T)> {
    let path = layout
        .recipes_dir()
        .join("tools")
        .join(format!("{name}.toml"));
    let parse = || -> Result<(Vec<String>, T)> {
        let mut table: toml::Table = toml::from_str(&fs::read_to_string(&path)?)?;
        let requirements = table
            .remove("requirements")
            .context("no `requirements = [\"name==version --hash=sha256:...\", ...]`")?
            .try_into()?;
        Ok((requirements, toml::Value::Table(table).try_into()?))
    };
    parse().with_context(|| format!("parsing {}", path.display()))
}

/// The environment of a tool pinned in `recipes/tools/<name>.toml`.
pub fn tool_env(layout: &crate::model::Layout, name: &str, offline: bool) -> Result<PathBuf> {
    /// Nothing but the requirements.
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Pins {}
    let (requirements, Pins {}) = tool_file(layout, name)?;
    pinned_env(
        &layout.cache,
        &requirements,
        offline,
        Install::Yes,
        "run again without --offline",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_name_tools_and_checkout_portably() {
        let tools = Tools {
            venv: Some(PathBuf::from("/work/repo/cache/tools/venv-1")),
            root: PathBuf::from("/work/repo"),
            cargo: Vec::new(),
            cache: PathBuf::from("/work/repo/cache"),
        };
        let argv: Vec<String> = ["{tools}/bin/python", "{root}/xtask/py/zig_cc.py", "-O2"]
            .map(String::from)
            .to_vec();
        let expanded = tools.expand(&argv).unwrap();
        assert_eq!(expanded[0], "/work/repo/cache/tools/venv-1/bin/python");
        assert_eq!(tools.unexpand(&expanded.join(" ")), argv.join(" "));
        assert_eq!(
            tools.unexpand("--with-openssl=/work/repo/target/x"),
            "--with-openssl={root}/target/x"
        );
    }
}
