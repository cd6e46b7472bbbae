//! Target definitions: one TOML file per target under `sysroots/` (`sysroots/x86_64.toml`).
//!
//! A target says how to compile for it (C toolchain, configure answers), how to run its
//! programs here (natively, under qemu, under a WASI runtime), which C libraries it gets,
//! how an executable links, and which host packages all that needs.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Short name used on the command line; must match the file name.
    pub name: String,
    /// Rust target triple of the isolate.
    pub rust_triple: String,
    /// GNU triple for configure's `--host`.
    pub host: String,
    pub pointer_width: u32,
    /// Built on a different architecture: needs a build python and a runner.
    #[serde(default)]
    pub cross: bool,
    pub toolchain: Toolchain,
    /// Toolchains a user may put in place of the pinned one by pointing an environment variable
    /// at an installation (`WASI_SDK_PATH=/opt/wasi-sdk`); `{VAR}` in them is that directory.
    /// Resolved when the file is loaded, so nothing downstream (cache key included) sees both.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub toolchain_from_env: BTreeMap<String, Toolchain>,
    /// `(VAR, dir)` when a toolchain from [`Target::toolchain_from_env`] was chosen.
    #[serde(skip)]
    pub toolchain_chosen_by: Option<(String, String)>,
    /// Command prefix that runs a target program here (`qemu-aarch64 -L ...`); empty when native.
    /// `{tools}` is the provisioned tool directory.
    #[serde(default)]
    pub runner: Vec<String>,
    /// Whether the instrumented interpreter can run here to collect a PGO profile.
    pub pgo: bool,
    /// Whether LTO is applied (`--with-lto` and an LTO-optimised libpython object).
    #[serde(default = "yes")]
    pub lto: bool,
    #[serde(default)]
    pub configure: Configure,
    /// C libraries built for this target from `recipes/deps/<name>.toml`, in build order.
    #[serde(default)]
    pub deps: Vec<String>,
    /// Values substituted into dependency build commands (`{openssl_target}` ...).
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// How libpython is compiled and an executable linked, per flavor the target supports.
    pub flavors: BTreeMap<String, FlavorFlags>,
    #[serde(default)]
    pub host_tools: HostTools,
    /// The oldest glibc the target's executables must run on (`dist` checks their symbol
    /// versions against it); none for targets without glibc.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glibc_baseline: Option<String>,
}

fn yes() -> bool {
    true
}

fn default_cflags() -> Vec<String> {
    vec!["-O2".into()]
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Toolchain {
    /// C compiler command (program and leading arguments). `{tools}` is the tool directory.
    pub cc: Vec<String>,
    pub ar: Vec<String>,
    pub ranlib: Vec<String>,
    /// `nm` that understands this target's objects, for symbol checks.
    pub nm: Vec<String>,
    /// Compiler flags for the C libraries (`-O2`); CPython picks its own.
    #[serde(default = "default_cflags")]
    pub cflags: Vec<String>,
    /// The linker `cargo` uses for the isolate (`CARGO_TARGET_<TRIPLE>_LINKER`), when not the
    /// default: a program, or a command that xtask wraps in a script (cargo takes one path).
    #[serde(default)]
    pub rust_linker: Option<Vec<String>>,
    /// Variables for every `make` that compiles CPython (`EXTRA_CFLAGS=...`), passed on make's
    /// command line so make expands them per target (`$@` is the object being compiled).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub make_args: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Configure {
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment for configure: answers it cannot probe when cross compiling, `CONFIG_SITE`...
    /// `{src}` is the CPython source directory.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FlavorFlags {
    /// Added to CPython's `CFLAGS` (`-fno-pie`, `-fPIC`).
    #[serde(default)]
    pub cflags: Vec<String>,
    /// Added when linking `python3` and the isolate (`-no-pie`, stack size...).
    #[serde(default)]
    pub ldflags: Vec<String>,
    /// Extra `RUSTFLAGS` for the isolate.
    #[serde(default)]
    pub rustflags: Vec<String>,
    /// Libraries an embedder links after libpython (`-l` names): what the C compiler's own
    /// link adds and rustc's (`-nodefaultlibs`) does not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub libs: Vec<String>,
    /// What the embedder's final link makes, as GCC's `-flinker-output` names it (`exec`,
    /// `pie`). The LTO object is optimised as for that link: CPython's hidden symbols become
    /// local and are inlined as in python3's own link. Unset, GCC must assume a later link
    /// may still reference them (`nolto-rel`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lto_link_output: Option<LinkOutput>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkOutput {
    Exec,
    Pie,
}

impl LinkOutput {
    /// GCC's `-flinker-output` value.
    pub fn as_gcc(self) -> &'static str {
        match self {
            LinkOutput::Exec => "exec",
            LinkOutput::Pie => "pie",
        }
    }
}

/// What the host needs for this target, by the package manager that provides it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostTools {
    /// Debian packages.
    #[serde(default)]
    pub apt: Vec<String>,
    /// `rustup target add` names.
    #[serde(default)]
    pub rustup: Vec<String>,
    /// Pinned PyPI requirements installed into the tool environment (`ziglang==0.14.1`).
    #[serde(default)]
    pub pip: Vec<String>,
}

impl Target {
    pub fn load(path: &Path) -> Result<Target> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading target {}", path.display()))?;
        let target: Target =
            toml::from_str(&text).with_context(|| format!("parsing target {}", path.display()))?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if stem != target.name {
            bail!(
                "target {} is named {:?}: the file must be {}.toml",
                path.display(),
                target.name,
                target.name
            );
        }
        let mut target = target;
        target.choose_toolchain(|var| std::env::var(var).ok())?;
        for flavor in target.flavors.keys() {
            if !sysroot_manifest::Flavor::ALL
                .iter()
                .any(|f| f.as_str() == flavor)
            {
                bail!(
                    "target {}: [flavors.{flavor}] is not a flavor (static, static-pic, shared)",
                    target.name
                );
            }
        }
        Ok(target)
    }

    /// Puts the toolchain an environment variable selects in place of the pinned one.
    fn choose_toolchain(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<()> {
        let alternatives = std::mem::take(&mut self.toolchain_from_env);
        let set: Vec<(String, String)> = alternatives
            .keys()
            .filter_map(|var| {
                env(var)
                    .filter(|v| !v.is_empty())
                    .map(|dir| (var.clone(), dir))
            })
            .collect();
        let Some((var, dir)) = set.first() else {
            return Ok(());
        };
        if set.len() > 1 {
            bail!(
                "target {}: both {} and {} select a toolchain: unset one",
                self.name,
                set[0].0,
                set[1].0
            );
        }
        let mut tc = alternatives[var].clone();
        let pattern = format!("{{{var}}}");
        for argv in [&mut tc.cc, &mut tc.ar, &mut tc.ranlib, &mut tc.nm]
            .into_iter()
            .chain(tc.rust_linker.as_mut())
        {
            for arg in argv.iter_mut() {
                *arg = arg.replace(&pattern, dir);
            }
        }
        self.toolchain = tc;
        self.toolchain_chosen_by = Some((var.clone(), dir.clone()));
        Ok(())
    }

    /// A toolchain chosen through the environment must exist; checked when the target is used,
    /// so a stale `WASI_SDK_PATH` does not break builds for other targets.
    pub fn check_chosen_toolchain(&self) -> Result<()> {
        if let Some((var, dir)) = &self.toolchain_chosen_by
            && !Path::new(&self.toolchain.cc[0]).is_file()
        {
            bail!(
                "target {}: {var}={dir} has no C compiler at {}: point {var} at an installation, or unset {var} to use the pinned toolchain",
                self.name,
                self.toolchain.cc[0]
            );
        }
        Ok(())
    }

    /// What of this definition shapes a `flavor` build: everything but the other flavors and
    /// the host packages. The build cache keys on this, so editing those does not rebuild.
    pub fn build_identity(&self, flavor: sysroot_manifest::Flavor) -> String {
        let mut t = self.clone();
        t.flavors.retain(|name, _| name == flavor.as_str());
        t.host_tools = HostTools::default();
        t.glibc_baseline = None;
        serde_json::to_string(&t).expect("a target serialises")
    }

    pub fn supports(&self, flavor: sysroot_manifest::Flavor) -> bool {
        self.flavors.contains_key(flavor.as_str())
    }

    /// The flags for a flavor; callers check [`Target::supports`] first.
    pub fn flavor(&self, flavor: sysroot_manifest::Flavor) -> &FlavorFlags {
        &self.flavors[flavor.as_str()]
    }
}

/// Every `*.toml` directly in `dir`.
pub fn load_all(dir: &Path) -> Result<Vec<(Target, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            out.push((Target::load(&path)?, path));
        }
    }
    out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    Ok(out)
}

/// The target called `name` (its short name or Rust triple); an unknown one lists the valid ones.
pub fn select(dir: &Path, name: &str) -> Result<(Target, PathBuf)> {
    let all = load_all(dir)?;
    if let Some(found) = all
        .iter()
        .find(|(t, _)| t.name == name || t.rust_triple == name)
    {
        return Ok(found.clone());
    }
    let names: Vec<&str> = all.iter().map(|(t, _)| t.name.as_str()).collect();
    bail!(
        "unknown target {name:?}: valid targets are {} (defined in {})",
        names.join(", "),
        dir.display()
    )
}

/// The target this machine runs natively.
pub fn native_name() -> &'static str {
    std::env::consts::ARCH
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../sysroots")
    }

    #[test]
    fn shipped_targets_parse_and_name_their_deps() {
        let all = load_all(&dir()).unwrap();
        let names: Vec<_> = all.iter().map(|(t, _)| t.name.as_str()).collect();
        assert!(names.contains(&"x86_64"), "{names:?}");
        for (t, _) in &all {
            assert!(
                t.supports(sysroot_manifest::Flavor::Static),
                "{} lacks the static flavor",
                t.name
            );
            for dep in &t.deps {
                let file = dir().join("../recipes/deps").join(format!("{dep}.toml"));
                assert!(
                    file.is_file(),
                    "{} needs dep {dep} but {} is missing",
                    t.name,
                    file.display()
                );
            }
        }
    }

    #[test]
    fn an_environment_variable_swaps_in_its_toolchain() {
        // The file as written, whatever this shell has set.
        let path = dir().join("wasi.toml");
        let t: Target = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(
            t.toolchain_from_env.contains_key("WASI_SDK_PATH"),
            "wasi.toml offers no WASI SDK toolchain"
        );

        let sdk = std::env::temp_dir().join(format!("fake-wasi-sdk-{}", std::process::id()));
        std::fs::create_dir_all(sdk.join("bin")).unwrap();
        std::fs::write(sdk.join("bin/clang"), "").unwrap();
        let sdk_str = sdk.display().to_string();

        let mut unset = t.clone();
        unset.choose_toolchain(|_| None).unwrap();
        assert_eq!(
            unset.toolchain.cc, t.toolchain.cc,
            "nothing set: the pinned compiler stays"
        );
        assert!(unset.toolchain_from_env.is_empty() && unset.toolchain_chosen_by.is_none());
        // The alternatives never reach the cache key, so adding one does not rebuild anything.
        assert_eq!(unset.build_identity(sysroot_manifest::Flavor::Static), {
            let mut bare = t.clone();
            bare.toolchain_from_env.clear();
            bare.build_identity(sysroot_manifest::Flavor::Static)
        });

        let mut chosen = t.clone();
        chosen
            .choose_toolchain(|v| (v == "WASI_SDK_PATH").then(|| sdk_str.clone()))
            .unwrap();
        assert_eq!(chosen.toolchain.cc[0], format!("{sdk_str}/bin/clang"));
        assert!(
            chosen.toolchain.nm[0].starts_with(&sdk_str),
            "{:?}",
            chosen.toolchain.nm
        );
        assert!(chosen.toolchain.rust_linker.as_ref().unwrap()[0].starts_with(&sdk_str));
        assert_ne!(
            chosen.build_identity(sysroot_manifest::Flavor::Static),
            unset.build_identity(sysroot_manifest::Flavor::Static)
        );
        assert_eq!(
            chosen.toolchain_chosen_by,
            Some(("WASI_SDK_PATH".to_string(), sdk_str.clone()))
        );

        chosen.check_chosen_toolchain().unwrap();
        let mut stale = t.clone();
        stale
            .choose_toolchain(|_| Some("/nonexistent/sdk".into()))
            .unwrap();
        let err = stale.check_chosen_toolchain().unwrap_err().to_string();
        assert!(
            err.contains("WASI_SDK_PATH=/nonexistent/sdk") && err.contains("unset WASI_SDK_PATH"),
            "{err}"
        );
        std::fs::remove_dir_all(&sdk).unwrap();
    }

    #[test]
    fn select_by_name_or_triple_and_explain_unknown() {
        assert_eq!(
            select(&dir(), "x86_64").unwrap().0.rust_triple,
            "x86_64-unknown-linux-gnu"
        );
        assert_eq!(
            select(&dir(), "x86_64-unknown-linux-gnu").unwrap().0.name,
            "x86_64"
        );
        let err = select(&dir(), "riscv64").unwrap_err().to_string();
        assert!(err.contains("riscv64") && err.contains("x86_64"), "{err}");
    }
}
