//! The machine-readable description of a built sysroot (`manifest.json`).
//!
//! `xtask` writes it after a successful build; embedders read it (through `cargo xtask env`,
//! the PyO3 configuration it generates, or their own tools), so nothing downstream hard-codes
//! a path or a library name. Every path in it is relative to the sysroot directory, which
//! keeps a sysroot relocatable.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "manifest.json";
/// Bumped whenever a field changes meaning; readers refuse other versions.
pub const SCHEMA: u32 = 2;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub schema: u32,
    pub python: Python,
    pub target: Target,
    pub flavor: Flavor,
    pub build: Build,
    /// Everything the build consumed, with its sha256: sources, patches, C library crates,
    /// the recipe and target definition themselves.
    pub inputs: Vec<Input>,
    pub modules: Modules,
    pub paths: Paths,
    pub link: Link,
    pub hacl: Hacl,
    /// sha256 of every file the build produced (sysroot-relative path -> digest), but for
    /// this manifest, the logs, the location-dependent PyO3 configuration and
    /// `site-packages` (which belongs to whoever installs packages there). Checked before a
    /// sysroot is reused, and after a substitute from a binary cache is unpacked.
    pub files: BTreeMap<String, String>,
    /// The same for what the build put into `site-packages` (pip): what `dist` packs of it,
    /// whatever was installed there since. `None` in manifests written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages: Option<BTreeMap<String, String>>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Python {
    /// Full version, e.g. `3.13.5`.
    pub version: String,
    /// `major.minor`, e.g. `3.13`.
    pub abi: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Target {
    /// The short name used on the command line (`x86_64`, `aarch64`, `wasi`).
    pub name: String,
    /// The Rust target triple an embedding executable is built for.
    pub rust_triple: String,
    /// The GNU triple CPython's configure was given as `--host`.
    pub host: String,
    pub pointer_width: u32,
    /// Command prefix that runs the target's programs on a build machine (empty when native),
    /// as the target file writes it: `{tools}` (the pinned host tools) and `{root}` (the
    /// checkout) stay unexpanded, so the manifest names no machine's paths.
    pub runner: Vec<String>,
}

/// How libpython was compiled and how an executable links it.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Flavor {
    /// Non-PIC `libpython.a`, linked into a non-PIE executable (the default, and the fastest).
    Static,
    /// `-fPIC` `libpython.a`, linked into a PIE executable: keeps ASLR for the image.
    StaticPic,
    /// `libpython.so` (`--enable-shared`), for comparison benchmarks.
    Shared,
}

impl Flavor {
    pub const ALL: [Flavor; 3] = [Flavor::Static, Flavor::StaticPic, Flavor::Shared];

    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::Static => "static",
            Flavor::StaticPic => "static-pic",
            Flavor::Shared => "shared",
        }
    }
}

impl std::fmt::Display for Flavor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Build {
    /// Hash of every input (recipe, source, patches, target, C libraries, toolchain, flags):
    /// the build cache's key, and the binary cache's.
    pub key: String,
    /// What was done to make the code fast, and how it went.
    pub optimizations: Optimizations,
    pub configure_args: Vec<String>,
    /// Environment given to configure beyond the inherited one (compilers, cache answers...).
    pub configure_env: BTreeMap<String, String>,
    /// Versions of the tools that produced the build (`cc`, `zig`, ...), as they report them.
    pub toolchain: BTreeMap<String, String>,
    /// Git revision of this repository when the sysroot was built.
    pub revision: String,
    /// Wall time of the build.
    pub seconds: f64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Optimizations {
    /// Profile-guided optimisation, with what the profile run did; `None` when not applied.
    pub pgo: Option<ProfileRun>,
    pub lto: bool,
    /// Post-link layout optimisation with LLVM BOLT; `None` when not applied.
    #[serde(default)]
    pub bolt: Option<Bolt>,
    /// Why an optimisation the build asked for was not applied (BOLT missing, say).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
    /// The instruction-set level the code requires (`x86-64-v3`), when above the baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub march: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ProfileRun {
    /// The arguments the instrumented python ran.
    pub task: Vec<String>,
    /// Everything the training set ran (the task, the bit-exact corpus...).
    #[serde(default)]
    pub training: Vec<String>,
    /// Test extension modules built into the instrumented interpreter only, for the task.
    #[serde(default)]
    pub test_modules: Vec<String>,
    /// The compiler flags the optimised build used the profile with.
    #[serde(default)]
    pub use_flags: Vec<String>,
    /// Its exit status: non-zero means some profile tests failed, which is logged, not fatal.
    pub exit_status: i32,
    /// Profile data files written by the run (`.gcda`); the build refuses to continue with none.
    pub profile_files: usize,
    pub seconds: f64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Bolt {
    /// `llvm-bolt --version`'s first line.
    pub tool: String,
    /// The flags the optimisation was applied with.
    pub flags: Vec<String>,
    /// Executables optimised (sysroot-relative).
    pub binaries: Vec<String>,
    /// What the instrumented binaries ran to make the profile.
    pub training: Vec<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Input {
    pub kind: String,
    pub name: String,
    pub sha256: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Modules {
    /// Extension modules compiled into libpython (`sys.builtin_module_names` of the build).
    pub builtin: Vec<String>,
    /// Modules deliberately left out on this target, with the reason.
    pub absent: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Paths {
    pub include: String,
    pub stdlib: String,
    pub lib: String,
    /// The build's own interpreter: the reference the isolate is compared against.
    pub python: String,
    /// The PyO3 build configuration file (`PYO3_CONFIG_FILE`).
    pub pyo3_config: String,
}

/// Everything an executable embedding the sysroot passes to the linker.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Link {
    /// Archives (sysroot-relative), libpython first, then what it depends on, in link order.
    pub inputs: Vec<String>,
    /// Libraries of the target's C runtime, as `-l` names (`m`, `pthread`, ...).
    pub system_libs: Vec<String>,
    /// Flags the executable's link needs (`-no-pie`, the WASI stack size, the export list...).
    /// `{sysroot}` stands for the sysroot directory.
    pub ldflags: Vec<String>,
    /// Code-generation flags for every Rust crate of the executable (`-C relocation-model=static`).
    pub rustflags: Vec<String>,
    /// The file naming CPython's C API, which an executable exports so that compiled extension
    /// modules can bind to it (a linker dynamic list), when the target can load them.
    pub exports: Option<String>,
    /// A shared libpython to load at run time (shared flavor only), sysroot-relative.
    pub shared_library: Option<String>,
}

impl Link {
    /// The `DT_NEEDED` name of the shared libpython, if there is one (`libpython3.11.so.1.0`).
    pub fn shared_library_name(&self) -> Option<&str> {
        self.shared_library
            .as_deref()
            .and_then(|s| Path::new(s).file_name()?.to_str())
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Hacl {
    /// Archives in the sysroot that define HACL* code (sysroot-relative).
    pub archives: Vec<String>,
    /// HACL* functions found defined in them.
    pub symbols: Vec<String>,
}

#[derive(Debug)]
pub struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl Manifest {
    /// Reads `manifest.json` from a sysroot directory or from the file itself; returns it
    /// with the sysroot directory.
    pub fn load(path: &Path) -> Result<(Manifest, PathBuf), Error> {
        let file = if path.is_dir() {
            path.join(FILE_NAME)
        } else {
            path.to_path_buf()
        };
        let root = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let text = std::fs::read_to_string(&file).map_err(|e| {
            Error(format!(
                "cannot read the sysroot manifest {}: {e}\n  build the sysroot first: cargo xtask build-python",
                file.display()
            ))
        })?;
        let manifest =
            Manifest::parse(&text).map_err(|e| Error(format!("{}: {e}", file.display())))?;
        Ok((manifest, root))
    }

    pub fn parse(text: &str) -> Result<Manifest, Error> {
        #[derive(Deserialize)]
        struct Schema {
            schema: u32,
        }
        let schema: Schema = serde_json::from_str(text)
            .map_err(|e| Error(format!("not a sysroot manifest: {e}")))?;
        if schema.schema != SCHEMA {
            return Err(Error(format!(
                "manifest schema {}, this tool reads schema {SCHEMA}: rebuild the sysroot (cargo xtask build-python)",
                schema.schema
            )));
        }
        serde_json::from_str(text).map_err(|e| Error(format!("not a valid sysroot manifest: {e}")))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("manifest serialises") + "\n"
    }

    fn resolve(root: &Path, flag: &str) -> String {
        flag.replace("{sysroot}", &root.display().to_string())
    }

    /// The C compiler's view: every argument an executable embedding this sysroot links
    /// with, paths resolved against `root` (the sysroot directory), in link order.
    pub fn link_args(&self, root: &Path) -> Vec<String> {
        let mut args: Vec<String> = self
            .link
            .ldflags
            .iter()
            .map(|f| Self::resolve(root, f))
            .collect();
        let (first, rest) = self.link.inputs.split_first().expect("libpython is linked");
        let whole = self.link.shared_library.is_none();
        if whole {
            args.push("-Wl,--whole-archive".into());
        }
        args.push(root.join(first).display().to_string());
        if whole {
            args.push("-Wl,--no-whole-archive".into());
        }
        args.extend(rest.iter().map(|p| root.join(p).display().to_string()));
        args.extend(self.link.system_libs.iter().map(|l| format!("-l{l}")));
        args
    }

    /// The same link as `cargo:` build-script lines, which reach every executable that
    /// depends on the crate printing them: archives as non-bundled static libraries
    /// (libpython whole, as CPython links python3 from all of its objects, so that every
    /// function of the C API is there for extension modules), the C runtime as system
    /// libraries. Executable-level flags cannot travel this way: see [`Manifest::rustflags`].
    pub fn cargo_link_lines(&self, root: &Path) -> Vec<String> {
        let mut dirs: Vec<String> = Vec::new();
        let mut lines = Vec::new();
        for (i, input) in self.link.inputs.iter().enumerate() {
            let path = root.join(input);
            let dir = path.parent().unwrap_or(root).display().to_string();
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
            let file = path
                .file_name()
                .and_then(|f| f.to_str())
                .unwrap_or_default();
            let (kind, name) = match (file.strip_prefix("lib"), file.rsplit_once(".so")) {
                (Some(stem), Some(_)) if self.link.shared_library.is_some() => (
                    "dylib",
                    stem.split(".so").next().unwrap_or(stem).to_string(),
                ),
                (Some(stem), _) => {
                    let modifiers = if i == 0 {
                        "static:-bundle,+whole-archive"
                    } else {
                        "static:-bundle"
                    };
                    (modifiers, stem.trim_end_matches(".a").to_string())
                }
                _ => continue,
            };
            lines.push(format!("cargo:rustc-link-lib={kind}={name}"));
        }
        let mut out: Vec<String> = dirs
            .iter()
            .map(|d| format!("cargo:rustc-link-search=native={d}"))
            .collect();
        out.extend(lines);
        out.extend(
            self.link
                .system_libs
                .iter()
                .map(|l| format!("cargo:rustc-link-lib=dylib={l}")),
        );
        out
    }

    /// `RUSTFLAGS` for an executable embedding this sysroot: the flavor's code-generation
    /// flags and every executable-level link flag (non-PIE, lazy binding, the export list of
    /// CPython's C API, the WASI stack size), with paths resolved against `root`.
    pub fn rustflags(&self, root: &Path) -> Vec<String> {
        let mut flags = self.link.rustflags.clone();
        for f in &self.link.ldflags {
            flags.push("-C".into());
            flags.push(format!("link-arg={}", Self::resolve(root, f)));
        }
        flags
    }

    /// The PyO3 build configuration (`PYO3_CONFIG_FILE`) for this sysroot at `root`: a
    /// static libpython whose link lines PyO3's own build script prints for every crate
    /// that uses PyO3, directly or through another crate.
    pub fn pyo3_config(&self, root: &Path) -> String {
        let abi = &self.python.abi;
        let mut text = format!(
            "implementation=CPython\nversion={abi}\nshared={}\nabi3=false\nlib_name=python{abi}\n\
             lib_dir={}\nexecutable={}\npointer_width={}\nbuild_flags=\nsuppress_build_script_link_lines=true\n",
            self.flavor == Flavor::Shared,
            root.join(&self.paths.lib).display(),
            root.join(&self.paths.python).display(),
            self.target.pointer_width,
        );
        for line in self.cargo_link_lines(root) {
            text.push_str(&format!("extra_build_script_line={line}\n"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn sample() -> Manifest {
        Manifest {
            schema: SCHEMA,
            python: Python {
                version: "3.13.5".into(),
                abi: "3.13".into(),
            },
            target: Target {
                name: "x86_64".into(),
                rust_triple: "x86_64-unknown-linux-gnu".into(),
                host: "x86_64-pc-linux-gnu".into(),
                pointer_width: 64,
                runner: vec![],
            },
            flavor: Flavor::Static,
            build: Build {
                key: "k".into(),
                seconds: 1.0,
                optimizations: Optimizations {
                    lto: true,
                    ..Optimizations::default()
                },
                configure_args: vec!["--disable-shared".into()],
                configure_env: BTreeMap::new(),
                toolchain: BTreeMap::new(),
                revision: "abc".into(),
            },
            inputs: vec![],
            modules: Modules {
                builtin: vec!["_sha2".into()],
                absent: BTreeMap::new(),
            },
            paths: Paths {
                include: "include/python3.13".into(),
                stdlib: "lib/python3.13".into(),
                lib: "lib".into(),
                python: "bin/python3.13".into(),
                pyo3_config: "pyo3-config.txt".into(),
            },
            link: Link {
                inputs: vec!["lib/libpython3.13-lto.a".into(), "lib/libz.a".into()],
                system_libs: vec!["m".into(), "pthread".into()],
                ldflags: vec![
                    "-no-pie".into(),
                    "-Wl,--dynamic-list={sysroot}/lib/python3.13.exports".into(),
                ],
                rustflags: vec!["-C".into(), "relocation-model=static".into()],
                exports: Some("lib/python3.13.exports".into()),
                shared_library: None,
            },
            hacl: Hacl {
                archives: vec![],
                symbols: vec![],
            },
            files: BTreeMap::new(),
            packages: Some(BTreeMap::new()),
        }
    }

    #[test]
    fn link_args_keep_order_and_resolve_paths() {
        let args = sample().link_args(Path::new("/s"));
        assert_eq!(
            args,
            [
                "-no-pie",
                "-Wl,--dynamic-list=/s/lib/python3.13.exports",
                "-Wl,--whole-archive",
                "/s/lib/libpython3.13-lto.a",
                "-Wl,--no-whole-archive",
                "/s/lib/libz.a",
                "-lm",
                "-lpthread"
            ]
        );
    }

    #[test]
    fn cargo_lines_reach_dependents_and_flags_reach_the_executable() {
        let m = sample();
        assert_eq!(
            m.cargo_link_lines(Path::new("/s")),
            [
                "cargo:rustc-link-search=native=/s/lib",
                "cargo:rustc-link-lib=static:-bundle,+whole-archive=python3.13-lto",
                "cargo:rustc-link-lib=static:-bundle=z",
                "cargo:rustc-link-lib=dylib=m",
                "cargo:rustc-link-lib=dylib=pthread",
            ]
        );
        assert_eq!(
            m.rustflags(Path::new("/s")),
            [
                "-C",
                "relocation-model=static",
                "-C",
                "link-arg=-no-pie",
                "-C",
                "link-arg=-Wl,--dynamic-list=/s/lib/python3.13.exports"
            ]
        );
        let config = m.pyo3_config(Path::new("/s"));
        assert!(config.contains("lib_dir=/s/lib\n"), "{config}");
        assert!(
            config.contains("extra_build_script_line=cargo:rustc-link-lib=static:-bundle=z\n"),
            "{config}"
        );
    }

    #[test]
    fn round_trips_and_rejects_other_schemas() {
        let dir = std::env::temp_dir().join(format!("manifest-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut m = sample();
        std::fs::write(dir.join(FILE_NAME), m.to_json()).unwrap();
        let (back, root) = Manifest::load(&dir).unwrap();
        assert_eq!(back, m);
        assert_eq!(root, dir);

        m.schema = SCHEMA - 1;
        std::fs::write(dir.join(FILE_NAME), m.to_json()).unwrap();
        let err = Manifest::load(&dir).unwrap_err().to_string();
        assert!(err.contains("rebuild the sysroot"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
