//! No error anywhere in the tool is a bare OS error: the xtask binary is run through the ways
//! it fails for a user (bad input, missing or unwritable directories, bad mirrors, a full
//! disk is in the unit tests), and every message must name the path, URL or option at fault
//! and say what to do next. None of these cases downloads anything or builds CPython: where a
//! case could go on to build if the error it expects did not come, it points at an empty
//! mirror, so that it would stop at the download instead.

mod support;

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use support::http::{Reply, Request, Server};
use xtask::model::{Catalog, Layout};

/// Words that start a next step in the tool's messages.
const NEXT_STEPS: &[&str] = &[
    "run ", "pass ", "set ", "point ", "free ", "move ", "install ", "check ", "use ", "give ",
    "delete ", "build ", "put ", "cd ", "--",
];

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("xtask-errors-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    // Reachable by the unprivileged user some cases run as.
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

/// The default recipe's version and its first source's sha256 and file name.
fn default_recipe() -> (String, String, String) {
    let root = support::root();
    let layout = Layout {
        sysroots: root.join("sysroots"),
        cache: std::env::temp_dir(),
        work: root.join("target/pysysroot"),
        root,
    };
    let catalog = Catalog::load(&layout).unwrap();
    let r = catalog.recipe(None).unwrap();
    let s = &r.sources[0];
    (
        r.version.clone(),
        s.sha256.clone(),
        s.file_name().to_string(),
    )
}

/// The binary with none of the user's settings: only what a case passes counts.
fn xtask(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("PYSYSROOT_") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(cwd).stdin(Stdio::null());
    cmd
}

struct Case {
    name: &'static str,
    args: Vec<OsString>,
    env: Vec<(&'static str, String)>,
    /// What the message must name: the path, URL, option or variable at fault.
    names: String,
    /// Run as the unprivileged user 65534 (for permissions, which root ignores).
    as_nobody: bool,
}

fn case(name: &'static str, args: Vec<OsString>, names: impl std::fmt::Display) -> Case {
    Case {
        name,
        args,
        env: Vec::new(),
        names: names.to_string(),
        as_nobody: false,
    }
}

/// Command-line arguments from strings and paths alike.
macro_rules! args {
    ($($a:expr),* $(,)?) => {
        vec![$(OsString::from(AsRef::<std::ffi::OsStr>::as_ref(&$a))),*]
    };
}

fn run(c: &Case, cwd: &Path) -> Output {
    let mut cmd = if c.as_nobody && is_root() {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_xtask"));
        cmd.current_dir(cwd).stdin(Stdio::null());
        cmd
    } else {
        xtask(cwd)
    };
    for (k, v) in &c.env {
        cmd.env(k, v);
    }
    cmd.args(&c.args).output().unwrap()
}

/// Checks one failure: it fails, says so on stderr, names what is at fault and a next step,
/// and never panics.
fn check(c: &Case, cwd: &Path) -> Result<String, String> {
    let out = run(c, cwd);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let problem = if out.status.success() {
        "it succeeded"
    } else if stderr.contains("panicked") {
        "it panicked"
    } else if stderr.contains("s3cret") {
        "it printed the mirror's password"
    } else if !stderr.contains(&c.names) {
        "the message does not name what is at fault"
    } else if !NEXT_STEPS.iter().any(|s| stderr.contains(s)) {
        "the message says nothing to do next"
    } else if stderr.contains("os error")
        && !stderr
            .lines()
            .any(|l| l.contains("os error") && l.contains('/'))
    {
        "a bare OS error"
    } else {
        return Ok(format!("{:<24} {last}", c.name));
    };
    Err(format!(
        "{}: {problem} (expected it to name {:?}):\n{stderr}",
        c.name, c.names
    ))
}

/// A directory nobody can write to: a read-only tmpfs as root, else a 0555 directory.
fn unwritable(dir: &Path) -> Option<support::Tmpfs> {
    std::fs::create_dir_all(dir).unwrap();
    if is_root() {
        return Some(support::Tmpfs::mount(dir, "ro,size=64k"));
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    None
}

/// What the cases fail against, made once.
struct World {
    s: PathBuf,
    version: String,
    file_in_the_way: PathBuf,
    empty_mirror: PathBuf,
    bad_mirror: PathBuf,
    locked: PathBuf,
    entry_cache: PathBuf,
    /// Where the cache entry should be, and a directory is.
    entry: PathBuf,
    read_only: PathBuf,
    not_found: Server,
    forbidden: Server,
    /// Streams bytes without end, whatever is asked.
    endless: Server,
    _mounted: Option<support::Tmpfs>,
}

impl World {
    fn new() -> World {
        let s = scratch("walk");
        let (version, sha256, file) = default_recipe();
        let file_in_the_way = s.join("a-file");
        std::fs::write(&file_in_the_way, "").unwrap();
        let empty_mirror = s.join("empty-mirror");
        std::fs::create_dir_all(empty_mirror.join("ftp")).unwrap();
        std::fs::create_dir_all(s.join("no-ftp")).unwrap();
        let bad_mirror = s.join("bad-mirror");
        let bad_file = bad_mirror.join(format!("ftp/python/{version}/{file}"));
        std::fs::create_dir_all(bad_file.parent().unwrap()).unwrap();
        std::fs::write(&bad_file, "not the release").unwrap();
        let locked = s.join("locked-cache");
        std::fs::create_dir_all(&locked).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        let entry_cache = s.join("entry-cache");
        let entry = entry_cache.join("downloads").join(&sha256).join(&file);
        std::fs::create_dir_all(entry.join("something")).unwrap();
        let read_only = s.join("read-only-sysroots");
        World {
            _mounted: unwritable(&read_only),
            read_only,
            version,
            file_in_the_way,
            empty_mirror,
            bad_mirror,
            locked,
            entry_cache,
            entry,
            not_found: Server::start(|_req: &Request| Reply::status(404)),
            forbidden: Server::start(|_req: &Request| Reply::status(403)),
            endless: Server::start(|_req: &Request| Reply::bytes(&[0; 1 << 16]).endless()),
            s,
        }
    }
}

/// Bad mirrors and caches, met by `fetch`.
fn fetch_cases(w: &World) -> Vec<Case> {
    let (s, cache) = (&w.s, w.s.join("cache"));
    let (empty, in_the_way) = (&w.empty_mirror, &w.file_in_the_way);
    let fetching = |before: Vec<OsString>| [before, args!["fetch", "--python", w.version]].concat();
    let with_password = w.forbidden.url().replace("http://", "http://user:s3cret@");
    vec![
        case(
            "mirror missing",
            fetching(args!["--mirror", s.join("nowhere")]),
            s.join("nowhere").display(),
        ),
        case(
            "mirror is a file",
            fetching(args!["--mirror", in_the_way]),
            in_the_way.display(),
        ),
        case(
            "mirror without ftp/",
            fetching(args!["--mirror", s.join("no-ftp")]),
            s.join("no-ftp").display(),
        ),
        case("mirror is /", fetching(args!["--mirror", "/"]), "mirror /"),
        case(
            "mirror http://",
            fetching(args!["--mirror", "http://"]),
            "\"http://\"",
        ),
        case(
            "mirror ftp://",
            fetching(args!["--mirror", "ftp://example.org/py"]),
            "ftp://example.org/py",
        ),
        case(
            "cache is a file",
            fetching(args!["--cache-dir", in_the_way, "--mirror", empty]),
            in_the_way.display(),
        ),
        Case {
            as_nobody: true,
            ..case(
                "cache unreadable",
                fetching(args!["--cache-dir", w.locked, "--mirror", empty]),
                w.locked.display(),
            )
        },
        case(
            "cache entry is a dir",
            fetching(args!["--cache-dir", w.entry_cache, "--mirror", empty]),
            w.entry.display(),
        ),
        case(
            "offline, empty cache",
            fetching(args!["--offline", "--cache-dir", cache]),
            cache.display(),
        ),
        case(
            "mirror lacks the file",
            fetching(args!["--cache-dir", cache, "--mirror", empty]),
            empty.display(),
        ),
        case(
            "checksum mismatch",
            fetching(args!["--cache-dir", cache, "--mirror", w.bad_mirror]),
            w.bad_mirror.display(),
        ),
        case(
            "HTTP 404",
            fetching(args!["--cache-dir", cache, "--mirror", w.not_found.url()]),
            w.not_found.url(),
        ),
        case(
            "mirror streams without end",
            fetching(args!["--cache-dir", cache, "--mirror", w.endless.url()]),
            w.endless.url(),
        ),
        case(
            "HTTP 403, password",
            fetching(args!["--cache-dir", cache, "--mirror", with_password]),
            "http://***@127.0.0.1",
        ),
        Case {
            env: vec![("PYSYSROOT_FETCH_TIMEOUT", "soon".into())],
            ..case(
                "bad stall limit",
                fetching(args!["--cache-dir", cache, "--mirror", empty]),
                "PYSYSROOT_FETCH_TIMEOUT",
            )
        },
        Case {
            env: vec![("HOME", String::new()), ("XDG_CACHE_HOME", String::new())],
            ..case("no HOME", fetching(Vec::new()), "--cache-dir")
        },
    ]
}

/// Bad sysroot directories and names, met by the other commands. Where a build could start,
/// the empty mirror stops it at the download.
fn other_cases(w: &World) -> Vec<Case> {
    let building = |after: Vec<OsString>| {
        [
            args!["--cache-dir", w.s.join("cache"), "--mirror", w.empty_mirror],
            after,
        ]
        .concat()
    };
    let (in_the_way, none, missing) = (
        &w.file_in_the_way,
        w.s.join("none"),
        w.s.join("missing.txt"),
    );
    vec![
        case(
            "sysroots is a file",
            building(args![
                "--sysroots-dir",
                in_the_way,
                "build-python",
                "--no-pgo"
            ]),
            in_the_way.display(),
        ),
        case(
            "sysroots read-only",
            building(args![
                "--sysroots-dir",
                w.read_only,
                "build-python",
                "--no-pgo"
            ]),
            w.read_only.display(),
        ),
        case(
            "run, sysroots a file",
            building(args!["--sysroots-dir", in_the_way, "run", "-c", "1"]),
            in_the_way.display(),
        ),
        case(
            "env, nothing built",
            building(args!["--sysroots-dir", none, "env"]),
            none.display(),
        ),
        case(
            "dist, nothing built",
            building(args!["--sysroots-dir", none, "dist"]),
            none.display(),
        ),
        case(
            "unknown --target",
            building(args!["build-python", "--target", "riscv", "--dry-run"]),
            "sysroots/",
        ),
        case(
            "unknown --python",
            building(args!["fetch", "--python", "2.7.18"]),
            "recipes/",
        ),
        case("--jobs 0", building(args!["-j0", "fetch"]), "--jobs"),
        case(
            "requirements missing",
            building(args![
                "--sysroots-dir",
                in_the_way,
                "isolate",
                "--requirements",
                missing
            ]),
            missing.display(),
        ),
    ]
}

#[test]
fn every_failure_names_the_path_and_a_next_step() {
    let w = World::new();
    let mut cases = fetch_cases(&w);
    cases.extend(other_cases(&w));
    assert!(cases.len() >= 20);
    let cwd = scratch("walk-cwd");
    let mut failed = Vec::new();
    for c in &cases {
        match check(c, &cwd) {
            Ok(line) => println!("{line}"),
            Err(e) => failed.push(e),
        }
    }
    std::fs::set_permissions(&w.locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    let left: Vec<_> = std::fs::read_dir(&cwd)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(
        left.is_empty(),
        "the failures wrote into the current directory: {left:?}"
    );
    assert!(
        failed.is_empty(),
        "{} of {} cases:\n\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n\n")
    );
    // The download that found a directory in its place left nothing beside it.
    let beside: Vec<_> = std::fs::read_dir(w.entry.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(beside.len(), 1, "{beside:?}");
}
