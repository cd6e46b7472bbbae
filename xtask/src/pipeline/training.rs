//! The training set that PGO and BOLT profiles come from: the recipe's profile task (CPython's
//! own test suite through regrtest; a shorter one under an emulator), run whole, then every
//! program of the bit-exact corpus. Nothing the bench measures is in it (pyperformance never is).

use crate::checks::{self, Interp, corpus};
use crate::model::recipe::Pgo;
use crate::pipeline::bolt;
use crate::util::{fs, process, progress};
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where the interpreter finds the recipe's test modules (`_testcapi`...), which the tests
/// that exercise the C API import.
pub enum TestModules {
    /// Compiled in: the instrumented PGO interpreter.
    BuiltIn,
    /// Extension modules compiled into `dir`: for the production binaries BOLT trains, which
    /// must not contain them, and an instrumented interpreter they cannot be compiled into.
    /// With `into`, a directory on the interpreter's own `sys.path` (the build tree's
    /// `build/lib.*`, a staged `lib-dynload`), they are copied there for the run and removed
    /// after it, so that tests starting a child with `-I` or `-E` (which ignore `PYTHONPATH`)
    /// find them too; without, `dir` goes on `PYTHONPATH`.
    Extensions { dir: PathBuf, into: Option<PathBuf> },
    /// Nowhere: the tests that import them fail at import, the rest trains.
    Absent,
}

pub struct TrainingSet<'a> {
    pub pgo: &'a Pgo,
    pub test_modules: TestModules,
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
#[derive(Debug)]
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
        // A log kept from an earlier run (the isolate's) would show its end marker and failures
        // as this run's.
        fs::remove_file(&self.log)?;
        let placed = match &self.test_modules {
            TestModules::Extensions { dir, into: None } => {
                cmd.env("PYTHONPATH", dir);
                None
            }
            TestModules::Extensions {
                dir,
                into: Some(into),
            } => Some(Placed::copy(dir, into)?),
            _ => None,
        };
        let ran = process::run_logged_task("training: the profile task", &mut cmd, &self.log);
        if let Some(placed) = placed {
            placed.remove()?;
        }
        let (status, stragglers) = ran?;
        if !stragglers.is_empty() {
            progress::warn(format!(
                "the profile task left {} process(es) running, now killed: {}",
                stragglers.len(),
                stragglers.join("; ")
            ));
        }
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
            ran: [
                Some(format!("{} (exit status {exit_status})", task.join(" "))),
                self.extensions_described()?,
                Some(format!("the bit-exact corpus ({programs} programs)")),
            ]
            .into_iter()
            .flatten()
            .collect(),
            seconds: start.elapsed().as_secs_f64().round(),
        })
    }

    /// What `interp` runs: a shorter task under an emulator, when the recipe has one.
    pub fn task(&self, interp: &Interp) -> &[String] {
        let has_test_modules = !matches!(self.test_modules, TestModules::Absent);
        self.pgo
            .task_for(has_test_modules, !interp.runner.is_native())
    }

    /// For the manifest: which test modules the task found as extension modules, and where
    /// (by name, as the directories are the build's scratch).
    fn extensions_described(&self) -> Result<Option<String>> {
        let TestModules::Extensions { dir, into } = &self.test_modules else {
            return Ok(None);
        };
        let mut names: Vec<String> = fs::read_dir(dir)?
            .iter()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.split_once('.').map(|(stem, _)| stem.to_string())
            })
            .collect();
        names.sort();
        let place = match into {
            None => "on PYTHONPATH".to_string(),
            Some(into) => format!(
                "in the interpreter's own {} for the run",
                into.file_name().unwrap_or_default().to_string_lossy()
            ),
        };
        Ok(Some(format!(
            "with the test modules {} as extension modules {place}",
            names.join(", ")
        )))
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

/// Test modules copied into a directory of the interpreter's path for one run.
struct Placed(Vec<PathBuf>);

impl Placed {
    fn copy(dir: &Path, into: &Path) -> Result<Placed> {
        let mut placed = Placed(Vec::new());
        for entry in fs::read_dir(dir)? {
            let to = into.join(entry.file_name());
            // Never over a file of the interpreter's own, nor take it away afterwards.
            if to.exists() {
                placed.remove()?;
                bail!(
                    "{} already exists: the test modules for the training would replace it",
                    to.display()
                );
            }
            let copied = fs::copy_file(&entry.path(), &to);
            placed.0.push(to);
            if let Err(e) = copied {
                placed.remove()?;
                return Err(e);
            }
        }
        Ok(placed)
    }

    fn remove(self) -> Result<()> {
        for p in &self.0 {
            fs::remove_file(p)?;
        }
        Ok(())
    }
}

impl bolt::Training for TrainingSet<'_> {
    fn train(&self, interp: &Interp) -> Result<Vec<String>> {
        Ok(self.run(interp)?.ran)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::target::Runner;

    /// A scratch directory with an empty corpus.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("corpus")).unwrap();
        std::fs::write(dir.join("corpus/corpus.toml"), "program = []\n").unwrap();
        dir
    }

    /// A profile task for sh: `script` must print the end marker (not write it: the log
    /// starts with the command line).
    fn sh_task(script: &str, test_modules: &[&str]) -> Pgo {
        Pgo {
            task: vec!["-c".into(), script.into()],
            completed: "ran whole".into(),
            test_modules: test_modules.iter().map(|m| m.to_string()).collect(),
            instrumented_test_modules: Default::default(),
            task_without_test_modules: None,
            task_under_emulation: None,
        }
    }

    fn sh() -> Interp {
        Interp::new(&Runner::Native, Path::new("/bin/sh"))
    }

    /// A training set in `dir` whose "interpreter" is sh.
    fn training<'a>(
        dir: &std::path::Path,
        test_modules: TestModules,
        pgo: &'a Pgo,
    ) -> TrainingSet<'a> {
        TrainingSet {
            pgo,
            test_modules,
            corpus: dir.join("corpus"),
            builtin: Vec::new(),
            target: "x86_64".into(),
            cwd: dir.to_path_buf(),
            env: Vec::new(),
            log: dir.join("training.log"),
            log_published: None,
        }
    }

    #[test]
    fn extension_test_modules_reach_the_task_on_pythonpath() {
        let dir = scratch("training");
        let modules = dir.join("modules");
        std::fs::create_dir_all(&modules).unwrap();
        std::fs::write(
            modules.join("_testcapi.cpython-311-x86_64-linux-gnu.so"),
            b"",
        )
        .unwrap();
        let pgo = sh_task(
            "test -f \"$PYTHONPATH/_testcapi.cpython-311-x86_64-linux-gnu.so\" && printf 'ran %s' whole",
            &["_testcapi"],
        );

        let run = training(
            &dir,
            TestModules::Extensions {
                dir: modules.clone(),
                into: None,
            },
            &pgo,
        )
        .run(&sh())
        .unwrap();
        assert_eq!(run.exit_status, 0);
        assert!(
            run.ran.contains(
                &"with the test modules _testcapi as extension modules on PYTHONPATH".to_string()
            ),
            "{:?}",
            run.ran
        );

        // The first run's log, with its end marker, is still there.
        let e = training(&dir, TestModules::Absent, &pgo)
            .run(&sh())
            .unwrap_err();
        assert!(format!("{e}").contains("before running to the end"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A process the task leaves behind (a test's child whose parent a timeout killed) does
    /// not outlive it, even in a session of its own (regrtest starts its workers in one).
    #[test]
    fn what_the_task_leaves_running_is_killed() {
        let dir = scratch("straggler");
        let pgo = sh_task(
            "(setsid sleep 1000 & echo $! > straggler.pid); printf 'ran %s' whole",
            &[],
        );
        let run = training(&dir, TestModules::Absent, &pgo)
            .run(&sh())
            .unwrap();
        assert_eq!(run.exit_status, 0);
        let pid = std::fs::read_to_string(dir.join("straggler.pid")).unwrap();
        let stat = format!("/proc/{}/stat", pid.trim());
        let alive = || {
            std::fs::read_to_string(&stat).is_ok_and(|s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))
            })
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while alive() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(!alive(), "the task's sleep {} still runs", pid.trim());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Copied into a directory of the interpreter's own path, the test modules are there for
    /// the task (not on PYTHONPATH) and gone after it; a file of the interpreter's own with
    /// the same name is neither replaced nor removed.
    #[test]
    fn extension_test_modules_placed_on_the_interpreters_path_for_the_run_only() {
        let dir = scratch("placed");
        let modules = dir.join("modules");
        let dynload = dir.join("lib-dynload");
        for d in [&modules, &dynload] {
            std::fs::create_dir_all(d).unwrap();
        }
        let so = "_testcapi.cpython-311-x86_64-linux-gnu.so";
        std::fs::write(modules.join(so), b"module").unwrap();
        let pgo = sh_task(
            &format!(
                "test -z \"$PYTHONPATH\" && test -f lib-dynload/{so} && printf 'ran %s' whole"
            ),
            &["_testcapi"],
        );
        let placed = || TestModules::Extensions {
            dir: modules.clone(),
            into: Some(dynload.clone()),
        };

        let run = training(&dir, placed(), &pgo).run(&sh()).unwrap();
        assert_eq!(run.exit_status, 0);
        assert!(
            run.ran.contains(
                &"with the test modules _testcapi as extension modules in the interpreter's own lib-dynload for the run"
                    .to_string()
            ),
            "{:?}",
            run.ran
        );
        assert!(!dynload.join(so).exists(), "removed after the run");

        std::fs::write(dynload.join(so), b"the interpreter's own").unwrap();
        let e = training(&dir, placed(), &pgo).run(&sh()).unwrap_err();
        assert!(format!("{e}").contains("already exists"), "{e}");
        assert_eq!(
            std::fs::read(dynload.join(so)).unwrap(),
            b"the interpreter's own"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
