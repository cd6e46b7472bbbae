//! `build-python`: the whole pipeline for one sysroot, in the order data flows.
//!
//! fetch -> unpack -> patch -> C libraries -> configure -> build (PGO) -> install (staging)
//! -> verify -> publish. Everything before publish happens in scratch space; the sysroot
//! directory only ever changes by one rename, and only after verification passed.

use crate::compile::Build;
use crate::deps::{self, Sources};
use crate::fetch::{Fetcher, sha256_bytes, sha256_file};
use crate::install;
use crate::progress::note;
use crate::recipe::{self, Recipe};
use crate::target::{self, Target};
use crate::tools::Tools;
use crate::verify;
use crate::{Ctx, unpack};
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::Instant;
use sysroot_manifest::{Flavor, Input, Manifest};

/// Bump when the build steps or the sysroot layout change in a way the inputs do not show:
/// it is part of every cache key.
pub const LAYOUT_VERSION: u32 = 1;

#[derive(Debug, Clone)]
pub struct Options {
    pub target: String,
    pub python: Option<String>,
    pub flavor: Flavor,
    pub pgo: bool,
    pub lto: bool,
    pub force: bool,
    /// Only report whether the sysroot is up to date (and its cache key); build nothing.
    pub dry_run: bool,
}

/// Everything a build reads, resolved and hashed before any work starts.
struct Plan {
    recipe: Recipe,
    target: Target,
    flavor: Flavor,
    pgo: bool,
    lto: bool,
    inputs: Vec<Input>,
    key: String,
    final_dir: PathBuf,
    work: PathBuf,
    sources: Sources,
    tools: Tools,
}

pub fn build_python(ctx: &Ctx, opts: &Options) -> Result<PathBuf> {
    let (target, target_path) = target::select(&ctx.root.join("sysroots"), &opts.target)?;
    let (recipe, recipe_path) = recipe::select(&ctx.root.join("recipes"), opts.python.as_deref())?;
    if !target.supports(opts.flavor) {
        bail!(
            "target {} has no {} flavor (it has: {})",
            target.name,
            opts.flavor,
            target
                .flavors
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let pgo = opts.pgo && target.pgo;
    if opts.pgo && !target.pgo {
        note(format!(
            "PGO is not available for {} (its interpreter cannot run the profile task here); building without",
            target.name
        ));
    }
    let lto = opts.lto && target.lto;
    let final_dir = install::sysroot_dir(&ctx.sysroots, &target.name, &recipe.version, opts.flavor);
    fs::create_dir_all(final_dir.parent().unwrap())?;

    // One build per sysroot at a time; a second run waits, then finds the work done.
    let lock_path = final_dir.with_file_name(format!(
        ".{}.lock",
        final_dir.file_name().unwrap().to_string_lossy()
    ));
    let lock = File::create(&lock_path)?;
    if lock.try_lock().is_err() {
        note(format!(
            "another build-python holds {}; waiting for it",
            lock_path.display()
        ));
        lock.lock()?;
    }

    let tools = Tools::provision(ctx, &target)?;
    let sources = Sources::resolve(&ctx.root.join("recipes/deps"), ctx.offline)?;
    let mut plan = Plan {
        // Keyed by the destination too: builds into different sysroot directories (the test
        // suite's and a developer's) never share a build tree.
        work: ctx.work_dir().join(format!(
            "{}-{}-{}-{}",
            target.name,
            recipe.version,
            opts.flavor,
            &sha256_bytes(final_dir.display().to_string().as_bytes())[..8]
        )),
        recipe,
        target,
        flavor: opts.flavor,
        pgo,
        lto,
        inputs: Vec::new(),
        key: String::new(),
        final_dir,
        sources,
        tools,
    };
    plan.inputs = inputs(ctx, &plan, &recipe_path, &target_path)?;
    plan.key = cache_key(&plan);

    if opts.dry_run {
        let state = match up_to_date(&plan)? {
            Some(_) => "up to date",
            None => "needs a build",
        };
        println!("{} {state} (key {})", plan.final_dir.display(), plan.key);
        return Ok(plan.final_dir);
    }
    if !opts.force
        && let Some(m) = up_to_date(&plan)?
    {
        note(format!(
            "{} is up to date (CPython {} for {}, {}, key {}); --force rebuilds",
            plan.final_dir.display(),
            m.python.version,
            m.target.name,
            m.flavor,
            &plan.key[..12]
        ));
        return Ok(plan.final_dir);
    }
    run(ctx, &plan)?;
    Ok(plan.final_dir)
}

/// Every input with its digest: the recipe and target files, the source, the patches, the C
/// library recipes and crates, and the toolchain's version.
fn inputs(ctx: &Ctx, plan: &Plan, recipe_path: &Path, target_path: &Path) -> Result<Vec<Input>> {
    let file_input = |kind: &str, path: &Path| -> Result<Input> {
        Ok(Input {
            kind: kind.into(),
            name: path
                .strip_prefix(&ctx.root)
                .unwrap_or(path)
                .display()
                .to_string(),
            sha256: sha256_file(path)?,
        })
    };
    let mut out = vec![
        file_input("recipe", recipe_path)?,
        file_input("target", target_path)?,
    ];
    // The first source the recipe lists is the one a fresh cache key assumes; `fetch_any`
    // records the one actually used after download.
    out.push(Input {
        kind: "source".into(),
        name: plan.recipe.sources[0].url.clone(),
        sha256: plan.recipe.sources[0].sha256.clone(),
    });
    for p in plan.recipe.patches_for(&plan.target.name) {
        out.push(file_input(
            "patch",
            &ctx.root.join("patches").join(&p.file),
        )?);
    }
    for name in &plan.target.deps {
        let path = ctx.root.join("recipes/deps").join(format!("{name}.toml"));
        out.push(file_input("c-library-recipe", &path)?);
        let dep = deps::load(&ctx.root.join("recipes/deps"), name)?;
        let (version, checksum) = plan.sources.version_and_checksum(&dep.krate)?;
        out.push(Input {
            kind: "crate".into(),
            name: format!("{}@{version}", dep.krate),
            sha256: checksum,
        });
    }
    for (tool, version) in plan.tools.versions(&plan.target)? {
        out.push(Input {
            kind: "toolchain".into(),
            name: tool,
            sha256: sha256_bytes(version.as_bytes()),
        });
    }
    Ok(out)
}

/// A sysroot's manifest, with its runner made runnable here: the manifest keeps the target
/// file's `{tools}` and `{root}`, which name this machine's pinned tools and checkout.
pub fn load(ctx: &Ctx, dir: &Path) -> Result<(Manifest, PathBuf)> {
    let (mut m, root) = Manifest::load(dir)?;
    if m.target.runner.iter().any(|a| a.contains('{')) {
        let (target, _) = target::select(&ctx.root.join("sysroots"), &m.target.name)?;
        m.target.runner = Tools::provision(ctx, &target)?.expand(&m.target.runner)?;
    }
    Ok((m, root))
}

/// The build cache's key: every input's digest, except that the recipe and target files count
/// only by the parts that shape this target's and flavor's build.
fn cache_key(plan: &Plan) -> String {
    let mut text = format!(
        "layout {LAYOUT_VERSION}\nflavor {}\npgo {}\nlto {}\n",
        plan.flavor, plan.pgo, plan.lto
    );
    text.push_str(&format!(
        "target {}\n",
        plan.target.build_identity(plan.flavor)
    ));
    text.push_str(&format!(
        "recipe {}\n",
        plan.recipe.build_identity(&plan.target.name)
    ));
    for i in plan
        .inputs
        .iter()
        .filter(|i| i.kind != "target" && i.kind != "recipe")
    {
        text.push_str(&format!("{} {} {}\n", i.kind, i.name, i.sha256));
    }
    sha256_bytes(text.as_bytes())
}

/// The published sysroot, if it was built from exactly these inputs and its files are intact.
fn up_to_date(plan: &Plan) -> Result<Option<Manifest>> {
    let Ok((manifest, root)) = Manifest::load(&plan.final_dir) else {
        return Ok(None);
    };
    if manifest.build.key != plan.key {
        note(format!(
            "{}: inputs changed since it was built",
            plan.final_dir.display()
        ));
        return Ok(None);
    }
    for (file, digest) in &manifest.artifacts {
        let path = root.join(file);
        if !path.is_file() || sha256_file(&path)? != *digest {
            note(format!(
                "{}: {file} is missing or modified",
                plan.final_dir.display()
            ));
            return Ok(None);
        }
    }
    Ok(Some(manifest))
}

fn run(ctx: &Ctx, plan: &Plan) -> Result<()> {
    let started = Instant::now();
    let recipe = &plan.recipe;
    let target = &plan.target;
    note(format!(
        "building CPython {} for {} ({}, PGO {}, LTO {}) into {}",
        recipe.version,
        target.name,
        plan.flavor,
        if plan.pgo { "on" } else { "off" },
        if plan.lto { "on" } else { "off" },
        plan.final_dir.display()
    ));

    // fetch
    let fetcher = Fetcher::new(ctx.cache_dir.clone(), ctx.mirror.clone(), ctx.offline)?;
    let (tarball, source) = fetcher.fetch_any(&recipe.sources)?;
    note(format!(
        "source {} verified (sha256 {})",
        source.file_name(),
        source.sha256
    ));

    // unpack + patch, into a work directory that is always started afresh
    if plan.work.exists() {
        fs::remove_dir_all(&plan.work)
            .with_context(|| format!("clearing {}", plan.work.display()))?;
    }
    let src = plan.work.join("src");
    unpack::unpack(&tarball, &src)?;
    let released = unpack::newest_mtime(&src);
    for p in recipe.patches_for(&target.name) {
        note(format!("patch {}", p.file));
        crate::patch::apply(&src, &ctx.root.join("patches").join(&p.file), released)?;
    }

    // C libraries
    let deps_ctx = deps::Libraries {
        target,
        cc: plan.tools.expand(&target.toolchain.cc)?,
        ar: plan.tools.expand(&target.toolchain.ar)?,
        ranlib: plan.tools.expand(&target.toolchain.ranlib)?,
        cflags: target.toolchain.cflags.clone(),
        jobs: ctx.jobs,
        root: ctx.work_dir().join("deps").join(&target.name),
    };
    let built_deps = deps::build_all(&deps_ctx, &ctx.root.join("recipes/deps"), &plan.sources)?;

    // the build python a cross build runs its build scripts with
    let build_python = if target.cross {
        Some(crate::build_python::ensure(ctx, recipe, &tarball)?)
    } else {
        None
    };

    let mut vars = plan.tools.vars();
    vars.insert("src".into(), vec![src.display().to_string()]);
    let b = Build {
        recipe,
        target,
        flavor: plan.flavor,
        pgo: plan.pgo,
        lto: plan.lto,
        jobs: ctx.jobs,
        src: src.clone(),
        dir: plan.work.join("build"),
        logs: plan.work.join("logs"),
        deps: &built_deps,
        build_python,
        cc: deps_ctx.cc.clone(),
        ar: deps_ctx.ar.clone(),
        ranlib: deps_ctx.ranlib.clone(),
        runner: plan.tools.expand(&target.runner)?,
        vars,
        epoch: unpack::source_date_epoch(&src),
    };
    let configured = b.configure()?;
    let profile = b.build()?;

    // install into staging
    let staging = plan.final_dir.with_file_name(format!(
        ".{}.staging",
        plan.final_dir.file_name().unwrap().to_string_lossy()
    ));
    if staging.exists() {
        fs::remove_dir_all(&staging)?;
    }
    install::make_install(&b, &staging)?;
    let abi = recipe.abi();
    let stdlib = staging.join("lib").join(format!("python{abi}"));
    install::test_package(&b, &stdlib)?;
    let link = install::collect_link(&b, &staging, &built_deps)?;
    install::licenses(&b, &staging, &built_deps)?;
    fs::write(
        staging.join("pyo3-config.txt"),
        install::pyo3_config(&b, &plan.final_dir),
    )?;

    // verify
    note("verifying the staged sysroot");
    let python_rel = format!(
        "bin/python{abi}{}",
        crate::compile::make_var(&b.dir, "EXE")?
    );
    verify::check_no_dynload(&stdlib)?;
    let builtin = recipe.builtin_for(&target.name);
    let mut interpreter = b.runner.clone();
    interpreter.push(staging.join(&python_rel).display().to_string());
    interpreter.push("-I".into());
    let report = verify::run_check(&interpreter, &plan.work, &builtin)?;
    verify::require_clean(&report, "the sysroot's python3", &recipe.version)?;
    let nm = plan.tools.expand(&target.toolchain.nm)?;
    let lib_archives: Vec<PathBuf> = fs::read_dir(staging.join("lib"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "a"))
        .collect();
    let mut lib_archives = lib_archives;
    lib_archives.sort();
    let hacl_holders = verify::check_hacl(&nm, &lib_archives, &recipe.hacl.symbols)?;
    if !target.rust_triple.starts_with("wasm") {
        verify::check_needed(
            &staging.join(&python_rel),
            link.shared_library_name().as_slice(),
        )?;
    }

    // manifest
    let mut artifacts = BTreeMap::new();
    for rel in link.inputs.iter().chain(std::iter::once(&python_rel)) {
        let path = staging.join(rel);
        if path.is_file() {
            artifacts.insert(rel.clone(), sha256_file(&path)?);
        }
    }
    let rel = |p: &Path| p.strip_prefix(&staging).unwrap_or(p).display().to_string();
    let mut inputs = plan.inputs.clone();
    if let Some(i) = inputs.iter_mut().find(|i| i.kind == "source") {
        i.name = source.url.clone();
        i.sha256 = source.sha256.clone();
    }
    // The build machine's checkout and tools are no business of the sysroot's users, and
    // would make manifests differ between two machines building the same inputs.
    let portable = |v: &str| plan.tools.unexpand(v);
    let manifest = Manifest {
        schema: sysroot_manifest::SCHEMA,
        python: sysroot_manifest::Python {
            version: recipe.version.clone(),
            abi: abi.clone(),
        },
        target: sysroot_manifest::Target {
            name: target.name.clone(),
            rust_triple: target.rust_triple.clone(),
            host: target.host.clone(),
            pointer_width: target.pointer_width,
            runner: target.runner.clone(),
        },
        flavor: plan.flavor,
        build: sysroot_manifest::Build {
            key: plan.key.clone(),
            pgo: plan.pgo,
            lto: plan.lto,
            profile,
            configure_args: configured.args.iter().map(|a| portable(a)).collect(),
            configure_env: configured
                .env
                .iter()
                .map(|(k, v)| (k.clone(), portable(v)))
                .collect(),
            toolchain: plan
                .tools
                .versions(target)?
                .into_iter()
                .map(|(k, v)| (k, portable(&v)))
                .collect(),
            revision: crate::git_revision(&ctx.root),
            seconds: started.elapsed().as_secs_f64().round(),
        },
        inputs,
        modules: sysroot_manifest::Modules {
            builtin: report.builtin_module_names.clone(),
            absent: recipe.absent_for(&target.name),
        },
        paths: sysroot_manifest::Paths {
            include: format!("include/python{abi}"),
            stdlib: format!("lib/python{abi}"),
            lib: "lib".into(),
            python: python_rel.clone(),
            pyo3_config: "pyo3-config.txt".into(),
        },
        link,
        hacl: sysroot_manifest::Hacl {
            archives: hacl_holders.iter().map(|p| rel(p)).collect(),
            symbols: recipe.hacl.symbols.clone(),
        },
        artifacts,
    };
    fs::write(
        staging.join(sysroot_manifest::FILE_NAME),
        manifest.to_json(),
    )?;

    // the build's logs travel with the sysroot
    let logs = staging.join("logs");
    fs::create_dir_all(&logs)?;
    for entry in fs::read_dir(&b.logs)? {
        let entry = entry?;
        fs::copy(entry.path(), logs.join(entry.file_name()))?;
    }

    install::publish(&staging, &plan.final_dir)?;
    // The unpacked source and build tree are large and no longer needed; the logs stay in the sysroot.
    let _ = fs::remove_dir_all(&plan.work);
    note(format!(
        "sysroot ready: {} ({:.0?})",
        plan.final_dir.display(),
        started.elapsed()
    ));
    Ok(())
}
