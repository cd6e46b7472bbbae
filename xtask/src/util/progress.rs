//! Progress on the terminal: step notes, a spinner showing a log's latest line, and byte
//! counts for downloads, which print a plain line every 30 s when stderr is no terminal (a
//! CI log), so a slow transfer is never silent.

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

/// Announces a step.
pub fn note(msg: impl AsRef<str>) {
    eprintln!("==> {}", msg.as_ref());
}

pub fn warn(msg: impl AsRef<str>) {
    eprintln!("warning: {}", msg.as_ref());
}

/// A spinner for a long step whose output goes to a log.
pub fn spinner() -> ProgressBar {
    ProgressBar::new_spinner()
        .with_style(ProgressStyle::with_template("    {spinner} [{elapsed}] {msg}").unwrap())
}

/// Bytes of one transfer.
pub struct Bytes {
    bar: Option<ProgressBar>,
    name: String,
    total: Option<u64>,
    done: u64,
    started: Instant,
    last_line: Instant,
    every: Duration,
}

impl Bytes {
    pub fn new(name: &str, total: Option<u64>, already: u64) -> Bytes {
        // Unit tests read the plain lines, wherever their output goes.
        let tty = !cfg!(test) && std::io::stderr().is_terminal();
        let bar = tty.then(|| {
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
            bar.set_position(already);
            bar
        });
        Bytes {
            bar,
            name: name.to_string(),
            total,
            done: already,
            started: Instant::now(),
            last_line: Instant::now(),
            every: Duration::from_secs(30),
        }
    }

    /// How often a plain line is printed when stderr is no terminal [30 s].
    pub fn every(mut self, every: Duration) -> Bytes {
        self.every = every;
        self
    }

    pub fn add(&mut self, n: u64) {
        self.done += n;
        match &self.bar {
            Some(bar) => bar.inc(n),
            None if self.last_line.elapsed() >= self.every => {
                self.last_line = Instant::now();
                let of = self
                    .total
                    .map(|t| format!(" of {}", mib(t)))
                    .unwrap_or_default();
                plain(format!(
                    "    {}: {}{of} after {:.0?}",
                    self.name,
                    mib(self.done),
                    self.started.elapsed()
                ));
            }
            None => {}
        }
    }

    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }

    pub fn abandon(self) {
        if let Some(bar) = self.bar {
            bar.abandon();
        }
    }
}

fn plain(line: String) {
    #[cfg(test)]
    tests::PLAIN.lock().unwrap().push(line.clone());
    eprintln!("{line}");
}

fn mib(n: u64) -> String {
    format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
}

/// The last `n` lines of a file.
pub fn tail(path: &Path, n: usize) -> Result<String> {
    let text = read_end(path, 64 * 1024)?;
    let lines: Vec<&str> = text.lines().collect();
    Ok(lines[lines.len().saturating_sub(n)..].join("\n"))
}

/// The last non-empty line of a file, cut to fit a terminal line.
pub fn last_line(path: &Path) -> Result<String> {
    let text = read_end(path, 4096)?;
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    Ok(line.chars().take(100).collect())
}

fn read_end(path: &Path, max: u64) -> Result<String> {
    let mut f = crate::util::fs::open(path)?;
    let mut buf = Vec::new();
    f.metadata()
        .and_then(|m| f.seek(SeekFrom::Start(m.len().saturating_sub(max))))
        .and_then(|_| f.read_to_end(&mut buf))
        .map_err(|e| crate::util::fs::io_error(e, "reading", path))?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every plain progress line printed by this test process.
    pub(crate) static PLAIN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

    pub(crate) fn plain_lines(name: &str) -> Vec<String> {
        PLAIN
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(name))
            .cloned()
            .collect()
    }

    #[test]
    fn off_a_terminal_a_transfer_prints_a_line_every_interval() {
        let mut b = Bytes::new("every.bin", Some(4 << 20), 0).every(Duration::from_millis(50));
        b.add(1 << 20);
        assert!(
            plain_lines("every.bin").is_empty(),
            "a line before the interval"
        );
        std::thread::sleep(Duration::from_millis(60));
        b.add(1 << 20);
        let lines = plain_lines("every.bin");
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("2.0 MiB of 4.0 MiB"), "{lines:?}");
    }
}
