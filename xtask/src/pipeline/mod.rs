//! `build-python`'s pipeline, one module per step in the order data flows:
//!
//! [`fetch`] -> [`unpack`] -> [`patch`] -> [`clibs`] (C libraries) -> [`build_python`] (for
//! cross builds) -> [`compile`] (configure, PGO) -> [`install`] (staging) -> verify ->
//! [`record`] (manifest) -> [`publish`]; then [`link`] makes the isolate from a sysroot.
//!
//! Everything before publish happens in scratch space; the sysroot directory only ever changes
//! by one atomic swap, and only after verification passed.

pub mod bolt;
pub mod build_python;
pub mod clibs;
pub mod compile;
pub mod fetch;
pub mod install;
pub mod link;
pub mod packages;
pub mod patch;
pub mod publish;
pub mod record;
pub mod snapshot;
pub mod substitute;
pub mod training;
pub mod unpack;

use crate::checks;
use crate::model::Model;
use crate::model::sysroot::Sysroot;
use crate::util::hash::{sha256_bytes, sha256_file};
use crate::util::{fs, progress};
use anyhow::Result;
use clibs::Sources;
use compile::Build;
use std::path::PathBuf;
use std::time::Instant;
use sysroot_manifest::Input;

/// Bump when the build steps or the sysroot layout change in a way the inputs do not show:
/// it is part of every cache key.
pub const LAYOUT_VERSION: u32 = 4;

/// What the user asked for.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Profile-guided optimisation: PGO, and BOLT after it where the target has BOLT.
    pub pgo: bool,
    pub lto: bool,
    /// BOLT, when PGO is on (`--no-bolt` turns it off alone).
    pub bolt: bool,
    /// Rebuild even when the published sysroot is up to date.
    pub force: bool,
    pub substitute: Substitute,
}

/// Whether a sysroot may come from a binary cache instead of a build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Substitute {
    /// Try the configured caches, build when none has a good substitute.
    Try,
    Never,
    /// A substitute or an error: never build.
    Only,
}

/// Everything a build reads, resolved and hashed before any work starts.
pub struct Plan<'m> {
    pub model: &'m Model<'m>,
    /// What will be applied: what was asked for and what the target can do.
    pub pgo: bool,
    pub lto: bool,
    /// BOLT's programs and flags, when BOLT will run.
    pub bolt: Option<&'m crate::model::target::BoltConfig>,
    /// Why an optimisation that was asked for will not be applied, for the manifest.
    pub skipped: Vec<String>,
    pub inputs: Vec<Input>,
    pub key: String,
    sources: Sources,
}

/// Resolves the inputs and the cache key without changing anything on disk.
pub fn plan<'m>(model: &'m Model<'m>, opts: &Options) -> Result<Plan<'m>> {
    let target = model.target;
    if opts.pgo && !target.optimize.pgo {
        progress::note(format!(
            "PGO is not available for {} (its interpreter cannot run the profile task here); building without",
            target.name
        ));
    }
    let sources = Sources::resolve(&model.layout().libraries_dir(), model.settings.offline)?;
    let (bolt, skipped) = bolt_plan(model, opts);
    let mut plan = Plan {
        model,
        pgo: opts.pgo && target.optimize.pgo,
        lto: opts.lto && target.optimize.lto,
        bolt,
        skipped,
        inputs: Vec::new(),
        key: String::new(),
        sources,
    };
    plan.inputs = inputs(&plan)?;
    plan.key = cache_key(&plan);
    Ok(plan)
}

/// BOLT runs after PGO, on the static (non-PIE) flavor of a target that has it, when its
/// program is installed; otherwise the reason goes into the manifest.
fn bolt_plan<'m>(
    model: &'m Model<'m>,
    opts: &Options,
) -> (Option<&'m crate::model::target::BoltConfig>, Vec<String>) {
    let target = model.target;
    let (Some(config), true, true, true) =
        (&target.bolt, target.optimize.bolt, opts.pgo, opts.bolt)
    else {
        return (None, Vec::new());
    };
    if model.flavor != sysroot_manifest::Flavor::Static {
        let why = "BOLT: applied to the static (non-PIE) flavor only; a PIE needs its computed-goto functions skipped";
        return (None, vec![why.to_string()]);
    }
    match bolt::version(config) {
        Ok(_) => (Some(config), Vec::new()),
        Err(e) => {
            let why = format!("BOLT: {e:#}");
            progress::note(&why);
            (None, vec![why])
        }
    }
}

/// Every input with its digest: the source, the patches, the C library recipes and crates,
/// and the toolchain's version and wrappers. (The recipe and target count by their identity, in the key.)
fn inputs(plan: &Plan) -> Result<Vec<Input>> {
    let m = plan.model;
    let layout = m.layout();
    let input = |kind: &str, name: String, sha256: String| Input {
        kind: kind.into(),
        name,
        sha256,
    };
    // The first source the recipe lists is the one a fresh cache key assumes; the record
    // names the one actually used.
    let mut out = vec![input(
        "source",
        m.recipe.sources[0].url.clone(),
        m.recipe.sources[0].sha256.clone(),
    )];
    for p in m.recipe.patches_for(&m.target.name, m.target.platform) {
        let path = layout.patches_dir().join(&p.file);
        out.push(input(
            "patch",
            format!("patches/{}", p.file),
            sha256_file(&path)?,
        ));
    }
    for lib in m.libraries() {
        out.push(input(
            "c-library-recipe",
            format!("recipes/deps/{}.toml", lib.name),
            lib.digest.clone(),
        ));
        let (version, checksum, _) = plan.sources.get(&lib.krate)?;
        out.push(input(
            "crate",
            format!("{}@{version}", lib.krate),
            checksum.clone(),
        ));
    }
    for (tool, version) in m.tools.versions(m.target)? {
        out.push(input("toolchain", tool, sha256_bytes(version.as_bytes())));
    }
    // Files of this checkout that the toolchain's commands name (wrappers, specs): a changed
    // wrapper compiles differently, as a new compiler would.
    let tc = &m.target.toolchain;
    let mut files = std::collections::BTreeSet::new();
    for argv in [&tc.cc, &tc.ar, &tc.ranlib]
        .into_iter()
        .chain(&tc.rust_linker)
    {
        for arg in m.tools.expand(argv)? {
            let path = std::path::Path::new(&arg);
            if let Ok(relative) = path.strip_prefix(&layout.root)
                && path.is_file()
            {
                files.insert(relative.to_path_buf());
            }
        }
    }
    for relative in files {
        let digest = sha256_file(&layout.root.join(&relative))?;
        out.push(input(
            "toolchain-file",
            relative.display().to_string(),
            digest,
        ));
    }
    if let Some(config) = plan.bolt {
        let version = bolt::version(config)?;
        out.push(input(
            "toolchain",
            "llvm-bolt".into(),
            sha256_bytes(version.as_bytes()),
        ));
    }
    Ok(out)
}

/// The build cache's key: what the recipe and target files say about this build, the flags,
/// and every input's digest.
fn cache_key(plan: &Plan) -> String {
    let m = plan.model;
    let mut text = format!(
        "layout {LAYOUT_VERSION}\nflavor {}\npgo {}\nlto {}\nbolt {}\ntarget {}\nrecipe {}\n",
        m.flavor,
        plan.pgo,
        plan.lto,
        plan.bolt.is_some(),
        m.target.identity_for(m.flavor),
        m.recipe.identity_for(&m.target.name, m.target.platform)
    );
    for i in &plan.inputs {
        text.push_str(&format!("{} {} {}\n", i.kind, i.name, i.sha256));
    }
    sha256_bytes(text.as_bytes())
}

/// The published sysroot, if it was built from exactly these inputs and every file it
/// recorded is there, unchanged; otherwise why not.
pub fn up_to_date(plan: &Plan) -> Result<std::result::Result<Sysroot, String>> {
    let dir = plan.model.sysroot_dir();
    let Ok(sysroot) = Sysroot::load(&dir) else {
        return Ok(Err(format!("{} is not built", dir.display())));
    };
    if sysroot.manifest.build.key != plan.key {
        return Ok(Err(format!(
            "{}: inputs changed since it was built",
            dir.display()
        )));
    }
    if let Some(problem) = record::first_changed(&sysroot.root, &sysroot.manifest.files)? {
        return Ok(Err(format!("{}: {problem}", dir.display())));
    }
    Ok(Ok(sysroot))
}

/// `build-python`: the sysroot of `model`, built unless it is up to date.
pub fn build(model: &Model, opts: &Options) -> Result<Sysroot> {
    let plan = plan(model, opts)?;
    let slot = publish::Slot::acquire(&model.sysroot_dir())?;
    if !opts.force {
        match up_to_date(&plan)? {
            Ok(s) => {
                record::locate(&s)?;
                progress::note(format!(
                    "{} is up to date (CPython {} for {}, {}, key {}); --force rebuilds",
                    s.root.display(),
                    model.recipe.version,
                    model.target.name,
                    model.flavor,
                    &plan.key[..12]
                ));
                return Ok(s);
            }
            Err(why) => progress::note(why),
        }
    }
    let configured = !model.settings.binary_caches.is_empty();
    match opts.substitute {
        Substitute::Never => {}
        Substitute::Try if !configured => {}
        Substitute::Try | Substitute::Only => match substitute::substitute(&plan, &slot) {
            Ok(sysroot) => return Ok(sysroot),
            Err(why) if opts.substitute == Substitute::Only => {
                anyhow::bail!(
                    "no usable substitute, and --substitute-only forbids building: {why:#}"
                )
            }
            Err(why) => progress::note(format!("no usable substitute ({why:#}): building instead")),
        },
    }
    run(&plan, &slot)?;
    Sysroot::open(model)
}

/// Where a build of this sysroot works: keyed by the destination too, so builds into
/// different sysroot directories (the test suite's and a developer's) never share a tree.
fn work_dir(plan: &Plan) -> PathBuf {
    let m = plan.model;
    m.layout().work.join(format!(
        "{}-{}-{}-{}",
        m.target.name,
        m.recipe.version,
        m.flavor,
        &sha256_bytes(m.sysroot_dir().display().to_string().as_bytes())[..8]
    ))
}

fn run(plan: &Plan, slot: &publish::Slot) -> Result<()> {
    let started = Instant::now();
    let m = plan.model;
    progress::note(format!(
        "building CPython {} for {} ({}, PGO {}, LTO {}) into {}",
        m.recipe.version,
        m.target.name,
        m.flavor,
        if plan.pgo { "on" } else { "off" },
        if plan.lto { "on" } else { "off" },
        slot.final_dir.display()
    ));
    let fetcher = fetch::Fetcher::new(m.settings)?;
    let (tarball, source) = fetcher.fetch_any(&m.recipe.sources)?;
    progress::note(format!(
        "source {} verified (sha256 {})",
        source.file_name(),
        source.sha256
    ));

    // Unpack and patch into a work directory that is always started afresh.
    let work = work_dir(plan);
    fs::remove_dir_all(&work)?;
    let src = work.join("src");
    unpack::unpack(&tarball, &src)?;
    let released = unpack::newest_mtime(&src);
    for p in m.recipe.patches_for(&m.target.name, m.target.platform) {
        progress::note(format!("patch {}", p.file));
        patch::apply(&src, &m.layout().patches_dir().join(&p.file), released)?;
    }

    let toolchain = clibs::Toolchain {
        cc: m.tools.expand(&m.target.toolchain.cc)?,
        ar: m.tools.expand(&m.target.toolchain.ar)?,
        ranlib: m.tools.expand(&m.target.toolchain.ranlib)?,
        cflags: m.target.toolchain.cflags.clone(),
        jobs: m.settings.jobs,
        root: m.layout().work.join("deps").join(&m.target.name),
    };
    let libs = clibs::build_all(m, &toolchain, &plan.sources)?;
    let build_python = match m.runner.is_native() {
        true => None,
        false => Some(build_python::ensure(m, &tarball)?),
    };
    let b = Build {
        model: m,
        pgo: plan.pgo,
        lto: plan.lto,
        bolt: plan.bolt,
        epoch: unpack::source_date_epoch(&src),
        src,
        dir: work.join("build"),
        logs: work.join("logs"),
        libs: &libs,
        build_python,
        cc: toolchain.cc,
        ar: toolchain.ar,
        ranlib: toolchain.ranlib,
    };
    let configured = b.configure()?;
    let profile = b.build()?;

    let staging = slot.staging()?;
    let link = record::assemble(&b, &staging)?;
    let bolted = plan
        .bolt
        .map(|config| bolt::python3(m, config, &b, &staging, &work))
        .transpose()?;
    progress::note("verifying the staged sysroot");
    let verified = checks::sysroot::verify(m, &staging, &link, &work)?;
    let manifest = record::manifest(
        plan,
        &b,
        &staging,
        record::Outcome {
            source,
            configured,
            profile,
            bolt: bolted,
            link,
            verified,
            seconds: started.elapsed().as_secs_f64().round(),
        },
    )?;
    record::write(&staging, &slot.final_dir, &manifest, &b.logs)?;
    slot.publish(&staging)?;
    // The unpacked source and build tree are large and no longer needed; the logs stay.
    let _ = std::fs::remove_dir_all(&work);
    progress::note(format!(
        "sysroot ready: {} ({:.0?})",
        slot.final_dir.display(),
        started.elapsed()
    ));
    Ok(())
}
