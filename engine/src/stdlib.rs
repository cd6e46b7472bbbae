//! Where the standard library comes from.
//!
//! `cargo xtask isolate` can append a zip of the stdlib (sources and compiled bytecode) to the
//! executable: the isolate is then one relocatable file, and Python's zipimport reads the
//! stdlib from the executable itself (a zip may have any data in front of it). Without an
//! appended zip the isolate finds `lib/pythonX.Y` next to it, exactly like python3.

use crate::status::{self, Error};
use pyo3::ffi;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// True if `exe` ends with a zip archive (an end-of-central-directory record with no comment).
pub fn has_appended_zip(exe: &Path) -> bool {
    let Ok(mut f) = File::open(exe) else {
        return false;
    };
    let mut eocd = [0u8; 22];
    f.seek(SeekFrom::End(-22)).is_ok()
        && f.read_exact(&mut eocd).is_ok()
        && eocd[..4] == *b"PK\x05\x06"
        && eocd[20..] == [0, 0]
}

/// The running executable, if it carries its stdlib.
pub fn self_contained() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    has_appended_zip(&exe).then_some(exe)
}

/// Points `config` at the stdlib appended to the executable, if there is one; otherwise
/// leaves CPython's own search (next to the executable, then `PYTHONHOME`) in charge.
///
/// # Safety
/// `config` must be initialised with `PyConfig_Init*Config` and not yet used.
pub unsafe fn configure(config: &mut ffi::PyConfig) -> Result<(), Error> {
    unsafe { configure_from(config, self_contained().as_deref()) }
}

/// [`configure`] with [`self_contained`]'s answer already known (a warm server's children
/// run the server's executable: no need to read its end again).
///
/// # Safety
/// As [`configure`].
pub unsafe fn configure_from(config: &mut ffi::PyConfig, exe: Option<&Path>) -> Result<(), Error> {
    let Some(exe) = exe else {
        return Ok(());
    };
    let dir = exe.parent().unwrap_or(Path::new("/"));
    // Setting home stops the search for lib/pythonX.Y (and its warnings when absent).
    unsafe {
        status::set_path(config, |c| &mut c.home, dir)?;
        let wide = status::wide(&exe.display().to_string())?;
        status::check(ffi::PyWideStringList_Append(
            &mut config.module_search_paths,
            wide.as_ptr(),
        ))?;
    }
    config.module_search_paths_set = 1;
    Ok(())
}
