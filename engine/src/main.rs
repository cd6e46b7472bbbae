//! `isolate`: a python3-compatible interpreter, linked statically against the sysroot.
//!
//! On Linux the isolate has a C `main`, as python3 does. Rust's own start-up finds the main
//! thread's stack guard by parsing `/proc/self/maps` (a fifth of the instructions the
//! isolate ran beyond python3 at start-up) and reopens closed standard descriptors on
//! `/dev/null`, where python3 leaves them closed (`sys.stdout` is then None).
#![cfg_attr(target_os = "linux", no_main)]

#[cfg(target_os = "linux")]
#[unsafe(no_mangle)]
extern "C" fn main(argc: std::ffi::c_int, argv: *mut *mut std::ffi::c_char) -> std::ffi::c_int {
    // SAFETY: the C runtime passes argc valid, NUL-terminated arguments in argv.
    unsafe { engine::cli::main(argc as isize, argv) }
}

// wasi-libc calls a Rust `main` through its own entry point, with the arguments from WASI.
#[cfg(not(target_os = "linux"))]
fn main() {
    use std::ffi::{CString, c_char};
    let args: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(a.into_encoded_bytes()).unwrap_or_else(|_| CString::from(c"?")))
        .collect();
    let mut ptrs: Vec<*mut c_char> = args.iter().map(|a| a.as_ptr().cast_mut()).collect();
    // SAFETY: `ptrs` holds `args.len()` valid C strings that outlive the call.
    std::process::exit(unsafe { engine::cli::main(ptrs.len() as isize, ptrs.as_mut_ptr()) });
}
