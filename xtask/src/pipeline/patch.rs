//! Patch: apply the recipe's patches from `patches/`, in order, with no fuzz.
//!
//! Each patch is first tried with `--dry-run`, so a patch that does not apply stops the build
//! with its name and `patch`'s complaint, before it has touched a file. Patched files get the
//! tree's own timestamp back: a patched `configure` newer than `configure.ac` must not look
//! out of date to make (which would try to run autoreconf), and the build stays reproducible.

use crate::util::{fs, process};
use anyhow::{Result, bail};
use std::path::Path;
use std::process::Command;

pub fn apply(src: &Path, patch: &Path, mtime: std::time::SystemTime) -> Result<()> {
    let name = patch
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    if !patch.is_file() {
        bail!("patch {name} not found at {}", patch.display());
    }
    for dry_run in [true, false] {
        let mut cmd = Command::new("patch");
        cmd.args([
            "-p1",
            "--forward",
            "--batch",
            "--fuzz=0",
            "--no-backup-if-mismatch",
            "-d",
        ])
        .arg(src)
        .arg("-i")
        .arg(patch);
        if dry_run {
            cmd.arg("--dry-run");
        }
        let out = process::capture(&mut cmd)?;
        if !out.status.success() {
            bail!(
                "patch {name} does not apply to {}:\n{}{}",
                src.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    for file in touched(&fs::read_to_string(patch)?) {
        let path = src.join(&file);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(mtime))
            .map_err(|e| fs::io_error(e, "setting the time of", &path))?;
    }
    Ok(())
}

/// Files a `-p1` unified diff writes (its `+++ b/...` lines).
fn touched(patch: &str) -> Vec<String> {
    patch
        .lines()
        .filter_map(|l| l.strip_prefix("+++ "))
        .filter_map(|p| {
            p.split('\t')
                .next()?
                .split_once('/')
                .map(|(_, rest)| rest.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn applies_a_patch_and_names_one_that_does_not_apply() {
        let d = std::env::temp_dir().join(format!("xtask-patch-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(d.join("src")).unwrap();
        fs::write(d.join("src/f.txt"), "one\ntwo\nthree\n").unwrap();
        let good = d.join("good.patch");
        fs::write(
            &good,
            "--- a/f.txt\n+++ b/f.txt\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n",
        )
        .unwrap();
        let epoch = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        apply(&d.join("src"), &good, epoch).unwrap();
        assert_eq!(
            fs::read_to_string(d.join("src/f.txt")).unwrap(),
            "one\nTWO\nthree\n"
        );
        assert_eq!(
            fs::metadata(d.join("src/f.txt"))
                .unwrap()
                .modified()
                .unwrap(),
            epoch
        );

        // Applying it again must fail (it no longer matches) and leave the file as it is.
        let err = apply(&d.join("src"), &good, epoch).unwrap_err().to_string();
        assert!(err.contains("good.patch does not apply"), "{err}");
        assert_eq!(
            fs::read_to_string(d.join("src/f.txt")).unwrap(),
            "one\nTWO\nthree\n"
        );
        fs::remove_dir_all(&d).unwrap();
    }
}
