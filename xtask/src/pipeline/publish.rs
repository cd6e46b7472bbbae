//! Publish: the only way a sysroot directory changes.
//!
//! A sysroot is assembled in a hidden staging directory beside its final place, under a lock
//! that serialises every build and substitution of it, and swapped in with one atomic
//! exchange of the two directories (`renameat2(RENAME_EXCHANGE)`): at every instant the final
//! path is the old complete tree or the new one. Where the file system cannot exchange, the
//! old tree is renamed aside first; a process killed between the two renames leaves the old
//! tree aside, and the next run puts it back ([`recover`]). A staging directory that was not
//! published (the build failed, the disk filled) is deleted when the slot is let go: a
//! half-written tree takes no room and is never mistaken for anything.

use crate::util::{fs, progress};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// Everything that is about to change one sysroot directory.
pub struct Slot {
    pub final_dir: PathBuf,
    _lock: fs::Lock,
}

impl Slot {
    /// Takes the sysroot's lock (waiting for another build of it) and repairs what a killed
    /// run may have left.
    pub fn acquire(final_dir: &Path) -> Result<Slot> {
        if let Some(parent) = final_dir.parent() {
            fs::create_dir_all(parent)?;
        }
        let lock = fs::Lock::acquire(&fs::sibling(final_dir, "lock"), "build-python")?;
        recover(final_dir)?;
        Ok(Slot {
            final_dir: final_dir.to_path_buf(),
            _lock: lock,
        })
    }

    /// A fresh, empty staging directory.
    pub fn staging(&self) -> Result<PathBuf> {
        let staging = fs::sibling(&self.final_dir, "staging");
        fs::remove_dir_all(&staging)?;
        fs::create_dir_all(&staging)?;
        Ok(staging)
    }

    /// Swaps `staging` in for the final directory and deletes the old tree.
    pub fn publish(&self, staging: &Path) -> Result<()> {
        let final_dir = &self.final_dir;
        if !final_dir.exists() {
            return fs::rename(staging, final_dir);
        }
        if exchange(staging, final_dir)? {
            // `staging` now holds the previous tree.
            return fs::remove_dir_all(staging);
        }
        let old = aside(final_dir);
        fs::rename(final_dir, &old)?;
        crate::util::fault::point("publish-between-renames");
        fs::rename(staging, final_dir)?;
        fs::remove_dir_all(&old)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(fs::sibling(&self.final_dir, "staging"));
    }
}

fn aside(final_dir: &Path) -> PathBuf {
    fs::sibling(final_dir, "old")
}

/// Atomically exchanges two directories; `false` where the file system cannot.
fn exchange(a: &Path, b: &Path) -> Result<bool> {
    use std::os::unix::ffi::OsStrExt;
    if crate::util::fault::switch(crate::util::fault::NO_RENAME_EXCHANGE) {
        return Ok(false);
    }
    let cstr =
        |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).expect("no NUL in a path");
    let (ca, cb) = (cstr(a), cstr(b));
    // SAFETY: two valid NUL-terminated paths; renameat2 only reads them.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => Ok(false),
        _ => Err(fs::io_error(
            err,
            &format!("exchanging {} with", a.display()),
            b,
        )),
    }
}

/// Puts back a tree a killed run left aside, or deletes it once a newer one is in place.
pub fn recover(final_dir: &Path) -> Result<()> {
    let old = aside(final_dir);
    if !old.exists() {
        return Ok(());
    }
    if final_dir.exists() {
        fs::remove_dir_all(&old)
    } else {
        progress::note(format!(
            "{} was left aside by an interrupted run: putting it back",
            final_dir.display()
        ));
        fs::rename(&old, final_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("xtask-publish-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn publish_replaces_the_tree_and_leaves_nothing_else() {
        let d = tmp("swap");
        std::fs::create_dir_all(d.join("final")).unwrap();
        std::fs::write(d.join("final/old"), "old").unwrap();
        let slot = Slot::acquire(&d.join("final")).unwrap();
        let staging = slot.staging().unwrap();
        std::fs::write(staging.join("new"), "new").unwrap();
        slot.publish(&staging).unwrap();
        assert!(d.join("final/new").is_file() && !d.join("final/old").exists());
        drop(slot);
        let left: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| !n.ends_with(".lock"))
            .collect();
        assert_eq!(left, ["final"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_tree_left_aside_is_put_back() {
        let d = tmp("recover");
        let final_dir = d.join("final");
        std::fs::create_dir_all(aside(&final_dir)).unwrap();
        std::fs::write(aside(&final_dir).join("f"), "complete").unwrap();
        recover(&final_dir).unwrap();
        assert_eq!(
            std::fs::read_to_string(final_dir.join("f")).unwrap(),
            "complete"
        );
        assert!(!aside(&final_dir).exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    fn tree(dir: &Path, tag: &str) {
        std::fs::create_dir_all(dir.join("lib")).unwrap();
        std::fs::write(dir.join("manifest.json"), tag).unwrap();
        std::fs::write(dir.join("lib/libpython.a"), tag.repeat(1000)).unwrap();
    }

    fn is_tree(dir: &Path, tag: &str) -> bool {
        std::fs::read_to_string(dir.join("manifest.json")).is_ok_and(|t| t == tag)
            && std::fs::read_to_string(dir.join("lib/libpython.a"))
                .is_ok_and(|t| t == tag.repeat(1000))
    }

    /// Issue 21, item 9: where the file system cannot exchange two directories, a process
    /// killed between the two renames leaves the old tree complete, aside; the next acquire
    /// puts it back, and the next publish works.
    #[test]
    fn a_kill_between_the_two_renames_leaves_one_complete_tree() {
        let d = tmp("killed");
        let final_dir = d.join("final");
        tree(&final_dir, "old");
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "pipeline::publish::tests::publish_and_die"])
            .args(["--ignored", "--nocapture", "--test-threads=1"])
            .env("XTASK_TEST_PUBLISH", &final_dir)
            .env(
                crate::util::fault::ENV,
                "no-rename-exchange,publish-between-renames",
            )
            .status()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{status}");
        assert!(!final_dir.exists(), "the kill came before the first rename");
        assert!(
            is_tree(&aside(&final_dir), "old"),
            "the old tree is not whole"
        );

        let slot = Slot::acquire(&final_dir).unwrap();
        assert!(is_tree(&final_dir, "old") && !aside(&final_dir).exists());
        let staging = slot.staging().unwrap();
        tree(&staging, "new");
        slot.publish(&staging).unwrap();
        drop(slot);
        assert!(is_tree(&final_dir, "new"));
        let mut left: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, [".final.lock", "final"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// Run by the test above in a process of its own, which the fault point kills.
    #[test]
    #[ignore = "a helper: a_kill_between_the_two_renames_leaves_one_complete_tree runs it"]
    fn publish_and_die() {
        let Some(final_dir) = std::env::var_os("XTASK_TEST_PUBLISH") else {
            return;
        };
        let slot = Slot::acquire(Path::new(&final_dir)).unwrap();
        let staging = slot.staging().unwrap();
        tree(&staging, "new");
        slot.publish(&staging).unwrap();
        panic!("the fault point did not kill this process");
    }

    /// Issue 21, item 9: a disk that fills while a sysroot is staged: the error names the
    /// file and the way out, nothing is published, the previous sysroot is intact and the
    /// half-written staging directory is gone. Needs root to mount a small tmpfs.
    #[test]
    fn a_full_disk_while_staging_keeps_the_previous_sysroot() {
        use crate::util::testing::{Tmpfs, is_root};
        if !is_root() {
            eprintln!("skipped: mounting a tmpfs needs root");
            return;
        }
        let d = tmp("full");
        let _mount = Tmpfs::mount(&d, "size=1m");
        let final_dir = d.join("x86_64/3.99.0");
        tree(&final_dir, "old");
        let slot = Slot::acquire(&final_dir).unwrap();
        let staging = slot.staging().unwrap();
        let big = staging.join("lib/libpython3.99.a");
        fs::create_dir_all(big.parent().unwrap()).unwrap();
        let err = fs::write(&big, vec![0u8; 2 << 20]).unwrap_err().to_string();
        assert!(err.contains(&big.display().to_string()), "{err}");
        assert!(
            err.contains("disk is full") && err.contains("free some space"),
            "{err}"
        );
        drop(slot);
        assert!(is_tree(&final_dir, "old"));
        assert!(
            !staging.exists(),
            "the half-written staging directory was kept"
        );
        drop(_mount);
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// What `build-python --force` does when verification fails: the staged tree goes, the
    /// published one stays.
    #[test]
    fn an_unpublished_staging_directory_is_removed() {
        let d = tmp("unpublished");
        let final_dir = d.join("final");
        tree(&final_dir, "old");
        let slot = Slot::acquire(&final_dir).unwrap();
        let staging = slot.staging().unwrap();
        tree(&staging, "half");
        drop(slot);
        assert!(is_tree(&final_dir, "old") && !staging.exists());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
