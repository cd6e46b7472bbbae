//! One run of a benchmark script as a pyperf worker (`--worker`): pyperf runs the given loops
//! in this one process, spawns nothing (but what the benchmark itself starts), and writes its
//! timings as JSON. The bench times the whole process around it.

use super::suite::{Benchmark, Suite};
use crate::checks::{self, Interp};
use crate::util::{fs, process};
use anyhow::{Context, Result, bail, ensure};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// What a process's time is.
#[derive(Serialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "kebab-case")]
pub enum Measure {
    /// CPU time of the process and its children (`perf stat -e task-clock`): what another
    /// process on the machine takes is not counted.
    TaskClock,
    /// Wall time, where perf cannot count.
    Wall,
}

impl Measure {
    /// task-clock when `perf stat` can count it for our own processes here.
    pub fn detect() -> Measure {
        let ok = Command::new("perf")
            .args([
                "stat",
                "-x,",
                "-o",
                "/dev/null",
                "-e",
                "task-clock",
                "--",
                "true",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        match ok {
            true => Measure::TaskClock,
            false => Measure::Wall,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Measure::TaskClock => {
                "CPU time (`perf stat -e task-clock`) of the whole worker process and its children"
            }
            Measure::Wall => {
                "wall time of the whole worker process (perf stat could not count task-clock here)"
            }
        }
    }
}

/// Whether `perf stat` counts CPU cycles here (virtual machines often have no hardware
/// counters).
pub fn cycles_supported() -> bool {
    Command::new("perf")
        .args(["stat", "-x,", "-e", "cycles", "--", "true"])
        .stdout(Stdio::null())
        .output()
        .is_ok_and(|o| {
            let err = String::from_utf8_lossy(&o.stderr);
            o.status.success() && err.contains("cycles") && !err.contains("<not ")
        })
}

/// pyperf's loops, warm-up values and values for one worker process.
#[derive(Serialize, Clone, Copy, Debug)]
pub struct Runs {
    pub loops: u64,
    pub warmups: u32,
    pub values: u32,
}

/// One worker process.
#[derive(Serialize, Clone, Debug)]
pub struct Sample {
    /// The measure of the whole process, in seconds.
    pub process: f64,
    /// Its wall time.
    pub wall: f64,
    /// pyperf's values: seconds per loop (inner loops counted), timed inside the process.
    pub values: Vec<f64>,
    /// Loops the process ran, warm-ups and inner loops included.
    pub loops: f64,
    /// pyperf's inner loops: how many times a benchmark's loop repeats its code.
    pub inner_loops: f64,
    /// Seconds pyperf timed for all those loops.
    pub work: f64,
}

impl Sample {
    /// The measure per loop: what the tables report.
    pub fn per_loop(&self) -> f64 {
        self.process / self.loops
    }

    /// The share of the process's wall time outside the timed loops.
    pub fn startup_share(&self) -> f64 {
        (1.0 - self.work / self.wall).max(0.0)
    }
}

/// Runs benchmark scripts for any contestant, in one environment.
pub struct Worker<'s> {
    pub suite: &'s Suite,
    pub measure: Measure,
    /// PYTHONPATH: pyperf alone.
    pub pythonpath: PathBuf,
    /// Where processes run and write their JSON.
    pub scratch: PathBuf,
}

impl Worker<'_> {
    pub fn run(&self, interp: &Interp, bench: &Benchmark, runs: Runs) -> Result<Sample> {
        let json = self.scratch.join(format!("{}.json", bench.name));
        let stat = self.scratch.join(format!("{}.perf", bench.name));
        fs::remove_file(&json)?;
        let mut cmd = self.command(interp, bench, runs, &json, &stat)?;
        let start = Instant::now();
        let out = process::capture(&mut cmd)?;
        let wall = start.elapsed().as_secs_f64();
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let lines: Vec<&str> = err.lines().collect();
            let tail = &lines[lines.len().saturating_sub(15)..];
            bail!(
                "{} failed on {} ({}): rerun `{}` to see why\n{}",
                interp.exe,
                bench.name,
                out.status,
                process::describe(&cmd),
                tail.join("\n")
            );
        }
        let process = match self.measure {
            Measure::TaskClock => task_clock(&fs::read_to_string(&stat)?)
                .with_context(|| format!("reading {}", stat.display()))?,
            Measure::Wall => wall,
        };
        let text = fs::read_to_string(&json)?;
        let timed = timings(&text, &bench.name)
            .with_context(|| format!("reading pyperf's results {}", json.display()))?;
        Ok(Sample {
            process,
            wall,
            values: timed.values,
            loops: timed.loops,
            inner_loops: timed.inner_loops,
            work: timed.work,
        })
    }

    fn command(
        &self,
        interp: &Interp,
        bench: &Benchmark,
        runs: Runs,
        json: &Path,
        stat: &Path,
    ) -> Result<Command> {
        ensure!(
            interp.runner.is_native(),
            "the pyperformance suite runs natively only; {} needs a runner",
            interp.exe
        );
        let mut cmd = match self.measure {
            Measure::TaskClock => {
                let mut c = Command::new("perf");
                c.args(["stat", "-x,", "-e", "task-clock", "-o"])
                    .arg(stat)
                    .arg("--")
                    .arg(&interp.exe);
                c
            }
            Measure::Wall => interp.command(),
        };
        cmd.arg(self.suite.script(bench)?)
            .args(&bench.args)
            .arg("--worker")
            .arg(format!("--worker-task={}", bench.task))
            .args(["--loops", &runs.loops.to_string()])
            .args(["--warmups", &runs.warmups.to_string()])
            .args(["--values", &runs.values.to_string()])
            .arg("--output")
            .arg(json)
            .current_dir(&self.scratch)
            .env_clear()
            .envs(checks::clean_env())
            .env("PYTHONPATH", &self.pythonpath)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        Ok(cmd)
    }
}

/// The task-clock `perf stat -x,` counted, in seconds.
fn task_clock(text: &str) -> Result<f64> {
    let line = text
        .lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|f| f.len() > 2 && f[2].starts_with("task-clock"))
        .with_context(|| format!("no task-clock in perf's output: {text}"))?;
    let msec: f64 = line[0]
        .parse()
        .with_context(|| format!("perf did not count task-clock: {}", line.join(",")))?;
    ensure!(line[1] == "msec", "task-clock in {:?}, not msec", line[1]);
    Ok(msec / 1e3)
}

/// What pyperf timed in one worker.
#[derive(Debug, PartialEq)]
struct Timed {
    values: Vec<f64>,
    loops: f64,
    inner_loops: f64,
    work: f64,
}

/// pyperf's JSON: one benchmark (as `--worker-task` asks), its run's `warmups` as
/// `[loops, seconds per loop]` and `values` in seconds per loop, both already divided by
/// `inner_loops` (metadata of the benchmark, or of the file when it holds one).
fn timings(text: &str, name: &str) -> Result<Timed> {
    let doc: Value = serde_json::from_str(text)?;
    let benches = doc["benchmarks"].as_array().context("no benchmarks")?;
    ensure!(benches.len() == 1, "{} benchmarks, not one", benches.len());
    let b = &benches[0];
    let meta = |key: &str| b["metadata"][key].clone().or(doc["metadata"][key].clone());
    let reported = meta("name");
    if reported.as_str() != Some(name) {
        bail!(
            "pyperf reports {reported} where recipes/tools/pyperformance.toml says {name:?}: fix the name there"
        );
    }
    let loops = meta("loops").as_f64().context("no loops in the metadata")?;
    let inner = meta("inner_loops").as_f64().unwrap_or(1.0);
    let run = b["runs"]
        .as_array()
        .and_then(|r| r.last())
        .context("no run")?;
    let values: Vec<f64> = serde_json::from_value(run["values"].clone()).context("values")?;
    let warmups: Vec<(f64, f64)> =
        serde_json::from_value(run["warmups"].clone()).unwrap_or_default();
    let warm_loops: f64 = warmups.iter().map(|(l, _)| l).sum();
    let warm_work: f64 = warmups.iter().map(|(l, v)| l * v).sum();
    Ok(Timed {
        loops: inner * (warm_loops + loops * values.len() as f64),
        work: inner * (warm_work + loops * values.iter().sum::<f64>()),
        inner_loops: inner,
        values,
    })
}

/// `a.or(b)` for JSON: `b` where `a` is null.
trait Or {
    fn or(self, other: Value) -> Value;
}

impl Or for Value {
    fn or(self, other: Value) -> Value {
        if self.is_null() { other } else { self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_task_clock() {
        let text = "# started on Thu Dec  3 11:00:00 2026\n\n1523.41,msec,task-clock,1523410000,100.00,0.998,CPUs utilized\n";
        assert!((task_clock(text).unwrap() - 1.52341).abs() < 1e-9);
        let err = task_clock("<not counted>,msec,task-clock,0,100.00,,\n").unwrap_err();
        assert!(err.to_string().contains("did not count"), "{err}");
    }

    #[test]
    fn reads_pyperf_timings_with_warmups_and_inner_loops() {
        let one = r#"{"benchmarks": [{"runs": [{"values": [1e-07, 3e-07],
            "warmups": [[2, 2e-07]]}]}], "metadata": {"name": "unpack_sequence",
            "loops": 2, "inner_loops": 400}}"#;
        let t = timings(one, "unpack_sequence").unwrap();
        assert_eq!(t.values, [1e-07, 3e-07]);
        assert_eq!(t.loops, 400.0 * (2.0 + 2.0 * 2.0));
        assert!((t.work - 400.0 * (2.0 * 2e-07 + 2.0 * 4e-07)).abs() < 1e-15);
        // A script that defines several benchmarks keeps the name in the benchmark's metadata.
        let several = r#"{"benchmarks": [{"metadata": {"name": "deepcopy"},
            "runs": [{"values": [0.5]}]}], "metadata": {"loops": 1}}"#;
        let t = timings(several, "deepcopy").unwrap();
        assert_eq!((t.loops, t.work), (1.0, 0.5));
        let err = timings(several, "deepcopy_memo").unwrap_err();
        assert!(err.to_string().contains("fix the name"), "{err}");
    }
}
