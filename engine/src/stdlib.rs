//! Where the standard library comes from, and starting CPython with it.
//!
//! `cargo xtask isolate` makes a single-file isolate: the executable with a zip of the stdlib
//! (sources and bytecode) as its last ELF section, `.pysysroot.stdlib`, which `strip` keeps.
//! Python's zipimport reads the stdlib from the executable itself (a zip may have bytes in
//! front of it, and the few after it are within the distance zipimport searches for the end
//! record). Without the section the isolate finds `lib/pythonX.Y` next to it, like python3.
//!
//! zipimport reads a zip's directory in Python the first time a path entry names it: over a
//! thousand entries, the few milliseconds that made the single file start slower than
//! python3. [`start`] therefore initialises CPython in two phases and, in between, gives
//! zipimport the directory read here in Rust, exactly as `zipimport._read_directory` would
//! build it (`cargo xtask isolate` checks that it is the same).

use crate::elf::{self, Span};
use crate::status::{self, Error};
use crate::zipdir;
use pyo3::ffi;
use std::ffi::{CStr, c_char};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The section holding the stdlib zip (xtask's `util::elf_section::STDLIB_SECTION`).
pub const SECTION: &str = ".pysysroot.stdlib";

/// A stdlib carried by an executable: the file and where its zip is in it.
#[derive(Debug, Clone)]
pub struct Carried {
    pub exe: PathBuf,
    pub zip: Span,
}

/// The stdlib carried in `exe`, if it has one.
pub fn carried_by(exe: &Path) -> Option<Carried> {
    let mut file = File::open(exe).ok()?;
    let zip = elf::find_section(&mut file, SECTION.as_bytes()).ok()??;
    Some(Carried {
        exe: exe.to_path_buf(),
        zip,
    })
}

/// The running executable's stdlib, if it carries one.
#[cfg(not(target_os = "wasi"))]
pub fn self_contained() -> Option<Carried> {
    carried_by(&elf::running_executable()?)
}

/// A WASI module cannot read itself (and its std cannot search `PATH`): its stdlib ships
/// beside it, see [`wasi_home`].
#[cfg(target_os = "wasi")]
pub fn self_contained() -> Option<Carried> {
    None
}

/// The single-file WASI isolate's stdlib is `lib/pythonXY.zip` in its home, which the runner
/// maps at CPython's prefix. getpath finds the zip there, but warns "Could not find platform
/// independent libraries" on every start whose argv[0] is not a path in the guest (a host
/// path, as the runner passes by default): it only looks for the zip beside the executable,
/// and at the prefix for `lib/pythonX.Y/os.py`. Naming the prefix as the home, as
/// `PYTHONHOME` would, gives the same paths without the warning. The zip is the stdlib
/// directory, as the ELF single file is its own ([`configure`]): the frozen stdlib modules take
/// their `__file__` and `__path__` from it, without which no codec but the frozen ones could
/// load. A `PYTHONHOME` that python3 would honour is left to do its work.
///
/// # Safety
/// `config` must have been read (`PyConfig_Read`) and not yet used.
#[cfg(target_os = "wasi")]
pub unsafe fn wasi_home(config: &mut ffi::PyConfig) -> Result<(), Error> {
    if config.use_environment != 0 && std::env::var_os("PYTHONHOME").is_some_and(|h| !h.is_empty())
    {
        return Ok(());
    }
    let prefix = Path::new(env!("ISOLATE_PREFIX"));
    let version = crate::PYTHON_VERSION.split('.').take(2).collect::<Vec<_>>();
    let lib = prefix.join("lib");
    let zip = lib.join(format!("python{}.zip", version.concat()));
    let landmark = lib.join(format!("python{}/os.py", version.join(".")));
    if zip.is_file() && !landmark.is_file() && !landmark.with_extension("pyc").is_file() {
        unsafe {
            status::set_path(config, |c| &mut c.home, prefix)?;
            status::set_path(config, |c| &mut c.stdlib_dir, &zip)?;
        }
    }
    Ok(())
}

/// Points a read `config` at the stdlib `exe` carries, the way python3 finds its own: the
/// executable's directory is its home and the executable its stdlib directory
/// (`PyConfig.stdlib_dir`), so that CPython computes the search path exactly as for python3
/// (`PYTHONPATH` first unless `-E` or `-I`, `lib/pythonXY.zip`, the stdlib, `lib-dynload`),
/// with the executable where python3's stdlib directory stands, and the frozen stdlib modules
/// take their `__file__` and `__path__` from it (`<exe>/os.py`, `<exe>/encodings`), as
/// zipimport names the others. A `PYTHONHOME` that python3 would honour is honoured
/// instead: the stdlib then comes from there, as for python3, and this returns false.
///
/// # Safety
/// `config` must have been read (`PyConfig_Read`) and not yet used.
pub unsafe fn configure(config: &mut ffi::PyConfig, exe: &Path) -> Result<bool, Error> {
    if config.use_environment != 0 && std::env::var_os("PYTHONHOME").is_some_and(|h| !h.is_empty())
    {
        return Ok(false);
    }
    let dir = exe.parent().unwrap_or(Path::new("/"));
    unsafe {
        status::set_path(config, |c| &mut c.home, dir)?;
        status::set_path(config, |c| &mut c.stdlib_dir, exe)?;
    }
    Ok(true)
}

unsafe extern "C" {
    /// The second phase of a `PyConfig` with `_init_main = 0` (CPython 3.8 to 3.13).
    fn _Py_InitializeMain() -> ffi::PyStatus;
    /// A dict with room for `minused` items (CPython 3.6 to 3.13), the size
    /// `_read_directory`'s ends up with after its resizes.
    fn _PyDict_NewPresized(minused: ffi::Py_ssize_t) -> *mut ffi::PyObject;
}

/// `Py_InitializeFromConfig(config)`. When `carried` is the stdlib `config` was pointed at
/// ([`configure`]), in its two phases: the core (builtins, sys, the frozen importlib), then,
/// once zipimport has the carried zip's directory, the main one, which imports. Otherwise in
/// one, exactly as python3 starts.
///
/// # Safety
/// As `Py_InitializeFromConfig`; once per process.
pub unsafe fn start(config: &mut ffi::PyConfig, carried: Option<&Carried>) -> ffi::PyStatus {
    unsafe {
        if carried.is_none() {
            return ffi::Py_InitializeFromConfig(config);
        }
        config._init_main = 0;
        let status = ffi::Py_InitializeFromConfig(config);
        if ffi::PyStatus_Exception(status) != 0 {
            return status;
        }
        if let Some(c) = carried
            && !config.stdlib_dir.is_null()
        {
            // On failure zipimport reads the directory itself, as it always could.
            let _ = prefill(config.stdlib_dir, c);
        }
        _Py_InitializeMain()
    }
}

/// An owned reference; NULL (a failed call) becomes `Err`, with the exception cleared.
struct Owned(*mut ffi::PyObject);

impl Owned {
    unsafe fn new(p: *mut ffi::PyObject) -> Result<Owned, ()> {
        if p.is_null() {
            unsafe { ffi::PyErr_Clear() };
            Err(())
        } else {
            Ok(Owned(p))
        }
    }

    fn into_raw(self) -> *mut ffi::PyObject {
        let p = self.0;
        std::mem::forget(self);
        p
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: an owned reference, released with the interpreter running.
        unsafe { ffi::Py_DecRef(self.0) }
    }
}

unsafe fn check(rc: std::ffi::c_int) -> Result<(), ()> {
    if rc < 0 {
        unsafe { ffi::PyErr_Clear() };
        return Err(());
    }
    Ok(())
}

/// `zipimport._zip_directory_cache[stdlib_dir] = <the carried zip's directory>`.
unsafe fn prefill(stdlib_dir: *const libc::wchar_t, carried: &Carried) -> Result<(), ()> {
    let mut file = File::open(&carried.exe).map_err(drop)?;
    let dir = zipdir::read(&mut file, carried.zip).map_err(drop)?;
    unsafe {
        let archive = Owned::new(ffi::PyUnicode_FromWideChar(stdlib_dir, -1))?;
        let zipimport = import_with_stdlib_dir(&archive)?;
        let cache = Owned::new(ffi::PyObject_GetAttrString(
            zipimport.0,
            c"_zip_directory_cache".as_ptr(),
        ))?;
        if ffi::PyDict_Contains(cache.0, archive.0) != 0 {
            return Ok(());
        }
        let files = directory(&archive, &dir, &zipimport)?;
        check(ffi::PyDict_SetItem(cache.0, archive.0, files.0))?;
        verbose_found(dir.entries.len(), &archive)
    }
}

/// `import zipimport` in the core phase, where `sys._stdlib_dir` is not set yet: set for the
/// import, so that zipimport and importlib's external part (frozen modules) get the
/// `__file__` they get in python3's main phase, which then sets the same value. The external
/// part first, as python3 imports them (and as `-X importtime` then shows them).
unsafe fn import_with_stdlib_dir(archive: &Owned) -> Result<Owned, ()> {
    const NAME: &CStr = c"_stdlib_dir";
    unsafe {
        let had = !ffi::PySys_GetObject(NAME.as_ptr()).is_null();
        if !had {
            check(ffi::PySys_SetObject(NAME.as_ptr(), archive.0))?;
        }
        let external = Owned::new(ffi::PyImport_ImportModule(
            c"_frozen_importlib_external".as_ptr(),
        ));
        let module =
            external.and_then(|_| Owned::new(ffi::PyImport_ImportModule(c"zipimport".as_ptr())));
        if !had {
            check(ffi::PySys_SetObject(NAME.as_ptr(), std::ptr::null_mut()))?;
        }
        module
    }
}

/// The dict `zipimport._read_directory(archive)` returns: each name (decoded as zipimport
/// does) to `(path, compress, data_size, file_size, file_offset, time, date, crc)`, the path
/// being `_path_join(archive, name)` (POSIX: each part stripped of trailing slashes).
unsafe fn directory(
    archive: &Owned,
    dir: &zipdir::Directory,
    zipimport: &Owned,
) -> Result<Owned, ()> {
    unsafe {
        let files = Owned::new(_PyDict_NewPresized(dir.entries.len() as ffi::Py_ssize_t))?;
        let stripped = Owned::new(ffi::PyObject_CallMethod(
            archive.0,
            c"rstrip".as_ptr(),
            c"s".as_ptr(),
            c"/".as_ptr(),
        ))?;
        let prefix = Owned::new(ffi::PyUnicode_FromString(c"/".as_ptr()))?;
        let prefix = Owned::new(ffi::PyUnicode_Concat(stripped.0, prefix.0))?;
        for e in &dir.entries {
            let raw = dir.name(e);
            let name = decode(raw, e.utf8, zipimport)?;
            let mut tail = raw;
            while let [rest @ .., b'/'] = tail {
                tail = rest;
            }
            let path = if raw.is_empty() {
                Owned::new(ffi::PyUnicode_FromObject(stripped.0))?
            } else if tail.len() == raw.len() {
                Owned::new(ffi::PyUnicode_Concat(prefix.0, name.0))?
            } else {
                let tail = decode(tail, e.utf8, zipimport)?;
                Owned::new(ffi::PyUnicode_Concat(prefix.0, tail.0))?
            };
            let items = [
                path,
                Owned::new(ffi::PyLong_FromUnsignedLongLong(u64::from(e.compress)))?,
                Owned::new(ffi::PyLong_FromUnsignedLongLong(u64::from(e.data_size)))?,
                Owned::new(ffi::PyLong_FromUnsignedLongLong(u64::from(e.file_size)))?,
                Owned::new(ffi::PyLong_FromUnsignedLongLong(e.file_offset))?,
                Owned::new(ffi::PyLong_FromUnsignedLongLong(u64::from(e.time)))?,
                Owned::new(ffi::PyLong_FromUnsignedLongLong(u64::from(e.date)))?,
                Owned::new(ffi::PyLong_FromUnsignedLongLong(u64::from(e.crc)))?,
            ];
            let tuple = Owned::new(ffi::PyTuple_New(items.len() as ffi::Py_ssize_t))?;
            for (i, item) in items.into_iter().enumerate() {
                // Into a new tuple's empty slot, which takes the reference.
                ffi::PyTuple_SET_ITEM(tuple.0, i as ffi::Py_ssize_t, item.into_raw());
            }
            // A tuple of strings and integers holds no cycle: the collector's first pass
            // would untrack it (and with it the dict); untracked now, no pass walks them.
            ffi::PyObject_GC_UnTrack(tuple.0.cast());
            check(ffi::PyDict_SetItem(files.0, name.0, tuple.0))?;
        }
        Ok(files)
    }
}

/// A name as zipimport decodes it: UTF-8 when flagged, else ASCII, else cp437 (through
/// zipimport's own table). Its `replace('/', path_sep)` changes nothing on POSIX.
unsafe fn decode(raw: &[u8], utf8: bool, zipimport: &Owned) -> Result<Owned, ()> {
    let (ptr, len) = (raw.as_ptr().cast::<c_char>(), raw.len() as ffi::Py_ssize_t);
    unsafe {
        if utf8 || raw.is_ascii() {
            return Owned::new(ffi::PyUnicode_DecodeUTF8(ptr, len, c"strict".as_ptr()));
        }
        let latin1 = Owned::new(ffi::PyUnicode_DecodeLatin1(ptr, len, c"strict".as_ptr()))?;
        let table = Owned::new(ffi::PyObject_GetAttrString(
            zipimport.0,
            c"cp437_table".as_ptr(),
        ))?;
        Owned::new(ffi::PyObject_CallMethod(
            latin1.0,
            c"translate".as_ptr(),
            c"O".as_ptr(),
            table.0,
        ))
    }
}

/// zipimport's `-v` message for a directory read, so that `-v` still tells where the stdlib
/// comes from.
unsafe fn verbose_found(count: usize, archive: &Owned) -> Result<(), ()> {
    unsafe {
        let bootstrap = Owned::new(ffi::PyImport_ImportModule(c"_frozen_importlib".as_ptr()))?;
        let count = Owned::new(ffi::PyLong_FromSize_t(count))?;
        let message = c"zipimport: found {} names in {!r}";
        Owned::new(ffi::PyObject_CallMethod(
            bootstrap.0,
            c"_verbose_message".as_ptr(),
            c"sOO".as_ptr(),
            message.as_ptr(),
            count.0,
            archive.0,
        ))
        .map(drop)
    }
}

/// [`configure`] for a config whose argv is set but which is not read yet, with
/// [`self_contained`]'s answer already known (a warm server's children run the server's
/// executable: no need to read its end again). Reading stops with CPython's exit code for
/// `--version`, `-h` or a bad option, as the error.
///
/// # Safety
/// `config` must be initialised (`PyConfig_Init*Config`) and not yet used.
pub unsafe fn configure_from(
    config: &mut ffi::PyConfig,
    carried: Option<&Carried>,
) -> Result<(), Error> {
    let Some(carried) = carried else {
        return Ok(());
    };
    unsafe {
        status::check(ffi::PyConfig_Read(config))?;
        configure(config, &carried.exe).map(drop)
    }
}
