//! A place that holds named objects: a local directory, or an HTTP(S) server that answers
//! GET and accepts PUT (a WebDAV server, nginx's dav module, most HTTP cache servers). What
//! the binary cache of sysroots is kept in.

use crate::util::fs;
use anyhow::{Context, Result, anyhow, bail};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Store {
    Dir(PathBuf),
    Http(reqwest::Url),
}

/// Attempts for a request that failed in a way worth retrying (no connection, 5xx).
const ATTEMPTS: u32 = 3;

impl Store {
    /// `file:///dir`, a directory, or `http(s)://host/prefix`.
    pub fn parse(spec: &str) -> Result<Store> {
        let spec = spec.trim();
        let how = "give file:///dir, a directory, or http(s)://host/path";
        if spec.starts_with("http://") || spec.starts_with("https://") {
            let mut url = reqwest::Url::parse(spec).map_err(|e| {
                anyhow!(
                    "binary cache {:?} is not a valid URL ({e}): {how}",
                    crate::model::mirror::redact(spec)
                )
            })?;
            if url.host_str().is_none_or(str::is_empty) {
                bail!(
                    "binary cache {:?} names no host: {how}",
                    crate::model::mirror::redact(spec)
                );
            }
            if !url.path().ends_with('/') {
                url.set_path(&format!("{}/", url.path()));
            }
            return Ok(Store::Http(url));
        }
        if let Some(rest) = spec.strip_prefix("file://") {
            if !rest.starts_with('/') {
                bail!(
                    "binary cache {spec:?} is not a valid file:// URL (it needs an absolute path: file:///dir)"
                );
            }
            return Ok(Store::Dir(PathBuf::from(rest)));
        }
        if spec.is_empty() || spec.contains("://") {
            bail!("binary cache {spec:?} is not usable: {how}");
        }
        Ok(Store::Dir(std::path::absolute(spec).map_err(|e| {
            fs::io_error(e, "resolving", Path::new(spec))
        })?))
    }

    /// The URL of an object, for downloads through the fetcher.
    pub fn url(&self, name: &str) -> Result<String> {
        Ok(match self {
            Store::Dir(d) => reqwest::Url::from_file_path(d.join(name))
                .map_err(|_| anyhow!("{} is not an absolute path", d.display()))?
                .to_string(),
            Store::Http(base) => base.join(name)?.to_string(),
        })
    }

    fn client() -> Result<reqwest::blocking::Client> {
        Ok(reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(600))
            .user_agent(concat!("pysysroot-xtask/", env!("CARGO_PKG_VERSION")))
            .build()?)
    }

    /// A small object, or `None` when the store does not have it.
    pub fn get(&self, name: &str) -> Result<Option<Vec<u8>>> {
        match self {
            Store::Dir(d) => match std::fs::read(d.join(name)) {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(fs::io_error(e, "reading", &d.join(name))),
            },
            Store::Http(_) => {
                let url = self.url(name)?;
                let response = retried(&url, || {
                    Self::client()?.get(&url).send().map_err(Into::into)
                })?;
                match response.status() {
                    s if s.is_success() => Ok(Some(response.bytes()?.to_vec())),
                    reqwest::StatusCode::NOT_FOUND | reqwest::StatusCode::GONE => Ok(None),
                    s => bail!("{}: HTTP {s}", redacted(&url)),
                }
            }
        }
    }

    /// The size of an object, or `None` when the store does not have it.
    pub fn get_size(&self, name: &str) -> Result<Option<u64>> {
        match self {
            Store::Dir(d) => match std::fs::metadata(d.join(name)) {
                Ok(m) => Ok(Some(m.len())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(fs::io_error(e, "reading", &d.join(name))),
            },
            Store::Http(_) => {
                let url = self.url(name)?;
                let response = retried(&url, || {
                    Self::client()?.head(&url).send().map_err(Into::into)
                })?;
                match response.status() {
                    // A HEAD response has no body: the size is in its header.
                    s if s.is_success() => Ok(response
                        .headers()
                        .get(reqwest::header::CONTENT_LENGTH)
                        .and_then(|v| v.to_str().ok()?.parse().ok())),
                    reqwest::StatusCode::NOT_FOUND | reqwest::StatusCode::GONE => Ok(None),
                    s => bail!("{}: HTTP {s}", redacted(&url)),
                }
            }
        }
    }

    /// Stores `data` under `name`, replacing whatever was there in one step (a reader sees
    /// the old object or the new one).
    pub fn put(&self, name: &str, data: Vec<u8>) -> Result<()> {
        match self {
            Store::Dir(d) => {
                let path = d.join(name);
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent)?;
                }
                fs::write_atomic(&path, data)
            }
            Store::Http(_) => {
                let url = self.url(name)?;
                let response = retried(&url, || {
                    Self::client()?
                        .put(&url)
                        .body(data.clone())
                        .send()
                        .map_err(Into::into)
                })?;
                let s = response.status();
                if !s.is_success() {
                    bail!(
                        "{} refused the upload (HTTP {s}): check that the server accepts PUT there and that you may write to it",
                        redacted(&url)
                    );
                }
                Ok(())
            }
        }
    }

    /// Stores a file, as [`Store::put`].
    pub fn put_file(&self, name: &str, file: &Path) -> Result<()> {
        self.put(name, fs::read(file)?)
    }
}

impl std::fmt::Display for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Store::Dir(d) => write!(f, "{}", d.display()),
            Store::Http(u) => f.write_str(&redacted(u.as_str())),
        }
    }
}

fn redacted(url: &str) -> String {
    crate::model::mirror::redact(url)
}

/// A request tried again, after a pause, when it could not connect or the server failed
/// (5xx, 429); other answers are the caller's to judge.
fn retried(
    url: &str,
    send: impl Fn() -> Result<reqwest::blocking::Response>,
) -> Result<reqwest::blocking::Response> {
    let mut last = None;
    for attempt in 1..=ATTEMPTS {
        if attempt > 1 {
            std::thread::sleep(Duration::from_millis(300 * u64::from(attempt)));
        }
        match send() {
            Ok(r)
                if r.status().is_server_error()
                    || r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS =>
            {
                last = Some(anyhow!("HTTP {}", r.status()));
            }
            Ok(r) => return Ok(r),
            Err(e) => last = Some(e),
        }
    }
    let e = last.expect("at least one attempt");
    Err(anyhow!("{e:#}")).with_context(|| format!("{} failed {ATTEMPTS} times", redacted(url)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_store_round_trips_and_says_what_it_lacks() {
        let d = std::env::temp_dir().join(format!("xtask-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let store = Store::parse(&format!("file://{}", d.display())).unwrap();
        assert_eq!(store.get("a/b").unwrap(), None);
        store.put("a/b", b"x".to_vec()).unwrap();
        assert_eq!(store.get("a/b").unwrap().unwrap(), b"x");
        assert!(store.url("a/b").unwrap().starts_with("file:///"));
        std::fs::remove_dir_all(&d).unwrap();
        for bad in ["ftp://x", "file://relative", "http://", ""] {
            assert!(Store::parse(bad).is_err(), "{bad:?}");
        }
        let http = Store::parse("https://u:secret@cache.example/sysroots").unwrap();
        assert_eq!(
            http.url("k.narinfo").unwrap(),
            "https://u:secret@cache.example/sysroots/k.narinfo"
        );
        assert!(!http.to_string().contains("secret"));
    }
}
