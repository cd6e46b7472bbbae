//! `bench`: python3 and the isolate variants, interleaved, in two suites: `micro` (this
//! file: whole-process wall time of our own workloads, the start-up sweep, instruction
//! counts) and `pyperformance` (pyperformance's benchmarks as pyperf workers, in
//! [`pyperformance`]).
//!
//! Contestants come from the same recipe: the sysroot's python3, the isolate linked against
//! the static (non-PIC), static-pic and shared sysroots when they are built, and the distro's
//! python3 when its version is the recipe's. Every round runs each contestant once, in a
//! rotating order, so drift on a noisy machine hits all of them alike; ratios are taken from
//! medians measured in the same run. Instruction counts (`--callgrind`) complement wall time.

mod calibrate;
mod contestants;
mod pyperformance;
mod pyperformance_report;
mod report;
mod stats;
mod suite;
mod warm;
mod worker;

use crate::checks::{self, Interp};
use crate::model::tools::Install;
use crate::model::{Catalog, Settings, target};
use crate::util::{fs, process, progress};
use anyhow::{Context, Result, bail, ensure};
use contestants::Contestant;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use sysroot_manifest::Flavor;

#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq)]
pub enum Suite {
    /// Our workloads as whole processes, the start-up sweep, and --callgrind's counts.
    Micro,
    /// pyperformance's benchmarks (recipes/tools/pyperformance.toml) as pyperf workers.
    Pyperformance,
    /// Both.
    All,
}

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = target::native_name())]
    pub target: String,
    #[arg(long = "python", value_name = "VERSION")]
    pub python: Option<String>,
    /// Which benchmarks; `pyperformance` writes pyperformance.{md,json}.
    #[arg(long, value_enum, default_value_t = Suite::Micro)]
    pub suite: Suite,
    /// pyperformance: its quick subset and 3 rounds, for development.
    #[arg(long)]
    pub quick: bool,
    /// pyperformance: rounds, each running every benchmark once per contestant [default: 5, with --quick 3].
    #[arg(long)]
    pub rounds: Option<usize>,
    /// pyperformance: pyperf values per worker process, after one warm-up value.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub values: u32,
    /// pyperformance: only this benchmark (repeatable).
    #[arg(long = "benchmark", value_name = "NAME")]
    pub benchmarks: Vec<String>,
    /// micro: measured runs per contestant and workload.
    #[arg(long, default_value_t = 15)]
    pub runs: usize,
    /// micro: warm-up rounds.
    #[arg(long, default_value_t = 3)]
    pub warmups: usize,
    /// micro: also count instructions with valgrind (stable where wall time is noisy).
    #[arg(long)]
    pub callgrind: bool,
    /// Build the static-pic and shared sysroots if missing (full builds).
    #[arg(long)]
    pub build_variants: bool,
    /// Build missing sysroots without PGO.
    #[arg(long)]
    pub no_pgo: bool,
    /// Also run the static python3 and isolate of this other target of the machine's
    /// architecture (x86_64-musl, x86_64-v3), same recipe (repeatable).
    #[arg(long = "compare-target", value_name = "TARGET")]
    pub compare_targets: Vec<String>,
    /// Also run the python3 and isolate of another build of this version that runs here as
    /// this target does: a sysroot directory kept from an earlier build (another training
    /// set, flags or revision, or a sibling target such as x86_64-v3), held against this one
    /// in the same interleaved rounds, as it is, never rebuilt (repeatable).
    #[arg(long = "compare-sysroot", value_name = "DIR")]
    pub compare_sysroots: Vec<PathBuf>,
    /// micro: leave out the warm path (the static isolate's fork server).
    #[arg(long)]
    pub no_warm: bool,
}

#[derive(Serialize, Clone)]
struct Workload {
    name: String,
    /// Arguments after the interpreter (script and its arguments).
    args: Vec<String>,
}

#[derive(Serialize)]
pub struct Stats {
    median: f64,
    min: f64,
    max: f64,
    samples: Vec<f64>,
}

#[derive(Serialize)]
pub struct Results {
    machine: BTreeMap<String, String>,
    contestants: Vec<Contestant>,
    reference: String,
    /// workload -> contestant -> seconds
    wall: BTreeMap<String, BTreeMap<String, Stats>>,
    /// workload -> contestant -> instructions
    instructions: BTreeMap<String, BTreeMap<String, u64>>,
    /// contestant -> calls per second of `-c pass`, two at a time
    throughput: BTreeMap<String, f64>,
    emulated: Option<String>,
}

pub const SWEEP: [u64; 5] = [1, 1_000, 10_000, 100_000, 1_000_000];

pub fn run(settings: &Settings, args: &Args) -> Result<()> {
    let catalog = Catalog::load(&settings.layout)?;
    let model = catalog.resolve(
        settings,
        &args.target,
        args.python.as_deref(),
        Flavor::Static,
        Install::Yes,
    )?;
    if args.suite != Suite::Micro && !model.runner.is_native() {
        bail!(
            "the pyperformance suite runs natively only ({} runs under `{}`): use --suite micro",
            model.target.name,
            model.runner.command().join(" ")
        );
    }
    let (contestants, reference, suffix) = contestants::gather(&catalog, &model, args)?;
    let out = settings.layout.root.join("target/bench").join(format!(
        "{}-{}{suffix}",
        model.target.name, model.recipe.version
    ));
    fs::create_dir_all(&out)?;
    let machine = machine(settings, &model.target.name, &model.recipe.version);
    if args.suite != Suite::Pyperformance {
        micro(
            args,
            &model,
            contestants.clone(),
            &reference,
            machine.clone(),
            &out,
        )?;
    }
    if args.suite != Suite::Micro {
        pyperformance::run(settings, args, &contestants, &reference, machine, &out)?;
    }
    Ok(())
}

/// The micro suite: results.{json,md} and sweep.svg.
fn micro(
    args: &Args,
    model: &crate::model::Model,
    contestants: Vec<Contestant>,
    reference: &str,
    machine: BTreeMap<String, String>,
    out: &Path,
) -> Result<()> {
    let emulated = (!model.runner.is_native()).then(|| {
        format!(
            "run under `{}`: emulated times only support ratios",
            model.runner.command().join(" ")
        )
    });
    let cwd = model.settings.layout.root.clone();
    let mut results = Results {
        machine,
        contestants,
        reference: reference.to_string(),
        wall: BTreeMap::new(),
        instructions: BTreeMap::new(),
        throughput: BTreeMap::new(),
        emulated,
    };
    // Lives until the results are written: the warm contestant calls it.
    let server = match args.no_warm {
        true => None,
        false => warm_contestant(model, &mut results.contestants, &cwd, out)?,
    };
    for w in workloads() {
        let per = wall_times(&results.contestants, &w, &cwd, args)?;
        results.wall.insert(w.name.clone(), per);
    }
    throughput(&mut results, server.is_some(), &cwd)?;
    if args.callgrind && model.runner.is_native() {
        for (name, w) in callgrind_workloads() {
            progress::note(format!("callgrind: {name}"));
            let mut per = BTreeMap::new();
            // A warm call's instructions are in the server's child, not under valgrind.
            for c in results
                .contestants
                .iter()
                .filter(|c| c.interp.leading.is_empty())
            {
                per.insert(c.name.clone(), instructions(&c.interp, &w, &cwd)?);
            }
            results.instructions.insert(name.to_string(), per);
        }
    }
    fs::write(
        &out.join("results.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    let md = report::markdown(&results, args.runs, args.warmups);
    fs::write(&out.join("results.md"), &md)?;
    fs::write(&out.join("sweep.svg"), report::sweep_svg(&results))?;
    println!("\n{md}");
    progress::note(format!("results in {}", out.display()));
    Ok(())
}

/// The static isolate's fork server and the contestant that calls it, on a target whose
/// isolate has one (native Linux).
fn warm_contestant(
    model: &crate::model::Model,
    contestants: &mut Vec<Contestant>,
    cwd: &Path,
    out: &Path,
) -> Result<Option<warm::Server>> {
    let Some(cold) = contestants.iter().find(|c| c.name == "isolate static") else {
        return Ok(None);
    };
    if !model.runner.is_native() || !model.target.platform.is_elf() {
        return Ok(None);
    }
    let server = warm::Server::start(&cold.interp, cwd, out)?;
    let contestant = server.contestant(cold, cwd)?;
    contestants.push(contestant);
    Ok(Some(server))
}

/// Calls per second of `-c pass`, two at a time (this machine has two cores), for the
/// reference, the cold isolate and the warm one.
fn throughput(results: &mut Results, warm: bool, cwd: &Path) -> Result<()> {
    if !warm {
        return Ok(());
    }
    let names = [
        results.reference.clone(),
        "isolate static".to_string(),
        "isolate static --warm".to_string(),
    ];
    let args = ["-c".to_string(), "pass".to_string()];
    for name in names {
        let Some(c) = results.contestants.iter().find(|c| c.name == name) else {
            continue;
        };
        let rate = warm::calls_per_second(&c.interp, &args, cwd, 2, 5.0)?;
        println!("    {name}: {rate:.0} calls/s");
        results.throughput.insert(name, rate);
    }
    Ok(())
}

/// Programs by paths relative to the repository, which is the working directory: every
/// runner maps it (a WASI guest sees it as `/`).
fn workloads() -> Vec<Workload> {
    let w = |name: String, args: &[&str]| Workload {
        name,
        args: args.iter().map(|s| s.to_string()).collect(),
    };
    let mut out = vec![
        w("-c pass".into(), &["-c", "pass"]),
        w(
            "pure int loop, M=3,000,000".into(),
            &["engine/bench/pure_int.py", "3000000"],
        ),
        w(
            "dynamic attribute/dispatch, M=1,000,000".into(),
            &["engine/bench/dynamic.py", "1000000"],
        ),
    ];
    for m in SWEEP {
        out.push(w(
            format!("sweep M={m}"),
            &["engine/bench/dynamic.py", &m.to_string()],
        ));
    }
    out
}

/// The same programs scaled down for valgrind, the sweep's first points, and the empty
/// program with and without `site`: the start-up floor CPython's own flags give.
fn callgrind_workloads() -> Vec<(&'static str, Vec<String>)> {
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect();
    vec![
        (
            "pure int loop, M=300,000",
            args(&["engine/bench/pure_int.py", "300000"]),
        ),
        (
            "dynamic attribute/dispatch, M=100,000",
            args(&["engine/bench/dynamic.py", "100000"]),
        ),
        ("start-up (M=1)", args(&["engine/bench/dynamic.py", "1"])),
        ("sweep M=1,000", args(&["engine/bench/dynamic.py", "1000"])),
        (
            "sweep M=10,000",
            args(&["engine/bench/dynamic.py", "10000"]),
        ),
        ("empty program: -c pass", args(&["-c", "pass"])),
        ("empty program: -S -c pass", args(&["-S", "-c", "pass"])),
        (
            "empty program: -I -S -c pass",
            args(&["-I", "-S", "-c", "pass"]),
        ),
    ]
}

/// Interleaved rounds: each round runs every contestant once, starting with a different one.
fn wall_times(
    contestants: &[Contestant],
    w: &Workload,
    cwd: &Path,
    args: &Args,
) -> Result<BTreeMap<String, Stats>> {
    progress::note(format!(
        "{}: {} warm-up + {} measured rounds of {} contestants",
        w.name,
        args.warmups,
        args.runs,
        contestants.len()
    ));
    check_outputs_agree(contestants, w, cwd)?;
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); contestants.len()];
    for round in 0..args.warmups + args.runs {
        for k in 0..contestants.len() {
            let i = (round + k) % contestants.len();
            let secs = time_once(&contestants[i].interp, &w.args, cwd)?;
            if round >= args.warmups {
                samples[i].push(secs);
            }
        }
    }
    let per: BTreeMap<String, Stats> = contestants
        .iter()
        .zip(samples)
        .map(|(c, s)| (c.name.clone(), report::stats(s)))
        .collect();
    let line: Vec<String> = contestants
        .iter()
        .map(|c| format!("{} {:.1} ms", c.name, per[&c.name].median * 1e3))
        .collect();
    println!("    {}", line.join(", "));
    Ok(per)
}

/// All contestants must print the same thing, or the comparison is meaningless.
fn check_outputs_agree(contestants: &[Contestant], w: &Workload, cwd: &Path) -> Result<()> {
    let mut first: Option<(&str, Vec<u8>)> = None;
    for c in contestants {
        let out = checks::run(&c.interp, &w.args, Some(b""), cwd, &[])?;
        ensure!(
            out.status == Some(0),
            "{} failed on {}: {}",
            c.name,
            w.name,
            String::from_utf8_lossy(&out.stderr)
        );
        match &first {
            None => first = Some((&c.name, out.stdout)),
            Some((name, stdout)) if *stdout != out.stdout => {
                bail!(
                    "{} and {name} print different results for {}",
                    c.name,
                    w.name
                )
            }
            _ => {}
        }
    }
    Ok(())
}

fn time_once(interp: &Interp, args: &[String], cwd: &Path) -> Result<f64> {
    let mut cmd = interp.command();
    cmd.args(args)
        .current_dir(cwd)
        .env_clear()
        .envs(checks::clean_env())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let start = Instant::now();
    let status = process::status(&mut cmd)?;
    let secs = start.elapsed().as_secs_f64();
    ensure!(status.success(), "{} exited with {status}", interp.exe);
    Ok(secs)
}

fn instructions(interp: &Interp, args: &[String], cwd: &Path) -> Result<u64> {
    use std::os::unix::process::CommandExt;
    let out = process::capture(
        Command::new("valgrind")
            .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
            .arg(&interp.exe)
            .arg0("valgrind")
            .args(args)
            .current_dir(cwd)
            .env_clear()
            .envs(checks::clean_env()),
    )
    .context("counting instructions needs valgrind (apt-get install valgrind)")?;
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text
        .lines()
        .find(|l| l.contains("Collected :"))
        .with_context(|| format!("no callgrind total for {}: {text}", interp.exe))?;
    Ok(line.rsplit(':').next().unwrap_or_default().trim().parse()?)
}

fn machine(settings: &Settings, target: &str, version: &str) -> BTreeMap<String, String> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let kernel = process::stdout(Command::new("uname").arg("-sr")).unwrap_or_default();
    BTreeMap::from([
        ("cpu".to_string(), cpu),
        (
            "cpus".to_string(),
            std::thread::available_parallelism()
                .map_or(0, |n| n.get())
                .to_string(),
        ),
        ("kernel".to_string(), kernel.trim().to_string()),
        ("target".to_string(), target.to_string()),
        ("cpython".to_string(), version.to_string()),
        (
            "revision".to_string(),
            crate::pipeline::record::git_revision(&settings.layout.root),
        ),
    ])
}
