//! The resolved model: what a command works on, loaded once and passed down.
//!
//! [`Settings`] are the command line's global options with their defaults resolved;
//! [`Catalog`] is every recipe, target and C library recipe in the repository, read and
//! cross-checked together; [`Model`] is one build's choice among them (recipe, target,
//! flavor) with its host tools; [`sysroot::Sysroot`] is a built sysroot with its manifest.

pub mod cargo_tool;
pub mod library;
pub mod mirror;
pub mod recipe;
pub mod sysroot;
pub mod target;
pub mod tools;

use crate::util::fs;
use anyhow::{Context, Result, bail};
use library::Library;
use mirror::Mirror;
use recipe::Recipe;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use sysroot_manifest::Flavor;
use target::{Runner, Target};
use tools::{Install, Tools};

/// Where things are.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The repository: recipes/, patches/, sysroots/*.toml, engine/.
    pub root: PathBuf,
    /// Where sysroots are published (`sysroots/` by default).
    pub sysroots: PathBuf,
    /// Verified downloads and pinned tools.
    pub cache: PathBuf,
    /// Scratch space for builds: unpacked sources, build trees, C libraries.
    pub work: PathBuf,
}

impl Layout {
    pub fn recipes_dir(&self) -> PathBuf {
        self.root.join("recipes")
    }
    pub fn libraries_dir(&self) -> PathBuf {
        self.root.join("recipes/deps")
    }
    pub fn targets_dir(&self) -> PathBuf {
        self.root.join("sysroots")
    }
    pub fn patches_dir(&self) -> PathBuf {
        self.root.join("patches")
    }
    pub fn corpus_dir(&self) -> PathBuf {
        self.root.join("engine/corpus")
    }
    pub fn helpers_dir(&self) -> PathBuf {
        self.root.join("xtask/py")
    }

    /// Where a sysroot for this build is published.
    pub fn sysroot_dir(&self, target: &str, version: &str, flavor: Flavor) -> PathBuf {
        let name = match flavor {
            Flavor::Static => version.to_string(),
            other => format!("{version}-{other}"),
        };
        self.sysroots.join(target).join(name)
    }

    /// The default cache: `$XDG_CACHE_HOME/pysysroot`, else `~/.cache/pysysroot`. Relative or
    /// empty values are ignored, as the XDG specification says, so a stray empty variable
    /// never puts the cache in the current directory.
    pub fn default_cache(env: impl Fn(&str) -> Option<String>) -> Result<PathBuf> {
        let absolute = |v: Option<String>| v.map(PathBuf::from).filter(|p| p.is_absolute());
        absolute(env("XDG_CACHE_HOME"))
            .or_else(|| absolute(env("HOME")).map(|h| h.join(".cache")))
            .map(|d| d.join("pysysroot"))
            .context("no cache directory: HOME and XDG_CACHE_HOME are unset or not absolute paths; pass --cache-dir DIR or set PYSYSROOT_CACHE")
    }
}

/// The global options, resolved.
#[derive(Clone)]
pub struct Settings {
    pub layout: Layout,
    pub mirror: Option<Mirror>,
    /// Use only the cache: never download.
    pub offline: bool,
    pub jobs: usize,
    /// Binary caches a sysroot may be substituted from, in order.
    pub binary_caches: Vec<crate::util::store::Store>,
    /// Keys whose signatures on a substitute are trusted.
    pub trusted_keys: Vec<minisign::PublicKey>,
}

impl Settings {
    /// The keys from `--trusted-key`/`PYSYSROOT_TRUSTED_KEYS` (a key, a `.pub` file, or a file
    /// of either, one per line) and from `trusted-keys` in the user's configuration directory.
    pub fn trusted_keys(
        specs: &[String],
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<minisign::PublicKey>> {
        let mut keys = Vec::new();
        let config = env("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| {
                env("HOME")
                    .map(|h| PathBuf::from(h).join(".config"))
                    .filter(|p| p.is_absolute())
            })
            .map(|d| d.join("pysysroot/trusted-keys"));
        let mut lines: Vec<String> = specs.to_vec();
        if let Some(file) = config.filter(|f| f.is_file()) {
            lines.extend(fs::read_to_string(&file)?.lines().map(String::from));
        }
        for line in lines
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            keys.push(
                crate::util::sign::public_key(line)
                    .with_context(|| format!("trusted key {line:?}"))?,
            );
        }
        Ok(keys)
    }
}

/// Every recipe, target and C library recipe of the repository, checked against each other.
pub struct Catalog {
    pub recipes: Vec<Recipe>,
    pub targets: Vec<Target>,
    pub libraries: BTreeMap<String, Library>,
}

impl Catalog {
    pub fn load(layout: &Layout) -> Result<Catalog> {
        let env = |var: &str| std::env::var(var).ok();
        let mut recipes = Vec::new();
        for (path, text) in toml_files(&layout.recipes_dir())? {
            recipes.push(Recipe::parse(&path, &text)?);
        }
        recipes.sort_by_key(|r| crate::util::elf::version_key(&r.version));
        let mut targets = Vec::new();
        for (path, text) in toml_files(&layout.targets_dir())? {
            targets.push(Target::parse(&path, &text, env)?);
        }
        targets.sort_by(|a, b| a.name.cmp(&b.name));
        let mut libraries = BTreeMap::new();
        for (path, text) in toml_files(&layout.libraries_dir())? {
            if path.file_name().is_some_and(|n| n == "Cargo.toml") {
                continue;
            }
            let lib = Library::parse(&path, &text)?;
            libraries.insert(lib.name.clone(), lib);
        }
        let catalog = Catalog {
            recipes,
            targets,
            libraries,
        };
        catalog.cross_check(layout)?;
        Ok(catalog)
    }

    /// What the files promise each other: recipes scope things to targets that exist, name
    /// patches that exist; targets name C libraries that have recipes; one recipe is default.
    fn cross_check(&self, layout: &Layout) -> Result<()> {
        let defaults: Vec<&str> = self
            .recipes
            .iter()
            .filter(|r| r.default)
            .map(|r| r.version.as_str())
            .collect();
        if defaults.len() != 1 {
            bail!(
                "exactly one recipe in {} must say `default = true` (found {}: {})",
                layout.recipes_dir().display(),
                defaults.len(),
                defaults.join(", ")
            );
        }
        for r in &self.recipes {
            for name in r.target_names() {
                if !self.targets.iter().any(|t| t.name == name) {
                    bail!(
                        "recipe {} names target {name:?}, which has no file in {} (valid: {})",
                        r.path.display(),
                        layout.targets_dir().display(),
                        self.target_names()
                    );
                }
            }
            for p in &r.patches {
                let file = layout.patches_dir().join(&p.file);
                if !file.is_file() {
                    bail!(
                        "recipe {} names patch {}, which does not exist",
                        r.path.display(),
                        file.display()
                    );
                }
            }
        }
        for t in &self.targets {
            for dep in &t.deps {
                if !self.libraries.contains_key(dep) {
                    bail!(
                        "target {} needs C library {dep:?}, which has no recipe in {}",
                        t.path.display(),
                        layout.libraries_dir().display()
                    );
                }
            }
        }
        Ok(())
    }

    /// The recipe for `version`, or the default one; an unknown version lists the known ones.
    pub fn recipe(&self, version: Option<&str>) -> Result<&Recipe> {
        let found = match version {
            Some(v) => self.recipes.iter().find(|r| r.version == v),
            None => self.recipes.iter().find(|r| r.default),
        };
        found.with_context(|| {
            format!(
                "no recipe for CPython {}: pass --python with one of {} (recipes live in recipes/)",
                version.unwrap_or("?"),
                self.recipes
                    .iter()
                    .map(|r| r.version.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }

    /// The target called `name` (its short name or Rust triple); an unknown one lists the valid ones.
    pub fn target(&self, name: &str) -> Result<&Target> {
        // A Rust triple names the baseline target: variants for a CPU level share it.
        let by_triple = || {
            self.targets
                .iter()
                .find(|t| t.rust_triple == name && t.cpu.is_none())
        };
        self.targets
            .iter()
            .find(|t| t.name == name)
            .or_else(by_triple)
            .with_context(|| {
                format!(
                    "unknown target {name:?}: pass --target with one of {} (defined in sysroots/*.toml)",
                    self.target_names()
                )
            })
    }

    fn target_names(&self) -> String {
        self.targets
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Resolves one build's choice: recipe, target and flavor, with the target's tools.
    pub fn resolve<'c>(
        &'c self,
        settings: &'c Settings,
        target: &str,
        python: Option<&str>,
        flavor: Flavor,
        install: Install,
    ) -> Result<Model<'c>> {
        let target = self.target(target)?;
        let recipe = self.recipe(python)?;
        if !target.supports(flavor) {
            bail!(
                "target {} has no {flavor} flavor (it has: {})",
                target.name,
                target.flavor_names()
            );
        }
        let tools = Tools::resolve(
            &settings.layout.root,
            &settings.layout.cache,
            target,
            settings.offline,
            install,
        )?;
        let runner = target.runner.expand(&tools.vars())?;
        Ok(Model {
            settings,
            catalog: self,
            recipe,
            target,
            flavor,
            tools,
            runner,
        })
    }
}

/// One build's choice, resolved.
pub struct Model<'c> {
    pub settings: &'c Settings,
    pub catalog: &'c Catalog,
    pub recipe: &'c Recipe,
    pub target: &'c Target,
    pub flavor: Flavor,
    pub tools: Tools,
    /// The target's runner with `{tools}` and `{root}` resolved.
    pub runner: Runner,
}

impl Model<'_> {
    pub fn layout(&self) -> &Layout {
        &self.settings.layout
    }

    /// Where this build's sysroot is published.
    pub fn sysroot_dir(&self) -> PathBuf {
        self.layout()
            .sysroot_dir(&self.target.name, &self.recipe.version, self.flavor)
    }

    /// The C libraries the target needs, in build order.
    pub fn libraries(&self) -> Vec<&Library> {
        self.target
            .deps
            .iter()
            .map(|d| &self.catalog.libraries[d])
            .collect()
    }

    /// Symbol prefixes of every C library bundled into the sysroot, CPython's own and ours:
    /// an embedding executable exports none of them.
    pub fn bundled_symbol_prefixes(&self) -> Vec<&str> {
        self.recipe
            .bundled
            .values()
            .flatten()
            .chain(self.libraries().into_iter().flat_map(|l| &l.symbols))
            .map(String::as_str)
            .collect()
    }

    /// `target python flavor`, for messages.
    pub fn describe(&self) -> String {
        format!(
            "{} {} {}",
            self.target.name, self.recipe.version, self.flavor
        )
    }
}

/// The `*.toml` files directly in `dir`, sorted, with their text.
fn toml_files(dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| fs::io_error(e, "listing", dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| fs::read_to_string(&p).map(|t| (p, t)))
        .collect()
}

/// A name that becomes part of a path (a C library, a source file): plain characters, no
/// directory parts.
pub fn check_name(name: &str, what: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b));
    if !ok {
        bail!(
            "{what} name {name:?} must be a plain file name (letters, digits, `._+-`), without `/` or `..`"
        );
    }
    Ok(())
}

/// A relative path inside a tree: plain components, no `..`, not absolute.
pub fn check_relative(path: &str, what: &str) -> Result<()> {
    let ok = !path.is_empty()
        && !path.starts_with('/')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..");
    if !ok {
        bail!("{what} {path:?} must be a relative path without `..`");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> Layout {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .to_path_buf();
        Layout {
            sysroots: root.join("sysroots"),
            cache: std::env::temp_dir().join("xtask-test-cache"),
            work: root.join("target/pysysroot"),
            root,
        }
    }

    #[test]
    fn the_shipped_catalog_loads_and_cross_checks() {
        let c = Catalog::load(&repo()).unwrap();
        assert!(!c.recipes.is_empty() && !c.targets.is_empty());
        let default = c.recipe(None).unwrap();
        assert!(default.default);
        for t in &c.targets {
            assert!(t.supports(Flavor::Static), "{}", t.name);
            let by_triple = c.target(&t.rust_triple).unwrap();
            assert!(by_triple.name == t.name || t.cpu.is_some(), "{}", t.name);
            assert!(by_triple.cpu.is_none());
        }
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let c = Catalog::load(&repo()).unwrap();
        let err = c.recipe(Some("2.7.18")).unwrap_err().to_string();
        for r in &c.recipes {
            assert!(err.contains(&r.version), "{err}");
        }
        let err = c.target("riscv64").unwrap_err().to_string();
        assert!(
            err.contains("riscv64") && err.contains(&c.targets[0].name),
            "{err}"
        );
    }

    #[test]
    fn the_cache_never_lands_in_the_current_directory() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            Layout::default_cache(env(&[("HOME", "/home/u")])).unwrap(),
            Path::new("/home/u/.cache/pysysroot")
        );
        assert_eq!(
            Layout::default_cache(env(&[("HOME", "/home/u"), ("XDG_CACHE_HOME", "")])).unwrap(),
            Path::new("/home/u/.cache/pysysroot")
        );
        assert_eq!(
            Layout::default_cache(env(&[("HOME", "/h"), ("XDG_CACHE_HOME", "/x")])).unwrap(),
            Path::new("/x/pysysroot")
        );
        let err = Layout::default_cache(env(&[("HOME", ""), ("XDG_CACHE_HOME", "rel")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("--cache-dir"), "{err}");
    }

    #[test]
    fn names_that_would_escape_are_refused() {
        for bad in ["../x", "a/b", "", ".hidden", "-flag"] {
            assert!(check_name(bad, "C library").is_err(), "{bad:?}");
        }
        check_name("openssl", "C library").unwrap();
        for bad in ["../x", "/etc/passwd", "a/../b", ""] {
            assert!(check_relative(bad, "licence file").is_err(), "{bad:?}");
        }
        check_relative("a/LICENSE", "licence file").unwrap();
    }
}
