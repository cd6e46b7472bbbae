//! Unpack: extract a verified source archive (gzip or xz tar) into a fresh directory.
//!
//! Every entry is checked before anything is written: no absolute paths, no `..`, no links
//! that point outside the destination, no device files. Extraction goes to a temporary
//! directory that is renamed into place at the end, so a broken archive leaves nothing.

use anyhow::{Context, Result, bail};
use std::fs::{self, File};
use std::io::{BufReader, Read};
use std::path::{Component, Path, PathBuf};

/// Extracts `archive` so that its single top-level directory becomes `dest`.
pub fn unpack(archive: &Path, dest: &Path) -> Result<()> {
    if dest.exists() {
        bail!(
            "{} already exists; refusing to unpack over it",
            dest.display()
        );
    }
    let parent = dest.parent().context("destination has no parent")?;
    fs::create_dir_all(parent)?;
    let tmp = parent.join(format!(
        ".{}.unpacking-{}",
        dest.file_name().unwrap().to_string_lossy(),
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp)?;
    let result = extract(archive, &tmp).and_then(|top| {
        fs::rename(tmp.join(&top), dest)
            .with_context(|| format!("moving {} into place", dest.display()))
    });
    let _ = fs::remove_dir_all(&tmp);
    result.with_context(|| format!("unpacking {}", archive.display()))
}

/// The newest modification time in an unpacked tree: the release's own date, used as
/// `SOURCE_DATE_EPOCH` so builds are reproducible and `sys.version` shows the release date.
/// A `SOURCE_DATE_EPOCH` in the environment wins.
pub fn source_date_epoch(tree: &Path) -> String {
    if let Ok(v) = std::env::var("SOURCE_DATE_EPOCH") {
        return v;
    }
    newest_mtime(tree)
        .duration_since(std::time::UNIX_EPOCH)
        .map_or_else(|_| "0".to_string(), |d| d.as_secs().to_string())
}

/// The newest modification time of any regular file in `tree`. Directories are left out: their
/// mtime is when unpacking created their entries, which would make the date (and every
/// `__DATE__` built from it) differ between two builds.
pub fn newest_mtime(tree: &Path) -> std::time::SystemTime {
    walkdir::WalkDir::new(tree)
        .into_iter()
        .filter_map(|e| e.ok().filter(|e| e.file_type().is_file()))
        .filter_map(|e| e.metadata().ok()?.modified().ok())
        .max()
        .unwrap_or(std::time::UNIX_EPOCH)
}

/// Picks the decompressor from the file's magic bytes, not its name.
fn open(archive: &Path) -> Result<Box<dyn Read>> {
    let mut magic = [0u8; 6];
    File::open(archive)?
        .read_exact(&mut magic)
        .context("archive is too short")?;
    let file = BufReader::new(File::open(archive)?);
    Ok(match magic {
        [0x1f, 0x8b, ..] => Box::new(flate2::read::GzDecoder::new(file)),
        [0xfd, b'7', b'z', b'X', b'Z', 0] => Box::new(liblzma::read::XzDecoder::new(file)),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Box::new(zstd::stream::read::Decoder::with_buffer(file)?),
        _ => bail!(
            "{} is neither a gzip, an xz nor a zstd archive",
            archive.display()
        ),
    })
}

/// Extracts into `into` and returns the one top-level directory name.
fn extract(archive: &Path, into: &Path) -> Result<PathBuf> {
    let mut tar = tar::Archive::new(open(archive)?);
    tar.set_preserve_mtime(true); // generated files must stay newer than their inputs, or make regenerates them
    tar.set_preserve_permissions(true);
    tar.set_unpack_xattrs(false);
    let mut top: Option<PathBuf> = None;
    for entry in tar.entries().context("reading the archive")? {
        let mut entry = entry.context("reading an archive entry")?;
        let path = entry
            .path()
            .context("entry with an unreadable path")?
            .into_owned();
        let rel = check_path(&path)?;
        let first = rel
            .components()
            .next()
            .map(|c| PathBuf::from(c.as_os_str()));
        match (&top, first) {
            (_, None) => continue,
            (None, Some(f)) => top = Some(f),
            (Some(t), Some(f)) if *t != f => {
                bail!(
                    "archive has more than one top-level entry ({} and {})",
                    t.display(),
                    f.display()
                )
            }
            _ => {}
        }
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name()?
                .with_context(|| format!("link {} has no target", path.display()))?;
            check_link(&rel, &target, kind.is_hard_link())?;
        } else if !(kind.is_file()
            || kind.is_dir()
            || kind.is_gnu_longname()
            || kind.is_pax_global_extensions()
            || kind.is_pax_local_extensions())
        {
            bail!(
                "archive entry {} has unsupported type {kind:?} (device, fifo...)",
                path.display()
            );
        }
        // tar's own checks again refuse anything escaping `into`.
        if !entry
            .unpack_in(into)
            .with_context(|| format!("extracting {}", path.display()))?
        {
            bail!(
                "archive entry {} would be written outside the destination",
                path.display()
            );
        }
    }
    top.context("the archive is empty")
}

/// A relative path made only of normal components.
fn check_path(path: &Path) -> Result<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => bail!(
                "archive entry {} contains `..`: refusing to unpack",
                path.display()
            ),
            Component::RootDir | Component::Prefix(_) => {
                bail!(
                    "archive entry {} is an absolute path: refusing to unpack",
                    path.display()
                )
            }
        }
    }
    Ok(out)
}

/// A link must resolve inside the archive's tree. Hard link targets are archive paths;
/// symlink targets are relative to the link's directory.
fn check_link(link: &Path, target: &Path, hard: bool) -> Result<()> {
    if target.is_absolute() {
        bail!(
            "link {} points to absolute path {}: refusing to unpack",
            link.display(),
            target.display()
        );
    }
    let mut depth: Vec<&std::ffi::OsStr> = Vec::new();
    if !hard {
        depth.extend(
            link.parent()
                .into_iter()
                .flat_map(|p| p.components())
                .map(|c| c.as_os_str()),
        );
    }
    for c in target.components() {
        match c {
            Component::Normal(p) => depth.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if depth.pop().is_none() {
                    bail!(
                        "link {} points outside the archive ({}): refusing to unpack",
                        link.display(),
                        target.display()
                    );
                }
            }
            _ => bail!(
                "link {} has an unsupported target {}",
                link.display(),
                target.display()
            ),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("xtask-unpack-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    /// Writes a gzip tar with raw header paths (the `tar` crate refuses to build bad ones).
    fn archive(dir: &Path, entries: &[(&str, tar::EntryType, &str)]) -> PathBuf {
        let file = dir.join("a.tar.gz");
        let gz = flate2::write::GzEncoder::new(
            File::create(&file).unwrap(),
            flate2::Compression::fast(),
        );
        let mut b = tar::Builder::new(gz);
        for (name, kind, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            h.set_entry_type(*kind);
            h.set_mode(0o644);
            h.set_mtime(RELEASED);
            if kind.is_symlink() || kind.is_hard_link() {
                h.set_link_name(data).unwrap();
                h.set_size(0);
                h.set_cksum();
                b.append(&h, &[][..]).unwrap();
            } else {
                h.set_size(data.len() as u64);
                h.set_cksum();
                b.append(&h, data.as_bytes()).unwrap();
            }
        }
        b.into_inner().unwrap().finish().unwrap();
        file
    }

    use tar::EntryType::{Directory as D, Link as H, Regular as F, Symlink as L};

    /// The mtime of every entry in the test archives.
    const RELEASED: u64 = 1_700_000_000;

    #[test]
    fn the_release_date_is_the_newest_file_not_the_unpack_time() {
        let d = tmp("date");
        let a = archive(
            &d,
            &[
                ("P-1/", D, ""),
                ("P-1/sub/", D, ""),
                ("P-1/sub/a.c", F, "int x;"),
                ("P-1/b.c", F, ""),
            ],
        );
        unpack(&a, &d.join("out")).unwrap();
        let newest = newest_mtime(&d.join("out"))
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert_eq!(
            newest, RELEASED,
            "the directories unpack created must not count"
        );
    }

    #[test]
    fn unpacks_a_good_archive_under_its_top_directory() {
        let d = tmp("good");
        let a = archive(
            &d,
            &[
                ("P-1/", D, ""),
                ("P-1/a.txt", F, "hi"),
                ("P-1/sub/link", L, "../a.txt"),
                ("P-1/hard", H, "P-1/a.txt"),
            ],
        );
        unpack(&a, &d.join("out")).unwrap();
        assert_eq!(fs::read_to_string(d.join("out/a.txt")).unwrap(), "hi");
        assert_eq!(fs::read_to_string(d.join("out/sub/link")).unwrap(), "hi");
    }

    fn refused(name: &str, entries: &[(&str, tar::EntryType, &str)], why: &str) {
        let d = tmp(name);
        let a = archive(&d, entries);
        let err = format!("{:#}", unpack(&a, &d.join("out")).unwrap_err());
        assert!(err.contains(why), "{name}: {err}");
        // Nothing is left behind: no destination, no temporary directory.
        let left: Vec<_> = fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("a.tar.gz")], "{name}");
        assert!(!d.parent().unwrap().join("evil").exists());
    }

    #[test]
    fn refuses_entries_that_escape() {
        refused(
            "dotdot",
            &[("P-1/a", F, "x"), ("P-1/../../evil", F, "x")],
            "contains `..`",
        );
        refused("abs", &[("/tmp/evil", F, "x")], "absolute path");
        refused(
            "symlink-out",
            &[("P-1/a", F, "x"), ("P-1/l", L, "../../evil")],
            "points outside",
        );
        refused(
            "symlink-abs",
            &[("P-1/l", L, "/etc/passwd")],
            "absolute path",
        );
        refused(
            "hardlink-out",
            &[("P-1/a", F, "x"), ("P-1/h", H, "../evil")],
            "points outside",
        );
        refused(
            "two-tops",
            &[("P-1/a", F, "x"), ("Q-1/b", F, "y")],
            "more than one top-level",
        );
        refused(
            "fifo",
            &[("P-1/f", tar::EntryType::Fifo, "")],
            "unsupported type",
        );
    }

    #[test]
    fn refuses_a_truncated_or_foreign_file() {
        let d = tmp("broken");
        let a = archive(&d, &[("P-1/a.txt", F, &"x".repeat(100_000))]);
        let bytes = fs::read(&a).unwrap();
        fs::write(&a, &bytes[..bytes.len() / 2]).unwrap();
        assert!(unpack(&a, &d.join("out")).is_err());
        assert!(!d.join("out").exists());
        fs::write(&a, b"PK\x03\x04 not a tarball").unwrap();
        assert!(
            format!("{:#}", unpack(&a, &d.join("out")).unwrap_err())
                .contains("neither a gzip, an xz nor a zstd")
        );
    }
}
