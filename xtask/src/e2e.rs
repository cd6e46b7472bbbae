//! `cargo xtask test`: the whole test suite, unit tests first, then end to end with real
//! CPython: pinned downloads over a loopback HTTP server, refusal of a tampered tarball, and
//! for each target a real sysroot build, its acceptance checks, and the isolate's.

use crate::fetch::{self, Fetcher, Mirror};
use crate::progress::note;
use crate::{Ctx, isolate, recipe, sysroot, verify};
use anyhow::{Context, Result, bail, ensure};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use sysroot_manifest::{Flavor, Manifest};

pub struct Options {
    pub targets: Vec<String>,
    pub pgo: bool,
}

pub fn run(ctx: &Ctx, opts: &Options) -> Result<()> {
    // The tests build their own sysroots: a developer's release sysroots are never replaced.
    let ctx = &Ctx {
        sysroots: ctx.work_dir().join("e2e-sysroots"),
        ..ctx.clone()
    };
    let started = Instant::now();
    let mut passed = Vec::new();
    let mut step = |name: &str, f: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        note(format!("TEST {name}"));
        let t = Instant::now();
        f().with_context(|| format!("test step failed: {name}"))?;
        passed.push(format!("{name} ({:.0?})", t.elapsed()));
        Ok(())
    };
    step("unit tests", &mut || cargo_test(ctx))?;
    step("pinned sources over a loopback HTTP server", &mut || {
        http_fetch(ctx)
    })?;
    step(
        "a tampered tarball is refused and nothing is kept",
        &mut || tampered(ctx),
    )?;
    step("a full disk fails the download cleanly", &mut || {
        full_disk(ctx)
    })?;
    for (i, t) in opts.targets.iter().enumerate() {
        let mut dir = PathBuf::new();
        if i == 0 {
            // The first target's real build happens here, in a second process that waits on
            // the lock of a first one, which is then killed.
            step(
                &format!("{t}: a killed build-python and a concurrent one"),
                &mut || killed_and_concurrent(ctx, t, opts.pgo),
            )?;
        }
        step(&format!("{t}: build-python"), &mut || {
            let o = sysroot::Options {
                target: t.clone(),
                python: None,
                flavor: Flavor::Static,
                pgo: opts.pgo,
                lto: true,
                force: false,
                dry_run: false,
            };
            dir = sysroot::build_python(ctx, &o)?;
            Ok(())
        })?;
        step(&format!("{t}: sysroot acceptance"), &mut || {
            sysroot_acceptance(ctx, &dir, opts.pgo)
        })?;
        step(&format!("{t}: isolate"), &mut || {
            let built = isolate::build(ctx, &dir)?;
            let line = isolate::check(ctx, &built, true)?;
            println!("{line}");
            Ok(())
        })?;
        step(&format!("{t}: engine library tests"), &mut || {
            engine_tests(ctx, &dir)
        })?;
    }
    println!("\nall tests passed in {:.0?}:", started.elapsed());
    for p in passed {
        println!("  ok  {p}");
    }
    Ok(())
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn cargo_test(ctx: &Ctx) -> Result<()> {
    let status = cargo()
        .args([
            "test",
            "--package",
            "xtask",
            "--package",
            "sysroot-manifest",
        ])
        .current_dir(&ctx.root)
        .status()?;
    ensure!(status.success(), "cargo test failed");
    Ok(())
}

/// Kills the child when dropped, so a failing test never leaves a server behind.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Serves `dir` on 127.0.0.1 with python3's http.server; returns it and its base URL.
fn serve(dir: &Path) -> Result<(Server, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = Command::new("python3")
        .args(["-m", "http.server", "--bind", "127.0.0.1", "--directory"])
        .arg(dir)
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting python3 -m http.server")?;
    let server = Server(child);
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok((server, format!("http://127.0.0.1:{port}")));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the loopback HTTP server did not start")
}

/// The mirror directory behind `ctx.mirror` (tests need a directory to serve or alter).
fn mirror_dir(ctx: &Ctx) -> Result<PathBuf> {
    let m = ctx.mirror.as_ref().context("the end-to-end tests need a mirror directory: set --mirror or PYSYSROOT_MIRROR to a file:// URL")?;
    reqwest::Url::parse(m.as_str())
        .ok()
        .filter(|u| u.scheme() == "file")
        .and_then(|u| u.to_file_path().ok())
        .context("the end-to-end tests need a file:// mirror to serve over HTTP")
}

/// Every pinned source the mirror has, downloaded over real HTTP into a fresh cache and verified.
fn http_fetch(ctx: &Ctx) -> Result<()> {
    let dir = mirror_dir(ctx)?;
    let (_server, url) = serve(&dir)?;
    let cache = scratch(ctx, "http-cache")?;
    let fetcher = Fetcher::new(cache.clone(), Some(Mirror::parse(&url)?), false)?;
    let mut verified = 0;
    for (r, _) in recipe::load_all(&ctx.root.join("recipes"))? {
        for s in &r.sources {
            let local = dir.join(
                s.url
                    .strip_prefix(&format!("{}/", fetch::UPSTREAM))
                    .unwrap_or(&s.url),
            );
            if !local.is_file() {
                println!("  not on the mirror, so not verified here: {}", s.url);
                continue;
            }
            let path = fetcher.fetch(s)?;
            ensure!(
                fetch::sha256_file(&path)? == s.sha256,
                "{} has the wrong digest after download",
                path.display()
            );
            println!("  verified over HTTP: {} {}", s.sha256, s.file_name());
            verified += 1;
        }
    }
    ensure!(verified > 0, "no pinned source was found on the mirror");
    Ok(())
}

/// A mirror serving a corrupted tarball: build-python fails, names both digests, and leaves
/// no download and no sysroot behind.
fn tampered(ctx: &Ctx) -> Result<()> {
    let (r, _) = recipe::select(&ctx.root.join("recipes"), None)?;
    let src = &r.sources[0];
    let good = mirror_dir(ctx)?.join(
        src.url
            .strip_prefix(&format!("{}/", fetch::UPSTREAM))
            .unwrap_or(&src.url),
    );
    let root = scratch(ctx, "tampered")?;
    let bad = root
        .join("mirror")
        .join(good.strip_prefix(mirror_dir(ctx)?)?);
    std::fs::create_dir_all(bad.parent().unwrap())?;
    let mut bytes = std::fs::read(&good)?;
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&bad, &bytes)?;
    let out = Command::new(std::env::current_exe()?)
        .arg("--mirror")
        .arg(root.join("mirror"))
        .arg("--cache-dir")
        .arg(root.join("cache"))
        .arg("--sysroots-dir")
        .arg(root.join("sysroots"))
        .args(["build-python", "--no-pgo"])
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!(
        "  build-python said: {}",
        stderr
            .lines()
            .find(|l| l.contains("error"))
            .unwrap_or_default()
    );
    ensure!(
        !out.status.success(),
        "build-python accepted a tampered tarball"
    );
    ensure!(
        stderr.contains("checksum mismatch"),
        "no checksum message: {stderr}"
    );
    ensure!(
        stderr.contains(&src.sha256) && stderr.contains(&fetch::sha256_bytes(&bytes)),
        "the message does not name both digests: {stderr}"
    );
    let kept: Vec<_> = walkdir::WalkDir::new(root.join("cache"))
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file() && e.file_name() != ".lock")
        .collect();
    ensure!(kept.is_empty(), "files were kept in the cache: {kept:?}");
    ensure!(
        !root
            .join("sysroots")
            .join(crate::target::native_name())
            .join(&r.version)
            .exists(),
        "a sysroot was created"
    );
    Ok(())
}

/// `cargo xtask` as a child process, with this run's mirror, cache and sysroots.
fn xtask(ctx: &Ctx) -> Result<Command> {
    let mut cmd = Command::new(std::env::current_exe()?);
    if let Some(m) = &ctx.mirror {
        cmd.arg("--mirror").arg(m.as_str());
    }
    cmd.arg("--cache-dir")
        .arg(&ctx.cache_dir)
        .arg("--sysroots-dir")
        .arg(&ctx.sysroots)
        .arg(format!("-j{}", ctx.jobs));
    Ok(cmd)
}

/// Two `build-python` runs at once, the first killed with SIGKILL mid-build: the second waits
/// on the lock, then builds; the sysroot is never half-written, and a third run with
/// unchanged inputs is a no-op.
fn killed_and_concurrent(ctx: &Ctx, target: &str, pgo: bool) -> Result<()> {
    let (r, _) = recipe::select(&ctx.root.join("recipes"), None)?;
    let final_dir = crate::install::sysroot_dir(&ctx.sysroots, target, &r.version, Flavor::Static);
    let before = Manifest::load(&final_dir).ok().map(|(m, _)| m.build.key);
    let logs = scratch(ctx, "concurrent")?;
    let mut args = vec!["build-python".to_string(), "--target".into(), target.into()];
    if !pgo {
        args.push("--no-pgo".into());
    }
    // --force: even over an existing sysroot, the first run really builds and is killed mid-way.
    // In a process group of its own, so that the kill takes its compilers too, as a CI timeout does.
    use std::os::unix::process::CommandExt;
    let mut first = Server(
        xtask(ctx)?
            .args(&args)
            .arg("--force")
            .process_group(0)
            .stdout(std::fs::File::create(logs.join("first.log"))?)
            .stderr(Stdio::null())
            .spawn()?,
    );
    std::thread::sleep(Duration::from_secs(3));
    let second_log = logs.join("second.log");
    let mut second = xtask(ctx)?
        .args(&args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&second_log)?)
        .spawn()?;
    // Kill the first once it is compiling (its work directory has logs), or after 90 s.
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(90)
        && !std::fs::read_to_string(logs.join("first.log"))
            .unwrap_or_default()
            .contains("configure")
    {
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(5));
    // SAFETY: kill(2) on the group the child leads.
    ensure!(
        unsafe { libc::kill(-(first.0.id() as i32), libc::SIGKILL) } == 0,
        "could not kill the first build-python's process group"
    );
    first.0.wait()?;
    let after_kill = Manifest::load(&final_dir).ok().map(|(m, _)| m.build.key);
    ensure!(
        after_kill == before,
        "killing build-python changed the published sysroot ({before:?} -> {after_kill:?})"
    );
    println!(
        "  killed the first build-python mid-build: {} is {}",
        final_dir.display(),
        if before.is_some() {
            "still the previous complete sysroot"
        } else {
            "absent, as before"
        }
    );
    let status = second.wait()?;
    let said = std::fs::read_to_string(&second_log)?;
    ensure!(
        said.contains("waiting for it"),
        "the second build-python did not wait for the first's lock:\n{said}"
    );
    ensure!(
        status.success(),
        "the second build-python failed after the first was killed:\n{said}"
    );
    println!("  the concurrent build-python waited for the lock, then built from scratch");
    let t = Instant::now();
    let out = xtask(ctx)?.args(&args).output()?;
    let said = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.success() && said.contains("is up to date"),
        "a run with unchanged inputs rebuilt:\n{said}"
    );
    println!(
        "  a third run with unchanged inputs: up to date in {:.1?}",
        t.elapsed()
    );
    Ok(())
}

/// A cache on a filesystem too small for the download: a clear error, nothing half-written
/// kept under the final name, and the same cache works once there is room.
fn full_disk(ctx: &Ctx) -> Result<()> {
    let (r, _) = recipe::select(&ctx.root.join("recipes"), None)?;
    let src = &r.sources[0];
    let dir = scratch(ctx, "full-disk")?;
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(&dir)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        println!(
            "  SKIPPED: mounting a small tmpfs needs root (mount -t tmpfs); run the suite as root to cover this"
        );
        return Ok(());
    }
    let result = (|| -> Result<()> {
        let fetcher = Fetcher::new(dir.clone(), ctx.mirror.clone(), false)?;
        let err = fetcher
            .fetch(src)
            .err()
            .context("a download into a 4 MiB filesystem succeeded")?;
        let msg = format!("{err:#}");
        println!(
            "  fetch into a 4 MiB cache: {}",
            msg.lines().next().unwrap_or_default()
        );
        ensure!(
            msg.contains("No space left") || msg.contains("ENOSPC") || msg.contains("os error 28"),
            "the error does not say the disk is full: {msg}"
        );
        let final_file = dir
            .join("downloads")
            .join(&src.sha256)
            .join(src.file_name());
        ensure!(
            !final_file.exists(),
            "a partial download was kept under its final name"
        );
        Ok(())
    })();
    let _ = Command::new("umount").arg(&dir).status();
    result?;
    // Same cache directory, now on the real disk: the next plain run succeeds.
    let fetcher = Fetcher::new(dir.clone(), ctx.mirror.clone(), false)?;
    ensure!(
        fetch::sha256_file(&fetcher.fetch(src)?)? == src.sha256,
        "the retry did not produce the verified file"
    );
    println!(
        "  the next run with room succeeded and verified {}",
        src.file_name()
    );
    Ok(())
}

/// The foundation's acceptance, checked independently of the build's own verification.
fn sysroot_acceptance(ctx: &Ctx, dir: &Path, pgo: bool) -> Result<()> {
    let (m, root) = crate::sysroot::load(ctx, dir)?;
    let (target, _) = crate::target::select(&ctx.root.join("sysroots"), &m.target.name)?;
    ensure!(
        m.build.lto == target.lto,
        "manifest says LTO {}",
        m.build.lto
    );
    ensure!(
        m.build.pgo == (pgo && target.pgo),
        "manifest says PGO {}",
        m.build.pgo
    );
    // How it was built is a record for its users; the checkout and the tools' cache it was
    // built with are not (they are `{root}` and `{tools}` there).
    let text = std::fs::read_to_string(root.join(sysroot_manifest::FILE_NAME))?;
    for local in [&ctx.root, &ctx.cache_dir] {
        let local = local.display().to_string();
        ensure!(
            !text.contains(&local),
            "{}/manifest.json names this machine's {local}",
            root.display()
        );
    }
    if m.build.pgo {
        let log = std::fs::read_to_string(root.join("logs/5-build-optimized.log"))?;
        ensure!(
            log.contains("-fprofile-use"),
            "the optimised build log has no -fprofile-use"
        );
        println!(
            "  PGO applied: -fprofile-use in logs/5-build-optimized.log; profile {:?}",
            m.build.profile
        );
    }
    // HACL*: `nm` must show the SHA-2 functions defined (T) in the installed archives.
    let nm = crate::tools::Tools::provision(ctx, &target)?.expand(&target.toolchain.nm)?;
    let mut defined = std::collections::BTreeSet::new();
    for archive in &m.hacl.archives {
        defined.extend(verify::defined_symbols(&nm, &root.join(archive))?);
    }
    let sha2: Vec<&String> = m
        .hacl
        .symbols
        .iter()
        .filter(|s| s.contains("SHA2"))
        .collect();
    for s in &sha2 {
        ensure!(
            defined.contains(*s),
            "{s} is not defined (T) in {:?}",
            m.hacl.archives
        );
    }
    // The interpreter: imports, hashes through HACL*, nothing from a shared object.
    let mut interpreter = m.target.runner.clone();
    interpreter.push(root.join(&m.paths.python).display().to_string());
    interpreter.push("-I".into());
    let report = verify::run_check(
        &interpreter,
        &scratch(ctx, "acceptance")?,
        &m.modules.builtin,
    )?;
    verify::require_clean(&report, "the sysroot's python3", &m.python.version)?;
    println!(
        "  python3: {} builtin modules, {} HACL* SHA-2 symbols defined in {:?}, no module from a shared object",
        m.modules.builtin.len(),
        sha2.len(),
        m.hacl.archives
    );
    Ok(())
}

/// The engine's own tests (the embedding API), linked against the sysroot like the isolate.
fn engine_tests(ctx: &Ctx, dir: &Path) -> Result<()> {
    let (m, root) = crate::sysroot::load(ctx, dir)?;
    if !m.target.runner.is_empty() {
        println!(
            "  skipped: the library tests run natively only (the CLI was checked under {})",
            m.target.runner[0]
        );
        return Ok(());
    }
    let status = isolate::cargo_for(ctx, dir, &["test"])?
        .env("ISOLATE_TEST_HOME", &root)
        .status()?;
    ensure!(status.success(), "engine tests failed");
    Ok(())
}

fn scratch(ctx: &Ctx, name: &str) -> Result<PathBuf> {
    let d = ctx.work_dir().join("e2e").join(name);
    if d.exists() {
        std::fs::remove_dir_all(&d)?;
    }
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
