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
    let exe = running_executable()?;
    has_appended_zip(&exe).then_some(exe)
}

/// `/proc/self/exe`, or where `argv[0]` leads when there is no /proc (an empty root, a
/// minimal container), as CPython's getpath finds python3 there: a path when it has a slash,
/// else the first match on `PATH`.
fn running_executable() -> Option<PathBuf> {
    if let Ok(exe) = std::env::current_exe() {
        return Some(exe);
    }
    let argv0 = PathBuf::from(std::env::args_os().next()?);
    if argv0.components().count() > 1 {
        return std::fs::canonicalize(&argv0).ok();
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(&argv0))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::canonicalize(p).ok())
}

/// Points a read `config` at the stdlib appended to `exe`, the way python3 finds its own:
/// the executable's directory is its home and the executable its stdlib directory
/// (`PyConfig.stdlib_dir`), so that CPython computes the search path exactly as for python3
/// (`PYTHONPATH` first unless `-E` or `-I`, `lib/pythonXY.zip`, the stdlib, `lib-dynload`),
/// with the executable where python3's stdlib directory stands, and the frozen stdlib modules
/// take their `__file__` and `__path__` from it (`<exe>/os.py`, `<exe>/encodings`), as
/// zipimport names the others. A `PYTHONHOME` that python3 would honour is honoured
/// instead: the stdlib then comes from there, as for python3.
///
/// # Safety
/// `config` must have been read (`PyConfig_Read`) and not yet used.
pub unsafe fn configure(config: &mut ffi::PyConfig, exe: &Path) -> Result<(), Error> {
    if config.use_environment != 0 && std::env::var_os("PYTHONHOME").is_some_and(|h| !h.is_empty())
    {
        return Ok(());
    }
    let dir = exe.parent().unwrap_or(Path::new("/"));
    unsafe {
        status::set_path(config, |c| &mut c.home, dir)?;
        status::set_path(config, |c| &mut c.stdlib_dir, exe)
    }
}

/// [`configure`] for a config whose argv is set but which is not read yet, with
/// [`self_contained`]'s answer already known (a warm server's children run the server's
/// executable: no need to read its end again). Reading stops with CPython's exit code for
/// `--version`, `-h` or a bad option, as the error.
///
/// # Safety
/// `config` must be initialised (`PyConfig_Init*Config`) and not yet used.
pub unsafe fn configure_from(config: &mut ffi::PyConfig, exe: Option<&Path>) -> Result<(), Error> {
    let Some(exe) = exe else {
        return Ok(());
    };
    unsafe {
        status::check(ffi::PyConfig_Read(config))?;
        configure(config, exe)
    }
}
