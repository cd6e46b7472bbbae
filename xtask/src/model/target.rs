//! Target definitions: one TOML file per target under `sysroots/` (`sysroots/x86_64.toml`).
//!
//! A target says what its executables are (Linux with glibc or musl, WASI), how to compile
//! for it (C toolchain and its family, configure answers), how to run its programs here
//! (natively, under qemu-user, under a WASI runtime), which C libraries it gets, how an
//! executable links per flavor, what `dist` allows a shipped executable to need, and which
//! host packages all that takes. Kinds are types here: the rest of the tool matches on them
//! and never on a target's name.

use crate::util::template::{self, Vars};
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use sysroot_manifest::Flavor;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Short name used on the command line; must match the file name.
    pub name: String,
    /// Rust target triple of the isolate.
    pub rust_triple: String,
    /// GNU triple for configure's `--host`.
    pub host: String,
    pub pointer_width: u32,
    pub platform: Platform,
    #[serde(default)]
    pub runner: Runner,
    pub toolchain: Toolchain,
    /// Toolchains a user may put in place of the pinned one by pointing an environment variable
    /// at an installation (`WASI_SDK_PATH=/opt/wasi-sdk`); `{VAR}` in them is that directory.
    #[serde(default)]
    pub toolchain_from_env: BTreeMap<String, Toolchain>,
    /// `(VAR, dir)` when a toolchain from `toolchain_from_env` was chosen.
    #[serde(skip)]
    pub toolchain_chosen_by: Option<(String, String)>,
    #[serde(default)]
    pub optimize: Optimize,
    /// A microarchitecture level the code may assume, beyond the architecture's baseline.
    #[serde(default)]
    pub cpu: Option<Cpu>,
    /// How LLVM BOLT is run, when `optimize.bolt` is on.
    #[serde(default)]
    pub bolt: Option<BoltConfig>,
    #[serde(default)]
    pub configure: Configure,
    /// C libraries built for this target from `recipes/deps/<name>.toml`, in build order.
    #[serde(default)]
    pub deps: Vec<String>,
    /// Values substituted into C library build commands (`{openssl_target}` ...).
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// How libpython is compiled and an executable linked, per flavor the target supports.
    pub flavors: BTreeMap<Flavor, FlavorFlags>,
    pub dist: Dist,
    #[serde(default)]
    pub host_tools: HostTools,
    #[serde(default)]
    pub checks: TargetChecks,
    /// The file it was read from.
    #[serde(skip)]
    pub path: std::path::PathBuf,
    /// What of the file shapes builds, as data: everything but the host packages, the `dist`
    /// policy and the toolchain alternatives (the chosen one stands in for `[toolchain]`, with
    /// its variable unexpanded). Keyed on the file's data, not on this program's structs, so
    /// reorganising the Rust never invalidates a build.
    #[serde(skip)]
    pub identity: toml::Table,
}

/// What the target's executables are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Platform {
    Linux { libc: Libc },
    Wasi,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Libc {
    /// Dynamically linked against the system's glibc.
    Glibc,
    /// musl, linked statically: one file that runs on any Linux, and cannot load modules.
    Musl,
}

impl Platform {
    pub fn is_elf(self) -> bool {
        matches!(self, Platform::Linux { .. })
    }

    /// The suffix of its executables' file names.
    pub fn exe_suffix(self) -> &'static str {
        match self {
            Platform::Linux { .. } => "",
            Platform::Wasi => ".wasm",
        }
    }

    /// Whether its executables are fully static (no loader, no shared library): they run in a
    /// root that holds nothing else.
    pub fn fully_static(self) -> bool {
        self == Platform::Linux { libc: Libc::Musl }
    }

    /// Whether its executables can load compiled extension modules (`dlopen`).
    pub fn loads_extension_modules(self) -> bool {
        matches!(self, Platform::Linux { libc: Libc::Glibc })
    }

    /// Whether its processes receive signals (Ctrl-C).
    pub fn has_signals(self) -> bool {
        self.is_elf()
    }
}

/// How target programs run on the build machine.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Runner {
    /// Directly: the build machine runs the target's code.
    #[default]
    Native,
    /// Under qemu's user-mode emulator: `command` is its program and options.
    QemuUser { command: Vec<String> },
    /// Under a WASI runtime: `command` runs a module given after it, with `--argv0`;
    /// `snapshot`, when given, pre-initialises a module (`{home}` is the directory the runner
    /// gives the guest as the module's home).
    Wasi {
        command: Vec<String>,
        #[serde(default)]
        snapshot: Vec<String>,
    },
}

impl Runner {
    pub fn is_native(&self) -> bool {
        matches!(self, Runner::Native)
    }

    /// The command prefix; empty when native.
    pub fn command(&self) -> &[String] {
        match self {
            Runner::Native => &[],
            Runner::QemuUser { command } | Runner::Wasi { command, .. } => command,
        }
    }

    /// The arguments, after the prefix, that give the program `argv0` as its `argv[0]`.
    pub fn argv0_args(&self, argv0: &str) -> Vec<String> {
        match self {
            Runner::Native => vec![],
            Runner::QemuUser { .. } => vec!["-0".into(), argv0.into()],
            Runner::Wasi { .. } => vec!["--argv0".into(), argv0.into()],
        }
    }

    /// Whether a program that starts `sys.executable` needs it wrapped so the child runs
    /// under the runner too (qemu-user emulates one process, not its children).
    pub fn children_need_wrapping(&self) -> bool {
        matches!(self, Runner::QemuUser { .. })
    }

    /// `{tools}` and `{root}` resolved.
    pub fn expand(&self, vars: &Vars) -> Result<Runner> {
        Ok(match self {
            Runner::Native => Runner::Native,
            Runner::QemuUser { command } => Runner::QemuUser {
                command: template::expand(command, vars)?,
            },
            Runner::Wasi { command, snapshot } => {
                // `{home}` is the module's: `snapshot_command` fills it in.
                let mut later = vars.clone();
                later.insert("home".into(), vec!["{home}".into()]);
                Runner::Wasi {
                    command: template::expand(command, vars)?,
                    snapshot: template::expand(snapshot, &later)?,
                }
            }
        })
    }

    /// The command that pre-initialises a module whose home (mapped where the runner maps a
    /// module's home) is `home`, if this runner can; the options and the modules follow it.
    pub fn snapshot_command(&self, home: &Path) -> Result<Option<Vec<String>>> {
        match self {
            Runner::Wasi { snapshot, .. } if !snapshot.is_empty() => Ok(Some(template::expand(
                snapshot,
                &template::vars([("home", home.display().to_string())]),
            )?)),
            _ => Ok(None),
        }
    }

    /// Rebuilt from a manifest's record, which keeps only the command: the kind comes from
    /// the target, which knows it.
    pub fn with_command(&self, command: Vec<String>) -> Runner {
        match self {
            Runner::Native => Runner::Native,
            Runner::QemuUser { .. } => Runner::QemuUser { command },
            Runner::Wasi { snapshot, .. } => Runner::Wasi {
                command,
                snapshot: snapshot.clone(),
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Gcc,
    Clang,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Toolchain {
    /// What the C compiler is: how LTO objects are linked, which flags BOLT wants.
    pub family: Family,
    /// C compiler command (program and leading arguments). `{tools}` is the tool directory.
    pub cc: Vec<String>,
    pub ar: Vec<String>,
    pub ranlib: Vec<String>,
    /// Compiler flags for the C libraries (`-O2`); CPython picks its own.
    #[serde(default = "default_cflags")]
    pub cflags: Vec<String>,
    /// The linker `cargo` uses for the isolate, when not the default: a program, or a command
    /// that xtask wraps in a script (cargo takes one path).
    #[serde(default)]
    pub rust_linker: Option<Vec<String>>,
    /// Variables for every `make` that compiles CPython (`EXTRA_CFLAGS=...`), passed on make's
    /// command line so make expands them per target (`$@` is the object being compiled).
    #[serde(default)]
    pub make_args: Vec<String>,
    /// How the optimised build uses the profile, in place of configure's choice (CPython's
    /// PGO_PROF_USE_FLAG): GCC's `-fprofile-partial-training`, say.
    #[serde(default)]
    pub pgo_use_flags: Vec<String>,
}

fn default_cflags() -> Vec<String> {
    vec!["-O2".into()]
}

/// What can be done for speed on this target, here.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Optimize {
    /// The instrumented interpreter can run the profile task here.
    #[serde(default)]
    pub pgo: bool,
    #[serde(default = "yes")]
    pub lto: bool,
    /// LLVM BOLT can optimise its executables.
    #[serde(default)]
    pub bolt: bool,
}

impl Default for Optimize {
    fn default() -> Self {
        Optimize {
            pgo: false,
            lto: true,
            bolt: false,
        }
    }
}

fn yes() -> bool {
    true
}

/// A microarchitecture level (`x86-64-v3`, as python-build-standalone ships them): the C
/// compiler gets `-march`, Rust `-C target-cpu`, and every executable linked from the
/// sysroot checks at start that the CPU has it, refusing with a message instead of dying
/// of an illegal instruction somewhere later.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cpu {
    pub march: String,
}

/// The levels the start-up check can test (GCC's `__builtin_cpu_supports` knows them).
const CPU_LEVELS: [&str; 3] = ["x86-64-v2", "x86-64-v3", "x86-64-v4"];

/// LLVM BOLT's programs and flags for this target.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoltConfig {
    /// `llvm-bolt`, by a path from which it finds its instrumentation runtime.
    pub llvm_bolt: String,
    pub merge_fdata: String,
    /// Added to CPython's `CFLAGS` (and the LTO object's link) for a build BOLT will rewrite.
    #[serde(default)]
    pub cflags: Vec<String>,
    /// Added when linking an executable BOLT will rewrite (relocations kept).
    #[serde(default)]
    pub ldflags: Vec<String>,
    /// For instrumenting, beyond `-instrument` and where the profiles go.
    #[serde(default)]
    pub instrument: Vec<String>,
    /// For rewriting with the profile.
    pub apply: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Configure {
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment for configure: answers it cannot probe when cross compiling, `CONFIG_SITE`...
    /// `{src}` is the CPython source directory.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlavorFlags {
    /// Added to CPython's `CFLAGS` (`-fno-pie`, `-fPIC`).
    #[serde(default)]
    pub cflags: Vec<String>,
    /// Added when linking `python3` and every embedding executable (`-no-pie`, stack size...).
    #[serde(default)]
    pub ldflags: Vec<String>,
    /// Code-generation flags for the Rust crates of an embedding executable.
    #[serde(default)]
    pub rustflags: Vec<String>,
    /// Libraries an embedder links after libpython (`-l` names): what the C compiler's own
    /// link adds and rustc's (`-nodefaultlibs`) does not.
    #[serde(default)]
    pub libs: Vec<String>,
    /// What the embedder's final link makes, as GCC's `-flinker-output` names it. The LTO
    /// object is optimised as for that link: CPython's hidden symbols become local and are
    /// inlined as in python3's own link. Unset, GCC must assume a later link may still
    /// reference them (`nolto-rel`).
    #[serde(default)]
    pub lto_link_output: Option<LinkOutput>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
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

/// How the target's executables are checked: no part of the build's identity.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetChecks {
    /// CPython test cases (regrtest `--ignore` patterns) that fail on this platform in
    /// python3 itself, for a reason the target file gives: left out for python3 and the
    /// isolate alike.
    #[serde(default)]
    pub regrtest_ignore: Vec<String>,
    /// binutils' `strip` for the target's executables (the single file must survive it),
    /// when it is neither the host's (a native target) nor `<host>-strip`.
    #[serde(default)]
    pub strip: Option<String>,
}

/// What `dist` allows a shipped executable to need: policy, no part of the build's identity.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dist {
    /// The oldest glibc the executables must run on (glibc targets).
    #[serde(default)]
    pub glibc_baseline: Option<String>,
    /// The `DT_NEEDED` entries an executable may have: the C runtime (empty when static).
    #[serde(default)]
    pub needed: Vec<String>,
    /// The module names a WebAssembly program may import from.
    #[serde(default)]
    pub imports: Vec<String>,
    /// The architecture in the platform tags of compiled wheels its executables can load
    /// (`manylinux_2_17_x86_64`...), up to the glibc baseline; none when they load none.
    #[serde(default)]
    pub wheel_arch: Option<String>,
}

impl Dist {
    /// The platform tags of the compiled wheels the target's executables can load, newest
    /// first: every manylinux up to the glibc baseline, with the legacy names.
    pub fn wheel_platforms(&self) -> Vec<String> {
        let (Some(arch), Some(base)) = (&self.wheel_arch, &self.glibc_baseline) else {
            return Vec::new();
        };
        let newest = crate::util::elf::version_key(base)
            .get(1)
            .copied()
            .unwrap_or(17);
        let mut tags: Vec<String> = (5..=newest)
            .rev()
            .map(|minor| format!("manylinux_2_{minor}_{arch}"))
            .collect();
        for (legacy, minor) in [
            ("manylinux2014", 17),
            ("manylinux2010", 12),
            ("manylinux1", 5),
        ] {
            if minor <= newest {
                tags.push(format!("{legacy}_{arch}"));
            }
        }
        tags
    }
}

/// What the host needs for this target, by the package manager that provides it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostTools {
    /// Debian packages.
    #[serde(default)]
    pub apt: Vec<String>,
    /// `rustup target add` names.
    #[serde(default)]
    pub rustup: Vec<String>,
    /// Pinned PyPI requirements installed into the tool environment (`ziglang==0.15.2`).
    #[serde(default)]
    pub pip: Vec<String>,
    /// Tools built from this repository (`recipes/tools/<name>.toml` with a `[cargo]` table).
    #[serde(default)]
    pub cargo: Vec<String>,
}

impl Target {
    /// Parses a target file; `env` reads the variables that may swap in a toolchain.
    pub fn parse(path: &Path, text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Target> {
        let mut raw: toml::Table =
            toml::from_str(text).with_context(|| format!("parsing target {}", path.display()))?;
        // A variant's problem may sit in its base's file: messages name both.
        let mut shown = path.display().to_string();
        if let Some(base) = raw.remove("extends") {
            let (merged, base_path) = extended(path, &base, raw)?;
            raw = merged;
            shown = format!("{shown} (extending {})", base_path.display());
        }
        let mut target: Target = raw
            .clone()
            .try_into()
            .with_context(|| format!("target {shown}"))?;
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
        target
            .validate()
            .with_context(|| format!("target {shown}"))?;
        let chosen = target.choose_toolchain(env)?;
        target.apply_cpu();
        target.identity = identity(&raw, chosen.as_deref());
        target.path = path.to_path_buf();
        Ok(target)
    }

    /// The `[cpu]` level reaches every compiler from this one place.
    fn apply_cpu(&mut self) {
        let Some(cpu) = &self.cpu else { return };
        self.toolchain.cc.push(format!("-march={}", cpu.march));
        for flags in self.flavors.values_mut() {
            flags
                .rustflags
                .extend(["-C".to_string(), format!("target-cpu={}", cpu.march)]);
        }
    }

    fn validate(&self) -> Result<()> {
        if let Some(cpu) = &self.cpu
            && !CPU_LEVELS.contains(&cpu.march.as_str())
        {
            bail!(
                "[cpu] march = {:?}: the levels whose presence the isolate can check are {}",
                cpu.march,
                CPU_LEVELS.join(", ")
            );
        }
        if !self.flavors.contains_key(&Flavor::Static) {
            bail!("[flavors.static] is missing: every target has the static flavor");
        }
        for argv in [
            &self.toolchain.cc,
            &self.toolchain.ar,
            &self.toolchain.ranlib,
        ] {
            if argv.is_empty() {
                bail!("[toolchain] has an empty command: name the program (cc = [\"gcc\"])");
            }
        }
        if self
            .toolchain
            .rust_linker
            .as_ref()
            .is_some_and(Vec::is_empty)
        {
            bail!("[toolchain] rust_linker is empty: name the program or leave it out");
        }
        if !self.runner.is_native() && self.runner.command().is_empty() {
            bail!("[runner] needs a command for its kind");
        }
        for dep in &self.deps {
            crate::model::check_name(dep, "C library")?;
        }
        if self.optimize.bolt && self.bolt.is_none() {
            bail!("[optimize] bolt = true needs a [bolt] table: the programs and flags");
        }
        match (
            self.platform,
            &self.dist.glibc_baseline,
            self.dist.needed.is_empty(),
        ) {
            (Platform::Linux { libc: Libc::Glibc }, None, _) => {
                bail!("[dist] glibc_baseline is required for a glibc target")
            }
            (Platform::Linux { libc: Libc::Musl }, Some(_), _)
            | (Platform::Linux { libc: Libc::Musl }, _, false) => {
                bail!("[dist] a static musl target needs no glibc_baseline and no shared libraries")
            }
            (Platform::Wasi, _, _) if self.dist.imports.is_empty() => {
                bail!("[dist] imports must name what a WASI program may import from")
            }
            _ if self.dist.wheel_arch.is_some() && !self.platform.loads_extension_modules() => {
                bail!("[dist] wheel_arch: this platform's executables cannot load compiled wheels")
            }
            _ => Ok(()),
        }
    }

    /// Puts the toolchain an environment variable selects in place of the pinned one and
    /// returns the variable's name.
    fn choose_toolchain(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<Option<String>> {
        let set: Vec<(String, String)> = self
            .toolchain_from_env
            .keys()
            .filter_map(|var| {
                env(var)
                    .filter(|v| !v.is_empty())
                    .map(|dir| (var.clone(), dir))
            })
            .collect();
        let Some((var, dir)) = set.first() else {
            return Ok(None);
        };
        if set.len() > 1 {
            bail!(
                "target {}: both {} and {} select a toolchain: unset one",
                self.name,
                set[0].0,
                set[1].0
            );
        }
        let mut tc = self.toolchain_from_env[var].clone();
        let vars = template::vars([(var.as_str(), dir.clone())]);
        for argv in [&mut tc.cc, &mut tc.ar, &mut tc.ranlib]
            .into_iter()
            .chain(tc.rust_linker.as_mut())
        {
            *argv = template::expand(argv, &vars)?;
        }
        self.toolchain = tc;
        self.toolchain_chosen_by = Some((var.clone(), dir.clone()));
        Ok(Some(var.clone()))
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

    pub fn supports(&self, flavor: Flavor) -> bool {
        self.flavors.contains_key(&flavor)
    }

    /// The flags for a flavor the target supports (checked when the model is resolved).
    pub fn flavor(&self, flavor: Flavor) -> &FlavorFlags {
        &self.flavors[&flavor]
    }

    pub fn flavor_names(&self) -> String {
        self.flavors
            .keys()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The file name of an executable called `stem` on this target (`isolate.wasm`).
    pub fn exe_name(&self, stem: &str) -> String {
        format!("{stem}{}", self.platform.exe_suffix())
    }
}

/// `extends = "x86_64"`: a variant is its base target's file with its own tables merged in
/// (a table merges key by key, any other value replaces the base's), one level deep.
fn extended(
    path: &Path,
    base: &toml::Value,
    variant: toml::Table,
) -> Result<(toml::Table, std::path::PathBuf)> {
    let base = base
        .as_str()
        .with_context(|| format!("{}: extends must name a target", path.display()))?;
    crate::model::check_name(base, "target")?;
    let base_path = path.with_file_name(format!("{base}.toml"));
    let text = crate::util::fs::read_to_string(&base_path)
        .with_context(|| format!("{} extends {base}", path.display()))?;
    let mut merged: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing target {}", base_path.display()))?;
    if merged.contains_key("extends") {
        bail!(
            "{} extends {base}, which extends another target: name the target at the root instead",
            path.display()
        );
    }
    merge(&mut merged, variant);
    Ok((merged, base_path))
}

fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn identity(raw: &toml::Table, chosen: Option<&str>) -> toml::Table {
    let mut t = raw.clone();
    t.remove("host_tools");
    t.remove("dist");
    t.remove("checks");
    // How this machine runs target programs (an emulator, a WASI runtime) changes how fast
    // the checks run, never what the build makes: a new runner must not rebuild sysroots.
    t.remove("runner");
    let alternatives = t.remove("toolchain_from_env");
    if let (Some(var), Some(toml::Value::Table(alts))) = (chosen, alternatives)
        && let Some(tc) = alts.get(var)
    {
        t.insert("toolchain".into(), tc.clone());
    }
    t
}

impl Target {
    /// What of the target a `flavor` build depends on: the other flavors are left out.
    pub fn identity_for(&self, flavor: Flavor) -> String {
        let mut t = self.identity.clone();
        if let Some(toml::Value::Table(flavors)) = t.get_mut("flavors") {
            flavors.retain(|name, _| name == flavor.as_str());
        }
        serde_json::to_string(&t).expect("a TOML table serialises")
    }
}

/// The target this machine runs natively.
pub fn native_name() -> &'static str {
    std::env::consts::ARCH
}

#[cfg(test)]
mod tests {
    use super::*;

    const WASI: &str = include_str!("../../../sysroots/wasi.toml");

    #[test]
    fn an_environment_variable_swaps_in_its_toolchain() {
        let path = Path::new("sysroots/wasi.toml");
        let pinned = Target::parse(path, WASI, |_| None).unwrap();
        assert!(pinned.toolchain_from_env.contains_key("WASI_SDK_PATH"));
        assert!(pinned.toolchain_chosen_by.is_none());

        let sdk = std::env::temp_dir().join(format!("fake-wasi-sdk-{}", std::process::id()));
        std::fs::create_dir_all(sdk.join("bin")).unwrap();
        std::fs::write(sdk.join("bin/clang"), "").unwrap();
        let dir = sdk.display().to_string();
        let chosen =
            Target::parse(path, WASI, |v| (v == "WASI_SDK_PATH").then(|| dir.clone())).unwrap();
        assert_eq!(chosen.toolchain.cc[0], format!("{dir}/bin/clang"));
        assert!(chosen.toolchain.rust_linker.as_ref().unwrap()[0].starts_with(&dir));
        chosen.check_chosen_toolchain().unwrap();
        // The key changes with the toolchain, but never names the machine's directory.
        let (a, b) = (
            pinned.identity_for(Flavor::Static),
            chosen.identity_for(Flavor::Static),
        );
        assert_ne!(a, b);
        assert!(!b.contains(&dir), "{b}");

        let stale = Target::parse(path, WASI, |_| Some("/nonexistent/sdk".into())).unwrap();
        let err = stale.check_chosen_toolchain().unwrap_err().to_string();
        assert!(
            err.contains("WASI_SDK_PATH=/nonexistent/sdk") && err.contains("unset WASI_SDK_PATH"),
            "{err}"
        );
        std::fs::remove_dir_all(&sdk).unwrap();
    }

    #[test]
    fn policy_host_packages_and_the_runner_are_no_part_of_the_identity() {
        let path = Path::new("sysroots/wasi.toml");
        let a = Target::parse(path, WASI, |_| None).unwrap();
        let edited = WASI.replace(
            "[host_tools]",
            "[checks]\nregrtest_ignore = [\"test_x\"]\n[host_tools]\napt = [\"something-else\"]",
        );
        let runner = WASI.replace(
            "command = [\"{wasi_runner}\"",
            "command = [\"other-runtime\"",
        );
        assert_ne!(runner, WASI);
        for edited in [edited, runner] {
            let b = Target::parse(path, &edited, |_| None).unwrap();
            assert_eq!(
                a.identity_for(Flavor::Static),
                b.identity_for(Flavor::Static)
            );
        }
    }

    #[test]
    fn a_variant_extends_its_base_table_by_table() {
        let dir = std::env::temp_dir().join(format!("xtask-extends-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("wasi.toml"), WASI).unwrap();
        let variant = "extends = \"wasi\"\nname = \"wasi-v\"\n[optimize]\nlto = false\n[toolchain]\ncflags = [\"-O3\"]\n";
        let path = dir.join("wasi-v.toml");
        let v = Target::parse(&path, variant, |_| None).unwrap();
        let base = Target::parse(&dir.join("wasi.toml"), WASI, |_| None).unwrap();
        assert_eq!(v.name, "wasi-v");
        assert_eq!(v.toolchain.cflags, ["-O3"]);
        // Untouched keys of a merged table and untouched tables come from the base.
        assert_eq!(v.toolchain.cc, base.toolchain.cc);
        assert_eq!(v.deps, base.deps);
        assert_ne!(
            v.identity_for(Flavor::Static),
            base.identity_for(Flavor::Static)
        );
        std::fs::write(
            dir.join("twice.toml"),
            "extends = \"wasi-v\"\nname = \"twice\"\n",
        )
        .unwrap();
        std::fs::write(&path, variant).unwrap();
        let err = format!(
            "{:#}",
            Target::parse(
                &dir.join("twice.toml"),
                "extends = \"wasi-v\"\nname = \"twice\"\n",
                |_| None
            )
            .unwrap_err()
        );
        assert!(err.contains("extends another target"), "{err}");
        let err = format!(
            "{:#}",
            Target::parse(&path, "extends = \"missing\"\nname = \"wasi-v\"\n", |_| {
                None
            })
            .unwrap_err()
        );
        assert!(
            err.contains("missing.toml") && err.contains("extends missing"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_cpu_level_reaches_every_compiler_and_only_known_levels_are_accepted() {
        let v3 = WASI.replace("[optimize]", "[cpu]\nmarch = \"x86-64-v3\"\n\n[optimize]");
        let t = Target::parse(Path::new("sysroots/wasi.toml"), &v3, |_| None).unwrap();
        assert_eq!(t.toolchain.cc.last().unwrap(), "-march=x86-64-v3");
        for flags in t.flavors.values() {
            assert!(
                flags
                    .rustflags
                    .ends_with(&["-C".into(), "target-cpu=x86-64-v3".into()])
            );
        }
        let bad = WASI.replace("[optimize]", "[cpu]\nmarch = \"native\"\n\n[optimize]");
        let err = format!(
            "{:#}",
            Target::parse(Path::new("sysroots/wasi.toml"), &bad, |_| None).unwrap_err()
        );
        assert!(err.contains("x86-64-v3") && err.contains("native"), "{err}");
    }

    #[test]
    fn bad_definitions_say_what_is_wrong() {
        let path = Path::new("sysroots/wasi.toml");
        let empty_cc = WASI.replacen("cc = [", "cc = [] #", 1);
        let err = format!(
            "{:#}",
            Target::parse(path, &empty_cc, |_| None).unwrap_err()
        );
        assert!(err.contains("empty command"), "{err}");
        let named = WASI.replace("name = \"wasi\"", "name = \"other\"");
        let err = format!("{:#}", Target::parse(path, &named, |_| None).unwrap_err());
        assert!(err.contains("must be other.toml"), "{err}");
        let bad_dep = WASI.replace("deps = [\"zlib\"", "deps = [\"../zlib\"");
        let err = format!("{:#}", Target::parse(path, &bad_dep, |_| None).unwrap_err());
        assert!(err.contains("../zlib"), "{err}");
    }
}
