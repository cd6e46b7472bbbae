//! Command lines, parsed as the Python runner's argparse did: options (`--name VALUE` or
//! `--name=VALUE`) before the module, everything after the module is the guest's.

use std::path::PathBuf;

pub const DEFAULT_MAX_WASM_STACK: usize = 16 * 1024 * 1024;

/// `--dir HOST::GUEST`, or `--dir PATH` (the same path on both sides).
#[derive(Debug, Clone, PartialEq)]
pub struct Preopen {
    pub host: PathBuf,
    pub guest: String,
}

impl Preopen {
    pub fn parse(spec: &str) -> Preopen {
        match spec.split_once("::") {
            Some((host, guest)) => Preopen {
                host: host.into(),
                guest: guest.into(),
            },
            None => Preopen {
                host: spec.into(),
                guest: spec.into(),
            },
        }
    }
}

/// Options with their values, and the positional arguments.
pub type Split = (Vec<(String, Option<String>)>, Vec<String>);

/// Splits `argv` into `(option, value)` pairs up to the first positional argument, and the
/// positional arguments. `takes_value` says which options have a value.
pub fn split(
    argv: &[String],
    takes_value: impl Fn(&str) -> bool,
    positionals_stop_options: bool,
) -> Result<Split, String> {
    let mut opts = Vec::new();
    let mut rest = Vec::new();
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        i += 1;
        if a == "--" {
            rest.extend(argv[i..].iter().cloned());
            break;
        }
        if !a.starts_with("--") || a.len() == 2 {
            rest.push(a.clone());
            if positionals_stop_options {
                rest.extend(argv[i..].iter().cloned());
                break;
            }
            continue;
        }
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        if !takes_value(&name) {
            if inline.is_some() {
                return Err(format!("option {name} takes no value"));
            }
            opts.push((name, None));
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => {
                let Some(v) = argv.get(i) else {
                    return Err(format!("option {name} needs a value"));
                };
                i += 1;
                v.clone()
            }
        };
        opts.push((name, Some(value)));
    }
    Ok((opts, rest))
}

pub fn parse_size(name: &str, value: &str) -> Result<usize, String> {
    value
        .parse()
        .map_err(|_| format!("{name} wants a number of bytes, not {value:?}"))
}

/// How to run a module: the runner's command line.
#[derive(Debug, Clone)]
pub struct Run {
    pub home_at: Option<String>,
    /// The directory given at `home_at`, when not the module's own home.
    pub home: Option<PathBuf>,
    /// A file that gets one line per run: `warm`, `cold` (a pre-initialised module that
    /// handed over to its cold one) or `plain`, then where the time went.
    pub start_log: Option<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    pub dirs: Vec<Preopen>,
    pub argv0: Option<String>,
    pub max_wasm_stack: usize,
    pub module: PathBuf,
    pub args: Vec<String>,
}

pub const RUN_USAGE: &str = "usage: wasi-runner [--home-at GUEST] [--home DIR] [--cache-dir DIR] [--dir HOST[::GUEST]]... [--argv0 NAME] [--max-wasm-stack BYTES] [--start-log FILE] MODULE [ARGS...]";

impl Run {
    pub fn parse(argv: &[String]) -> Result<Run, String> {
        let with_value = |n: &str| {
            matches!(
                n,
                "--home-at"
                    | "--home"
                    | "--cache-dir"
                    | "--dir"
                    | "--argv0"
                    | "--max-wasm-stack"
                    | "--start-log"
            )
        };
        let (opts, rest) = split(argv, with_value, true)?;
        let mut run = Run {
            home_at: None,
            home: None,
            start_log: None,
            cache_dir: None,
            dirs: Vec::new(),
            argv0: None,
            max_wasm_stack: DEFAULT_MAX_WASM_STACK,
            module: PathBuf::new(),
            args: Vec::new(),
        };
        for (name, value) in opts {
            let v = value.unwrap_or_default();
            match name.as_str() {
                "--home-at" => run.home_at = Some(v),
                "--home" => run.home = Some(v.into()),
                "--start-log" => run.start_log = Some(v.into()),
                "--cache-dir" => run.cache_dir = Some(v.into()),
                "--dir" => run.dirs.push(Preopen::parse(&v)),
                "--argv0" => run.argv0 = Some(v),
                "--max-wasm-stack" => run.max_wasm_stack = parse_size(&name, &v)?,
                other => return Err(format!("unknown option {other}")),
            }
        }
        let Some((module, args)) = rest.split_first() else {
            return Err("the module to run is missing".into());
        };
        if run.home.is_some() && run.home_at.is_none() {
            return Err("--home names the directory given at --home-at, which is missing".into());
        }
        run.module = module.into();
        run.args = args.to_vec();
        Ok(run)
    }

    /// The guest's `argv`: `--argv0`, else the module as given.
    pub fn guest_argv(&self) -> Vec<String> {
        let argv0 = self
            .argv0
            .clone()
            .unwrap_or_else(|| self.module.display().to_string());
        std::iter::once(argv0)
            .chain(self.args.iter().cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_stop_at_the_module_as_argparse_remainder_did() {
        let r = Run::parse(&strings(&[
            "--home-at",
            "/pysysroot",
            "--cache-dir=/c",
            "--dir",
            "/a::/b",
            "--dir",
            "/same",
            "--argv0",
            "python3",
            "m.wasm",
            "--home-at",
            "-c",
            "pass",
        ]))
        .unwrap();
        assert_eq!(r.home_at.as_deref(), Some("/pysysroot"));
        assert_eq!(r.cache_dir, Some(PathBuf::from("/c")));
        assert_eq!(
            r.dirs,
            vec![
                Preopen {
                    host: "/a".into(),
                    guest: "/b".into()
                },
                Preopen {
                    host: "/same".into(),
                    guest: "/same".into()
                }
            ]
        );
        assert_eq!(r.module, PathBuf::from("m.wasm"));
        assert_eq!(
            r.guest_argv(),
            strings(&["python3", "--home-at", "-c", "pass"])
        );
        assert_eq!(r.max_wasm_stack, DEFAULT_MAX_WASM_STACK);
    }

    #[test]
    fn argv0_defaults_to_the_module_as_given() {
        let r = Run::parse(&strings(&["--", "x.wasm", "a"])).unwrap();
        assert_eq!(r.guest_argv(), strings(&["x.wasm", "a"]));
    }

    #[test]
    fn bad_command_lines_say_what_is_wrong() {
        let err = |v: &[&str]| Run::parse(&strings(v)).unwrap_err();
        assert!(err(&[]).contains("module to run is missing"));
        assert!(err(&["--argv0"]).contains("--argv0 needs a value"));
        assert!(err(&["--bogus", "m.wasm"]).contains("unknown option --bogus"));
        assert!(err(&["--max-wasm-stack", "big", "m.wasm"]).contains("number of bytes"));
        assert!(err(&["--home", "/h", "m.wasm"]).contains("--home-at"));
    }
}
