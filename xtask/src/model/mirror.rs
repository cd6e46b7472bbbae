//! Mirrors: a base URL that replaces `https://www.python.org` in every recipe URL.

use anyhow::{Result, anyhow, bail};
use std::path::Path;

/// What recipe URLs start with; a mirror replaces exactly this part.
pub const UPSTREAM: &str = "https://www.python.org";
/// Environment variable naming a mirror laid out like `https://www.python.org`.
pub const MIRROR_ENV: &str = "PYSYSROOT_MIRROR";

/// `file:///dir`, `http(s)://host/prefix`, or a local directory.
#[derive(Clone, PartialEq)]
pub struct Mirror(String);

impl Mirror {
    pub fn parse(spec: &str) -> Result<Mirror> {
        let spec = spec.trim();
        let how = "give file:///path, http(s)://host/path or an existing directory";
        if spec.is_empty() {
            bail!("empty mirror: {how}");
        }
        let base = if spec.starts_with("http://") || spec.starts_with("https://") {
            let url = reqwest::Url::parse(spec).map_err(|e| {
                anyhow!("mirror {:?} is not a valid URL ({e}): {how}", redact(spec))
            })?;
            if url.host_str().is_none_or(str::is_empty) {
                bail!("mirror {:?} names no host: {how}", redact(spec));
            }
            spec.to_string()
        } else if spec.starts_with("file://") {
            let path = reqwest::Url::parse(spec)
                .ok()
                .and_then(|u| u.to_file_path().ok())
                .ok_or_else(|| anyhow!("mirror {spec:?} is not a valid file:// URL (it needs an absolute path: file:///dir)"))?;
            directory_url(&path, spec)?
        } else if spec.contains("://") {
            bail!("mirror {:?} has an unsupported scheme: {how}", redact(spec));
        } else {
            directory_url(Path::new(spec), spec)?
        };
        Ok(Mirror(base.trim_end_matches('/').to_string()))
    }

    /// `https://www.python.org/ftp/...` -> `<mirror>/ftp/...`; other URLs are left alone.
    pub fn rewrite(&self, url: &str) -> String {
        match url.strip_prefix(UPSTREAM) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{}{rest}", self.0),
            _ => url.to_string(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The mirror's directory, when it is a local one.
    pub fn local_dir(&self) -> Option<std::path::PathBuf> {
        reqwest::Url::parse(&self.0)
            .ok()
            .filter(|u| u.scheme() == "file")
            .and_then(|u| u.to_file_path().ok())
    }
}

/// Redacted as Display is: `Settings` are printed with `{:?}` in places.
impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mirror({:?})", redact(&self.0))
    }
}

impl std::fmt::Display for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

/// A mirror directory must exist and hold the python.org layout (`ftp/`), and must not be the
/// file system's root, which is never a mirror and would expose the whole machine.
fn directory_url(path: &Path, spec: &str) -> Result<String> {
    let dir = std::fs::canonicalize(path).map_err(|e| {
        anyhow!(
            "mirror directory {spec:?} cannot be used: {e}; {}",
            "give the directory that holds ftp/python/..."
        )
    })?;
    if !dir.is_dir() {
        bail!("mirror {spec:?} is not a directory: give the directory that holds ftp/python/...");
    }
    if dir.parent().is_none() || !dir.join("ftp").is_dir() {
        bail!(
            "mirror {} is not laid out like python.org (no ftp/ directory in it): give the directory that holds ftp/python/<version>/",
            dir.display()
        );
    }
    reqwest::Url::from_directory_path(&dir)
        .map(|u| u.to_string())
        .map_err(|_| anyhow!("mirror path {} must be absolute", dir.display()))
}

/// A URL with any user name and password, and a signed URL's signature, credential and token,
/// replaced, for messages and logs; one that does not parse (which is when it gets printed in
/// an error) loses whatever stands before an `@`.
pub fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            if !u.username().is_empty() || u.password().is_some() {
                let _ = u.set_username("***");
                let _ = u.set_password(None);
            }
            // A signed URL (S3's presigned ones, and the like) carries its credential in the
            // query: the signature, the access key, a session token.
            let secret = |k: &str| {
                k == "sig"
                    || ["signature", "credential", "token"]
                        .iter()
                        .any(|s| k.to_ascii_lowercase().contains(s))
            };
            if u.query_pairs().any(|(k, _)| secret(&k)) {
                let pairs: Vec<(String, String)> = u
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if secret(&k) {
                            "***".into()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                u.query_pairs_mut().clear().extend_pairs(pairs);
            }
            u.to_string()
        }
        Err(_) => {
            let Some((scheme, rest)) = url.split_once("://") else {
                return url.to_string();
            };
            let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
            match authority.rfind('@') {
                Some(at) => format!("{scheme}://***{}", &rest[at..]),
                None => url.to_string(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_the_upstream_base() {
        let m = Mirror::parse("http://127.0.0.1:8000/python/").unwrap();
        assert_eq!(
            m.rewrite("https://www.python.org/ftp/python/3.13.5/P.tar.xz"),
            "http://127.0.0.1:8000/python/ftp/python/3.13.5/P.tar.xz"
        );
        assert_eq!(
            m.rewrite("https://www.python.org.evil/x"),
            "https://www.python.org.evil/x"
        );
        assert_eq!(m.rewrite("https://example.com/x"), "https://example.com/x");
    }

    #[test]
    fn directories_and_file_urls_are_the_same_mirror() {
        let dir = std::env::temp_dir().join(format!("xtask-mirror-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("ftp")).unwrap();
        let plain = Mirror::parse(dir.to_str().unwrap()).unwrap();
        assert_eq!(
            plain.rewrite("https://www.python.org/ftp/a"),
            format!("file://{}/ftp/a", dir.display())
        );
        assert_eq!(
            Mirror::parse(&format!("file://{}", dir.display())).unwrap(),
            plain
        );
        assert_eq!(plain.local_dir().unwrap(), dir);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_mirrors_are_refused_with_the_way_out() {
        for (spec, why) in [
            ("", "empty mirror"),
            ("http://", "not a valid URL"),
            ("/", "not laid out like python.org"),
            ("ftp://x", "unsupported scheme"),
            ("/nonexistent/mirror", "cannot be used"),
            ("file://relative", "not a valid file:// URL"),
        ] {
            let err = Mirror::parse(spec).unwrap_err().to_string();
            assert!(err.contains(why), "{spec:?}: {err}");
        }
    }

    #[test]
    fn credentials_never_reach_a_message() {
        let m = Mirror::parse("https://user:secret@mirror.example/py").unwrap();
        assert!(!m.to_string().contains("secret"), "{m}");
        assert!(!format!("{m:?}").contains("secret"), "{m:?}");
        assert!(!redact("https://user:secret@h/x").contains("secret"));
        // Issue 21, item 7: a URL that does not parse is printed in its error, redacted too.
        for bad in [
            "https://user:secret@/x",
            "http://user:secret@:80/",
            "http://u:secret@h:99999/",
        ] {
            assert!(!redact(bad).contains("secret"), "{bad}: {}", redact(bad));
            let err = Mirror::parse(bad).unwrap_err().to_string();
            assert!(!err.contains("secret"), "{err}");
        }
        assert_eq!(redact("https://h/x"), "https://h/x");
        assert_eq!(redact("https://h/x?a=1&b=2"), "https://h/x?a=1&b=2");
        let signed = "http://127.0.0.1:9/b/archives/f?X-Amz-Algorithm=AWS4-HMAC-SHA256\
                      &X-Amz-Credential=AKIDEXAMPLE%2F20261203%2Fus-east-1%2Fs3%2Faws4_request\
                      &X-Amz-Expires=3600&X-Amz-Security-Token=tok&X-Amz-Signature=abc123";
        let shown = redact(signed);
        for secret in ["AKIDEXAMPLE", "tok&", "abc123"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("X-Amz-Expires=3600"), "{shown}");
    }
}
