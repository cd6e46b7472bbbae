//! `list`: the recipes and targets this repository defines.

use crate::model::{Catalog, Settings};
use anyhow::Result;

pub fn run(settings: &Settings) -> Result<()> {
    let catalog = Catalog::load(&settings.layout)?;
    for r in &catalog.recipes {
        println!(
            "python {}{}",
            r.version,
            if r.default { " (default)" } else { "" }
        );
    }
    for t in &catalog.targets {
        println!(
            "target {:12} {:28} flavors: {}",
            t.name,
            t.rust_triple,
            t.flavor_names()
        );
    }
    Ok(())
}
