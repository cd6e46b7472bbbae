//! The python3-compatible command line.
//!
//! This is what `Py_BytesMain` does, with one addition: the stdlib may travel inside the
//! executable (see [`crate::stdlib`], which also starts CPython in two phases to hand
//! zipimport that stdlib's directory). CPython parses the arguments (`-c`, `-m`, `-I`, `-X`,
//! `-W`, stdin...), installs its signal handlers (Ctrl-C raises KeyboardInterrupt), and
//! `Py_RunMain` runs the program and turns `SystemExit` and uncaught exceptions into the exit
//! status, exactly as python3 does.
//!
//! Two first arguments are the isolate's own, taken before CPython would reject them:
//! `--warm-serve SOCKET` and `--warm SOCKET` (see [`crate::warm`]).

use crate::stdlib;
use pyo3::ffi;
#[cfg(target_os = "linux")]
use std::ffi::CStr;
use std::ffi::c_char;

/// Runs the command line `argv` (bytes, as `main` receives them) and returns the exit status.
///
/// # Safety
/// `argv` must hold `argc` valid NUL-terminated strings that outlive the call.
pub unsafe fn main(argc: isize, argv: *mut *mut c_char) -> i32 {
    // SAFETY: the caller vouches for argv.
    let args = unsafe { std::slice::from_raw_parts(argv, argc.max(0) as usize) };
    #[cfg(not(target_os = "wasi"))]
    if let Some(&first) = args.first() {
        // SAFETY: every argument is a valid C string.
        crate::elf::note_argv0(unsafe { std::ffi::CStr::from_ptr(first) });
    }
    #[cfg(target_os = "linux")]
    if let Some(&first) = args.get(1) {
        // SAFETY: every argument is a valid C string.
        match unsafe { CStr::from_ptr(first) }.to_bytes() {
            b"--warm" => return unsafe { crate::warm::cli::client_main(args) },
            b"--warm-serve" => return unsafe { crate::warm::cli::serve_main(args) },
            _ => {}
        }
    }
    // SAFETY: as above.
    unsafe { run(args) }
}

/// python3 itself: start from `args`, run, finalise.
///
/// # Safety
/// As [`main`]; no interpreter may have been started in this process.
pub unsafe fn run(args: &[*mut c_char]) -> i32 {
    // SAFETY: the caller vouches for args and for this being the process's only start.
    unsafe {
        start(args);
        ffi::Py_RunMain()
    }
}

/// Initialises CPython from a python3 command line; on failure (a bad option, `--help`,
/// `--version`) it prints what python3 prints and exits with its status.
///
/// # Safety
/// `args` must be valid C strings; no interpreter may have been started in this process.
pub(crate) unsafe fn start(args: &[*mut c_char]) {
    // SAFETY: the config is initialised before use and cleared after; the caller vouches
    // for args.
    unsafe {
        let mut config = std::mem::MaybeUninit::<ffi::PyConfig>::uninit();
        ffi::PyConfig_InitPythonConfig(config.as_mut_ptr());
        let config = config.assume_init_mut();
        let status = initialize(config, args);
        ffi::PyConfig_Clear(config);
        if ffi::PyStatus_Exception(status) != 0 {
            // Prints CPython's message (or usage) and exits with its code, like python3.
            ffi::Py_ExitStatusException(status);
        }
    }
}

/// The config python3 would start from, then CPython started with it. The status is
/// CPython's own, so that `--version`, `-h` or a bad option end as in python3.
unsafe fn initialize(config: &mut ffi::PyConfig, args: &[*mut c_char]) -> ffi::PyStatus {
    unsafe {
        let mut used = None;
        let status = configure(config, args, &mut used);
        if ffi::PyStatus_Exception(status) != 0 {
            return status;
        }
        stdlib::start(config, used.as_ref())
    }
}

/// The configuration [`start`] starts the interpreter with; when the executable carries its
/// stdlib, read first (the command line and the environment decide where the stdlib comes
/// from) and pointed at it, which `used` then names. The pre-initialised WASI isolate compares
/// a run's configuration with its snapshot's, so both must come from here.
///
/// # Safety
/// As for [`start`]; `config` is initialised and not yet used.
pub(crate) unsafe fn configure(
    config: &mut ffi::PyConfig,
    args: &[*mut c_char],
    used: &mut Option<stdlib::Carried>,
) -> ffi::PyStatus {
    unsafe {
        let status = ffi::PyConfig_SetBytesArgv(
            config,
            args.len() as ffi::Py_ssize_t,
            args.as_ptr().cast_mut().cast(),
        );
        if ffi::PyStatus_Exception(status) != 0 {
            return status;
        }
        #[cfg(target_os = "wasi")]
        {
            // Whether PYTHONHOME counts depends on the command line (-E, -I).
            let status = ffi::PyConfig_Read(config);
            if ffi::PyStatus_Exception(status) != 0 {
                return status;
            }
            if let Err(e) = stdlib::wasi_home(config) {
                eprintln!("isolate: cannot point CPython at the stdlib beside the module: {e}");
                std::process::exit(1);
            }
        }
        if let Some(carried) = stdlib::self_contained() {
            // The command line and the environment decide where the stdlib comes from.
            let status = ffi::PyConfig_Read(config);
            if ffi::PyStatus_Exception(status) != 0 {
                return status;
            }
            match stdlib::configure(config, &carried.exe) {
                Ok(true) => *used = Some(carried),
                Ok(false) => {}
                Err(e) => {
                    eprintln!("isolate: cannot use the stdlib carried in the executable: {e}");
                    std::process::exit(1);
                }
            }
        }
        ffi::PyStatus_Ok()
    }
}
