//! How many loops a worker runs: enough that start-up (the interpreter, importing pyperf and
//! the benchmark's module, its set-up, pyperf's metadata) stays a small share of the process,
//! so that timing the whole process measures the benchmark in its steady state.
//!
//! Once per benchmark, the reference interpreter runs the measured runs' warm-ups and values
//! with one loop each, twice, which gives the start-up (the process's wall time less pyperf's
//! own timing of the loops, so with what pyperf does between values) and a warm loop's time;
//! every contestant then runs the same number of loops.

use super::suite::Benchmark;
use super::worker::{Runs, Sample, Worker};
use crate::checks::Interp;
use anyhow::Result;
use serde::Serialize;

/// The share of a worker process start-up may take.
pub const MAX_STARTUP_SHARE: f64 = 0.05;

/// The loops aim at this part of the share: aimed at all of it, runs on a busy machine
/// measured 3.6-5.2% (a round's runs vary more than the two calibration runs show).
const AIM: f64 = 0.8;

#[derive(Serialize, Clone, Copy, Debug)]
pub struct Calibration {
    /// Loops per value, for every contestant.
    pub loops: u64,
    /// Seconds of the reference's process outside the benchmark's loops.
    pub startup: f64,
    /// Seconds of one loop (all inner loops) of the reference.
    pub loop_seconds: f64,
}

/// The fewest loops per value for which `startup` is at most `share` of a process running
/// `batches` values (warm-ups included) of `loop_seconds` each loop.
pub fn loops_for(startup: f64, loop_seconds: f64, batches: u32, share: f64) -> u64 {
    let work = startup.max(0.0) * (1.0 - share) / share;
    let per_loop = loop_seconds.max(1e-9) * f64::from(batches.max(1));
    ((work / per_loop).ceil() as u64).max(1)
}

/// Measures the reference once more with `runs` of one loop (as `first` was) and picks the
/// loops.
pub fn calibrate(
    reference: &Interp,
    worker: &Worker,
    bench: &Benchmark,
    first: Sample,
    runs: Runs,
    share: f64,
) -> Result<Calibration> {
    let second = worker.run(reference, bench, runs)?;
    let (startup, loop_seconds) = estimate(&[first, second]);
    Ok(Calibration {
        loops: loops_for(
            startup,
            loop_seconds,
            runs.warmups + runs.values,
            share * AIM,
        ),
        startup,
        loop_seconds,
    })
}

/// Start-up and a loop's time from a few runs, erring towards more loops: on a busy machine
/// a run is slowed at random, so the longest start-up and the fastest loop are the least
/// disturbed estimates of what a long run will see.
fn estimate(samples: &[Sample]) -> (f64, f64) {
    let startup = samples.iter().map(|s| s.wall - s.work).fold(0.0, f64::max);
    let loop_seconds = samples
        .iter()
        .flat_map(|s| s.values.iter().map(|v| v * s.inner_loops))
        .fold(f64::INFINITY, f64::min);
    (startup, loop_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_keep_startup_under_its_share() {
        // 0.1 s of start-up at 5% needs 1.9 s of loops: 4 values of 10 ms loops -> 48 loops.
        let loops = loops_for(0.1, 0.010, 4, 0.05);
        assert_eq!(loops, 48);
        let share = 0.1 / (0.1 + loops as f64 * 4.0 * 0.010);
        assert!(share <= 0.05, "{share}");
        assert!(0.1 / (0.1 + (loops - 1) as f64 * 4.0 * 0.010) > 0.05);
    }

    #[test]
    fn estimates_take_the_longest_startup_and_the_fastest_loop() {
        let sample = |wall: f64, work: f64, value: f64| Sample {
            process: wall,
            wall,
            values: vec![value],
            loops: 2.0 * 10.0,
            inner_loops: 10.0,
            work,
        };
        // 10 inner loops: a loop is 10 values.
        let (startup, loop_seconds) =
            estimate(&[sample(0.30, 0.20, 0.010), sample(0.35, 0.20, 0.008)]);
        assert!((startup - 0.15).abs() < 1e-12 && (loop_seconds - 0.08).abs() < 1e-12);
    }

    #[test]
    fn a_long_loop_or_no_startup_needs_one_loop() {
        assert_eq!(loops_for(0.1, 2.0, 4, 0.05), 1);
        assert_eq!(loops_for(0.0, 0.001, 4, 0.05), 1);
        // Noise can make the measured start-up negative: treated as none.
        assert_eq!(loops_for(-0.01, 0.001, 4, 0.05), 1);
        // A loop pyperf timed as zero does not divide by zero.
        assert!(loops_for(0.1, 0.0, 4, 0.05) > 1);
    }
}
