//! Recipes: one TOML file per CPython release under `recipes/`.
//!
//! A recipe pins the source (URL and sha256), the patches, the configure flags, and which
//! extension modules are built into libpython. Adding a release means adding a file.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    pub version: String,
    /// The release the tool builds when no `--python` is given. Exactly one recipe has it.
    #[serde(default)]
    pub default: bool,
    /// Source archives, in order of preference: a mirror lacking the first gets the next.
    pub sources: Vec<Source>,
    #[serde(default)]
    pub patches: Vec<Patch>,
    #[serde(default)]
    pub configure: Configure,
    pub pgo: Pgo,
    pub modules: Modules,
    /// Lines for `Modules/Setup.local`, for modules this release still builds outside
    /// `Setup.stdlib` (3.11's `_ctypes`). `{<library>}` is that C library's prefix.
    #[serde(default)]
    pub setup_local: Vec<String>,
    pub hacl: Hacl,
    /// CPython's regression tests the isolate must pass exactly as python3 does. They check
    /// the build, so they are no part of its identity (an empty list serialises to nothing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regrtests: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub url: String,
    pub sha256: String,
}

impl Source {
    pub fn file_name(&self) -> &str {
        self.url.rsplit('/').next().unwrap_or(&self.url)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    /// Path under `patches/`.
    pub file: String,
    /// Targets the patch applies to; all targets when empty.
    #[serde(default)]
    pub targets: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Configure {
    /// Flags for every target.
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra flags per target name.
    #[serde(default)]
    pub targets: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pgo {
    /// Arguments the instrumented python runs to collect the profile.
    pub task: Vec<String>,
    /// What the task prints once it has run to the end, passed or not (regrtest's summary).
    /// A failing task without it crashed early, and its profile would cover start-up only.
    pub completed: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Modules {
    /// Every extension module of this release, built into libpython unless listed absent.
    pub builtin: Vec<String>,
    /// Deliberately absent modules with the reason, under `"*"` (all targets) or a target name.
    #[serde(default)]
    pub absent: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Hacl {
    /// Symbols that must be defined in the installed archives: the proof nothing is stubbed.
    /// Empty before 3.12, which has no HACL* code.
    #[serde(default)]
    pub symbols: Vec<String>,
}

impl Recipe {
    pub fn load(path: &Path) -> Result<Recipe> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading recipe {}", path.display()))?;
        let recipe: Recipe =
            toml::from_str(&text).with_context(|| format!("parsing recipe {}", path.display()))?;
        recipe
            .validate()
            .with_context(|| format!("recipe {}", path.display()))?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if stem != recipe.version {
            bail!(
                "recipe {} declares version {}: the file must be named {}.toml",
                path.display(),
                recipe.version,
                recipe.version
            );
        }
        Ok(recipe)
    }

    fn validate(&self) -> Result<()> {
        let parts: Vec<&str> = self.version.split('.').collect();
        if parts.len() != 3 || parts.iter().any(|p| p.parse::<u32>().is_err()) {
            bail!("version {:?} is not MAJOR.MINOR.PATCH", self.version);
        }
        if self.sources.is_empty() {
            bail!("no [[sources]]");
        }
        for s in &self.sources {
            if s.sha256.len() != 64
                || !s
                    .sha256
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            {
                bail!(
                    "source {} has sha256 {:?}: expected 64 lowercase hex digits",
                    s.url,
                    s.sha256
                );
            }
            if !s.url.starts_with("https://") {
                bail!("source {} is not an https:// URL", s.url);
            }
        }
        if let Some(line) = self.setup_local.iter().find(|l| l.contains('=')) {
            bail!(
                "setup_local line {line:?} contains `=`, which makesetup reads as a make variable definition"
            );
        }
        let known: BTreeSet<&str> = self.modules.builtin.iter().map(String::as_str).collect();
        if known.len() != self.modules.builtin.len() {
            bail!("[modules] builtin lists a module twice");
        }
        for (scope, absent) in &self.modules.absent {
            for name in absent.keys() {
                if !known.contains(name.as_str()) {
                    bail!(
                        "[modules.absent.{scope:?}] names {name}, which is not in [modules] builtin"
                    );
                }
            }
        }
        Ok(())
    }

    /// `3.13.5` -> `3.13`.
    pub fn abi(&self) -> String {
        self.version
            .rsplit_once('.')
            .map_or(self.version.as_str(), |(abi, _)| abi)
            .to_string()
    }

    pub fn patches_for(&self, target: &str) -> impl Iterator<Item = &Patch> {
        self.patches
            .iter()
            .filter(move |p| p.targets.is_empty() || p.targets.iter().any(|t| t == target))
    }

    pub fn configure_args_for(&self, target: &str) -> Vec<String> {
        let mut args = self.configure.args.clone();
        args.extend(
            self.configure
                .targets
                .get(target)
                .into_iter()
                .flatten()
                .cloned(),
        );
        args
    }

    /// Modules left out on `target`, with reasons.
    pub fn absent_for(&self, target: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for scope in ["*", target] {
            if let Some(m) = self.modules.absent.get(scope) {
                out.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        out
    }

    /// What of this recipe shapes a build for `target`: everything but other targets' patches,
    /// flags and absent modules. The build cache keys on this, so work on one target's
    /// sections does not rebuild the others.
    pub fn build_identity(&self, target: &str) -> String {
        let mut r = self.clone();
        r.patches
            .retain(|p| p.targets.is_empty() || p.targets.iter().any(|t| t == target));
        r.configure.targets.retain(|t, _| t == target);
        r.regrtests.clear();
        r.modules
            .absent
            .retain(|scope, _| scope == "*" || scope == target);
        serde_json::to_string(&r).expect("a recipe serialises")
    }

    /// Modules that must be built in on `target`.
    pub fn builtin_for(&self, target: &str) -> Vec<String> {
        let absent = self.absent_for(target);
        self.modules
            .builtin
            .iter()
            .filter(|m| !absent.contains_key(*m))
            .cloned()
            .collect()
    }
}

/// All recipes in `dir`, sorted by version.
pub fn load_all(dir: &Path) -> Result<Vec<(Recipe, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            out.push((Recipe::load(&path)?, path));
        }
    }
    out.sort_by_key(|(r, _)| {
        r.version
            .split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0))
            .collect::<Vec<_>>()
    });
    Ok(out)
}

/// The recipe for `version`, or the default one; an unknown version lists the known ones.
pub fn select(dir: &Path, version: Option<&str>) -> Result<(Recipe, PathBuf)> {
    let all = load_all(dir)?;
    let versions: Vec<&str> = all.iter().map(|(r, _)| r.version.as_str()).collect();
    let pick = match version {
        Some(v) => all.iter().find(|(r, _)| r.version == v),
        None => {
            let defaults: Vec<_> = all.iter().filter(|(r, _)| r.default).collect();
            if defaults.len() != 1 {
                bail!(
                    "exactly one recipe in {} must say `default = true` (found {})",
                    dir.display(),
                    defaults.len()
                );
            }
            defaults.first().copied()
        }
    };
    match pick {
        Some(found) => Ok(found.clone()),
        None => bail!(
            "no recipe for CPython {}: valid versions are {} (recipes live in {})",
            version.unwrap_or("?"),
            versions.join(", "),
            dir.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipes_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../recipes")
    }

    #[test]
    fn the_shipped_recipes_parse_and_one_is_default() {
        let all = load_all(&recipes_dir()).unwrap();
        let versions: Vec<_> = all.iter().map(|(r, _)| r.version.as_str()).collect();
        assert!(
            versions.contains(&"3.13.5") && versions.contains(&"3.11.2"),
            "{versions:?}"
        );
        let (default, _) = select(&recipes_dir(), None).unwrap();
        assert_eq!(default.version, "3.13.5");
        assert_eq!(default.abi(), "3.13");
        // Every patch a recipe names exists.
        for (r, _) in &all {
            for p in &r.patches {
                let path = recipes_dir().join("../patches").join(&p.file);
                assert!(
                    path.is_file(),
                    "{} names missing patch {}",
                    r.version,
                    path.display()
                );
            }
        }
    }

    #[test]
    fn unknown_version_lists_the_valid_ones() {
        let err = select(&recipes_dir(), Some("2.7.18"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("3.13.5") && err.contains("3.11.2"), "{err}");
    }

    fn parse(text: &str) -> Result<Recipe> {
        let r: Recipe = toml::from_str(text)?;
        r.validate()?;
        Ok(r)
    }

    const MINIMAL: &str = r#"
        version = "3.99.0"
        [[sources]]
        url = "https://www.python.org/ftp/python/3.99.0/Python-3.99.0.tar.xz"
        sha256 = "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640"
        [[patches]]
        file = "a.patch"
        [[patches]]
        file = "b.patch"
        targets = ["wasi"]
        [configure]
        args = ["--x"]
        targets.wasi = ["--y"]
        [pgo]
        task = ["-m", "test", "--pgo"]
        completed = "Total duration:"
        [modules]
        builtin = ["zlib", "_ssl", "_socket"]
        absent."*" = { _ssl = "no" }
        absent.wasi = { _socket = "no sockets" }
        [hacl]
    "#;

    #[test]
    fn per_target_sections_combine() {
        let r = parse(MINIMAL).unwrap();
        assert_eq!(
            r.patches_for("x86_64")
                .map(|p| p.file.as_str())
                .collect::<Vec<_>>(),
            ["a.patch"]
        );
        assert_eq!(r.patches_for("wasi").count(), 2);
        assert_eq!(r.configure_args_for("wasi"), ["--x", "--y"]);
        assert_eq!(r.builtin_for("x86_64"), ["zlib", "_socket"]);
        assert_eq!(r.builtin_for("wasi"), ["zlib"]);
        assert_eq!(r.absent_for("wasi").len(), 2);
    }

    #[test]
    fn build_identity_ignores_other_targets_sections() {
        let r = parse(MINIMAL).unwrap();
        let wasi_only = parse(&MINIMAL.replace(
            "_socket = \"no sockets\"",
            "_socket = \"none\", _ssl = \"none\"",
        ))
        .unwrap();
        assert_eq!(
            r.build_identity("x86_64"),
            wasi_only.build_identity("x86_64")
        );
        assert_ne!(r.build_identity("wasi"), wasi_only.build_identity("wasi"));
        let common = parse(&MINIMAL.replace("args = [\"--x\"]", "args = [\"--z\"]")).unwrap();
        assert_ne!(r.build_identity("x86_64"), common.build_identity("x86_64"));
        // The tests run against a build check it; listing more must not rebuild it.
        let checked = parse(&MINIMAL.replace(
            "version = \"3.99.0\"",
            "version = \"3.99.0\"\nregrtests = [\"test_json\"]",
        ))
        .unwrap();
        assert_eq!(checked.regrtests, ["test_json"]);
        assert_eq!(r.build_identity("x86_64"), checked.build_identity("x86_64"));
    }

    #[test]
    fn bad_recipes_are_refused_with_the_reason() {
        let bad_sha = MINIMAL.replace("93e583f2", "93E583F2");
        assert!(
            parse(&bad_sha)
                .unwrap_err()
                .to_string()
                .contains("lowercase hex")
        );
        let typo = MINIMAL.replace("_socket = \"no sockets\"", "_sockett = \"no\"");
        assert!(parse(&typo).unwrap_err().to_string().contains("_sockett"));
        let unknown_key = MINIMAL.replace("[hacl]", "[hacl]\nsymbol = []");
        assert!(parse(&unknown_key).is_err());
        let http = MINIMAL.replace("https://www", "http://www");
        assert!(parse(&http).unwrap_err().to_string().contains("https"));
        let eq = MINIMAL.replace(
            "version = \"3.99.0\"",
            "version = \"3.99.0\"\nsetup_local = [\"_x x.c -DA=1\"]",
        );
        assert!(
            parse(&eq)
                .unwrap_err()
                .to_string()
                .contains("make variable")
        );
    }
}
