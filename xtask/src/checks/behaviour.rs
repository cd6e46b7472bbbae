//! Behaviour a user sees beyond a program's output: Ctrl-C, and a single-file isolate that
//! runs wherever it is copied.

use crate::checks::{Interp, clean_env, run};
use crate::model::target::Runner;
use crate::util::{fs, shell};
use anyhow::{Context, Result, bail, ensure};
use std::path::Path;

/// Ctrl-C: SIGINT must raise KeyboardInterrupt in the isolate exactly as in python3 (same
/// traceback, same death by SIGINT), which needs CPython's signal handlers installed.
pub fn ctrl_c(python: &Interp, isolate: &Interp, scratch: &Path) -> Result<Option<i32>> {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::{CommandExt, ExitStatusExt};
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
            cmd.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                Ok(())
            });
        }
        let mut child = cmd
            .arg(&script)
            .env_clear()
            .envs(clean_env())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
        ensure!(line == "ready\n", "{} did not start: {line:?}", interp.exe);
        // Let it return from print() into sleep(), or the traceback names the print line
        // (it does under an emulator, which is slower).
        let settle = if interp.runner.is_native() { 500 } else { 3000 };
        std::thread::sleep(std::time::Duration::from_millis(settle));
        // SAFETY: signalling our own child.
        ensure!(
            unsafe { libc::kill(child.id() as i32, libc::SIGINT) } == 0,
            "kill -INT failed"
        );
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
    Ok(seen[1].0)
}

/// The single-file isolate, copied alone (with what ships beside it) to a fresh directory
/// outside the repository, runs with an empty environment and imports nothing from the
/// sysroot or the build machine. `prefix` is CPython's configured prefix, which must not be
/// reached either (unless the runner maps the copy there, as the WASI runner does).
pub fn relocated(
    standalone: &Path,
    runner: &Runner,
    sysroot: &Path,
    prefix: Option<&str>,
) -> Result<String> {
    let dir = std::env::temp_dir().join(format!("isolate-relocated-{}", std::process::id()));
    fs::remove_dir_all(&dir)?;
    fs::create_dir_all(&dir)?;
    let from = standalone.parent().expect("dist/ holds the isolate");
    fs::copy_tree(from, &dir)?;
    let exe = dir.join(standalone.file_name().expect("a file name"));
    let code = "import hashlib, json, decimal, sys\n\
                print(hashlib.sha256(b'abc').hexdigest(), json.dumps({'d': str(decimal.Decimal(1) / 7)}))\n\
                print('\\n'.join(sys.path))\n\
                print('\\n'.join(sorted({getattr(m, '__file__', None) or '' for m in list(sys.modules.values())})))\n";
    let out = run(
        &Interp::new(runner, &exe),
        &["-c".into(), code.into()],
        Some(b""),
        &dir,
        &[],
    )?;
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
    let sysroot = sysroot.display().to_string();
    let leak = stdout.lines().skip(1).find(|l| {
        l.contains(&sysroot) || prefix.is_some_and(|p| *l == p || l.starts_with(&format!("{p}/")))
    });
    if let Some(leak) = leak {
        bail!("the relocated isolate reached outside itself: {leak}");
    }
    fs::remove_dir_all(&dir)?;
    Ok(format!(
        "{} copied to {} imports hashlib, json, decimal from what ships with it",
        exe.file_name().unwrap_or_default().to_string_lossy(),
        dir.display()
    ))
}

/// A program that cannot load compiled extension modules says so: importing one raises
/// ImportError naming the module, its file and why, in the isolate exactly as in python3.
pub fn no_extension_modules(python: &Interp, isolate: &Interp, scratch: &Path) -> Result<String> {
    let dir = scratch.join("extension-module");
    fs::create_dir_all(&dir)?;
    // Never opened: the loader stops at dlopen(), before reading a byte.
    fs::write(&dir.join("compiled_ext.so"), b"\x7fELF")?;
    let code = "import sys\n\
                sys.path.insert(0, sys.argv[1])\n\
                try:\n    import compiled_ext\n\
                except ImportError as e:\n    print(type(e).__name__, e.name, e.path, e, sep='|')\n";
    let args = ["-c".to_string(), code.into(), dir.display().to_string()];
    let want = run(python, &args, Some(b""), scratch, &[])?;
    let got = run(isolate, &args, Some(b""), scratch, &[])?;
    let line = String::from_utf8_lossy(&want.stdout).trim_end().to_string();
    let fields: Vec<&str> = line.split('|').collect();
    ensure!(
        want.status == Some(0)
            && fields.len() == 4
            && fields[0] == "ImportError"
            && fields[1] == "compiled_ext"
            && fields[2].ends_with("compiled_ext.so")
            && !fields[3].is_empty(),
        "python3 does not refuse a compiled module with an ImportError naming it: {line:?} {}",
        String::from_utf8_lossy(&want.stderr)
    );
    ensure!(
        got == want,
        "importing a compiled module differs:\n{}",
        crate::checks::corpus::diff(&want, &got, ("python3", "isolate"))
    );
    Ok(format!("ImportError, as python3: {}", fields[3]))
}

/// For each x86-64 level, a CPU qemu emulates that lacks it.
const OLDER_CPU: [(&str, &str); 3] = [
    ("x86-64-v2", "qemu64"),
    ("x86-64-v3", "Nehalem"),
    ("x86-64-v4", "Haswell"),
];

/// An executable built for a CPU level, run on an emulated CPU without it, exits at once with
/// a message naming the level and what to use instead (not SIGILL somewhere later).
pub fn refuses_older_cpu(exe: &Path, level: &str) -> Result<String> {
    let Some((_, cpu)) = OLDER_CPU.iter().find(|(l, _)| *l == level) else {
        bail!("no emulated CPU lacking {level} is known to this check");
    };
    let out = std::process::Command::new("qemu-x86_64")
        .args(["-cpu", cpu])
        .arg(exe)
        .args(["-c", "print('ran')"])
        .env_clear()
        .envs(clean_env())
        .output()
        .map_err(|e| {
            anyhow::anyhow!("running qemu-x86_64: {e}; install qemu-user (cargo xtask provision)")
        })?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let message = stderr
        .lines()
        .find(|l| l.contains("built for"))
        .unwrap_or_default();
    ensure!(
        out.status.code() == Some(132)
            && out.stdout.is_empty()
            && message.contains(level)
            && message.contains("baseline"),
        "{} on an emulated {cpu} (no {level}): {}, stdout {:?}, stderr:\n{stderr}",
        exe.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    Ok(format!("on an emulated {cpu}: {message}"))
}

/// A fully static single file runs in a root that holds nothing but itself and a script: no
/// loader, no libc, no stdlib directory, no /proc, no /tmp. As root, `chroot` does it; a user
/// is mapped to root in a new user namespace first (`unshare -r`). A target run under an
/// emulator takes the emulator into the root, which must then be a static executable too.
pub fn empty_root(standalone: &Path, runner: &Runner) -> Result<String> {
    let dir = std::env::temp_dir().join(format!("isolate-empty-root-{}", std::process::id()));
    fs::remove_dir_all(&dir)?;
    fs::create_dir_all(&dir)?;
    let exe = dir.join("isolate");
    fs::copy_file(standalone, &exe)?;
    fs::set_executable(&exe)?;
    fs::write(
        &dir.join("script.py"),
        "import decimal, hashlib, json, os, sys\n\
         print(hashlib.sha256(b'abc').hexdigest())\n\
         print(json.dumps({'d': str(decimal.Decimal(1) / 7)}))\n\
         print(sys.executable, sorted(os.listdir('/')))\n",
    )?;
    let mut inside = vec!["isolate".to_string(), "script.py".to_string()];
    let mut argv = Vec::new();
    if let [program, options @ ..] = runner.command() {
        let path = crate::util::process::on_path(program).with_context(|| {
            format!("the runner {program} is not on PATH: cargo xtask provision")
        })?;
        ensure!(
            crate::util::elf::read(&path)?.is_static(),
            "the runner {} is not a static executable, so it cannot run {} in an empty root: name a static emulator in the target's [runner] (Debian's qemu-user-static)",
            path.display(),
            standalone.display()
        );
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        fs::copy_file(&path, &dir.join(&name))?;
        fs::set_executable(&dir.join(&name))?;
        argv.push(format!("/{name}"));
        argv.extend(options.iter().cloned());
        inside.push(name);
        inside.sort();
    }
    argv.extend(["/isolate".to_string(), "/script.py".to_string()]);
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let tool = if root { "chroot" } else { "unshare" };
    let path = crate::util::process::on_path(tool).ok_or_else(|| {
        anyhow::anyhow!(
            "running {} in an empty root needs {tool}, which is not on PATH: install util-linux and coreutils",
            standalone.display()
        )
    })?;
    let mut cmd = std::process::Command::new(path);
    if !root {
        cmd.args(["--user", "--map-root-user", "chroot"]);
    }
    cmd.arg(&dir).args(&argv).env_clear();
    let out = cmd.output().map_err(|e| {
        anyhow::anyhow!(
            "running {} in an empty root: {e}; it needs chroot and unshare (util-linux)",
            standalone.display()
        )
    })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let listing: Vec<String> = inside.iter().map(|f| format!("'{f}'")).collect();
    let want = format!(
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n\
         {{\"d\": \"0.1428571428571428571428571429\"}}\n\
         /isolate [{}]\n",
        listing.join(", ")
    );
    ensure!(
        out.status.success() && stdout == want,
        "{} in a root holding only itself and a script: {}\n{stdout}{}",
        standalone.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    fs::remove_dir_all(&dir)?;
    Ok(format!(
        "the single file runs in a root holding only itself and a script{}",
        if root { "" } else { " (unshare -r chroot)" }
    ))
}

/// The single file's stdlib, run by `check_single_file.py` (see there): the directory the
/// engine hands zipimport is exactly `zipimport._read_directory`'s, zipimport's own reading
/// finds the zip too, and `__file__`, `inspect`, tracebacks, `importlib.resources` and
/// `importlib.invalidate_caches()` work.
pub fn single_file(standalone: &Path, runner: &Runner, script: &Path) -> Result<String> {
    let cwd = script.parent().expect("a script in a directory");
    let args = ["-S".to_string(), script.display().to_string()];
    let out = run(&Interp::new(runner, standalone), &args, Some(b""), cwd, &[])?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status != Some(0) {
        bail!(
            "{} fails the single-file check {}: {:?}\n{stdout}{}",
            standalone.display(),
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(stdout.trim().to_string())
}

/// A copy of the single file stripped by `strip` (binutils' `strip`, which drops every byte
/// no section covers) still carries its stdlib: it passes [`single_file`] and [`relocated`].
pub fn stripped(
    standalone: &Path,
    runner: &Runner,
    strip: &str,
    script: &Path,
    sysroot: &Path,
    prefix: Option<&str>,
) -> Result<String> {
    let dir = std::env::temp_dir().join(format!("isolate-stripped-{}", std::process::id()));
    fs::remove_dir_all(&dir)?;
    fs::create_dir_all(&dir)?;
    fs::copy_tree(standalone.parent().expect("dist/ holds the isolate"), &dir)?;
    let exe = dir.join(standalone.file_name().expect("a file name"));
    crate::util::process::output(std::process::Command::new(strip).arg(&exe)).with_context(
        || format!("stripping a copy of the single file with {strip} (binutils for the target)"),
    )?;
    let size = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.len() >> 20)
            .map_err(|e| fs::io_error(e, "reading the size of", p))
    };
    let (before, after) = (size(standalone)?, size(&exe)?);
    single_file(&exe, runner, script)?;
    relocated(&exe, runner, sysroot, prefix)?;
    fs::remove_dir_all(&dir)?;
    Ok(format!(
        "`{strip}` of it ({after} MB, from {before} MB) passes the single-file and relocation checks"
    ))
}

/// A shell script next to a target executable that runs it under the emulator and gives it
/// its own path as `argv[0]`; so `sys.executable` is the script, and the programs tests start
/// with it run under the emulator too. It sits beside the executable because CPython finds
/// its stdlib relative to `argv[0]`.
pub fn wrapped_for_children(interp: &Interp) -> Result<Interp> {
    if !interp.runner.children_need_wrapping() {
        return Ok(interp.clone());
    }
    let exe = Path::new(&interp.exe);
    let script = exe.with_file_name(format!(
        "{}-run",
        exe.file_name().unwrap_or_default().to_string_lossy()
    ));
    let mut argv: Vec<String> = interp.runner.command().to_vec();
    argv.extend(interp.runner.argv0_args("$0"));
    let quoted = shell::join(&argv).replace("'$0'", "\"$0\"");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\n# Written by `cargo xtask isolate`: runs {} under {}.\nexec {quoted} {} \"$@\"\n",
            exe.display(),
            argv[0],
            shell::quote(&interp.exe)
        ),
    )?;
    fs::set_executable(&script)?;
    Ok(Interp {
        argv0: script.display().to_string(),
        ..interp.clone()
    })
}
