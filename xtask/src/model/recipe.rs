//! Recipes: one TOML file per CPython release under `recipes/`.
//!
//! A recipe pins the source (URL and sha256), the patches, the configure flags, which
//! extension modules are built into libpython, and how a build of it is checked. Adding a
//! release means adding a file.

use crate::model::target::Platform;
use crate::util::hash::is_sha256;
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
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
    #[serde(default)]
    pub checks: Checks,
    /// C libraries CPython compiles from its own tree, by the symbol prefixes they define.
    #[serde(default)]
    pub bundled: BTreeMap<String, Vec<String>>,
    /// The file it was read from.
    #[serde(skip)]
    pub path: std::path::PathBuf,
    /// What of the file shapes builds, as data: everything but the checks and the default mark.
    #[serde(skip)]
    pub identity: toml::Table,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub url: String,
    pub sha256: String,
    /// Its length in bytes, when known: a server that announces or sends more is cut off
    /// at once instead of filling the disk until the digest is checked. No part of a build's
    /// identity (the digest already pins the content).
    #[serde(default)]
    pub size: Option<u64>,
}

impl Source {
    /// The last segment of the URL's path (a signed URL's query is not part of it).
    pub fn file_name(&self) -> &str {
        let path = self.url.split(['?', '#']).next().unwrap_or(&self.url);
        path.rsplit('/').next().unwrap_or(path)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    /// Path under `patches/`.
    pub file: String,
    /// Targets the patch applies to; all targets when empty.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Only for targets whose executables are of this kind (`{ kind = "linux", libc = "musl" }`
    /// for the fully static ones), whatever their name: a new target of that kind needs no
    /// edit here.
    #[serde(default)]
    pub platform: Option<Platform>,
}

impl Patch {
    fn applies_to(&self, target: &str, platform: Platform) -> bool {
        (self.targets.is_empty() || self.targets.iter().any(|t| t == target))
            && self.platform.is_none_or(|p| p == platform)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Configure {
    /// Flags for every target.
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra flags per target name.
    #[serde(default)]
    pub targets: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pgo {
    /// Arguments the instrumented python runs to collect the profile.
    pub task: Vec<String>,
    /// What the task prints once it has run to the end, passed or not (regrtest's summary).
    /// A failing task without it crashed early, and its profile would cover start-up only.
    pub completed: String,
    /// Test extension modules (as `Modules/Setup.stdlib` defines them) the task needs. The
    /// optimised build never has them: the instrumented interpreter gets them as
    /// `instrumented_test_modules` says, BOLT's training as extension modules.
    #[serde(default)]
    pub test_modules: Vec<String>,
    /// How the instrumented interpreter gets them (`built-in` unless a release cannot).
    #[serde(default)]
    pub instrumented_test_modules: TestModuleBuild,
    /// The task for an interpreter without the test modules (BOLT trains the production
    /// python3 and the isolate), when `task` would fail there for want of them.
    #[serde(default)]
    pub task_without_test_modules: Option<Vec<String>>,
    /// The task for an interpreter that runs under an emulator (qemu-user, about ten times
    /// slower than native), when `task` would take hours there.
    #[serde(default)]
    pub task_under_emulation: Option<Vec<String>>,
}

/// How the instrumented interpreter gets the test modules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TestModuleBuild {
    /// Compiled into it, as configure's `--enable-test-modules` would.
    #[default]
    BuiltIn,
    /// Loaded as extension modules from the training's `PYTHONPATH`: for a release whose test
    /// modules cannot be built in (3.13's `_testinternalcapi` breaks `_freeze_module`'s link).
    Extensions,
}

impl Pgo {
    /// The task an interpreter runs, with or without the test modules, natively or not.
    pub fn task_for(&self, has_test_modules: bool, emulated: bool) -> &[String] {
        match (&self.task_under_emulation, &self.task_without_test_modules) {
            (Some(task), _) if emulated => task,
            (_, Some(task)) if !has_test_modules => task,
            _ => &self.task,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Modules {
    /// Every extension module of this release, built into libpython unless listed absent.
    pub builtin: Vec<String>,
    /// Deliberately absent modules with the reason, under `"*"` (all targets) or a target name.
    #[serde(default)]
    pub absent: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hacl {
    /// Symbols that must be defined in the installed archives: the proof nothing is stubbed.
    /// Empty before 3.12, which has no HACL* code.
    #[serde(default)]
    pub symbols: Vec<String>,
}

/// How a build of this release is checked; no part of the build's identity.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checks {
    /// CPython's regression tests the isolate must pass exactly as python3 does.
    #[serde(default)]
    pub regrtests: Vec<String>,
    /// Standard-library packages to import, each with the builtin module it needs (`""`: none).
    #[serde(default)]
    pub imports: BTreeMap<String, String>,
}

impl Recipe {
    pub fn parse(path: &Path, text: &str) -> Result<Recipe> {
        let raw: toml::Table =
            toml::from_str(text).with_context(|| format!("parsing recipe {}", path.display()))?;
        let mut recipe: Recipe = raw
            .clone()
            .try_into()
            .with_context(|| format!("recipe {}", path.display()))?;
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
        recipe.identity = raw;
        recipe.identity.remove("checks");
        recipe.identity.remove("default");
        if let Some(toml::Value::Array(sources)) = recipe.identity.get_mut("sources") {
            for s in sources.iter_mut().filter_map(toml::Value::as_table_mut) {
                s.remove("size");
            }
        }
        recipe.path = path.to_path_buf();
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
            if !is_sha256(&s.sha256) {
                bail!(
                    "source {} has sha256 {:?}: expected 64 lowercase hex digits",
                    s.url,
                    s.sha256
                );
            }
            if !s.url.starts_with("https://") {
                bail!("source {} is not an https:// URL", s.url);
            }
            crate::model::check_name(s.file_name(), "source file")?;
        }
        for p in &self.patches {
            check_patch_path(&p.file)?;
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

    /// Every target name the recipe scopes something to, for the catalog to check.
    pub fn target_names(&self) -> BTreeSet<&str> {
        let mut names: BTreeSet<&str> = self
            .patches
            .iter()
            .flat_map(|p| p.targets.iter().map(String::as_str))
            .collect();
        names.extend(self.configure.targets.keys().map(String::as_str));
        names.extend(
            self.modules
                .absent
                .keys()
                .map(String::as_str)
                .filter(|s| *s != "*"),
        );
        names
    }

    /// `3.13.5` -> `3.13`.
    pub fn abi(&self) -> String {
        self.version
            .rsplit_once('.')
            .map_or(self.version.as_str(), |(abi, _)| abi)
            .to_string()
    }

    pub fn patches_for<'a>(
        &'a self,
        target: &'a str,
        platform: Platform,
    ) -> impl Iterator<Item = &'a Patch> {
        self.patches
            .iter()
            .filter(move |p| p.applies_to(target, platform))
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

/// A patch is named by a relative path of plain components under `patches/`.
fn check_patch_path(file: &str) -> Result<()> {
    let ok = file.ends_with(".patch")
        && file
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".." && !c.starts_with('-'))
        && !file.contains('\\');
    if !ok {
        bail!(
            "patch {file:?} must be a relative path under patches/ ending in .patch, without `..`"
        );
    }
    Ok(())
}

impl Recipe {
    /// What of the recipe a build for `target` depends on: other targets' patches, flags and
    /// absent modules are left out, so work on one target does not rebuild the others.
    pub fn identity_for(&self, target: &str, platform: Platform) -> String {
        target_identity(&self.identity, target, platform)
    }
}

fn target_identity(identity: &toml::Table, target: &str, platform: Platform) -> String {
    let mut r = identity.clone();
    let for_target = |v: &toml::Value| {
        v.clone()
            .try_into::<Patch>()
            .is_ok_and(|p| p.applies_to(target, platform))
    };
    if let Some(toml::Value::Array(patches)) = r.get_mut("patches") {
        patches.retain(for_target);
    }
    if let Some(toml::Value::Table(configure)) = r.get_mut("configure")
        && let Some(toml::Value::Table(targets)) = configure.get_mut("targets")
    {
        targets.retain(|t, _| t == target);
    }
    if let Some(toml::Value::Table(modules)) = r.get_mut("modules")
        && let Some(toml::Value::Table(absent)) = modules.get_mut("absent")
    {
        absent.retain(|scope, _| scope == "*" || scope == target);
    }
    serde_json::to_string(&r).expect("a TOML table serialises")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::target::Libc;

    const GLIBC: Platform = Platform::Linux { libc: Libc::Glibc };
    const MUSL: Platform = Platform::Linux { libc: Libc::Musl };

    fn parse(text: &str) -> Result<Recipe> {
        Recipe::parse(Path::new("recipes/3.99.0.toml"), text)
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
        let files: Vec<&str> = r
            .patches_for("x86_64", GLIBC)
            .map(|p| p.file.as_str())
            .collect();
        assert_eq!(files, ["a.patch"]);
        assert_eq!(r.patches_for("wasi", Platform::Wasi).count(), 2);
        assert_eq!(r.configure_args_for("wasi"), ["--x", "--y"]);
        assert_eq!(r.builtin_for("x86_64"), ["zlib", "_socket"]);
        assert_eq!(r.builtin_for("wasi"), ["zlib"]);
        assert_eq!(r.absent_for("wasi").len(), 2);
        assert_eq!(r.target_names().into_iter().collect::<Vec<_>>(), ["wasi"]);
    }

    /// A source's size bounds its download; its digest already pins the content, so pinning
    /// the size of a file rebuilds nothing, while another digest does.
    #[test]
    fn a_sources_size_is_no_part_of_the_identity() {
        let r = parse(MINIMAL).unwrap();
        assert_eq!(r.sources[0].size, None);
        let sized =
            parse(&MINIMAL.replace("7d640\"\n", "7d640\"\n        size = 22856016\n")).unwrap();
        assert_eq!(sized.sources[0].size, Some(22856016));
        assert_eq!(
            sized.identity_for("x86_64", GLIBC),
            r.identity_for("x86_64", GLIBC)
        );
        let other = parse(&MINIMAL.replace("7d640\"", "7d641\"")).unwrap();
        assert_ne!(
            other.identity_for("x86_64", GLIBC),
            r.identity_for("x86_64", GLIBC)
        );
    }

    #[test]
    fn a_patch_for_a_kind_of_platform_applies_to_any_target_of_that_kind() {
        let r = parse(&MINIMAL.replace(
            "file = \"a.patch\"",
            "file = \"a.patch\"\n        platform = { kind = \"linux\", libc = \"musl\" }",
        ))
        .unwrap();
        for musl in ["x86_64-musl", "aarch64-musl", "riscv64-musl"] {
            let files: Vec<&str> = r.patches_for(musl, MUSL).map(|p| p.file.as_str()).collect();
            assert_eq!(files, ["a.patch"], "{musl}");
        }
        assert_eq!(r.patches_for("x86_64", GLIBC).count(), 0);
        assert_eq!(r.patches_for("wasi", Platform::Wasi).count(), 1);
        assert_ne!(
            r.identity_for("aarch64-musl", MUSL),
            r.identity_for("aarch64", GLIBC)
        );
        assert_eq!(
            r.identity_for("x86_64", GLIBC),
            parse(&MINIMAL.replace("[[patches]]\n        file = \"a.patch\"\n        ", ""))
                .unwrap()
                .identity_for("x86_64", GLIBC)
        );
        let bad = MINIMAL.replace(
            "file = \"a.patch\"",
            "file = \"a.patch\"\n        platform = { kind = \"linux\", libc = \"bionic\" }",
        );
        assert!(parse(&bad).is_err());
    }

    #[test]
    fn emulated_and_test_module_less_interpreters_run_their_own_tasks() {
        let r = parse(MINIMAL).unwrap();
        assert_eq!(r.pgo.task_for(false, false), r.pgo.task_for(true, false));
        assert_eq!(r.pgo.task_for(true, true), r.pgo.task_for(true, false));
        let own = parse(&MINIMAL.replace(
            "completed = ",
            "task_without_test_modules = [\"-m\", \"test\", \"test_int\"]\n        \
             task_under_emulation = [\"-m\", \"test\", \"test_long\"]\n        completed = ",
        ))
        .unwrap();
        assert_eq!(own.pgo.task_for(true, false), ["-m", "test", "--pgo"]);
        assert_eq!(own.pgo.task_for(false, false), ["-m", "test", "test_int"]);
        assert_eq!(own.pgo.task_for(true, true), ["-m", "test", "test_long"]);
        assert_eq!(own.pgo.task_for(false, true), ["-m", "test", "test_long"]);
    }

    #[test]
    fn identity_ignores_other_targets_sections_and_the_checks() {
        let r = parse(MINIMAL).unwrap();
        let wasi_only = parse(&MINIMAL.replace(
            "_socket = \"no sockets\"",
            "_socket = \"none\", _ssl = \"none\"",
        ))
        .unwrap();
        assert_eq!(
            r.identity_for("x86_64", GLIBC),
            wasi_only.identity_for("x86_64", GLIBC)
        );
        assert_ne!(
            r.identity_for("wasi", Platform::Wasi),
            wasi_only.identity_for("wasi", Platform::Wasi)
        );
        let common = parse(&MINIMAL.replace("args = [\"--x\"]", "args = [\"--z\"]")).unwrap();
        assert_ne!(
            r.identity_for("x86_64", GLIBC),
            common.identity_for("x86_64", GLIBC)
        );
        let checked = parse(&format!(
            "{MINIMAL}\n[checks]\nregrtests = [\"test_json\"]\n"
        ))
        .unwrap();
        assert_eq!(checked.checks.regrtests, ["test_json"]);
        assert_eq!(
            r.identity_for("x86_64", GLIBC),
            checked.identity_for("x86_64", GLIBC)
        );
    }

    #[test]
    fn bad_recipes_are_refused_with_the_reason() {
        let cases = [
            (MINIMAL.replace("93e583f2", "93E583F2"), "lowercase hex"),
            (
                MINIMAL.replace("_socket = \"no sockets\"", "_sockett = \"no\""),
                "_sockett",
            ),
            (MINIMAL.replace("https://www", "http://www"), "https"),
            (
                MINIMAL.replace("file = \"a.patch\"", "file = \"../../etc/a.patch\""),
                "without `..`",
            ),
            (
                MINIMAL.replace(
                    "version = \"3.99.0\"",
                    "version = \"3.99.0\"\nsetup_local = [\"_x x.c -DA=1\"]",
                ),
                "make variable",
            ),
        ];
        for (text, why) in cases {
            let err = format!("{:#}", parse(&text).unwrap_err());
            assert!(err.contains(why), "{why}: {err}");
        }
        assert!(parse(&MINIMAL.replace("[hacl]", "[hacl]\nsymbol = []")).is_err());
    }
}
