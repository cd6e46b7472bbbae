//! The pyperformance suite as data: which benchmarks (`recipes/tools/pyperformance.toml`),
//! the subset a run selects, and where the pinned packages put the scripts and pyperf.

use crate::model::Layout;
use crate::model::tools::{self, Install};
use crate::util::fs;
use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The tool file that pins the packages and lists the benchmarks.
pub const TOOL: &str = "pyperformance";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub benchmark: Vec<Benchmark>,
}

#[derive(Deserialize, Serialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Benchmark {
    /// The name pyperf reports for it.
    pub name: String,
    /// The script's directory under pyperformance's `data-files/benchmarks`.
    pub dir: String,
    /// Arguments before pyperf's: pyperformance's `extra_opts` for the variant.
    #[serde(default)]
    pub args: Vec<String>,
    /// pyperf's `--worker-task`: which of the script's benchmarks.
    #[serde(default)]
    pub task: u32,
    /// In the `--quick` subset.
    #[serde(default)]
    pub quick: bool,
}

/// The installed suite.
pub struct Suite {
    /// `pyperformance/data-files/benchmarks` in the pinned environment.
    pub benchmarks: PathBuf,
    /// The directory of the pinned pyperf package.
    pub pyperf: PathBuf,
    /// `name==version` of pyperformance and pyperf.
    pub versions: Vec<String>,
}

/// The catalogue and the pinned requirements, without installing anything.
pub fn load(layout: &Layout) -> Result<(Vec<String>, Catalogue)> {
    let (requirements, catalogue): (Vec<String>, Catalogue) = tools::tool_file(layout, TOOL)?;
    let mut seen = BTreeSet::new();
    for b in &catalogue.benchmark {
        ensure!(
            seen.insert(&b.name),
            "recipes/tools/{TOOL}.toml lists {} twice: remove one",
            b.name
        );
    }
    Ok((requirements, catalogue))
}

/// The benchmarks a run measures: those named (in the file's order), else the quick subset
/// or all of them.
pub fn select<'c>(
    catalogue: &'c Catalogue,
    quick: bool,
    names: &[String],
) -> Result<Vec<&'c Benchmark>> {
    if let Some(unknown) = names
        .iter()
        .find(|n| !catalogue.benchmark.iter().any(|b| &b.name == *n))
    {
        let known: Vec<&str> = catalogue
            .benchmark
            .iter()
            .map(|b| b.name.as_str())
            .collect();
        bail!(
            "no benchmark {unknown:?} in recipes/tools/{TOOL}.toml; it has: {}",
            known.join(", ")
        );
    }
    Ok(catalogue
        .benchmark
        .iter()
        .filter(|b| match names.is_empty() {
            false => names.contains(&b.name),
            true => b.quick || !quick,
        })
        .collect())
}

/// Installs the pinned packages (once, under the cache) and finds the scripts and pyperf.
pub fn install(
    layout: &Layout,
    requirements: &[String],
    offline: bool,
    install: Install,
) -> Result<Suite> {
    let how = "cargo xtask bench --suite pyperformance installs them";
    let venv = tools::pinned_env(&layout.cache, requirements, offline, install, how)?;
    locate(&venv, requirements)
}

/// The scripts and pyperf inside the environment pip made.
fn locate(venv: &Path, requirements: &[String]) -> Result<Suite> {
    let site = std::fs::read_dir(venv.join("lib"))
        .with_context(|| format!("reading {}", venv.join("lib").display()))?
        .flatten()
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.is_dir())
        .with_context(|| {
            format!(
                "no lib/python*/site-packages in {}: remove it and run again",
                venv.display()
            )
        })?;
    let suite = Suite {
        benchmarks: site.join("pyperformance/data-files/benchmarks"),
        pyperf: site.join("pyperf"),
        versions: requirements
            .iter()
            .filter_map(|r| r.split_whitespace().next())
            .filter(|r| r.starts_with("pyperformance==") || r.starts_with("pyperf=="))
            .map(String::from)
            .collect(),
    };
    for dir in [&suite.benchmarks, &suite.pyperf] {
        ensure!(
            dir.is_dir(),
            "{} is missing from the pinned environment: remove {} and run again",
            dir.display(),
            venv.display()
        );
    }
    Ok(suite)
}

impl Suite {
    /// The script a benchmark runs.
    pub fn script(&self, b: &Benchmark) -> Result<PathBuf> {
        let path = self.benchmarks.join(&b.dir).join("run_benchmark.py");
        ensure!(
            path.is_file(),
            "{} does not exist: fix `dir` of {} in recipes/tools/{TOOL}.toml",
            path.display(),
            b.name
        );
        Ok(path)
    }

    /// A directory holding pyperf alone, for the contestants' PYTHONPATH: the environment's
    /// site-packages also holds pip, psutil and packaging, which would make the run differ
    /// from one that has pyperf only.
    pub fn pythonpath(&self, dir: &Path) -> Result<PathBuf> {
        fs::remove_dir_all(dir)?;
        fs::create_dir_all(dir)?;
        let link = dir.join("pyperf");
        std::os::unix::fs::symlink(&self.pyperf, &link)
            .with_context(|| format!("linking {} to {}", link.display(), self.pyperf.display()))?;
        Ok(dir.to_path_buf())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        Layout {
            root: root.to_path_buf(),
            sysroots: root.join("sysroots"),
            cache: root.join("target/no-cache"),
            work: root.join("target/pysysroot"),
        }
    }

    #[test]
    fn the_committed_suite_is_pinned_and_sized() {
        let (requirements, catalogue) = load(&layout()).unwrap();
        assert!(requirements.iter().all(|r| r.contains("--hash=sha256:")));
        assert!(requirements.iter().any(|r| r.starts_with("pyperf==")));
        let all = select(&catalogue, false, &[]).unwrap();
        assert!((30..=40).contains(&all.len()), "{} benchmarks", all.len());
        let quick = select(&catalogue, true, &[]).unwrap();
        assert!((5..=8).contains(&quick.len()), "{} quick", quick.len());
        assert!(quick.iter().any(|b| b.name == "python_startup"));
    }

    #[test]
    fn names_select_in_file_order_and_unknown_names_are_errors() {
        let catalogue: Catalogue = toml::from_str(
            r#"
            [[benchmark]]
            name = "a"
            dir = "bm_a"
            quick = true
            [[benchmark]]
            name = "b"
            dir = "bm_b"
            args = ["x"]
            task = 2
            "#,
        )
        .unwrap();
        let names = |v: Vec<&Benchmark>| v.iter().map(|b| b.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(select(&catalogue, false, &[]).unwrap()), ["a", "b"]);
        assert_eq!(names(select(&catalogue, true, &[]).unwrap()), ["a"]);
        let picked = select(&catalogue, true, &["b".into(), "a".into()]).unwrap();
        assert_eq!(names(picked), ["a", "b"]);
        let err = select(&catalogue, false, &["c".into()]).unwrap_err();
        assert!(err.to_string().contains("it has: a, b"), "{err}");
        let typo =
            toml::from_str::<Catalogue>("[[benchmark]]\nname = \"a\"\ndir = \"d\"\nquik = true\n");
        assert!(typo.is_err());
    }
}
