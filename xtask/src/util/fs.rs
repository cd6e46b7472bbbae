//! File operations whose errors name the path and the way out, atomic writes, copies that
//! never follow a link out of their tree, and locks.
//!
//! A bare `Permission denied (os error 13)` leaves a user guessing which of a hundred files
//! is meant; every function here says what it was doing, to which path, and what fixes it.

use anyhow::{Result, anyhow, bail};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

/// An I/O error as a message with the path and, where the kind of error tells, the fix.
pub fn io_error(e: io::Error, doing: &str, path: &Path) -> anyhow::Error {
    let hint = match e.kind() {
        io::ErrorKind::PermissionDenied => {
            "check the permissions of it and of its parent directories, or point the tool \
             elsewhere (--cache-dir, --sysroots-dir, --out; builds work in the checkout's target/)"
        }
        io::ErrorKind::ReadOnlyFilesystem => {
            "it is on a read-only file system: point the tool at a writable directory \
             (--cache-dir, --sysroots-dir, --out; builds work in the checkout's target/)"
        }
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            "the disk is full: free some space there and run again (nothing was published)"
        }
        io::ErrorKind::NotADirectory => {
            "a file stands where a directory is needed: move that file away"
        }
        io::ErrorKind::IsADirectory => {
            "a directory stands where a file is needed: move that directory away"
        }
        io::ErrorKind::NotFound => "it does not exist: check the path",
        io::ErrorKind::AlreadyExists => "something already exists there: move it away",
        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock => "try again",
        _ => "",
    };
    let mut msg = format!("{doing} {}: {e}", path.display());
    if !hint.is_empty() {
        msg.push_str(&format!(" ({hint})"));
    }
    anyhow!(msg)
}

pub fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| io_error(e, "opening", path))
}

pub fn create(path: &Path) -> Result<File> {
    File::create(path).map_err(|e| io_error(e, "creating", path))
}

pub fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| io_error(e, "reading", path))
}

pub fn read_to_string(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| io_error(e, "reading", path))
}

/// The entries of a directory; an error reading any of them names the directory.
pub fn read_dir(path: &Path) -> Result<Vec<fs::DirEntry>> {
    fs::read_dir(path)
        .and_then(|entries| entries.collect())
        .map_err(|e| io_error(e, "listing", path))
}

pub fn create_dir_all(path: &Path) -> Result<()> {
    fs::create_dir_all(path).map_err(|e| io_error(e, "creating directory", path))
}

/// The current directory; it may have been deleted under a shell that still stands in it.
pub fn current_dir() -> Result<PathBuf> {
    std::env::current_dir().map_err(|e| {
        anyhow!("the current directory cannot be read ({e}): cd into an existing directory and run again")
    })
}

/// Removes a directory tree if it exists.
pub fn remove_dir_all(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error(e, "removing", path)),
        _ => Ok(()),
    }
}

/// Removes a file if it exists.
pub fn remove_file(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error(e, "removing", path)),
        _ => Ok(()),
    }
}

pub fn rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|e| io_error(e, &format!("moving {} to", from.display()), to))
}

pub fn write(path: &Path, data: impl AsRef<[u8]>) -> Result<()> {
    fs::write(path, data).map_err(|e| io_error(e, "writing", path))
}

/// Writes `data` to a temporary file beside `path`, syncs it, and renames it into place: a
/// reader sees the old file or the new one, never a part.
pub fn write_atomic(path: &Path, data: impl AsRef<[u8]>) -> Result<()> {
    let tmp = sibling(path, &format!("tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = create(&tmp)?;
        f.write_all(data.as_ref())
            .and_then(|()| f.sync_all())
            .map_err(|e| io_error(e, "writing", &tmp))?;
        rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// `.<name>.<tag>` beside `path`: hidden scratch names that never collide with real entries.
pub fn sibling(path: &Path, tag: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{tag}"))
}

/// Copies a file's contents. Unlike `std::fs::copy` the new file gets ordinary permissions
/// (0644, or 0755 when the source is executable), not the source's: a copy from a read-only
/// mirror must stay writable, or a failed copy could never be replaced.
pub fn copy_file(from: &Path, to: &Path) -> Result<u64> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut src = open(from)?;
    let exec = src
        .metadata()
        .map(|m| m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false);
    let mode = if exec { 0o755 } else { 0o644 };
    let mut dst = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(to)
        .map_err(|e| io_error(e, "creating", to))?;
    let n = io::copy(&mut src, &mut dst).map_err(|e| {
        if e.kind() == io::ErrorKind::StorageFull {
            io_error(e, "writing", to)
        } else {
            io_error(e, &format!("copying {} to", from.display()), to)
        }
    })?;
    fs::set_permissions(to, fs::Permissions::from_mode(mode))
        .map_err(|e| io_error(e, "setting the permissions of", to))?;
    Ok(n)
}

pub fn set_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .map_err(|e| io_error(e, "making executable", path))
}

/// Copies a file or a directory tree. Symbolic links are copied as links, and only when
/// their target stays inside `from`: nothing that copies from an unpacked or downloaded tree
/// may follow a link out of it.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(from).map_err(|e| io_error(e, "reading", from))?;
    if !meta.is_dir() {
        if meta.file_type().is_symlink() {
            bail!(
                "{} is a symbolic link: refusing to copy what it points to",
                from.display()
            );
        }
        if let Some(d) = to.parent() {
            create_dir_all(d)?;
        }
        copy_file(from, to)?;
        return Ok(());
    }
    for entry in walkdir::WalkDir::new(from).sort_by_file_name() {
        let entry = entry.map_err(|e| anyhow!("walking {}: {e}", from.display()))?;
        let rel = entry.path().strip_prefix(from)?;
        let dest = to.join(rel);
        let kind = entry.file_type();
        if kind.is_dir() {
            create_dir_all(&dest)?;
        } else if kind.is_symlink() {
            let target = fs::read_link(entry.path())
                .map_err(|e| io_error(e, "reading link", entry.path()))?;
            if !link_stays_inside(rel, &target) {
                bail!(
                    "{} links to {}, outside {}: refusing to copy it",
                    entry.path().display(),
                    target.display(),
                    from.display()
                );
            }
            std::os::unix::fs::symlink(&target, &dest)
                .map_err(|e| io_error(e, "creating link", &dest))?;
        } else {
            copy_file(entry.path(), &dest)?;
        }
    }
    Ok(())
}

/// Whether a relative link at `link` (a path relative to the tree's root) with `target`
/// resolves inside the tree, by its text alone: the caller guarantees no directory on the way
/// is itself a link (see `unpack`), so text is the whole truth.
pub fn link_stays_inside(link: &Path, target: &Path) -> bool {
    if target.is_absolute() {
        return false;
    }
    let mut depth = link.parent().map_or(0, |p| p.components().count());
    for c in target.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                if depth == 0 {
                    return false;
                }
                depth -= 1;
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

/// An exclusive advisory lock on a file, released when dropped (or when the process dies,
/// however it dies).
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock, saying once that it waits when another process holds it.
    pub fn acquire(path: &Path, holder: &str) -> Result<Lock> {
        if let Some(dir) = path.parent() {
            create_dir_all(dir)?;
        }
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| io_error(e, "opening lock file", path))?;
        if file.try_lock().is_err() {
            crate::util::progress::note(format!(
                "another {holder} holds {}; waiting for it",
                path.display()
            ));
            file.lock().map_err(|e| io_error(e, "locking", path))?;
        }
        Ok(Lock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("xtask-fs-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_copy_of_a_read_only_file_is_writable() {
        use std::os::unix::fs::PermissionsExt;
        let d = tmp("ro");
        fs::write(d.join("src"), "x").unwrap();
        fs::set_permissions(d.join("src"), fs::Permissions::from_mode(0o444)).unwrap();
        copy_file(&d.join("src"), &d.join("dst")).unwrap();
        let mode = fs::metadata(d.join("dst")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        fs::write(d.join("dst"), "overwritten").unwrap();
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn links_are_judged_from_where_they_stand() {
        assert!(link_stays_inside(Path::new("a/b/l"), Path::new("../x")));
        assert!(link_stays_inside(Path::new("a/l"), Path::new("../x")));
        assert!(!link_stays_inside(Path::new("l"), Path::new("../x")));
        assert!(!link_stays_inside(
            Path::new("a/l"),
            Path::new("/etc/passwd")
        ));
        assert!(!link_stays_inside(
            Path::new("a/l"),
            Path::new("b/../../../x")
        ));
    }

    #[test]
    fn copy_tree_refuses_a_link_out_and_keeps_one_inside() {
        let d = tmp("tree");
        fs::create_dir_all(d.join("t/sub")).unwrap();
        fs::write(d.join("t/sub/f"), "f").unwrap();
        std::os::unix::fs::symlink("f", d.join("t/sub/inside")).unwrap();
        copy_tree(&d.join("t"), &d.join("copy")).unwrap();
        assert_eq!(
            fs::read_link(d.join("copy/sub/inside")).unwrap(),
            Path::new("f")
        );
        std::os::unix::fs::symlink("/etc/hostname", d.join("t/out")).unwrap();
        let err = copy_tree(&d.join("t"), &d.join("copy2"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("outside"), "{err}");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn errors_name_the_path_and_the_fix() {
        let d = tmp("err");
        fs::write(d.join("file"), "").unwrap();
        let err = create_dir_all(&d.join("file/sub")).unwrap_err().to_string();
        assert!(
            err.contains(&d.join("file/sub").display().to_string()),
            "{err}"
        );
        assert!(
            err.contains("a file stands where a directory is needed"),
            "{err}"
        );
        fs::remove_dir_all(&d).unwrap();
    }
}
