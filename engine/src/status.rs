//! Small helpers around CPython's initialisation API: `PyStatus` to `Result`, strings.

use pyo3::ffi;
use std::ffi::{CStr, CString};
use std::path::Path;

/// An initialisation failure, with CPython's own message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub message: String,
    /// Set when CPython asked to exit (for example `--help` or a bad option) with this code.
    pub exit_code: Option<i32>,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            exit_code: None,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// `PyStatus` to `Result`.
pub fn check(status: ffi::PyStatus) -> Result<(), Error> {
    // SAFETY: reading a status CPython returned; its strings are static.
    unsafe {
        if ffi::PyStatus_Exception(status) == 0 {
            return Ok(());
        }
        if ffi::PyStatus_IsExit(status) != 0 {
            return Err(Error {
                message: format!("exit {}", status.exitcode),
                exit_code: Some(status.exitcode),
            });
        }
        let text = |p: *const std::ffi::c_char| {
            if p.is_null() {
                String::new()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        let func = text(status.func);
        let msg = text(status.err_msg);
        Err(Error::new(if func.is_empty() {
            msg
        } else {
            format!("{func}: {msg}")
        }))
    }
}

pub fn cstring(s: &str) -> Result<CString, Error> {
    CString::new(s).map_err(|_| Error::new(format!("{s:?} contains a NUL byte")))
}

/// Sets a path-valued `PyConfig` string field (decoded with the locale, like argv).
///
/// # Safety
/// `config` must be initialised with `PyConfig_Init*Config`.
pub unsafe fn set_path(
    config: &mut ffi::PyConfig,
    field: impl FnOnce(&mut ffi::PyConfig) -> *mut *mut libc::wchar_t,
    path: &Path,
) -> Result<(), Error> {
    // Raw bytes on Unix and WASI alike.
    let c = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::new("path contains a NUL byte"))?;
    let config_ptr: *mut ffi::PyConfig = config;
    // SAFETY: the field pointer points into `config`, which outlives the call.
    unsafe {
        let slot = field(&mut *config_ptr);
        check(ffi::PyConfig_SetBytesString(config_ptr, slot, c.as_ptr()))
    }
}
