//! The machine-readable description of a built sysroot (`manifest.json`).
//!
//! `xtask` writes it after a successful build; the isolate's `build.rs` reads it to emit its
//! link lines, so nothing downstream hard-codes a path or a library name. Every path in it is
//! relative to the sysroot directory, which keeps a sysroot relocatable.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "manifest.json";
/// Bumped whenever a field changes meaning; readers refuse other versions.
pub const SCHEMA: u32 = 1;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
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
    /// sha256 of the files an embedder links and runs (sysroot-relative path -> digest),
    /// checked before a cached sysroot is reused.
    pub artifacts: BTreeMap<String, String>,
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
    /// The Rust target triple the isolate is built for.
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
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// the build cache's key.
    pub key: String,
    pub pgo: bool,
    pub lto: bool,
    /// What the profile run did, when PGO was applied.
    pub profile: Option<ProfileRun>,
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

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ProfileRun {
    /// The arguments the instrumented python ran.
    pub task: Vec<String>,
    /// Its exit status: non-zero means some profile tests failed, which is logged, not fatal.
    pub exit_status: i32,
    /// Profile data files written by the run (`.gcda`); the build refuses to continue with none.
    pub profile_files: usize,
    pub seconds: f64,
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

/// Everything an embedder passes to the linker, in order.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Link {
    /// Objects and archives (sysroot-relative), libpython first, then what it depends on.
    pub inputs: Vec<String>,
    /// Libraries of the target's C runtime, as `-l` names (`m`, `pthread`, ...).
    pub system_libs: Vec<String>,
    /// Linker flags the executable needs (`-no-pie`, WASI stack size, ...).
    pub ldflags: Vec<String>,
    /// A shared libpython to load at run time (shared flavor only), sysroot-relative.
    pub shared_library: Option<String>,
}

impl Link {
    /// The `DT_NEEDED` name of the shared libpython, if there is one (`libpython3.11.so.1.0`).
    pub fn shared_library_name(&self) -> Option<&str> {
        self.shared_library
            .as_deref()
            .and_then(|s| std::path::Path::new(s).file_name()?.to_str())
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Hacl {
    /// HACL* archives installed in the sysroot (sysroot-relative).
    pub archives: Vec<String>,
    /// HACL* functions found defined (`T`) in them.
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
    /// Reads `manifest.json` from a sysroot directory or from the file itself.
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
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
            Error(format!(
                "{} is not a valid sysroot manifest: {e}",
                file.display()
            ))
        })?;
        if manifest.schema != SCHEMA {
            return Err(Error(format!(
                "{} has manifest schema {}, this tool reads schema {SCHEMA}: rebuild the sysroot",
                file.display(),
                manifest.schema
            )));
        }
        Ok((manifest, root))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("manifest serialises") + "\n"
    }

    /// The linker arguments an executable embedding this sysroot needs, with paths resolved
    /// against `root` (the sysroot directory), in link order.
    pub fn link_args(&self, root: &Path) -> Vec<String> {
        let mut args: Vec<String> = self.link.ldflags.clone();
        args.extend(
            self.link
                .inputs
                .iter()
                .map(|p| root.join(p).display().to_string()),
        );
        args.extend(self.link.system_libs.iter().map(|l| format!("-l{l}")));
        args
    }

    /// `cargo:` lines for a build script: the whole link comes from the manifest.
    pub fn cargo_link_lines(&self, root: &Path) -> Vec<String> {
        let mut lines: Vec<String> = self
            .link_args(root)
            .into_iter()
            .map(|a| format!("cargo:rustc-link-arg={a}"))
            .collect();
        for input in &self.link.inputs {
            lines.push(format!(
                "cargo:rerun-if-changed={}",
                root.join(input).display()
            ));
        }
        lines
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
                pgo: true,
                lto: true,
                profile: None,
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
                ldflags: vec!["-no-pie".into()],
                shared_library: None,
            },
            hacl: Hacl {
                archives: vec![],
                symbols: vec![],
            },
            artifacts: BTreeMap::new(),
        }
    }

    #[test]
    fn link_args_keep_order_and_resolve_paths() {
        let args = sample().link_args(Path::new("/s"));
        assert_eq!(
            args,
            [
                "-no-pie",
                "/s/lib/libpython3.13-lto.a",
                "/s/lib/libz.a",
                "-lm",
                "-lpthread"
            ]
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

        m.schema = SCHEMA + 1;
        std::fs::write(dir.join(FILE_NAME), m.to_json()).unwrap();
        let err = Manifest::load(&dir).unwrap_err().to_string();
        assert!(err.contains("rebuild the sysroot"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
