//! Checks: what a sysroot and its executables must be, as one library that `build-python`,
//! `isolate`, `dist` and the tests all call.
//!
//! [`interpreter`] runs a check script inside an interpreter; [`hacl`] proves the HACL* code
//! is really linked; [`binary`] holds executables to the target's `dist` policy; [`corpus`]
//! compares programs byte for byte between python3 and the isolate; [`regrtest`] runs
//! CPython's own tests in both; [`behaviour`] covers Ctrl-C and relocation; [`warm`] proves the
//! pre-initialised WASI isolate's resumes; [`sysroot`] and [`isolate`] put them together for a
//! staged sysroot and a built isolate.

pub mod behaviour;
pub mod binary;
pub mod corpus;
pub mod hacl;
pub mod interpreter;
pub mod isolate;
pub mod regrtest;
pub mod sysroot;
pub mod warm;

use crate::model::target::Runner;
use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// How to start one interpreter: the runner that executes target programs here, the
/// executable, and the `argv[0]` it gets (messages such as `python3.13: can't open file`
/// quote it).
#[derive(Debug, Clone)]
pub struct Interp {
    pub runner: Runner,
    pub exe: String,
    pub argv0: String,
    /// Before the caller's arguments: the executable's own mode (`--warm SOCKET`).
    pub leading: Vec<String>,
}

impl Interp {
    /// Invoked by its own path, as a user would.
    pub fn new(runner: &Runner, exe: &Path) -> Interp {
        let exe = exe.display().to_string();
        Interp {
            runner: runner.clone(),
            argv0: exe.clone(),
            exe,
            leading: Vec::new(),
        }
    }

    /// The command with `argv[0]` set, however the runner passes it.
    pub fn command(&self) -> Command {
        use std::os::unix::process::CommandExt;
        let mut cmd = match self.runner.command().split_first() {
            None => {
                let mut cmd = Command::new(&self.exe);
                cmd.arg0(&self.argv0);
                cmd
            }
            Some((program, rest)) => {
                let mut cmd = Command::new(program);
                cmd.args(rest)
                    .args(self.runner.argv0_args(&self.argv0))
                    .arg(&self.exe);
                cmd
            }
        };
        cmd.args(&self.leading);
        cmd
    }

    /// The executable's file name, for messages.
    pub fn name(&self) -> String {
        Path::new(&self.exe)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.exe.clone())
    }
}

/// The environment every compared run gets: nothing from the caller's shell but what a
/// program needs to run, and a fixed hash seed.
pub fn clean_env() -> Vec<(String, String)> {
    vec![
        ("PATH".into(), "/usr/bin:/bin".into()),
        ("LC_ALL".into(), "C.UTF-8".into()),
        ("PYTHONHASHSEED".into(), "0".into()),
        ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
    ]
}

/// One run's observable behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub status: Option<i32>,
}

/// Runs `interp` with `args` in `cwd` and the clean environment (plus `env`); `stdin` is its
/// input, `None` starts it with descriptor 0 closed.
pub fn run(
    interp: &Interp,
    args: &[String],
    stdin: Option<&[u8]>,
    cwd: &Path,
    env: &[(String, String)],
) -> Result<Outcome> {
    use std::os::unix::process::CommandExt;
    let mut cmd = interp.command();
    cmd.args(args)
        .current_dir(cwd)
        .env_clear()
        .envs(clean_env())
        .envs(env.iter().cloned())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match stdin {
        Some(_) => {
            cmd.stdin(Stdio::piped());
        }
        None => {
            cmd.stdin(Stdio::null());
            // SAFETY: close(2) is async-signal-safe, as pre_exec requires.
            unsafe {
                cmd.pre_exec(|| {
                    libc::close(0);
                    Ok(())
                });
            }
        }
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", crate::util::process::describe(&cmd)))?;
    let writer = child.stdin.take().map(|mut pipe| {
        let input = stdin.unwrap_or_default().to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        })
    });
    let out = child.wait_with_output()?;
    if let Some(w) = writer {
        let _ = w.join();
    }
    Ok(Outcome {
        stdout: out.stdout,
        stderr: out.stderr,
        status: out.status.code(),
    })
}
