//! Pre-initialisation of the WASI isolate: after the link, `isolate.wasm` becomes a snapshot
//! of an interpreter that has finished starting up (wizer, through the target's
//! `[runner] snapshot` command), and the module it was made from stays beside it as
//! `isolate.cold.wasm`. A run the snapshot cannot serve exactly as a cold start would (an
//! interpreter option, another `PYTHON*` environment or hash seed...) is handed to the cold
//! module by the runner; engine/src/wasi_snapshot.rs says what is compared.

use crate::model::target::Runner;
use crate::util::{fs, process, progress};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// `argv[0]` of the snapshot's start-up. Any run's own argv[0] replaces it (what getpath makes
/// of it is computed again at each resume); a fixed one keeps the build machine's paths out
/// of the module.
const ARGV0: &str = "isolate";

/// `dir/isolate.wasm` -> `dir/isolate.cold.wasm`.
pub fn cold_path(warm: &Path) -> PathBuf {
    let stem = warm.file_stem().unwrap_or_default().to_string_lossy();
    let ext = warm
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    warm.with_file_name(format!("{stem}.cold{ext}"))
}

/// Writes `warm`, a snapshot of the module `cold` started with `home` where the runner puts a
/// module's home and `env` as its whole environment (a shipped snapshot has none: no
/// `PYTHON*` variable, the hash secret drawn from the module's digest). `warm` names `cold`
/// for the fallback: by file name when they sit side by side, so the pair can move.
pub fn take(
    runner: &Runner,
    cold: &Path,
    warm: &Path,
    home: &Path,
    env: &[(String, String)],
) -> Result<()> {
    let Some(argv) = runner.snapshot_command(home)? else {
        bail!("the target's [runner] has no snapshot command to pre-initialise a module with");
    };
    let fallback = match cold.parent() == warm.parent() {
        true => PathBuf::from(cold.file_name().context("a module file")?),
        false => std::path::absolute(cold)?,
    };
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .args([
            "--argv0",
            ARGV0,
            "--rename",
            "_start=pysysroot-resume",
            "--cold",
        ])
        .arg(&fallback);
    for (k, v) in env {
        cmd.arg("--env").arg(format!("{k}={v}"));
    }
    cmd.arg(cold).arg(warm);
    let start = Instant::now();
    process::run(&mut cmd).with_context(|| {
        format!(
            "pre-initialising {} (home {}): the isolate's start-up failed under wizer",
            cold.display(),
            home.display()
        )
    })?;
    progress::note(format!(
        "{} pre-initialised in {:.1?} ({} MB, from {})",
        warm.display(),
        start.elapsed(),
        std::fs::metadata(warm)
            .map_err(|e| fs::io_error(e, "reading", warm))?
            .len()
            / 1_000_000,
        fallback.display()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cold_module_sits_beside_the_warm_one() {
        assert_eq!(
            cold_path(Path::new("/s/bin/isolate.wasm")),
            PathBuf::from("/s/bin/isolate.cold.wasm")
        );
    }

    #[test]
    fn a_runner_without_a_snapshot_command_says_so() {
        let native = Runner::Native;
        let err = take(
            &native,
            Path::new("c.wasm"),
            Path::new("w.wasm"),
            Path::new("/h"),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("no snapshot command"), "{err}");
    }
}
