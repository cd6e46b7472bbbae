//! Substitutes: a sysroot someone else built from the same inputs, fetched from a binary
//! cache instead of built, as Nix substitutes from its caches.
//!
//! A cache holds, per build key, `<key>.narinfo`: a statement (the key, what was built, the
//! archive's name, size and sha256) signed with a minisign key, and the archive itself under
//! `archives/<sha256>.tar.zst` (the archive `dist` packs). A client trusts only statements
//! signed by keys it was told to trust; then the archive must have the stated digest, and
//! after unpacking every file must have the digest the sysroot's manifest records, the
//! manifest the same key, and the interpreter must pass its check. Only then is it published,
//! exactly as a build would be: in the sysroot's staging directory, under its lock, by one
//! atomic swap.

use crate::checks;
use crate::model::recipe::Source;
use crate::model::sysroot::Sysroot;
use crate::pipeline::{Plan, fetch, publish, record, unpack};
use crate::util::{fs, progress, sign, store::Store};
use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// What a cache says about one build key, signed.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub key: String,
    pub python: String,
    pub target: String,
    pub flavor: String,
    /// The archive's name in the cache.
    pub archive: String,
    pub sha256: String,
    pub size: u64,
}

const HEADER: &str = "pysysroot-substitute 1";

impl Statement {
    pub fn text(&self) -> String {
        format!(
            "{HEADER}\nkey {}\npython {}\ntarget {}\nflavor {}\narchive {}\nsha256 {}\nsize {}\n",
            self.key, self.python, self.target, self.flavor, self.archive, self.sha256, self.size
        )
    }

    pub fn parse(text: &str) -> Result<Statement> {
        let mut lines = text.lines();
        ensure!(
            lines.next() == Some(HEADER),
            "not a pysysroot substitute statement"
        );
        let mut field = |name: &str| -> Result<String> {
            let line = lines.next().unwrap_or_default();
            line.strip_prefix(&format!("{name} "))
                .map(String::from)
                .with_context(|| {
                    format!("the statement has no {name} line where expected: {line:?}")
                })
        };
        let s = Statement {
            key: field("key")?,
            python: field("python")?,
            target: field("target")?,
            flavor: field("flavor")?,
            archive: field("archive")?,
            sha256: field("sha256")?,
            size: field("size")?
                .parse()
                .context("the statement's size is not a number")?,
        };
        ensure!(
            crate::util::hash::is_sha256(&s.sha256),
            "the statement's sha256 is malformed"
        );
        ensure!(
            s.archive == archive_name(&s.sha256),
            "the statement names an archive outside archives/"
        );
        Ok(s)
    }
}

/// Where an archive with this digest lives in a cache: named by its content, so two builds of
/// the same key never overwrite each other's archive.
pub fn archive_name(sha256: &str) -> String {
    format!("archives/{sha256}.tar.zst")
}

pub fn narinfo_name(key: &str) -> String {
    format!("{key}.narinfo")
}

/// The signed statement as the cache stores it: one object, written in one step, so a reader
/// never pairs a statement with another writer's signature.
#[derive(Serialize, Deserialize)]
pub struct Narinfo {
    pub statement: String,
    pub signature: String,
}

/// Tries each configured cache in turn; returns the published sysroot, or why there is none.
pub fn substitute(plan: &Plan, slot: &publish::Slot) -> Result<Sysroot> {
    let caches = &plan.model.settings.binary_caches;
    ensure!(
        !caches.is_empty(),
        "no binary cache is configured (--binary-cache or {})",
        fetch::BINARY_CACHE_ENV
    );
    let mut why = Vec::new();
    for store in caches {
        match from(plan, slot, store) {
            Ok(s) => return Ok(s),
            Err(e) => why.push(format!("{store}: {e:#}")),
        }
    }
    bail!("{}", why.join("; "))
}

fn from(plan: &Plan, slot: &publish::Slot, store: &Store) -> Result<Sysroot> {
    let started = Instant::now();
    let m = plan.model;
    let Some(bytes) = store.get(&narinfo_name(&plan.key))? else {
        bail!("no substitute for key {}", &plan.key[..12]);
    };
    let narinfo: Narinfo =
        serde_json::from_slice(&bytes).context("its narinfo is not valid JSON")?;
    let signer = sign::verify(
        &m.settings.trusted_keys,
        narinfo.statement.as_bytes(),
        &narinfo.signature,
    )
    .context("refusing the substitute")?;
    let st = Statement::parse(&narinfo.statement)?;
    ensure!(
        st.key == plan.key,
        "the signed statement is for key {}, not {}",
        st.key,
        plan.key
    );
    let fetcher = fetch::Fetcher::for_binary_cache(m.settings, store.to_string())?;
    let archive = fetcher.fetch(&Source {
        url: store.url(&st.archive)?,
        sha256: st.sha256.clone(),
        size: Some(st.size),
    })?;
    let staging = slot.staging()?;
    fs::remove_dir_all(&staging)?;
    unpack::unpack(&archive, &staging)?;
    install(plan, slot, &staging).context("the substitute does not hold what its manifest says")?;
    crate::util::fault::point("substitute-before-publish");
    slot.publish(&staging)?;
    progress::note(format!(
        "substituted {} from {store} (signed by key {signer}, {} MiB) in {:.1?}",
        m.describe(),
        st.size / (1 << 20),
        started.elapsed()
    ));
    Sysroot::open(m)
}

/// Makes the unpacked archive a sysroot for this place, and proves it is the one the key
/// names: every recorded file intact and the interpreter working here.
fn install(plan: &Plan, slot: &publish::Slot, staging: &std::path::Path) -> Result<()> {
    let m = plan.model;
    let s = Sysroot::load(staging)?;
    ensure!(
        s.manifest.build.key == plan.key,
        "its manifest has key {}",
        s.manifest.build.key
    );
    ensure!(
        s.manifest.target.name == m.target.name
            && s.manifest.python.version == m.recipe.version
            && s.manifest.flavor == m.flavor,
        "it is a sysroot for {} {} {}",
        s.manifest.target.name,
        s.manifest.python.version,
        s.manifest.flavor
    );
    if let Some(problem) = record::first_changed_of_build(staging, &s.manifest)? {
        bail!("{problem}");
    }
    if let Some(extra) = record::installed_since(staging, s.manifest.packages.as_ref())?
        .and_then(|extra| extra.into_iter().next())
    {
        bail!("it holds {extra}, which the build did not install");
    }
    fs::write(
        &staging.join(&s.manifest.paths.pyo3_config),
        s.manifest.pyo3_config(&slot.final_dir),
    )?;
    let scratch = m
        .layout()
        .work
        .join("substitute-check")
        .join(&m.target.name);
    checks::sysroot::verify(m, staging, &s.manifest.link, &scratch)?;
    Ok(())
}

/// The signed statement for a packed sysroot.
pub fn signed(
    key: &minisign::SecretKey,
    manifest: &sysroot_manifest::Manifest,
    archive: &std::path::Path,
) -> Result<Narinfo> {
    let sha256 = crate::util::hash::sha256_file(archive)?;
    let size = std::fs::metadata(archive)
        .map_err(|e| fs::io_error(e, "reading", archive))?
        .len();
    let statement = Statement {
        key: manifest.build.key.clone(),
        python: manifest.python.version.clone(),
        target: manifest.target.name.clone(),
        flavor: manifest.flavor.to_string(),
        archive: archive_name(&sha256),
        sha256,
        size,
    }
    .text();
    let signature = sign::sign(
        key,
        statement.as_bytes(),
        &format!("pysysroot substitute for key {}", manifest.build.key),
    )?;
    Ok(Narinfo {
        statement,
        signature,
    })
}

/// Uploads a signed archive under its key: the archive first, the statement last (so no
/// reader ever finds a statement whose archive is not there yet). A key the cache already
/// holds, with its archive, is left alone: any good build of the same inputs will do, and the
/// first one stays.
pub fn push(store: &Store, key: &str, narinfo: &Narinfo, archive: &std::path::Path) -> Result<()> {
    let ours = Statement::parse(&narinfo.statement)?;
    if let Some(bytes) = store.get(&narinfo_name(key))?
        && let Ok(theirs) = serde_json::from_slice::<Narinfo>(&bytes)
        && let Ok(theirs) = Statement::parse(&theirs.statement)
        && store.get_size(&theirs.archive)? == Some(theirs.size)
    {
        let same = if theirs.sha256 == ours.sha256 {
            "this very archive"
        } else {
            "another build of the same inputs"
        };
        progress::note(format!(
            "{store} already holds key {} ({same}): nothing to push",
            &key[..12]
        ));
        return Ok(());
    }
    let started = Instant::now();
    store
        .put_file(&ours.archive, archive)
        .with_context(|| format!("pushing {} to {store}", archive.display()))?;
    store.put(&narinfo_name(key), serde_json::to_vec_pretty(narinfo)?)?;
    progress::note(format!(
        "pushed key {} to {store} ({} MiB in {:.1?})",
        &key[..12],
        ours.size / (1 << 20),
        started.elapsed()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_round_trip_and_refuse_what_they_should_not_say() {
        let sha = crate::util::hash::sha256_bytes(b"archive");
        let s = Statement {
            key: "k".repeat(64),
            python: "3.13.5".into(),
            target: "x86_64".into(),
            flavor: "static".into(),
            archive: archive_name(&sha),
            sha256: sha.clone(),
            size: 7,
        };
        assert_eq!(Statement::parse(&s.text()).unwrap(), s);
        let outside = s
            .text()
            .replace(&format!("archives/{sha}"), "../../etc/passwd");
        assert!(Statement::parse(&outside).is_err());
        assert!(Statement::parse(&s.text().replace("size 7", "size many")).is_err());
        assert!(Statement::parse("something else").is_err());
    }
}
