//! `bench --suite pyperformance`: pyperformance's benchmarks, each script run by every
//! contestant itself as a pyperf worker with the same loops, contestants interleaved.
//!
//! First every contestant runs every benchmark once (a check that it can, and a warm-up of
//! the file cache), and the reference's runs calibrate the loops. Then each round runs every
//! benchmark once per contestant, in a rotating order, so that drift on a busy machine hits
//! all of them alike and a round's ratios compare neighbouring runs.

use super::calibrate::{self, Calibration, MAX_STARTUP_SHARE};
use super::contestants::Contestant;
use super::stats::{self, Ratio};
use super::suite::{self, Benchmark};
use super::worker::{self, Measure, Runs, Sample, Worker};
use super::{Args, Stats, pyperformance_report, report};
use crate::model::Settings;
use crate::model::tools::Install;
use crate::util::{fs, progress};
use anyhow::{Context, Result, ensure};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The contestants ratios are taken to, when they run: the same build's python3 and the
/// distro's python3 of the same version.
pub const BASELINES: [&str; 2] = ["python3", "distro python3"];

/// How much slower than the same binary before BOLT a benchmark may be (issue 23's bar);
/// the report names those beyond it.
pub const BOLT_TOLERANCE: f64 = 0.02;

/// How a run measures.
#[derive(Serialize, Clone, Copy, Debug)]
pub struct Plan {
    pub rounds: usize,
    /// Warm-up values and values of each worker process (its loops are calibrated).
    pub warmups: u32,
    pub values: u32,
    pub max_startup_share: f64,
}

impl Plan {
    fn runs(&self, loops: u64) -> Runs {
        Runs {
            loops,
            warmups: self.warmups,
            values: self.values,
        }
    }
}

#[derive(Serialize)]
pub struct Results {
    pub versions: Vec<String>,
    pub measure: Measure,
    pub measure_describe: String,
    pub cycles_supported: bool,
    pub command: String,
    pub machine: BTreeMap<String, String>,
    pub contestants: Vec<Contestant>,
    /// contestant -> the executable it ran.
    pub executables: BTreeMap<String, String>,
    /// The contestant that calibrated the loops.
    pub reference: String,
    pub plan: Plan,
    pub benchmarks: Vec<BenchResult>,
    /// baseline -> contestant -> the geometric mean of the benchmarks' ratios.
    pub geometric_means: BTreeMap<String, BTreeMap<String, Ratio>>,
    /// The same from pyperf's own timing of the loops (start-up excluded), as a cross-check.
    pub pyperf_geometric_means: BTreeMap<String, BTreeMap<String, Ratio>>,
    /// Each binary BOLT rewrote, against its pre-BOLT copy, when both ran.
    pub bolt: Vec<BoltEffect>,
}

/// One binary's time per loop ÷ the same binary's before BOLT, round by round.
#[derive(Serialize)]
pub struct BoltEffect {
    /// The contestant BOLT rewrote; its pre-BOLT copy ran as `<contestant> no BOLT`.
    pub contestant: String,
    /// benchmark -> ratio.
    pub per_benchmark: BTreeMap<String, Ratio>,
    pub geometric_mean: Ratio,
    /// The benchmarks whose ratio is above 1 + `BOLT_TOLERANCE`.
    pub slower: Vec<String>,
}

#[derive(Serialize)]
pub struct BenchResult {
    pub benchmark: Benchmark,
    pub calibration: Calibration,
    /// contestant -> the measure per loop over the rounds.
    pub per_loop: BTreeMap<String, Stats>,
    /// contestant -> the median share of start-up in its processes.
    pub startup_share: BTreeMap<String, f64>,
    /// baseline -> contestant -> ratio of the measure per loop.
    pub ratios: BTreeMap<String, BTreeMap<String, Ratio>>,
    /// The same from pyperf's values (each round's median).
    pub pyperf_ratios: BTreeMap<String, BTreeMap<String, Ratio>>,
    /// contestant -> its worker processes, in round order.
    pub samples: BTreeMap<String, Vec<Sample>>,
}

pub fn run(
    settings: &Settings,
    args: &Args,
    contestants: &[Contestant],
    reference: &str,
    machine: BTreeMap<String, String>,
    out: &Path,
) -> Result<()> {
    let layout = &settings.layout;
    let (requirements, catalogue) = suite::load(layout)?;
    let benches = suite::select(&catalogue, args.quick, &args.benchmarks)?;
    let installed = suite::install(layout, &requirements, settings.offline, Install::Yes)?;
    let scratch = layout.root.join("target/bench/pyperformance-run");
    let worker = Worker {
        suite: &installed,
        measure: Measure::detect(),
        pythonpath: installed.pythonpath(&scratch.join("pythonpath"))?,
        scratch: scratch.clone(),
    };
    let rounds = args.rounds.unwrap_or(if args.quick { 3 } else { 5 });
    ensure!(rounds > 0, "--rounds 0 measures nothing: give 1 or more");
    let plan = Plan {
        rounds,
        warmups: 1,
        values: args.values,
        max_startup_share: MAX_STARTUP_SHARE,
    };
    progress::note(format!(
        "pyperformance: {} benchmarks, {} rounds of {} contestants; measure: {}",
        benches.len(),
        plan.rounds,
        contestants.len(),
        worker.measure.describe()
    ));
    let benchmarks = measure(&worker, contestants, reference, &benches, plan)?;
    let results = results(&worker, contestants, reference, machine, plan, benchmarks);
    fs::write(
        &out.join("pyperformance.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    let md = pyperformance_report::markdown(&results);
    fs::write(&out.join("pyperformance.md"), &md)?;
    println!("\n{md}");
    progress::note(format!(
        "results in {}",
        out.join("pyperformance.md").display()
    ));
    Ok(())
}

/// Checks and calibrates every benchmark, then runs the rounds.
pub fn measure(
    worker: &Worker,
    contestants: &[Contestant],
    reference: &str,
    benches: &[&Benchmark],
    plan: Plan,
) -> Result<Vec<BenchResult>> {
    fs::create_dir_all(&worker.scratch)?;
    let reference = contestants
        .iter()
        .position(|c| c.name == reference)
        .with_context(|| format!("the reference {reference:?} is not among the contestants"))?;
    let calibrations = benches
        .iter()
        .map(|b| check_and_calibrate(worker, contestants, reference, b, plan))
        .collect::<Result<Vec<_>>>()?;
    let mut samples = vec![vec![Vec::new(); contestants.len()]; benches.len()];
    for round in 0..plan.rounds {
        progress::note(format!("round {}/{}", round + 1, plan.rounds));
        for (bi, b) in benches.iter().enumerate() {
            let runs = plan.runs(calibrations[bi].loops);
            for k in 0..contestants.len() {
                let i = (round + bi + k) % contestants.len();
                samples[bi][i].push(worker.run(&contestants[i].interp, b, runs)?);
            }
            let line: Vec<String> = contestants
                .iter()
                .zip(&samples[bi])
                .map(|(c, s)| {
                    let last = s.last().map_or(0.0, Sample::per_loop);
                    format!("{} {}", c.name, pyperformance_report::seconds(last))
                })
                .collect();
            println!("    {}: {}", b.name, line.join(", "));
        }
    }
    Ok(benches
        .iter()
        .zip(calibrations)
        .zip(samples)
        .map(|((b, cal), s)| summarize(b, cal, contestants, s))
        .collect())
}

/// Every contestant runs the benchmark once with one loop a value, which must succeed; the
/// reference's run and one more calibrate its loops.
fn check_and_calibrate(
    worker: &Worker,
    contestants: &[Contestant],
    reference: usize,
    bench: &Benchmark,
    plan: Plan,
) -> Result<Calibration> {
    let mut first = None;
    for (i, c) in contestants.iter().enumerate() {
        let sample = worker.run(&c.interp, bench, plan.runs(1))?;
        if i == reference {
            first = Some(sample);
        }
    }
    let first = first.expect("the reference is a contestant");
    let interp = &contestants[reference].interp;
    let cal = calibrate::calibrate(
        interp,
        worker,
        bench,
        first,
        plan.runs(1),
        plan.max_startup_share,
    )?;
    progress::note(format!(
        "{}: {} loops (start-up {:.0} ms, a loop {})",
        bench.name,
        cal.loops,
        cal.startup * 1e3,
        pyperformance_report::seconds(cal.loop_seconds)
    ));
    Ok(cal)
}

/// One benchmark's statistics from its samples (per contestant, in round order).
fn summarize(
    bench: &Benchmark,
    calibration: Calibration,
    contestants: &[Contestant],
    samples: Vec<Vec<Sample>>,
) -> BenchResult {
    let names: Vec<&str> = contestants.iter().map(|c| c.name.as_str()).collect();
    let per_loop: Vec<Vec<f64>> = samples
        .iter()
        .map(|s| s.iter().map(Sample::per_loop).collect())
        .collect();
    let pyperf: Vec<Vec<f64>> = samples
        .iter()
        .map(|s| {
            s.iter()
                .map(|x| {
                    let mut v = x.values.clone();
                    v.sort_by(f64::total_cmp);
                    stats::median(&v)
                })
                .collect()
        })
        .collect();
    let startup_share = names
        .iter()
        .zip(&samples)
        .map(|(n, s)| {
            let mut v: Vec<f64> = s.iter().map(Sample::startup_share).collect();
            v.sort_by(f64::total_cmp);
            (n.to_string(), stats::median(&v))
        })
        .collect();
    BenchResult {
        benchmark: bench.clone(),
        calibration,
        per_loop: names
            .iter()
            .zip(&per_loop)
            .map(|(n, v)| (n.to_string(), report::stats(v.clone())))
            .collect(),
        startup_share,
        ratios: ratios(&names, &per_loop),
        pyperf_ratios: ratios(&names, &pyperf),
        samples: names.iter().map(|n| n.to_string()).zip(samples).collect(),
    }
}

/// baseline -> contestant -> the paired ratio of their rounds, for the baselines that ran.
fn ratios(names: &[&str], rounds: &[Vec<f64>]) -> BTreeMap<String, BTreeMap<String, Ratio>> {
    let mut out = BTreeMap::new();
    for base in BASELINES {
        let Some(bi) = names.iter().position(|n| *n == base) else {
            continue;
        };
        let per: BTreeMap<String, Ratio> = names
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != bi)
            .map(|(i, n)| (n.to_string(), stats::paired(&rounds[i], &rounds[bi])))
            .collect();
        out.insert(base.to_string(), per);
    }
    out
}

/// baseline -> contestant -> the geometric mean of one kind of ratio over the benchmarks.
fn geometric_means(
    benchmarks: &[BenchResult],
    kind: fn(&BenchResult) -> &BTreeMap<String, BTreeMap<String, Ratio>>,
) -> BTreeMap<String, BTreeMap<String, Ratio>> {
    let mut out: BTreeMap<String, BTreeMap<String, Ratio>> = BTreeMap::new();
    let Some(first) = benchmarks.first() else {
        return out;
    };
    for (base, per) in kind(first) {
        for name in per.keys() {
            let all: Vec<Ratio> = benchmarks.iter().map(|b| kind(b)[base][name]).collect();
            out.entry(base.clone())
                .or_default()
                .insert(name.clone(), stats::geometric_mean_ratio(&all));
        }
    }
    out
}

fn results(
    worker: &Worker,
    contestants: &[Contestant],
    reference: &str,
    machine: BTreeMap<String, String>,
    plan: Plan,
    benchmarks: Vec<BenchResult>,
) -> Results {
    let args: Vec<String> = std::env::args().skip(1).collect();
    Results {
        versions: worker.suite.versions.clone(),
        measure: worker.measure,
        measure_describe: worker.measure.describe().to_string(),
        cycles_supported: worker::cycles_supported(),
        command: format!("cargo xtask {}", crate::util::shell::join(&args)),
        machine,
        contestants: contestants.to_vec(),
        executables: contestants
            .iter()
            .map(|c| (c.name.clone(), c.interp.exe.clone()))
            .collect(),
        reference: reference.to_string(),
        plan,
        geometric_means: geometric_means(&benchmarks, |b| &b.ratios),
        pyperf_geometric_means: geometric_means(&benchmarks, |b| &b.pyperf_ratios),
        bolt: bolt_effects(contestants, &benchmarks),
        benchmarks,
    }
}

/// BOLT's effect on every contestant whose pre-BOLT copy ran too.
fn bolt_effects(contestants: &[Contestant], benchmarks: &[BenchResult]) -> Vec<BoltEffect> {
    if benchmarks.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for c in contestants {
        let before = super::contestants::without_bolt_name(&c.name);
        if !contestants.iter().any(|o| o.name == before) {
            continue;
        }
        let per_benchmark: BTreeMap<String, Ratio> = benchmarks
            .iter()
            .map(|b| {
                let of =
                    |n: &str| -> Vec<f64> { b.samples[n].iter().map(Sample::per_loop).collect() };
                (
                    b.benchmark.name.clone(),
                    stats::paired(&of(&c.name), &of(&before)),
                )
            })
            .collect();
        let all: Vec<Ratio> = per_benchmark.values().copied().collect();
        out.push(BoltEffect {
            contestant: c.name.clone(),
            geometric_mean: stats::geometric_mean_ratio(&all),
            slower: per_benchmark
                .iter()
                .filter(|(_, r)| r.median > 1.0 + BOLT_TOLERANCE)
                .map(|(n, _)| n.clone())
                .collect(),
            per_benchmark,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Interp;
    use crate::model::Layout;
    use crate::model::target::Runner;
    use std::path::PathBuf;

    /// One small benchmark through the real harness, Debian's python3.11 standing in for both
    /// baselines. It needs the pinned packages, which any `bench --suite pyperformance`
    /// installs: without them, or without python3.11, it is skipped.
    #[test]
    fn runs_a_benchmark_through_the_harness() {
        let python = Path::new("/usr/bin/python3.11");
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let cache = std::env::var("PYSYSROOT_CACHE")
            .map(PathBuf::from)
            .or_else(|_| Layout::default_cache(|v| std::env::var(v).ok()));
        let (true, Ok(cache)) = (python.is_file(), cache) else {
            eprintln!("skipped: no {} or no cache directory", python.display());
            return;
        };
        let layout = Layout {
            root: root.to_path_buf(),
            sysroots: root.join("sysroots"),
            cache,
            work: root.join("target/pysysroot"),
        };
        let (requirements, catalogue) = suite::load(&layout).unwrap();
        let installed = match suite::install(&layout, &requirements, true, Install::No) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("skipped: {e:#}");
                return;
            }
        };
        let scratch = std::env::temp_dir().join(format!("pysysroot-bench-{}", std::process::id()));
        let worker = Worker {
            suite: &installed,
            measure: Measure::detect(),
            pythonpath: installed.pythonpath(&scratch.join("pythonpath")).unwrap(),
            scratch: scratch.clone(),
        };
        let contestant = |name: &str| Contestant {
            name: name.into(),
            interp: Interp::new(&Runner::Native, python),
            describe: "Debian's python3.11".into(),
        };
        let contestants = [
            contestant("distro python3"),
            contestant("python3"),
            contestant("python3 no BOLT"),
        ];
        let benches = suite::select(&catalogue, false, &["unpack_sequence".into()]).unwrap();
        let plan = Plan {
            rounds: 2,
            warmups: 1,
            values: 2,
            max_startup_share: 0.25,
        };
        let measured = measure(&worker, &contestants, "distro python3", &benches, plan).unwrap();
        let machine = BTreeMap::from([("cpython", "3.11"), ("target", "here")])
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let r = results(
            &worker,
            &contestants,
            "distro python3",
            machine,
            plan,
            measured,
        );
        fs::remove_dir_all(&scratch).unwrap();
        let b = &r.benchmarks[0];
        assert!(b.calibration.loops >= 1);
        assert_eq!(b.samples["python3"].len(), 2);
        assert!(b.per_loop["python3"].median > 0.0);
        for (base, other) in [("python3", "distro python3"), ("distro python3", "python3")] {
            let ratio = b.ratios[base][other];
            assert!(ratio.min <= ratio.median && ratio.median <= ratio.max);
            // The same interpreter: far from 1 only if the harness mixes things up.
            assert!((0.5..2.0).contains(&ratio.median), "{ratio:?}");
        }
        // The "pre-BOLT copy" is the same interpreter: BOLT's effect is measured, near 1.
        assert_eq!(r.bolt.len(), 1);
        let bolt = &r.bolt[0];
        assert_eq!(bolt.contestant, "python3");
        let ratio = bolt.per_benchmark["unpack_sequence"];
        assert!((0.5..2.0).contains(&ratio.median), "{ratio:?}");
        assert_eq!(bolt.slower.is_empty(), ratio.median <= 1.0 + BOLT_TOLERANCE);
        let md = pyperformance_report::markdown(&r);
        assert!(
            md.contains("| unpack_sequence |")
                && md.contains("**geometric mean**")
                && md.contains("÷ the same binary before BOLT"),
            "{md}"
        );
    }
}
