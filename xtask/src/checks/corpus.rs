//! The bit-exact check: run the same program with the sysroot's python3 and with the isolate,
//! with the same argv (argv[0] included: messages quote the program name) and the same
//! environment, and compare stdout, stderr and exit status byte for byte.

use crate::checks::{Interp, Outcome, run};
use crate::util::fs;
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    pub file: String,
    #[serde(default)]
    pub args: Vec<String>,
    /// Builtin modules the program needs; a target without them skips it, saying so.
    #[serde(default)]
    pub needs: Vec<String>,
    /// The exit status python3 gives (documentation; the comparison is against python3).
    #[serde(default)]
    pub exit: i32,
    /// Prints the platform on purpose: exempt from the cross-target comparison.
    #[serde(default)]
    pub platform_specific: bool,
    /// Target name -> why the program cannot run there.
    #[serde(default)]
    pub skip: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct CorpusFile {
    program: Vec<Program>,
}

pub fn load(dir: &Path) -> Result<Vec<Program>> {
    let path = dir.join("corpus.toml");
    let file: CorpusFile = toml::from_str(&fs::read_to_string(&path)?)
        .with_context(|| format!("parsing {}", path.display()))?;
    for p in &file.program {
        if !dir.join(&p.file).is_file() {
            bail!("{} lists {}, which does not exist", path.display(), p.file);
        }
    }
    Ok(file.program)
}

/// A readable description of how two outcomes differ, naming each side.
pub fn diff(a: &Outcome, b: &Outcome, (la, lb): (&str, &str)) -> String {
    let mut s = String::new();
    if a.status != b.status {
        s.push_str(&format!(
            "  exit status: {la} {:?}, {lb} {:?}\n",
            a.status, b.status
        ));
    }
    for (name, x, y) in [
        ("stdout", &a.stdout, &b.stdout),
        ("stderr", &a.stderr, &b.stderr),
    ] {
        if x != y {
            let at = x
                .iter()
                .zip(y.iter())
                .position(|(p, q)| p != q)
                .unwrap_or(x.len().min(y.len()));
            let line = x[..at].iter().filter(|&&c| c == b'\n').count() + 1;
            let show = |v: &[u8]| {
                let start = v[..at.min(v.len())]
                    .iter()
                    .rposition(|&c| c == b'\n')
                    .map_or(0, |p| p + 1);
                let end = v[start..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(v.len(), |p| start + p);
                String::from_utf8_lossy(&v[start..end]).into_owned()
            };
            s.push_str(&format!(
                "  {name} differs at line {line} ({la} {} bytes, {lb} {} bytes):\n    {la}: {}\n    {lb}: {}\n",
                x.len(),
                y.len(),
                show(x),
                show(y)
            ));
        }
    }
    s
}

pub struct Report {
    pub passed: usize,
    pub total: usize,
    pub skipped: Vec<(String, String)>,
    pub failures: Vec<String>,
    /// Each corpus program's python3 outcome (the command-line cases are left out: their
    /// output quotes the interpreter's path), for comparisons across targets.
    pub outcomes: BTreeMap<String, Outcome>,
    /// Programs that print the platform on purpose.
    pub platform_specific: Vec<String>,
    /// Every case run, in order.
    pub ran: Vec<Case>,
}

/// Runs every corpus program (and CLI case) with both interpreters and compares.
pub fn check(
    corpus_dir: &Path,
    reference: &Interp,
    isolate: &Interp,
    target: &str,
    builtin: &[String],
    cases: &[Case],
) -> Result<Report> {
    let mut report = Report {
        passed: 0,
        total: 0,
        skipped: Vec::new(),
        failures: Vec::new(),
        outcomes: BTreeMap::new(),
        platform_specific: Vec::new(),
        ran: Vec::new(),
    };
    let mut all: Vec<Case> = Vec::new();
    for p in load(corpus_dir)? {
        if let Some(why) = p.skip.get(target) {
            report.skipped.push((p.file.clone(), why.clone()));
            continue;
        }
        if let Some(missing) = p.needs.iter().find(|m| !builtin.contains(m)) {
            report.skipped.push((
                p.file.clone(),
                format!("needs {missing}, absent on {target}"),
            ));
            continue;
        }
        if p.platform_specific {
            report.platform_specific.push(p.file.clone());
        }
        let mut args = vec![p.file.clone()];
        args.extend(p.args.iter().cloned());
        all.push(Case {
            args,
            exit: Some(p.exit),
            ..Case::new(&p.file, &[])
        });
    }
    all.extend(cases.iter().cloned());
    for case in &all {
        report.total += 1;
        let cwd = case.cwd.as_deref().unwrap_or(corpus_dir);
        let a = run(reference, &case.args, case.stdin.as_deref(), cwd, &case.env)?;
        let b = run(isolate, &case.args, case.stdin.as_deref(), cwd, &case.env)?;
        if let Some(want) = case.exit
            && a.status != Some(want)
        {
            // The corpus documents what python3 does; a drift there is a corpus bug, not a pass.
            println!(
                "  FAIL  {}: python3 exited with {:?}, corpus.toml says {want}\n{}",
                case.name,
                a.status,
                String::from_utf8_lossy(&a.stderr)
            );
            report.failures.push(case.name.clone());
        } else if a == b {
            report.passed += 1;
            println!(
                "  ok    {:40} exit {:?}, {} bytes out, {} bytes err",
                case.name,
                a.status,
                a.stdout.len(),
                a.stderr.len()
            );
        } else {
            println!(
                "  DIFF  {}\n{}",
                case.name,
                diff(&a, &b, ("python3", "isolate"))
            );
            report.failures.push(case.name.clone());
        }
        if case.exit.is_some() && !case.name.starts_with("cli:") {
            report.outcomes.insert(case.name.clone(), a);
        }
    }
    report.ran = all;
    Ok(report)
}

/// A command line to compare beyond the corpus programs.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub args: Vec<String>,
    /// Input; `None` closes descriptor 0.
    pub stdin: Option<Vec<u8>>,
    /// The exit status python3 must give, when known.
    pub exit: Option<i32>,
    /// Environment beyond the clean one.
    pub env: Vec<(String, String)>,
    /// Where it runs, when not in the corpus directory.
    pub cwd: Option<PathBuf>,
}

impl Case {
    pub fn new(name: &str, args: &[&str]) -> Case {
        Case {
            name: name.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            stdin: Some(Vec::new()),
            exit: None,
            env: Vec::new(),
            cwd: None,
        }
    }
}

/// python3's command-line surface that scripts and test harnesses use, run in the corpus
/// directory: `-c`, `-m`, stdin, flags, and the three failure modes (missing script, syntax
/// error, uncaught exception).
pub fn cli_cases(scratch: &Path) -> Result<Vec<Case>> {
    fs::create_dir_all(scratch)?;
    let syntax = scratch.join("syntax_error.py");
    fs::write(&syntax, "def broken(:\n    pass\n")?;
    let raises = scratch.join("uncaught.py");
    fs::write(
        &raises,
        "def inner(x):\n    return 1 / x\n\ndef outer():\n    return inner(0)\n\nprint('before')\nouter()\n",
    )?;
    let argv = scratch.join("argv.py");
    fs::write(
        &argv,
        "import sys\nprint(sys.argv)\nprint(sys.flags)\nprint(sys.warnoptions, sys._xoptions)\nprint(sys.dont_write_bytecode)\n",
    )?;
    let data = scratch.join("data.json");
    fs::write(
        &data,
        r#"{"zeta": [1, 2.5, null], "alpha": {"b": "\u00e9t\u00e9", "a": true}}"#,
    )?;
    let p = |x: &PathBuf| x.display().to_string();
    let case = Case::new;
    Ok(vec![
        case(
            "cli: missing script",
            &[&p(&scratch.join("does_not_exist.py"))],
        ),
        case("cli: syntax error", &[&p(&syntax)]),
        case("cli: uncaught exception", &[&p(&raises)]),
        case(
            "cli: -c with exit code",
            &["-c", "import sys; print('hi', sys.argv); sys.exit(7)"],
        ),
        case(
            "cli: -c SystemExit message",
            &["-c", "raise SystemExit('bye')"],
        ),
        case(
            "cli: -m json.tool",
            &["-m", "json.tool", "--sort-keys", &p(&data)],
        ),
        case("cli: -m missing module", &["-m", "no_such_module_xyz"]),
        case(
            "cli: -I -S -E -u -B",
            &["-I", "-S", "-E", "-u", "-B", &p(&argv), "a", "b c"],
        ),
        case(
            "cli: -X and -W",
            &[
                "-X",
                "utf8",
                "-X",
                "dev",
                "-W",
                "error::DeprecationWarning",
                &p(&argv),
            ],
        ),
        case(
            "cli: -W warning shown",
            &[
                "-W",
                "always",
                "-c",
                "import warnings; warnings.warn('careful')",
            ],
        ),
        case("cli: bad option", &["--no-such-option"]),
        Case {
            stdin: Some(b"import sys\nprint('stdin', sys.argv)\n".to_vec()),
            exit: Some(0),
            ..case("cli: program on stdin", &["-", "x"])
        },
        Case {
            stdin: Some(b"print(6 * 7)\n".to_vec()),
            exit: Some(0),
            ..case("cli: no arguments reads stdin", &[])
        },
        case("cli: --version", &["--version"]),
        // python3 leaves a closed descriptor closed (sys.stdin is None); Rust's runtime
        // would reopen it on /dev/null.
        Case {
            stdin: None,
            exit: Some(0),
            ..case("cli: stdin closed", &["-c", "import sys; print(sys.stdin)"])
        },
    ])
}

/// python3's behaviour that depends on the environment: `PYTHONPATH`, the user site,
/// `PYTHONHOME`, and `-E`, `-I`, `-s` ignoring them. Run in `scratch` with relative paths,
/// so they mean the same natively and inside a WASI guest (which sees its working
/// directory). `home` is a directory holding the stdlib, for `PYTHONHOME`.
pub fn env_cases(scratch: &Path, abi: &str, home: Option<&Path>) -> Result<Vec<Case>> {
    fs::create_dir_all(&scratch.join("envpath"))?;
    fs::write(
        &scratch.join("envpath/envmod.py"),
        "X = 'from PYTHONPATH'\n",
    )?;
    let user_site = scratch.join(format!("userbase/lib/python{abi}/site-packages"));
    fs::create_dir_all(&user_site)?;
    fs::write(&user_site.join("usermod.py"), "X = 'from the user site'\n")?;
    let probe = "import sys\ntry:\n    import envmod; print(envmod.X)\nexcept ImportError as e: print(e)\n\
                 try:\n    import usermod; print(usermod.X)\nexcept ImportError as e: print(e)\n\
                 print(sys.flags.ignore_environment, sys.flags.isolated, sys.flags.no_user_site, 'envpath' in str(sys.path))\n";
    let env = vec![
        ("PYTHONPATH".to_string(), "envpath".to_string()),
        ("PYTHONUSERBASE".to_string(), "userbase".to_string()),
    ];
    let case = |name: &str, flags: &[&str], env: Vec<(String, String)>| {
        let mut args: Vec<&str> = flags.to_vec();
        args.extend(["-c", probe]);
        Case {
            env,
            cwd: Some(scratch.to_path_buf()),
            ..Case::new(name, &args)
        }
    };
    let mut cases = vec![
        case("env: PYTHONPATH and the user site", &[], env.clone()),
        case("env: -E ignores PYTHONPATH", &["-E"], env.clone()),
        case("env: -s leaves out the user site", &["-s"], env.clone()),
        case("env: -I ignores both", &["-I"], env.clone()),
    ];
    if let Some(home) = home {
        let mut with_home = env;
        with_home.push(("PYTHONHOME".to_string(), home.display().to_string()));
        let code = "import os, sys; print(sys.prefix == os.environ['PYTHONHOME'], os.__file__.startswith(sys.prefix))";
        cases.push(Case {
            env: with_home,
            cwd: Some(scratch.to_path_buf()),
            ..Case::new("env: PYTHONHOME", &["-c", code])
        });
    }
    Ok(cases)
}
