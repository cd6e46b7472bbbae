//! Progress on the terminal and one log file per build step.
//!
//! Long steps (configure, make, the PGO profile run) write everything to their own log file;
//! the terminal shows the step, its elapsed time and the log's latest line. On failure the
//! tail of the log is printed with its path, so a user never has to hunt for it.

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub fn bytes_bar(total: Option<u64>, name: &str) -> ProgressBar {
    let bar = match total {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template(
                "  {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap()
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner()
            .with_style(ProgressStyle::with_template("  {spinner} {msg} {bytes}").unwrap()),
    };
    bar.set_message(name.to_string());
    bar
}

/// Announces a step that has no log of its own.
pub fn note(msg: impl AsRef<str>) {
    eprintln!("==> {}", msg.as_ref());
}

/// Runs `cmd` with stdout and stderr appended to `log`, showing progress. Returns the exit
/// status; `run_logged` is the usual wrapper that fails on a non-zero one.
pub fn run_logged_status(step: &str, cmd: &mut Command, log: &Path) -> Result<ExitStatus> {
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let out = File::options()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening log {}", log.display()))?;
    use std::io::Write;
    writeln!(&out, "$ {}", describe(cmd))?;
    eprintln!("==> {step}  (log: {})", log.display());
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::from(out.try_clone()?))
        .stderr(Stdio::from(out))
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("{step}: cannot start {}", describe(cmd)))?;
    let bar = ProgressBar::new_spinner()
        .with_style(ProgressStyle::with_template("    {spinner} [{elapsed}] {msg}").unwrap());
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        bar.set_message(last_line(log).unwrap_or_default());
        bar.tick();
        std::thread::sleep(Duration::from_millis(250));
    };
    bar.finish_and_clear();
    eprintln!(
        "    {} in {:.0?}",
        if status.success() { "done" } else { "FAILED" },
        start.elapsed()
    );
    Ok(status)
}

pub fn run_logged(step: &str, cmd: &mut Command, log: &Path) -> Result<()> {
    let status = run_logged_status(step, cmd, log)?;
    if !status.success() {
        eprintln!(
            "--- last lines of {} ---\n{}",
            log.display(),
            tail(log, 40).unwrap_or_default()
        );
        bail!(
            "{step} failed ({status}); the full log is {}",
            log.display()
        );
    }
    Ok(())
}

pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// The last `n` lines of a file.
pub fn tail(path: &Path, n: usize) -> Result<String> {
    let text = read_end(path, 64 * 1024)?;
    let lines: Vec<&str> = text.lines().collect();
    Ok(lines[lines.len().saturating_sub(n)..].join("\n"))
}

fn last_line(path: &Path) -> Result<String> {
    let text = read_end(path, 4096)?;
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    Ok(line.chars().take(100).collect())
}

fn read_end(path: &Path, max: u64) -> Result<String> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(max)))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}
