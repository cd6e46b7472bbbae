//! `fetch`: download and verify the pinned source of each recipe, as `build-python` would.

use crate::model::{Catalog, Settings};
use crate::pipeline::fetch::Fetcher;
use anyhow::{Result, bail};

#[derive(clap::Args)]
pub struct Args {
    /// CPython version (see recipes/) [default: every recipe].
    #[arg(long = "python", value_name = "VERSION")]
    pub python: Option<String>,
}

pub fn run(settings: &Settings, args: &Args) -> Result<()> {
    let catalog = Catalog::load(&settings.layout)?;
    let recipes = match &args.python {
        Some(v) => vec![catalog.recipe(Some(v))?],
        None => catalog.recipes.iter().collect(),
    };
    let fetcher = Fetcher::new(settings)?;
    let mut failed = Vec::new();
    for r in recipes {
        // Like build-python: the first source that can be had is the one used; the others
        // are alternatives a mirror need not carry.
        match fetcher.fetch_any(&r.sources) {
            Ok((path, s)) => println!(
                "ok        {} {}  {}",
                s.sha256,
                s.file_name(),
                path.display()
            ),
            Err(e) => {
                println!("FAILED    CPython {}", r.version);
                failed.push(format!("CPython {}: {e:#}", r.version));
            }
        }
    }
    if !failed.is_empty() {
        bail!(
            "no pinned source could be fetched and verified for {}",
            failed.join("\n")
        );
    }
    Ok(())
}
