//! The pyperformance suite's results as markdown, ready for docs/: one table of benchmarks
//! with the geometric means at the bottom, then how it was measured and on what.

use super::pyperformance::{BASELINES, BOLT_TOLERANCE, Results};
use super::stats::Ratio;
use std::fmt::Write as _;

/// Seconds as pyperf prints them: `1.23 s`, `45.6 ms`, `7.89 us`, `120 ns`.
pub fn seconds(s: f64) -> String {
    let (v, unit) = match s {
        s if s >= 1.0 => (s, "s"),
        s if s >= 1e-3 => (s * 1e3, "ms"),
        s if s >= 1e-6 => (s * 1e6, "us"),
        s => (s * 1e9, "ns"),
    };
    match v {
        v if v >= 100.0 => format!("{v:.0} {unit}"),
        v if v >= 10.0 => format!("{v:.1} {unit}"),
        v => format!("{v:.2} {unit}"),
    }
}

fn ratio(r: &Ratio) -> String {
    format!("{:.3} ({:.3}-{:.3})", r.median, r.min, r.max)
}

/// (contestant, baseline) for each ratio column: every contestant against each baseline that
/// ran, but not a baseline against an earlier one (`python3 ÷ distro python3` is shown, its
/// reciprocal is not).
fn columns(r: &Results) -> Vec<(String, String)> {
    let names: Vec<&str> = r.contestants.iter().map(|c| c.name.as_str()).collect();
    let mut out = Vec::new();
    for (j, base) in BASELINES.iter().enumerate() {
        if !names.contains(base) {
            continue;
        }
        for n in &names {
            let later_baseline = BASELINES[j + 1..].contains(n);
            if n != base && !later_baseline {
                out.push((n.to_string(), base.to_string()));
            }
        }
    }
    out
}

pub fn markdown(r: &Results) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## pyperformance: CPython {} on {}\n",
        r.machine["cpython"], r.machine["target"]
    );
    let _ = writeln!(
        s,
        "{}: {} benchmarks, each script run by every contestant itself as a pyperf worker \
         (`--worker --loops L --warmups {} --values {}`), {} rounds with the contestants \
         interleaved in a rotating order.\n",
        r.versions.join(" with "),
        r.benchmarks.len(),
        r.plan.warmups,
        r.plan.values,
        r.plan.rounds
    );
    table(&mut s, r);
    bolt(&mut s, r);
    notes(&mut s, r);
    s
}

/// Each binary BOLT rewrote ÷ its pre-BOLT copy, per benchmark, and which are slower with it
/// than the tolerance allows.
fn bolt(s: &mut String, r: &Results) {
    if r.bolt.is_empty() {
        return;
    }
    let names: Vec<String> = r
        .bolt
        .iter()
        .map(|e| format!("{} ÷ the same binary before BOLT", e.contestant))
        .collect();
    let _ = writeln!(s, "\n### BOLT\n");
    let _ = writeln!(s, "| benchmark | {} |", names.join(" | "));
    let _ = writeln!(s, "|---|{}", "---:|".repeat(names.len()));
    for b in &r.benchmarks {
        let cells: Vec<String> = r
            .bolt
            .iter()
            .map(|e| ratio(&e.per_benchmark[&b.benchmark.name]))
            .collect();
        let _ = writeln!(s, "| {} | {} |", b.benchmark.name, cells.join(" | "));
    }
    let means: Vec<String> = r
        .bolt
        .iter()
        .map(|e| {
            let g = &e.geometric_mean;
            format!("**{:.3}** ({:.3}-{:.3})", g.median, g.min, g.max)
        })
        .collect();
    let _ = writeln!(s, "| **geometric mean** | {} |", means.join(" | "));
    let slower: Vec<String> = r
        .bolt
        .iter()
        .map(|e| {
            let which: Vec<String> = e
                .slower
                .iter()
                .map(|n| format!("{n} {}", ratio(&e.per_benchmark[n])))
                .collect();
            let which = if which.is_empty() {
                "none".to_string()
            } else {
                which.join(", ")
            };
            format!("{}: {which}", e.contestant)
        })
        .collect();
    let _ = writeln!(
        s,
        "\nMore than {:.0}% slower with BOLT than without (median of the rounds): {}.",
        BOLT_TOLERANCE * 100.0,
        slower.join("; ")
    );
}

fn table(s: &mut String, r: &Results) {
    let names: Vec<&str> = r.contestants.iter().map(|c| c.name.as_str()).collect();
    let cols = columns(r);
    let heads: Vec<String> = cols.iter().map(|(c, b)| format!("{c} ÷ {b}")).collect();
    let _ = writeln!(
        s,
        "| benchmark | loops | {} | {} | start-up |",
        names.join(" | "),
        heads.join(" | ")
    );
    let _ = writeln!(
        s,
        "|---|---:|{}{}---:|",
        "---:|".repeat(names.len()),
        "---:|".repeat(cols.len())
    );
    for b in &r.benchmarks {
        let times: Vec<String> = names
            .iter()
            .map(|n| seconds(b.per_loop[*n].median))
            .collect();
        let ratios: Vec<String> = cols
            .iter()
            .map(|(c, base)| ratio(&b.ratios[base][c]))
            .collect();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.1}% |",
            b.benchmark.name,
            b.calibration.loops,
            times.join(" | "),
            ratios.join(" | "),
            b.startup_share[&r.reference] * 100.0
        );
    }
    let mut cells = vec!["**geometric mean**".to_string(); 1];
    cells.extend(std::iter::repeat_n(String::new(), 1 + names.len()));
    cells.extend(cols.iter().map(|(c, base)| {
        let g = &r.geometric_means[base][c];
        format!("**{:.3}** ({:.3}-{:.3})", g.median, g.min, g.max)
    }));
    cells.push(String::new());
    let _ = writeln!(s, "| {} |", cells.join(" | "));
}

fn notes(s: &mut String, r: &Results) {
    let cycles = match r.cycles_supported {
        true => "This machine counts cycles, but the bench does not use them",
        false => {
            "Cycles are not counted: `perf stat -e cycles` cannot count them here (no hardware counters, as in most virtual machines, or no perf)"
        }
    };
    let _ = writeln!(
        s,
        "\n- **Measure:** {}, divided by the loops it ran (warm-ups and inner loops included). \
         {cycles}.",
        r.measure_describe
    );
    let _ = writeln!(
        s,
        "- **Loops**, the same for every contestant, were calibrated with the {} so that \
         start-up takes under {:.0}% of a process; `start-up` is the share measured in its runs.",
        r.reference,
        r.plan.max_startup_share * 100.0
    );
    let _ = writeln!(
        s,
        "- Times per loop are medians over the rounds. A ratio is the median of the rounds' \
         ratios (a round's contestants ran back to back) with their range; below 1 is faster. \
         A geometric mean's range is the geometric means of the minima and of the maxima."
    );
    let cross: Vec<String> = columns(r)
        .iter()
        .map(|(c, base)| format!("{c} ÷ {base} {}", ratio(&r.pyperf_geometric_means[base][c])))
        .collect();
    let _ = writeln!(
        s,
        "- pyperf's own timing of the loops (wall time, start-up excluded) gives the geometric \
         means {}.",
        cross.join(", ")
    );
    let _ = writeln!(s, "\nContestants:\n");
    for c in &r.contestants {
        let _ = writeln!(s, "- {}: {} ({})", c.name, c.interp.exe, c.describe);
    }
    let machine: Vec<String> = r.machine.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let _ = writeln!(s, "\nMachine: {}.\n", machine.join(", "));
    let _ = writeln!(s, "Command: `{}`", r.command);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_read_like_pyperf() {
        assert_eq!(seconds(1.5), "1.50 s");
        assert_eq!(seconds(0.0571), "57.1 ms");
        assert_eq!(seconds(0.000123), "123 us");
        assert_eq!(seconds(3.4e-8), "34.0 ns");
    }
}
