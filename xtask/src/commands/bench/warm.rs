//! The warm path in the bench: a fork server of the static isolate (`isolate --warm-serve`)
//! runs for the length of the bench, and a contestant calls it (`isolate --warm SOCKET ...`)
//! with the environment every contestant gets; and calls per second, two at a time.

use super::Contestant;
use crate::checks::{self, Interp};
use crate::util::fs;
use anyhow::{Context, Result, bail, ensure};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server; stopped (SIGTERM, then waited for) when dropped.
pub struct Server {
    child: Child,
    socket: PathBuf,
}

impl Server {
    /// Starts the isolate's server in `dir` and waits for its socket.
    pub fn start(isolate: &Interp, cwd: &Path, dir: &Path) -> Result<Server> {
        fs::create_dir_all(dir)?;
        let socket = dir.join("warm.sock");
        let _ = std::fs::remove_file(&socket);
        let log = dir.join("warm-server.log");
        let child = Command::new(&isolate.exe)
            .arg("--warm-serve")
            .arg(&socket)
            .current_dir(cwd)
            .env_clear()
            .envs(checks::clean_env())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).context("creating the server's log")?)
            .spawn()
            .with_context(|| format!("starting {} --warm-serve", isolate.exe))?;
        let mut server = Server { child, socket };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !server.socket.exists() {
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "the warm server exited with {status} before listening; see {}",
                    log.display()
                );
            }
            ensure!(
                Instant::now() < deadline,
                "the warm server did not listen on {} within a minute; see {}",
                server.socket.display(),
                log.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    /// The contestant that runs each program through this server; it is checked to really
    /// run warm (in a child of the server), since a call the server cannot take falls back to
    /// a cold start without a word.
    pub fn contestant(&self, cold: &Contestant, cwd: &Path) -> Result<Contestant> {
        let interp = Interp {
            leading: vec!["--warm".into(), self.socket.display().to_string()],
            ..cold.interp.clone()
        };
        let out = checks::run(
            &interp,
            &["-c".into(), "import os; print(os.getppid())".into()],
            Some(b""),
            cwd,
            &[],
        )?;
        let parent = String::from_utf8_lossy(&out.stdout).trim().to_string();
        ensure!(
            parent == self.child.id().to_string(),
            "a call through the warm server ran cold (its parent is {parent:?}, not the server {}): {}",
            self.child.id(),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(Contestant {
            name: format!("{} --warm", cold.name),
            interp,
            describe: format!("{} through its fork server (warm start)", cold.describe),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Calls per second of `args` with `parallel` calls at a time for `seconds`.
pub fn calls_per_second(
    interp: &Interp,
    args: &[String],
    cwd: &Path,
    parallel: usize,
    seconds: f64,
) -> Result<f64> {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let counts = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..parallel)
            .map(|_| {
                scope.spawn(|| -> Result<u64> {
                    let mut n = 0;
                    while Instant::now() < deadline {
                        super::time_once(interp, args, cwd)?;
                        n += 1;
                    }
                    Ok(n)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a bench thread panicked"))
            .collect::<Result<Vec<u64>>>()
    })?;
    let calls: u64 = counts.iter().sum();
    Ok(calls as f64 / started.elapsed().as_secs_f64())
}
