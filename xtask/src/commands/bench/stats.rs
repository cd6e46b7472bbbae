//! Ratios between contestants and their geometric mean, each with a range.
//!
//! The contestants of one round ran one after another, so a round's ratio compares runs that
//! shared the machine's state; a benchmark's ratio is the median of its rounds' ratios, and
//! its range their minimum and maximum.

use serde::Serialize;

#[derive(Serialize, Clone, Copy, Debug, PartialEq)]
pub struct Ratio {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// The ratios `numerator[r] / denominator[r]` of the same rounds.
pub fn paired(numerator: &[f64], denominator: &[f64]) -> Ratio {
    assert_eq!(numerator.len(), denominator.len(), "rounds pair up");
    let mut r: Vec<f64> = numerator
        .iter()
        .zip(denominator)
        .map(|(n, d)| n / d)
        .collect();
    r.sort_by(f64::total_cmp);
    Ratio {
        median: median(&r),
        min: r[0],
        max: r[r.len() - 1],
    }
}

/// The median of sorted values.
pub fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    match n % 2 {
        1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

pub fn geometric_mean(values: &[f64]) -> f64 {
    let logs: f64 = values.iter().map(|v| v.ln()).sum();
    (logs / values.len() as f64).exp()
}

/// The geometric mean of benchmarks' ratios, and as its range the geometric means of their
/// minima and maxima: so it reads off the table, and bounds every combination of rounds.
pub fn geometric_mean_ratio(ratios: &[Ratio]) -> Ratio {
    let of = |f: fn(&Ratio) -> f64| geometric_mean(&ratios.iter().map(f).collect::<Vec<_>>());
    Ratio {
        median: of(|r| r.median),
        min: of(|r| r.min),
        max: of(|r| r.max),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn ratios_pair_rounds() {
        // Round 2 was slow for both: paired, it is no outlier.
        let r = paired(&[1.0, 2.0, 1.1], &[1.0, 2.0, 1.0]);
        assert!(close(r.median, 1.0) && close(r.min, 1.0) && close(r.max, 1.1));
        let even = paired(&[1.0, 3.0, 2.0, 4.0], &[1.0; 4]);
        assert!(close(even.median, 2.5) && close(even.min, 1.0) && close(even.max, 4.0));
    }

    #[test]
    fn geometric_mean_of_ratios_and_its_range() {
        assert!(close(geometric_mean(&[2.0, 8.0]), 4.0));
        assert!(close(geometric_mean(&[0.5, 2.0]), 1.0));
        assert!(close(geometric_mean(&[1.25]), 1.25));
        let g = geometric_mean_ratio(&[
            Ratio {
                median: 0.5,
                min: 0.25,
                max: 1.0,
            },
            Ratio {
                median: 2.0,
                min: 1.0,
                max: 4.0,
            },
        ]);
        assert!(close(g.median, 1.0) && close(g.min, 0.5) && close(g.max, 2.0));
        assert!(g.min <= g.median && g.median <= g.max);
    }
}
