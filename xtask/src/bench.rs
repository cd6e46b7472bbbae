//! `bench`: whole-process wall time of python3 and the isolate variants, interleaved.
//!
//! Contestants come from the same recipe: the sysroot's python3, the isolate linked against
//! the static (non-PIC), static-pic and shared sysroots when they are built, and the distro's
//! python3 when its version is the recipe's. Every round runs each contestant once, in a
//! rotating order, so drift on a noisy machine hits all of them alike; ratios are taken from
//! medians measured in the same run. Instruction counts (`--callgrind`) complement wall time.

use crate::corpus::{self, Interp};
use crate::progress::note;
use crate::{Ctx, isolate, target};
use anyhow::{Context, Result, bail, ensure};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use sysroot_manifest::{Flavor, Manifest};

pub struct Options {
    pub target: String,
    pub python: Option<String>,
    pub runs: usize,
    pub warmups: usize,
    pub callgrind: bool,
    /// Build the static-pic and shared sysroots when they are missing (each is a full build).
    pub build_variants: bool,
    pub pgo: bool,
}

#[derive(Clone, Serialize)]
struct Contestant {
    name: String,
    #[serde(skip)]
    interp: Interp,
    describe: String,
}

#[derive(Serialize, Clone)]
struct Workload {
    name: String,
    /// Arguments after the interpreter (script and its arguments).
    args: Vec<String>,
    /// Iterations, for the amortisation sweep.
    m: Option<u64>,
}

#[derive(Serialize)]
struct Stats {
    median: f64,
    min: f64,
    max: f64,
    samples: Vec<f64>,
}

#[derive(Serialize)]
struct Results {
    machine: BTreeMap<String, String>,
    contestants: Vec<Contestant>,
    reference: String,
    /// workload -> contestant -> seconds
    wall: BTreeMap<String, BTreeMap<String, Stats>>,
    /// workload -> contestant -> instructions
    instructions: BTreeMap<String, BTreeMap<String, u64>>,
    emulated: Option<String>,
}

const SWEEP: [u64; 5] = [1, 1_000, 10_000, 100_000, 1_000_000];
const CORPUS_PROGRAMS: [&str; 4] = [
    "01_ledger_decimal.py",
    "11_orm_metaclass.py",
    "21_expr_evaluator.py",
    "22_matrix_rational.py",
];

pub fn run(ctx: &Ctx, opts: &Options) -> Result<()> {
    let (target, _) = target::select(&ctx.root.join("sysroots"), &opts.target)?;
    let (recipe, _) = crate::recipe::select(&ctx.root.join("recipes"), opts.python.as_deref())?;
    let mut contestants = Vec::new();
    // Results of builds without PGO go beside, not over, those of the PGO builds.
    let mut suffix = "";
    for flavor in Flavor::ALL {
        if !target.supports(flavor) {
            continue;
        }
        let dir = crate::install::sysroot_dir(&ctx.sysroots, &target.name, &recipe.version, flavor);
        if Manifest::load(&dir).is_err() {
            if flavor == Flavor::Static || opts.build_variants {
                let o = crate::sysroot::Options {
                    target: target.name.clone(),
                    python: Some(recipe.version.clone()),
                    flavor,
                    pgo: opts.pgo,
                    lto: true,
                    force: false,
                    dry_run: false,
                };
                crate::sysroot::build_python(ctx, &o)?;
            } else {
                note(format!(
                    "no {flavor} sysroot for {} {}: its isolate is left out (--build-variants builds it)",
                    target.name, recipe.version
                ));
                continue;
            }
        }
        let (m, root) = crate::sysroot::load(ctx, &dir)?;
        let exe_name = if m.target.rust_triple.starts_with("wasm") {
            "isolate.wasm"
        } else {
            "isolate"
        };
        if !root.join("bin").join(exe_name).is_file() {
            isolate::build(ctx, &dir)?;
        }
        let runner = m.target.runner.clone();
        let describe = format!(
            "PGO {}, LTO {}, {}",
            m.build.pgo,
            m.build.lto,
            m.link.ldflags.join(" ")
        );
        if flavor == Flavor::Static {
            if !m.build.pgo {
                suffix = "-no-pgo";
            }
            let exe = root.join(&m.paths.python).display().to_string();
            contestants.push(Contestant {
                name: "python3".into(),
                interp: Interp {
                    runner: runner.clone(),
                    argv0: exe.clone(),
                    exe,
                },
                describe: format!("the sysroot's own python3 ({describe})"),
            });
        }
        let exe = root.join("bin").join(exe_name).display().to_string();
        let name = match flavor {
            Flavor::Static => "isolate static".to_string(),
            Flavor::StaticPic => "isolate static-PIC".to_string(),
            Flavor::Shared => "isolate shared".to_string(),
        };
        contestants.push(Contestant {
            name,
            interp: Interp {
                runner,
                argv0: exe.clone(),
                exe,
            },
            describe,
        });
    }
    // The distro's python3 of the same version, when there is one (Debian 12: python3.11 = 3.11.2).
    let distro = PathBuf::from(format!("/usr/bin/python{}", recipe.abi()));
    let mut reference = "python3".to_string();
    if target.runner.is_empty() && distro.is_file() {
        let v = Command::new(&distro).arg("--version").output()?;
        if String::from_utf8_lossy(&v.stdout).trim() == format!("Python {}", recipe.version) {
            let exe = distro.display().to_string();
            contestants.insert(
                0,
                Contestant {
                    name: "distro python3".into(),
                    interp: Interp {
                        runner: vec![],
                        argv0: exe.clone(),
                        exe,
                    },
                    describe: distro_describe(&distro),
                },
            );
            reference = "distro python3".into();
        }
    }

    // Programs by paths relative to the repository, which is the working directory: every
    // runner maps it (a WASI guest sees it as `/`).
    let bench = Path::new("engine/bench");
    let corpus_dir = Path::new("engine/corpus");
    let mut workloads = vec![
        Workload {
            name: "pure int loop, M=3,000,000".into(),
            args: vec![path(bench, "pure_int.py"), "3000000".into()],
            m: None,
        },
        Workload {
            name: "dynamic attribute/dispatch, M=1,000,000".into(),
            args: vec![path(bench, "dynamic.py"), "1000000".into()],
            m: None,
        },
    ];
    for m in SWEEP {
        workloads.push(Workload {
            name: format!("sweep M={m}"),
            args: vec![path(bench, "dynamic.py"), m.to_string()],
            m: Some(m),
        });
    }
    for p in CORPUS_PROGRAMS {
        workloads.push(Workload {
            name: format!("corpus {p}"),
            args: vec![path(corpus_dir, p)],
            m: None,
        });
    }

    // The runner as the sysroot recorded it, {tools} resolved.
    let emulated = contestants
        .iter()
        .find(|c| !c.interp.runner.is_empty())
        .map(|c| {
            format!(
                "run under `{}`: emulated times only support ratios",
                c.interp.runner.join(" ")
            )
        });
    let mut results = Results {
        machine: machine(ctx, &target.name, &recipe.version),
        contestants: contestants.clone(),
        reference: reference.clone(),
        wall: BTreeMap::new(),
        instructions: BTreeMap::new(),
        emulated,
    };
    let cwd = ctx.root.clone();
    for w in &workloads {
        note(format!(
            "{}: {} warm-up + {} measured rounds of {} contestants",
            w.name,
            opts.warmups,
            opts.runs,
            contestants.len()
        ));
        check_outputs_agree(&contestants, w, &cwd)?;
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); contestants.len()];
        for round in 0..opts.warmups + opts.runs {
            for k in 0..contestants.len() {
                let i = (round + k) % contestants.len();
                let secs = time_once(&contestants[i].interp, &w.args, &cwd)?;
                if round >= opts.warmups {
                    samples[i].push(secs);
                }
            }
        }
        let per: BTreeMap<String, Stats> = contestants
            .iter()
            .zip(samples)
            .map(|(c, s)| (c.name.clone(), stats(s)))
            .collect();
        let line: Vec<String> = contestants
            .iter()
            .map(|c| format!("{} {:.1} ms", c.name, per[&c.name].median * 1e3))
            .collect();
        println!("    {}", line.join(", "));
        results.wall.insert(w.name.clone(), per);
    }
    if opts.callgrind && target.runner.is_empty() {
        let small = [
            (
                "pure int loop, M=300,000",
                vec![path(bench, "pure_int.py"), "300000".to_string()],
            ),
            (
                "dynamic attribute/dispatch, M=100,000",
                vec![path(bench, "dynamic.py"), "100000".to_string()],
            ),
            (
                "start-up (M=1)",
                vec![path(bench, "dynamic.py"), "1".to_string()],
            ),
            (
                "sweep M=1,000",
                vec![path(bench, "dynamic.py"), "1000".to_string()],
            ),
            (
                "sweep M=10,000",
                vec![path(bench, "dynamic.py"), "10000".to_string()],
            ),
            // Where start-up goes: an empty program, then without `site`, then also isolated
            // from the environment, the floor CPython's own flags give.
            ("empty program: -c pass", args(&["-c", "pass"])),
            ("empty program: -S -c pass", args(&["-S", "-c", "pass"])),
            (
                "empty program: -I -S -c pass",
                args(&["-I", "-S", "-c", "pass"]),
            ),
        ];
        for (name, args) in small {
            note(format!("callgrind: {name}"));
            let mut per = BTreeMap::new();
            for c in &contestants {
                per.insert(c.name.clone(), instructions(&c.interp, &args, &cwd)?);
            }
            results.instructions.insert(name.to_string(), per);
        }
    }

    let out = ctx
        .root
        .join("target/bench")
        .join(format!("{}-{}{suffix}", target.name, recipe.version));
    std::fs::create_dir_all(&out)?;
    std::fs::write(
        out.join("results.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    let md = markdown(&results, opts);
    std::fs::write(out.join("results.md"), &md)?;
    std::fs::write(out.join("sweep.svg"), sweep_svg(&results))?;
    println!("\n{md}");
    note(format!("results in {}", out.display()));
    Ok(())
}

fn path(dir: &Path, file: &str) -> String {
    dir.join(file).display().to_string()
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// All contestants must print the same thing, or the comparison is meaningless.
fn check_outputs_agree(contestants: &[Contestant], w: &Workload, cwd: &Path) -> Result<()> {
    let mut first: Option<(String, Vec<u8>)> = None;
    for c in contestants {
        let out = corpus::run(&c.interp, &w.args, Some(b""), cwd)?;
        ensure!(
            out.status == Some(0),
            "{} failed on {}: {}",
            c.name,
            w.name,
            String::from_utf8_lossy(&out.stderr)
        );
        match &first {
            None => first = Some((c.name.clone(), out.stdout)),
            Some((name, stdout)) if *stdout != out.stdout => bail!(
                "{} and {name} print different results for {}",
                c.name,
                w.name
            ),
            _ => {}
        }
    }
    Ok(())
}

fn time_once(interp: &Interp, args: &[String], cwd: &Path) -> Result<f64> {
    let mut cmd = interp.command();
    cmd.args(args)
        .current_dir(cwd)
        .env_clear()
        .envs(corpus::clean_env())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let start = Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("running {}", interp.exe))?;
    let secs = start.elapsed().as_secs_f64();
    ensure!(status.success(), "{} exited with {status}", interp.exe);
    Ok(secs)
}

fn instructions(interp: &Interp, args: &[String], cwd: &Path) -> Result<u64> {
    use std::os::unix::process::CommandExt;
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(&interp.exe)
        .arg0("valgrind")
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .envs(corpus::clean_env())
        .output()
        .context("running valgrind (apt-get install valgrind)")?;
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text
        .lines()
        .find(|l| l.contains("Collected :"))
        .with_context(|| format!("no callgrind total for {}: {text}", interp.exe))?;
    Ok(line.rsplit(':').next().unwrap_or_default().trim().parse()?)
}

fn stats(mut s: Vec<f64>) -> Stats {
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = s.len();
    let median = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    Stats {
        median,
        min: s[0],
        max: s[n - 1],
        samples: s,
    }
}

/// Names the `.pth` files in the distro python's site directories that no Debian package
/// installed: `site` runs them at every start-up, so that python3 starts slower than a stock
/// Debian one, and the results must say so.
fn distro_describe(distro: &Path) -> String {
    let dirs = Command::new(distro)
        .args([
            "-c",
            "import site; print(*site.getsitepackages(), sep='\\n')",
        ])
        .env_clear()
        .envs(corpus::clean_env())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let mut foreign: Vec<PathBuf> = dirs
        .lines()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pth"))
        .filter(|p| {
            !Command::new("dpkg")
                .arg("-S")
                .arg(p)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    foreign.sort();
    let mut describe = "Debian's /usr/bin/python3 of the same version".to_string();
    if !foreign.is_empty() {
        let list: Vec<String> = foreign.iter().map(|p| p.display().to_string()).collect();
        note(format!(
            "warning: the distro python3 runs .pth files no Debian package installed, so it \
             starts slower than a stock Debian python3: {}",
            list.join(", ")
        ));
        let _ = write!(
            describe,
            "; it also runs {}, which no Debian package installed",
            list.join(", ")
        );
    }
    describe
}

fn machine(ctx: &Ctx, target: &str, version: &str) -> BTreeMap<String, String> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let kernel = Command::new("uname")
        .arg("-sr")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    BTreeMap::from([
        ("cpu".to_string(), cpu),
        (
            "cpus".to_string(),
            std::thread::available_parallelism()
                .map_or(0, |n| n.get())
                .to_string(),
        ),
        ("kernel".to_string(), kernel),
        ("target".to_string(), target.to_string()),
        ("cpython".to_string(), version.to_string()),
        ("revision".to_string(), crate::git_revision(&ctx.root)),
    ])
}

fn markdown(r: &Results, opts: &Options) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## Benchmark: CPython {} on {}",
        r.machine["cpython"], r.machine["target"]
    );
    let _ = writeln!(
        s,
        "\nWhole-process wall time, median of {} runs after {} warm-ups, contestants interleaved; ratio to **{}** (lower is faster).",
        opts.runs, opts.warmups, r.reference
    );
    if let Some(e) = &r.emulated {
        let _ = writeln!(s, "\n**{e}.**");
    }
    let names: Vec<&str> = r.contestants.iter().map(|c| c.name.as_str()).collect();
    let _ = writeln!(s, "\n| workload | {} |", names.join(" | "));
    let _ = writeln!(s, "|---|{}", "---|".repeat(names.len()));
    for (w, per) in &r.wall {
        let base = per[&r.reference].median;
        let cells: Vec<String> = names
            .iter()
            .map(|n| format!("{:.3}", per[*n].median / base))
            .collect();
        let _ = writeln!(s, "| {w} | {} |", cells.join(" | "));
    }
    let _ = writeln!(
        s,
        "\nMedians in milliseconds (min-max):\n\n| workload | {} |",
        names.join(" | ")
    );
    let _ = writeln!(s, "|---|{}", "---|".repeat(names.len()));
    for (w, per) in &r.wall {
        let cells: Vec<String> = names
            .iter()
            .map(|n| {
                format!(
                    "{:.1} ({:.1}-{:.1})",
                    per[*n].median * 1e3,
                    per[*n].min * 1e3,
                    per[*n].max * 1e3
                )
            })
            .collect();
        let _ = writeln!(s, "| {w} | {} |", cells.join(" | "));
    }
    if !r.instructions.is_empty() {
        let _ = writeln!(
            s,
            "\nInstructions (valgrind --tool=callgrind, whole process), ratio to {}:\n\n| workload | {} |",
            r.reference,
            names.join(" | ")
        );
        let _ = writeln!(s, "|---|{}", "---|".repeat(names.len()));
        for (w, per) in &r.instructions {
            let base = per[&r.reference] as f64;
            let cells: Vec<String> = names
                .iter()
                .map(|n| {
                    format!(
                        "{:.3} ({:.1} M)",
                        per[*n] as f64 / base,
                        per[*n] as f64 / 1e6
                    )
                })
                .collect();
            let _ = writeln!(s, "| {w} | {} |", cells.join(" | "));
        }
    }
    let _ = writeln!(s, "\nContestants:");
    for c in &r.contestants {
        let _ = writeln!(s, "- {}: {} ({})", c.name, c.interp.exe, c.describe);
    }
    let _ = writeln!(
        s,
        "\nMachine: {}",
        r.machine
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    s
}

/// The amortisation sweep as a line chart: ratio to the reference against log10(M).
fn sweep_svg(r: &Results) -> String {
    let (w, h, left, right, top, bottom) = (640.0, 400.0, 60.0, 20.0, 30.0, 50.0);
    let points: Vec<(u64, &BTreeMap<String, Stats>)> = SWEEP
        .iter()
        .filter_map(|m| r.wall.get(&format!("sweep M={m}")).map(|p| (*m, p)))
        .collect();
    let series: Vec<&Contestant> = r
        .contestants
        .iter()
        .filter(|c| c.name != r.reference)
        .collect();
    let ratios: Vec<f64> = points
        .iter()
        .flat_map(|(_, p)| {
            series
                .iter()
                .map(|c| p[&c.name].median / p[&r.reference].median)
        })
        .collect();
    let ymax = ratios.iter().cloned().fold(1.1f64, f64::max) * 1.05;
    let ymin = ratios.iter().cloned().fold(0.9f64, f64::min) * 0.95;
    let x = |m: u64| left + (m as f64).log10() / 6.0 * (w - left - right);
    let y = |v: f64| top + (ymax - v) / (ymax - ymin) * (h - top - bottom);
    let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(
        s,
        r#"<rect width="{w}" height="{h}" fill="white"/><text x="{}" y="18" text-anchor="middle">Start-up amortisation: whole-process time relative to {} (dynamic workload)</text>"#,
        w / 2.0,
        r.reference
    );
    let _ = write!(
        s,
        r#"<line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="gray" stroke-dasharray="4"/>"#,
        y(1.0),
        w - right,
        y(1.0)
    );
    for k in 0..=6u32 {
        let m = 10u64.pow(k);
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">10^{k}</text>"#,
            x(m),
            h - bottom + 18.0
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">iterations M</text>"#,
        w / 2.0,
        h - 8.0
    );
    let steps = 5;
    for i in 0..=steps {
        let v = ymin + (ymax - ymin) * i as f64 / steps as f64;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{v:.2}</text>"#,
            left - 6.0,
            y(v) + 4.0
        );
    }
    let _ = write!(
        s,
        r#"<line x1="{left}" y1="{top}" x2="{left}" y2="{}" stroke="black"/><line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="black"/>"#,
        h - bottom,
        h - bottom,
        w - right,
        h - bottom
    );
    for (ci, c) in series.iter().enumerate() {
        let color = colors[ci % colors.len()];
        let pts: Vec<String> = points
            .iter()
            .map(|(m, p)| {
                format!(
                    "{:.1},{:.1}",
                    x(*m),
                    y(p[&c.name].median / p[&r.reference].median)
                )
            })
            .collect();
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            pts.join(" ")
        );
        for pt in &pts {
            let (px, py) = pt.split_once(',').unwrap();
            let _ = write!(s, r#"<circle cx="{px}" cy="{py}" r="3" fill="{color}"/>"#);
        }
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" fill="{color}">{}</text>"#,
            left + 10.0,
            top + 16.0 + 16.0 * ci as f64,
            c.name
        );
    }
    s.push_str("</svg>\n");
    s
}
