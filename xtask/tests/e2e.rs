//! End to end, with real CPython builds and real servers on 127.0.0.1. They take minutes to
//! an hour, so they are ignored by a plain `cargo test`; `cargo xtask test` runs them (see
//! `support` for what it sets).

mod support;

use anyhow::{Context, Result, ensure};
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::*;
use sysroot_manifest::Manifest;
use xtask::checks;
use xtask::model::Catalog;
use xtask::model::mirror::{Mirror, UPSTREAM};
use xtask::pipeline::fetch::Fetcher;
use xtask::util::hash::{sha256_bytes, sha256_file};

/// Every pinned source the mirror has, downloaded over real HTTP into a fresh cache and verified.
#[test]
#[ignore = "needs the mirror: run with cargo xtask test"]
fn fetch_pinned_sources_over_loopback_http() -> Result<()> {
    let _g = serial();
    let s = settings();
    let dir = mirror_dir();
    let (_server, url) = serve(&dir)?;
    let fetcher = Fetcher::with(scratch("http-cache"), Some(Mirror::parse(&url)?), false)?;
    let mut verified = 0;
    for r in Catalog::load(&s.layout)?.recipes {
        for src in &r.sources {
            let local = dir.join(
                src.url
                    .strip_prefix(&format!("{UPSTREAM}/"))
                    .unwrap_or(&src.url),
            );
            if !local.is_file() {
                println!("  not on the mirror, so not verified here: {}", src.url);
                continue;
            }
            let path = fetcher.fetch(src)?;
            ensure!(
                sha256_file(&path)? == src.sha256,
                "{} has the wrong digest after download",
                path.display()
            );
            println!("  verified over HTTP: {} {}", src.sha256, src.file_name());
            verified += 1;
        }
    }
    ensure!(verified > 0, "no pinned source was found on the mirror");
    Ok(())
}

/// A mirror serving a corrupted tarball: build-python fails, names both digests, and leaves
/// no download and no sysroot behind.
#[test]
#[ignore = "needs the mirror: run with cargo xtask test"]
fn a_tampered_tarball_is_refused_and_nothing_kept() -> Result<()> {
    let _g = serial();
    let s = settings();
    let recipe = Catalog::load(&s.layout)?.recipe(None)?.clone();
    let src = &recipe.sources[0];
    let rel = src
        .url
        .strip_prefix(&format!("{UPSTREAM}/"))
        .unwrap_or(&src.url);
    let root = scratch("tampered");
    let bad = root.join("mirror").join(rel);
    std::fs::create_dir_all(bad.parent().unwrap())?;
    let mut bytes = std::fs::read(mirror_dir().join(rel))?;
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&bad, &bytes)?;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--mirror")
        .arg(root.join("mirror"))
        .arg("--cache-dir")
        .arg(root.join("cache"))
        .arg("--sysroots-dir")
        .arg(root.join("sysroots"))
        .args(["build-python", "--no-pgo"])
        .stdin(Stdio::null())
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
        stderr.contains(&src.sha256) && stderr.contains(&sha256_bytes(&bytes)),
        "the message does not name both digests: {stderr}"
    );
    let kept: Vec<_> = walkdir::WalkDir::new(root.join("cache"))
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file() && e.file_name() != ".lock")
        .collect();
    ensure!(kept.is_empty(), "files were kept in the cache: {kept:?}");
    let published = walkdir::WalkDir::new(root.join("sysroots"))
        .into_iter()
        .flatten()
        .any(|e| e.file_name() == "manifest.json");
    ensure!(!published, "a sysroot was published");
    Ok(())
}

/// A cache on a filesystem too small for the download: a clear error, nothing half-written
/// kept under the final name, and the same cache works once there is room.
#[test]
#[ignore = "needs the mirror and root (mount): run with cargo xtask test"]
fn a_full_disk_fails_the_download_cleanly() -> Result<()> {
    let _g = serial();
    let s = settings();
    let recipe = Catalog::load(&s.layout)?.recipe(None)?.clone();
    let src = &recipe.sources[0];
    let dir = scratch("full-disk");
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(&dir)
        .status()
        .is_ok_and(|s| s.success());
    ensure!(
        mounted,
        "mounting a 4 MiB tmpfs needs root: run the suite as root (CI does)"
    );
    let result = (|| -> Result<()> {
        let fetcher = Fetcher::with(dir.clone(), s.mirror.clone(), false)?;
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
            msg.contains("disk is full") || msg.contains("No space left"),
            "the error does not say the disk is full: {msg}"
        );
        ensure!(
            !dir.join("downloads")
                .join(&src.sha256)
                .join(src.file_name())
                .exists(),
            "a partial download was kept under its final name"
        );
        Ok(())
    })();
    let _ = std::process::Command::new("umount").arg(&dir).status();
    result?;
    // Same cache directory, now on the real disk: the next plain run succeeds.
    let fetcher = Fetcher::with(dir.clone(), s.mirror.clone(), false)?;
    ensure!(
        sha256_file(&fetcher.fetch(src)?)? == src.sha256,
        "the retry did not produce the verified file"
    );
    println!(
        "  the next run with room succeeded and verified {}",
        src.file_name()
    );
    Ok(())
}

/// Issue 21, item 8: `fetch` needs one of a recipe's alternative sources, as `build-python`
/// does: against a mirror holding exactly one source of each recipe, it succeeds.
#[test]
#[ignore = "needs the mirror: run with cargo xtask test"]
fn fetch_needs_only_one_of_the_alternative_sources() -> Result<()> {
    let _g = serial();
    let s = settings();
    let root = scratch("one-alternative");
    let mirror = root.join("mirror");
    let mut missing = 0;
    for r in Catalog::load(&s.layout)?.recipes {
        let rel = |src: &xtask::model::recipe::Source| {
            src.url
                .strip_prefix(&format!("{UPSTREAM}/"))
                .unwrap_or(&src.url)
                .to_string()
        };
        let have = r
            .sources
            .iter()
            .find(|src| mirror_dir().join(rel(src)).is_file())
            .with_context(|| format!("the mirror has no source of CPython {}", r.version))?;
        let dest = mirror.join(rel(have));
        std::fs::create_dir_all(dest.parent().unwrap())?;
        std::os::unix::fs::symlink(mirror_dir().join(rel(have)), &dest)?;
        missing += r.sources.len() - 1;
    }
    ensure!(
        missing > 0,
        "no recipe has an alternative source to leave out"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--mirror")
        .arg(&mirror)
        .arg("--cache-dir")
        .arg(root.join("cache"))
        .arg("fetch")
        .stdin(Stdio::null())
        .output()?;
    let said = String::from_utf8_lossy(&out.stdout);
    println!("{said}");
    ensure!(
        out.status.success(),
        "fetch failed with {missing} alternative sources missing from the mirror:\n{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Issue 21, item 9: the up-to-date check holds the sysroot against the digest of every file
/// it recorded: an edited or deleted file makes `build-python --dry-run` say it needs a
/// build, and naming the file; the file put back, it is up to date again.
#[test]
#[ignore = "builds CPython or serves the mirror: run with cargo xtask test"]
fn an_edited_or_deleted_file_makes_the_sysroot_need_a_build() -> Result<()> {
    let _g = serial();
    let s = settings();
    let catalog = Catalog::load(&s.layout)?;
    let target = targets()[0].clone();
    with_sysroot(&catalog, &target, |_, sysroot| {
        let rel = sysroot
            .manifest
            .files
            .keys()
            .find(|f| f.ends_with(".py"))
            .context("the manifest records no .py file")?
            .clone();
        let file = sysroot.root.join(&rel);
        let saved = Restore::new(&file)?;
        let dry_run = || -> Result<String> {
            let mut args = build_args(&target);
            args.push("--dry-run".into());
            let out = xtask_output(&args.iter().map(String::as_str).collect::<Vec<_>>());
            ensure!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        };
        std::fs::write(&file, [saved.bytes.as_slice(), b"\n# edited\n"].concat())?;
        let said = dry_run()?;
        ensure!(
            said.contains("needs a build") && said.contains(&format!("{rel} was modified")),
            "after editing {rel}: {said}"
        );
        // Nor is it packed under its key: dist refuses before linking or packing anything.
        let out_dir = std::env::temp_dir().join(format!("xtask-e2e-edited-{}", std::process::id()));
        let version = sysroot.manifest.python.version.clone();
        let out_arg = out_dir.display().to_string();
        let dist = xtask_output(&[
            "dist", "--target", &target, "--python", &version, "--out", &out_arg,
        ]);
        let said = String::from_utf8_lossy(&dist.stderr);
        ensure!(
            !dist.status.success()
                && said.contains(&format!("{rel} was modified since it was built"))
                && said.contains(&format!("build-python --target {target}")),
            "dist of an edited sysroot: {said}"
        );
        ensure!(
            !out_dir.join("SHA256SUMS").exists(),
            "dist of an edited sysroot wrote SHA256SUMS"
        );
        std::fs::remove_file(&file)?;
        let said = dry_run()?;
        ensure!(
            said.contains(&format!("{rel} is missing")),
            "after deleting {rel}: {said}"
        );
        drop(saved);
        let said = dry_run()?;
        ensure!(said.contains("up to date"), "after restoring {rel}: {said}");
        println!("  {rel} edited, then deleted: the dry run said so each time, and dist refused");
        Ok(())
    })
}

/// A file's bytes and permissions, written back when dropped, however the test ends.
struct Restore {
    path: std::path::PathBuf,
    bytes: Vec<u8>,
    mode: std::fs::Permissions,
}

impl Restore {
    fn new(path: &std::path::Path) -> Result<Restore> {
        Ok(Restore {
            path: path.to_path_buf(),
            bytes: std::fs::read(path)?,
            mode: std::fs::metadata(path)?.permissions(),
        })
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.path, &self.bytes);
        let _ = std::fs::set_permissions(&self.path, self.mode.clone());
    }
}

/// Two `build-python` runs at once, the first killed with SIGKILL mid-build: the second waits
/// on the lock, then finds the sysroot up to date or builds it; the published sysroot is never
/// half-written, and a third run with unchanged inputs is a no-op.
#[test]
#[ignore = "builds CPython or serves the mirror: run with cargo xtask test"]
fn a_killed_build_and_a_concurrent_one() -> Result<()> {
    let _g = serial();
    let target = &targets()[0];
    let s = settings();
    let catalog = Catalog::load(&s.layout)?;
    let recipe = catalog.recipe(None)?;
    let final_dir = s.layout.sysroot_dir(target, &recipe.version, flavor());
    let key = || Manifest::load(&final_dir).ok().map(|(m, _)| m.build.key);
    let before = key();
    let logs = scratch("concurrent");
    let args = build_args(target);
    // --force: even over an existing sysroot, the first run really builds and is killed mid-way.
    // In a process group of its own, so that the kill takes its compilers too, as a CI timeout does.
    use std::os::unix::process::CommandExt;
    let mut first = Server(
        xtask()
            .args(&args)
            .arg("--force")
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(logs.join("first.log"))?)
            .spawn()?,
    );
    std::thread::sleep(Duration::from_secs(3));
    let second_log = logs.join("second.log");
    let mut second = xtask()
        .args(&args)
        .stdin(Stdio::null())
        .stderr(std::fs::File::create(&second_log)?)
        .spawn()?;
    // Kill the first once it is configuring CPython, or after 120 s.
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(120)
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
        "could not kill the first build"
    );
    first.0.wait()?;
    ensure!(
        key() == before,
        "killing build-python changed the published sysroot ({before:?} -> {:?})",
        key()
    );
    println!("  killed the first build-python mid-build: the published sysroot is as it was");
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
    let t = Instant::now();
    let out = xtask().args(&args).stdin(Stdio::null()).output()?;
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

/// Each target's sysroot, checked independently of the build's own verification.
#[test]
#[ignore = "builds CPython or serves the mirror: run with cargo xtask test"]
fn sysroot_acceptance() -> Result<()> {
    let _g = serial();
    let s = settings();
    let catalog = Catalog::load(&s.layout)?;
    each_target(&catalog, |target, model, sysroot| {
        let m = &sysroot.manifest;
        let o = &m.build.optimizations;
        ensure!(
            o.lto == model.target.optimize.lto,
            "manifest says LTO {}",
            o.lto
        );
        ensure!(
            o.pgo.is_some() == (pgo() && model.target.optimize.pgo),
            "manifest says PGO {:?}",
            o.pgo
        );
        // How it was built is a record for its users; the checkout and the tools' cache
        // it was built with are not (they are `{root}` and `{tools}` there).
        let text = std::fs::read_to_string(sysroot.root.join(sysroot_manifest::FILE_NAME))?;
        for local in [&s.layout.root, &s.layout.cache] {
            let local = local.display().to_string();
            ensure!(
                !text.contains(&local),
                "{target}: manifest.json names this machine's {local}"
            );
        }
        if o.pgo.is_some() {
            let log = std::fs::read_to_string(sysroot.root.join("logs/5-build-optimized.log"))?;
            ensure!(
                log.contains("-fprofile-use"),
                "the optimised build log has no -fprofile-use"
            );
        }
        let verified =
            checks::sysroot::verify(model, &sysroot.root, &m.link, &scratch("acceptance"))?;
        ensure!(!verified.builtin_module_names.is_empty());
        println!(
            "  {target}: {} builtin modules, HACL* in {:?}, no module from a shared object",
            m.modules.builtin.len(),
            m.hacl.archives
        );
        Ok(())
    })
}

/// The isolate of each target, linked and checked the way `cargo xtask isolate` does it.
#[test]
#[ignore = "builds CPython or serves the mirror: run with cargo xtask test"]
fn isolate_checks() -> Result<()> {
    let _g = serial();
    let s = settings();
    let catalog = Catalog::load(&s.layout)?;
    each_target(&catalog, |target, model, _| {
        xtask_ok(&[
            "isolate",
            "--target",
            target,
            "--python",
            &model.recipe.version,
            "--flavor",
            model.flavor.as_str(),
        ])
    })
}

/// The engine's own tests (the embedding API), linked against each native sysroot like the isolate.
#[test]
#[ignore = "builds CPython or serves the mirror: run with cargo xtask test"]
fn engine_library_tests() -> Result<()> {
    let _g = serial();
    let s = settings();
    let catalog = Catalog::load(&s.layout)?;
    each_target(&catalog, |target, model, sysroot| {
        if !model.runner.is_native() {
            println!(
                "  {target}: the library tests run natively only (the CLI was checked under its runner)"
            );
            return Ok(());
        }
        let status = xtask::pipeline::link::cargo(model, sysroot, &["test"])?
            .env("ISOLATE_TEST_HOME", &sysroot.root)
            .status()?;
        ensure!(status.success(), "engine tests failed for {target}");
        Ok(())
    })
}

/// A crate outside the workspace (`examples/embed`) links a sysroot the documented way
/// (`cargo xtask env` as a cargo configuration), registers its own Rust module as a built-in,
/// and runs Python that calls it and the C-backed standard library; the executable is what
/// the flavor promises and exports CPython's C API for extension modules.
#[test]
#[ignore = "builds CPython or serves the mirror: run with cargo xtask test"]
fn your_own_crate_links_a_sysroot() -> Result<()> {
    let _g = serial();
    let s = settings();
    let catalog = Catalog::load(&s.layout)?;
    each_target(&catalog, |target, model, sysroot| {
        if !model.runner.is_native() {
            println!("  {target}: the example runs natively only");
            return Ok(());
        }
        let exe = build_example(model)?;
        let out = std::process::Command::new(&exe).arg("two words").output()?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        println!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
        ensure!(out.status.success(), "the example failed: {}", out.status);
        for line in [
            "greeter is built in: True",
            "greeter.add(2, 40) = 42",
            "greeter.shout('hello') = HELLO!",
            "sha256(abc) = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "sqlite sum = 42",
            "decimal 1/7 = 0.1428571428571428571428571429",
        ] {
            ensure!(
                stdout.lines().any(|l| l == line),
                "the example did not print {line:?}"
            );
        }
        ensure!(
            stdout.contains("'two words']"),
            "argv did not reach Python: {stdout}"
        );
        let kind = checks::binary::kind(&exe, model.target.platform, model.flavor)?;
        let loads = model.target.platform.loads_extension_modules();
        let n = checks::binary::exports(
            &exe,
            &sysroot.python(),
            &model.bundled_symbol_prefixes(),
            loads,
        )?;
        println!("  {target}: {kind}, exports {n} symbols (CPython's C API)");
        Ok(())
    })
}

/// `cargo xtask env` into a configuration file, then `cargo build --config` of the example.
fn build_example(model: &xtask::model::Model) -> Result<std::path::PathBuf> {
    let dir = scratch(&format!("embed-{}", model.target.name));
    let out = xtask_output(&[
        "env",
        "--target",
        &model.target.name,
        "--python",
        &model.recipe.version,
        "--flavor",
        model.flavor.as_str(),
    ]);
    ensure!(
        out.status.success(),
        "cargo xtask env failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = dir.join("pysysroot.toml");
    std::fs::write(&config, &out.stdout)?;
    let root = root();
    let target_dir = root
        .join("target/examples")
        .join(format!("{}-{}", model.target.name, model.flavor));
    let triple = &model.target.rust_triple;
    let status =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "build",
                "--release",
                "--locked",
                "--target",
                triple,
                "--config",
            ])
            .arg(&config)
            .arg("--manifest-path")
            .arg(root.join("examples/embed/Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target_dir)
            .status()?;
    ensure!(status.success(), "building examples/embed failed");
    Ok(target_dir.join(triple).join("release/embed-example"))
}

/// Compiled and pure packages from PyPI (pinned with hashes) work in the isolate exactly as
/// in python3: through PYTHONPATH for python3 and `bin/isolate`, shipped with the single
/// file by `cargo xtask isolate --requirements`, and in `examples/embed` through its paths.
/// On a target that cannot load compiled modules, asking for them is an error naming the
/// package and why.
#[test]
#[ignore = "builds CPython or serves the mirror: run with cargo xtask test"]
fn packages_from_pypi_work_as_in_python3() -> Result<()> {
    let _g = serial();
    let s = settings();
    let catalog = Catalog::load(&s.layout)?;
    let packages = root().join("engine/tests/packages");
    let requirements = packages.join("requirements.txt");
    each_target(&catalog, |target, model, sysroot| {
        let req = requirements.display().to_string();
        let version = &model.recipe.version;
        let args = [
            "isolate",
            "--target",
            target,
            "--python",
            version,
            "--flavor",
            model.flavor.as_str(),
            "--no-regrtest",
            "--requirements",
            &req,
        ];
        if !model.target.platform.loads_extension_modules() {
            let out = xtask_output(&args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            ensure!(
                !out.status.success(),
                "{target}: compiled wheels were accepted"
            );
            // pip stops at the first requirement without a usable wheel: that one is named,
            // whichever of the compiled ones it is, and never a pure one.
            let named = |p: &str| stderr.contains(&format!("{p}=="));
            let line = stderr
                .lines()
                .find(|l| l.contains("cannot load compiled"))
                .unwrap_or_default();
            ensure!(
                ["MarkupSafe", "msgpack", "numpy", "PyYAML"]
                    .iter()
                    .any(|p| named(p))
                    && !["idna", "certifi"].iter().any(|p| line.contains(p)),
                "{target}: {stderr}"
            );
            println!("  {target}: refused, naming the package: {line}");
            return Ok(());
        }
        xtask_ok(&args)?;
        let site = scratch(&format!("site-{target}"));
        install_for_python3(model, &requirements, &site)?;
        let probe = packages.join("probe.py").display().to_string();
        let env = [("PYTHONPATH".to_string(), site.display().to_string())];
        let run = |exe: &std::path::Path, env: &[(String, String)]| {
            checks::run(
                &checks::Interp::new(&model.runner, exe),
                std::slice::from_ref(&probe),
                Some(b""),
                &site,
                env,
            )
        };
        let reference = run(&sysroot.python(), &env)?;
        println!(
            "{}{}",
            String::from_utf8_lossy(&reference.stdout),
            String::from_utf8_lossy(&reference.stderr)
        );
        ensure!(
            reference.status == Some(0),
            "{target}: python3 could not run the probe"
        );
        for (exe, env) in [
            (sysroot.isolate(model), &env[..]),
            (sysroot.standalone(model), &[][..]),
        ] {
            let got = run(&exe, env)?;
            ensure!(
                got == reference,
                "{target}: {} differs from python3:\n{}",
                exe.display(),
                checks::corpus::diff(&reference, &got, ("python3", "isolate"))
            );
        }
        println!(
            "  {target}: python3, bin/isolate and the single file with its packages print the same"
        );
        if model.runner.is_native() {
            // A crate of the user's own loads them as well: the export list reached it.
            let exe = build_example(model)?;
            let out = std::process::Command::new(&exe)
                .arg(&probe)
                .arg(&site)
                .current_dir(&site)
                .output()?;
            // The embedding is isolated by design: only the probe's line of flags differs.
            let without_flags = |b: &[u8]| {
                String::from_utf8_lossy(b)
                    .lines()
                    .filter(|l| !l.starts_with("flags "))
                    .map(|l| format!("{l}\n"))
                    .collect::<String>()
            };
            ensure!(
                out.status.success()
                    && without_flags(&out.stdout) == without_flags(&reference.stdout),
                "{target}: examples/embed with the packages ({}) printed\n{}{}\nwhere python3 printed\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&reference.stdout)
            );
            println!("  {target}: so does examples/embed, a crate of the user's own");
        }
        Ok(())
    })
}

/// The same packages for python3, by the same pinned pip, into a directory for PYTHONPATH.
fn install_for_python3(
    model: &xtask::model::Model,
    requirements: &std::path::Path,
    into: &std::path::Path,
) -> Result<()> {
    let venv = xtask::model::tools::tool_env(model.layout(), "pip", false)?;
    let abi = model.recipe.abi().replace('.', "");
    let mut cmd = std::process::Command::new(venv.join("bin/python"));
    cmd.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--require-hashes",
        "--only-binary",
        ":all:",
        "--target",
    ])
    .arg(into)
    .args([
        "--python-version",
        &abi,
        "--implementation",
        "cp",
        "--abi",
        &format!("cp{abi}"),
        "--abi",
        "none",
    ])
    .arg("-r")
    .arg(requirements);
    for p in model.target.dist.wheel_platforms() {
        cmd.args(["--platform", &p]);
    }
    xtask::util::process::run(&mut cmd)
}

/// `bench --suite pyperformance --compare-sysroot DIR` runs a kept build in the same rounds
/// as this one, given by a path relative to where the bench is started, and a directory
/// without a sysroot is refused by name before anything runs.
#[test]
#[ignore = "builds CPython or serves the mirror: run with cargo xtask test"]
fn the_bench_holds_a_kept_build_in_the_same_rounds() -> Result<()> {
    let _g = serial();
    let s = settings();
    let catalog = Catalog::load(&s.layout)?;
    each_target(&catalog, |target, model, sysroot| {
        if !model.runner.is_native() || model.flavor != sysroot_manifest::Flavor::Static {
            println!("  {target}: skipped (the pyperformance suite runs static native builds)");
            return Ok(());
        }
        if !sysroot.isolate(model).is_file() {
            xtask::pipeline::link::isolate(model, sysroot, None)?;
        }
        let dir = scratch("bench-compare");
        xtask::util::fs::copy_tree(&sysroot.root, &dir.join("kept"))?;
        let version = model.recipe.version.as_str();
        let bench = |compare: &str| {
            let mut cmd = xtask();
            cmd.current_dir(&dir).args([
                "bench",
                "--target",
                target,
                "--python",
                version,
                "--suite",
                "pyperformance",
                "--benchmark",
                "unpack_sequence",
                "--rounds",
                "1",
                "--values",
                "1",
                "--compare-sysroot",
                compare,
            ]);
            if !pgo() {
                cmd.arg("--no-pgo");
            }
            cmd.stdin(Stdio::null()).output()
        };

        let out = bench("nothing-here")?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        ensure!(
            !out.status.success(),
            "a directory without a sysroot was accepted"
        );
        ensure!(
            stderr.contains("--compare-sysroot") && stderr.contains("nothing-here"),
            "the refusal does not name the option and the path: {stderr}"
        );

        let suffix = if sysroot.manifest.build.optimizations.pgo.is_some() {
            ""
        } else {
            "-no-pgo"
        };
        let json = s.layout.root.join(format!(
            "target/bench/{target}-{version}{suffix}/pyperformance.json"
        ));
        // Whatever an earlier run left there must not pass for this one's results.
        let _ = std::fs::remove_file(&json);
        let out = bench("kept")?;
        ensure!(
            out.status.success(),
            "bench --compare-sysroot kept failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let results: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json)?)?;
        let key = &sysroot.manifest.build.key[..8];
        let per_loop = &results["benchmarks"][0]["per_loop"];
        for name in ["python3", "isolate static"] {
            let kept = format!("{name} {key}");
            let median = per_loop[&kept]["median"].as_f64();
            ensure!(
                median.is_some_and(|m| m > 0.0)
                    && per_loop[name]["median"].as_f64().is_some_and(|m| m > 0.0),
                "{}: no time per loop for {kept:?} and {name:?} side by side: {per_loop}",
                json.display()
            );
        }
        println!("  {target}: the kept build ran in the same round as {key}");
        Ok(())
    })
}
