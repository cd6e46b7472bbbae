//! The bench's results: statistics, a markdown table, and the sweep as an SVG chart.

use super::contestants::Contestant;
use super::{Results, SWEEP, Stats};
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub fn stats(mut s: Vec<f64>) -> Stats {
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = s.len();
    let median = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    Stats {
        median,
        min: s[0],
        max: s[n - 1],
        samples: s,
    }
}

pub fn markdown(r: &Results, runs: usize, warmups: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## Benchmark: CPython {} on {}",
        r.machine["cpython"], r.machine["target"]
    );
    let _ = writeln!(
        s,
        "\nWhole-process wall time, median of {} runs after {} warm-ups, contestants interleaved; ratio to **{}** (lower is faster).",
        runs, warmups, r.reference
    );
    if let Some(e) = &r.emulated {
        let _ = writeln!(s, "\n**{e}.**");
    }
    let names: Vec<&str> = r.contestants.iter().map(|c| c.name.as_str()).collect();
    let _ = writeln!(s, "\n| workload | {} |", names.join(" | "));
    let _ = writeln!(s, "|---|{}", "---|".repeat(names.len()));
    for (w, per) in &r.wall {
        let base = per[&r.reference].median;
        let cells: Vec<String> = names
            .iter()
            .map(|n| format!("{:.3}", per[*n].median / base))
            .collect();
        let _ = writeln!(s, "| {w} | {} |", cells.join(" | "));
    }
    let _ = writeln!(
        s,
        "\nMedians in milliseconds (min-max):\n\n| workload | {} |",
        names.join(" | ")
    );
    let _ = writeln!(s, "|---|{}", "---|".repeat(names.len()));
    for (w, per) in &r.wall {
        let cells: Vec<String> = names
            .iter()
            .map(|n| {
                format!(
                    "{:.1} ({:.1}-{:.1})",
                    per[*n].median * 1e3,
                    per[*n].min * 1e3,
                    per[*n].max * 1e3
                )
            })
            .collect();
        let _ = writeln!(s, "| {w} | {} |", cells.join(" | "));
    }
    if !r.instructions.is_empty() {
        let _ = writeln!(
            s,
            "\nInstructions (valgrind --tool=callgrind, whole process), ratio to {}:\n\n| workload | {} |",
            r.reference,
            names.join(" | ")
        );
        let _ = writeln!(s, "|---|{}", "---|".repeat(names.len()));
        for (w, per) in &r.instructions {
            let base = per[&r.reference] as f64;
            let cells: Vec<String> = names
                .iter()
                .map(|n| match per.get(*n) {
                    Some(&i) => format!("{:.3} ({:.1} M)", i as f64 / base, i as f64 / 1e6),
                    None => "-".to_string(),
                })
                .collect();
            let _ = writeln!(s, "| {w} | {} |", cells.join(" | "));
        }
    }
    if !r.throughput.is_empty() {
        let _ = writeln!(
            s,
            "\nCalls per second of `-c pass`, two at a time for 5 s (this machine has 2 cores):\n"
        );
        for (name, rate) in &r.throughput {
            let _ = writeln!(s, "- {name}: {rate:.0}");
        }
    }
    let _ = writeln!(s, "\nContestants:");
    for c in &r.contestants {
        let _ = writeln!(s, "- {}: {} ({})", c.name, c.interp.exe, c.describe);
    }
    let _ = writeln!(
        s,
        "\nMachine: {}",
        r.machine
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    s
}

/// The amortisation sweep as a line chart: ratio to the reference against log10(M).
pub fn sweep_svg(r: &Results) -> String {
    let (w, h, left, right, top, bottom) = (640.0, 400.0, 60.0, 20.0, 30.0, 50.0);
    let points: Vec<(u64, &BTreeMap<String, Stats>)> = SWEEP
        .iter()
        .filter_map(|m| r.wall.get(&format!("sweep M={m}")).map(|p| (*m, p)))
        .collect();
    let series: Vec<&Contestant> = r
        .contestants
        .iter()
        .filter(|c| c.name != r.reference)
        .collect();
    let ratios: Vec<f64> = points
        .iter()
        .flat_map(|(_, p)| {
            series
                .iter()
                .map(|c| p[&c.name].median / p[&r.reference].median)
        })
        .collect();
    let ymax = ratios.iter().cloned().fold(1.1f64, f64::max) * 1.05;
    let ymin = ratios.iter().cloned().fold(0.9f64, f64::min) * 0.95;
    let x = |m: u64| left + (m as f64).log10() / 6.0 * (w - left - right);
    let y = |v: f64| top + (ymax - v) / (ymax - ymin) * (h - top - bottom);
    let mut s = svg_axes(
        &r.reference,
        (w, h, left, right, top, bottom),
        (ymin, ymax),
        &x,
        &y,
    );
    let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];
    for (ci, c) in series.iter().enumerate() {
        let color = colors[ci % colors.len()];
        let pts: Vec<String> = points
            .iter()
            .map(|(m, p)| {
                format!(
                    "{:.1},{:.1}",
                    x(*m),
                    y(p[&c.name].median / p[&r.reference].median)
                )
            })
            .collect();
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            pts.join(" ")
        );
        for pt in &pts {
            let (px, py) = pt.split_once(',').unwrap();
            let _ = write!(s, r#"<circle cx="{px}" cy="{py}" r="3" fill="{color}"/>"#);
        }
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" fill="{color}">{}</text>"#,
            left + 10.0,
            top + 16.0 + 16.0 * ci as f64,
            c.name
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The frame, the 1.0 line and the labelled axes of the sweep chart.
fn svg_axes(
    reference: &str,
    (w, h, left, right, top, bottom): (f64, f64, f64, f64, f64, f64),
    (ymin, ymax): (f64, f64),
    x: &dyn Fn(u64) -> f64,
    y: &dyn Fn(f64) -> f64,
) -> String {
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(
        s,
        r#"<rect width="{w}" height="{h}" fill="white"/><text x="{}" y="18" text-anchor="middle">Start-up amortisation: whole-process time relative to {} (dynamic workload)</text>"#,
        w / 2.0,
        reference
    );
    let _ = write!(
        s,
        r#"<line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="gray" stroke-dasharray="4"/>"#,
        y(1.0),
        w - right,
        y(1.0)
    );
    for k in 0..=6u32 {
        let m = 10u64.pow(k);
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">10^{k}</text>"#,
            x(m),
            h - bottom + 18.0
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">iterations M</text>"#,
        w / 2.0,
        h - 8.0
    );
    let steps = 5;
    for i in 0..=steps {
        let v = ymin + (ymax - ymin) * i as f64 / steps as f64;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{v:.2}</text>"#,
            left - 6.0,
            y(v) + 4.0
        );
    }
    let _ = write!(
        s,
        r#"<line x1="{left}" y1="{top}" x2="{left}" y2="{}" stroke="black"/><line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="black"/>"#,
        h - bottom,
        h - bottom,
        w - right,
        h - bottom
    );
    s
}
