//! Unpack: extract a verified source archive (gzip or xz tar) into a fresh directory.
//!
//! Every entry is checked before it is written: no absolute paths, no `..`, no device files,
//! nothing written through a symbolic link, no hard link through one. Once all is written,
//! every symbolic link is resolved as the kernel would, through the links before it, and must
//! stay inside the tree: nothing that later reads the tree (patches, the build, licence
//! copies) can be led out of it. Extraction goes to a temporary directory that is renamed into
//! place at the end, so a broken or hostile archive leaves nothing.

use crate::util::fs;
use anyhow::{Context, Result, bail};
use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufReader, Read};
use std::path::{Component, Path, PathBuf};

/// Extracts `archive` so that its single top-level directory becomes `dest`.
pub fn unpack(archive: &Path, dest: &Path) -> Result<()> {
    if dest.exists() {
        bail!(
            "{} already exists; refusing to unpack over it: move it away",
            dest.display()
        );
    }
    let parent = dest.parent().context("destination has no parent")?;
    fs::create_dir_all(parent)?;
    let tmp = fs::sibling(dest, &format!("unpacking-{}", std::process::id()));
    fs::remove_dir_all(&tmp)?;
    fs::create_dir_all(&tmp)?;
    let result = extract(archive, &tmp).and_then(|top| {
        links_stay_inside(&tmp.join(&top))?;
        fs::rename(&tmp.join(&top), dest)
    });
    let _ = std::fs::remove_dir_all(&tmp);
    result.with_context(|| {
        format!(
            "unpacking {} (its digest matched the recipe: if the recipe pins this archive, \
             the archive itself is broken or hostile)",
            archive.display()
        )
    })
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
    fs::open(archive)?
        .read_exact(&mut magic)
        .map_err(|e| fs::io_error(e, "reading", archive))?;
    let file = BufReader::new(fs::open(archive)?);
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
        if let Some(link) = through_link(into, &rel) {
            bail!(
                "archive entry {} goes through the symbolic link {}: refusing to unpack",
                path.display(),
                link.display()
            );
        }
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name()
                .with_context(|| format!("link {} has an unreadable target", path.display()))?
                .with_context(|| format!("link {} has no target", path.display()))?;
            check_link(&rel, &target, kind.is_hard_link())?;
            if kind.is_hard_link()
                && let Some(link) = through_link(into, &check_path(&target)?)
            {
                bail!(
                    "hard link {} points through the symbolic link {}: refusing to unpack",
                    path.display(),
                    link.display()
                );
            }
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

/// The first directory on the way to `rel` (inside `into`) that is a symbolic link.
fn through_link(into: &Path, rel: &Path) -> Option<PathBuf> {
    let mut at = PathBuf::new();
    let mut parts = rel.components().peekable();
    while let Some(c) = parts.next() {
        at.push(c);
        if parts.peek().is_some() && into.join(&at).is_symlink() {
            return Some(at);
        }
    }
    None
}

/// A link must resolve inside the archive's top-level directory, by its text. Hard link
/// targets are archive paths; symlink targets are relative to the link's directory. (This is
/// the early check; [`links_stay_inside`] is the one that follows links.)
fn check_link(link: &Path, target: &Path, hard: bool) -> Result<()> {
    if target.is_absolute() {
        bail!(
            "link {} points to absolute path {}: refusing to unpack",
            link.display(),
            target.display()
        );
    }
    // Counted from inside the top-level directory: a link to it or above would leave `dest`.
    let mut depth: Vec<&std::ffi::OsStr> = Vec::new();
    if !hard {
        depth.extend(
            link.parent()
                .into_iter()
                .flat_map(|p| p.components())
                .map(|c| c.as_os_str()),
        );
    }
    let mut target_parts = target.components().peekable();
    if hard {
        // An archive path: it must start with the top-level directory, and go below it.
        let top = link.components().next();
        if target_parts.next() != top || target_parts.peek().is_none() {
            bail!(
                "hard link {} points outside the archive's directory ({}): refusing to unpack",
                link.display(),
                target.display()
            );
        }
    } else if !depth.is_empty() {
        depth.remove(0);
    }
    for c in target_parts {
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

/// Every symbolic link in `tree` resolves inside it, followed as the kernel follows it
/// through the links on its way.
fn links_stay_inside(tree: &Path) -> Result<()> {
    for entry in walkdir::WalkDir::new(tree) {
        let entry = entry.map_err(|e| anyhow::anyhow!("walking {}: {e}", tree.display()))?;
        if !entry.path_is_symlink() {
            continue;
        }
        let rel = entry.path().strip_prefix(tree)?;
        if resolve_inside(tree, rel).is_none() {
            let target = std::fs::read_link(entry.path())
                .map_err(|e| fs::io_error(e, "reading link", entry.path()))?;
            bail!(
                "link {} -> {} does not resolve inside the archive's directory (followed through the links on its way, it leaves it or loops): refusing to unpack",
                rel.display(),
                target.display()
            );
        }
    }
    Ok(())
}

/// Where the link `rel` inside `root` leads, relative to `root`, following every link on the
/// way; `None` when it leaves `root`, is absolute, or loops. Parts that do not exist are taken
/// as they are written.
fn resolve_inside(root: &Path, rel: &Path) -> Option<PathBuf> {
    let mut at: Vec<OsString> = rel
        .parent()?
        .components()
        .map(|c| c.as_os_str().to_owned())
        .collect();
    // What is left to walk, front first; a link met on the way puts its target in front.
    let mut todo: VecDeque<OsString> = VecDeque::new();
    let mut hops = 0;
    let mut next = Some(std::fs::read_link(root.join(rel)).ok()?);
    loop {
        if let Some(target) = next.take() {
            hops += 1;
            if hops > 40 || target.is_absolute() {
                return None;
            }
            for c in target.components().rev() {
                todo.push_front(c.as_os_str().to_owned());
            }
        }
        let Some(part) = todo.pop_front() else {
            return Some(at.iter().collect());
        };
        match part.to_str() {
            Some(".") => {}
            Some("..") => {
                at.pop()?;
            }
            _ => {
                at.push(part);
                let here: PathBuf = at.iter().collect();
                if let Ok(target) = std::fs::read_link(root.join(here)) {
                    at.pop();
                    next = Some(target);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{self, File};

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
            h.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
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

    /// Issue 21, item 2: links that escape through links. The first counted `..` by text from
    /// the archive's root, as if no directory on the way were a link.
    #[test]
    fn refuses_links_that_escape_through_links() {
        // The archive: `P-1/d -> ..`, then a link reached through it.
        refused(
            "through-dotdot",
            &[
                ("P-1/", D, ""),
                ("P-1/d", L, ".."),
                ("P-1/d/P-1/d/P-1/root", L, "../../../.."),
            ],
            "points outside",
        );
        // A link to the top-level directory's parent: inside the temporary directory, but
        // outside `dest` once it is renamed there.
        refused(
            "to-parent",
            &[("P-1/", D, ""), ("P-1/up", L, "..")],
            "points outside",
        );
        // Inside by its text, outside once `u` (which leads to `P-1`) is followed.
        refused(
            "via-link",
            &[
                ("P-1/a/b/", D, ""),
                ("P-1/a/b/u", L, "../.."),
                ("P-1/x", L, "a/b/u/../../.."),
            ],
            "does not resolve inside",
        );
        // Nothing is written through a link, even one that stays inside.
        refused(
            "write-through",
            &[
                ("P-1/sub/", D, ""),
                ("P-1/d", L, "sub"),
                ("P-1/d/f", F, "x"),
            ],
            "goes through the symbolic link P-1/d",
        );
        refused(
            "hardlink-through",
            &[
                ("P-1/sub/", D, ""),
                ("P-1/sub/f", F, "x"),
                ("P-1/d", L, "sub"),
                ("P-1/h", H, "P-1/d/f"),
            ],
            "points through the symbolic link",
        );
        refused(
            "loop",
            &[("P-1/a", L, "b"), ("P-1/b", L, "a"), ("P-1/c", L, "a/x")],
            "does not resolve inside",
        );
    }

    #[test]
    fn links_through_links_that_stay_inside_are_kept() {
        let d = tmp("inside");
        let a = archive(
            &d,
            &[
                ("P-1/a/b/", D, ""),
                ("P-1/a/b/f", F, "deep"),
                ("P-1/l", L, "a"),
                ("P-1/m", L, "l/b/f"),
                ("P-1/a/b/up", L, "../../l/b/f"),
                ("P-1/dangling", L, "nowhere/at/all"),
            ],
        );
        unpack(&a, &d.join("out")).unwrap();
        assert_eq!(fs::read_to_string(d.join("out/m")).unwrap(), "deep");
        assert_eq!(fs::read_to_string(d.join("out/a/b/up")).unwrap(), "deep");
    }

    /// Issue 21, item 6: a scratch directory that cannot be written is named, with the way
    /// out (as root: a read-only tmpfs; otherwise a directory without write permission).
    #[test]
    fn a_read_only_scratch_directory_is_named() {
        use crate::util::testing::{Tmpfs, is_root};
        use std::os::unix::fs::PermissionsExt;
        let d = tmp("read-only");
        let a = archive(&d, &[("P-1/a", F, "x")]);
        let scratch = d.join("work");
        let mount = is_root().then(|| Tmpfs::mount(&scratch, "ro,size=1m"));
        if mount.is_none() {
            fs::create_dir_all(&scratch).unwrap();
            fs::set_permissions(&scratch, fs::Permissions::from_mode(0o555)).unwrap();
        }
        let err = format!("{:#}", unpack(&a, &scratch.join("src")).unwrap_err());
        assert!(err.contains(&scratch.display().to_string()), "{err}");
        assert!(
            err.contains("read-only file system: point") || err.contains("check the permissions"),
            "{err}"
        );
        drop(mount);
        fs::set_permissions(&scratch, fs::Permissions::from_mode(0o755)).unwrap();
        fs::remove_dir_all(&d).unwrap();
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
