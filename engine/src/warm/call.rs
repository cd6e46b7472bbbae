//! One call's configuration and run, in the forked interpreter.
//!
//! The call's PyConfig is read by CPython from its command line, exactly as `cli::main` reads
//! it. The fields a run may change (`PER_CALL` in child.py) are then written into the running
//! interpreter's own config and into sys, as `_PyInterpreterState_SetConfig` would write
//! them; that function is not used because it re-reads the whole config and recomputes the
//! path configuration (the frozen getpath.py, unmarshalled and run again) on every call,
//! about a fifth of a warm call's time.
//!
//! The program then runs through `Py_RunMain`, CPython's own `pymain_run_python`, except for
//! scripts, and `-c` on 3.11 (see [`run_plain`]): those are run the way `pymain_run_python`
//! runs them, with CPython's own runners, so that this code knows the exit status before
//! finalising, and can skip a finalisation that would have no observable effect
//! ([`finish`]). `Py_RunMain` offers no such point: tearing down the interpreter's modules
//! writes to every page of the heap the child shares with the server, which costs as much as
//! the rest of the call.

use super::server::Context;
use crate::{status, stdlib};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyModule, PyTuple};
use std::ffi::{CStr, CString, c_char, c_int};
use std::sync::atomic::{AtomicBool, Ordering};

unsafe extern "C" {
    fn _PyConfig_AsDict(config: *const ffi::PyConfig) -> *mut ffi::PyObject;
    fn _PyInterpreterState_GetConfigCopy(config: *mut ffi::PyConfig) -> c_int;
    fn _Py_GetConfig() -> *const ffi::PyConfig;
    fn _Py_fopen_obj(path: *mut ffi::PyObject, mode: *const c_char) -> *mut libc::FILE;
    fn PySys_Audit(event: *const c_char, format: *const c_char, ...) -> c_int;
    fn PySys_AddAuditHook(
        hook: extern "C" fn(*const c_char, *mut ffi::PyObject, *mut libc::c_void) -> c_int,
        data: *mut libc::c_void,
    ) -> c_int;
}

/// `-c` runs through [`run_plain`] on 3.11 only: 3.13's `pymain_run_command` runs it
/// through a hidden function that keeps the source for tracebacks. Scripts run through it
/// on both; 3.13's `pymain_run_python` also marks the interpreter as running `__main__`
/// (hidden, seen only by the private `_interpreters` module), which this cannot do.
const PLAIN_COMMAND: bool = cfg!(isolate_py311);
const PYCF_IGNORE_COOKIE: c_int = 0x0800;

pub(super) type Prepared<T> = Result<T, super::child::Stop>;

fn cold<T>(why: impl Into<String>) -> Prepared<T> {
    Err(super::child::Stop::Cold(why.into()))
}

fn py_cold(e: PyErr) -> super::child::Stop {
    super::child::Stop::Cold(format!("preparing the interpreter failed: {e}"))
}

/// A PyConfig CPython read, cleared when dropped.
pub(super) struct Config(Box<ffi::PyConfig>);

impl Drop for Config {
    fn drop(&mut self) {
        // SAFETY: initialised by PyConfig_InitPythonConfig in `read`.
        unsafe { ffi::PyConfig_Clear(&mut *self.0) };
    }
}

/// The call's config, read as `cli::main` reads it. CPython's own answer to `--version`, a
/// bad option or `-h` (already printed) comes back as [`Stop::Exit`].
pub(super) fn read(argv: &[Vec<u8>], ctx: &Context) -> Prepared<Config> {
    let args: Vec<CString> = argv
        .iter()
        .map(|a| CString::new(a.as_slice()))
        .collect::<Result<_, _>>()
        .map_err(|_| super::child::Stop::Cold("an argument contains a NUL byte".into()))?;
    let mut ptrs: Vec<*const c_char> = args.iter().map(|a| a.as_ptr()).collect();
    // SAFETY: zeroed memory is only handed to PyConfig_InitPythonConfig, which initialises
    // every field; the strings outlive the calls that copy them.
    let config = unsafe {
        let mut config = Config(Box::new(std::mem::zeroed()));
        ffi::PyConfig_InitPythonConfig(&mut *config.0);
        let raw = &mut *config.0;
        let mut result = status::check(ffi::PyConfig_SetBytesArgv(
            raw,
            ptrs.len() as ffi::Py_ssize_t,
            ptrs.as_mut_ptr().cast(),
        ));
        if result.is_ok() {
            result = stdlib::configure_from(raw, ctx.stdlib.as_ref());
        }
        if result.is_ok() {
            result = status::check(ffi::PyConfig_Read(raw));
        }
        match result {
            Ok(()) => config,
            Err(e) => {
                return Err(match e.exit_code {
                    Some(code) => super::child::Stop::Exit(code),
                    // python3 reports it as a fatal error; the cold start does the same.
                    None => {
                        super::child::Stop::Cold(format!("CPython rejects the command line: {e}"))
                    }
                });
            }
        }
    };
    Ok(config)
}

/// True when the first argument is already the program (a script, `-c`, `-m`, `-`, or
/// nothing): no option precedes it, so given the same environment the call's config is the
/// server's except for the fields a run sets, and comparing is unnecessary.
pub(super) fn options_free(argv: &[Vec<u8>]) -> bool {
    match argv.get(1) {
        None => true,
        Some(a) => !a.starts_with(b"-") || matches!(a.as_slice(), b"-" | b"-c" | b"-m"),
    }
}

/// Compares every field start-up consumed with the server's (child.py's `merge`).
pub(super) fn compare(py: Python<'_>, config: &Config, ctx: &Context) -> Prepared<()> {
    // SAFETY: the config was initialised and read by CPython.
    let ours = unsafe { Bound::from_owned_ptr_or_err(py, _PyConfig_AsDict(&*config.0)) }
        .map_err(py_cold)?;
    let merged = helper(py, ctx, "merge")?
        .call1((ctx.config.bind(py), ours))
        .map_err(py_cold)?;
    match merged.extract::<String>() {
        Ok(why) => cold(why),
        Err(_) => Ok(()),
    }
}

fn helper<'py>(py: Python<'py>, ctx: &Context, name: &str) -> Prepared<Bound<'py, PyAny>> {
    ctx.helper
        .bind(py)
        .get_item(name)
        .ok()
        .flatten()
        .ok_or_else(|| super::child::Stop::Cold(format!("child.py has no {name}")))
}

/// The process-level state python3's start-up derives that a fork does not redo: the
/// environment in os.environ, signal dispositions, time zone, standard streams.
pub(super) fn apply(
    py: Python<'_>,
    config: &Config,
    env: Option<&[Vec<u8>]>,
    (signals, ignored): (&[i32], &[i32]),
    tz_changed: bool,
    ctx: &Context,
) -> Prepared<()> {
    let env = match env {
        Some(entries) => PyList::new(py, entries.iter().map(|e| PyBytes::new(py, e)))
            .map_err(py_cold)?
            .into_any(),
        None => py.None().into_bound(py),
    };
    helper(py, ctx, "apply")?
        .call1((
            env,
            signals.to_vec(),
            ignored.to_vec(),
            tz_changed,
            stdio_settings(py, &config.0).map_err(py_cold)?,
        ))
        .map_err(py_cold)?;
    Ok(())
}

fn stdio_settings<'py>(py: Python<'py>, config: &ffi::PyConfig) -> PyResult<Bound<'py, PyTuple>> {
    // SAFETY: the interpreter's own config: these strings are set after start-up.
    let server = unsafe { &*_Py_GetConfig() };
    let text = |w: *const libc::wchar_t| -> PyResult<Bound<'py, PyAny>> {
        // SAFETY: a NUL-terminated wide string owned by the config.
        unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyUnicode_FromWideChar(w, -1)) }
    };
    // Encoding and errors are the server's: equal by the checks, and normalised at start-up.
    (
        text(server.stdio_encoding)?,
        text(server.stdio_errors)?,
        config.buffered_stdio != 0,
    )
        .into_pyobject(py)
}

/// A module start-up already imported, from sys.modules: `py.import` runs the import
/// machinery (builtins.__import__), which touches pages a child would then copy.
pub(super) fn loaded<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyModule>> {
    let key = pyo3::types::PyString::new(py, name);
    // SAFETY: PyImport_GetModule returns a new reference or NULL.
    let module = unsafe { Bound::from_owned_ptr_or_opt(py, ffi::PyImport_GetModule(key.as_ptr())) };
    match module {
        Some(m) => Ok(m.cast_into::<PyModule>()?),
        None => py.import(name),
    }
}

/// Collections of generations 1 and 2 when the child unfroze the heap.
static COLLECTIONS_AT_START: std::sync::OnceLock<(u64, u64)> = std::sync::OnceLock::new();

/// gc.unfreeze(): the server's objects back in the oldest generation, as python3 has them.
/// Frozen, they would never be collected, and a program's module globals hang off cycles
/// through its module dict, which the server created: without a collection they are never
/// finalized at exit (`__del__`, generators' `finally`, never-awaited coroutine warnings).
/// Only full collections, which python3 also makes, then walk the server's objects.
pub(super) fn unfreeze(py: Python<'_>, ctx: &Context) -> PyResult<()> {
    let gc = ctx.gc.bind(py);
    gc.call_method0("unfreeze")?;
    let _ = COLLECTIONS_AT_START.set(collections(gc)?);
    Ok(())
}

/// How many collections of generations 1 and 2 ran so far.
fn collections(gc: &Bound<'_, PyModule>) -> PyResult<(u64, u64)> {
    let stats = gc.call_method0("get_stats")?;
    let count =
        |g: usize| -> PyResult<u64> { stats.get_item(g)?.get_item("collections")?.extract() };
    Ok((count(1)?, count(2)?))
}

/// Undoes the server's own signal dispositions (child.py's `reset_signals`), in every child
/// before its call.
pub(super) fn reset_signals(py: Python<'_>, ctx: &Context) -> PyResult<()> {
    let reset = helper(py, ctx, "reset_signals")
        .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("child.py has no reset_signals"))?;
    reset.call1((ctx.touched_signals.clone(),))?;
    Ok(())
}

/// The paths every call takes, run once on throwaway data by a child waiting for its call
/// (child.py's `prefault`): the pages they write are copied ahead of the call.
pub(super) fn prefault(ctx: &Context) {
    let argv = [ctx.argv0.clone(), b"-c".to_vec(), b"pass".to_vec()];
    drop(read(&argv, ctx));
    Python::attach(|py| {
        // SAFETY: the interpreter's own config.
        let server = unsafe { &*_Py_GetConfig() };
        let text =
            |w| unsafe { Bound::from_owned_ptr_or_opt(py, ffi::PyUnicode_FromWideChar(w, -1)) };
        let warmed = helper(py, ctx, "prefault")
            .ok()
            .map(|f| f.call1((text(server.stdio_encoding), text(server.stdio_errors))));
        if let Some(Err(e)) = warmed {
            // Only slower: the call does the same work itself.
            e.print(py);
        }
    });
}

/// Writes the call's PER_CALL fields into the running interpreter's config, and sys, C
/// stdio and sys.flags as `_PyInterpreterState_SetConfig` would.
pub(super) fn install(py: Python<'_>, call: &Config) -> Prepared<()> {
    // SAFETY: the running interpreter's own config, modified in place as pymain_run_stdin
    // does; the GIL is held and no other thread runs. The strings are copied by CPython.
    unsafe {
        let live = _Py_GetConfig() as *mut ffi::PyConfig;
        let c = &*call.0;
        let lists = [
            (&raw mut (*live).argv, &c.argv),
            (&raw mut (*live).orig_argv, &c.orig_argv),
        ];
        for (field, from) in lists {
            status::check(ffi::PyConfig_SetWideStringList(
                live,
                field,
                from.length,
                from.items,
            ))
            .map_err(|e| super::child::Stop::Cold(e.message))?;
        }
        let strings = [
            (&raw mut (*live).run_command, c.run_command),
            (&raw mut (*live).run_module, c.run_module),
            (&raw mut (*live).run_filename, c.run_filename),
        ];
        for (field, from) in strings {
            status::check(ffi::PyConfig_SetString(live, field, from))
                .map_err(|e| super::child::Stop::Cold(e.message))?;
        }
        let l = &mut *live;
        l.skip_source_first_line = c.skip_source_first_line;
        l.safe_path = c.safe_path;
        l.inspect = c.inspect;
        l.interactive = c.interactive;
        l.quiet = c.quiet;
        l.write_bytecode = c.write_bytecode;
        l.buffered_stdio = c.buffered_stdio;
        init_c_stdio(l);
        set_global_flags(l);
        update_sys(py, l).map_err(py_cold)
    }
}

/// config_set_global_vars (Python/initconfig.c) for the per-call fields: CPython still reads
/// some of these (3.11's _Py_FdIsInteractive reads Py_InteractiveFlag).
#[allow(deprecated)]
fn set_global_flags(config: &ffi::PyConfig) {
    // SAFETY: plain ints CPython exports; single-threaded, GIL held.
    unsafe {
        ffi::Py_InspectFlag = config.inspect;
        ffi::Py_InteractiveFlag = config.interactive;
        ffi::Py_QuietFlag = config.quiet;
        ffi::Py_UnbufferedStdioFlag = (config.buffered_stdio == 0) as c_int;
        ffi::Py_DontWriteBytecodeFlag = (config.write_bytecode == 0) as c_int;
    }
}

/// config_init_stdio (Python/initconfig.c) for this call's -u and -i.
fn init_c_stdio(config: &ffi::PyConfig) {
    unsafe extern "C" {
        static mut stdin: *mut libc::FILE;
        static mut stdout: *mut libc::FILE;
        static mut stderr: *mut libc::FILE;
    }
    // SAFETY: setvbuf on the C streams before any I/O of this call.
    unsafe {
        if config.buffered_stdio == 0 {
            for f in [stdin, stdout, stderr] {
                libc::setvbuf(f, std::ptr::null_mut(), libc::_IONBF, libc::BUFSIZ as usize);
            }
        } else if config.interactive != 0 {
            for f in [stdin, stdout] {
                libc::setvbuf(f, std::ptr::null_mut(), libc::_IOLBF, libc::BUFSIZ as usize);
            }
        }
    }
}

/// _PySys_UpdateConfig's per-call part: argv, orig_argv, dont_write_bytecode, sys.flags.
fn update_sys(py: Python<'_>, config: &ffi::PyConfig) -> PyResult<()> {
    let sys = loaded(py, "sys")?;
    sys.setattr("argv", wide_list(py, &config.argv)?)?;
    sys.setattr("orig_argv", wide_list(py, &config.orig_argv)?)?;
    sys.setattr("dont_write_bytecode", config.write_bytecode == 0)?;
    let flags = sys.getattr("flags")?;
    let names: Vec<String> = flags.get_type().getattr("__match_args__")?.extract()?;
    let wanted = [
        ("inspect", config.inspect),
        ("interactive", config.interactive),
        ("dont_write_bytecode", (config.write_bytecode == 0) as c_int),
        ("quiet", config.quiet),
        ("safe_path", config.safe_path),
    ];
    for (name, value) in wanted {
        let Some(index) = names.iter().position(|n| n == name) else {
            continue;
        };
        let now = flags.get_item(index)?;
        // safe_path is a bool in sys.flags, the others ints, as set_flags_from_config makes them.
        let new = if now.is_instance_of::<pyo3::types::PyBool>() {
            pyo3::types::PyBool::new(py, value != 0)
                .to_owned()
                .into_any()
        } else {
            value.into_pyobject(py)?.into_any()
        };
        if !now.eq(&new)? {
            // SAFETY: sys.flags is a struct sequence; SetItem steals the new reference,
            // as set_flags_from_config's own writes do.
            unsafe { ffi::PyStructSequence_SetItem(flags.as_ptr(), index as _, new.into_ptr()) };
        }
    }
    Ok(())
}

fn wide_list<'py>(py: Python<'py>, list: &ffi::PyWideStringList) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for i in 0..list.length {
        // SAFETY: `length` NUL-terminated wide strings.
        let item = unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                ffi::PyUnicode_FromWideChar(*list.items.offset(i), -1),
            )?
        };
        out.append(item)?;
    }
    Ok(out)
}

/// Checks once, in the server, that the PyConfig layout this crate was compiled with is the
/// running CPython's for every field [`install`] writes: a mismatch would corrupt memory.
pub(super) fn check_layout(py: Python<'_>) -> PyResult<()> {
    // SAFETY: a config initialised, copied from the interpreter, read and cleared.
    let (dict, copy) = unsafe {
        let mut raw: Box<ffi::PyConfig> = Box::new(std::mem::zeroed());
        ffi::PyConfig_InitPythonConfig(&mut *raw);
        if _PyInterpreterState_GetConfigCopy(&mut *raw) != 0 {
            return Err(PyErr::fetch(py));
        }
        let dict = Bound::from_owned_ptr_or_err(py, _PyConfig_AsDict(&*raw));
        let live = &*_Py_GetConfig();
        let copy = (
            wide_list(py, &live.argv)?,
            wide_list(py, &live.orig_argv)?,
            live.run_command.is_null() && live.run_module.is_null() && live.run_filename.is_null(),
            [
                live.skip_source_first_line,
                live.safe_path,
                live.inspect,
                live.interactive,
                live.quiet,
                live.write_bytecode,
                live.buffered_stdio,
            ],
        );
        ffi::PyConfig_Clear(&mut *raw);
        (dict?.cast_into::<PyDict>()?, copy)
    };
    let get = |k: &str| dict.get_item(k).ok().flatten();
    let ints: Vec<c_int> = [
        "skip_source_first_line",
        "safe_path",
        "inspect",
        "interactive",
        "quiet",
        "write_bytecode",
        "buffered_stdio",
    ]
    .iter()
    .map(|k| get(k).and_then(|v| v.extract().ok()).unwrap_or(-1))
    .collect();
    let same = get("argv").is_some_and(|v| v.eq(&copy.0).unwrap_or(false))
        && get("orig_argv").is_some_and(|v| v.eq(&copy.1).unwrap_or(false))
        && copy.2
        && ints == copy.3;
    if !same {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(
            "PyO3's PyConfig layout does not match this CPython's: rebuild the isolate against \
             the sysroot it runs with (PYO3_CONFIG_FILE names it)",
        ));
    }
    Ok(())
}

/// Set when the program adds an audit hook: finalisation reports an event to such hooks.
static AUDIT_HOOK_ADDED: AtomicBool = AtomicBool::new(false);

extern "C" fn watch_audit(
    event: *const c_char,
    _: *mut ffi::PyObject,
    _: *mut libc::c_void,
) -> c_int {
    // SAFETY: CPython passes a NUL-terminated event name.
    if unsafe { CStr::from_ptr(event) }.to_bytes() == b"sys.addaudithook" {
        AUDIT_HOOK_ADDED.store(true, Ordering::Relaxed);
    }
    0
}

/// Installed in the server: C hooks are invisible to Python code (sys.addaudithook adds
/// Python ones), and cost a call per audited event.
pub(super) fn watch_audit_hooks() {
    // SAFETY: adding a C audit hook with no data.
    unsafe { PySys_AddAuditHook(watch_audit, std::ptr::null_mut()) };
}

/// Runs the program and ends the process with python3's status. Never returns.
pub(super) fn run(ctx: &Context) -> ! {
    // SAFETY: the interpreter holds this call's config; the GIL is held.
    let config = unsafe { &*_Py_GetConfig() };
    if let Some(code) = unsafe { run_plain(config) } {
        finish(code, ctx);
    }
    // SAFETY: Py_RunMain runs the program, finalises, and returns python3's status, which
    // python3's main hands to exit().
    unsafe { libc::exit(ffi::Py_RunMain()) }
}

/// pymain_run_python (Modules/main.c) for a script file, and `-c` on 3.11, without -i: the same
/// steps with CPython's own runners, returning the exit status, or `None` (before anything
/// happened) for what only `Py_RunMain` does: modules, stdin, directories and zip files,
/// interactive runs, and -v's banner.
///
/// # Safety
/// `config` is the running interpreter's; the GIL is held.
unsafe fn run_plain(config: &ffi::PyConfig) -> Option<i32> {
    let runs = if PLAIN_COMMAND {
        !config.run_command.is_null() || !config.run_filename.is_null()
    } else {
        config.run_command.is_null() && !config.run_filename.is_null()
    };
    let plain = runs
        && config.run_module.is_null()
        && config.inspect == 0
        && config.interactive == 0
        && config.verbose == 0;
    if !plain {
        return None;
    }
    // SAFETY: as the caller vouches; every object is checked before use.
    unsafe {
        if !config.run_filename.is_null() {
            // pymain_get_importer: a directory or zip file with __main__.py runs as a module.
            let path = ffi::PyUnicode_FromWideChar(config.run_filename, -1);
            let importer = if path.is_null() {
                path
            } else {
                ffi::PyImport_GetImporter(path)
            };
            ffi::Py_XDECREF(path);
            if importer.is_null() {
                ffi::PySys_WriteStderr(
                    c"Failed checking if argv[0] is an import path entry\n".as_ptr(),
                );
                return Some(err_print());
            }
            let is_none = importer == ffi::Py_None();
            ffi::Py_DECREF(importer);
            if !is_none {
                return None;
            }
        }
        if config.safe_path == 0 && sys_path0(config).is_err() {
            return Some(err_print());
        }
        let mut code = if !config.run_command.is_null() {
            run_command(config.run_command)
        } else {
            run_file(config)
        };
        repl(config, &mut code);
        Some(code)
    }
}

/// pymain_err_print: for SystemExit, PyErr_Print exits through Py_Exit (finalising, then
/// exit() with the code) where pymain returns the code to Py_RunMain, which does the same.
unsafe fn err_print() -> i32 {
    // SAFETY: an exception is set; the GIL is held.
    unsafe { ffi::PyErr_Print() };
    1
}

/// _PyPathConfig_ComputeSysPath0 and pymain_sys_path_add_path0: '' for -c, the script's
/// directory (after one symlink and realpath) for a script.
unsafe fn sys_path0(config: &ffi::PyConfig) -> PyResult<()> {
    // SAFETY: argv holds `length` wide strings; the GIL is held.
    let py = unsafe { Python::assume_attached() };
    if config.argv.length == 0 {
        return Ok(());
    }
    let argv0 = wide_list(py, &config.argv)?.get_item(0)?;
    let path0 = if argv0.extract::<String>().ok().as_deref() == Some("-c") {
        pyo3::types::PyString::new(py, "").into_any()
    } else {
        let helper = loaded(py, "posixpath")?;
        let os = loaded(py, "os")?;
        let mut path = argv0.clone();
        if let Ok(link) = os.call_method1("readlink", (&path,)) {
            let link_s: String = link.extract()?;
            if link_s.starts_with('/') {
                path = link;
            } else if link_s.contains('/') {
                let dir = helper.call_method1("dirname", (&path,))?;
                path = if dir.extract::<String>()?.is_empty() {
                    link
                } else {
                    helper.call_method1("join", (dir, link))?
                };
            }
        }
        let real = helper.call_method1("realpath", (&path,))?;
        let text: String = real.extract()?;
        match text.rfind('/') {
            Some(0) => pyo3::types::PyString::new(py, "/").into_any(),
            Some(i) => pyo3::types::PyString::new(py, &text[..i]).into_any(),
            None => pyo3::types::PyString::new(py, "").into_any(),
        }
    };
    record_sys_path0(&path0)?;
    loaded(py, "sys")?
        .getattr("path")?
        .call_method1("insert", (0, path0))?;
    Ok(())
}

/// 3.13 keeps sys.path[0] in the config too: AttributeError messages use it to tell a
/// module shadowing a stdlib one.
#[cfg(not(isolate_py311))]
fn record_sys_path0(path0: &Bound<'_, PyAny>) -> PyResult<()> {
    let text: String = path0.extract()?;
    let wide: Vec<libc::wchar_t> = text
        .chars()
        .map(|c| c as libc::wchar_t)
        .chain(std::iter::once(0))
        .collect();
    // SAFETY: the running interpreter's own config; the string is copied.
    unsafe {
        let live = _Py_GetConfig() as *mut ffi::PyConfig;
        status::check(ffi::PyConfig_SetString(
            live,
            &raw mut (*live).sys_path_0,
            wide.as_ptr(),
        ))
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.message))
    }
}

#[cfg(isolate_py311)]
fn record_sys_path0(_: &Bound<'_, PyAny>) -> PyResult<()> {
    Ok(())
}

/// pymain_run_command.
unsafe fn run_command(command: *const libc::wchar_t) -> i32 {
    // SAFETY: a NUL-terminated wide string; the GIL is held; every object is checked.
    unsafe {
        let unicode = ffi::PyUnicode_FromWideChar(command, -1);
        if unicode.is_null() {
            ffi::PySys_WriteStderr(
                c"Unable to decode the command from the command line:\n".as_ptr(),
            );
            return err_print();
        }
        if PySys_Audit(c"cpython.run_command".as_ptr(), c"O".as_ptr(), unicode) < 0 {
            ffi::Py_DECREF(unicode);
            return err_print();
        }
        let bytes = ffi::PyUnicode_AsUTF8String(unicode);
        ffi::Py_DECREF(unicode);
        if bytes.is_null() {
            ffi::PySys_WriteStderr(
                c"Unable to decode the command from the command line:\n".as_ptr(),
            );
            return err_print();
        }
        let mut cf = compiler_flags(PYCF_IGNORE_COOKIE);
        let ret = ffi::PyRun_SimpleStringFlags(ffi::PyBytes_AsString(bytes), &mut cf);
        ffi::Py_DECREF(bytes);
        (ret != 0) as i32
    }
}

fn compiler_flags(flags: c_int) -> ffi::PyCompilerFlags {
    ffi::PyCompilerFlags {
        cf_flags: flags,
        cf_feature_version: python_minor(),
    }
}

fn python_minor() -> c_int {
    crate::PYTHON_VERSION
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

/// pymain_run_file and pymain_run_file_obj.
unsafe fn run_file(config: &ffi::PyConfig) -> i32 {
    // SAFETY: NUL-terminated wide strings from the config; the GIL is held.
    unsafe {
        let filename = ffi::PyUnicode_FromWideChar(config.run_filename, -1);
        if filename.is_null() {
            ffi::PyErr_Print();
            return -1;
        }
        let program_name = ffi::PyUnicode_FromWideChar(config.program_name, -1);
        if program_name.is_null() {
            ffi::Py_DECREF(filename);
            ffi::PyErr_Print();
            return -1;
        }
        let code = run_file_obj(program_name, filename, config.skip_source_first_line != 0);
        ffi::Py_DECREF(filename);
        ffi::Py_DECREF(program_name);
        code
    }
}

unsafe fn run_file_obj(
    program_name: *mut ffi::PyObject,
    filename: *mut ffi::PyObject,
    skip_first_line: bool,
) -> i32 {
    // SAFETY: valid objects from run_file; the GIL is held; fp is checked before use.
    unsafe {
        if PySys_Audit(c"cpython.run_file".as_ptr(), c"O".as_ptr(), filename) < 0 {
            return err_print();
        }
        let fp = _Py_fopen_obj(filename, c"rb".as_ptr());
        if fp.is_null() {
            let errno = *libc::__errno_location();
            ffi::PyErr_Clear();
            ffi::PySys_FormatStderr(
                c"%S: can't open file %R: [Errno %d] %s\n".as_ptr(),
                program_name,
                filename,
                errno,
                libc::strerror(errno),
            );
            return 2;
        }
        if skip_first_line {
            // Pushes the first newline back so that line numbers stay the same.
            loop {
                let ch = libc::fgetc(fp);
                if ch == libc::EOF {
                    break;
                }
                if ch == b'\n' as c_int {
                    libc::ungetc(ch, fp);
                    break;
                }
            }
        }
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(libc::fileno(fp), &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFDIR
        {
            ffi::PySys_FormatStderr(
                c"%S: %R is a directory, cannot continue\n".as_ptr(),
                program_name,
                filename,
            );
            libc::fclose(fp);
            return 1;
        }
        if ffi::Py_MakePendingCalls() == -1 {
            libc::fclose(fp);
            return err_print();
        }
        // PyRun_AnyFileExFlags decodes the name back with the filesystem encoding: the same
        // object _PyRun_AnyFileObject (hidden in 3.13) would get.
        let encoded = ffi::PyUnicode_EncodeFSDefault(filename);
        if encoded.is_null() {
            libc::fclose(fp);
            return err_print();
        }
        let mut cf = compiler_flags(0);
        let run = ffi::PyRun_AnyFileExFlags(fp.cast(), ffi::PyBytes_AsString(encoded), 1, &mut cf);
        ffi::Py_DECREF(encoded);
        (run != 0) as i32
    }
}

/// pymain_repl: a program may ask for the REPL at its end through PYTHONINSPECT.
unsafe fn repl(config: &ffi::PyConfig, code: &mut i32) {
    // SAFETY: getenv reads the environment; the rest runs with the GIL held.
    unsafe {
        let asked = config.use_environment != 0
            && !libc::getenv(c"PYTHONINSPECT".as_ptr()).is_null()
            && *libc::getenv(c"PYTHONINSPECT".as_ptr()) != 0;
        if !asked {
            return;
        }
        let live = _Py_GetConfig() as *mut ffi::PyConfig;
        (*live).inspect = 1;
        if libc::isatty(0) == 0 {
            return;
        }
        (*live).inspect = 0;
        if interactive_hook(code) {
            return;
        }
        let mut cf = compiler_flags(0);
        let res = ffi::PyRun_AnyFileExFlags(stdin_file(), c"<stdin>".as_ptr(), 0, &mut cf);
        *code = (res != 0) as i32;
    }
}

fn stdin_file() -> *mut libc::FILE {
    unsafe extern "C" {
        static mut stdin: *mut libc::FILE;
    }
    // SAFETY: reading the C library's stdin pointer.
    unsafe { stdin }
}

/// pymain_run_interactive_hook; true when it failed (the status is then set).
unsafe fn interactive_hook(code: &mut i32) -> bool {
    // SAFETY: the GIL is held; every object is checked.
    unsafe {
        let hook = ffi::PySys_GetObject(c"__interactivehook__".as_ptr());
        if hook.is_null() {
            return false;
        }
        ffi::Py_INCREF(hook);
        let failed = PySys_Audit(c"cpython.run_interactivehook".as_ptr(), c"O".as_ptr(), hook) < 0
            || {
                let result = ffi::PyObject_CallNoArgs(hook);
                ffi::Py_XDECREF(result);
                result.is_null()
            };
        ffi::Py_DECREF(hook);
        if failed {
            ffi::PySys_WriteStderr(c"Failed calling sys.__interactivehook__\n".as_ptr());
            *code = err_print();
        }
        failed
    }
}

/// Py_RunMain's end for a run [`run_plain`] made. Py_FinalizeEx starts with what a program
/// can observe (non-daemon threads joined, atexit callbacks, sys.stdout and sys.stderr
/// flushed), then tears the interpreter down, which a program observes only through
/// finalizers: `__del__`, weakref callbacks, generators and coroutines closed, files flushed
/// and closed, audit and gc callbacks, warnings. When nothing young (created since the
/// server's gc.freeze) carries one, the teardown is skipped and the process exits as python3
/// would after it. Otherwise Py_FinalizeEx runs whole; the steps already done are idempotent
/// there (threading._shutdown returns at once, atexit callbacks are cleared once run).
fn finish(code: i32, ctx: &Context) -> ! {
    let quiet = Python::attach(|py| {
        let sys = ctx.sys.bind(py);
        shutdown_threads(py, sys);
        // SAFETY: the GIL is held.
        unsafe { ffi::Py_MakePendingCalls() };
        run_atexit(sys);
        !AUDIT_HOOK_ADDED.load(Ordering::Relaxed) && teardown_unobservable(py, ctx)
    });
    let interrupted = code == 1 && unhandled_keyboard_interrupt();
    let mut status = code;
    if quiet {
        if Python::attach(|py| flush_std_files(py, ctx.sys.bind(py))) < 0 {
            status = 120;
        }
    } else {
        // SAFETY: the GIL is held; nothing of the interpreter is used afterwards.
        if unsafe { ffi::Py_FinalizeEx() } < 0 {
            status = 120;
        }
    }
    if interrupted {
        // exit_sigint (Modules/main.c): die by SIGINT as the shell expects.
        // SAFETY: resetting the handler and signalling this process.
        unsafe {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::kill(libc::getpid(), libc::SIGINT);
        }
    }
    // SAFETY: exit() flushes C stdio and runs C atexit handlers, as after python3's main.
    unsafe { libc::exit(status) }
}

/// Set by CPython's runners when the program ended with an uncaught KeyboardInterrupt.
#[cfg(isolate_py311)]
fn unhandled_keyboard_interrupt() -> bool {
    unsafe extern "C" {
        static _Py_UnhandledKeyboardInterrupt: c_int;
    }
    // SAFETY: a plain int CPython exports (PyAPI_DATA in 3.11).
    unsafe { _Py_UnhandledKeyboardInterrupt != 0 }
}

/// 3.13 keeps the flag inside _PyRuntime; a run that ended with an uncaught exception left
/// it in sys.last_exc (PyErr_Print sets it), which for this flag must be exactly a
/// KeyboardInterrupt.
#[cfg(not(isolate_py311))]
fn unhandled_keyboard_interrupt() -> bool {
    Python::attach(|py| {
        loaded(py, "sys")
            .and_then(|sys| sys.getattr("last_exc"))
            .is_ok_and(|e| {
                e.get_type()
                    .is(py.get_type::<pyo3::exceptions::PyKeyboardInterrupt>())
            })
    })
}

/// wait_for_thread_shutdown (Python/pylifecycle.c).
fn shutdown_threads(py: Python<'_>, sys: &Bound<'_, PyModule>) {
    let threading = sys.getattr("modules").and_then(|m| m.get_item("threading"));
    let Ok(threading) = threading else {
        return;
    };
    if let Err(e) = threading.call_method0("_shutdown") {
        e.write_unraisable(py, Some(&threading));
    }
}

/// _PyAtExit_Call: the atexit callbacks, only registrable through the atexit module.
fn run_atexit(sys: &Bound<'_, PyModule>) {
    let atexit = sys.getattr("modules").and_then(|m| m.get_item("atexit"));
    if let Ok(atexit) = atexit {
        let _ = atexit.call_method0("_run_exitfuncs");
    }
}

/// flush_std_files, then what the original standard streams' own finalizers would do at
/// teardown (flush; close without closing the descriptor; errors silenced outside dev mode).
fn flush_std_files(py: Python<'_>, sys: &Bound<'_, PyModule>) -> i32 {
    let mut status = 0;
    for name in ["stdout", "stderr"] {
        let Ok(f) = sys.getattr(name) else { continue };
        if f.is_none()
            || f.getattr("closed")
                .and_then(|c| c.is_truthy())
                .unwrap_or(false)
        {
            continue;
        }
        if let Err(e) = f.call_method0("flush") {
            if name == "stdout" {
                e.write_unraisable(py, Some(&f));
            }
            status = -1;
        }
    }
    for name in ["__stdout__", "__stderr__"] {
        if let Ok(f) = sys.getattr(name) {
            let _ = f.call_method0("flush");
        }
    }
    status
}

/// sys.__stdin__, __stdout__, __stderr__ and their buffer and raw objects: the fast exit
/// does what their finalizers would.
fn std_stream_objects(sys: &Bound<'_, PyModule>) -> Vec<*mut ffi::PyObject> {
    let mut out = Vec::new();
    for name in ["__stdin__", "__stdout__", "__stderr__"] {
        let Ok(text) = sys.getattr(name) else {
            continue;
        };
        let buffer = text.getattr("buffer").ok();
        let raw = buffer.as_ref().and_then(|b| b.getattr("raw").ok());
        out.extend(
            [Some(text), buffer, raw]
                .into_iter()
                .flatten()
                .map(|o| o.as_ptr()),
        );
    }
    out
}

/// True when tearing the interpreter down would run nothing a program can observe (see
/// [`finish`]).
fn teardown_unobservable(py: Python<'_>, ctx: &Context) -> bool {
    let check = || -> PyResult<bool> {
        let gc = ctx.gc.bind(py);
        if gc.getattr("callbacks")?.len()? != 0 {
            return Ok(false);
        }
        let warnings = ctx.warnings.bind(py);
        let filters = PyTuple::new(
            py,
            warnings
                .getattr("filters")?
                .try_iter()?
                .collect::<PyResult<Vec<_>>>()?,
        )?;
        if !filters.eq(ctx.warning_filters.bind(py))?
            || !warnings.getattr("_defaultaction")?.eq("default")?
        {
            return Ok(false);
        }
        // Objects the call created are in generations 0 and 1 until a collection of
        // generation 1 or 2 moves survivors in among the server's: then nothing can tell.
        if COLLECTIONS_AT_START.get() != Some(&collections(gc)?) {
            return Ok(false);
        }
        let young = PyList::empty(py);
        for generation in [0, 1] {
            young.call_method1("extend", (gc.call_method1("get_objects", (generation,))?,))?;
        }
        let ours = std_stream_objects(ctx.sys.bind(py));
        // Borrowed pointers: taking references would write to every object's page.
        for i in 0..young.len() {
            // SAFETY: the list holds its items alive while it is iterated; nothing runs.
            let obj = unsafe { ffi::PyList_GET_ITEM(young.as_ptr(), i as ffi::Py_ssize_t) };
            if !ours.contains(&obj) && !unsafe { inert(py, obj) } {
                return Ok(false);
            }
        }
        Ok(true)
    };
    check().unwrap_or(false)
}

/// An object whose destruction runs no code: no finalizer on its type, not a class that
/// gives its instances one, not a weakref with a callback. StringIO and BytesIO have
/// IOBase's finalizer, which only closes them.
///
/// # Safety
/// `obj` is alive and the GIL is held.
unsafe fn inert(py: Python<'_>, obj: *mut ffi::PyObject) -> bool {
    // SAFETY: reading type slots of a live object.
    unsafe {
        let tp = ffi::Py_TYPE(obj);
        let finalizes =
            |t: *mut ffi::PyTypeObject| (*t).tp_finalize.is_some() || (*t).tp_del.is_some();
        if finalizes(tp) {
            let name = CStr::from_ptr((*tp).tp_name).to_bytes();
            return matches!(name, b"_io.StringIO" | b"_io.BytesIO");
        }
        if ffi::PyType_Check(obj) != 0 && finalizes(obj.cast()) {
            return false;
        }
        if ffi::PyWeakref_Check(obj) != 0 {
            let weakref = Bound::from_borrowed_ptr(py, obj);
            return weakref.getattr("__callback__").is_ok_and(|c| c.is_none());
        }
        true
    }
}

/// The server's PyConfig as a dict, for [`compare`].
pub(super) fn server_config(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    // SAFETY: a config initialised, copied from the interpreter, converted and cleared.
    unsafe {
        let mut raw: Box<ffi::PyConfig> = Box::new(std::mem::zeroed());
        ffi::PyConfig_InitPythonConfig(&mut *raw);
        let dict = if _PyInterpreterState_GetConfigCopy(&mut *raw) == 0 {
            Bound::from_owned_ptr_or_err(py, _PyConfig_AsDict(&*raw))
        } else {
            Err(PyErr::fetch(py))
        };
        ffi::PyConfig_Clear(&mut *raw);
        Ok(dict?.cast_into::<PyDict>()?)
    }
}
