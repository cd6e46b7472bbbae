//! The pre-initialised WASI isolate's warm path, proven against python3.
//!
//! The shipped snapshots started with no environment at all, so every compared run (which
//! sets `PYTHONHASHSEED=0`) is one they must hand to the cold module: the other checks prove
//! that fallback. Here the same modules are snapshotted with the compared runs' environment,
//! into the check's scratch space, and the corpus and CPython's tests run through them; the
//! runner's start log says, run by run, whether the snapshot resumed, and that must be
//! exactly when engine/src/wasi_snapshot.rs says it may.

use crate::checks::corpus::Case;
use crate::checks::{Interp, clean_env};
use crate::model::Model;
use crate::pipeline::snapshot;
use crate::util::{fs, process};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

pub struct Warm {
    pub interp: Interp,
    log: PathBuf,
    seen: usize,
}

impl Warm {
    /// A snapshot in `dir` of the cold module beside `shipped`, taken with the checks'
    /// environment and `home` as its home, run under the target's runner with `argv0`.
    pub fn prepare(
        model: &Model,
        shipped: &Path,
        home: &Path,
        dir: &Path,
        argv0: &str,
    ) -> Result<Warm> {
        fs::create_dir_all(dir)?;
        let warm = dir.join(shipped.file_name().unwrap_or_default());
        let cold = snapshot::cold_path(shipped);
        snapshot::take(&model.runner, &cold, &warm, home, &clean_env())?;
        let log = dir.join("starts.log");
        fs::remove_file(&log)?;
        let mut command = model.runner.command().to_vec();
        command.extend([
            "--home".to_string(),
            home.display().to_string(),
            "--start-log".to_string(),
            log.display().to_string(),
        ]);
        let runner = model.runner.with_command(command);
        Ok(Warm {
            interp: Interp {
                argv0: argv0.to_string(),
                ..Interp::new(&runner, &warm)
            },
            log,
            seen: 0,
        })
    }

    /// How each run since the last call started, in order.
    pub fn starts(&mut self) -> Result<Vec<Start>> {
        let all = read_log(&self.log)?;
        let new = all.get(self.seen..).unwrap_or_default().to_vec();
        self.seen = all.len();
        Ok(new)
    }

    /// The runs of `cases` (one each, in order) resumed exactly where they may; returns how
    /// many resumed.
    pub fn verify(&mut self, cases: &[Case]) -> Result<usize> {
        let starts = self.starts()?;
        if starts.len() != cases.len() {
            bail!(
                "{} logged {} starts in {} for {} runs: the runner's --start-log is not working",
                self.interp.exe,
                starts.len(),
                self.log.display(),
                cases.len()
            );
        }
        let mut wrong = Vec::new();
        for (case, how) in cases.iter().zip(&starts) {
            let want = if resumes(&case.args, &case.env) {
                "warm"
            } else {
                "cold"
            };
            if how.how != want {
                wrong.push(format!(
                    "{} (started {}, must start {want}{})",
                    case.name, how.how, how.why
                ));
            }
        }
        if !wrong.is_empty() {
            bail!(
                "the snapshot {} resumed where it must not, or not where it should: {}",
                self.interp.exe,
                wrong.join("; ")
            );
        }
        Ok(starts.iter().filter(|s| s.how == "warm").count())
    }
}

/// The median of sorted values.
fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    (sorted[(n - 1) / 2] + sorted[n / 2]) / 2.0
}

/// One line of the runner's `--start-log`: `HOW load MS instantiate MS run MS ms[: WHY]`,
/// HOW being `warm` (the snapshot resumed), `cold` (it handed the run to its cold module) or
/// `plain` (a module that is no snapshot).
#[derive(Debug, Clone, PartialEq)]
pub struct Start {
    pub how: String,
    /// The guest's time, instantiation to exit, in ms.
    pub guest_ms: f64,
    /// `: why` the snapshot did not resume, or nothing.
    pub why: String,
}

fn parse_start(line: &str) -> Option<Start> {
    let (times, why) = match line.split_once(": ") {
        Some((t, w)) => (t, format!(": {w}")),
        None => (line, String::new()),
    };
    let w: Vec<&str> = times.split_whitespace().collect();
    let [how, "load", _, "instantiate", inst, "run", run, "ms"] = w.as_slice() else {
        return None;
    };
    Some(Start {
        how: how.to_string(),
        guest_ms: inst.parse::<f64>().ok()? + run.parse::<f64>().ok()?,
        why,
    })
}

fn read_log(log: &Path) -> Result<Vec<Start>> {
    if !log.is_file() {
        return Ok(Vec::new());
    }
    fs::read_to_string(log)?
        .lines()
        .map(|l| {
            parse_start(l).with_context(|| {
                format!(
                    "{}: {l:?} is not a start the runner logs (tools/wasi-runner/src/run.rs)",
                    log.display()
                )
            })
        })
        .collect()
}

/// Per-call start of `-c pass`, interleaved rounds in an empty directory: the shipped snapshot
/// `shipped` (resuming: the runs' environment has no `PYTHON*` variable), the cold module it
/// falls back to, and the distro's python3 when there is one. Wall time of the whole call
/// (the runner's process, the module from its compiled-module cache, instantiation, the run,
/// exit), and for the modules what the runner logs of the guest (instantiation to exit).
/// An empty directory, because the guest's current directory is `/` and CPython lists it.
pub fn start_times(model: &Model, shipped: &Path, scratch: &Path, rounds: usize) -> Result<String> {
    let dir = scratch.join("start-times");
    fs::remove_dir_all(&dir)?;
    fs::create_dir_all(&dir.join("cwd"))?;
    let env = [("PATH", "/usr/bin:/bin"), ("LC_ALL", "C.UTF-8")];
    let module = |m: &Path, log: &Path| {
        let mut argv = model.runner.command().to_vec();
        argv.extend(["--start-log".to_string(), log.display().to_string()]);
        argv.push(m.display().to_string());
        argv
    };
    let cold = snapshot::cold_path(shipped);
    let logs = [dir.join("snapshot.log"), dir.join("cold.log")];
    let mut contestants = vec![
        ("snapshot", module(shipped, &logs[0])),
        ("cold module", module(&cold, &logs[1])),
    ];
    let distro = Path::new("/usr/bin/python3");
    let mut distro_name = String::new();
    if distro.is_file() {
        let v = process::stdout(Command::new(distro).arg("--version"))?;
        distro_name = format!("distro {}", v.trim().to_lowercase().replace(' ', ""));
        contestants.push(("python3", vec![distro.display().to_string()]));
    }
    let mut wall: Vec<Vec<f64>> = vec![Vec::new(); contestants.len()];
    // Two rounds not counted: the runner compiles a module it has not cached.
    for round in 0..rounds + 2 {
        for (i, (name, argv)) in contestants.iter().enumerate() {
            let mut cmd = Command::new(&argv[0]);
            cmd.args(&argv[1..])
                .args(["-c", "pass"])
                .env_clear()
                .envs(env)
                .current_dir(dir.join("cwd"))
                .stdin(Stdio::null());
            let t = Instant::now();
            let out = cmd
                .output()
                .with_context(|| format!("running {}", argv.join(" ")))?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if !out.status.success() || !out.stdout.is_empty() || !out.stderr.is_empty() {
                bail!(
                    "{name}: `{} -c pass` did not pass silently ({}): {}",
                    argv.join(" "),
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            if round >= 2 {
                wall[i].push(ms);
            }
        }
    }
    let mut guest = Vec::new();
    for (log, want) in logs.iter().zip(["warm", "plain"]) {
        let starts = read_log(log)?;
        if let Some(s) = starts.iter().find(|s| s.how != want) {
            bail!(
                "{}: a start was {}{}, where every one must be {want}: the measurement is not of what it says",
                log.display(),
                s.how,
                s.why
            );
        }
        let mut ms: Vec<f64> = starts.iter().skip(2).map(|s| s.guest_ms).collect();
        ms.sort_by(f64::total_cmp);
        guest.push(median(&ms));
    }
    let mut parts = Vec::new();
    for (i, (name, _)) in contestants.iter().enumerate() {
        let w = &mut wall[i];
        w.sort_by(f64::total_cmp);
        let label = if *name == "python3" {
            distro_name.as_str()
        } else {
            name
        };
        let mut part = format!(
            "{label} {:.1} ms ({:.1}-{:.1})",
            median(w),
            w[0],
            w[w.len() - 1]
        );
        if let Some(g) = guest.get(i) {
            part.push_str(&format!(", guest {g:.1} ms"));
        }
        parts.push(part);
    }
    Ok(format!(
        "-c pass per call, median of {rounds} interleaved (min-max), wall: {}",
        parts.join("; ")
    ))
}

/// The rule engine/src/wasi_snapshot.rs documents, for runs in the snapshot's environment:
/// they resume when the command line is `[-c CMD | -m MOD | SCRIPT | -] [ARGS]` (no
/// interpreter option) and the environment adds no `PYTHON*` variable.
pub fn resumes(args: &[String], env: &[(String, String)]) -> bool {
    let plain = match args.first().map(String::as_str) {
        None | Some("-") => true,
        Some("-c" | "-m") => args.len() > 1,
        Some(a) => !a.starts_with('-'),
    };
    plain && !env.iter().any(|(k, _)| k.starts_with("PYTHON"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_start_log_reads_back() {
        let warm = parse_start("warm load 1.50 instantiate 0.25 run 3.00 ms").unwrap();
        assert_eq!(
            (warm.how.as_str(), warm.guest_ms, warm.why.as_str()),
            ("warm", 3.25, "")
        );
        let cold = parse_start(
            "cold load 2.00 instantiate 0.50 run 20.00 ms: its PYTHON* environment differs",
        )
        .unwrap();
        assert_eq!(cold.why, ": its PYTHON* environment differs");
        assert_eq!(parse_start("warm 1.5 ms"), None);
    }

    #[test]
    fn plain_runs_resume_and_options_or_python_variables_do_not() {
        assert!(resumes(&args(&["prog.py", "-I"]), &[]));
        assert!(resumes(&args(&["-c", "pass"]), &[]));
        assert!(resumes(&args(&[]), &[]));
        assert!(resumes(&args(&["-", "x"]), &[]));
        assert!(!resumes(&args(&["-c"]), &[]));
        assert!(!resumes(&args(&["-I", "prog.py"]), &[]));
        assert!(!resumes(&args(&["--version"]), &[]));
        let path = [("PYTHONPATH".to_string(), "x".to_string())];
        assert!(!resumes(&args(&["prog.py"]), &path));
        assert!(resumes(
            &args(&["prog.py"]),
            &[("HOME".into(), "/h".into())]
        ));
    }
}
