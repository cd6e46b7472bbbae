//! The command line as a user meets it: bad input is refused with a message of its own, and
//! commands agree with each other. None of these tests downloads or builds anything.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use support::http::{Reply, Request, Server};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("xtask-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The binary with none of the user's PYSYSROOT_* settings, in `cwd`.
fn xtask(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("PYSYSROOT_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied())
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn fails_saying(out: &Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "it succeeded:\n{stderr}");
    assert!(stderr.contains(what), "expected {what:?} in:\n{stderr}");
    stderr
}

fn listing(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .flatten()
        .map(|e| e.into_path())
        .collect()
}

/// Issue 21, item 7: each bad input on the command line or in the environment, refused
/// with its own message.
#[test]
fn bad_input_is_refused_with_its_own_message() {
    let d = scratch("input");
    let cache = d.join("cache").display().to_string();
    let c = &cache;
    for jobs in [
        &["-j0", "--cache-dir", c, "list"][..],
        &["--jobs", "0", "--cache-dir", c, "list"],
    ] {
        fails_saying(&xtask(&d, jobs, &[]), "0 is not in 1..");
    }
    fails_saying(
        &xtask(&d, &["--cache-dir", c, "list"], &[("PYSYSROOT_JOBS", "0")]),
        "0 is not in 1..",
    );
    for (mirror, why) in [
        ("http://", "is not a valid URL"),
        ("http://:80/", "is not a valid URL"),
        ("/", "not laid out like python.org"),
        ("ftp://example.org", "unsupported scheme"),
        ("", "empty mirror"),
    ] {
        fails_saying(
            &xtask(&d, &["--mirror", mirror, "--cache-dir", c, "list"], &[]),
            why,
        );
    }
    // An empty HOME or XDG_CACHE_HOME never puts the cache in the current directory.
    let cwd = scratch("input-cwd");
    for env in [
        &[("HOME", ""), ("XDG_CACHE_HOME", "")][..],
        &[("HOME", "relative"), ("XDG_CACHE_HOME", "")],
    ] {
        fails_saying(
            &xtask(&cwd, &["--offline", "fetch"], env),
            "pass --cache-dir DIR",
        );
    }
    let out = xtask(
        &cwd,
        &["--offline", "fetch"],
        &[("HOME", "/nonexistent-home"), ("XDG_CACHE_HOME", "")],
    );
    fails_saying(&out, "/nonexistent-home/.cache/pysysroot/downloads/");
    assert!(listing(&cwd).is_empty(), "{:?}", listing(&cwd));
    // Credentials in a mirror URL are never printed.
    let forbidden = Server::start(|_req: &Request| Reply::status(403));
    let mirror = forbidden.url().replace("http://", "http://user:s3cret@");
    let said = fails_saying(
        &xtask(&d, &["--mirror", &mirror, "--cache-dir", c, "fetch"], &[]),
        "HTTP 403",
    );
    assert!(!said.contains("s3cret"), "{said}");
    let said = fails_saying(
        &xtask(
            &d,
            &[
                "--mirror",
                "https://user:s3cret@/x",
                "--cache-dir",
                c,
                "list",
            ],
            &[],
        ),
        "not a valid URL",
    );
    assert!(!said.contains("s3cret"), "{said}");
}

/// Issue 21, item 8: `fetch` knows the same versions as `build-python`.
#[test]
fn fetch_refuses_an_unknown_python() {
    let d = scratch("unknown-python");
    let cache = d.join("cache").display().to_string();
    for cmd in [&["fetch"][..], &["build-python", "--dry-run"]] {
        let args = [&["--cache-dir", &cache][..], cmd, &["--python", "2.7.18"]].concat();
        fails_saying(
            &xtask(&d, &args, &[]),
            "no recipe for CPython 2.7.18: pass --python with one of",
        );
    }
}

/// Issue 21, item 8: `build-python --dry-run` changes nothing: no lock, no directory.
#[test]
fn a_dry_run_takes_no_lock_and_creates_nothing() {
    let d = scratch("dry-run");
    let sysroots = d.join("fresh/sysroots");
    let out = xtask(
        &d,
        &[
            "--sysroots-dir",
            &sysroots.display().to_string(),
            "--cache-dir",
            &d.join("fresh/cache").display().to_string(),
            "build-python",
            "--no-pgo",
            "--dry-run",
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("needs a build") && stdout.contains("is not built"),
        "{stdout}"
    );
    assert!(
        listing(&d).is_empty(),
        "a dry run created {:?}",
        listing(&d)
    );
}
