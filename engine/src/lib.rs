//! The isolate: CPython embedded in a Rust binary, linked statically against a sysroot.
//!
//! Two ways in:
//! - [`cli::main`]: a `python3`-compatible command line (`isolate script.py`, `-c`, `-m`, `-I`,
//!   `-X`...). It is CPython's own argument parsing and `Py_RunMain`, so behaviour, exit codes,
//!   tracebacks and signal handling are python3's.
//! - [`Interpreter`]: an embedding API. The interpreter starts from an explicit [`Config`]
//!   instead of PyO3's `Python::initialize` (which calls `Py_InitializeEx(0)`: no signal
//!   handlers, the environment read implicitly); then PyO3 is used as usual.
//!
//! - [`warm`] (Linux): a server that starts the interpreter once and forks it for each
//!   program, with python3's behaviour, and its client.
//! - `wasi_snapshot` (WASI): the isolate module pre-initialised at build time, resumed with
//!   each run's command line, environment and stdio, or handing the run to the cold module
//!   when a cold start would initialise differently.
//!
//! Where the standard library comes from is decided by [`stdlib`]: appended to the executable
//! (a single relocatable file), or next to it like python3's `lib/pythonX.Y`.

pub mod cli;
mod elf;
mod status;
pub mod stdlib;
#[cfg(target_os = "linux")]
pub mod warm;
#[cfg(target_os = "wasi")]
pub mod wasi_snapshot;
mod zipdir;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

pub use status::Error;

/// The CPython version this crate was linked against.
pub const PYTHON_VERSION: &str = env!("ISOLATE_PYTHON_VERSION");

/// The sysroot this crate was linked against: its `lib/pythonX.Y` is a stdlib to start with
/// during development ([`Config::home`]). A program you ship carries its own.
pub const SYSROOT: &str = env!("ISOLATE_SYSROOT");

/// How an embedded interpreter starts. The defaults suit an engine: nothing is taken from the
/// process environment, no signal handlers are installed (the host owns signals), no
/// `site-packages`, no bytecode written next to sources.
#[derive(Clone, Debug)]
pub struct Config {
    /// Standard library location; `None` finds it like python3 does, or in the executable.
    pub home: Option<PathBuf>,
    /// Extra directories or zip files prepended to `sys.path`.
    pub paths: Vec<PathBuf>,
    /// `sys.argv` (its first item is `sys.argv[0]`).
    pub argv: Vec<String>,
    /// Ignore `PYTHON*` environment variables and the user site directory (`-I`).
    pub isolated: bool,
    /// Import `site` at start-up (adds site-packages; off by default).
    pub import_site: bool,
    /// Install Python's SIGINT handler (so Ctrl-C raises KeyboardInterrupt).
    pub signal_handlers: bool,
    /// Write `__pycache__/*.pyc` files.
    pub write_bytecode: bool,
    /// UTF-8 mode (`-X utf8`): stdio and file names in UTF-8 whatever the locale. On by
    /// default: an isolated interpreter does not read the locale, and without it would
    /// write only ASCII to stdio. Off, the locale decides as in python3.
    pub utf8_mode: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            home: None,
            paths: Vec::new(),
            argv: vec![String::new()],
            isolated: true,
            import_site: false,
            signal_handlers: false,
            write_bytecode: false,
            utf8_mode: true,
        }
    }
}

static STARTED: AtomicBool = AtomicBool::new(false);

/// The process's one embedded interpreter; finalised when dropped.
pub struct Interpreter {
    /// The main thread state, detached while no Python code runs so that PyO3 can attach.
    main: *mut ffi::PyThreadState,
}

/// What running code ended with: its exit status as python3 would report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit(pub i32);

impl Interpreter {
    /// Starts CPython from `config`. Only one interpreter per process, once.
    pub fn start(config: &Config) -> Result<Interpreter, Error> {
        if STARTED.swap(true, Ordering::SeqCst) {
            return Err(Error::new(
                "an interpreter was already started in this process",
            ));
        }
        // SAFETY: the configs are initialised by CPython before any field is written, cleared
        // after use, and initialisation happens once, on this thread.
        unsafe {
            let mut pre = std::mem::MaybeUninit::<ffi::PyPreConfig>::uninit();
            let mut raw = std::mem::MaybeUninit::<ffi::PyConfig>::uninit();
            if config.isolated {
                ffi::PyPreConfig_InitIsolatedConfig(pre.as_mut_ptr());
                ffi::PyConfig_InitIsolatedConfig(raw.as_mut_ptr());
            } else {
                ffi::PyPreConfig_InitPythonConfig(pre.as_mut_ptr());
                ffi::PyConfig_InitPythonConfig(raw.as_mut_ptr());
            }
            // The locale and UTF-8 mode are fixed before anything of the configuration is read.
            let pre = pre.assume_init_mut();
            if config.utf8_mode {
                pre.utf8_mode = 1;
            }
            status::check(ffi::Py_PreInitialize(pre))?;
            let raw = raw.assume_init_mut();
            let result = Self::fill(raw, config)
                .and_then(|carried| status::check(stdlib::start(raw, carried.as_ref())));
            ffi::PyConfig_Clear(raw);
            result?;
            let interpreter = Interpreter {
                main: ffi::PyEval_SaveThread(),
            };
            interpreter.prepend_paths(&config.paths)?;
            Ok(interpreter)
        }
    }

    /// Fills `raw` from `config`; returns the stdlib the executable carries, when `raw` now
    /// points at it.
    unsafe fn fill(
        raw: &mut ffi::PyConfig,
        config: &Config,
    ) -> Result<Option<stdlib::Carried>, Error> {
        raw.site_import = config.import_site as i32;
        raw.install_signal_handlers = config.signal_handlers as i32;
        raw.write_bytecode = config.write_bytecode as i32;
        raw.parse_argv = 0;
        let argv: Vec<CString> = config
            .argv
            .iter()
            .map(|a| status::cstring(a))
            .collect::<Result<_, _>>()?;
        let mut ptrs: Vec<*const std::ffi::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        unsafe {
            status::check(ffi::PyConfig_SetBytesArgv(
                raw,
                ptrs.len() as ffi::Py_ssize_t,
                ptrs.as_mut_ptr(),
            ))?;
            if let Some(home) = &config.home {
                status::set_path(raw, |c| &mut c.home, home)?;
                return Ok(None);
            }
            if let Some(carried) = stdlib::self_contained() {
                status::check(ffi::PyConfig_Read(raw))?;
                if stdlib::configure(raw, &carried.exe)? {
                    return Ok(Some(carried));
                }
            }
            Ok(None)
        }
    }

    /// `Config::paths`, ahead of the search path CPython computed.
    fn prepend_paths(&self, paths: &[PathBuf]) -> Result<(), Error> {
        if paths.is_empty() {
            return Ok(());
        }
        self.with(|py| {
            let path = py.import("sys")?.getattr("path")?;
            for (i, p) in paths.iter().enumerate() {
                path.call_method1("insert", (i, p.display().to_string()))?;
            }
            Ok::<(), PyErr>(())
        })
        .map_err(|e| Error::new(format!("extending sys.path: {e}")))
    }

    /// Runs `source` as the `__main__` module, like `python3 -c`: an uncaught exception prints
    /// its traceback to stderr and gives exit status 1; `SystemExit` gives its code.
    pub fn run_source(&self, source: &str, filename: &str) -> Exit {
        Python::attach(|py| {
            let result = (|| -> PyResult<()> {
                let main = py.import("__main__")?;
                let globals = main.dict();
                let builtins = py.import("builtins")?;
                let code = builtins
                    .getattr("compile")?
                    .call1((source, filename, "exec"))?;
                builtins.getattr("exec")?.call1((code, &globals))?;
                Ok(())
            })();
            exit_status(py, result)
        })
    }

    /// Runs a script file as `__main__`, like `python3 path`.
    pub fn run_file(&self, path: &Path) -> Exit {
        let source = match std::fs::read_to_string(path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("isolate: can't open file '{}': {e}", path.display());
                return Exit(2);
            }
        };
        Python::attach(|py| {
            if let Ok(main) = py.import("__main__") {
                let _ = main.dict().set_item("__file__", path.display().to_string());
            }
        });
        self.run_source(&source, &path.display().to_string())
    }

    /// Runs `f` with the interpreter attached to this thread, for anything PyO3 can do.
    pub fn with<R>(&self, f: impl for<'py> FnOnce(Python<'py>) -> R) -> R {
        Python::attach(f)
    }
}

impl Drop for Interpreter {
    fn drop(&mut self) {
        // SAFETY: `main` is the thread state saved in `start`; finalisation happens once.
        unsafe {
            ffi::PyEval_RestoreThread(self.main);
            ffi::Py_FinalizeEx();
        }
    }
}

/// python3's rules for the status of a finished `__main__`.
fn exit_status(py: Python<'_>, result: PyResult<()>) -> Exit {
    let Err(err) = result else { return Exit(0) };
    if err.is_instance_of::<pyo3::exceptions::PySystemExit>(py) {
        let code = err.value(py).getattr("code").ok();
        return match code {
            None => Exit(0),
            Some(c) if c.is_none() => Exit(0),
            Some(c) => match c.extract::<i32>() {
                Ok(n) => Exit(n),
                Err(_) => {
                    // A non-integer code is printed, and the status is 1.
                    let kwargs = PyDict::new(py);
                    let _ = py
                        .import("sys")
                        .and_then(|sys| kwargs.set_item("file", sys.getattr("stderr")?));
                    let _ = py
                        .import("builtins")
                        .and_then(|b| b.getattr("print")?.call((c,), Some(&kwargs)));
                    Exit(1)
                }
            },
        };
    }
    err.print(py);
    Exit(1)
}
