//! Start-up through the warm path against cold starts: wall time of whole calls, interleaved,
//! and calls per second with several clients at once.
//!
//! ```sh
//! S=$PWD/sysroots/x86_64/3.11.2
//! PYSYSROOT_MANIFEST=$S/manifest.json PYO3_CONFIG_FILE=$S/pyo3-config.txt \
//!   cargo run --release -p engine --target x86_64-unknown-linux-gnu --example warm_bench -- \
//!   --home $S --isolate target/.../isolate [--runs 200] [--seconds 5] [--pool 2] \
//!   [--reference /usr/bin/python3.11]
//! ```
//!
//! Contestants: the library client (`engine::warm::Client`, in this process, as an engine
//! would call it), the `isolate --warm` command line (one exec of the isolate per call), a
//! cold `isolate`, and the reference python3. Every isolate runs with the sysroot's python3
//! as argv[0] and xtask's corpus environment, as the bit-exact corpus runs it.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ENV: [(&str, &str); 4] = [
    ("PATH", "/usr/bin:/bin"),
    ("LC_ALL", "C.UTF-8"),
    ("PYTHONHASHSEED", "0"),
    ("PYTHONDONTWRITEBYTECODE", "1"),
];

struct Options {
    home: PathBuf,
    isolate: PathBuf,
    reference: PathBuf,
    runs: usize,
    seconds: u64,
    pool: String,
}

fn options() -> Options {
    let mut o = Options {
        home: PathBuf::new(),
        isolate: PathBuf::new(),
        reference: PathBuf::from("/usr/bin/python3.11"),
        runs: 200,
        seconds: 5,
        pool: "2".into(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--home" => o.home = value.into(),
            "--isolate" => o.isolate = value.into(),
            "--reference" => o.reference = value.into(),
            "--runs" => o.runs = value.parse().expect("--runs N"),
            "--seconds" => o.seconds = value.parse().expect("--seconds N"),
            "--pool" => o.pool = value,
            _ => panic!("unknown option {flag}; see the header of engine/examples/warm_bench.rs"),
        }
    }
    assert!(
        o.home.join("bin").is_dir() && o.isolate.is_file(),
        "pass --home SYSROOT and --isolate PATH (see the header of engine/examples/warm_bench.rs)"
    );
    o
}

fn python_of(home: &Path) -> PathBuf {
    std::fs::read_dir(home.join("bin"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with("python3.") && !n.ends_with("-config")
        })
        .expect("the sysroot has bin/python3.X")
}

#[derive(Clone, Copy, PartialEq)]
enum Way {
    Library,
    WarmCli,
    Cold,
    Reference,
}

const WAYS: [(Way, &str); 4] = [
    (Way::Library, "warm, library client"),
    (Way::WarmCli, "warm, isolate --warm"),
    (Way::Cold, "cold isolate"),
    (Way::Reference, "reference python3"),
];

struct Bench {
    o: Options,
    python: PathBuf,
    socket: PathBuf,
    devnull: std::fs::File,
}

impl Bench {
    fn command(&self, way: Way, args: &[&str]) -> Command {
        let mut cmd = match way {
            Way::Reference => Command::new(&self.o.reference),
            _ => {
                let mut c = Command::new(&self.o.isolate);
                c.arg0(&self.python);
                c
            }
        };
        if way == Way::WarmCli {
            cmd.arg("--warm").arg(&self.socket);
        }
        cmd.args(args)
            .env_clear()
            .envs(ENV)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    /// One whole call, wall time.
    fn call(&self, way: Way, args: &[&str]) -> Duration {
        let start = Instant::now();
        let ok = if way == Way::Library {
            let mut argv: Vec<OsString> = vec![self.python.clone().into()];
            argv.extend(args.iter().map(OsString::from));
            let env: Vec<(OsString, OsString)> =
                ENV.iter().map(|(k, v)| (k.into(), v.into())).collect();
            let fd = self.devnull.as_fd();
            engine::warm::Client::connect(&self.socket)
                .and_then(|c| c.run(&argv, &env, Path::new("."), &[(0, fd), (1, fd), (2, fd)]))
                .map(|s| s.success())
                .unwrap_or_else(|e| panic!("the warm call failed: {e}"))
        } else {
            self.command(way, args).status().unwrap().success()
        };
        let took = start.elapsed();
        assert!(ok, "a call failed: {args:?}");
        took
    }
}

fn start_server(b: &Bench) -> std::process::Child {
    let mut child = Command::new(&b.o.isolate)
        .arg0(&b.python)
        .arg("--warm-serve")
        .arg(&b.socket)
        .args(["--pool", &b.o.pool])
        .env_clear()
        .envs(ENV)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("warm server on"), "{line}");
    child
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Interleaved rounds: each round calls every way once, so load drifts hit all alike.
fn latency(b: &Bench, args: &[&str]) {
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); WAYS.len()];
    for (i, (way, _)) in WAYS.iter().enumerate() {
        b.call(*way, args); // warm-up: page cache, the server's first fork
        times[i].clear();
    }
    for _ in 0..b.o.runs {
        for (i, (way, _)) in WAYS.iter().enumerate() {
            times[i].push(b.call(*way, args));
        }
    }
    let reference = median(&mut times[3].clone());
    println!(
        "\n{} ({} interleaved rounds), wall time per call:",
        args.join(" "),
        b.o.runs
    );
    for (i, (_, name)) in WAYS.iter().enumerate() {
        let min = *times[i].iter().min().unwrap();
        let med = median(&mut times[i]);
        println!(
            "  {name:24} median {:7.3} ms  min {:7.3} ms  {:5.3}x the reference",
            ms(med),
            ms(min),
            med.as_secs_f64() / reference.as_secs_f64()
        );
    }
}

/// Calls per second with `workers` clients calling back to back for the given time.
fn throughput(b: &Bench, way: Way, workers: usize, args: &[&str]) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(b.o.seconds);
    let calls: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0;
                    while Instant::now() < deadline {
                        b.call(way, args);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    calls as f64 / b.o.seconds as f64
}

fn main() {
    let o = options();
    let python = python_of(&o.home);
    let socket = std::env::temp_dir().join(format!("warm-bench-{}.sock", std::process::id()));
    let b = Bench {
        o,
        python,
        socket,
        devnull: std::fs::File::options()
            .read(true)
            .write(true)
            .open("/dev/null")
            .unwrap(),
    };
    let mut server = start_server(&b);
    let dynamic = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/dynamic.py");
    let dynamic = dynamic.display().to_string();
    println!(
        "isolate {}, CPython {}, reference {}, {} CPUs",
        b.o.isolate.display(),
        engine::PYTHON_VERSION,
        b.o.reference.display(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for args in [vec!["-c", "pass"], vec![dynamic.as_str(), "1"]] {
        latency(&b, &args);
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "\ncalls per second, {cpus} clients calling back to back for {} s:",
        b.o.seconds
    );
    for (way, name) in WAYS {
        for args in [vec!["-c", "pass"], vec![dynamic.as_str(), "1"]] {
            let rate = throughput(&b, way, cpus, &args);
            println!("  {name:24} {:28} {rate:8.0} calls/s", args.join(" "));
        }
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
    let _ = server.wait();
}
