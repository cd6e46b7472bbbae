//! The python3-compatible command line.
//!
//! This is what `Py_BytesMain` does, with one addition: the stdlib may travel inside the
//! executable (see [`crate::stdlib`]). CPython parses the arguments (`-c`, `-m`, `-I`, `-X`,
//! `-W`, stdin...), installs its signal handlers (Ctrl-C raises KeyboardInterrupt), and
//! `Py_RunMain` runs the program and turns `SystemExit` and uncaught exceptions into the exit
//! status, exactly as python3 does.

use crate::stdlib;
use pyo3::ffi;
use std::ffi::{CString, c_char};

pub fn main() -> i32 {
    let args: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(a.into_encoded_bytes()).unwrap_or_else(|_| CString::from(c"?")))
        .collect();
    let mut ptrs: Vec<*const c_char> = args.iter().map(|a| a.as_ptr()).collect();
    // SAFETY: the config is initialised before use and cleared after; the argv pointers
    // outlive the calls that read them.
    unsafe {
        let mut config = std::mem::MaybeUninit::<ffi::PyConfig>::uninit();
        ffi::PyConfig_InitPythonConfig(config.as_mut_ptr());
        let config = config.assume_init_mut();
        let mut status =
            ffi::PyConfig_SetBytesArgv(config, ptrs.len() as ffi::Py_ssize_t, ptrs.as_mut_ptr());
        if ffi::PyStatus_Exception(status) == 0 {
            if let Err(e) = stdlib::configure(config) {
                eprintln!("isolate: cannot use the stdlib carried in the executable: {e}");
                return 1;
            }
            status = ffi::Py_InitializeFromConfig(config);
        }
        ffi::PyConfig_Clear(config);
        if ffi::PyStatus_Exception(status) != 0 {
            // Prints CPython's message (or usage) and exits with its code, like python3.
            ffi::Py_ExitStatusException(status);
        }
        ffi::Py_RunMain()
    }
}
