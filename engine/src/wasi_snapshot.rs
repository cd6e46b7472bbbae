//! Pre-initialised start-up of the WASI isolate: a snapshot of an interpreter that has
//! finished initialising, resumed with this run's command line, environment and stdio.
//!
//! `cargo xtask isolate --target wasi` runs the linked module's `wizer-initialize` export
//! under wizer (`wasi-runner wizen`): it initialises CPython exactly as a cold start of the
//! command line `[argv0]` would (`site` and everything else a start-up imports), records what
//! that initialisation depended on, and leaves wasi-libc with no environment and no preopens.
//! Wizer writes the memory out as the module's data and makes `pysysroot-resume` its
//! `_start`.
//!
//! A resume applies only what is the run's own: argv (`sys.argv`, `sys.orig_argv`, what to
//! run), what argv[0] makes of `sys.executable`, the environment (`os.environ`), the locale
//! category CPython sets (`LC_CTYPE`), and stdio (re-created as CPython's `create_stdio`
//! does, so tty and buffering are this run's). Everything else a cold start would derive
//! differently must be the snapshot's, or the run is not resumed:
//! - the command line has no interpreter option: `[-c CMD | -m MOD | SCRIPT | -] [ARGS]`;
//! - the `PYTHON*` environment is the snapshot's (a different `PYTHONHASHSEED` included: the
//!   hash secret is in the snapshot);
//! - the locale is not C/POSIX and has the snapshot's character set;
//! - the configuration a cold start would compute (getpath included, which looks at the
//!   files) equals the snapshot's, but for the per-run fields above;
//! - what initialisation imported from (sys.path entries, .pth files, module files) is
//!   unchanged, no pyvenv.cfg appeared, stdin is not a directory.
//!
//! Otherwise the guest writes [`WANTS_COLD`] to the word it exports as
//! `pysysroot_warm_protocol` (the reason's length and bytes follow the word) and exits before
//! doing anything else; a runner that wrote
//! [`COLD_READY`] there (pysysroot's `wasi-runner`) then runs the cold module it was made
//! from, which the warm module names in its `pysysroot-warm` section. Under any other runtime
//! the guest says why and which module to run instead.

use crate::{cli, stdlib};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use std::cell::UnsafeCell;
use std::ffi::{CStr, CString, c_char, c_int};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// What the runner and a resuming guest talk through (see the module's documentation): the
/// word, then why the guest wants the cold module, for the runner's start log (a fallback is
/// silent otherwise, and a snapshot that never resumes would go unnoticed).
#[repr(C)]
pub struct Protocol {
    word: AtomicU32,
    why_len: AtomicU32,
    why: UnsafeCell<[u8; WHY_CAPACITY]>,
}

// SAFETY: the guest has one thread; `why` is written once, before the exit the runner reads it
// after.
unsafe impl Sync for Protocol {}

const WHY_CAPACITY: usize = 512;

#[unsafe(export_name = "pysysroot_warm_protocol")]
pub static PROTOCOL: Protocol = Protocol {
    word: AtomicU32::new(0),
    why_len: AtomicU32::new(0),
    why: UnsafeCell::new([0; WHY_CAPACITY]),
};
pub const COLD_READY: u32 = 1;
pub const WANTS_COLD: u32 = 2;

/// Configuration fields that are the run's own; every other one must be the snapshot's.
const PER_RUN: [&str; 8] = [
    "argv",
    "orig_argv",
    "run_command",
    "run_module",
    "run_filename",
    "program_name",
    "executable",
    "base_executable",
];

/// What the snapshot was initialised from, for the resume to compare with.
struct Snapshot {
    helper: Py<PyDict>,
    reference: Py<PyDict>,
    /// The interpreter's stdio settings (encoding and errors as start-up normalised them,
    /// buffering), for the streams each run re-creates.
    stdio: Py<PyAny>,
    stamps: Py<PyAny>,
    python_env: Vec<Vec<u8>>,
    codeset: Vec<u8>,
}

static SNAPSHOT: OnceLock<Snapshot> = OnceLock::new();

/// CPython's memory of the path configuration it computed (Python/pathconfig.c); a cold
/// process starts with it empty.
#[repr(C)]
struct PathConfig {
    strings: [*mut libc::wchar_t; 8],
    is_python_build: c_int,
}

unsafe extern "C" {
    fn __wasilibc_reset_preopens();
    fn __wasilibc_deinitialize_environ();
    fn __wasilibc_initialize_environ();
    static mut _Py_path_config: PathConfig;
    fn _PyConfig_Read(config: *mut ffi::PyConfig, compute_path_config: c_int) -> ffi::PyStatus;
    fn _PyConfig_InitImportConfig(config: *mut ffi::PyConfig) -> ffi::PyStatus;
    fn _PyConfig_AsDict(config: *const ffi::PyConfig) -> *mut ffi::PyObject;
    fn _PyInterpreterState_GetConfig(interp: *mut ffi::PyInterpreterState) -> *const ffi::PyConfig;
    fn _PyPathConfig_UpdateGlobal(config: *const ffi::PyConfig) -> ffi::PyStatus;
}

/// Wizer's initialisation: a cold start of `[argv0]` up to the point where it would run
/// the program, then what the resume compares with, then wasi-libc's per-run state dropped.
#[unsafe(export_name = "wizer-initialize")]
pub extern "C" fn initialize() {
    let argv = arguments();
    // An export runs without the command's start-up, which reads the environment into
    // wasi-libc's `environ`: CPython would start as if it had none (hash seed included).
    // SAFETY: wasi-libc's own entry point, before anything reads the environment.
    unsafe { __wasilibc_initialize_environ() };
    // SAFETY: `argv` holds valid C strings for the duration; initialisation happens once.
    unsafe {
        let mut config = Config::new();
        let ptrs = pointers(&argv);
        let mut used = None;
        let mut status = cli::configure(config.as_mut(), &ptrs, &mut used);
        if ffi::PyStatus_Exception(status) == 0 {
            status = stdlib::start(config.as_mut(), used.as_ref());
        }
        drop(config);
        if ffi::PyStatus_Exception(status) != 0 {
            ffi::Py_ExitStatusException(status);
        }
    }
    let snapshot = Python::attach(|py| record(py, &argv)).unwrap_or_else(|e| {
        eprintln!("isolate: cannot prepare the snapshot: {e}");
        std::process::exit(1)
    });
    if SNAPSHOT.set(snapshot).is_err() {
        eprintln!("isolate: wizer-initialize ran twice");
        std::process::exit(1);
    }
    // SAFETY: wasi-libc's own entry points for exactly this (pre-initialisation).
    unsafe {
        libc::fflush(std::ptr::null_mut());
        __wasilibc_reset_preopens();
        __wasilibc_deinitialize_environ();
    }
}

fn record(py: Python<'_>, argv: &[CString]) -> Result<Snapshot, String> {
    let helper = PyDict::new(py);
    let setup = || -> PyResult<()> {
        helper.set_item("sys", py.import("sys")?)?;
        let code = CString::new(include_str!("wasi_snapshot.py")).expect("no NUL in the source");
        py.run(&code, Some(&helper), None)?;
        function(&helper, "check_snapshot")?.call0()?;
        Ok(())
    };
    setup().map_err(|e| format!("its Python side failed: {e}"))?;
    let (config, reference) = cold_config(py, argv)?;
    drop(config);
    let stamps = function(&helper, "stamps")
        .and_then(|f| f.call0())
        .map_err(|e| format!("recording what initialisation read: {e}"))?;
    // SAFETY: the interpreter is initialised and this thread holds it.
    let live = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            _PyConfig_AsDict(_PyInterpreterState_GetConfig(ffi::PyInterpreterState_Get())),
        )
    };
    let stdio = live
        .and_then(|d| {
            let d = d.cast_into::<PyDict>()?;
            let get = |k: &str| {
                d.get_item(k)
                    .map(|v| v.unwrap_or_else(|| py.None().into_bound(py)))
            };
            Ok((
                get("stdio_encoding")?,
                get("stdio_errors")?,
                get("buffered_stdio")?,
            )
                .into_pyobject(py)?
                .into_any()
                .unbind())
        })
        .map_err(|e| format!("reading the interpreter's configuration: {e}"))?;
    Ok(Snapshot {
        helper: helper.unbind(),
        reference: reference.unbind(),
        stdio,
        stamps: stamps.unbind(),
        python_env: python_env(),
        codeset: codeset(),
    })
}

/// `_start` of the pre-initialised module.
#[unsafe(export_name = "pysysroot-resume")]
pub extern "C" fn resume() {
    // SAFETY: the environment wasi-libc dropped at snapshot time is this run's now.
    unsafe { __wasilibc_initialize_environ() };
    let argv = arguments();
    match Python::attach(|py| warm(py, &argv)) {
        // SAFETY: the interpreter is initialised and configured for this run.
        Ok(()) => std::process::exit(unsafe { ffi::Py_RunMain() }),
        Err(why) => cold(&why),
    }
}

/// Nothing has been written or read yet: the cold module can start in our place.
fn cold(why: &str) -> ! {
    if PROTOCOL.word.load(Ordering::SeqCst) == COLD_READY {
        let n = why.len().min(WHY_CAPACITY);
        // SAFETY: see `Protocol`; nothing else touches `why`.
        let buf = unsafe { &mut *PROTOCOL.why.get() };
        buf[..n].copy_from_slice(&why.as_bytes()[..n]);
        PROTOCOL.why_len.store(n as u32, Ordering::SeqCst);
        PROTOCOL.word.store(WANTS_COLD, Ordering::SeqCst);
        std::process::exit(0);
    }
    eprintln!(
        "isolate: this module is a snapshot of an initialised interpreter, and cannot start as asked: {why}.\n\
         Run the module it was made from (isolate.cold.wasm beside it), or run this one under pysysroot's wasi-runner, which does so by itself."
    );
    std::process::exit(2)
}

/// Applies this run to the snapshot, or says why a cold start would differ.
fn warm(py: Python<'_>, argv: &[CString]) -> Result<(), String> {
    let snap = SNAPSHOT.get().ok_or("the module was not pre-initialised")?;
    plain_command_line(argv)?;
    if python_env() != snap.python_env {
        return Err("its PYTHON* environment differs from the snapshot's".into());
    }
    // CPython sets LC_CTYPE from the environment at start-up, and keeps it.
    // SAFETY: an empty locale name asks for the environment's.
    let name = unsafe { CStr::from_ptr(libc::setlocale(libc::LC_CTYPE, c"".as_ptr())) };
    if matches!(name.to_bytes(), b"C" | b"POSIX") || codeset() != snap.codeset {
        return Err(format!(
            "its locale {} is not one the snapshot's start-up would treat the same",
            name.to_string_lossy()
        ));
    }
    let (config, fresh) = cold_config(py, argv)?;
    same_configuration(py, &snap.reference, &fresh)?;
    let helper = snap.helper.bind(py);
    let get = |k: &str| fresh.get_item(k).ok().flatten();
    let why = function(helper, "changed")
        .and_then(|f| f.call1((snap.stamps.bind(py), get("base_executable"))))
        .map_err(|e| format!("checking what start-up read: {e}"))?;
    if !why.is_none() {
        return Err(why.to_string());
    }
    // SAFETY: the interpreter's own configuration, updated with this run's fields only.
    unsafe { adopt(&config)? };
    drop(config);
    let environ = PyList::new(py, environment().iter().map(|e| PyBytes::new(py, e)))
        .map_err(|e| e.to_string())?;
    function(helper, "apply")
        .and_then(|f| {
            f.call1((
                environ,
                get("argv"),
                get("orig_argv"),
                get("executable"),
                get("base_executable"),
                snap.stdio.bind(py),
            ))
        })
        .map_err(|e| format!("applying the run: {e}"))?;
    Ok(())
}

/// `python3 [-c CMD | -m MOD | SCRIPT | -] [ARGS]`: parsing it changes nothing of the
/// initialisation and prints nothing, where an interpreter option may do both.
fn plain_command_line(argv: &[CString]) -> Result<(), String> {
    match argv.get(1).map(|a| a.to_bytes()) {
        _ if argv.is_empty() => Err("it has no argv[0]".into()),
        None | Some(b"-") => Ok(()),
        Some(b"-c" | b"-m") if argv.len() > 2 => Ok(()),
        Some(a) if !a.starts_with(b"-") => Ok(()),
        Some(a) => Err(format!(
            "the interpreter option {} changes start-up",
            String::from_utf8_lossy(a)
        )),
    }
}

/// A function of the Python side.
fn function<'py>(helper: &Bound<'py, PyDict>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    helper.get_item(name)?.ok_or_else(|| {
        pyo3::exceptions::PyKeyError::new_err(format!("wasi_snapshot.py has no {name}"))
    })
}

/// A configuration without its per-run fields.
fn strip<'py>(d: &Bound<'py, PyDict>) -> PyResult<Bound<'py, PyDict>> {
    let c = d.copy()?;
    for k in PER_RUN {
        c.del_item(k)?;
    }
    Ok(c)
}

fn same_configuration(
    py: Python<'_>,
    reference: &Py<PyDict>,
    fresh: &Bound<'_, PyDict>,
) -> Result<(), String> {
    let (a, b) = strip(reference.bind(py))
        .and_then(|a| Ok((a, strip(fresh)?)))
        .map_err(|e| format!("comparing configurations: {e}"))?;
    if a.eq(&b).unwrap_or(false) {
        return Ok(());
    }
    let differ: Vec<String> = a
        .iter()
        .filter(|(k, v)| {
            b.get_item(k)
                .ok()
                .flatten()
                .is_none_or(|w| !v.eq(w).unwrap_or(false))
        })
        .map(|(k, _)| k.to_string())
        .collect();
    Err(format!(
        "its start-up would differ from the snapshot's in {}",
        differ.join(", ")
    ))
}

/// The configuration a cold start of `argv` would initialise with (in this environment, with
/// these files): the command line read as `cli::main` reads it, then what
/// `Py_InitializeFromConfig` computes before it starts the interpreter, getpath included.
fn cold_config<'py>(
    py: Python<'py>,
    argv: &[CString],
) -> Result<(Config, Bound<'py, PyDict>), String> {
    let mut config = Config::new();
    let ptrs = pointers(argv);
    // SAFETY: `config` is initialised; `ptrs` points into `argv`, alive for the call; the path
    // memory is put back as it was.
    unsafe {
        let c = config.as_mut();
        // Reading a configuration takes the program name and the executable from this memory
        // when it holds them, as it does after the snapshot's start.
        let saved = std::ptr::read(&raw const _Py_path_config);
        std::ptr::write_bytes(&raw mut _Py_path_config, 0, 1);
        let mut status = cli::configure(c, &ptrs, &mut None);
        // The warnings a missing prefix gives are the cold start's to print.
        c.pathconfig_warnings = 0;
        if ffi::PyStatus_Exception(status) == 0 {
            status = _PyConfig_Read(c, 0);
        }
        if ffi::PyStatus_Exception(status) == 0 {
            status = _PyConfig_InitImportConfig(c);
        }
        std::ptr::write(&raw mut _Py_path_config, saved);
        if ffi::PyStatus_Exception(status) != 0 {
            let _ = PyErr::take(py);
            return Err("its configuration cannot be read without starting".into());
        }
        let dict = Bound::from_owned_ptr_or_err(py, _PyConfig_AsDict(config.as_ref()))
            .and_then(|d| Ok(d.cast_into::<PyDict>()?))
            .map_err(|e| format!("reading its configuration: {e}"))?;
        Ok((config, dict))
    }
}

/// Puts this run's own fields into the interpreter's configuration (what `Py_RunMain` runs,
/// `sys.orig_argv`...) and CPython's memory of the executable.
///
/// # Safety
/// The interpreter is initialised and this thread holds it.
unsafe fn adopt(fresh: &Config) -> Result<(), String> {
    unsafe {
        let cfg = _PyInterpreterState_GetConfig(ffi::PyInterpreterState_Get()).cast_mut();
        let f = fresh.as_ref();
        let mut status = ffi::PyStatus_Ok();
        for (to, from) in [
            (&raw mut (*cfg).argv, &f.argv),
            (&raw mut (*cfg).orig_argv, &f.orig_argv),
        ] {
            if ffi::PyStatus_Exception(status) == 0 {
                status = ffi::PyConfig_SetWideStringList(cfg, to, from.length, from.items);
            }
        }
        for (to, from) in [
            (&raw mut (*cfg).run_command, f.run_command),
            (&raw mut (*cfg).run_module, f.run_module),
            (&raw mut (*cfg).run_filename, f.run_filename),
            (&raw mut (*cfg).program_name, f.program_name),
            (&raw mut (*cfg).executable, f.executable),
            (&raw mut (*cfg).base_executable, f.base_executable),
        ] {
            if ffi::PyStatus_Exception(status) == 0 {
                status = ffi::PyConfig_SetString(cfg, to, from);
            }
        }
        if ffi::PyStatus_Exception(status) == 0 {
            status = _PyPathConfig_UpdateGlobal(cfg);
        }
        match ffi::PyStatus_Exception(status) {
            0 => Ok(()),
            _ => Err("out of memory applying the command line".into()),
        }
    }
}

/// A `PyConfig` that is cleared when dropped.
struct Config(Box<std::mem::MaybeUninit<ffi::PyConfig>>);

impl Config {
    fn new() -> Config {
        let mut c = Box::new(std::mem::MaybeUninit::uninit());
        // SAFETY: CPython initialises every field.
        unsafe { ffi::PyConfig_InitPythonConfig(c.as_mut_ptr()) };
        Config(c)
    }
    fn as_mut(&mut self) -> &mut ffi::PyConfig {
        // SAFETY: initialised in `new`.
        unsafe { self.0.assume_init_mut() }
    }
    fn as_ref(&self) -> &ffi::PyConfig {
        // SAFETY: initialised in `new`.
        unsafe { self.0.assume_init_ref() }
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        // SAFETY: initialised in `new`, cleared once.
        unsafe { ffi::PyConfig_Clear(self.0.as_mut_ptr()) }
    }
}

/// This run's arguments, from WASI.
fn arguments() -> Vec<CString> {
    std::env::args_os()
        .map(|a| CString::new(a.into_encoded_bytes()).unwrap_or_else(|_| CString::from(c"?")))
        .collect()
}

fn pointers(argv: &[CString]) -> Vec<*mut c_char> {
    argv.iter().map(|a| a.as_ptr().cast_mut()).collect()
}

/// libc's environment, entry by entry, in its order.
fn environment() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    // SAFETY: `environ` is wasi-libc's, initialised, NULL-terminated.
    unsafe {
        let mut e = libc::environ;
        while !e.is_null() && !(*e).is_null() {
            out.push(CStr::from_ptr(*e).to_bytes().to_vec());
            e = e.add(1);
        }
    }
    out
}

/// The `PYTHON*` entries, sorted: CPython reads its settings from them.
fn python_env() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = environment()
        .into_iter()
        .filter(|e| e.starts_with(b"PYTHON"))
        .collect();
    v.sort();
    v
}

/// The character set of the current `LC_CTYPE`, from which CPython takes its encodings.
fn codeset() -> Vec<u8> {
    // SAFETY: nl_langinfo returns a valid string.
    unsafe { CStr::from_ptr(libc::nl_langinfo(libc::CODESET)) }
        .to_bytes()
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(v: &[&str]) -> Vec<CString> {
        v.iter().map(|s| CString::new(*s).unwrap()).collect()
    }

    #[test]
    fn only_plain_command_lines_resume() {
        for ok in [
            &["python3"][..],
            &["python3", "script.py", "-I"],
            &["python3", "-"],
            &["python3", "-c", "pass", "-E"],
            &["python3", "-m", "json.tool"],
        ] {
            assert!(plain_command_line(&argv(ok)).is_ok(), "{ok:?}");
        }
        for cold in [
            &[][..],
            &["python3", "-I", "script.py"],
            &["python3", "-c"],
            &["python3", "-cpass"],
            &["python3", "--version"],
        ] {
            assert!(plain_command_line(&argv(cold)).is_err(), "{cold:?}");
        }
    }
}
