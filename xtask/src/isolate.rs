//! `isolate`: link the isolate (engine/) against a sysroot, bundle its stdlib, and prove it.
//!
//! The link itself is cargo's: `engine/build.rs` takes every link line from the sysroot's
//! manifest. This module picks the sysroots, sets the environment that build script and PyO3
//! read, and then verifies the result against the sysroot's own python3.

use crate::corpus::{self, Interp};
use crate::progress::note;
use crate::sysroot;
use crate::target::{self, Target};
use crate::{Ctx, verify};
use anyhow::{Context, Result, bail, ensure};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use sysroot_manifest::{Flavor, Manifest};

pub struct Options {
    pub targets: Vec<String>,
    pub python: Option<String>,
    pub flavor: Flavor,
    /// For sysroots that must be built first.
    pub pgo: bool,
    pub regrtest: bool,
}

/// A built isolate and where it lives.
pub struct Built {
    pub sysroot: PathBuf,
    pub manifest: Manifest,
    pub target: Target,
    /// `<sysroot>/bin/isolate`: uses the sysroot's stdlib, like python3 beside it.
    pub exe: PathBuf,
    /// `<sysroot>/dist/isolate`: the same binary with the stdlib appended; one relocatable file.
    /// On WASI `dist/isolate.wasm` with `dist/lib/pythonXY.zip` beside it.
    pub standalone: PathBuf,
}

pub fn run(ctx: &Ctx, opts: &Options) -> Result<()> {
    let sysroots = select_sysroots(ctx, opts)?;
    let mut summary = Vec::new();
    for dir in sysroots {
        let built = build(ctx, &dir)?;
        let line = check(ctx, &built, opts.regrtest)?;
        summary.push(line);
    }
    println!("\nisolate summary:");
    for s in summary {
        println!("  {s}");
    }
    Ok(())
}

/// The sysroots to work on: those named (built first when missing), or every built one.
fn select_sysroots(ctx: &Ctx, opts: &Options) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if opts.targets.is_empty() {
        for entry in fs::read_dir(&ctx.sysroots).into_iter().flatten().flatten() {
            for sub in fs::read_dir(entry.path()).into_iter().flatten().flatten() {
                let path = sub.path();
                if let Ok((m, _)) = Manifest::load(&path)
                    && m.flavor == opts.flavor
                    && opts.python.as_ref().is_none_or(|v| *v == m.python.version)
                {
                    out.push(path);
                }
            }
        }
        out.sort();
        if !out.is_empty() {
            return Ok(out);
        }
        note("no sysroot built yet: building the native one first");
    }
    let targets = if opts.targets.is_empty() {
        vec![target::native_name().to_string()]
    } else {
        opts.targets.clone()
    };
    for t in targets {
        // A sysroot already built for this target, version and flavor is used as it is
        // (`build-python` rebuilds it when its inputs change); a missing one is built.
        let (target, _) = target::select(&ctx.root.join("sysroots"), &t)?;
        let (recipe, _) = crate::recipe::select(&ctx.root.join("recipes"), opts.python.as_deref())?;
        let dir =
            crate::install::sysroot_dir(&ctx.sysroots, &target.name, &recipe.version, opts.flavor);
        if Manifest::load(&dir).is_ok() {
            out.push(dir);
            continue;
        }
        let o = sysroot::Options {
            target: t,
            python: opts.python.clone(),
            flavor: opts.flavor,
            pgo: opts.pgo,
            lto: true,
            force: false,
            dry_run: false,
        };
        out.push(sysroot::build_python(ctx, &o)?);
    }
    Ok(out)
}

/// `cargo xtask run`: the isolate of a target's static sysroot (linked first if missing), run
/// here under the target's runner with the caller's arguments, stdio and environment.
pub fn run_isolate(ctx: &Ctx, target: &str, python: Option<&str>, args: &[String]) -> Result<i32> {
    let opts = Options {
        targets: vec![target.to_string()],
        python: python.map(String::from),
        flavor: Flavor::Static,
        pgo: true,
        regrtest: false,
    };
    let dir = select_sysroots(ctx, &opts)?.remove(0);
    let (m, root) = crate::sysroot::load(ctx, &dir)?;
    let exe = root
        .join("bin")
        .join(if m.target.rust_triple.starts_with("wasm") {
            "isolate.wasm"
        } else {
            "isolate"
        });
    if !exe.is_file() {
        build(ctx, &dir)?;
    }
    let interp = Interp {
        runner: m.target.runner.clone(),
        exe: exe.display().to_string(),
        argv0: exe.display().to_string(),
    };
    let status = interp
        .command()
        .args(args)
        .status()
        .with_context(|| format!("running {}", exe.display()))?;
    Ok(status.code().unwrap_or(1))
}

/// `CARGO_TARGET_<TRIPLE>_<NAME>`.
fn cargo_target_var(triple: &str, name: &str) -> String {
    format!(
        "CARGO_TARGET_{}_{name}",
        triple.to_uppercase().replace(['-', '.'], "_")
    )
}

/// `cargo <args> --release --package engine` for this sysroot's target, with everything the
/// engine's build script and PyO3 read: the manifest, the PyO3 config, the flavor's
/// RUSTFLAGS, the target's linker, and a target directory of its own (PyO3's configuration
/// differs per sysroot, so sharing one would rebuild everything at every switch).
pub fn cargo_for(ctx: &Ctx, sysroot: &Path, args: &[&str]) -> Result<Command> {
    let (manifest, root) = Manifest::load(sysroot)?;
    let (target, _) = target::select(&ctx.root.join("sysroots"), &manifest.target.name)?;
    let triple = &manifest.target.rust_triple;
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(args)
        .args(["--release", "--package", "engine", "--target", triple])
        .current_dir(&ctx.root)
        .env("CARGO_TARGET_DIR", target_dir(ctx, sysroot))
        .env("PYSYSROOT_MANIFEST", root.join(sysroot_manifest::FILE_NAME))
        .env("PYO3_CONFIG_FILE", root.join(&manifest.paths.pyo3_config))
        .env(
            cargo_target_var(triple, "RUSTFLAGS"),
            target.flavor(manifest.flavor).rustflags.join(" "),
        );
    if let Some(linker) = &target.toolchain.rust_linker {
        let linker = crate::tools::Tools::provision(ctx, &target)?.expand(linker)?;
        let program = if linker.len() == 1 {
            PathBuf::from(&linker[0])
        } else {
            linker_script(ctx, &target.name, &linker)?
        };
        cmd.env(cargo_target_var(triple, "LINKER"), program);
    }
    Ok(cmd)
}

/// A script that runs `command` with the linker's arguments: cargo's linker setting is a
/// single program, a target's linker may be a command (`python zig_cc.py -target ...`).
fn linker_script(ctx: &Ctx, target: &str, command: &[String]) -> Result<PathBuf> {
    let dir = ctx.work_dir().join("linkers");
    fs::create_dir_all(&dir)?;
    let script = dir.join(format!("{target}-linker"));
    let quoted: Vec<String> = command
        .iter()
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    fs::write(
        &script,
        format!(
            "#!/bin/sh\n# Written by xtask from sysroots/{target}.toml.\nexec {} \"$@\"\n",
            quoted.join(" ")
        ),
    )?;
    set_executable(&script)?;
    Ok(script)
}

fn target_dir(ctx: &Ctx, sysroot: &Path) -> PathBuf {
    ctx.root
        .join("target/isolate")
        .join(sysroot.strip_prefix(&ctx.sysroots).unwrap_or(sysroot))
}

pub fn build(ctx: &Ctx, sysroot: &Path) -> Result<Built> {
    let (manifest, root) = crate::sysroot::load(ctx, sysroot)?;
    let (target, _) = target::select(&ctx.root.join("sysroots"), &manifest.target.name)?;
    let triple = &manifest.target.rust_triple;
    let target_dir = target_dir(ctx, sysroot);
    note(format!(
        "building the isolate for {} (CPython {}, {})",
        triple, manifest.python.version, manifest.flavor
    ));
    let mut cmd = cargo_for(ctx, sysroot, &["build", "--bin", "isolate"])?;
    let start = Instant::now();
    let status = cmd
        .status()
        .context("running cargo build for the isolate")?;
    if !status.success() {
        bail!("building the isolate for {triple} failed ({status})");
    }
    note(format!("isolate built in {:.1?}", start.elapsed()));
    let exe_name = if triple.starts_with("wasm") {
        "isolate.wasm"
    } else {
        "isolate"
    };
    let built_exe = target_dir.join(triple).join("release").join(exe_name);
    let exe = root.join("bin").join(exe_name);
    fs::copy(&built_exe, &exe).with_context(|| format!("copying {}", built_exe.display()))?;

    // The stdlib as a zip, made by the sysroot's own python3 (its bytecode). Paths are relative
    // to the sysroot, which every runner maps (WASI sees only its preopened directories).
    let dist = root.join("dist");
    if dist.exists() {
        fs::remove_dir_all(&dist)?;
    }
    fs::create_dir_all(&dist)?;
    fs::write(
        dist.join("make_stdlib_zip.py"),
        include_str!("../py/make_stdlib_zip.py"),
    )?;
    let mut python = manifest.target.runner.clone();
    python.push(root.join(&manifest.paths.python).display().to_string());
    let out = Command::new(&python[0])
        .args(&python[1..])
        .args([
            "-I",
            "dist/make_stdlib_zip.py",
            &manifest.paths.stdlib,
            "dist/stdlib.zip",
        ])
        .current_dir(&root)
        .output()
        .context("running the sysroot's python3 to zip the stdlib")?;
    if !out.status.success() {
        bail!(
            "zipping the stdlib failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    fs::remove_file(dist.join("make_stdlib_zip.py"))?;
    let zip = dist.join("stdlib.zip");
    let standalone = dist.join(exe_name);
    if triple.starts_with("wasm") {
        // A WASI module cannot read itself: the zip ships beside it, where CPython looks for
        // it under its prefix (`lib/pythonXY.zip`); `lib-dynload` marks the platform library
        // directory, empty since every extension module is built in.
        let lib = dist.join("lib");
        fs::create_dir_all(lib.join(format!("python{}/lib-dynload", manifest.python.abi)))?;
        fs::rename(
            &zip,
            lib.join(format!(
                "python{}.zip",
                manifest.python.abi.replace('.', "")
            )),
        )?;
        fs::copy(&exe, &standalone)?;
    } else {
        // Appended to the executable: zipimport reads it from there.
        let mut bytes = fs::read(&exe)?;
        bytes.extend(fs::read(&zip)?);
        fs::write(&standalone, bytes)?;
        fs::remove_file(&zip)?;
    }
    set_executable(&standalone)?;
    Ok(Built {
        sysroot: root,
        manifest,
        target,
        exe,
        standalone,
    })
}

fn set_executable(p: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// Everything the isolate must prove; returns a one-line summary.
pub fn check(ctx: &Ctx, b: &Built, regrtest: bool) -> Result<String> {
    let m = &b.manifest;
    let name = format!("{} {} {}", m.target.name, m.python.version, m.flavor);
    let is_elf = !m.target.rust_triple.starts_with("wasm");
    println!("\nchecks for the {name} isolate ({}):", b.exe.display());
    if is_elf {
        let file = Command::new("file")
            .arg("-b")
            .arg(&b.exe)
            .output()
            .context("running file(1)")?;
        let file = String::from_utf8_lossy(&file.stdout).trim().to_string();
        let want_pie = m.flavor != Flavor::Static;
        if file.contains("pie executable") != want_pie || !file.contains("executable") {
            bail!(
                "file(1) says {file:?}: expected a {}PIE executable",
                if want_pie { "" } else { "non-" }
            );
        }
        println!("  file:        {file}");
        let needed = verify::needed(&b.exe)?;
        verify::check_needed(&b.exe, m.link.shared_library_name().as_slice())?;
        if m.flavor != Flavor::Shared && needed.iter().any(|n| n.contains("python")) {
            bail!("the isolate needs a shared libpython: {needed:?}");
        }
        println!("  needs:       {} (no libpython)", needed.join(", "));
    }
    let nm = crate::tools::Tools::provision(ctx, &b.target)?.expand(&b.target.toolchain.nm)?;
    if is_elf {
        // LTO may inline internal HACL* functions (aarch64 inlines the SHA-2 block functions),
        // in python3's link as in the LTO object: the isolate must have every one python3 has.
        let defined = verify::defined_symbols(&nm, &b.exe)?;
        let reference = verify::defined_symbols(&nm, &b.sysroot.join(&m.paths.python))?;
        let missing: Vec<&String> = m
            .hacl
            .symbols
            .iter()
            .filter(|s| reference.contains(*s) && !defined.contains(*s))
            .collect();
        let present = m
            .hacl
            .symbols
            .iter()
            .filter(|s| defined.contains(*s))
            .count();
        if !missing.is_empty() || (present == 0 && !m.hacl.symbols.is_empty()) {
            bail!(
                "HACL* symbols missing from the isolate: {missing:?} ({present} of the recipe's {} present)",
                m.hacl.symbols.len()
            );
        }
        println!(
            "  HACL*:       {present} of the recipe's {} symbols defined in the isolate, every one python3 has (LTO inlines the rest)",
            m.hacl.symbols.len()
        );
    } else {
        // zig strips a WASI module's names, so the proof is the archives it links, and that
        // with no OpenSSL on WASI the known answers below can only come from HACL*.
        let mut defined = std::collections::BTreeSet::new();
        for archive in &m.hacl.archives {
            defined.extend(verify::defined_symbols(&nm, &b.sysroot.join(archive))?);
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
            "  HACL*:       {} symbols defined in {:?}, which the isolate links (no OpenSSL on WASI)",
            m.hacl.symbols.len(),
            m.hacl.archives
        );
    }

    // Each invoked by its own path, as a user would.
    let natural = |exe: String| Interp {
        runner: m.target.runner.clone(),
        argv0: exe.clone(),
        exe,
    };
    let python = natural(b.sysroot.join(&m.paths.python).display().to_string());
    let isolate = natural(b.exe.display().to_string());
    let scratch = ctx
        .work_dir()
        .join("isolate-check")
        .join(m.target.name.as_str());
    fs::create_dir_all(&scratch)?;
    let mut interpreter = m.target.runner.clone();
    interpreter.push(b.exe.display().to_string());
    interpreter.push("-I".into());
    let report = verify::run_check(&interpreter, &scratch, &m.modules.builtin)?;
    verify::require_clean(&report, "the isolate", &m.python.version)?;
    println!(
        "  modules:     all {} builtin modules import; hashlib known answers match{}",
        m.modules.builtin.len(),
        if m.modules.builtin.iter().any(|b| b == "_hashlib") {
            " (OpenSSL and HACL*)"
        } else {
            " (HACL*)"
        }
    );

    relocation_check(b)?;
    if is_elf {
        signal_check(&python, &isolate, &scratch)?;
    } else {
        println!("  Ctrl-C:      not applicable (a WASI module receives no signals)");
    }

    // Same argv for both, argv[0] included: python3's own path.
    let reference = Interp {
        argv0: python.exe.clone(),
        ..python.clone()
    };
    let candidate = Interp {
        argv0: python.exe.clone(),
        ..isolate.clone()
    };
    let cases = corpus::cli_cases(&scratch)?;
    let corpus_dir = ctx.root.join("engine/corpus");
    println!("  bit-exact corpus against {}:", python.exe);
    let r = corpus::check(
        &corpus_dir,
        &reference,
        &candidate,
        &m.target.name,
        &m.modules.builtin,
        &cases,
    )?;
    for (file, why) in &r.skipped {
        println!("  skipped {file}: {why}");
    }
    println!("bit-exact {}/{}", r.passed, r.total);
    if !r.failures.is_empty() {
        bail!(
            "the isolate differs from python3 on: {}",
            r.failures.join(", ")
        );
    }

    let mut summary = format!(
        "{name}: bit-exact {}/{} ({} skipped)",
        r.passed,
        r.total,
        r.skipped.len()
    );
    if !m.target.runner.is_empty() {
        summary.push_str(&same_as_native(ctx, m, &r, &corpus_dir)?);
    }
    if regrtest {
        // Under qemu-user, tests that start `sys.executable` need it to be runnable here.
        let (python, isolate) = if m.target.runner.first().is_some_and(|r| r.contains("qemu-")) {
            (runner_wrapper(&python)?, runner_wrapper(&isolate)?)
        } else {
            (python.clone(), isolate.clone())
        };
        // The test names change between releases (3.11's test_unicode is 3.13's test_str).
        let (recipe, path) =
            crate::recipe::select(&ctx.root.join("recipes"), Some(&m.python.version))?;
        ensure!(
            !recipe.regrtests.is_empty(),
            "{} lists no `regrtests` to run in the isolate: add CPython's test names to it",
            path.display()
        );
        let line = regression_tests(&recipe.regrtests, &python, &isolate, &scratch)?;
        summary.push_str(&format!("; regrtest {line}"));
    }
    Ok(summary)
}

/// A cross target's python3 must print what the native one prints for every corpus program,
/// except those that print the platform on purpose.
fn same_as_native(
    ctx: &Ctx,
    m: &Manifest,
    r: &corpus::Report,
    corpus_dir: &Path,
) -> Result<String> {
    let native = crate::install::sysroot_dir(
        &ctx.sysroots,
        target::native_name(),
        &m.python.version,
        Flavor::Static,
    );
    let Ok((nm, nroot)) = Manifest::load(&native) else {
        println!(
            "  (no native {} sysroot: the comparison with the native output is skipped)",
            m.python.version
        );
        return Ok(String::new());
    };
    let exe = nroot.join(&nm.paths.python).display().to_string();
    let python = Interp {
        runner: vec![],
        argv0: exe.clone(),
        exe,
    };
    let programs = corpus::load(corpus_dir)?;
    let mut same = 0;
    let mut differ = Vec::new();
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
        let ours = corpus::run(&python, &args, Some(b""), corpus_dir)?;
        if normalise_paths(&ours, corpus_dir) == normalise_paths(theirs, corpus_dir) {
            same += 1;
        } else {
            println!(
                "  DIFF  {file} between {} and {}:\n{}",
                nm.target.name,
                m.target.name,
                corpus::diff(&ours, theirs, (&nm.target.name, &m.target.name))
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
            m.target.name,
            nm.target.name,
            differ.join(", ")
        );
    }
    Ok(format!("; same as {} {same}/{same}", nm.target.name))
}

/// Script paths in tracebacks name the corpus directory as each system sees it: its real path
/// natively, `/` inside a WASI guest (where it is preopened), which prints as `"//name.py"`.
fn normalise_paths(o: &corpus::Outcome, corpus_dir: &Path) -> corpus::Outcome {
    let host = format!("\"{}/", corpus_dir.display());
    let fix = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .replace(&host, "\"<corpus>/")
            .replace("\"//", "\"<corpus>/")
            .into_bytes()
    };
    corpus::Outcome {
        stdout: fix(&o.stdout),
        stderr: fix(&o.stderr),
        status: o.status,
    }
}

/// The self-contained isolate, copied alone to a fresh directory, runs with an empty
/// environment and imports nothing from the sysroot or the build machine.
fn relocation_check(b: &Built) -> Result<()> {
    let m = &b.manifest;
    // Outside the repository and the sysroot, so nothing can be found by walking up from it.
    let dir = std::env::temp_dir().join(format!("isolate-relocated-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir)?;
    let exe = dir.join(b.standalone.file_name().unwrap());
    crate::deps::copy_tree(b.standalone.parent().unwrap(), &dir)?;
    let code = "import hashlib, json, decimal, sys\n\
                print(hashlib.sha256(b'abc').hexdigest(), json.dumps({'d': str(decimal.Decimal(1) / 7)}))\n\
                print('\\n'.join(sys.path))\n\
                print('\\n'.join(sorted({getattr(m, '__file__', None) or '' for m in list(sys.modules.values())})))\n";
    let iso = Interp {
        runner: m.target.runner.clone(),
        exe: exe.display().to_string(),
        argv0: exe.display().to_string(),
    };
    let out = corpus::run(&iso, &["-c".into(), code.into()], Some(b""), &dir)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status != Some(0)
        || !stdout.starts_with("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    {
        bail!(
            "the relocated isolate failed: {:?}\n{stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let sysroot = b.sysroot.display().to_string();
    // Under WASI the runner maps the copied directory at the prefix, so only native builds
    // can tell a leak to the prefix from the intended path.
    let prefix = if m.target.rust_triple.starts_with("wasm") {
        "\0"
    } else {
        crate::compile::PREFIX
    };
    let leak = stdout
        .lines()
        .skip(1)
        .find(|l| l.contains(&sysroot) || *l == prefix || l.starts_with(&format!("{prefix}/")));
    if let Some(leak) = leak {
        bail!("the relocated isolate reached outside itself: {leak}");
    }
    println!(
        "  relocatable: {} copied to {} imports hashlib, json, decimal from what ships with it",
        exe.file_name().unwrap().to_string_lossy(),
        dir.display()
    );
    fs::remove_dir_all(&dir)?;
    Ok(())
}

/// Ctrl-C: SIGINT must raise KeyboardInterrupt in the isolate exactly as in python3 (same
/// traceback, same death by SIGINT), which needs CPython's signal handlers installed.
fn signal_check(python: &Interp, isolate: &Interp, scratch: &Path) -> Result<()> {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::ExitStatusExt;
    let script = scratch.join("sleeper.py");
    fs::write(
        &script,
        "import time\nprint('ready', flush=True)\ntime.sleep(60)\n",
    )?;
    let mut seen = Vec::new();
    for interp in [python, isolate] {
        let mut cmd = interp.command();
        // As from a terminal: a shell that started us in the background (`cmd &`, nohup, some CI
        // runners) leaves SIGINT ignored, and CPython then keeps it ignored.
        // SAFETY: signal() is async-signal-safe, as pre_exec requires.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                Ok(())
            });
        }
        let mut child = cmd
            .arg(&script)
            .env_clear()
            .envs(corpus::clean_env())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line)?;
        ensure!(line == "ready\n", "{} did not start: {line:?}", interp.exe);
        // Let it return from print() into sleep(), or the traceback names the print line
        // (it does under qemu, which is slower).
        std::thread::sleep(std::time::Duration::from_millis(
            if interp.runner.is_empty() { 500 } else { 3000 },
        ));
        let status = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()?;
        ensure!(status.success(), "kill -INT failed");
        let out = child.wait_with_output()?;
        let stderr = String::from_utf8_lossy(&out.stderr).replace(&interp.exe, "<exe>");
        seen.push((out.status.signal(), out.status.code(), stderr));
    }
    ensure!(
        seen[0].2.contains("KeyboardInterrupt"),
        "python3 did not raise KeyboardInterrupt: {:?}",
        seen[0]
    );
    ensure!(
        seen[0] == seen[1],
        "Ctrl-C differs:\n  python3: {:?}\n  isolate: {:?}",
        seen[0],
        seen[1]
    );
    println!(
        "  Ctrl-C:      KeyboardInterrupt and death by signal {:?}, as python3",
        seen[1].0
    );
    Ok(())
}

/// A shell script next to a target executable that runs it under qemu-user and
/// gives it its own path as argv[0]; so `sys.executable` is the script, and the programs tests
/// start with it run under the emulator too. It sits beside the executable because CPython
/// finds its stdlib relative to argv[0].
fn runner_wrapper(interp: &Interp) -> Result<Interp> {
    let exe = Path::new(&interp.exe);
    let script = exe.with_file_name(format!(
        "{}-run",
        exe.file_name().unwrap().to_string_lossy()
    ));
    let quoted: Vec<String> = interp.runner.iter().map(|a| format!("'{a}'")).collect();
    fs::write(
        &script,
        format!(
            "#!/bin/sh\n# Written by `cargo xtask isolate`: runs {} under {}.\nexec {} -0 \"$0\" '{}' \"$@\"\n",
            exe.display(),
            interp.runner[0],
            quoted.join(" "),
            exe.display()
        ),
    )?;
    set_executable(&script)?;
    Ok(Interp {
        argv0: script.display().to_string(),
        ..interp.clone()
    })
}

/// Runs CPython's regression subset with python3 and with the isolate; the summaries must agree.
fn regression_tests(
    tests: &[String],
    python: &Interp,
    isolate: &Interp,
    scratch: &Path,
) -> Result<String> {
    let mut results = Vec::new();
    for interp in [python, isolate] {
        let dir = scratch.join("regrtest");
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)?;
        let start = Instant::now();
        let mut args = vec!["-m".to_string(), "test".to_string()];
        args.extend(tests.iter().cloned());
        let out = corpus::run(interp, &args, Some(b""), &dir)?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let summary: Vec<String> = text
            .lines()
            .filter(|l| {
                l.starts_with("Total tests:")
                    || l.starts_with("Total test files:")
                    || l.starts_with("Result:")
                    || l.contains("tests OK")
            })
            .map(|l| l.trim().to_string())
            .collect();
        println!(
            "  regrtest with {}: {} in {:.0?}",
            Path::new(&interp.exe)
                .file_name()
                .unwrap()
                .to_string_lossy(),
            summary.join(" | "),
            start.elapsed()
        );
        if out.status != Some(0)
            || !summary
                .iter()
                .any(|l| l.contains("SUCCESS") || l.contains("tests OK"))
        {
            bail!(
                "CPython's tests failed with {}:\n{}\n{}",
                interp.exe,
                text,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        results.push(summary);
    }
    if results[0] != results[1] {
        bail!(
            "the isolate's test results differ from python3's:\n  python3: {:?}\n  isolate: {:?}",
            results[0],
            results[1]
        );
    }
    Ok(results[1].join(" | "))
}
