//! One call, in a child the server forked: take over the client's inheritance, check that
//! the call can run in this interpreter exactly as python3 would run it, and run it.

use super::call;
use super::client::show;
use super::protocol::{self, Reply, Request};
use super::server::Context;
use pyo3::ffi;
use pyo3::prelude::*;
use std::collections::BTreeMap;
use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

/// How preparing a call ended, when it does not run.
pub(super) enum Stop {
    /// Nothing ran and nothing was written: the client starts the program cold.
    Cold(String),
    /// CPython's argument parsing ended the run (`--version`, a bad option), having printed
    /// what python3 prints: exit with its code.
    Exit(i32),
}

type Prepared<T> = Result<T, Stop>;

fn cold<T>(why: impl Into<String>) -> Prepared<T> {
    Err(Stop::Cold(why.into()))
}

/// Runs in a child right after `fork`, holding the GIL: becomes a process of its own, then
/// waits on `ctl` for a connection (and the client's group, from its socket credentials)
/// and serves it; `ahead` when it was forked before its call came. Never returns.
pub(super) fn wait_for_call(ctl: UnixStream, ahead: bool, ctx: &Context) -> ! {
    // SAFETY: called once, in the child of a fork made with the GIL held, as os.fork does.
    unsafe { ffi::PyOS_AfterFork_Child() };
    Python::attach(|py| {
        // The wakeup pipe is the server's: a signal must not write into whatever descriptor
        // takes its number later.
        let _ = call::loaded(py, "_signal").and_then(|s| s.call_method1("set_wakeup_fd", (-1,)));
        if let Err(e) = call::unfreeze(py, ctx) {
            // Module globals would never be finalized: refuse rather than differ.
            e.print(py);
            // SAFETY: nothing ran.
            unsafe { libc::_exit(1) };
        }
        if let Err(e) = call::reset_signals(py, ctx) {
            // The server's SIGTERM handler would stay: refuse to serve rather than differ.
            e.print(py);
            // SAFETY: nothing ran.
            unsafe { libc::_exit(1) };
        }
    });
    close_server_fds(ctl.as_raw_fd());
    // SAFETY: process-attribute calls on this process.
    unsafe {
        // A killed server takes its children along rather than leaving programs whose
        // status nobody collects.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() as u32 != ctx.server_pid {
            libc::_exit(1);
        }
        // A session of its own: no controlling terminal, out of the server's process group.
        libc::setsid();
    }
    if ahead {
        // Forked before its call: time to spare. The server hands calls to ready children only.
        call::prefault(ctx);
        let _ = (&ctl).write_all(b"R");
    }
    let handed = protocol::recv_with_fds(&ctl);
    drop(ctl);
    match handed {
        Ok((gid, mut fds)) if gid.len() == 4 && fds.len() == 1 => {
            let gid = u32::from_le_bytes(gid.try_into().unwrap());
            serve(UnixStream::from(fds.remove(0)), gid, ctx)
        }
        // The server closed the pool: nothing ran, nothing to flush.
        // SAFETY: as said.
        _ => unsafe { libc::_exit(0) },
    }
}

fn serve(stream: UnixStream, peer_gid: u32, ctx: &Context) -> ! {
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(30)));
    let Ok((frame, fds)) = protocol::recv_with_fds(&stream) else {
        // SAFETY: nothing ran; there is nothing to flush.
        unsafe { libc::_exit(1) }
    };
    let request = match Request::decode(&frame) {
        Ok(request) => request,
        Err(why) => finish_cold(&stream, &why),
    };
    let stream = match prepare(stream, &request, fds, peer_gid, ctx) {
        Ok(ready) => ready,
        Err((stream, Stop::Cold(why))) => finish_cold(&stream, &why),
        // SAFETY: exit flushes the C stdio CPython's usage or version text went to.
        Err((_, Stop::Exit(code))) => unsafe { libc::exit(code) },
    };
    // SAFETY: getpid cannot fail.
    Reply::Started(unsafe { libc::getpid() } as u32).send(stream.as_raw_fd());
    drop(stream);
    set_signal_mask(request.sigmask);
    call::run(ctx)
}

fn finish_cold(stream: &UnixStream, why: &str) -> ! {
    Reply::Cold(why.to_string()).send(stream.as_raw_fd());
    // SAFETY: nothing of the program ran; _exit skips flushing anything of the server's.
    unsafe { libc::_exit(0) }
}

/// Everything but the control socket: server state the program must not see.
fn close_server_fds(keep: RawFd) {
    // The system call, not libc's wrapper, which musl lacks.
    let close_range = |first: u32, last: u32| {
        // SAFETY: closing descriptors of this process only; nothing below 3 is touched.
        unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) };
    };
    if keep > 3 {
        close_range(3, keep as u32 - 1);
    }
    close_range(keep as u32 + 1, u32::MAX);
}

fn prepare(
    stream: UnixStream,
    req: &Request,
    mut fds: Vec<OwnedFd>,
    peer_gid: u32,
    ctx: &Context,
) -> Result<UnixStream, (UnixStream, Stop)> {
    if fds.len() != req.fds.len() + 1 {
        return Err((
            stream,
            Stop::Cold("the request's descriptors do not match".into()),
        ));
    }
    let cwd = fds.remove(0);
    let same_env = req.env == ctx.env;
    let env = effective_env(&req.env, ctx);
    let checked = check_process(req, peer_gid, &cwd, ctx)
        .and_then(|()| apply_process(req))
        .and_then(|()| if same_env { Ok(()) } else { set_environ(&env) })
        .and_then(|()| change_dir(&cwd));
    if let Err(stop) = checked {
        return Err((stream, stop));
    }
    drop(cwd);
    let stream = place_fds(stream, &req.fds, fds);
    let env = (!same_env).then_some(env.as_slice());
    match stdin_not_a_directory().and_then(|()| configure(req, env, ctx)) {
        Ok(()) => Ok(stream),
        Err(stop) => Err((stream, stop)),
    }
}

/// What the program would inherit that this process cannot take over, and the start-up
/// inputs the server already consumed: any difference means a cold start.
fn check_process(req: &Request, peer_gid: u32, cwd: &OwnedFd, ctx: &Context) -> Prepared<()> {
    if req.exe != (0, 0) && req.exe != ctx.exe {
        return cold(format!(
            "the client is {}, the server runs {}",
            show(&req.exe_path),
            ctx.exe_path.display()
        ));
    }
    // SAFETY: getegid cannot fail.
    if req.groups != ctx.groups || peer_gid != unsafe { libc::getegid() } {
        return cold("the client's groups differ from the server's");
    }
    check_env(req, cwd, ctx)
}

/// Variables initialisation (or the C library, or OpenSSL) reads once, with effects the
/// server froze: the call's values must equal those the server started with.
fn read_at_start(key: &[u8]) -> bool {
    key.starts_with(b"PYTHON")
        || key.starts_with(b"_PYTHON")
        // The locale: LC_CTYPE, hence the filesystem and stdio encodings, UTF-8 mode, coercion.
        || matches!(key, b"LC_ALL" | b"LC_CTYPE" | b"LANG")
        // site's user site-packages directory (~/.local/lib/pythonX.Y/site-packages).
        || key == b"HOME"
        // The dynamic loader and malloc read these when the process starts.
        || key.starts_with(b"LD_")
        || key.starts_with(b"MALLOC_")
        || key == b"GLIBC_TUNABLES"
        // OpenSSL reads its configuration and CPU capabilities once.
        || key.starts_with(b"OPENSSL_")
}

/// `getenv`'s view: the first entry of each name.
pub(super) fn env_map(entries: &[Vec<u8>]) -> BTreeMap<&[u8], &[u8]> {
    let mut map = BTreeMap::new();
    for e in entries {
        if let Some(eq) = e.iter().position(|&c| c == b'=') {
            map.entry(&e[..eq]).or_insert(&e[eq + 1..]);
        }
    }
    map
}

fn check_env(req: &Request, cwd: &OwnedFd, ctx: &Context) -> Prepared<()> {
    let theirs = env_map(&req.env);
    let ours = env_map(&ctx.env);
    let keys = theirs
        .keys()
        .chain(ours.keys())
        .filter(|k| read_at_start(k));
    for key in keys {
        if theirs.get(key) != ours.get(key) {
            let show_value =
                |v: Option<&&[u8]>| v.map_or("unset".into(), |v| format!("{:?}", show(v)));
            return cold(format!(
                "${} is {}, the server started with {}",
                show(key),
                show_value(theirs.get(key)),
                show_value(ours.get(key))
            ));
        }
    }
    // sys.executable, and the prefixes found from it, come from argv[0]: searched in PATH
    // when it is a bare name, resolved against the working directory when relative.
    let argv0 = req.argv.first().map(Vec::as_slice).unwrap_or_default();
    if argv0 != ctx.argv0.as_slice() {
        return cold(format!(
            "argv[0] is {:?}, the server's is {:?}",
            show(argv0),
            show(&ctx.argv0)
        ));
    }
    if !argv0.contains(&b'/') && theirs.get(&b"PATH"[..]) != ours.get(&b"PATH"[..]) {
        return cold("$PATH differs from the server's, and argv[0] is looked up in it");
    }
    if !argv0.starts_with(b"/") && argv0.contains(&b'/') && dir_id(cwd) != ctx.cwd {
        return cold("argv[0] is relative to a working directory other than the server's");
    }
    Ok(())
}

fn dir_id(fd: &OwnedFd) -> (u64, u64) {
    // SAFETY: fstat writes one struct we own.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        libc::fstat(fd.as_raw_fd(), &mut st);
        (st.st_dev, st.st_ino)
    }
}

fn apply_process(req: &Request) -> Prepared<()> {
    for &(resource, soft, hard) in &req.rlimits {
        // SAFETY: getrlimit/setrlimit on this process, with structs we own.
        unsafe {
            let mut now: libc::rlimit = std::mem::zeroed();
            if libc::getrlimit(resource as _, &mut now) != 0
                || (now.rlim_cur, now.rlim_max) == (soft, hard)
            {
                continue;
            }
            let want = libc::rlimit {
                rlim_cur: soft,
                rlim_max: hard,
            };
            if libc::setrlimit(resource as _, &want) != 0 {
                return cold(format!(
                    "resource limit {resource} ({soft}, {hard}) is above what the server may set"
                ));
            }
        }
    }
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(req.umask as libc::mode_t) };
    Ok(())
}

/// The client's environment, changed the way the server's own start-up changed its own
/// (C locale coercion sets LC_CTYPE), as python3's start would have changed it.
fn effective_env(entries: &[Vec<u8>], ctx: &Context) -> Vec<Vec<u8>> {
    let mut env: Vec<Vec<u8>> = entries.to_vec();
    for (key, value) in &ctx.env_changes {
        env.retain(|e| !(e.starts_with(key) && e.get(key.len()) == Some(&b'=')));
        if let Some(v) = value {
            env.push([key.as_slice(), b"=", v].concat());
        }
    }
    env
}

unsafe extern "C" {
    static mut environ: *mut *mut libc::c_char;
}

/// CPython and the C library read the environment with getenv: `environ` is replaced whole.
fn set_environ(env: &[Vec<u8>]) -> Prepared<()> {
    let mut owned: Vec<*mut libc::c_char> = Vec::with_capacity(env.len() + 1);
    for e in env {
        match CString::new(e.as_slice()) {
            Ok(c) => owned.push(c.into_raw()),
            Err(_) => return cold("an environment entry contains a NUL byte"),
        }
    }
    owned.push(std::ptr::null_mut());
    // The array lives as long as the process, as an exec'd environment would.
    let array = Box::leak(owned.into_boxed_slice());
    // SAFETY: the process is single-threaded here and the array is never freed.
    unsafe { environ = array.as_mut_ptr() };
    Ok(())
}

fn change_dir(cwd: &OwnedFd) -> Prepared<()> {
    // SAFETY: fchdir on a directory descriptor we own.
    if unsafe { libc::fchdir(cwd.as_raw_fd()) } != 0 {
        return cold(format!(
            "cannot enter the client's working directory: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Puts each passed descriptor at the number the client had it at, closes 0, 1 and 2 when
/// the client had them closed, and moves the connection out of the way.
fn place_fds(stream: UnixStream, numbers: &[RawFd], fds: Vec<OwnedFd>) -> UnixStream {
    let top = numbers.iter().copied().max().unwrap_or(2).max(2) + 1;
    // SAFETY: descriptor shuffling within this process: every source is first moved above
    // every target number, so no dup2 closes a descriptor still to be placed.
    unsafe {
        let lift = |fd: RawFd| {
            let moved = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, top);
            libc::close(fd);
            moved
        };
        let stream = UnixStream::from_raw_fd(lift(stream.into_raw_fd()));
        let sources: Vec<RawFd> = fds.into_iter().map(|f| lift(f.into_raw_fd())).collect();
        for fd in 0..3 {
            if !numbers.contains(&fd) {
                libc::close(fd);
            }
        }
        for (&number, &source) in numbers.iter().zip(&sources) {
            libc::dup2(source, number);
        }
        for source in sources {
            libc::close(source);
        }
        stream
    }
}

/// python3 stops with a fatal error here; the cold start reports it the same way.
fn stdin_not_a_directory() -> Prepared<()> {
    // SAFETY: fstat writes one struct we own.
    let is_dir = unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        libc::fstat(0, &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFDIR
    };
    if is_dir {
        return cold("<stdin> is a directory");
    }
    Ok(())
}

fn set_signal_mask(bits: u64) {
    // SAFETY: building a set we own and installing it as this thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in 1..=64 {
            if bits & (1 << (sig - 1)) != 0 {
                libc::sigaddset(&mut set, sig);
            }
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// The call's PyConfig, checked against the server's, installed with the process state
/// start-up derives (streams, os.environ, signals).
fn configure(req: &Request, env: Option<&[Vec<u8>]>, ctx: &Context) -> Prepared<()> {
    Python::attach(|py| {
        let config = call::read(&req.argv, ctx)?;
        if !call::options_free(&req.argv) {
            call::compare(py, &config, ctx)?;
        }
        let ignored: Vec<i32> = (1..=64)
            .filter(|s| req.ignored & (1 << (s - 1)) != 0)
            .collect();
        // The server's own changes were undone before the call (call::reset_signals).
        let signals = ignored.clone();
        let tz = |e: &[Vec<u8>]| env_map(e).get(&b"TZ"[..]).map(|v| v.to_vec());
        let tz_changed = env.is_some_and(|e| tz(e) != tz(&ctx.env));
        call::apply(py, &config, env, (&signals, &ignored), tz_changed, ctx)?;
        call::install(py, &config)
    })
}
