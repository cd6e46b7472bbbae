//! A place that holds named objects: a local directory, an HTTP(S) server that answers GET
//! and accepts PUT (a WebDAV server, nginx's dav module, most HTTP cache servers), or an
//! S3-compatible bucket through its API. What the binary cache of sysroots is kept in.

use crate::util::fs;
use anyhow::{Context, Result, anyhow, bail};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Store {
    Dir(PathBuf),
    Http(reqwest::Url),
    S3(S3),
}

/// A bucket and a prefix in it, reached through the S3 API with the standard AWS settings
/// from the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
/// `AWS_REGION`, `AWS_ENDPOINT_URL` for a server other than AWS's).
#[derive(Debug, Clone)]
pub struct S3 {
    /// `s3://bucket/prefix/`, for messages.
    spec: String,
    prefix: String,
    client: std::sync::Arc<object_store::aws::AmazonS3>,
}

/// Attempts for a request that failed in a way worth retrying (no connection, 5xx).
const ATTEMPTS: u32 = 3;
/// The most bytes [`Store::get`] reads: its objects are signed statements of a few hundred
/// bytes, and a store that answers with more is not read into memory.
pub const SMALL_OBJECT_LIMIT: u64 = 1 << 20;

fn too_big(shown: &str) -> anyhow::Error {
    anyhow!(
        "{shown} has more than the {SMALL_OBJECT_LIMIT} bytes a signed statement may have: \
         the store holds something else under that name; remove it, or use another store"
    )
}

impl Store {
    /// `file:///dir`, a directory, `http(s)://host/prefix` or `s3://bucket/prefix`.
    pub fn parse(spec: &str) -> Result<Store> {
        let spec = spec.trim();
        let how = "give file:///dir, a directory, http(s)://host/path or s3://bucket/path";
        if let Some(rest) = spec.strip_prefix("s3://") {
            return S3::new(rest, std::env::vars()).map(Store::S3);
        }
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
            // Signed for an hour: the fetcher (resume, stall detection, digest) then downloads
            // from a bucket as from any server.
            Store::S3(s3) => s3.signed_url(name)?,
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
        use std::io::Read;
        match self {
            Store::Dir(d) => {
                let path = d.join(name);
                let mut file = match std::fs::File::open(&path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(fs::io_error(e, "reading", &path)),
                };
                let mut bytes = Vec::new();
                file.by_ref()
                    .take(SMALL_OBJECT_LIMIT + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| fs::io_error(e, "reading", &path))?;
                if bytes.len() as u64 > SMALL_OBJECT_LIMIT {
                    return Err(too_big(&path.display().to_string()));
                }
                Ok(Some(bytes))
            }
            Store::Http(_) => {
                let url = self.url(name)?;
                let response = retried(&url, || {
                    Self::client()?.get(&url).send().map_err(Into::into)
                })?;
                match response.status() {
                    s if s.is_success() => {
                        let mut bytes = Vec::new();
                        response
                            .take(SMALL_OBJECT_LIMIT + 1)
                            .read_to_end(&mut bytes)
                            .with_context(|| format!("reading {}", redacted(&url)))?;
                        if bytes.len() as u64 > SMALL_OBJECT_LIMIT {
                            return Err(too_big(&redacted(&url)));
                        }
                        Ok(Some(bytes))
                    }
                    reqwest::StatusCode::NOT_FOUND | reqwest::StatusCode::GONE => Ok(None),
                    s => bail!("{}: HTTP {s}", redacted(&url)),
                }
            }
            Store::S3(s3) => s3.get(name),
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
            Store::S3(s3) => s3.head(name),
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
            // One PUT: S3 makes the object visible whole or not at all.
            Store::S3(s3) => s3.put(name, data),
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
            Store::S3(s3) => f.write_str(&s3.spec),
        }
    }
}

impl S3 {
    /// `bucket/prefix` (after `s3://`), configured by the `AWS_*` variables in `env`.
    fn new(rest: &str, env: impl IntoIterator<Item = (String, String)>) -> Result<S3> {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/');
        let spec = format!("s3://{bucket}/{prefix}");
        if bucket.is_empty() {
            bail!("binary cache {spec:?} names no bucket: give s3://bucket/path");
        }
        let mut builder = object_store::aws::AmazonS3Builder::new();
        let mut endpoint = None;
        for (key, value) in env.into_iter().filter(|(k, _)| k.starts_with("AWS_")) {
            let Ok(config) = key.to_ascii_lowercase().parse() else {
                continue;
            };
            if config == object_store::aws::AmazonS3ConfigKey::Endpoint {
                endpoint = Some(value.clone());
            }
            builder = builder.with_config(config, value);
        }
        let mut builder = builder
            .with_bucket_name(bucket)
            .with_retry(object_store::RetryConfig {
                max_retries: ATTEMPTS as usize - 1,
                retry_timeout: Duration::from_secs(60),
                ..Default::default()
            })
            .with_client_options(
                object_store::ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(10))
                    .with_timeout(Duration::from_secs(600)),
            );
        // An endpoint named with http:// (a server on the local network) is meant as written.
        if endpoint.is_some_and(|e| e.starts_with("http://")) {
            builder = builder.with_allow_http(true);
        }
        let client = builder.build().map_err(|e| {
            anyhow!(
                "binary cache {spec:?}: {e} (set AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and AWS_ENDPOINT_URL for a server other than AWS)"
            )
        })?;
        Ok(S3 {
            spec,
            prefix: prefix.to_string(),
            client: std::sync::Arc::new(client),
        })
    }

    fn path(&self, name: &str) -> object_store::path::Path {
        object_store::path::Path::from(if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.prefix)
        })
    }

    /// Runs one request of the async client to its end.
    fn block_on<T>(
        &self,
        name: &str,
        request: impl std::future::Future<Output = object_store::Result<T>>,
    ) -> Result<Option<T>> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the S3 client")?;
        match runtime.block_on(request) {
            Ok(v) => Ok(Some(v)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(anyhow!(
                "{}/{name}: {e} (check the bucket, AWS_ENDPOINT_URL and the credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
                self.spec.trim_end_matches('/')
            )),
        }
    }

    fn get(&self, name: &str) -> Result<Option<Vec<u8>>> {
        use object_store::ObjectStore;
        let path = self.path(name);
        let got = self.block_on(name, async {
            let r = self.client.get(&path).await?;
            if r.meta.size > SMALL_OBJECT_LIMIT {
                return Ok(Err(()));
            }
            r.bytes().await.map(|b| Ok(Vec::from(b)))
        })?;
        match got {
            Some(Err(_)) => Err(too_big(&format!(
                "{}/{name}",
                self.spec.trim_end_matches('/')
            ))),
            Some(Ok(bytes)) => Ok(Some(bytes)),
            None => Ok(None),
        }
    }

    fn head(&self, name: &str) -> Result<Option<u64>> {
        use object_store::ObjectStore;
        let path = self.path(name);
        Ok(self
            .block_on(name, async { self.client.head(&path).await })?
            .map(|meta| meta.size))
    }

    fn put(&self, name: &str, data: Vec<u8>) -> Result<()> {
        use object_store::ObjectStore;
        let path = self.path(name);
        self.block_on(name, async { self.client.put(&path, data.into()).await })?
            .with_context(|| format!("{}/{name}: the bucket does not exist", self.spec))?;
        Ok(())
    }

    fn signed_url(&self, name: &str) -> Result<String> {
        use object_store::signer::Signer;
        let path = self.path(name);
        let url = self.block_on(name, async {
            self.client
                .signed_url(reqwest::Method::GET, &path, Duration::from_secs(3600))
                .await
        })?;
        Ok(url
            .with_context(|| format!("{}/{name}: cannot sign a URL for it", self.spec))?
            .to_string())
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

    /// A statement is read whole only when it is small: a store answering with an endless or
    /// huge body under a statement's name is refused, not read into memory.
    #[test]
    fn a_store_never_reads_more_than_a_statement_can_be() {
        use crate::util::testing::http::{Reply, Request, Server};
        let server = Server::start(|req: &Request| match req.path.as_str() {
            "/c/small.narinfo" => Reply::bytes(b"{}"),
            _ => Reply::bytes(&[b' '; 1 << 16]).endless(),
        });
        let http = Store::parse(&format!("{}/c", server.url())).unwrap();
        assert_eq!(http.get("small.narinfo").unwrap().unwrap(), b"{}");
        let err = format!("{:#}", http.get("endless.narinfo").unwrap_err());
        assert!(
            err.contains("endless.narinfo has more than the 1048576 bytes"),
            "{err}"
        );

        let d = std::env::temp_dir().join(format!("xtask-store-big-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let dir = Store::parse(d.to_str().unwrap()).unwrap();
        dir.put("big.narinfo", vec![b' '; SMALL_OBJECT_LIMIT as usize + 1])
            .unwrap();
        let err = format!("{:#}", dir.get("big.narinfo").unwrap_err());
        assert!(err.contains("big.narinfo has more than the"), "{err}");
        dir.put("big.narinfo", vec![b' '; SMALL_OBJECT_LIMIT as usize])
            .unwrap();
        assert_eq!(dir.get("big.narinfo").unwrap().unwrap().len(), 1 << 20);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn an_s3_store_names_its_bucket_and_signs_its_urls() {
        // Settings as given in the environment; nothing is contacted to sign a URL.
        let vars = [
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI"),
            ("AWS_REGION", "eu-west-3"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9/"),
        ];
        let vars = vars.map(|(k, v)| (k.to_string(), v.to_string()));
        let s3 = Store::S3(S3::new("releases/pysysroot/cache/", vars).unwrap());
        assert_eq!(s3.to_string(), "s3://releases/pysysroot/cache");
        let url = s3.url("archives/abc.tar.zst").unwrap();
        assert!(
            url.starts_with("http://127.0.0.1:9/releases/pysysroot/cache/archives/abc.tar.zst?"),
            "{url}"
        );
        assert!(url.contains("X-Amz-Signature="), "{url}");
        assert!(!crate::model::mirror::redact(&url).contains("AKIDEXAMPLE"));
        let source = crate::model::recipe::Source {
            url,
            sha256: String::new(),
            size: None,
        };
        assert_eq!(source.file_name(), "abc.tar.zst");
        let err = Store::parse("s3:///cache").unwrap_err().to_string();
        assert!(err.contains("names no bucket"), "{err}");
    }
}
