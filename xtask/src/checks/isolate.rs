//! Everything a built isolate must prove against its sysroot's python3: what kind of
//! executable it is and what it needs, the HACL* code, the C API it exports, every builtin
//! module, the single file in a fresh place, Ctrl-C, the bit-exact corpus, the same output as
//! the native build (for cross targets), and CPython's own tests.

use crate::checks::warm::{self, Warm};
use crate::checks::{Interp, Outcome, behaviour, binary, corpus, hacl, interpreter, regrtest, run};
use crate::model::Model;
use crate::model::sysroot::{PREFIX, Sysroot};
use crate::model::target::native_name;
use crate::util::{archive, fs};
use anyhow::{Context, Result, bail};
use std::path::Path;
use sysroot_manifest::Flavor;

pub struct Options {
    pub regrtest: bool,
}

/// Runs every check; returns a one-line summary.
pub fn check(model: &Model, sysroot: &Sysroot, opts: &Options) -> Result<String> {
    let exe = sysroot.isolate(model);
    println!(
        "\nchecks for the {} isolate ({}):",
        model.describe(),
        exe.display()
    );
    executable(model, sysroot, &exe)?;
    let python = Interp::new(&model.runner, &sysroot.python());
    let isolate = Interp::new(&model.runner, &exe);
    let scratch = model
        .layout()
        .work
        .join("isolate-check")
        .join(&model.target.name);
    fs::remove_dir_all(&scratch)?;
    fs::create_dir_all(&scratch)?;
    let builtin = &sysroot.manifest.modules.builtin;
    interpreter::check(&isolate, &scratch, model.recipe, builtin, "the isolate")?;
    println!(
        "  modules:     all {} builtin modules import; hashlib known answers match{}",
        builtin.len(),
        if builtin.iter().any(|b| b == "_hashlib") {
            " (OpenSSL and HACL*)"
        } else {
            " (HACL*)"
        }
    );
    let prefix = model.runner.is_native().then_some(PREFIX);
    let line = behaviour::relocated(
        &sysroot.standalone(model),
        &model.runner,
        &sysroot.root,
        prefix,
    )?;
    println!("  relocatable: {line}");
    if let Some(level) = binary::cpu_level(
        &exe,
        model.target,
        sysroot.manifest.build.optimizations.march.as_deref(),
    )? {
        let line = behaviour::refuses_older_cpu(&sysroot.standalone(model), &level)?;
        println!("  CPU level:   {level}; {line}");
    }
    if model.target.platform.fully_static() {
        println!(
            "  empty root:  {}",
            behaviour::empty_root(&sysroot.standalone(model), &model.runner)?
        );
    }
    // A fully static program cannot load compiled modules, and must say so as python3 does
    // (WASI has no loader at all: CPython is built without one there).
    let platform = model.target.platform;
    if platform.is_elf() && !platform.loads_extension_modules() {
        let line = behaviour::no_extension_modules(&python, &isolate, &scratch)?;
        println!("  compiled:    {line}");
    }
    if model.target.platform.is_elf() {
        single_file(model, sysroot, prefix)?;
    }
    if model.target.platform.has_signals() {
        let signal = behaviour::ctrl_c(&python, &isolate, &scratch)?;
        println!("  Ctrl-C:      KeyboardInterrupt and death by signal {signal:?}, as python3");
    } else {
        println!("  Ctrl-C:      not applicable (no signals on this platform)");
    }
    let mut summary = bit_exact(model, sysroot, &python, &exe, &scratch)?;
    let mut warm = warm_corpus(model, sysroot, &python, &scratch)?;
    if let Some((line, _)) = &warm {
        summary.push_str(line);
    }
    if opts.regrtest {
        let python = behaviour::wrapped_for_children(&python)?;
        let isolate = behaviour::wrapped_for_children(&isolate)?;
        let mut isolates = vec![&isolate];
        isolates.extend(warm.as_ref().map(|(_, w)| &w.interp));
        let tests = &model.recipe.checks.regrtests;
        let ignore = &model.target.checks.regrtest_ignore;
        let line = regrtest::compare(tests, ignore, &python, &isolates, &scratch)?;
        summary.push_str(&format!("; regrtest {line}"));
        if let Some((_, w)) = &mut warm {
            let run = corpus::Case {
                args: ["-m", "test"].iter().map(|a| a.to_string()).collect(),
                ..corpus::Case::new("regrtest", &[])
            };
            w.verify(&[run])?;
            summary.push_str(", through the snapshot too");
        }
    }
    Ok(summary)
}

/// The stdlib the single file carries as a section: what the engine hands zipimport, and that
/// `strip` keeps it (the host's for a native target, else the target's binutils).
fn single_file(model: &Model, sysroot: &Sysroot, prefix: Option<&str>) -> Result<()> {
    let standalone = sysroot.standalone(model);
    let script = model.layout().helpers_dir().join("check_single_file.py");
    let line = behaviour::single_file(&standalone, &model.runner, &script)?;
    println!("  single file: {line}");
    if sysroot.manifest.build.optimizations.bolt.is_some() {
        // bolt-19 puts its new text, rodata and eh_frame in a segment that begins with the
        // program headers; GNU strip/objcopy and llvm-strip all remap it wrongly, and the
        // stripped file (python3's as much as the isolate's) crashes at start.
        println!(
            "  stripped:    not checked: BOLT's output does not survive strip (python3's neither); strip a build without BOLT"
        );
        return Ok(());
    }
    let strip = match &model.target.checks.strip {
        Some(strip) => strip.clone(),
        None if model.runner.is_native() => "strip".to_string(),
        None => format!("{}-strip", model.target.host),
    };
    let line = behaviour::stripped(
        &standalone,
        &model.runner,
        &strip,
        &script,
        &sysroot.root,
        prefix,
    )?;
    println!("  stripped:    {line}");
    Ok(())
}

/// Interleaved rounds of the per-call start measurement: as many calls as the native warm
/// path's acceptance asks for.
const START_ROUNDS: usize = 200;

/// On a target whose isolate is pre-initialised: the corpus through snapshots of `bin/` and
/// the single file taken with the compared runs' environment (the shipped ones hand those
/// runs to the cold module, which `bit_exact` proved), each run resuming exactly where it
/// may. Returns the summary and the `bin/` snapshot, for CPython's tests.
fn warm_corpus(
    model: &Model,
    sysroot: &Sysroot,
    python: &Interp,
    scratch: &Path,
) -> Result<Option<(String, Warm)>> {
    if model.runner.snapshot_command(&sysroot.root)?.is_none() {
        return Ok(None);
    }
    let cases = cases(model, sysroot, scratch)?;
    let homes = [
        (sysroot.isolate(model), sysroot.root.clone()),
        (sysroot.standalone(model), sysroot.root.join("dist")),
    ];
    let mut bin = None;
    let mut line = String::new();
    for (i, (shipped, home)) in homes.into_iter().enumerate() {
        let dir = scratch.join(format!("warm-{i}"));
        let mut warm = Warm::prepare(model, &shipped, &home, &dir, &python.exe)?;
        println!(
            "  bit-exact corpus through the snapshot {} (home {}), against {}:",
            warm.interp.exe,
            home.display(),
            python.exe
        );
        let r = corpus::check(
            &model.layout().corpus_dir(),
            python,
            &warm.interp,
            &model.target.name,
            &sysroot.manifest.modules.builtin,
            &cases,
        )?;
        if !r.failures.is_empty() {
            bail!(
                "the snapshot {} differs from python3 on: {}",
                warm.interp.exe,
                r.failures.join(", ")
            );
        }
        let resumed = warm.verify(&r.ran)?;
        println!(
            "  warm: {resumed} of {} runs resumed the snapshot, the others (interpreter options, PYTHON* variables) started the cold module, as they must",
            r.ran.len()
        );
        line = format!(
            "; warm path bit-exact {}/{} ({resumed} resumed), single file too",
            r.passed, r.total
        );
        bin.get_or_insert(warm);
    }
    let times = warm::start_times(model, &sysroot.isolate(model), scratch, START_ROUNDS)?;
    println!("  start:       {times}");
    line.push_str(&format!("; {times}"));
    Ok(bin.map(|w| (line, w)))
}

/// The command lines compared beyond the corpus programs.
fn cases(model: &Model, sysroot: &Sysroot, scratch: &Path) -> Result<Vec<corpus::Case>> {
    let mut cases = corpus::cli_cases(scratch)?;
    let home = model.runner.is_native().then_some(sysroot.root.as_path());
    cases.extend(corpus::env_cases(
        &scratch.join("env"),
        &sysroot.manifest.python.abi,
        home,
    )?);
    Ok(cases)
}

/// The executable itself: its kind, what it needs, its HACL* code and its exports.
fn executable(model: &Model, sysroot: &Sysroot, exe: &Path) -> Result<()> {
    let m = &sysroot.manifest;
    let platform = model.target.platform;
    let kind = binary::kind(exe, platform, model.flavor)?;
    println!("  file:        {kind}");
    let needs = binary::policy(exe, model.target, m.link.shared_library_name())?;
    println!(
        "  needs:       {}",
        if needs.needs.is_empty() {
            "nothing".to_string()
        } else {
            needs.needs.join(", ")
        }
    );
    if platform.is_elf() {
        let present = hacl::in_executable(exe, &sysroot.python(), &m.hacl.symbols)?;
        println!(
            "  HACL*:       {present} of the recipe's {} symbols defined, every one python3 has (LTO inlines the rest)",
            m.hacl.symbols.len()
        );
        let loads = platform.loads_extension_modules() && model.flavor != Flavor::Shared;
        let n = binary::exports(
            exe,
            &sysroot.python(),
            &model.bundled_symbol_prefixes(),
            loads,
        )?;
        println!(
            "  exports:     {n} symbols: CPython's C API as python3 exports it, no bundled library's"
        );
    } else {
        // A WASI module's names are stripped, so the proof is the archive it links, and that
        // with no OpenSSL on WASI the known answers can only come from HACL*.
        let mut defined = std::collections::BTreeSet::new();
        for a in &m.hacl.archives {
            defined.extend(archive::defined_names(&sysroot.root.join(a))?);
        }
        let missing: Vec<&String> = m
            .hacl
            .symbols
            .iter()
            .filter(|s| !defined.contains(*s))
            .collect();
        if !missing.is_empty() || !m.link.inputs.iter().any(|i| m.hacl.archives.contains(i)) {
            bail!(
                "the isolate does not link the HACL* code: missing {missing:?} from {:?}",
                m.hacl.archives
            );
        }
        println!(
            "  HACL*:       {} symbols defined in {:?}, which the isolate links",
            m.hacl.symbols.len(),
            m.hacl.archives
        );
    }
    Ok(())
}

/// The corpus and python3's command-line cases, byte for byte, with the same argv (argv[0]
/// included: python3's own path), through `bin/isolate` and through the single file.
fn bit_exact(
    model: &Model,
    sysroot: &Sysroot,
    python: &Interp,
    exe: &Path,
    scratch: &Path,
) -> Result<String> {
    let corpus_dir = model.layout().corpus_dir();
    let cases = cases(model, sysroot, scratch)?;
    let reference = python.clone();
    let mut summary = String::new();
    let mut native_outcomes = None;
    for candidate in [exe.to_path_buf(), sysroot.standalone(model)] {
        let isolate = Interp {
            argv0: python.exe.clone(),
            ..Interp::new(&model.runner, &candidate)
        };
        println!(
            "  bit-exact corpus, {} against {}:",
            candidate.display(),
            python.exe
        );
        let r = corpus::check(
            &corpus_dir,
            &reference,
            &isolate,
            &model.target.name,
            &sysroot.manifest.modules.builtin,
            &cases,
        )?;
        for (file, why) in &r.skipped {
            println!("  skipped {file}: {why}");
        }
        println!("bit-exact {}/{}", r.passed, r.total);
        if !r.failures.is_empty() {
            bail!(
                "{} differs from python3 on: {}",
                candidate.display(),
                r.failures.join(", ")
            );
        }
        if summary.is_empty() {
            summary = format!(
                "{}: bit-exact {}/{} ({} skipped), single file too",
                model.describe(),
                r.passed,
                r.total,
                r.skipped.len()
            );
            native_outcomes = Some(r);
        }
    }
    if !model.runner.is_native()
        && let Some(r) = native_outcomes
    {
        summary.push_str(&same_as_native(model, &r, &corpus_dir)?);
    }
    Ok(summary)
}

/// A cross target's python3 must print what the native one prints for every corpus program,
/// except those that print the platform on purpose.
fn same_as_native(model: &Model, r: &corpus::Report, corpus_dir: &Path) -> Result<String> {
    let native_dir =
        model
            .layout()
            .sysroot_dir(native_name(), &model.recipe.version, Flavor::Static);
    let Ok(Sysroot {
        manifest: nm,
        root: nroot,
    }) = Sysroot::load(&native_dir)
    else {
        println!(
            "  (no native {} sysroot: the comparison with the native output is skipped)",
            model.recipe.version
        );
        return Ok(String::new());
    };
    let native = Interp::new(
        &crate::model::target::Runner::Native,
        &nroot.join(&nm.paths.python),
    );
    let programs = corpus::load(corpus_dir)?;
    let (mut same, mut differ) = (0, Vec::new());
    for (file, theirs) in &r.outcomes {
        if r.platform_specific.contains(file) {
            continue;
        }
        let p = programs
            .iter()
            .find(|p| p.file == *file)
            .context("corpus program")?;
        let mut args = vec![p.file.clone()];
        args.extend(p.args.iter().cloned());
        let ours = run(&native, &args, Some(b""), corpus_dir, &[])?;
        if normalise_paths(&ours, corpus_dir) == normalise_paths(theirs, corpus_dir) {
            same += 1;
        } else {
            println!(
                "  DIFF  {file} between {} and {}:\n{}",
                nm.target.name,
                model.target.name,
                corpus::diff(&ours, theirs, (&nm.target.name, &model.target.name))
            );
            differ.push(file.clone());
        }
    }
    println!(
        "  same as {}: {same}/{} programs print exactly what they print natively ({} platform-specific left out)",
        nm.target.name,
        same + differ.len(),
        r.platform_specific.len()
    );
    if !differ.is_empty() {
        bail!(
            "{} output differs from {} on: {}",
            model.target.name,
            nm.target.name,
            differ.join(", ")
        );
    }
    Ok(format!("; same as {} {same}/{same}", nm.target.name))
}

/// Script paths in tracebacks name the corpus directory as each system sees it: its real path
/// natively, `/` inside a WASI guest (where it is preopened), which prints as `"//name.py"`.
fn normalise_paths(o: &Outcome, corpus_dir: &Path) -> Outcome {
    let host = format!("\"{}/", corpus_dir.display());
    let fix = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .replace(&host, "\"<corpus>/")
            .replace("\"//", "\"<corpus>/")
            .into_bytes()
    };
    Outcome {
        stdout: fix(&o.stdout),
        stderr: fix(&o.stderr),
        status: o.status,
    }
}
