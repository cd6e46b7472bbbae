//! The python3-compatible command line.
//!
//! This is what `Py_BytesMain` does, with one addition: the stdlib may travel inside the
//! executable (see [`crate::stdlib`], which also starts CPython in two phases to hand
//! zipimport that stdlib's directory). CPython parses the arguments (`-c`, `-m`, `-I`, `-X`,
//! `-W`, stdin...), installs its signal handlers (Ctrl-C raises KeyboardInterrupt), and
//! `Py_RunMain` runs the program and turns `SystemExit` and uncaught exceptions into the exit
//! status, exactly as python3 does.

use crate::stdlib;
use pyo3::ffi;
use std::ffi::c_char;

/// Runs the command line `argv` (bytes, as `main` receives them) and returns the exit status.
///
/// # Safety
/// `argv` must hold `argc` valid NUL-terminated strings that outlive the call.
pub unsafe fn main(argc: isize, argv: *mut *mut c_char) -> i32 {
    // SAFETY: the config is initialised before use and cleared after; the caller vouches
    // for argv.
    unsafe {
        let mut config = std::mem::MaybeUninit::<ffi::PyConfig>::uninit();
        ffi::PyConfig_InitPythonConfig(config.as_mut_ptr());
        let config = config.assume_init_mut();
        let status = initialize(config, argc, argv);
        ffi::PyConfig_Clear(config);
        if ffi::PyStatus_Exception(status) != 0 {
            // Prints CPython's message (or usage) and exits with its code, like python3.
            ffi::Py_ExitStatusException(status);
        }
        ffi::Py_RunMain()
    }
}

unsafe fn initialize(
    config: &mut ffi::PyConfig,
    argc: isize,
    argv: *mut *mut c_char,
) -> ffi::PyStatus {
    unsafe {
        let status = ffi::PyConfig_SetBytesArgv(config, argc as ffi::Py_ssize_t, argv.cast());
        if ffi::PyStatus_Exception(status) != 0 {
            return status;
        }
        let mut used = None;
        if let Some(carried) = stdlib::self_contained() {
            // The command line and the environment decide where the stdlib comes from.
            let status = ffi::PyConfig_Read(config);
            if ffi::PyStatus_Exception(status) != 0 {
                return status;
            }
            match stdlib::configure(config, &carried.exe) {
                Ok(true) => used = Some(carried),
                Ok(false) => {}
                Err(e) => {
                    eprintln!("isolate: cannot use the stdlib carried in the executable: {e}");
                    std::process::exit(1);
                }
            }
        }
        stdlib::start(config, used.as_ref())
    }
}
