//! The training set that PGO and BOLT profiles come from: the recipe's profile task (CPython's
//! own test suite through regrtest; a shorter one under an emulator), run whole, then every
//! program of the bit-exact corpus. Nothing the bench measures is in it (pyperformance never is).

use crate::checks::{self, Interp, corpus};
use crate::model::recipe::Pgo;
use crate::pipeline::bolt;
use crate::util::{fs, process, progress};
use anyhow::{Result, bail};
use std::path::PathBuf;
use std::time::Instant;

pub struct TrainingSet<'a> {
    pub pgo: &'a Pgo,
    /// Whether the interpreter has the recipe's test modules (only the instrumented one does).
    pub has_test_modules: bool,
    /// The bit-exact corpus (`engine/corpus`).
    pub corpus: PathBuf,
    /// The builtin modules the interpreter has: corpus programs needing others are left out.
    pub builtin: Vec<String>,
    pub target: String,
    /// Where the task runs, with what environment beyond the clean one.
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub log: PathBuf,
    /// Where the log is copied when the sysroot is published, if it is (a build's scratch
    /// tree is deleted after it succeeds; its logs go into the sysroot).
    pub log_published: Option<PathBuf>,
}

/// What a training run did.
pub struct Run {
    /// The profile task's exit status: it must have run to the end; failing tests are
    /// logged, not fatal (a flaky test leaves a perfectly good profile).
    pub exit_status: i32,
    pub ran: Vec<String>,
    pub seconds: f64,
}

impl TrainingSet<'_> {
    pub fn run(&self, interp: &Interp) -> Result<Run> {
        let start = Instant::now();
        let task = self.task(interp);
        let mut cmd = interp.command();
        cmd.args(task)
            .current_dir(&self.cwd)
            .envs(self.env.iter().cloned());
        // What the user's shell sets for Python must not steer the training.
        for var in [
            "PYTHONPATH",
            "PYTHONHOME",
            "PYTHONSTARTUP",
            "PYTHONSAFEPATH",
            "PYTHONWARNINGS",
        ] {
            cmd.env_remove(var);
        }
        let status = process::run_logged_status("training: the profile task", &mut cmd, &self.log)?;
        let exit_status = status.code().unwrap_or(-1);
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        if !text.contains(&self.pgo.completed) {
            bail!(
                "the profile task stopped (exit status {exit_status}) before running to the end (no {:?} in its log), \
                 so its profile would cover start-up only; see {}",
                self.pgo.completed,
                self.log.display()
            );
        }
        if exit_status != 0 {
            let failed: Vec<&str> = text
                .lines()
                .filter(|l| l.contains("failed"))
                .map(str::trim)
                .take(5)
                .collect();
            let details = match &self.log_published {
                None => self.log.display().to_string(),
                Some(kept) => format!(
                    "{} (kept as {} once the sysroot is published)",
                    self.log.display(),
                    kept.display()
                ),
            };
            progress::warn(format!(
                "the profile task exited with {exit_status} ({}); its profile is still used. Details: {details}",
                failed.join("; "),
            ));
        }
        let programs = self.corpus_programs(interp)?;
        Ok(Run {
            exit_status,
            ran: vec![
                format!("{} (exit status {exit_status})", task.join(" ")),
                format!("the bit-exact corpus ({programs} programs)"),
            ],
            seconds: start.elapsed().as_secs_f64().round(),
        })
    }

    /// What `interp` runs: a shorter task under an emulator, when the recipe has one.
    pub fn task(&self, interp: &Interp) -> &[String] {
        self.pgo
            .task_for(self.has_test_modules, !interp.runner.is_native())
    }

    /// Every corpus program the interpreter can run, for what real programs do; their output
    /// is not looked at here (the isolate checks compare it).
    fn corpus_programs(&self, interp: &Interp) -> Result<usize> {
        let mut n = 0;
        for p in corpus::load(&self.corpus)? {
            if p.skip.contains_key(&self.target)
                || p.needs.iter().any(|m| !self.builtin.contains(m))
            {
                continue;
            }
            let mut args = vec![p.file.clone()];
            args.extend(p.args.iter().cloned());
            checks::run(interp, &args, Some(b""), &self.corpus, &self.env)?;
            n += 1;
        }
        fs::write(
            &self.log.with_extension("corpus.log"),
            format!("{n} corpus programs ran\n"),
        )?;
        Ok(n)
    }
}

impl bolt::Training for TrainingSet<'_> {
    fn train(&self, interp: &Interp) -> Result<Vec<String>> {
        Ok(self.run(interp)?.ran)
    }
}
