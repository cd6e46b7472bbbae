//! Host tools a target needs beyond the system's: pinned PyPI packages (zig, wasmtime) in a
//! virtual environment of their own under the cache, keyed by the pinned requirements.
//!
//! Target files refer to that environment as `{tools}` (`{tools}/bin/python -m ziglang cc`),
//! and to the repository as `{root}`.

use crate::Ctx;
use crate::fetch::sha256_bytes;
use crate::progress;
use crate::target::Target;
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

pub struct Tools {
    /// The virtual environment holding the target's pinned PyPI tools, if it needs any.
    pub venv: Option<PathBuf>,
    /// The repository, for the helper scripts a target's commands name as `{root}/xtask/py/...`.
    pub root: PathBuf,
}

impl Tools {
    /// The environment for a target's pinned requirements, keyed by them.
    fn venv_path(ctx: &Ctx, target: &Target) -> (PathBuf, Vec<String>) {
        let mut sorted = target.host_tools.pip.clone();
        sorted.sort();
        let key = sha256_bytes(sorted.join("\n").as_bytes());
        (
            ctx.cache_dir
                .join("tools")
                .join(format!("venv-{}", &key[..16])),
            sorted,
        )
    }

    pub fn is_provisioned(ctx: &Ctx, target: &Target) -> bool {
        target.host_tools.pip.is_empty()
            || Self::venv_path(ctx, target).0.join(".complete").is_file()
    }

    /// Installs (once) the target's pinned PyPI tools.
    pub fn provision(ctx: &Ctx, target: &Target) -> Result<Tools> {
        target.check_chosen_toolchain()?;
        let reqs = &target.host_tools.pip;
        if reqs.is_empty() {
            return Ok(Tools {
                venv: None,
                root: ctx.root.clone(),
            });
        }
        for r in reqs {
            if !r.contains("==") {
                bail!(
                    "target {}: PyPI tool {r:?} is not pinned (write name==version)",
                    target.name
                );
            }
        }
        let (venv, sorted) = Self::venv_path(ctx, target);
        if venv.join(".complete").is_file() {
            return Ok(Tools {
                venv: Some(venv),
                root: ctx.root.clone(),
            });
        }
        if ctx.offline {
            bail!(
                "the pinned tools {} are not installed and --offline forbids installing them",
                sorted.join(", ")
            );
        }
        let tmp = venv.with_extension("tmp");
        let _ = std::fs::remove_dir_all(&tmp);
        let log = ctx.cache_dir.join("tools").join("install.log");
        // The host's python3 only creates the environment; the tools inside are pinned.
        progress::run_logged(
            "tools: create environment",
            Command::new("python3").args(["-m", "venv"]).arg(&tmp),
            &log,
        )
        .context(
            "creating a virtual environment needs python3 with venv (apt-get install python3-venv)",
        )?;
        progress::run_logged(
            &format!("tools: install {}", sorted.join(" ")),
            Command::new(tmp.join("bin/python"))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "--no-input",
                ])
                .args(&sorted),
            &log,
        )?;
        // venv scripts name their own path; this environment is only run as `{tools}/bin/python -m ...`.
        std::fs::write(tmp.join(".complete"), sorted.join("\n"))?;
        let _ = std::fs::remove_dir_all(&venv);
        std::fs::rename(&tmp, &venv)?;
        Ok(Tools {
            venv: Some(venv),
            root: ctx.root.clone(),
        })
    }

    pub fn vars(&self) -> BTreeMap<String, Vec<String>> {
        let mut vars =
            BTreeMap::from([("root".to_string(), vec![self.root.display().to_string()])]);
        if let Some(v) = &self.venv {
            vars.insert("tools".into(), vec![v.display().to_string()]);
        }
        vars
    }

    /// A command from a target file with `{tools}` resolved.
    pub fn expand(&self, argv: &[String]) -> Result<Vec<String>> {
        crate::deps::expand(argv, &self.vars())
    }

    /// The inverse of [`Tools::expand`] on text: this machine's tools and checkout written as
    /// `{tools}` and `{root}`, for records that must be the same on every machine.
    pub fn unexpand(&self, text: &str) -> String {
        // The tools may live inside the checkout, so they go first.
        let mut out = text.to_string();
        if let Some(v) = &self.venv {
            out = out.replace(&v.display().to_string(), "{tools}");
        }
        out.replace(&self.root.display().to_string(), "{root}")
    }

    /// `tool -> version line` for the C compiler and each pinned tool: part of the cache key
    /// and the manifest.
    pub fn versions(&self, target: &Target) -> Result<Vec<(String, String)>> {
        let cc = self.expand(&target.toolchain.cc)?;
        let out = Command::new(&cc[0])
            .args(&cc[1..])
            .arg("--version")
            .output()
            .with_context(|| format!("running {} --version: is the target's C compiler installed? (cargo xtask doctor)", cc.join(" ")))?;
        let first = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        // Named as the target file writes it, so the record (and the cache key) is the same on
        // every machine and checkout; a WASI SDK is named by its real place.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_name_tools_and_checkout_portably() {
        let tools = Tools {
            venv: Some(PathBuf::from("/work/repo/cache/tools/venv-1")),
            root: PathBuf::from("/work/repo"),
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
