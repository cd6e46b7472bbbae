//! Fetch: pinned downloads into a cache, verified before anything uses them.
//!
//! A download goes to `<cache>/downloads/<sha256>/<name>.part`, beside `<name>.part.json`,
//! which records the URL it came from and the server's validator (`ETag` or `Last-Modified`).
//! An interrupted download resumes only from the same URL, and with `If-Range`, so a file
//! changed on the server starts over; a resumed file that fails its digest is downloaded once
//! more from zero before the mirror is blamed. The file is renamed into place only once its
//! sha256 matches the recipe; a mismatching one is deleted, so a bad mirror never poisons the
//! cache.
//!
//! Failures are retried as curl's `--retry` does: dropped connections, a stall (no byte for
//! [`Fetcher::stall`]), 408, 429 and 5xx, with exponential backoff (or the server's
//! `Retry-After`); other 4xx are answers, not accidents. One file may take at most
//! [`Fetcher::deadline`], retries included, and at most its pinned size in bytes (or
//! [`UNSIZED_LIMIT`]): a server that sends more is cut off before it fills the disk.

use crate::model::mirror::{MIRROR_ENV, Mirror, UPSTREAM, redact};
/// Named in messages about a binary cache.
pub const BINARY_CACHE_ENV: &str = "PYSYSROOT_BINARY_CACHE";
use crate::model::recipe::Source;
use crate::util::fs::{self, io_error};
use crate::util::hash::sha256_file;
use crate::util::progress;
use anyhow::{Result, anyhow, bail};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const ATTEMPTS: u32 = 4;
/// No pause between retries is longer, whatever the server asks for.
const MAX_PAUSE: Duration = Duration::from_secs(60);
/// Seconds without a byte before an attempt counts as stalled [default 60].
pub const STALL_ENV: &str = "PYSYSROOT_FETCH_TIMEOUT";
/// Seconds one file's download may take, retries included [default 1800].
pub const DEADLINE_ENV: &str = "PYSYSROOT_FETCH_DEADLINE";
/// The most bytes a file whose size is not pinned may have. CPython's source archives are
/// under 30 MiB; a sysroot from a binary cache has its size in the signed statement.
pub const UNSIZED_LIMIT: u64 = 1 << 30;

/// How many bytes a download may have, and where that number comes from.
#[derive(Debug, Clone, Copy)]
struct Limit {
    bytes: u64,
    pinned: bool,
}

impl Limit {
    fn describe(self) -> String {
        if self.pinned {
            format!("the {} bytes pinned for it", self.bytes)
        } else {
            format!(
                "{} MiB, the most a file without a pinned `size` may have",
                self.bytes >> 20
            )
        }
    }
}

/// Where the files come from, which decides what a failure tells the user to change.
#[derive(Debug, Clone)]
pub enum Origin {
    /// Pinned sources: python.org, or the mirror standing in for it.
    Sources,
    /// Substitutes from the binary cache at this (redacted) address.
    BinaryCache(String),
}

pub struct Fetcher {
    pub cache_dir: PathBuf,
    pub mirror: Option<Mirror>,
    pub origin: Origin,
    /// Use only what is already in the cache.
    pub offline: bool,
    /// How long a server may send nothing (no answer, no byte of the body) before the
    /// attempt counts as stalled and is retried.
    pub stall: Duration,
    /// How long one file's download may take, retries included: a server trickling a byte a
    /// second never stalls, and must not hold a build for days either.
    pub deadline: Duration,
    /// The pause before the first retry; each next one doubles.
    pub backoff: Duration,
    /// How often a download prints a line when stderr is no terminal (a CI log).
    pub progress_every: Duration,
    /// The most bytes a file without a pinned size may have.
    pub unsized_limit: u64,
}

/// Why one attempt failed, which decides what happens next.
enum Failure {
    /// The server does not have it: the recipe's next source may be had elsewhere.
    NotFound(String),
    /// Worth another attempt, after the pause the server asked for, if it did.
    Transient(anyhow::Error, Option<Duration>),
    Fatal(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        Failure::Fatal(e)
    }
}

impl Fetcher {
    pub fn new(settings: &crate::model::Settings) -> Result<Fetcher> {
        Self::with(
            settings.layout.cache.clone(),
            settings.mirror.clone(),
            settings.offline,
        )
    }

    /// A fetcher for a binary cache's archives: its failures point at the cache, not the mirror.
    pub fn for_binary_cache(settings: &crate::model::Settings, cache: String) -> Result<Fetcher> {
        let mut f = Self::with(settings.layout.cache.clone(), None, settings.offline)?;
        f.origin = Origin::BinaryCache(cache);
        Ok(f)
    }

    /// Who serves the files, for messages.
    fn server(&self) -> String {
        match (&self.origin, &self.mirror) {
            (Origin::BinaryCache(c), _) => format!("the binary cache {c}"),
            (Origin::Sources, Some(m)) => format!("the mirror {m}"),
            (Origin::Sources, None) => UPSTREAM.to_string(),
        }
    }

    /// What the user can change when the server fails them.
    fn instead(&self) -> String {
        match self.origin {
            Origin::BinaryCache(_) => format!(
                "use another binary cache (--binary-cache or {BINARY_CACHE_ENV}), or build here: --no-substitute"
            ),
            Origin::Sources => format!("use another mirror (--mirror or {MIRROR_ENV})"),
        }
    }

    pub fn with(cache_dir: PathBuf, mirror: Option<Mirror>, offline: bool) -> Result<Fetcher> {
        Ok(Fetcher {
            cache_dir,
            mirror,
            origin: Origin::Sources,
            offline,
            stall: seconds_from_env(STALL_ENV, 60)?,
            deadline: seconds_from_env(DEADLINE_ENV, 30 * 60)?,
            backoff: Duration::from_secs(1),
            progress_every: Duration::from_secs(30),
            unsized_limit: UNSIZED_LIMIT,
        })
    }

    /// The blocking client applies its timeout to the wait for the answer and to each read of
    /// the body, never to the whole transfer (a per-request timeout would be a total one): a
    /// slow mirror is fine, a stalled one is not.
    fn client(&self) -> Result<reqwest::blocking::Client> {
        reqwest::blocking::Client::builder()
            .connect_timeout(self.stall.min(Duration::from_secs(30)))
            .timeout(self.stall)
            .user_agent(concat!("pysysroot-xtask/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                anyhow!("setting up the HTTP client failed: {e}; check the system's TLS set-up")
            })
    }

    fn limit(&self, source: &Source) -> Limit {
        match source.size {
            Some(bytes) => Limit {
                bytes,
                pinned: true,
            },
            None => Limit {
                bytes: self.unsized_limit,
                pinned: false,
            },
        }
    }

    /// Where a verified file with this digest lives in the cache.
    pub fn cached_path(&self, source: &Source) -> PathBuf {
        self.cache_dir
            .join("downloads")
            .join(&source.sha256)
            .join(source.file_name())
    }

    /// The first source that can be had, downloaded (or found in the cache) and verified.
    pub fn fetch_any(&self, sources: &[Source]) -> Result<(PathBuf, Source)> {
        let mut missing = Vec::new();
        for source in sources {
            match self.fetch_one(source) {
                Ok(path) => return Ok((path, source.clone())),
                Err(Failure::NotFound(why)) => missing.push(why),
                Err(Failure::Transient(e, _) | Failure::Fatal(e)) => return Err(e),
            }
        }
        bail!(
            "none of the pinned sources could be had:\n  {}\n  \
             put one of them on the mirror (laid out like python.org), or use another: --mirror or {MIRROR_ENV}",
            missing.join("\n  ")
        )
    }

    pub fn fetch(&self, source: &Source) -> Result<PathBuf> {
        self.fetch_one(source).map_err(|f| match f {
            Failure::NotFound(why) => anyhow!(why),
            Failure::Transient(e, _) | Failure::Fatal(e) => e,
        })
    }

    fn url(&self, source: &Source) -> String {
        match &self.mirror {
            Some(m) => m.rewrite(&source.url),
            None => source.url.clone(),
        }
    }

    fn fetch_one(&self, source: &Source) -> Result<PathBuf, Failure> {
        let dest = self.cached_path(source);
        if verified(&dest, source)? {
            return Ok(dest);
        }
        let url = self.url(source);
        let shown = redact(&url);
        if self.offline {
            return Err(Failure::NotFound(format!(
                "{} is not in the cache and --offline forbids downloading it (from {shown}); \
                 run once without --offline, or place the file at {}",
                source.file_name(),
                dest.display()
            )));
        }
        let dir = dest.parent().expect("cache path has a parent");
        fs::create_dir_all(dir)?;
        // One writer per cache entry: a second process waits, then finds the file done.
        let _lock = fs::Lock::acquire(
            &dir.join(".lock"),
            &format!("download of {}", source.file_name()),
        )?;
        if verified(&dest, source)? {
            return Ok(dest);
        }
        let part = dir.join(format!("{}.part", source.file_name()));
        progress::note(format!("fetching {shown}"));
        self.download_verified(&url, &part, source)?;
        fs::rename(&part, &dest).inspect_err(|_| discard(&part))?;
        let _ = std::fs::remove_file(state_path(&part));
        Ok(dest)
    }

    /// Fills `part` from `url` and checks its digest; a resumed file that fails gets one more
    /// download from zero, since its first bytes may have come from another version of it.
    fn download_verified(&self, url: &str, part: &Path, source: &Source) -> Result<(), Failure> {
        let shown = redact(url);
        let limit = self.limit(source);
        let resumed = if url.starts_with("file://") {
            self.copy_file_url(url, part, limit)?;
            false
        } else {
            self.download(url, part, limit)?
        };
        let mut actual = sha256_file(part)?;
        if actual != source.sha256 && resumed {
            discard(part);
            progress::warn(format!(
                "the resumed download of {shown} has sha256 {actual}, not {}: downloading it again from the start",
                source.sha256
            ));
            self.download(url, part, limit)?;
            actual = sha256_file(part)?;
        }
        if actual == source.sha256 {
            return Ok(());
        }
        discard(part);
        Err(Failure::Fatal(anyhow!(
            "checksum mismatch for {shown}\n  expected sha256 {}\n  actual   sha256 {actual}\n  \
             the download was deleted and nothing was installed; if the pinned digest is right, \
             {} serves a different file: {}",
            source.sha256,
            self.server(),
            self.instead(),
        )))
    }

    /// Downloads `url` into `part`, retrying what is worth it; whether the result was resumed
    /// from an earlier attempt's bytes.
    fn download(&self, url: &str, part: &Path, limit: Limit) -> Result<bool, Failure> {
        let shown = redact(url);
        // Never resume bytes of another URL, or of an unknown one (an older version of this
        // tool, another mirror): they may be another file, or an error page.
        if Resume::load(part).is_none_or(|r| r.url != shown)
            || std::fs::metadata(part).is_ok_and(|m| m.len() > limit.bytes)
        {
            discard(part);
        }
        let client = self.client()?;
        let started = Instant::now();
        let mut last = None;
        for attempt in 1..=ATTEMPTS {
            match self.download_once(&client, url, &shown, part, limit, started) {
                Ok(resumed) => return Ok(resumed),
                Err(Failure::Transient(e, wait)) => {
                    if attempt < ATTEMPTS {
                        let pause = wait
                            .unwrap_or(self.backoff * 2u32.pow(attempt - 1))
                            .min(MAX_PAUSE);
                        progress::warn(format!(
                            "{e:#} (attempt {attempt}/{ATTEMPTS}; retrying in {})",
                            seconds(pause)
                        ));
                        std::thread::sleep(pause);
                    }
                    last = Some(e);
                }
                Err(other) => return Err(other),
            }
        }
        let e = last.expect("at least one attempt");
        Err(Failure::Fatal(anyhow!(
            "{e:#}\n  downloading {shown} failed {ATTEMPTS} times{}; check that {} is up and reachable from here, or {}",
            kept(part),
            self.server(),
            self.instead()
        )))
    }

    fn download_once(
        &self,
        client: &reqwest::blocking::Client,
        url: &str,
        shown: &str,
        part: &Path,
        limit: Limit,
        started: Instant,
    ) -> Result<bool, Failure> {
        if started.elapsed() >= self.deadline {
            return Err(self.past_deadline(shown, part).into());
        }
        let have = std::fs::metadata(part).map_or(0, |m| m.len());
        let mut request = client.get(url);
        if have > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={have}-"));
            if let Some(v) = Resume::load(part).and_then(Resume::validator) {
                request = request.header(reqwest::header::IF_RANGE, v);
            }
        }
        let response = request.send().map_err(|e| self.request_failed(e, shown))?;
        let resumed = answer(&response, shown, part, have, &self.instead())?;
        if !resumed {
            Resume::of(shown, &response).save(part)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(resumed)
            .truncate(!resumed)
            .open(part)
            .map_err(|e| io_error(e, "writing", part))?;
        let already = if resumed { have } else { 0 };
        let total = response.content_length().map(|n| n + already);
        if let Some(total) = total.filter(|&t| t > limit.bytes) {
            drop(file);
            discard(part);
            return Err(Failure::Fatal(anyhow!(
                "{shown} announces a file of {total} bytes, more than {}: nothing of it was \
                 downloaded; {} serves a different file: {}",
                limit.describe(),
                self.server(),
                self.instead()
            )));
        }
        self.copy_body(
            response,
            &mut file,
            part,
            shown,
            (already, total, limit),
            started,
        )?;
        Ok(resumed)
    }

    /// Copies the body into `part` after the `already` bytes it holds, watching the deadline
    /// and the limit; `total` is the whole file's length, when the server said.
    fn copy_body(
        &self,
        mut response: reqwest::blocking::Response,
        file: &mut std::fs::File,
        part: &Path,
        shown: &str,
        (already, total, limit): (u64, Option<u64>, Limit),
        started: Instant,
    ) -> Result<(), Failure> {
        let name = shown.rsplit('/').next().unwrap_or(shown);
        let mut bar = progress::Bytes::new(name, total, already).every(self.progress_every);
        let mut buf = vec![0u8; 1 << 16];
        let mut got = already;
        loop {
            if started.elapsed() >= self.deadline {
                bar.abandon();
                return Err(self.past_deadline(shown, part).into());
            }
            let n = match response.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    bar.abandon();
                    return Err(self.read_failed(&e, shown));
                }
            };
            // A body without a length, or longer than it said, stops at the limit.
            if got + n as u64 > limit.bytes {
                bar.abandon();
                discard(part);
                return Err(Failure::Fatal(anyhow!(
                    "{shown} sent more than {}: the download was stopped and deleted, and \
                     nothing was installed; {} serves a different file: {}",
                    limit.describe(),
                    self.server(),
                    self.instead()
                )));
            }
            if let Err(e) = file.write_all(&buf[..n]) {
                bar.abandon();
                // A partial file on a full disk keeps it full: the next run starts afresh.
                discard(part);
                return Err(io_error(e, "writing", part).into());
            }
            got += n as u64;
            bar.add(n as u64);
        }
        file.sync_all().map_err(|e| io_error(e, "writing", part))?;
        bar.finish();
        match total {
            Some(total) if got != total => Err(Failure::Transient(
                anyhow!("{shown}: the connection closed after {got} of {total} bytes"),
                None,
            )),
            _ => Ok(()),
        }
    }

    fn request_failed(&self, e: reqwest::Error, shown: &str) -> Failure {
        let retry = e.is_timeout() || e.is_connect() || e.is_request() || e.is_body();
        let msg = if e.is_timeout() {
            anyhow!("no response for {} from {shown}", seconds(self.stall))
        } else {
            // reqwest's own message names the URL, credentials and all.
            anyhow!("requesting {shown}: {:#}", anyhow!(e.without_url()))
        };
        if retry {
            Failure::Transient(msg, None)
        } else {
            Failure::Fatal(msg)
        }
    }

    fn read_failed(&self, e: &std::io::Error, shown: &str) -> Failure {
        let inner = e.get_ref().and_then(|i| i.downcast_ref::<reqwest::Error>());
        let msg =
            if e.kind() == std::io::ErrorKind::TimedOut || inner.is_some_and(|r| r.is_timeout()) {
                anyhow!("no data for {} from {shown}", seconds(self.stall))
            } else {
                let mut why = e.to_string();
                let mut source = e.get_ref().and_then(|i| i.source());
                while let Some(s) = source {
                    why.push_str(&format!(": {s}"));
                    source = s.source();
                }
                anyhow!("reading from {shown}: {why}")
            };
        Failure::Transient(msg, None)
    }

    /// Copies a `file://` mirror's file. The copy gets ordinary permissions (a read-only mirror's
    /// 0444 would make a failed copy impossible to replace), and a failed one is removed.
    fn copy_file_url(&self, url: &str, part: &Path, limit: Limit) -> Result<(), Failure> {
        let path = reqwest::Url::parse(url)
            .ok()
            .and_then(|u| u.to_file_path().ok())
            .ok_or_else(|| {
                anyhow!("{url} is not a valid file:// URL: give the mirror as file:///dir")
            })?;
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() && m.len() > limit.bytes => {
                return Err(Failure::Fatal(anyhow!(
                    "{} has {} bytes, more than {}: nothing was copied; {} holds a different \
                     file: {}",
                    path.display(),
                    m.len(),
                    limit.describe(),
                    self.server(),
                    self.instead()
                )));
            }
            Ok(m) if m.is_file() => {}
            Ok(_) => {
                return Err(Failure::Fatal(anyhow!(
                    "{} on the mirror is not a file: check the mirror's layout (it should be python.org's)",
                    path.display()
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Failure::NotFound(format!(
                    "{} does not exist",
                    path.display()
                )));
            }
            Err(e) => return Err(io_error(e, "reading", &path).into()),
        }
        // A part left by an older version of this tool may be read-only: never write through it.
        discard(part);
        fs::copy_file(&path, part).inspect_err(|_| discard(part))?;
        Ok(())
    }

    fn past_deadline(&self, shown: &str, part: &Path) -> anyhow::Error {
        anyhow!(
            "downloading {shown} took longer than {}, the limit for one download{}; \
             {}, or raise the limit: {DEADLINE_ENV}=<seconds>",
            seconds(self.deadline),
            kept(part),
            self.instead()
        )
    }
}

/// Whether the cache holds the verified file. Re-verified on every use: a cache edited or
/// corrupted behind our back is not trusted.
fn verified(dest: &Path, source: &Source) -> Result<bool> {
    match std::fs::symlink_metadata(dest) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_error(e, "reading", dest)),
        Ok(m) if !m.is_file() => bail!(
            "{} should be a downloaded file, but something else (a directory?) stands there: \
             move it away or delete it, and run again",
            dest.display()
        ),
        Ok(_) => {}
    }
    let actual = sha256_file(dest)?;
    if actual == source.sha256 {
        return Ok(true);
    }
    progress::warn(format!(
        "cached {} has sha256 {actual}, expected {}: deleting it",
        dest.display(),
        source.sha256
    ));
    fs::remove_file(dest)?;
    Ok(false)
}

/// What the status line means for this attempt: `Ok(true)` for the rest of a file resumed at
/// `have`, `Ok(false)` for a whole one.
fn answer(
    response: &reqwest::blocking::Response,
    shown: &str,
    part: &Path,
    have: u64,
    instead: &str,
) -> Result<bool, Failure> {
    let status = response.status();
    let again = |why: String| {
        discard(part);
        Err(Failure::Transient(anyhow!(why), Some(Duration::ZERO)))
    };
    match status.as_u16() {
        206 => {
            let start = response
                .headers()
                .get(reqwest::header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes "))
                .and_then(|v| v.split('-').next())
                .and_then(|v| v.parse::<u64>().ok());
            if have > 0 && start == Some(have) {
                Ok(true)
            } else {
                again(format!(
                    "{shown} sent a part of the file that was not asked for: starting over from zero"
                ))
            }
        }
        200..=299 => Ok(false),
        404 | 410 => Err(Failure::NotFound(format!("{shown}: HTTP {status}"))),
        416 if have > 0 => again(format!(
            "{shown} cannot resume at byte {have} (HTTP {status}): starting over from zero"
        )),
        408 | 429 | 500 | 502 | 503 | 504 => Err(Failure::Transient(
            anyhow!("{shown}: HTTP {status}"),
            retry_after(response),
        )),
        401 | 403 => Err(Failure::Fatal(anyhow!(
            "{shown}: HTTP {status}; the server refuses the download: check the URL's \
             credentials, or {instead}"
        ))),
        _ => Err(Failure::Fatal(anyhow!(
            "{shown}: HTTP {status}; check the URL, or {instead}"
        ))),
    }
}

/// `Retry-After` in seconds (the HTTP-date form is rare enough to fall back to our backoff).
fn retry_after(response: &reqwest::blocking::Response) -> Option<Duration> {
    let v = response.headers().get(reqwest::header::RETRY_AFTER)?;
    v.to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
        .map(Duration::from_secs)
}

/// Where a partial download came from, kept beside it: a resume must ask the same URL for the
/// same version of the file.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Resume {
    /// Redacted: the record never holds credentials.
    url: String,
    etag: Option<String>,
    last_modified: Option<String>,
}

impl Resume {
    fn of(shown: &str, response: &reqwest::blocking::Response) -> Resume {
        let header = |h| {
            response
                .headers()
                .get(h)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        };
        Resume {
            url: shown.to_string(),
            // If-Range needs a strong validator.
            etag: header(reqwest::header::ETAG).filter(|e| !e.starts_with("W/")),
            last_modified: header(reqwest::header::LAST_MODIFIED),
        }
    }

    fn load(part: &Path) -> Option<Resume> {
        serde_json::from_slice(&std::fs::read(state_path(part)).ok()?).ok()
    }

    fn save(&self, part: &Path) -> Result<()> {
        fs::write_atomic(
            &state_path(part),
            serde_json::to_vec_pretty(self).expect("plain data serialises"),
        )
    }

    fn validator(self) -> Option<String> {
        self.etag.or(self.last_modified)
    }
}

fn state_path(part: &Path) -> PathBuf {
    let mut name = part.file_name().unwrap_or_default().to_os_string();
    name.push(".json");
    part.with_file_name(name)
}

/// Removes a partial download and its record; what cannot be removed is overwritten later.
fn discard(part: &Path) {
    let _ = std::fs::remove_file(part);
    let _ = std::fs::remove_file(state_path(part));
}

fn kept(part: &Path) -> String {
    match std::fs::metadata(part) {
        Ok(m) if m.len() > 0 => format!(
            "; the partial file {} is kept and the next run resumes it",
            part.display()
        ),
        _ => String::new(),
    }
}

fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// A whole number of seconds from `var`, or `default`.
fn seconds_from_env(var: &str, default: u64) -> Result<Duration> {
    match std::env::var(var) {
        Err(_) => Ok(Duration::from_secs(default)),
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(Duration::from_secs(n)),
            _ => bail!(
                "{var}={v:?} is not a number of seconds: set it to a whole number above 0 (default {default}), or unset it"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::hash::sha256_bytes;
    use crate::util::testing::http::{Reply, Request, Server};
    use std::fs;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("xtask-fetch-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn source(name: &str, body: &[u8]) -> Source {
        Source {
            url: format!("{UPSTREAM}/ftp/python/9.9.9/{name}"),
            sha256: sha256_bytes(body),
            size: None,
        }
    }

    fn sized_source(name: &str, body: &[u8]) -> Source {
        Source {
            size: Some(body.len() as u64),
            ..source(name, body)
        }
    }

    /// A fetcher for tests: short stalls and pauses, so that failures take milliseconds.
    fn fetcher(cache: PathBuf, mirror: &str) -> Fetcher {
        let mut f = Fetcher::with(cache, Some(Mirror::parse(mirror).unwrap()), false).unwrap();
        f.stall = Duration::from_secs(1);
        f.backoff = Duration::from_millis(20);
        f
    }

    fn part_of(f: &Fetcher, src: &Source) -> PathBuf {
        f.cached_path(src)
            .with_file_name(format!("{}.part", src.file_name()))
    }

    fn body() -> Vec<u8> {
        (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect()
    }

    /// The pinned file at `/ftp/python/9.9.9/file.tar.xz` as a plain static server serves it
    /// (ranges, an ETag), 404 for anything else.
    fn static_file(body: Vec<u8>) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
        move |req: &Request| {
            if req.path != "/ftp/python/9.9.9/file.tar.xz" {
                return Reply::status(404);
            }
            Reply::file(req, &body, true, Some("\"v1\""), None)
        }
    }

    #[test]
    fn file_mirror_fetch_verifies_and_caches() {
        let root = tmpdir("file");
        let mirror = root.join("mirror/ftp/python/9.9.9");
        fs::create_dir_all(&mirror).unwrap();
        fs::write(mirror.join("good.tgz"), b"good bytes").unwrap();
        fs::write(mirror.join("bad.tgz"), b"tampered bytes").unwrap();
        let f = Fetcher::with(
            root.join("cache"),
            Some(Mirror::parse(root.join("mirror").to_str().unwrap()).unwrap()),
            false,
        )
        .unwrap();

        let good = source("good.tgz", b"good bytes");
        let path = f.fetch(&good).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"good bytes");

        // A checksum mismatch names both digests and keeps nothing in the cache.
        let bad = source("bad.tgz", b"what the recipe pinned");
        let err = format!("{:#}", f.fetch(&bad).unwrap_err());
        assert!(
            err.contains(&bad.sha256) && err.contains(&sha256_bytes(b"tampered bytes")),
            "{err}"
        );
        let entry = f.cached_path(&bad);
        assert!(!entry.exists() && !entry.with_file_name("bad.tgz.part").exists());

        // Offline: the cached file is served, a missing one is a clear error.
        let offline = Fetcher::with(root.join("cache"), None, true).unwrap();
        assert_eq!(offline.fetch(&good).unwrap(), path);
        let err = offline
            .fetch(&source("other.tgz", b"x"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("--offline"), "{err}");

        // A corrupted cache entry is detected, deleted and fetched again.
        fs::write(&path, b"bit rot").unwrap();
        assert_eq!(fs::read(f.fetch(&good).unwrap()).unwrap(), b"good bytes");

        // The first source missing from the mirror falls through to the next.
        let (p, s) = f
            .fetch_any(&[source("absent.tar.xz", b"?"), good.clone()])
            .unwrap();
        assert_eq!((p, s.url), (path, good.url));
    }

    #[test]
    fn real_download_over_loopback_http() {
        let body = body();
        let server = Server::start(static_file(body.clone()));
        let f = fetcher(tmpdir("http").join("cache"), &server.url());
        let (path, _) = f
            .fetch_any(&[source("missing.tar.xz", b"?"), source("file.tar.xz", &body)])
            .unwrap();
        assert_eq!(fs::read(path).unwrap(), body);
        let reqs = server.requests();
        assert_eq!(reqs[0].path, "/ftp/python/9.9.9/missing.tar.xz", "{reqs:?}");
    }

    #[test]
    fn interrupted_download_resumes_with_range_and_if_range() {
        let body = body();
        let half = body.len() / 2;
        let file = static_file(body.clone());
        let server = Server::start(move |req| match req.n {
            0 => file(req).cut_after(half),
            _ => file(req),
        });
        let f = fetcher(tmpdir("resume").join("cache"), &server.url());
        let path = f.fetch(&source("file.tar.xz", &body)).unwrap();
        assert_eq!(fs::read(path).unwrap(), body);
        let reqs = server.requests();
        assert_eq!(reqs.len(), 2, "{reqs:?}");
        assert_eq!(reqs[1].range_start(), Some(half), "{reqs:?}");
        assert_eq!(reqs[1].header("if-range"), Some("\"v1\""), "{reqs:?}");
    }

    #[test]
    fn interrupted_download_restarts_when_the_server_ignores_range() {
        let body = body();
        let b = body.clone();
        let server = Server::start(move |req| {
            let r = Reply::file(req, &b, false, None, None);
            if req.n == 0 {
                r.cut_after(b.len() / 2)
            } else {
                r
            }
        });
        let f = fetcher(tmpdir("restart").join("cache"), &server.url());
        let path = f.fetch(&source("file.tar.xz", &body)).unwrap();
        assert_eq!(fs::read(path).unwrap(), body);
    }

    /// The file changed on the server between two attempts: `If-Range` makes the server send
    /// the new file whole, never the new file's tail after the old one's head.
    #[test]
    fn a_changed_file_is_downloaded_whole_not_spliced() {
        let (old, new) = (body(), body().iter().map(|b| b ^ 0x5a).collect::<Vec<u8>>());
        let half = old.len() / 2;
        let n = new.clone();
        let server = Server::start(move |req| match req.n {
            0 => Reply::file(req, &old, true, Some("\"old\""), None).cut_after(half),
            _ => Reply::file(req, &n, true, Some("\"new\""), None),
        });
        let f = fetcher(tmpdir("changed").join("cache"), &server.url());
        let path = f.fetch(&source("file.tar.xz", &new)).unwrap();
        assert_eq!(fs::read(path).unwrap(), new);
        let reqs = server.requests();
        assert_eq!(reqs[1].header("if-range"), Some("\"old\""), "{reqs:?}");
    }

    #[test]
    fn a_partial_file_left_by_a_killed_run_is_resumed_not_trusted() {
        let body = body();
        let server = Server::start(static_file(body.clone()));
        let f = fetcher(tmpdir("killed").join("cache"), &server.url());
        let src = source("file.tar.xz", &body);
        let part = part_of(&f, &src);
        fs::create_dir_all(part.parent().unwrap()).unwrap();
        // What a run killed after 1000 bytes leaves: the bytes and where they came from.
        fs::write(&part, &body[..1000]).unwrap();
        Resume {
            url: format!("{}/ftp/python/9.9.9/file.tar.xz", server.url()),
            etag: Some("\"v1\"".into()),
            last_modified: None,
        }
        .save(&part)
        .unwrap();
        assert_eq!(fs::read(f.fetch(&src).unwrap()).unwrap(), body);
        assert_eq!(server.requests()[0].range_start(), Some(1000));
        assert!(!part.exists() && !state_path(&part).exists());
    }

    /// Issue 21, item 4: mirror A sends an HTML error page cut short; mirror B, which is
    /// good, must not be asked for the rest of A's bytes, nor blamed for them.
    #[test]
    fn a_partial_file_from_another_mirror_is_never_resumed() {
        let body = body();
        let page = b"<html><body>Service temporarily overloaded</body></html>".repeat(100);
        let a = Server::start(move |_req: &Request| Reply::bytes(&page).cut_after(2000));
        let b = Server::start(static_file(body.clone()));
        let cache = tmpdir("two-mirrors").join("cache");
        let src = source("file.tar.xz", &body);
        let err = format!(
            "{:#}",
            fetcher(cache.clone(), &a.url()).fetch(&src).unwrap_err()
        );
        assert!(err.contains("is kept"), "{err}");
        let fetched = fetcher(cache, &b.url()).fetch(&src);
        assert_eq!(fs::read(fetched.unwrap()).unwrap(), body);
        let reqs = b.requests();
        assert_eq!(reqs.len(), 1, "{reqs:?}");
        assert_eq!(
            reqs[0].header("range"),
            None,
            "B was asked to resume A's bytes"
        );
    }

    /// A part whose bytes came from an older version of the file at the same URL, from a
    /// server without validators: the resume fails the digest, and one download from zero
    /// fixes it. A server that really serves another file is blamed after that one retry.
    #[test]
    fn a_digest_mismatch_after_a_resume_retries_once_from_zero() {
        let body = body();
        let b = body.clone();
        let server = Server::start(move |req| Reply::file(req, &b, true, None, None));
        let f = fetcher(tmpdir("mismatch-resume").join("cache"), &server.url());
        let src = source("file.tar.xz", &body);
        let stale = |f: &Fetcher, src: &Source| {
            let part = part_of(f, src);
            fs::create_dir_all(part.parent().unwrap()).unwrap();
            fs::write(&part, vec![0u8; 1000]).unwrap();
            Resume {
                url: format!("{}/ftp/python/9.9.9/file.tar.xz", server.url()),
                etag: None,
                last_modified: None,
            }
            .save(&part)
            .unwrap();
        };
        stale(&f, &src);
        assert_eq!(fs::read(f.fetch(&src).unwrap()).unwrap(), body);
        let reqs = server.requests();
        assert_eq!(reqs.len(), 2, "{reqs:?}");
        assert_eq!(
            (reqs[0].range_start(), reqs[1].range_start()),
            (Some(1000), None)
        );

        let wrong = source("file.tar.xz", b"what the recipe pinned");
        let f = fetcher(tmpdir("mismatch-blame").join("cache"), &server.url());
        stale(&f, &wrong);
        let err = format!("{:#}", f.fetch(&wrong).unwrap_err());
        assert!(err.contains("serves a different file"), "{err}");
        assert_eq!(server.requests().len(), 4);
        assert!(!part_of(&f, &wrong).exists());
    }

    /// Issue 21, item 3: 5xx and 429 are retried (with a pause that grows), other 4xx are
    /// not, and the message says the status once.
    #[test]
    fn server_errors_are_retried_client_errors_are_not() {
        let body = body();
        for status in [500, 502, 503, 504, 429] {
            let file = static_file(body.clone());
            let server = Server::start(move |req| match req.n {
                0..=2 => Reply::status(status),
                _ => file(req),
            });
            let f = fetcher(
                tmpdir(&format!("retry-{status}")).join("cache"),
                &server.url(),
            );
            let t = Instant::now();
            let fetched = f.fetch(&source("file.tar.xz", &body));
            assert!(
                fetched.is_ok(),
                "HTTP {status} was not retried: {fetched:?}"
            );
            assert_eq!(server.requests().len(), 4, "HTTP {status}");
            // 20 + 40 + 80 ms: exponential backoff.
            assert!(
                t.elapsed() >= Duration::from_millis(140),
                "HTTP {status}: no backoff"
            );
        }
        for status in [400, 401, 403] {
            let server = Server::start(move |_req: &Request| Reply::status(status));
            let f = fetcher(
                tmpdir(&format!("no-retry-{status}")).join("cache"),
                &server.url(),
            );
            let err = format!("{:#}", f.fetch(&source("file.tar.xz", &body)).unwrap_err());
            assert_eq!(server.requests().len(), 1, "HTTP {status} was retried");
            // Counted outside the URL, whose random port may hold the same digits.
            let outside_url = err.replace(&server.url(), "");
            assert_eq!(outside_url.matches(&status.to_string()).count(), 1, "{err}");
            assert!(
                err.contains("/ftp/python/9.9.9/file.tar.xz") && err.contains("--mirror"),
                "{err}"
            );
        }
    }

    #[test]
    fn retry_after_is_honoured() {
        let body = body();
        let file = static_file(body.clone());
        let server = Server::start(move |req| match req.n {
            0 => Reply::status(503).header("Retry-After", "1"),
            _ => file(req),
        });
        let f = fetcher(tmpdir("retry-after").join("cache"), &server.url());
        let t = Instant::now();
        f.fetch(&source("file.tar.xz", &body)).unwrap();
        assert!(t.elapsed() >= Duration::from_secs(1));
    }

    /// Issue 21, item 5: a 416 starts over from zero cleanly; a server answering 416 to a
    /// request without a range is an error that names it, not a bare ENOENT.
    #[test]
    fn http_416_starts_over_from_zero() {
        let body = body();
        let server = Server::start(static_file(body.clone()));
        let f = fetcher(tmpdir("416").join("cache"), &server.url());
        let src = source("file.tar.xz", &body);
        let part = part_of(&f, &src);
        fs::create_dir_all(part.parent().unwrap()).unwrap();
        fs::write(&part, [&body[..], b"and more"].concat()).unwrap();
        Resume {
            url: format!("{}/ftp/python/9.9.9/file.tar.xz", server.url()),
            etag: Some("\"v1\"".into()),
            last_modified: None,
        }
        .save(&part)
        .unwrap();
        assert_eq!(fs::read(f.fetch(&src).unwrap()).unwrap(), body);
        let reqs = server.requests();
        assert_eq!((reqs.len(), reqs[1].header("range")), (2, None), "{reqs:?}");

        let always = Server::start(|_req: &Request| Reply::status(416));
        let f = fetcher(tmpdir("416-always").join("cache"), &always.url());
        let part = part_of(&f, &src);
        fs::create_dir_all(part.parent().unwrap()).unwrap();
        fs::write(&part, b"some bytes").unwrap();
        Resume {
            url: format!("{}/ftp/python/9.9.9/file.tar.xz", always.url()),
            etag: None,
            last_modified: None,
        }
        .save(&part)
        .unwrap();
        let err = format!("{:#}", f.fetch(&src).unwrap_err());
        assert!(
            err.contains("HTTP 416") && err.contains(&always.url()),
            "{err}"
        );
        assert!(!err.contains("os error"), "{err}");
    }

    /// Issue 21, item 5: a server that stops sending is named with the time it was silent,
    /// and retried; the retry resumes.
    #[test]
    fn a_stalled_transfer_says_so_and_is_retried() {
        let body = body();
        let half = body.len() / 2;
        let file = static_file(body.clone());
        let server = Server::start(move |req| match req.n {
            0 => file(req).stall_at(half, Duration::from_secs(4)),
            1 => file(req).stall_head(Duration::from_secs(4)),
            _ => file(req),
        });
        let f = fetcher(tmpdir("stall").join("cache"), &server.url());
        let t = Instant::now();
        let path = f.fetch(&source("file.tar.xz", &body)).unwrap();
        assert_eq!(fs::read(path).unwrap(), body);
        assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
        let reqs = server.requests();
        assert_eq!(reqs.len(), 3, "{reqs:?}");
        assert_eq!(reqs[2].range_start(), Some(half), "{reqs:?}");

        let silent =
            Server::start(|_req: &Request| Reply::bytes(b"x").stall_head(Duration::from_secs(10)));
        let f = fetcher(tmpdir("stall-always").join("cache"), &silent.url());
        let err = format!("{:#}", f.fetch(&source("file.tar.xz", b"x")).unwrap_err());
        assert!(
            err.contains(&format!("no response for 1 s from {}", silent.url())),
            "{err}"
        );
        assert!(err.contains("failed 4 times"), "{err}");
    }

    /// A server that sends more than the file can have (a hostile or broken mirror streaming
    /// forever) is cut off at the limit, not read until the disk is full: at the pinned size,
    /// or without one at the limit for unsized files. Nothing is kept, and it is not retried.
    #[test]
    fn a_body_longer_than_the_file_is_cut_off_at_the_limit() {
        let body = body();
        let server = Server::start(|_req: &Request| Reply::bytes(&[b'x'; 1 << 16]).endless());
        let f = fetcher(tmpdir("endless").join("cache"), &server.url());
        let src = sized_source("file.tar.xz", &body);
        let err = format!("{:#}", f.fetch(&src).unwrap_err());
        assert!(
            err.contains(&format!(
                "sent more than the {} bytes pinned for it",
                body.len()
            )) && err.contains("serves a different file"),
            "{err}"
        );
        assert!(!part_of(&f, &src).exists() && !f.cached_path(&src).exists());
        assert_eq!(server.requests().len(), 1, "retried");

        let mut f = fetcher(tmpdir("endless-unsized").join("cache"), &server.url());
        f.unsized_limit = 1 << 20;
        let src = source("file.tar.xz", &body);
        let err = format!("{:#}", f.fetch(&src).unwrap_err());
        assert!(
            err.contains("sent more than 1 MiB, the most a file without a pinned `size` may have"),
            "{err}"
        );
        assert!(!part_of(&f, &src).exists() && !f.cached_path(&src).exists());
    }

    /// A length announced over the limit is refused before a byte of the body is written; a
    /// `file://` mirror's file over it is not copied.
    #[test]
    fn a_file_larger_than_pinned_is_refused_before_its_body() {
        let body = body();
        let big = vec![1u8; body.len() + 1];
        let server = Server::start(move |_req: &Request| Reply::bytes(&big));
        let f = fetcher(tmpdir("announced").join("cache"), &server.url());
        let src = sized_source("file.tar.xz", &body);
        let err = format!("{:#}", f.fetch(&src).unwrap_err());
        assert!(
            err.contains(&format!(
                "announces a file of {} bytes, more than the {} bytes pinned for it",
                body.len() + 1,
                body.len()
            )),
            "{err}"
        );
        assert!(!part_of(&f, &src).exists() && !f.cached_path(&src).exists());

        let root = tmpdir("file-larger");
        let mirror = root.join("mirror/ftp/python/9.9.9");
        fs::create_dir_all(&mirror).unwrap();
        fs::write(mirror.join("file.tar.xz"), vec![1u8; body.len() + 1]).unwrap();
        let f = fetcher(root.join("cache"), root.join("mirror").to_str().unwrap());
        let err = format!("{:#}", f.fetch(&src).unwrap_err());
        assert!(
            err.contains(&format!("has {} bytes, more than the", body.len() + 1))
                && err.contains("nothing was copied"),
            "{err}"
        );
        assert!(!part_of(&f, &src).exists() && !f.cached_path(&src).exists());
        // The pinned size is no obstacle to the right file.
        fs::write(mirror.join("file.tar.xz"), &body).unwrap();
        assert_eq!(fs::read(f.fetch(&src).unwrap()).unwrap(), body);
    }

    /// Issue 21, item 5: a server that trickles never stalls, but a download has a deadline;
    /// and off a terminal it prints progress lines meanwhile.
    #[test]
    fn a_trickle_meets_the_deadline_and_prints_progress() {
        let body = vec![7u8; 200_000];
        let b = body.clone();
        let server = Server::start(move |req| {
            Reply::file(req, &b, true, None, None).trickle(1000, Duration::from_millis(20))
        });
        let mut f = fetcher(tmpdir("trickle").join("cache"), &server.url());
        f.deadline = Duration::from_millis(1500);
        f.progress_every = Duration::from_millis(300);
        let src = source("trickle.tar.xz", &body);
        let t = Instant::now();
        let err = format!("{:#}", f.fetch(&src).unwrap_err());
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
        assert!(err.contains("took longer than 1.5 s"), "{err}");
        assert!(
            err.contains(DEADLINE_ENV) && err.contains("is kept"),
            "{err}"
        );
        assert_eq!(server.requests().len(), 1, "a deadline is not retried");
        let lines = crate::util::progress::tests::plain_lines("trickle.tar.xz");
        assert!(lines.len() >= 2, "{lines:?}");
    }

    /// Issue 21, item 7: a mirror's credentials appear in no message, whatever failed.
    #[test]
    fn credentials_never_appear_in_an_error() {
        let body = body();
        let forbidden = Server::start(|_req: &Request| Reply::status(403));
        let wrong = Server::start(|_req: &Request| Reply::bytes(b"not the file"));
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        for (name, base) in [
            ("403", forbidden.url()),
            ("mismatch", wrong.url()),
            ("refused", format!("http://127.0.0.1:{dead}")),
        ] {
            let mirror = base.replace("http://", "http://user:s3cret@");
            let f = fetcher(tmpdir(&format!("creds-{name}")).join("cache"), &mirror);
            let err = format!("{:#}", f.fetch(&source("file.tar.xz", &body)).unwrap_err());
            assert!(!err.contains("s3cret"), "{name}: {err}");
            assert!(err.contains("127.0.0.1"), "{name}: {err}");
        }
    }

    /// Issue 21, item 6: a directory where the cache entry should be is named, with the way
    /// out, before anything is downloaded; nothing is left behind.
    #[test]
    fn a_directory_in_the_way_of_a_cache_entry_leaves_nothing() {
        let body = body();
        let server = Server::start(static_file(body.clone()));
        let f = fetcher(tmpdir("dir-in-the-way").join("cache"), &server.url());
        let src = source("file.tar.xz", &body);
        let dest = f.cached_path(&src);
        fs::create_dir_all(dest.join("sub")).unwrap();
        let err = format!("{:#}", f.fetch(&src).unwrap_err());
        assert!(
            err.contains(&dest.display().to_string()) && err.contains("move it away"),
            "{err}"
        );
        let left: Vec<_> = fs::read_dir(dest.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(left, ["file.tar.xz"], "{left:?}");
        assert!(server.requests().is_empty());
    }

    /// Issue 21, item 1: a copy from a read-only `file://` mirror into a full cache, as an
    /// unprivileged user: the failed copy leaves no read-only `.part` behind, and once there is
    /// room the next run succeeds. Needs root to mount a tmpfs (CI runs as root).
    #[test]
    fn a_failed_copy_from_a_read_only_mirror_never_blocks_the_cache() {
        use crate::util::testing::{Tmpfs, is_root};
        use std::os::unix::fs::PermissionsExt;
        if !is_root() {
            eprintln!("skipped: mounting a tmpfs and switching users needs root");
            return;
        }
        let root = tmpdir("ro-mirror");
        let dir = root.join("mirror/ftp/python/9.9.9");
        fs::create_dir_all(&dir).unwrap();
        let body: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
        fs::write(dir.join("big.tar.xz"), &body).unwrap();
        fs::set_permissions(dir.join("big.tar.xz"), fs::Permissions::from_mode(0o444)).unwrap();
        for d in [&root, &root.join("mirror"), &dir] {
            fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
        }
        let cache = root.join("cache");
        let tmpfs = Tmpfs::mount(&cache, "size=1m,uid=65534,gid=65534,mode=755");
        let src = source("big.tar.xz", &body);
        let run = || {
            let out = std::process::Command::new("setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(std::env::current_exe().unwrap())
                .args(["--exact", "pipeline::fetch::tests::fetch_as_another_user"])
                .args(["--ignored", "--nocapture", "--test-threads=1"])
                .env(
                    "XTASK_TEST_FETCH",
                    format!(
                        "{}|{}|{}",
                        root.join("mirror").display(),
                        cache.display(),
                        src.sha256
                    ),
                )
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let first = run();
        assert!(
            first.contains("FETCH-ERR") && first.contains("disk is full"),
            "{first}"
        );
        let left: Vec<_> = walkdir::WalkDir::new(&cache)
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file() && e.file_name() != ".lock")
            .map(|e| e.path().to_path_buf())
            .collect();
        assert!(left.is_empty(), "the failed copy left {left:?}");
        tmpfs.remount("size=8m");
        let second = run();
        assert!(second.contains("FETCH-OK"), "{second}");
        drop(tmpfs);
        fs::remove_dir_all(&root).unwrap();
    }

    /// Run by the test above, as another user: fetches `big.tar.xz` and says how it went.
    #[test]
    #[ignore = "a helper: a_failed_copy_from_a_read_only_mirror_never_blocks_the_cache runs it"]
    fn fetch_as_another_user() {
        let Ok(spec) = std::env::var("XTASK_TEST_FETCH") else {
            return;
        };
        let [mirror, cache, sha256]: [&str; 3] =
            spec.split('|').collect::<Vec<_>>().try_into().unwrap();
        let f = Fetcher::with(cache.into(), Some(Mirror::parse(mirror).unwrap()), false).unwrap();
        let src = Source {
            url: format!("{UPSTREAM}/ftp/python/9.9.9/big.tar.xz"),
            sha256: sha256.to_string(),
            size: None,
        };
        match f.fetch(&src) {
            Ok(_) => println!("FETCH-OK"),
            Err(e) => println!("FETCH-ERR {e:#}"),
        }
    }
}
