//! Fetch: pinned downloads into a cache, verified before anything uses them.
//!
//! A download goes to `<cache>/downloads/<sha256>/<name>.part`, resumes from where it stopped
//! when the server allows it, and is renamed into place only once its sha256 matches the
//! recipe. A mismatching file is deleted, so a bad mirror never poisons the cache.

use crate::model::mirror::{MIRROR_ENV, Mirror, UPSTREAM};
use crate::model::recipe::Source;
use crate::util::hash::sha256_file;
use anyhow::{Context, Result, anyhow, bail};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

const ATTEMPTS: u32 = 4;

pub struct Fetcher {
    pub cache_dir: PathBuf,
    pub mirror: Option<Mirror>,
    /// Use only what is already in the cache.
    pub offline: bool,
    client: reqwest::blocking::Client,
}

/// Why one source could not be had: a missing file lets the next source be tried.
enum Failure {
    NotFound(String),
    Fatal(anyhow::Error),
}

impl Fetcher {
    pub fn new(settings: &crate::model::Settings) -> Result<Fetcher> {
        Self::with(
            settings.layout.cache.clone(),
            settings.mirror.clone(),
            settings.offline,
        )
    }

    pub fn with(cache_dir: PathBuf, mirror: Option<Mirror>, offline: bool) -> Result<Fetcher> {
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            // The blocking client applies this to each read of the body, not to the whole
            // transfer: a slow mirror is fine, a stalled one is not.
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("pysysroot-xtask/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Fetcher {
            cache_dir,
            mirror,
            offline,
            client,
        })
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
                Err(Failure::Fatal(e)) => return Err(e),
            }
        }
        bail!("no source could be fetched:\n  {}", missing.join("\n  "))
    }

    pub fn fetch(&self, source: &Source) -> Result<PathBuf> {
        self.fetch_one(source).map_err(|f| match f {
            Failure::NotFound(why) => anyhow!(why),
            Failure::Fatal(e) => e,
        })
    }

    fn fetch_one(&self, source: &Source) -> Result<PathBuf, Failure> {
        let dest = self.cached_path(source);
        if dest.is_file() {
            // Re-verified on every use: a cache edited or corrupted behind our back is not trusted.
            match sha256_file(&dest) {
                Ok(actual) if actual == source.sha256 => return Ok(dest),
                Ok(actual) => {
                    eprintln!(
                        "warning: cached {} has sha256 {actual}, expected {}: deleting it",
                        dest.display(),
                        source.sha256
                    );
                    fs::remove_file(&dest).map_err(|e| Failure::Fatal(e.into()))?;
                }
                Err(e) => return Err(Failure::Fatal(e)),
            }
        }
        let url = match &self.mirror {
            Some(m) => m.rewrite(&source.url),
            None => source.url.clone(),
        };
        if self.offline {
            return Err(Failure::NotFound(format!(
                "{} is not in the cache and --offline forbids downloading it (from {url}); \
                 run once without --offline, or place the file at {}",
                source.file_name(),
                dest.display()
            )));
        }
        let dir = dest.parent().expect("cache path has a parent");
        fs::create_dir_all(dir)
            .with_context(|| format!("creating cache directory {}", dir.display()))
            .map_err(Failure::Fatal)?;
        // One writer per cache entry: a second process waits, then finds the file done.
        let lock = File::create(dir.join(".lock")).map_err(|e| Failure::Fatal(e.into()))?;
        lock.lock().map_err(|e| Failure::Fatal(e.into()))?;
        if dest.is_file() && sha256_file(&dest).map_err(Failure::Fatal)? == source.sha256 {
            return Ok(dest);
        }
        let part = dir.join(format!("{}.part", source.file_name()));
        if url.starts_with("file://") {
            copy_file_url(&url, &part)?;
        } else {
            self.download(&url, &part)?;
        }
        let actual = sha256_file(&part).map_err(Failure::Fatal)?;
        if actual != source.sha256 {
            let _ = fs::remove_file(&part);
            return Err(Failure::Fatal(anyhow!(
                "checksum mismatch for {url}\n  expected sha256 {}\n  actual   sha256 {actual}\n  \
                 the download was deleted and nothing was installed; if the recipe is right, \
                 the mirror ({}) serves a different file",
                source.sha256,
                self.mirror.as_ref().map_or(UPSTREAM, |m| m.as_str()),
            )));
        }
        fs::rename(&part, &dest).map_err(|e| Failure::Fatal(e.into()))?;
        Ok(dest)
    }

    /// Downloads `url` into `part`, resuming a partial file when the server honours `Range`.
    fn download(&self, url: &str, part: &Path) -> Result<(), Failure> {
        let mut last_error = None;
        for attempt in 1..=ATTEMPTS {
            if attempt > 1 {
                std::thread::sleep(Duration::from_millis(500 * u64::from(attempt)));
            }
            match self.download_once(url, part) {
                Ok(()) => return Ok(()),
                Err(Failure::Fatal(e)) if is_transient(&e) => {
                    eprintln!(
                        "warning: download of {url} failed (attempt {attempt}/{ATTEMPTS}): {e:#}"
                    );
                    last_error = Some(e);
                }
                Err(other) => return Err(other),
            }
        }
        let e = last_error.expect("at least one attempt");
        let kept = if part.is_file() {
            format!(
                "; the partial file {} is kept and the next run resumes it",
                part.display()
            )
        } else {
            String::new()
        };
        Err(Failure::Fatal(e.context(format!(
            "downloading {url} failed {ATTEMPTS} times{kept}. If the server is unreachable from here, \
             use a mirror: --mirror or {MIRROR_ENV}"
        ))))
    }

    fn download_once(&self, url: &str, part: &Path) -> Result<(), Failure> {
        let have = fs::metadata(part).map(|m| m.len()).unwrap_or(0);
        let mut request = self.client.get(url);
        if have > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={have}-"));
        }
        let mut response = request
            .send()
            .map_err(|e| Failure::Fatal(anyhow!(e).context(format!("requesting {url}"))))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::GONE {
            return Err(Failure::NotFound(format!("{url}: {status}")));
        }
        let resumed = status == reqwest::StatusCode::PARTIAL_CONTENT;
        if status == reqwest::StatusCode::RANGE_NOT_SATISFIABLE {
            // The partial file is already whole (or longer than the resource): start over.
            fs::remove_file(part).map_err(|e| Failure::Fatal(e.into()))?;
            return Err(Failure::Fatal(anyhow!(TransientError(
                "server refused the resume range".into()
            ))));
        }
        if !status.is_success() {
            let err = anyhow!("{url}: HTTP {status}");
            return Err(Failure::Fatal(if status.is_server_error() {
                err.context(TransientError(status.to_string()))
            } else {
                err
            }));
        }
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .append(resumed)
            .truncate(!resumed)
            .open(part)
            .map_err(|e| Failure::Fatal(e.into()))?;
        let total = response
            .content_length()
            .map(|n| n + if resumed { have } else { 0 });
        let mut bar = crate::util::progress::Bytes::new(
            url.rsplit('/').next().unwrap_or(url),
            total,
            if resumed { have } else { 0 },
        );
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match response.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    bar.abandon();
                    return Err(Failure::Fatal(anyhow!(TransientError(format!(
                        "reading the response body: {e}"
                    )))));
                }
            };
            file.write_all(&buf[..n]).map_err(|e| {
                Failure::Fatal(anyhow!(e).context(format!("writing {}", part.display())))
            })?;
            bar.add(n as u64);
        }
        file.sync_all().map_err(|e| Failure::Fatal(e.into()))?;
        bar.finish();
        let got = fs::metadata(part)
            .map_err(|e| Failure::Fatal(e.into()))?
            .len();
        if let Some(total) = total
            && got != total
        {
            return Err(Failure::Fatal(anyhow!(TransientError(format!(
                "connection closed after {got} of {total} bytes"
            )))));
        }
        Ok(())
    }
}

/// Marks errors worth retrying (dropped connections, 5xx).
#[derive(Debug)]
struct TransientError(String);

impl std::fmt::Display for TransientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TransientError {}

fn is_transient(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.is::<TransientError>()
            || c.downcast_ref::<reqwest::Error>()
                .is_some_and(|r| r.is_timeout() || r.is_connect() || r.is_request() || r.is_body())
    })
}

fn copy_file_url(url: &str, part: &Path) -> Result<(), Failure> {
    let path = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.to_file_path().ok())
        .ok_or_else(|| Failure::Fatal(anyhow!("bad file URL {url}")))?;
    if !path.is_file() {
        return Err(Failure::NotFound(format!(
            "{} does not exist",
            path.display()
        )));
    }
    fs::copy(&path, part)
        .map_err(|e| Failure::Fatal(anyhow!(e).context(format!("copying {}", path.display()))))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::hash::sha256_bytes;
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

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

    /// A loopback HTTP server: serves `body`, honours `Range` when `ranges` is set, and cuts
    /// the first `cut_first` responses short after half the body.
    struct Server {
        port: u16,
        requests: Arc<Mutex<Vec<String>>>,
    }

    fn serve(body: Vec<u8>, ranges: bool, cut_first: usize) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        std::thread::spawn(move || {
            for (i, stream) in listener.incoming().enumerate() {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                log.lock().unwrap().push(head.clone());
                if !head.contains("/ftp/python/9.9.9/file.tar.xz") {
                    let _ = stream.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    continue;
                }
                let start = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("range: bytes=")
                            .map(|r| r.trim_end_matches('-').parse::<usize>().unwrap())
                    })
                    .filter(|_| ranges)
                    .unwrap_or(0);
                let rest = &body[start..];
                let status = if start > 0 {
                    "206 Partial Content"
                } else {
                    "200 OK"
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    rest.len()
                );
                let send = if i < cut_first {
                    &rest[..rest.len() / 2]
                } else {
                    rest
                };
                let _ = stream.write_all(send);
            }
        });
        Server { port, requests }
    }

    fn body() -> Vec<u8> {
        (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect()
    }

    #[test]
    fn real_download_over_loopback_http() {
        let body = body();
        let server = serve(body.clone(), true, 0);
        let root = tmpdir("http");
        let mirror = Mirror::parse(&format!("http://127.0.0.1:{}", server.port)).unwrap();
        let f = Fetcher::with(root.join("cache"), Some(mirror), false).unwrap();
        let (path, _) = f
            .fetch_any(&[source("missing.tar.xz", b"?"), source("file.tar.xz", &body)])
            .unwrap();
        assert_eq!(fs::read(path).unwrap(), body);
        let reqs = server.requests.lock().unwrap();
        assert!(
            reqs[0].starts_with("GET /ftp/python/9.9.9/missing.tar.xz"),
            "{reqs:?}"
        );
    }

    #[test]
    fn interrupted_download_resumes_with_range() {
        let body = body();
        let server = serve(body.clone(), true, 1);
        let root = tmpdir("resume");
        let f = Fetcher::with(
            root.join("cache"),
            Some(Mirror::parse(&format!("http://127.0.0.1:{}", server.port)).unwrap()),
            false,
        )
        .unwrap();
        let path = f.fetch(&source("file.tar.xz", &body)).unwrap();
        assert_eq!(fs::read(path).unwrap(), body);
        let reqs = server.requests.lock().unwrap();
        assert_eq!(reqs.len(), 2, "{reqs:?}");
        assert!(
            reqs[1]
                .to_ascii_lowercase()
                .contains(&format!("range: bytes={}-", body.len() / 2)),
            "{reqs:?}"
        );
    }

    #[test]
    fn interrupted_download_restarts_when_the_server_ignores_range() {
        let body = body();
        let server = serve(body.clone(), false, 1);
        let root = tmpdir("restart");
        let f = Fetcher::with(
            root.join("cache"),
            Some(Mirror::parse(&format!("http://127.0.0.1:{}", server.port)).unwrap()),
            false,
        )
        .unwrap();
        let path = f.fetch(&source("file.tar.xz", &body)).unwrap();
        assert_eq!(fs::read(path).unwrap(), body);
    }

    #[test]
    fn a_partial_file_left_by_a_killed_run_is_resumed_not_trusted() {
        let body = body();
        let server = serve(body.clone(), true, 0);
        let root = tmpdir("killed");
        let f = Fetcher::with(
            root.join("cache"),
            Some(Mirror::parse(&format!("http://127.0.0.1:{}", server.port)).unwrap()),
            false,
        )
        .unwrap();
        let src = source("file.tar.xz", &body);
        let part = f.cached_path(&src).with_file_name("file.tar.xz.part");
        fs::create_dir_all(part.parent().unwrap()).unwrap();
        fs::write(&part, &body[..1000]).unwrap();
        assert_eq!(fs::read(f.fetch(&src).unwrap()).unwrap(), body);
        assert!(!part.exists());
    }
}
