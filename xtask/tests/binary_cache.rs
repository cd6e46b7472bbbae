//! The binary cache end to end, with nginx from Debian as the cache (GET, and PUT through its
//! dav module) and each fault the issue names: a good substitute is published as a build
//! would be; a bad one (tampered, truncated, unsigned, signed by an unknown key, signed for
//! another key), an unreachable cache, a refused upload and a kill mid-substitution each end
//! in a clear error or a fallback, never in a poisoned cache or a half-written sysroot. The
//! same cache in an S3-compatible bucket (moto's S3 server) is pushed to and substituted from.

mod support;

use anyhow::{Context, Result, ensure};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use support::*;
use xtask::model::Catalog;
use xtask::pipeline::substitute::{Narinfo, Statement, narinfo_name};

/// `xtask` against a fresh sysroots directory, the given cache and trusted key.
fn client(sysroots: &Path, cache: &str, trusted: &Path) -> Command {
    let mut cmd = xtask_in(sysroots);
    cmd.arg("--binary-cache")
        .arg(cache)
        .arg("--trusted-key")
        .arg(trusted);
    cmd
}

fn substitute_only(
    sysroots: &Path,
    cache: &str,
    trusted: &Path,
    target: &str,
    version: &str,
) -> Output {
    substitute_only_cmd(sysroots, cache, trusted, target, version)
        .output()
        .expect("xtask runs")
}

fn substitute_only_cmd(
    sysroots: &Path,
    cache: &str,
    trusted: &Path,
    target: &str,
    version: &str,
) -> Command {
    let mut args = vec![
        "build-python",
        "--target",
        target,
        "--python",
        version,
        "--substitute-only",
    ];
    if !pgo() {
        args.push("--no-pgo");
    }
    let mut cmd = client(sysroots, cache, trusted);
    cmd.args(&args).stdin(Stdio::null());
    cmd
}

/// Whether a sysroot was published: a manifest outside the hidden staging directories.
fn published(sysroots: &Path) -> bool {
    walkdir::WalkDir::new(sysroots)
        .into_iter()
        .filter_entry(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .flatten()
        .any(|e| e.file_name() == "manifest.json")
}

fn refused(out: &Output, why: &str, sysroots: &Path) -> Result<()> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        !out.status.success(),
        "a bad substitute was accepted:\n{stderr}"
    );
    ensure!(
        stderr.contains(why),
        "the error does not say {why:?}:\n{stderr}"
    );
    ensure!(
        !stderr.contains("--mirror"),
        "a binary cache's failure sends the user to the source mirror:\n{stderr}"
    );
    ensure!(
        !published(sysroots),
        "a sysroot was published from a bad substitute"
    );
    println!("  refused: {}", stderr.lines().last().unwrap_or_default());
    Ok(())
}

struct Keys {
    secret: PathBuf,
    public: PathBuf,
}

fn keygen(dir: &Path, name: &str) -> Result<Keys> {
    xtask_ok(&[
        "keygen",
        "--out",
        &dir.display().to_string(),
        "--name",
        name,
    ])?;
    Ok(Keys {
        secret: dir.join(format!("{name}.key")),
        public: dir.join(format!("{name}.pub")),
    })
}

#[test]
#[ignore = "builds CPython and starts nginx: run with cargo xtask test"]
fn a_signed_substitute_is_published_and_bad_ones_are_refused() -> Result<()> {
    let _g = serial();
    let s = settings();
    let catalog = Catalog::load(&s.layout)?;
    let target = targets()[0].clone();
    with_sysroot(&catalog, &target, |model, sysroot| {
        let dir = scratch("binary-cache");
        let server = nginx(&dir.join("nginx"))?;
        let keys = keygen(&dir, "release")?;
        let version = model.recipe.version.clone();
        let key = sysroot.manifest.build.key.clone();
        let secret = keys.secret.display().to_string();
        // A package installed into the sysroot since the build is no part of what its key
        // names: it stays here, out of the archive and so out of every substitute.
        let site = sysroot
            .root
            .join(&sysroot.manifest.paths.stdlib)
            .join("site-packages");
        let later = site.join("installed_later.py");
        std::fs::create_dir_all(&site)?;
        std::fs::write(&later, "print('not in any substitute')\n")?;
        let pushed = xtask_output(&[
            "dist",
            "--target",
            &target,
            "--python",
            &version,
            "--out",
            &dir.join("dist").display().to_string(),
            "--sign",
            &secret,
            "--push",
            &server.url,
        ]);
        std::fs::remove_file(&later)?;
        let said = String::from_utf8_lossy(&pushed.stderr);
        ensure!(pushed.status.success(), "dist --push failed:\n{said}");
        ensure!(
            said.contains("left out of the archive: 1 file installed into site-packages since the build (installed_later.py)"),
            "dist did not say it left the package out:\n{said}"
        );
        let narinfo_path = server.root.join(narinfo_name(&key));
        ensure!(
            narinfo_path.is_file(),
            "the push left no {}",
            narinfo_path.display()
        );

        // A fresh machine: the signed substitute is fetched, checked and published.
        let fresh = dir.join("fresh");
        let out = substitute_only(&fresh, &server.url, &keys.public, &target, &version);
        ensure!(
            out.status.success(),
            "substitution failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = first_sysroot(&fresh)?;
        ensure!(
            got.manifest.build.key == key,
            "the substitute has another key"
        );
        ensure!(
            got.root.ends_with(format!("{target}/{version}")),
            "published at {}",
            got.root.display()
        );
        let theirs = got
            .root
            .join(&got.manifest.paths.stdlib)
            .join("site-packages");
        let extra =
            xtask::pipeline::record::installed_since(&got.root, got.manifest.packages.as_ref())?;
        ensure!(
            extra == Some(vec![]) && !theirs.join("installed_later.py").exists(),
            "the substitute's site-packages ({}) is not the build's: {extra:?}",
            theirs.display()
        );
        println!(
            "  {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        );

        // Pushing the same key again is a no-op.
        let again = xtask_output(&[
            "dist",
            "--target",
            &target,
            "--python",
            &version,
            "--out",
            &dir.join("dist2").display().to_string(),
            "--sign",
            &secret,
            "--push",
            &server.url,
        ]);
        ensure!(
            String::from_utf8_lossy(&again.stderr).contains("nothing to push"),
            "a second push uploaded again"
        );

        faults(&dir, &server, &keys, &key, &target, &version)
    })
}

fn faults(
    dir: &Path,
    server: &Nginx,
    keys: &Keys,
    key: &str,
    target: &str,
    version: &str,
) -> Result<()> {
    let narinfo_path = server.root.join(narinfo_name(key));
    let good_narinfo = std::fs::read(&narinfo_path)?;
    let narinfo: Narinfo = serde_json::from_slice(&good_narinfo)?;
    let statement = Statement::parse(&narinfo.statement)?;
    let archive = server.root.join(&statement.archive);
    let good_archive = std::fs::read(&archive)?;
    let fresh = |name: &str| dir.join("fresh-faults").join(name);

    // Signed by a key the client does not trust.
    let stranger = keygen(dir, "stranger")?;
    refused(
        &substitute_only(
            &fresh("unknown-key"),
            &server.url,
            &stranger.public,
            target,
            version,
        ),
        "not trusted",
        &fresh("unknown-key"),
    )?;

    // A statement edited after signing.
    let forged = Narinfo {
        statement: narinfo
            .statement
            .replace(&statement.sha256, &"0".repeat(64)),
        signature: narinfo.signature.clone(),
    };
    std::fs::write(&narinfo_path, serde_json::to_vec(&forged)?)?;
    refused(
        &substitute_only(&fresh("forged"), &server.url, &keys.public, target, version),
        "does not verify",
        &fresh("forged"),
    )?;

    // A good signature, but on a statement for another build key, served under this one.
    let sk = xtask::util::sign::secret_key(&keys.secret)?;
    let other = Statement {
        key: "f".repeat(64),
        ..statement.clone()
    }
    .text();
    let for_other = Narinfo {
        signature: xtask::util::sign::sign(&sk, other.as_bytes(), "another key")?,
        statement: other,
    };
    std::fs::write(&narinfo_path, serde_json::to_vec(&for_other)?)?;
    refused(
        &substitute_only(
            &fresh("other-key"),
            &server.url,
            &keys.public,
            target,
            version,
        ),
        "is for key ffff",
        &fresh("other-key"),
    )?;

    // An unsigned substitute.
    let unsigned = Narinfo {
        statement: narinfo.statement.clone(),
        signature: String::new(),
    };
    std::fs::write(&narinfo_path, serde_json::to_vec(&unsigned)?)?;
    refused(
        &substitute_only(
            &fresh("unsigned"),
            &server.url,
            &keys.public,
            target,
            version,
        ),
        "not a minisign signature",
        &fresh("unsigned"),
    )?;
    std::fs::write(&narinfo_path, &good_narinfo)?;

    // A tampered archive, then a truncated one: the digest catches both, nothing is cached.
    let mut tampered = good_archive.clone();
    let mid = tampered.len() / 2;
    tampered[mid] ^= 0xff;
    std::fs::write(&archive, &tampered)?;
    let cache = settings()
        .layout
        .cache
        .join("downloads")
        .join(&statement.sha256);
    let _ = std::fs::remove_dir_all(&cache);
    refused(
        &substitute_only(
            &fresh("tampered"),
            &server.url,
            &keys.public,
            target,
            version,
        ),
        "checksum mismatch",
        &fresh("tampered"),
    )?;
    std::fs::write(&archive, &good_archive[..good_archive.len() / 3])?;
    refused(
        &substitute_only(
            &fresh("truncated"),
            &server.url,
            &keys.public,
            target,
            version,
        ),
        "checksum mismatch",
        &fresh("truncated"),
    )?;
    ensure!(
        !cache
            .join(statement.archive.rsplit('/').next().unwrap())
            .exists(),
        "a bad archive was kept in the download cache"
    );
    std::fs::write(&archive, &good_archive)?;

    // A cache that is down: the error says so, quickly.
    let down = format!("http://127.0.0.1:{}/", free_port());
    refused(
        &substitute_only(&fresh("down"), &down, &keys.public, target, version),
        "127.0.0.1",
        &fresh("down"),
    )?;

    // A cache that fails with 500 twice and then answers: the retries get the substitute.
    let flaky = flaky_server(&server.root, 2);
    let out = substitute_only(
        &fresh("flaky"),
        &format!("{}/", flaky.url()),
        &keys.public,
        target,
        version,
    );
    ensure!(
        out.status.success(),
        "a cache recovering from 500s was not retried:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "  flaky cache: substituted after {} requests",
        flaky.requests().len()
    );

    // A refused upload (403) is a clear error naming the URL.
    let readonly = format!("{}readonly/", server.url);
    let out = xtask_output(&[
        "dist",
        "--target",
        target,
        "--python",
        version,
        "--out",
        &dir.join("dist3").display().to_string(),
        "--sign",
        &keys.secret.display().to_string(),
        "--push",
        &readonly,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        !out.status.success() && stderr.contains("403") && stderr.contains("readonly"),
        "a refused push was not reported:\n{stderr}"
    );
    ensure!(
        !server
            .root
            .join("readonly")
            .join(narinfo_name(key))
            .exists()
    );

    concurrent_pushes(dir, server, keys, key, &good_archive)?;
    killed_substitution(&fresh("killed"), &server.url, keys, target, version)?;
    s3_bucket(dir, keys, &statement, target, version)
}

/// The same cache in an S3-compatible bucket, through the S3 API (a real S3 server on
/// 127.0.0.1, configured by the standard AWS variables): pushed once, pushed again as a
/// no-op, substituted on a fresh machine; a bucket that does not exist is a clear error.
fn s3_bucket(
    dir: &Path,
    keys: &Keys,
    statement: &Statement,
    target: &str,
    version: &str,
) -> Result<()> {
    let key = &statement.key;
    let server = s3_server(&dir.join("s3"), "releases")?;
    let env = server.env();
    let cache = "s3://releases/pysysroot/cache";
    let push = |cache: &str, out: &str| {
        xtask()
            .args(["dist", "--target", target, "--python", version, "--out"])
            .arg(dir.join(out))
            .arg("--sign")
            .arg(&keys.secret)
            .args(["--push", cache])
            .envs(env.iter().cloned())
            .stdin(Stdio::null())
            .output()
    };
    let out = push(cache, "dist-s3")?;
    ensure!(
        out.status.success(),
        "the push to {cache} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = push(cache, "dist-s3-again")?;
    ensure!(
        String::from_utf8_lossy(&again.stderr).contains("nothing to push"),
        "a second push to {cache} uploaded again:\n{}",
        String::from_utf8_lossy(&again.stderr)
    );

    // The archive comes from the bucket, not from the download cache of the runs above.
    let downloaded = settings()
        .layout
        .cache
        .join("downloads")
        .join(&statement.sha256);
    let _ = std::fs::remove_dir_all(&downloaded);
    let fresh = dir.join("fresh-s3");
    let out = substitute_only_cmd(&fresh, cache, &keys.public, target, version)
        .envs(env.iter().cloned())
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.success(),
        "substitution from {cache} failed:\n{stderr}"
    );
    ensure!(
        first_sysroot(&fresh)?.manifest.build.key == *key
            && stderr.contains(&format!("from {cache}"))
            && downloaded.is_dir(),
        "the substitute did not come from {cache}:\n{stderr}"
    );
    ensure!(
        !stderr.contains("X-Amz-Signature=") || stderr.contains("X-Amz-Signature=***"),
        "a signed URL's signature reached the output:\n{stderr}"
    );
    println!("  {}", stderr.lines().last().unwrap_or_default());

    let missing = push("s3://no-such-bucket/cache", "dist-s3-missing")?;
    let stderr = String::from_utf8_lossy(&missing.stderr);
    ensure!(
        !missing.status.success()
            && stderr.contains("s3://no-such-bucket/cache")
            && stderr.contains("bucket does not exist"),
        "a push to a missing bucket was not reported:\n{stderr}"
    );
    println!("  S3: pushed, pushed again as a no-op, substituted; a missing bucket is named");
    Ok(())
}

/// Two machines push the same key at once: the cache ends up with one statement whose
/// archive is there and whose signature holds.
fn concurrent_pushes(
    dir: &Path,
    server: &Nginx,
    keys: &Keys,
    key: &str,
    archive: &[u8],
) -> Result<()> {
    let store = xtask::util::store::Store::parse(&format!("{}race/", server.url))?;
    let file = dir.join("race.tar.zst");
    std::fs::write(&file, archive)?;
    let sk = xtask::util::sign::secret_key(&keys.secret)?;
    let manifest = first_sysroot(&dir.join("fresh"))?.manifest;
    ensure!(manifest.build.key == key);
    let narinfo = xtask::pipeline::substitute::signed(&sk, &manifest, &file)?;
    std::thread::scope(|scope| {
        let pushes: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| xtask::pipeline::substitute::push(&store, key, &narinfo, &file))
            })
            .collect();
        pushes
            .into_iter()
            .try_for_each(|p| p.join().expect("a push thread"))
    })?;
    let stored: Narinfo = serde_json::from_slice(
        &store
            .get(&narinfo_name(key))?
            .context("no statement after the race")?,
    )?;
    xtask::util::sign::verify(
        &[xtask::util::sign::public_key(
            &keys.public.display().to_string(),
        )?],
        stored.statement.as_bytes(),
        &stored.signature,
    )?;
    let st = Statement::parse(&stored.statement)?;
    ensure!(
        store.get_size(&st.archive)? == Some(st.size),
        "the statement's archive is missing or short after the race"
    );
    println!("  two concurrent pushes of one key: one consistent entry");
    Ok(())
}

/// The sysroot a fresh directory holds, wherever it is in it.
fn first_sysroot(dir: &Path) -> Result<xtask::model::sysroot::Sysroot> {
    let manifest = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_entry(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .flatten()
        .find(|e| e.file_name() == "manifest.json")
        .context("no substituted sysroot")?;
    xtask::model::sysroot::Sysroot::load(manifest.path().parent().unwrap())
}

/// Killed (SIGKILL) after the substitute was unpacked and checked, just before it would be
/// published: nothing is published, and the next run substitutes cleanly.
fn killed_substitution(
    sysroots: &Path,
    cache: &str,
    keys: &Keys,
    target: &str,
    version: &str,
) -> Result<()> {
    let mut args = vec![
        "build-python",
        "--target",
        target,
        "--python",
        version,
        "--substitute-only",
    ];
    if !pgo() {
        args.push("--no-pgo");
    }
    let out = client(sysroots, cache, &keys.public)
        .args(&args)
        .env(xtask::util::fault::ENV, "substitute-before-publish")
        .stdin(Stdio::null())
        .output()?;
    use std::os::unix::process::ExitStatusExt;
    ensure!(
        out.status.signal() == Some(libc::SIGKILL),
        "the fault point was not reached: {:?}",
        out.status
    );
    ensure!(
        !published(sysroots),
        "a killed substitution published a sysroot"
    );
    let out = substitute_only(sysroots, cache, &keys.public, target, version);
    ensure!(
        out.status.success(),
        "the run after a killed substitution failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(published(sysroots));
    let leftovers: Vec<_> = walkdir::WalkDir::new(sysroots)
        .max_depth(2)
        .into_iter()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".staging"))
        .collect();
    ensure!(
        leftovers.is_empty(),
        "staging directories were left: {leftovers:?}"
    );
    println!("  killed mid-substitution: nothing published; the next run substituted");
    Ok(())
}
