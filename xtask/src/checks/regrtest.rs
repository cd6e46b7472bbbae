//! CPython's own regression tests, run in python3 and in the isolate: the summaries must agree.

use crate::checks::{Interp, run};
use crate::util::fs;
use anyhow::{Result, bail};
use std::path::Path;
use std::time::Instant;

/// Runs `tests` (without the `ignore`d cases) with python3 and with each isolate; returns the
/// common summary line.
pub fn compare(
    tests: &[String],
    ignore: &[String],
    python: &Interp,
    isolates: &[&Interp],
    scratch: &Path,
) -> Result<String> {
    if tests.is_empty() {
        bail!(
            "the recipe lists no [checks] regrtests to run in the isolate: add CPython's test names to it"
        );
    }
    let mut results = Vec::new();
    for interp in std::iter::once(python).chain(isolates.iter().copied()) {
        let dir = scratch.join("regrtest");
        fs::remove_dir_all(&dir)?;
        fs::create_dir_all(&dir)?;
        let start = Instant::now();
        let mut args = vec!["-m".to_string(), "test".to_string()];
        args.extend(tests.iter().cloned());
        for pattern in ignore {
            args.extend(["--ignore".to_string(), pattern.clone()]);
        }
        let out = run(interp, &args, Some(b""), &dir, &[])?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let summary: Vec<String> = text
            .lines()
            .filter(|l| {
                l.starts_with("Total tests:")
                    || l.starts_with("Total test files:")
                    || l.starts_with("Result:")
                    || l.contains("tests OK")
            })
            .map(|l| l.trim().to_string())
            .collect();
        println!(
            "  regrtest with {}: {} in {:.0?}",
            interp.name(),
            summary.join(" | "),
            start.elapsed()
        );
        if out.status != Some(0)
            || !summary
                .iter()
                .any(|l| l.contains("SUCCESS") || l.contains("tests OK"))
        {
            bail!(
                "CPython's tests failed with {}:\n{}\n{}",
                interp.exe,
                text,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        results.push(summary);
    }
    for (isolate, result) in isolates.iter().zip(&results[1..]) {
        if *result != results[0] {
            bail!(
                "the test results of {} differ from python3's:\n  python3: {:?}\n  isolate: {:?}",
                isolate.exe,
                results[0],
                result
            );
        }
    }
    Ok(results[0].join(" | "))
}
