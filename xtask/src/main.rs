//! `cargo xtask`: parses the command line and dispatches to the command (see `lib.rs`).

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use xtask::commands::{self, *};
use xtask::model::mirror::{MIRROR_ENV, Mirror};
use xtask::model::{Layout, Settings};
use xtask::util::store::Store;

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
    #[arg(long, global = true, env = MIRROR_ENV, value_name = "URL")]
    mirror: Option<String>,
    /// Where verified downloads and pinned tools are cached [default: $XDG_CACHE_HOME/pysysroot or ~/.cache/pysysroot].
    #[arg(long, global = true, env = "PYSYSROOT_CACHE", value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Use only the cache: never download.
    #[arg(long, global = true, env = "PYSYSROOT_OFFLINE", value_parser = clap::builder::FalseyValueParser::new())]
    offline: bool,
    /// Parallel jobs for compilers and make [default: number of CPUs].
    #[arg(long, short = 'j', global = true, env = "PYSYSROOT_JOBS", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Where sysroots are built [default: sysroots/ in this repository].
    #[arg(long, global = true, env = "PYSYSROOT_SYSROOTS", value_name = "DIR")]
    sysroots_dir: Option<PathBuf>,
    /// A binary cache to substitute sysroots from (repeatable, tried in order): file:///dir,
    /// a directory, http(s)://host/path, or s3://bucket/path (configured by the standard
    /// AWS_* variables: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL).
    #[arg(
        long,
        global = true,
        env = xtask::pipeline::fetch::BINARY_CACHE_ENV,
        value_delimiter = ',',
        value_name = "URL"
    )]
    binary_cache: Vec<String>,
    /// A minisign public key (RWQ...) or key file whose signatures on substitutes are trusted
    /// (repeatable); also read from ~/.config/pysysroot/trusted-keys.
    #[arg(
        long,
        global = true,
        env = "PYSYSROOT_TRUSTED_KEYS",
        value_delimiter = ',',
        value_name = "KEY"
    )]
    trusted_key: Vec<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Download, verify, patch and build CPython into sysroots/<target>/<version>.
    ///
    /// The result is a static libpython with every extension module built in, the build's
    /// own python3, headers, the stdlib, a PyO3 config and manifest.json (inputs, flags,
    /// link requirements). Re-running with unchanged inputs does nothing.
    BuildPython(build_python::Args),
    /// Link the isolate (engine/) against sysroots and verify it against their python3.
    ///
    /// Builds a missing sysroot first. Checks: the executable's kind and needs, HACL* symbols,
    /// the exported C API, every builtin module, a relocated single-file copy, Ctrl-C, the
    /// bit-exact corpus and python3's command line, and CPython's own test subset.
    Isolate(isolate::Args),
    /// Print the cargo configuration (or shell exports) that links your own crate against a
    /// sysroot: `cargo xtask env > pysysroot.toml && cargo build --config pysysroot.toml --target <triple>`.
    Env(env::Args),
    /// Benchmark python3 against the isolate variants and the distro's python3 of the same
    /// version: --suite micro writes target/bench/<target>-<version>/{results.md,json,sweep.svg},
    /// --suite pyperformance writes pyperformance.{md,json} there (docs/bench.md).
    Bench(bench::Args),
    /// The test suite: unit tests, then end to end with real CPython builds (no PGO by default).
    Test(test::Args),
    /// Run the isolate of a target's sysroot with these arguments (under the target's runner:
    /// qemu for aarch64, wasmtime for wasi), like python3: `cargo xtask run --target wasi x.py`.
    Run(run::Args),
    /// Validate each built sysroot and its isolate, then pack one deterministic archive per
    /// target with SHA256SUMS (verify with `sha256sum -c SHA256SUMS`).
    Dist(dist::Args),
    /// Make a key pair for signing substitutes in a binary cache (`dist --sign`).
    Keygen(keygen::Args),
    /// Check reproducibility: build the sysroot twice from scratch without PGO (under
    /// target/pysysroot/reproduce, leaving sysroots/ alone), pack each, compare the archives.
    Reproduce(reproduce::Args),
    /// Download and verify the pinned source of each recipe.
    Fetch(fetch::Args),
    /// Install what the targets need on this machine: Debian packages, Rust targets, pinned
    /// tools (zig, the WASI runtime). All targets unless --target is given.
    Provision(provision::Args),
    /// Report which host tools are present and missing, with the command that fixes them.
    Doctor(doctor::Args),
    /// List recipes and targets.
    List,
}

fn main() {
    let cli = Cli::parse();
    let code = settings(cli.global).and_then(|s| dispatch(&s, cli.command));
    match code {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}

fn settings(g: Global) -> Result<Settings> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the repository")
        .to_path_buf();
    let cwd = xtask::util::fs::current_dir()?;
    let cache = match g.cache_dir {
        Some(d) => cwd.join(d),
        None => Layout::default_cache(|v| std::env::var(v).ok())?,
    };
    let layout = Layout {
        sysroots: g
            .sysroots_dir
            .map(|d| cwd.join(d))
            .unwrap_or_else(|| root.join("sysroots")),
        cache,
        work: root.join("target/pysysroot"),
        root,
    };
    Ok(Settings {
        layout,
        mirror: g.mirror.as_deref().map(Mirror::parse).transpose()?,
        offline: g.offline,
        jobs: g
            .jobs
            .map(usize::from)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        binary_caches: g
            .binary_cache
            .iter()
            .map(|c| Store::parse(c))
            .collect::<Result<_>>()?,
        trusted_keys: Settings::trusted_keys(&g.trusted_key, |v| std::env::var(v).ok())?,
    })
}

fn dispatch(s: &Settings, command: Command) -> Result<i32> {
    match command {
        Command::BuildPython(a) => build_python::run(s, &a)?,
        Command::Isolate(a) => isolate::run(s, &a)?,
        Command::Env(a) => env::run(s, &a)?,
        Command::Bench(a) => bench::run(s, &a)?,
        Command::Test(a) => test::run(s, &a)?,
        Command::Run(a) => return run::run(s, &a),
        Command::Dist(a) => dist::run(s, &a)?,
        Command::Reproduce(a) => reproduce::run(s, &a)?,
        Command::Keygen(a) => keygen::run(s, &a)?,
        Command::Fetch(a) => fetch::run(s, &a)?,
        Command::Provision(a) => provision::run(s, &a)?,
        Command::Doctor(a) => doctor::run(s, &a)?,
        Command::List => commands::list::run(s)?,
    }
    Ok(0)
}
