//! Running programs, one way: every error names the command line, and where there is one,
//! the log with its last lines; a program that cannot start is named with how to get it.

use crate::util::{fs, progress, shell};
use anyhow::{Result, anyhow, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// The command line, quoted as a shell would need it.
pub fn describe(cmd: &Command) -> String {
    let mut words = vec![cmd.get_program().to_string_lossy().into_owned()];
    words.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    shell::join(&words)
}

fn cannot_start(cmd: &Command, e: std::io::Error) -> anyhow::Error {
    let program = cmd.get_program().to_string_lossy();
    let hint = if e.kind() == std::io::ErrorKind::NotFound {
        " (is it installed? `cargo xtask doctor` lists what each target needs)"
    } else {
        ""
    };
    anyhow!(
        "cannot run {program}: {e}{hint}\n  command: {}",
        describe(cmd)
    )
}

/// `program` as this process's `PATH` finds it. A command whose environment is cleared
/// would otherwise be looked up without `PATH` (only `/bin` and `/usr/bin`).
pub fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Runs with inherited stdio; a non-zero exit is an error.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().map_err(|e| cannot_start(cmd, e))?;
    if !status.success() {
        bail!("{} failed ({status})", describe(cmd));
    }
    Ok(())
}

/// Runs with inherited stdio and returns the exit status, whatever it is.
pub fn status(cmd: &mut Command) -> Result<ExitStatus> {
    cmd.status().map_err(|e| cannot_start(cmd, e))
}

/// Runs capturing stdout and stderr, whatever the exit status.
pub fn capture(cmd: &mut Command) -> Result<Output> {
    cmd.stdin(Stdio::null())
        .output()
        .map_err(|e| cannot_start(cmd, e))
}

/// Runs capturing output; a non-zero exit is an error that quotes stderr.
pub fn output(cmd: &mut Command) -> Result<Output> {
    let out = capture(cmd)?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        bail!(
            "{} failed ({}):\n{}{}",
            describe(cmd),
            out.status,
            last_lines(&stdout, 20),
            last_lines(&stderr, 40)
        );
    }
    Ok(out)
}

/// Runs and returns stdout as text.
pub fn stdout(cmd: &mut Command) -> Result<String> {
    Ok(String::from_utf8_lossy(&output(cmd)?.stdout).into_owned())
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut s = lines[lines.len().saturating_sub(n)..].join("\n");
    if !s.is_empty() {
        s.push('\n');
    }
    s
}

/// Runs a long step with its output appended to `log`; the terminal shows the step, its
/// elapsed time and the log's latest line. Returns the exit status.
pub fn run_logged_status(step: &str, cmd: &mut Command, log: &Path) -> Result<ExitStatus> {
    Ok(run_logged_child(step, cmd, log)?.0)
}

/// As [`run_logged_status`], for a task whose processes start processes (a test suite):
/// whatever of it is still running when the task has ended is killed, since a test's child
/// whose parent a timeout killed would otherwise run on, for ever if it loops. Its processes
/// are known by a mark in the environment they inherit, which a new session or process
/// group (regrtest starts each worker in one) does not shed. Returns the status and the
/// command lines of the processes killed.
pub fn run_logged_task(
    step: &str,
    cmd: &mut Command,
    log: &Path,
) -> Result<(ExitStatus, Vec<String>)> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let mark = format!("{}-{nanos}", std::process::id());
    cmd.env(TASK_MARK, &mark);
    let status = run_logged_status(step, cmd, log)?;
    Ok((status, kill_marked(&mark)))
}

/// The environment variable that marks a task's processes.
const TASK_MARK: &str = "PYSYSROOT_TASK";

/// Kills every live process marked `mark` (again, for what dying ones start); returns their
/// command lines.
fn kill_marked(mark: &str) -> Vec<String> {
    let needle = format!("{TASK_MARK}={mark}\0");
    let mut killed: Vec<(u32, String)> = Vec::new();
    for _ in 0..50 {
        let left = marked(needle.as_bytes());
        if left.is_empty() {
            break;
        }
        for (pid, cmdline) in left {
            // SAFETY: a plain system call.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            if !killed.iter().any(|(p, _)| *p == pid) {
                killed.push((pid, cmdline));
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    killed.into_iter().map(|(_, cmdline)| cmdline).collect()
}

/// The live (not zombie) processes whose environment holds `needle`, with their command lines.
fn marked(needle: &[u8]) -> Vec<(u32, String)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            // `pid (comm) state ...`; comm may hold spaces and parentheses.
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
            !zombie && environ.windows(needle.len()).any(|w| w == needle)
        })
        .map(|pid| {
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            // One line: arguments are separated by NULs, and a `-c` program has newlines.
            let words: Vec<String> = String::from_utf8_lossy(&raw)
                .split(|c: char| c == '\0' || c.is_whitespace())
                .filter(|w| !w.is_empty())
                .map(String::from)
                .collect();
            let line: String = words.join(" ").chars().take(120).collect();
            (pid, line)
        })
        .collect()
}

fn run_logged_child(step: &str, cmd: &mut Command, log: &Path) -> Result<(ExitStatus, u32)> {
    if let Some(dir) = log.parent() {
        fs::create_dir_all(dir)?;
    }
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| fs::io_error(e, "opening log", log))?;
    writeln!(&out, "$ {}", describe(cmd)).map_err(|e| fs::io_error(e, "writing", log))?;
    eprintln!("==> {step}  (log: {})", log.display());
    let start = Instant::now();
    let err = out
        .try_clone()
        .map_err(|e| fs::io_error(e, "opening log", log))?;
    let mut child = cmd
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| cannot_start(cmd, e))?;
    let pid = child.id();
    let bar = progress::spinner();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        bar.set_message(progress::last_line(log).unwrap_or_default());
        bar.tick();
        std::thread::sleep(Duration::from_millis(250));
    };
    bar.finish_and_clear();
    // Not "FAILED": the caller decides what a status means (a profile task with a failing
    // test is still a good profile).
    let outcome = match status.code() {
        Some(0) => "done".to_string(),
        Some(code) => format!("exit status {code}"),
        None => status.to_string(),
    };
    eprintln!("    {outcome} in {:.0?}", start.elapsed());
    Ok((status, pid))
}

/// [`run_logged_status`] that fails on a non-zero exit, showing the log's tail.
pub fn run_logged(step: &str, cmd: &mut Command, log: &Path) -> Result<()> {
    let status = run_logged_status(step, cmd, log)?;
    if !status.success() {
        eprintln!(
            "--- last lines of {} ---\n{}",
            log.display(),
            progress::tail(log, 40).unwrap_or_default()
        );
        bail!(
            "{step} failed ({status}); the full log is {}",
            log.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_command_and_its_complaint() {
        let err = output(Command::new("sh").args(["-c", "echo oops >&2; exit 3"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("sh -c 'echo oops >&2; exit 3'"), "{err}");
        assert!(
            err.contains("oops") && err.contains("exit status: 3"),
            "{err}"
        );
        let err = run(&mut Command::new("no-such-program-xyz"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no-such-program-xyz") && err.contains("doctor"),
            "{err}"
        );
    }

    /// What a task leaves running is killed, in a session of its own too, and named on one
    /// line each, its program's newlines included.
    #[test]
    fn a_tasks_stragglers_are_killed_and_named() {
        let log = std::env::temp_dir().join(format!("xtask-task-{}.log", std::process::id()));
        let (status, killed) = run_logged_task(
            "a task",
            Command::new("sh").args(["-c", "(setsid sh -c 'sleep 1000\n:' &); echo started"]),
            &log,
        )
        .unwrap();
        assert!(status.success());
        for straggler in ["sh -c sleep 1000 :", "sleep 1000"] {
            assert!(killed.iter().any(|k| k == straggler), "{killed:?}");
        }
        std::fs::remove_file(&log).unwrap();
    }
}
