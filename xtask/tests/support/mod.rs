//! What the end-to-end tests share: this run's settings and sysroots, the `xtask` binary as
//! a child process, scratch directories, and loopback servers.
//!
//! `cargo xtask test` runs the tests with `--ignored --test-threads=1` and sets the targets
//! (`PYSYSROOT_TEST_TARGETS`), PGO (`PYSYSROOT_TEST_PGO`), the flavor
//! (`PYSYSROOT_TEST_FLAVOR`), the mirror and the cache. The tests
//! build their own sysroots under `target/pysysroot/e2e-sysroots`: a developer's are never
//! replaced. A sysroot is built once and shared by every test that needs it.

#![allow(dead_code)]

pub mod http;

use anyhow::{Context, Result, bail};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use sysroot_manifest::Flavor;
use xtask::model::mirror::Mirror;
use xtask::model::sysroot::Sysroot;
use xtask::model::tools::Install;
use xtask::model::{Catalog, Layout, Model, Settings};

/// The targets this run checks.
pub fn targets() -> Vec<String> {
    std::env::var("PYSYSROOT_TEST_TARGETS")
        .unwrap_or_else(|_| xtask::model::target::native_name().to_string())
        .split(',')
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect()
}

/// The recipe this run builds (`PYSYSROOT_TEST_PYTHON`) [default: the default recipe].
pub fn python() -> Option<String> {
    std::env::var("PYSYSROOT_TEST_PYTHON")
        .ok()
        .filter(|v| !v.is_empty())
}

pub fn pgo() -> bool {
    std::env::var("PYSYSROOT_TEST_PGO").is_ok_and(|v| v == "1")
}

/// The flavor of the sysroots this run builds [default: static].
pub fn flavor() -> Flavor {
    let name = std::env::var("PYSYSROOT_TEST_FLAVOR").unwrap_or_default();
    if name.is_empty() {
        return Flavor::Static;
    }
    Flavor::ALL
        .into_iter()
        .find(|f| f.as_str() == name)
        .unwrap_or_else(|| panic!("PYSYSROOT_TEST_FLAVOR={name:?} names no flavor"))
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn settings() -> Settings {
    let root = root();
    let cache = std::env::var_os("PYSYSROOT_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Layout::default_cache(|v| std::env::var(v).ok()).unwrap());
    let mirror = std::env::var("PYSYSROOT_MIRROR")
        .ok()
        .map(|m| Mirror::parse(&m).expect("PYSYSROOT_MIRROR is a valid mirror"));
    Settings {
        layout: Layout {
            sysroots: root.join("target/pysysroot/e2e-sysroots"),
            cache,
            work: root.join("target/pysysroot"),
            root,
        },
        mirror,
        offline: false,
        jobs: std::env::var("PYSYSROOT_JOBS")
            .ok()
            .and_then(|j| j.parse().ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        binary_caches: Vec::new(),
        trusted_keys: Vec::new(),
    }
}

/// The mirror directory (the tests serve it and tamper with copies of it).
pub fn mirror_dir() -> PathBuf {
    settings()
        .mirror
        .and_then(|m| m.local_dir())
        .expect("the end-to-end tests need PYSYSROOT_MIRROR=file:///dir (cargo xtask test sets it)")
}

/// The tests share sysroots, target directories and the machine's two cores: one at a time.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// `cargo xtask` with this run's mirror, cache and sysroots.
pub fn xtask() -> Command {
    xtask_in(&settings().layout.sysroots)
}

/// `cargo xtask` with this run's mirror and cache, and `sysroots` as its sysroots directory.
pub fn xtask_in(sysroots: &Path) -> Command {
    let s = settings();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    if let Some(m) = std::env::var_os("PYSYSROOT_MIRROR") {
        cmd.arg("--mirror").arg(m);
    }
    cmd.arg("--cache-dir")
        .arg(&s.layout.cache)
        .arg("--sysroots-dir")
        .arg(sysroots)
        .arg(format!("-j{}", s.jobs));
    cmd
}

/// Runs `xtask args...` to completion, its output shown; fails on a non-zero exit.
pub fn xtask_ok(args: &[&str]) -> Result<()> {
    let status = xtask().args(args).status()?;
    if !status.success() {
        bail!("cargo xtask {} failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Runs `xtask args...` capturing its output, whatever the exit status.
pub fn xtask_output(args: &[&str]) -> Output {
    xtask()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the xtask binary runs")
}

/// The `build-python` arguments of this run for a target.
pub fn build_args(target: &str) -> Vec<String> {
    let mut args = vec!["build-python".to_string(), "--target".into(), target.into()];
    if !pgo() {
        args.push("--no-pgo".into());
    }
    if let Some(v) = python() {
        args.extend(["--python".to_string(), v]);
    }
    args.extend(["--flavor".to_string(), flavor().to_string()]);
    args
}

/// The sysroot of `target` for this run's recipe and flavor, built once (a no-op when up to
/// date), with its model.
pub fn with_sysroot<R>(
    catalog: &Catalog,
    target: &str,
    f: impl FnOnce(&Model, &Sysroot) -> Result<R>,
) -> Result<R> {
    let args = build_args(target);
    xtask_ok(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
    let s = settings();
    let model = catalog.resolve(&s, target, python().as_deref(), flavor(), Install::Yes)?;
    let sysroot = Sysroot::open(&model)?;
    f(&model, &sysroot)
}

/// `f` for every target of this run, each with its sysroot: a failing target does not hide
/// the others; the test fails at the end naming each one that failed and why.
pub fn each_target(
    catalog: &Catalog,
    f: impl Fn(&str, &Model, &Sysroot) -> Result<()>,
) -> Result<()> {
    let mut failed = Vec::new();
    for target in targets() {
        if let Err(e) = with_sysroot(catalog, &target, |model, sysroot| {
            f(&target, model, sysroot)
        }) {
            eprintln!("  {target}: FAILED: {e:#}");
            failed.push(format!("{target}: {e:#}"));
        }
    }
    anyhow::ensure!(failed.is_empty(), "{}", failed.join("\n"));
    Ok(())
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = root().join("target/pysysroot/e2e").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Kills the child when dropped, so a failing test never leaves a server behind.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something listens on `port`.
pub fn wait_for_port(port: u16) -> Result<()> {
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("nothing listens on 127.0.0.1:{port}")
}

/// Serves `dir` on 127.0.0.1 with python3's http.server; returns it and its base URL.
pub fn serve(dir: &Path) -> Result<(Server, String)> {
    let port = free_port();
    let child = Command::new("python3")
        .args(["-m", "http.server", "--bind", "127.0.0.1", "--directory"])
        .arg(dir)
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting python3 -m http.server")?;
    let server = Server(child);
    wait_for_port(port)?;
    Ok((server, format!("http://127.0.0.1:{port}")))
}

/// nginx from Debian on a free port, serving `root` with GET and accepting PUT (its dav
/// module), except under `/readonly/`, which refuses PUT with 403. Stopped when dropped.
pub struct Nginx {
    pub url: String,
    pub root: PathBuf,
    _server: Server,
}

pub fn nginx(dir: &Path) -> Result<Nginx> {
    let port = free_port();
    let root = dir.join("root");
    for d in ["root/readonly", "tmp", "logs"] {
        std::fs::create_dir_all(dir.join(d))?;
    }
    // Run as root the worker would be `nobody` and could not write into `root`.
    let user = if unsafe { libc::geteuid() } == 0 {
        "user root;"
    } else {
        ""
    };
    let conf = format!(
        "{user}\ndaemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/tmp;\n  proxy_temp_path {d}/tmp;\n\
           fastcgi_temp_path {d}/tmp;\n  uwsgi_temp_path {d}/tmp;\n  scgi_temp_path {d}/tmp;\n\
           server {{\n    listen 127.0.0.1:{port};\n    root {r};\n    client_max_body_size 0;\n\
             location / {{ dav_methods PUT; create_full_put_path on; }}\n\
             location /readonly/ {{ limit_except GET HEAD {{ deny all; }} }}\n  }}\n}}\n",
        d = dir.display(),
        r = root.display()
    );
    std::fs::write(dir.join("nginx.conf"), conf)?;
    let child = Command::new("nginx")
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(dir.join("logs/error.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting nginx (apt-get install nginx; cargo xtask test installs it)")?;
    let server = Server(child);
    wait_for_port(port)?;
    Ok(Nginx {
        url: format!("http://127.0.0.1:{port}/"),
        root,
        _server: server,
    })
}

/// An S3-compatible server on a free port: moto's S3 service (pinned in
/// `recipes/tools/moto.toml`), with one bucket, `bucket`. Stopped when dropped.
pub struct S3Server {
    pub endpoint: String,
    _server: Server,
}

impl S3Server {
    /// The standard AWS settings that point a client at this server. moto takes any key
    /// pair; it refuses unsigned reads, but does not check signatures.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "pysysroot-test".into()),
            ("AWS_SECRET_ACCESS_KEY", "pysysroot-test-secret".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }
}

pub fn s3_server(dir: &Path, bucket: &str) -> Result<S3Server> {
    std::fs::create_dir_all(dir)?;
    let venv = xtask::model::tools::tool_env(&settings().layout, "moto", false)?;
    let port = free_port();
    let child = Command::new(venv.join("bin/python"))
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("moto.log"))?)
        .spawn()
        .context("starting moto's S3 server")?;
    let server = Server(child);
    wait_for_port(port)?;
    let endpoint = format!("http://127.0.0.1:{port}");
    reqwest::blocking::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()?
        .error_for_status()
        .context("creating the test bucket")?;
    Ok(S3Server {
        endpoint,
        _server: server,
    })
}

/// A tmpfs mounted for one test (which needs root), unmounted when dropped.
pub struct Tmpfs(pub PathBuf);

impl Tmpfs {
    pub fn mount(dir: &Path, options: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "mounting a tmpfs on {} needs root", dir.display());
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A cache that answers the first `failures` requests with 500 and then serves the files
/// of `dir`: a server that fails and recovers.
pub fn flaky_server(dir: &Path, failures: usize) -> http::Server {
    let dir = dir.to_path_buf();
    http::Server::start(move |req| {
        if req.n < failures {
            return http::Reply::status(500);
        }
        match std::fs::read(dir.join(req.path.trim_start_matches('/'))) {
            Ok(body) => http::Reply::file(req, &body, true, None, None),
            Err(_) => http::Reply::status(404),
        }
    })
}
