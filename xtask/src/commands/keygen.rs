//! `keygen`: a key pair for signing substitutes in a binary cache (minisign's format).

use crate::model::Settings;
use crate::util::{fs, sign};
use anyhow::{Result, bail};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Where to write `<name>.key` (secret, readable only by you) and `<name>.pub`.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    #[arg(long, default_value = "pysysroot")]
    pub name: String,
}

pub fn run(_settings: &Settings, args: &Args) -> Result<()> {
    crate::model::check_name(&args.name, "key")?;
    let secret_path = args.out.join(format!("{}.key", args.name));
    let public_path = args.out.join(format!("{}.pub", args.name));
    for p in [&secret_path, &public_path] {
        if p.exists() {
            bail!(
                "{} already exists: keygen never overwrites a key; choose another --name or --out",
                p.display()
            );
        }
    }
    fs::create_dir_all(&args.out)?;
    let (secret, public) = sign::keygen(&format!("pysysroot binary cache key {}", args.name))?;
    write_private(&secret_path, &secret)?;
    fs::write(&public_path, &public)?;
    let key = public.lines().nth(1).unwrap_or_default();
    println!(
        "secret key: {} (keep it secret; `cargo xtask dist --sign` uses it)",
        secret_path.display()
    );
    println!("public key: {} ({key})", public_path.display());
    println!(
        "clients trust it with --trusted-key {key} or a line in ~/.config/pysysroot/trusted-keys"
    );
    Ok(())
}

/// Created readable by its owner only, before anything is written into it.
fn write_private(path: &std::path::Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| fs::io_error(e, "creating", path))?;
    f.write_all(text.as_bytes())
        .map_err(|e| fs::io_error(e, "writing", path))
}
