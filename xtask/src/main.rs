//! `cargo xtask`: builds pinned, static CPython sysroots and the isolate that embeds them.
//!
//! Modules follow the pipeline: recipe/target (what to build) -> fetch -> unpack -> patch ->
//! deps (C libraries) -> compile (configure, PGO) -> install -> verify -> sysroot (the
//! orchestration of all of it). `build_python` makes the native interpreter cross builds need.

mod bench;
mod build_python;
mod compile;
mod corpus;
mod deps;
mod dist;
mod e2e;
mod fetch;
mod install;
mod isolate;
mod patch;
mod progress;
mod provision;
mod recipe;
mod sysroot;
mod target;
mod tools;
mod unpack;
mod verify;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use sysroot_manifest::Flavor;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Build static CPython sysroots and the isolate that embeds them",
    version
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Global {
    /// Base URL replacing https://www.python.org for downloads: file:///dir, http(s)://host/path,
    /// or a directory laid out like python.org (ftp/python/<version>/...).
    #[arg(long, global = true, env = fetch::MIRROR_ENV, value_name = "URL")]
    mirror: Option<String>,
    /// Where verified downloads and pinned tools are cached [default: $XDG_CACHE_HOME/pysysroot or ~/.cache/pysysroot].
    #[arg(long, global = true, env = "PYSYSROOT_CACHE", value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Use only the cache: never download.
    #[arg(long, global = true, env = "PYSYSROOT_OFFLINE", value_parser = clap::builder::FalseyValueParser::new())]
    offline: bool,
    /// Parallel jobs for compilers and make [default: number of CPUs].
    #[arg(long, short = 'j', global = true, env = "PYSYSROOT_JOBS")]
    jobs: Option<usize>,
    /// Where sysroots are built [default: sysroots/ in this repository].
    #[arg(long, global = true, env = "PYSYSROOT_SYSROOTS", value_name = "DIR")]
    sysroots_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Download, verify, patch and build CPython into sysroots/<target>/<version>.
    ///
    /// The result is a static libpython with every extension module built in, the build's
    /// own python3, headers, the stdlib, a PyO3 config and manifest.json (inputs, flags,
    /// link requirements). Re-running with unchanged inputs does nothing.
    BuildPython(BuildPython),
    /// Link the isolate (engine/) against sysroots and verify it against their python3.
    ///
    /// Builds a missing sysroot first. Checks: non-PIE executable without libpython, HACL*
    /// symbols present, every builtin module imports, a relocated single-file copy runs, the
    /// corpus and python3's command line are bit-exact, and CPython's own test subset passes.
    Isolate(IsolateArgs),
    /// Benchmark python3 against the isolate variants (static, static-PIC, shared) and the distro's
    /// python3 of the same version; writes target/bench/<target>-<version>/{results.md,json,sweep.svg}.
    Bench {
        #[arg(long, default_value = target::native_name())]
        target: String,
        #[arg(long = "python", value_name = "VERSION")]
        python: Option<String>,
        /// Measured runs per contestant and workload.
        #[arg(long, default_value_t = 15)]
        runs: usize,
        #[arg(long, default_value_t = 3)]
        warmups: usize,
        /// Also count instructions with valgrind (stable where wall time is noisy).
        #[arg(long)]
        callgrind: bool,
        /// Build the static-pic and shared sysroots if missing (full builds).
        #[arg(long)]
        build_variants: bool,
        /// Build missing sysroots without PGO.
        #[arg(long)]
        no_pgo: bool,
    },
    /// The test suite: unit tests, then end to end with real CPython builds (no PGO by default).
    ///
    /// Needs a file:// mirror (--mirror or PYSYSROOT_MIRROR): it is served over loopback HTTP
    /// and a tampered copy of it must be refused.
    Test {
        /// Targets to build and check end to end (repeatable) [default: x86_64].
        #[arg(long)]
        target: Vec<String>,
        /// Build the sysroots with PGO, as releases are.
        #[arg(long)]
        pgo: bool,
    },
    /// Run the isolate of a target's sysroot with these arguments (under the target's runner:
    /// qemu for aarch64, wasmtime for wasi), like python3: `cargo xtask run --target wasi x.py`.
    Run {
        #[arg(long, default_value = target::native_name())]
        target: String,
        #[arg(long = "python", value_name = "VERSION")]
        python: Option<String>,
        /// Arguments for the isolate (script and its arguments, -c CODE, -m MODULE...).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Validate each built sysroot and its isolate, then pack one deterministic archive per
    /// target with SHA256SUMS (verify with `sha256sum -c SHA256SUMS`).
    Dist {
        /// Targets to pack (repeatable) [default: every built one].
        #[arg(long)]
        target: Vec<String>,
        #[arg(long = "python", value_name = "VERSION")]
        python: Option<String>,
        /// Output directory [default: target/dist].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Check reproducibility: build the sysroot twice from scratch without PGO (under
    /// target/pysysroot/reproduce, leaving sysroots/ alone), pack each, compare the archives.
    Reproduce {
        #[arg(long, default_value = target::native_name())]
        target: String,
        #[arg(long = "python", value_name = "VERSION")]
        python: Option<String>,
    },
    /// Download and verify every pinned source archive of a recipe (all recipes by default).
    Fetch {
        /// CPython version (see recipes/).
        #[arg(long = "python", value_name = "VERSION")]
        python: Option<String>,
    },
    /// Install what the targets need on this machine: Debian packages, Rust targets, pinned
    /// tools (zig, the WASI runtime). All targets unless --target is given.
    Provision {
        #[arg(long)]
        target: Vec<String>,
    },
    /// Report which host tools are present and missing, with the command that fixes them.
    Doctor {
        #[arg(long)]
        target: Vec<String>,
    },
    /// List recipes and targets.
    List,
}

#[derive(clap::Args)]
struct BuildPython {
    /// Target to build for: a name from sysroots/*.toml (x86_64, aarch64, wasi) or its Rust triple.
    #[arg(long, default_value = target::native_name())]
    target: String,
    /// CPython version: a recipe in recipes/ [default: the recipe marked default].
    #[arg(long = "python", value_name = "VERSION")]
    python: Option<String>,
    /// static: non-PIC libpython, non-PIE executables (fastest). static-pic: -fPIC libpython for
    /// PIE executables. shared: libpython.so, for comparisons.
    #[arg(long, value_enum, default_value = "static")]
    flavor: FlavorArg,
    /// Skip profile-guided optimisation (much faster to build; for CI and development).
    #[arg(long)]
    no_pgo: bool,
    /// Skip link-time optimisation.
    #[arg(long)]
    no_lto: bool,
    /// Rebuild even if the sysroot is up to date.
    #[arg(long)]
    force: bool,
    /// Only say whether the sysroot is up to date (and print its cache key); build nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(clap::Args)]
struct IsolateArgs {
    /// Targets to build for (repeatable) [default: every sysroot already built, else the native one].
    #[arg(long)]
    target: Vec<String>,
    /// CPython version [default: every built version; the default recipe when building].
    #[arg(long = "python", value_name = "VERSION")]
    python: Option<String>,
    #[arg(long, value_enum, default_value = "static")]
    flavor: FlavorArg,
    /// Build missing sysroots without PGO.
    #[arg(long)]
    no_pgo: bool,
    /// Skip CPython's regression-test subset (minutes under emulation).
    #[arg(long)]
    no_regrtest: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum FlavorArg {
    Static,
    StaticPic,
    Shared,
}

impl From<FlavorArg> for Flavor {
    fn from(f: FlavorArg) -> Flavor {
        match f {
            FlavorArg::Static => Flavor::Static,
            FlavorArg::StaticPic => Flavor::StaticPic,
            FlavorArg::Shared => Flavor::Shared,
        }
    }
}

/// Settings every command shares.
#[derive(Clone)]
pub struct Ctx {
    /// The repository root (recipes/, patches/, sysroots/*.toml).
    pub root: PathBuf,
    pub sysroots: PathBuf,
    pub cache_dir: PathBuf,
    pub mirror: Option<fetch::Mirror>,
    pub offline: bool,
    pub jobs: usize,
}

impl Ctx {
    /// Scratch space for builds: unpacked sources, build trees, C libraries.
    pub fn work_dir(&self) -> PathBuf {
        self.root.join("target/pysysroot")
    }
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("xtask lives in the repository")?
        .to_path_buf();
    let g = cli.global;
    let cache_dir = match g.cache_dir {
        Some(d) => d,
        None => std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .context("no cache directory: set --cache-dir or HOME")?
            .join("pysysroot"),
    };
    let ctx = Ctx {
        sysroots: g.sysroots_dir.unwrap_or_else(|| root.join("sysroots")),
        root,
        cache_dir: absolute(cache_dir)?,
        mirror: g.mirror.as_deref().map(fetch::Mirror::parse).transpose()?,
        offline: g.offline,
        jobs: g
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
    };
    match cli.command {
        Command::BuildPython(a) => {
            let opts = sysroot::Options {
                target: a.target,
                python: a.python,
                flavor: a.flavor.into(),
                pgo: !a.no_pgo,
                lto: !a.no_lto,
                force: a.force,
                dry_run: a.dry_run,
            };
            sysroot::build_python(&ctx, &opts)?;
        }
        Command::Isolate(a) => {
            let opts = isolate::Options {
                targets: a.target,
                python: a.python,
                flavor: a.flavor.into(),
                pgo: !a.no_pgo,
                regrtest: !a.no_regrtest,
            };
            isolate::run(&ctx, &opts)?;
        }
        Command::Fetch { python } => {
            let fetcher =
                fetch::Fetcher::new(ctx.cache_dir.clone(), ctx.mirror.clone(), ctx.offline)?;
            let recipes = recipe::load_all(&ctx.root.join("recipes"))?;
            let mut failed = 0;
            for (r, _) in recipes
                .iter()
                .filter(|(r, _)| python.as_ref().is_none_or(|v| *v == r.version))
            {
                for s in &r.sources {
                    match fetcher.fetch(s) {
                        Ok(p) => {
                            println!("ok        {} {}  {}", s.sha256, s.file_name(), p.display())
                        }
                        Err(e) => {
                            failed += 1;
                            println!("FAILED    {}: {e:#}", s.file_name());
                        }
                    }
                }
            }
            if failed > 0 {
                anyhow::bail!("{failed} pinned source(s) could not be fetched and verified");
            }
        }
        Command::Bench {
            target,
            python,
            runs,
            warmups,
            callgrind,
            build_variants,
            no_pgo,
        } => {
            bench::run(
                &ctx,
                &bench::Options {
                    target,
                    python,
                    runs,
                    warmups,
                    callgrind,
                    build_variants,
                    pgo: !no_pgo,
                },
            )?;
        }
        Command::Test { target, pgo } => {
            let targets = if target.is_empty() {
                vec![target::native_name().to_string()]
            } else {
                target
            };
            e2e::run(&ctx, &e2e::Options { targets, pgo })?;
        }
        Command::Run {
            target,
            python,
            args,
        } => std::process::exit(isolate::run_isolate(
            &ctx,
            &target,
            python.as_deref(),
            &args,
        )?),
        Command::Reproduce { target, python } => dist::reproduce(&ctx, &target, python.as_deref())?,
        Command::Dist {
            target,
            python,
            out,
        } => {
            let out = out.unwrap_or_else(|| ctx.root.join("target/dist"));
            dist::run(
                &ctx,
                &dist::Options {
                    targets: target,
                    python,
                    out,
                },
            )?
        }
        Command::Provision { target } => provision::provision(&ctx, &target)?,
        Command::Doctor { target } => provision::doctor(&ctx, &target)?,
        Command::List => {
            for (r, _) in recipe::load_all(&ctx.root.join("recipes"))? {
                println!(
                    "python {}{}",
                    r.version,
                    if r.default { " (default)" } else { "" }
                );
            }
            for (t, _) in target::load_all(&ctx.root.join("sysroots"))? {
                println!(
                    "target {:8} {} flavors: {}",
                    t.name,
                    t.rust_triple,
                    t.flavors.keys().cloned().collect::<Vec<_>>().join(", ")
                );
            }
        }
    }
    Ok(())
}

fn absolute(p: PathBuf) -> Result<PathBuf> {
    Ok(if p.is_absolute() {
        p
    } else {
        std::env::current_dir()?.join(p)
    })
}

/// `git rev-parse HEAD` of the repository, with `-dirty` when it has uncommitted changes.
pub fn git_revision(root: &Path) -> String {
    let sh = match xshell::Shell::new() {
        Ok(sh) => sh,
        Err(_) => return "unknown".into(),
    };
    sh.change_dir(root);
    let rev = xshell::cmd!(sh, "git rev-parse HEAD")
        .quiet()
        .ignore_stderr()
        .read()
        .unwrap_or_else(|_| "unknown".into());
    let dirty = xshell::cmd!(sh, "git status --porcelain")
        .quiet()
        .ignore_stderr()
        .read()
        .map(|s| !s.trim().is_empty())
        .unwrap_or(false);
    if dirty { format!("{rev}-dirty") } else { rev }
}
