//! The warm path against a real sysroot (`cargo xtask test` sets ISOLATE_TEST_HOME): the
//! corpus and python3's command-line cases give python3's bytes and statuses through
//! `isolate --warm`; calls share nothing; deaths, signals, other users, concurrency.
//!
//! The isolate under test is this build's binary, started with the sysroot's python3 as
//! argv[0] (as the bit-exact corpus runs it): it then finds the sysroot's stdlib, and
//! sys.executable and every message quoting argv[0] match python3's.
#![cfg(target_os = "linux")]

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Setup {
    python: PathBuf,
    isolate: PathBuf,
    dir: PathBuf,
}

fn setup(name: &str) -> Setup {
    let home = PathBuf::from(
        std::env::var_os("ISOLATE_TEST_HOME")
            .expect("ISOLATE_TEST_HOME names the sysroot (cargo xtask test sets it)"),
    );
    let python = std::fs::read_dir(home.join("bin"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with("python3.") && !n.ends_with("-config")
        })
        .expect("the sysroot has bin/python3.X");
    let dir = std::env::temp_dir().join(format!("engine-warm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Setup {
        python,
        isolate: PathBuf::from(env!("CARGO_BIN_EXE_isolate")),
        dir,
    }
}

/// What xtask/src/corpus.rs `clean_env` gives both interpreters.
const ENV: [(&str, &str); 4] = [
    ("PATH", "/usr/bin:/bin"),
    ("LC_ALL", "C.UTF-8"),
    ("PYTHONHASHSEED", "0"),
    ("PYTHONDONTWRITEBYTECODE", "1"),
];

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    status: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Setup {
    fn python_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.python);
        cmd.args(args).env_clear().envs(ENV);
        cmd
    }

    /// `isolate --warm SOCKET args`, as python3 by its argv[0].
    fn warm_cmd(&self, socket: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.isolate);
        cmd.arg0(&self.python)
            .arg("--warm")
            .arg(socket)
            .args(args)
            .env_clear()
            .envs(ENV);
        cmd
    }

    fn server(&self, socket: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(&self.isolate);
        cmd.arg0(&self.python)
            .arg("--warm-serve")
            .arg(socket)
            .args(extra)
            .env_clear()
            .envs(ENV)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        Server::start(cmd)
    }
}

/// Runs `cmd` with `input` on stdin (`None`: descriptor 0 closed), killing it after 60 s.
fn run(mut cmd: Command, input: Option<&[u8]>) -> Outcome {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    match input {
        Some(_) => {
            cmd.stdin(Stdio::piped());
        }
        None => {
            cmd.stdin(Stdio::null());
            // SAFETY: close(2) is async-signal-safe.
            unsafe {
                cmd.pre_exec(|| {
                    libc::close(0);
                    Ok(())
                });
            }
        }
    }
    let mut child = cmd.spawn().expect("the interpreter starts");
    if let Some(mut pipe) = child.stdin.take() {
        let data = input.unwrap_or_default().to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        });
    }
    let pid = child.id() as i32;
    let done = Arc::new(Mutex::new(false));
    let watchdog = {
        let done = done.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(60) {
                if *done.lock().unwrap() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            // SAFETY: killing our own child that overran.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        })
    };
    let out = child.wait_with_output().unwrap();
    *done.lock().unwrap() = true;
    watchdog.join().unwrap();
    Outcome {
        status: out.status.into_raw(),
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

struct Server {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn start(mut cmd: Command) -> Server {
        let mut child = cmd.spawn().expect("the server starts");
        let mut lines = BufReader::new(child.stderr.take().unwrap());
        let mut first = String::new();
        lines.read_line(&mut first).unwrap();
        assert!(
            first.contains("warm server on"),
            "the server did not start: {first}"
        );
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = lines.read_to_string(&mut rest);
            sink.lock().unwrap().push_str(&rest);
        });
        Server { child, log }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Stops the server with SIGTERM and returns its exit status.
    fn stop(mut self) -> ExitStatus {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the server ignores SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Children of `pid` by state (`R`, `S`, `Z`...), from /proc.
fn children_of(pid: i32) -> Vec<(i32, char)> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            let mut after = stat[stat.rfind(')')? + 2..].split(' ');
            let state = after.next()?.chars().next()?;
            let parent: i32 = after.next()?.parse().ok()?;
            (parent == pid).then_some((p, state))
        })
        .collect()
}

/// A command line to compare: stdin (`None`: closed), and whether the server runs it warm
/// (the others change initialisation: cold start).
struct Case {
    name: String,
    args: Vec<String>,
    input: Option<Vec<u8>>,
    warm: bool,
}

fn case(name: &str, args: &[&str], input: Option<&[u8]>, warm: bool) -> Case {
    Case {
        name: name.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        input: input.map(<[u8]>::to_vec),
        warm,
    }
}

/// python3's command-line cases, as xtask/src/corpus.rs `cli_cases` lists them.
fn cli_cases(dir: &Path) -> Vec<Case> {
    let w = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let syntax = w("syntax_error.py", "def broken(:\n    pass\n");
    let raises = w(
        "uncaught.py",
        "def inner(x):\n    return 1 / x\n\ndef outer():\n    return inner(0)\n\nprint('before')\nouter()\n",
    );
    let argv = w(
        "argv.py",
        "import sys\nprint(sys.argv)\nprint(sys.flags)\nprint(sys.warnoptions, sys._xoptions)\nprint(sys.dont_write_bytecode)\n",
    );
    let data = w(
        "data.json",
        r#"{"zeta": [1, 2.5, null], "alpha": {"b": "\u00e9t\u00e9", "a": true}}"#,
    );
    let missing = dir.join("does_not_exist.py").display().to_string();
    let c = |name: &str, args: &[&str], warm: bool| case(name, args, Some(b""), warm);
    vec![
        c("missing script", &[&missing], true),
        c("syntax error", &[&syntax], true),
        c("uncaught exception", &[&raises], true),
        c(
            "-c with exit code",
            &["-c", "import sys; print('hi', sys.argv); sys.exit(7)"],
            true,
        ),
        c(
            "-c SystemExit message",
            &["-c", "raise SystemExit('bye')"],
            true,
        ),
        c(
            "-m json.tool",
            &["-m", "json.tool", "--sort-keys", &data],
            true,
        ),
        c("-m missing module", &["-m", "no_such_module_xyz"], true),
        c(
            "-I -S -E -u -B",
            &["-I", "-S", "-E", "-u", "-B", &argv, "a", "b c"],
            false,
        ),
        c(
            "-X and -W",
            &[
                "-X",
                "utf8",
                "-X",
                "dev",
                "-W",
                "error::DeprecationWarning",
                &argv,
            ],
            false,
        ),
        c(
            "-W warning shown",
            &[
                "-W",
                "always",
                "-c",
                "import warnings; warnings.warn('careful')",
            ],
            false,
        ),
        c("-u -B (per call)", &["-u", "-B", &argv, "q"], true),
        c("bad option", &["--no-such-option"], true),
        case(
            "program on stdin",
            &["-", "x"],
            Some(b"import sys\nprint('stdin', sys.argv)\n"),
            true,
        ),
        case(
            "no arguments reads stdin",
            &[],
            Some(b"print(6 * 7)\n"),
            true,
        ),
        c("--version", &["--version"], true),
        case(
            "stdin closed",
            &["-c", "import sys; print(sys.stdin)"],
            None,
            true,
        ),
    ]
}

fn corpus_cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let list: toml::Table = std::fs::read_to_string(dir.join("corpus.toml"))
        .unwrap()
        .parse()
        .unwrap();
    list["program"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let file = p["file"].as_str().unwrap().to_string();
            let mut args = vec![file.clone()];
            if let Some(extra) = p.get("args").and_then(|a| a.as_array()) {
                args.extend(extra.iter().map(|a| a.as_str().unwrap().to_string()));
            }
            Case {
                name: file,
                args,
                input: Some(Vec::new()),
                warm: true,
            }
        })
        .collect()
}

/// The acceptance test: every corpus program and command-line case, through
/// `isolate --warm`, gives python3's stdout, stderr and wait status byte for byte; and the
/// library API runs warm exactly the calls expected to (and the others not at all).
#[test]
fn corpus_through_the_warm_path_is_bit_exact() {
    let s = setup("corpus");
    let socket = s.dir.join("s");
    let server = s.server(&socket, &[], &[]);
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut failures = Vec::new();
    let mut cases = corpus_cases();
    cases.extend(cli_cases(&s.dir));
    for Case {
        name,
        args,
        input,
        warm,
    } in &cases
    {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut py = s.python_cmd(&args);
        py.current_dir(&corpus);
        let mut cli = s.warm_cmd(&socket, &args);
        cli.current_dir(&corpus);
        let want = run(py, input.as_deref());
        let got = run(cli, input.as_deref());
        if want != got {
            failures.push(format!(
                "{name}: python3 {:?} / warm {:?}\n  python3 stderr: {}\n  warm stderr: {}",
                want.status,
                got.status,
                String::from_utf8_lossy(&want.stderr),
                String::from_utf8_lossy(&got.stderr)
            ));
        }
        let through_library = library_run(&s, &socket, &corpus, &args, input.as_deref());
        match (warm, through_library) {
            (true, Ok(out)) if out == want => {}
            (false, Err(e)) if e.is_cold() => {}
            (_, other) => failures.push(format!(
                "{name}: expected {} through the library, got {other:?}",
                if *warm {
                    "python3's outcome warm"
                } else {
                    "a cold start"
                }
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(server.stop().success());
}

/// `engine::warm::Client`, with pipes for the descriptors.
fn library_run(
    s: &Setup,
    socket: &Path,
    cwd: &Path,
    args: &[&str],
    input: Option<&[u8]>,
) -> Result<Outcome, engine::warm::Error> {
    let (out_r, out_w) = std::io::pipe().unwrap();
    let (err_r, err_w) = std::io::pipe().unwrap();
    let (in_r, mut in_w) = std::io::pipe().unwrap();
    let mut argv: Vec<OsString> = vec![s.python.clone().into()];
    argv.extend(args.iter().map(OsString::from));
    let env: Vec<(OsString, OsString)> = ENV.iter().map(|(k, v)| (k.into(), v.into())).collect();
    let mut fds = vec![(1, out_w.as_fd()), (2, err_w.as_fd())];
    if input.is_some() {
        fds.insert(0, (0, in_r.as_fd()));
    }
    let data = input.unwrap_or_default().to_vec();
    let writer = std::thread::spawn(move || {
        let _ = in_w.write_all(&data);
    });
    let readers = [out_r, err_r].map(|mut r| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    });
    let client = engine::warm::Client::connect(socket)?;
    let call = engine::warm::Call::new(&argv, &env, cwd, &fds);
    drop(fds);
    drop((out_w, err_w, in_r));
    let status = call.and_then(|c| client.start(&c)?.wait());
    writer.join().unwrap();
    let [stdout, stderr] = readers.map(|r| r.join().unwrap());
    Ok(Outcome {
        status: status?.into_raw(),
        stdout,
        stderr,
    })
}

/// A program that prints what must differ between two processes, and what must not leak
/// from one call into the next.
const PROBE: &str = r#"
import os, random, ssl, sys, tempfile, uuid
print(random.random(), next(tempfile._get_candidate_names()), uuid.uuid4(), ssl.RAND_bytes(8).hex())
print(sorted(os.listdir('/proc/self/fd')), os.environ.get('LEAKED'), 'csv' in sys.modules)
os.environ['LEAKED'] = 'yes'
import csv
leak = open(os.devnull)
"#;

/// Two calls share no random state (Python's, tempfile's, OpenSSL's), no environment
/// change, no open file, no imported module, though the server preloaded and used them all.
#[test]
fn calls_share_nothing() {
    let s = setup("isolation");
    // Preloaded and used in the server: random's instance, tempfile's name sequence and
    // OpenSSL's generator all have state before the first fork.
    std::fs::write(
        s.dir.join("warmprobe.py"),
        "import random, ssl, tempfile\nrandom.random(); ssl.RAND_bytes(16); next(tempfile._get_candidate_names())\n",
    )
    .unwrap();
    let path = s.dir.display().to_string();
    let socket = s.dir.join("s");
    let server = s.server(
        &socket,
        &["--preload", "warmprobe,uuid"],
        &[("PYTHONPATH", &path)],
    );
    let call = || {
        let mut cmd = s.warm_cmd(&socket, &["-c", PROBE]);
        cmd.env("PYTHONPATH", &path);
        let out = run(cmd, Some(b""));
        assert_eq!(out.status, 0, "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let (first, second) = (call(), call());
    let (a, b): (Vec<&str>, Vec<&str>) = (first.lines().collect(), second.lines().collect());
    for (x, y) in a[0].split(' ').zip(b[0].split(' ')) {
        assert_ne!(
            x, y,
            "two calls drew the same random value:\n{first}{second}"
        );
    }
    let mut py = s.python_cmd(&["-c", PROBE]);
    py.env("PYTHONPATH", &path);
    let cold = String::from_utf8(run(py, Some(b"")).stdout).unwrap();
    let fresh = cold.lines().nth(1).unwrap();
    assert_eq!(
        a[1], fresh,
        "the first call's descriptors or environment differ from python3's"
    );
    assert_eq!(b[1], fresh, "the first call leaked into the second");
    assert!(server.stop().success());
}

/// A program killed by a signal, crashing, or calling os._exit ends the client the same
/// way python3 would end; the server survives, serves the next call, and leaves no zombie.
#[test]
fn deaths_are_reported_like_python3() {
    let s = setup("deaths");
    let socket = s.dir.join("s");
    let server = s.server(&socket, &[], &[]);
    let programs = [
        "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
        "import ctypes; ctypes.string_at(0)",
        "import os; print('unflushed', end=''); os._exit(3)",
        "raise KeyboardInterrupt",
        "import sys; print('out'); sys.exit('message')",
        "import os, signal; os.kill(os.getpid(), signal.SIGTERM)",
    ];
    for program in programs {
        let want = run(s.python_cmd(&["-c", program]), Some(b""));
        let got = run(s.warm_cmd(&socket, &["-c", program]), Some(b""));
        assert_eq!(got, want, "{program}");
        let next = run(s.warm_cmd(&socket, &["-c", "print('alive')"]), Some(b""));
        assert_eq!(
            next.stdout, b"alive\n",
            "the server did not survive {program}"
        );
    }
    let sigkill = run(s.warm_cmd(&socket, &["-c", programs[0]]), Some(b""));
    assert_eq!(
        ExitStatus::from_raw(sigkill.status).signal(),
        Some(libc::SIGKILL)
    );
    std::thread::sleep(Duration::from_millis(200));
    let children = children_of(server.pid());
    // What remains is the pool of children waiting for calls (two by default), no zombie.
    assert!(
        children.iter().all(|&(_, state)| state != 'Z'),
        "zombies: {children:?}"
    );
    assert_eq!(children.len(), 2, "{children:?}");
    assert!(server.stop().success());
}

/// Starts `args` through the warm path and waits until it printed its first line.
fn started(s: &Setup, socket: &Path, args: &[&str]) -> (Child, String) {
    let mut cmd = s.warm_cmd(socket, args);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line)
}

/// Signals sent to the client reach the program (Ctrl-C is KeyboardInterrupt, with
/// python3's traceback and death by SIGINT); a client killed outright takes its program with
/// it.
#[test]
fn signals_reach_the_program() {
    // A shell starts background jobs with SIGINT ignored, and python3 then leaves it ignored
    // (no KeyboardInterrupt): the programs here must start with the default disposition
    // wherever the tests were started from.
    // SAFETY: restoring a default disposition, which every process may do at any time.
    unsafe { libc::signal(libc::SIGINT, libc::SIG_DFL) };
    // Children forked ahead of their call, and forked when it comes.
    for pool in ["2", "0"] {
        signals_with_pool(pool);
    }
}

fn signals_with_pool(pool: &str) {
    let s = setup(&format!("signals-{pool}"));
    let socket = s.dir.join("s");
    let server = s.server(&socket, &["--pool", pool], &[]);
    let sleeper = "import os, time; print(os.getpid(), flush=True); time.sleep(30)";
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let mut py = s.python_cmd(&["-c", sleeper]);
        py.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut python = py.spawn().unwrap();
        BufReader::new(python.stdout.as_mut().unwrap())
            .read_line(&mut String::new())
            .unwrap();
        let (warm, _) = started(&s, &socket, &["-c", sleeper]);
        // Into time.sleep: 3.13's traceback points at the expression the signal interrupts.
        std::thread::sleep(Duration::from_millis(300));
        for child in [&python, &warm] {
            // SAFETY: signalling our own children.
            unsafe { libc::kill(child.id() as i32, sig) };
        }
        let (want, got) = (
            python.wait_with_output().unwrap(),
            warm.wait_with_output().unwrap(),
        );
        assert_eq!(
            got.status.signal(),
            Some(sig),
            "signal {sig}: the warm client ended with {} (python3: {}), stderr:\n{}",
            got.status,
            want.status,
            String::from_utf8_lossy(&got.stderr)
        );
        assert_eq!(got.status.into_raw(), want.status.into_raw());
        assert_eq!(
            String::from_utf8_lossy(&got.stderr),
            String::from_utf8_lossy(&want.stderr)
        );
    }
    let (mut client, line) = started(&s, &socket, &["-c", sleeper]);
    let program: i32 = line.trim().parse().unwrap();
    client.kill().unwrap();
    client.wait().unwrap();
    let start = Instant::now();
    while Path::new(&format!("/proc/{program}")).exists() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the program outlived its client"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(server.stop().success());
}

/// Several clients at once run at once, each in its own fork.
#[test]
fn concurrent_calls() {
    let s = setup("concurrent");
    let socket = s.dir.join("s");
    let server = s.server(&socket, &[], &[]);
    let start = Instant::now();
    let clients: Vec<Child> = (0..4)
        .map(|i| {
            let code = format!("import time, sys; time.sleep(1); sys.exit({i})");
            let mut cmd = s.warm_cmd(&socket, &["-c", &code]);
            cmd.stdin(Stdio::null());
            cmd.spawn().unwrap()
        })
        .collect();
    for (i, mut c) in clients.into_iter().enumerate() {
        assert_eq!(c.wait().unwrap().code(), Some(i as i32));
    }
    assert!(
        start.elapsed() < Duration::from_millis(3500),
        "the calls ran one after the other"
    );
    assert!(server.stop().success());
}

/// The socket is its owner's only, and a client running as another user is refused with a
/// message even when the socket's mode would let it in (SO_PEERCRED).
#[test]
fn other_users_are_refused() {
    let s = setup("users");
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 || Command::new("setpriv").arg("--version").output().is_err()
    {
        eprintln!("skipped: needs root and setpriv to run a client as another user");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&s.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = s.dir.join("s");
    let server = s.server(&socket, &[], &[]);
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the socket is not owner-only");
    let nobody = |expect: &str| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&s.isolate)
            .arg("--warm")
            .arg(&socket)
            .args(["-c", "print('ran')"])
            .env_clear()
            .envs(ENV);
        let out = run(cmd, Some(b""));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(ExitStatus::from_raw(out.status).code(), Some(1), "{err}");
        assert!(out.stdout.is_empty() && err.contains(expect), "{err}");
    };
    nobody("Permission denied");
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    nobody("serves uid 0 only");
    assert!(server.stop().success());
}

/// The library API: statuses, cold-start answers, and no server.
#[test]
fn library_api() {
    let s = setup("library");
    let socket = s.dir.join("s");
    let server = s.server(&socket, &[], &[]);
    let out = library_run(
        &s,
        &socket,
        &s.dir,
        &["-c", "print('hi'); raise SystemExit(7)"],
        Some(b""),
    )
    .unwrap();
    assert_eq!((out.status >> 8, out.stdout.as_slice()), (7, &b"hi\n"[..]));
    let dev = library_run(&s, &socket, &s.dir, &["-X", "dev", "-c", "pass"], Some(b""));
    assert!(
        matches!(dev, Err(engine::warm::Error::Cold(ref why)) if why.contains("xoptions")),
        "{dev:?}"
    );
    let mut other_seed = s.warm_cmd(
        &socket,
        &["-c", "import sys; print(sys.flags.hash_randomization)"],
    );
    other_seed.env("PYTHONHASHSEED", "1");
    assert_eq!(
        run(other_seed, Some(b"")).stdout,
        b"1\n",
        "a different hash seed runs cold, honoured"
    );
    let missing = engine::warm::Client::connect(s.dir.join("nothing-here"));
    assert!(matches!(missing, Err(ref e) if e.is_cold()));
    assert!(server.stop().success());
    assert!(!socket.exists(), "the stopped server left its socket");
}

/// A second server on a live socket is refused; a stale socket file is replaced.
#[test]
fn server_lifecycle() {
    let s = setup("lifecycle");
    let socket = s.dir.join("s");
    let server = s.server(&socket, &[], &[]);
    let mut second = Command::new(&s.isolate);
    second
        .arg0(&s.python)
        .arg("--warm-serve")
        .arg(&socket)
        .env_clear()
        .envs(ENV);
    let out = run(second, Some(b""));
    assert_ne!(out.status, 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains("already listens"));
    let log = server.log.clone();
    drop(server);
    assert!(socket.exists(), "a killed server cannot remove its socket");
    let again = s.server(&socket, &[], &[]);
    let out = run(s.warm_cmd(&socket, &["-c", "print(1)"]), Some(b""));
    assert_eq!(out.stdout, b"1\n");
    assert!(again.stop().success(), "{}", log.lock().unwrap());
}

/// Runs python3 and the warm path on `program` in `dir`; the outcome, the file `out` and the
/// temporary files left must be the same.
fn same_teardown(program: &str, python: Command, warm: Command, dir: &Path, out: &Path) {
    let mut results = Vec::new();
    for mut cmd in [python, warm] {
        let _ = std::fs::remove_file(out);
        cmd.current_dir(dir);
        let outcome = run(cmd, Some(b""));
        let left: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("ntf"))
            .collect();
        results.push((outcome, std::fs::read(out).ok(), left));
    }
    assert_eq!(results[1], results[0], "{program}");
}

/// What happens after the program, which the warm path may skip when nothing could observe
/// it: each of these observes it, and must see what python3 gives.
#[test]
fn teardown_is_python3s() {
    let s = setup("teardown");
    let socket = s.dir.join("s");
    let server = s.server(&socket, &[], &[]);
    let out = s.dir.join("out.txt");
    let programs = [
        "class A:\n def __del__(self): print('del')\na = A()\nprint('end')",
        "class A:\n def __del__(self): print('cycle')\na = A(); a.me = a; del a",
        "def g():\n try:\n  yield 1\n finally:\n  print('finally')\nx = g(); next(x)",
        "async def f(): pass\nc = f()",
        "import atexit; atexit.register(print, 'bye'); print('hi')",
        "import threading, time\ndef w():\n time.sleep(0.2); print('thread')\nthreading.Thread(target=w).start()",
        "import sys, io; sys.stdout = io.StringIO(); print('lost'); sys.__stdout__.write('real\\n')",
        "import weakref\nclass A: pass\na = A(); weakref.finalize(a, print, 'finalized')",
        "import warnings; warnings.simplefilter('always'); f = open('/dev/null')",
        "import gc; gc.callbacks.append(lambda p, i: p == 'start' and i['generation'] == 2 and print('gc'))",
        "import sys; sys.addaudithook(lambda e, a: e.startswith('cpython._PySys') and print(e))",
        "import sys; sys.stdout.write('no newline')",
        "f = open(OUT, 'w'); f.write('unclosed')",
        "import tempfile; f = tempfile.NamedTemporaryFile(dir=DIR, prefix='ntf')",
        "print('a'); exit(3)",
    ];
    // A module shadowing a stdlib one, named in 3.13's AttributeError from sys.path[0].
    std::fs::write(s.dir.join("random.py"), "").unwrap();
    let shadowed = "import random; random.randint";
    let script = s.dir.join("program.py").display().to_string();
    for program in programs
        .iter()
        .chain([&shadowed, &"raise KeyboardInterrupt"])
    {
        let program = program
            .replace("OUT", &format!("{:?}", out.display().to_string()))
            .replace("DIR", &format!("{:?}", s.dir.display().to_string()));
        // As -c and as a script: on 3.13 only scripts take the warm path's own runner.
        std::fs::write(&script, &program).unwrap();
        for (python, warm) in [
            (
                s.python_cmd(&["-c", &program]),
                s.warm_cmd(&socket, &["-c", &program]),
            ),
            (s.python_cmd(&[&script]), s.warm_cmd(&socket, &[&script])),
        ] {
            same_teardown(&program, python, warm, &s.dir, &out);
        }
    }
    let interactive = |mut cmd: Command| {
        cmd.current_dir(&s.dir);
        run(cmd, Some(b"hello\n"))
    };
    assert_eq!(
        interactive(s.warm_cmd(&socket, &["-i", "-c", "x = 5"])),
        interactive(s.python_cmd(&["-i", "-c", "x = 5"])),
        "-i with stdin not a terminal"
    );
    assert!(server.stop().success());
}
