//! The server: one interpreter, started as a plain `isolate` start would be, frozen, then
//! forked once per connection.

use super::protocol::Reply;
use super::{call, child};
use crate::stdlib;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule, PyTuple};
use std::ffi::{CStr, CString};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};

/// How to run a warm server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The Unix socket to create (owner-only) and listen on.
    pub socket: PathBuf,
    /// Modules imported once in the server, beyond what start-up imports.
    pub preload: Vec<String>,
    /// Children forked ahead of calls, each waiting for one (0: fork when a call comes).
    pub pool: usize,
}

impl ServeOptions {
    pub fn new(socket: impl Into<PathBuf>) -> ServeOptions {
        ServeOptions {
            socket: socket.into(),
            preload: Vec::new(),
            pool: 2,
        }
    }
}

/// What every child needs from the server, fixed before the first fork.
pub(super) struct Context {
    pub server_pid: u32,
    pub exe: (u64, u64),
    pub exe_path: PathBuf,
    pub argv0: Vec<u8>,
    /// (st_dev, st_ino) of the server's working directory when it started.
    pub cwd: (u64, u64),
    /// The environment before start-up, as the server's own process received it.
    pub env: Vec<Vec<u8>>,
    /// What start-up changed in it: name, new value (`None`: removed).
    pub env_changes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    pub groups: Vec<u32>,
    /// Signals whose disposition in the server may differ from a fresh python3's.
    pub touched_signals: Vec<i32>,
    /// The stdlib the executable carries, when it does (see `stdlib`).
    pub stdlib: Option<stdlib::Carried>,
    /// The server's PyConfig, as `_PyConfig_AsDict` gives it.
    pub config: Py<PyDict>,
    /// The namespace of child.py.
    pub helper: Py<PyDict>,
    /// The warnings filters start-up set up: a program that changes them may see warnings
    /// at finalisation.
    pub warning_filters: Py<PyTuple>,
    /// Modules the children use, looked up once: `gc` is not in sys.modules (start-up does
    /// not import it), and an import in each child would create it afresh.
    pub gc: Py<PyModule>,
    pub sys: Py<PyModule>,
    pub warnings: Py<PyModule>,
}

/// Set by the SIGTERM handler; read by the loop.
static STOP_SIGNAL: AtomicI32 = AtomicI32::new(0);
/// The write end of the wakeup pipe, for the SIGTERM handler.
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_stop(sig: libc::c_int) {
    STOP_SIGNAL.store(sig, Ordering::SeqCst);
    let fd = WAKE_FD.load(Ordering::SeqCst);
    // SAFETY: write(2) is async-signal-safe; a full pipe already wakes the loop.
    unsafe { libc::write(fd, [sig as u8].as_ptr().cast(), 1) };
}

/// Starts the interpreter as `isolate` with no arguments and `argv0` would, imports the
/// preloads, freezes the heap, and serves until SIGTERM or SIGINT (after which running
/// programs finish; a second signal kills them). Returns the process's exit status.
///
/// # Safety
/// No interpreter may have been started in this process, and no other thread may run.
pub unsafe fn serve(argv0: &CStr, options: &ServeOptions) -> i32 {
    bind_symbols_now();
    let before = Inherited::take();
    // SAFETY: the caller vouches that nothing started an interpreter yet.
    unsafe { crate::cli::start(&[argv0.as_ptr().cast_mut()]) };
    let result = Python::attach(|py| prepare(py, argv0, before, options));
    let (ctx, listener, wake) = match result {
        Ok(ready) => ready,
        Err(e) => {
            eprintln!("isolate --warm-serve: {e}");
            return 1;
        }
    };
    eprintln!(
        "isolate: warm server on {} (pid {}, CPython {}{})",
        options.socket.display(),
        ctx.server_pid,
        crate::PYTHON_VERSION,
        if options.preload.is_empty() {
            String::new()
        } else {
            format!(", preloaded {}", options.preload.join(","))
        }
    );
    let mut server = Server {
        listener: Some(listener),
        socket: options.socket.clone(),
        wake,
        children: Vec::new(),
        idle: Vec::new(),
        pool: options.pool,
        ctx,
    };
    let stopped_by = server.run();
    server.close_listener();
    // SAFETY: the interpreter was started above, on this thread, which holds the GIL.
    unsafe {
        if ffi::Py_FinalizeEx() < 0 {
            return 120;
        }
        if stopped_by == libc::SIGINT {
            // As python3 does after an unhandled KeyboardInterrupt: die by the signal.
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::kill(libc::getpid(), libc::SIGINT);
        }
    }
    0
}

/// Set, with LD_BIND_NOW, on the server's own re-exec; both are removed again at once.
const BOUND_MARKER: &str = "ISOLATE_WARM_SERVER_BOUND";

/// The isolate binds libc's symbols lazily (as python3 does, for start-up time). In the
/// server, each symbol a child calls first would be resolved in every child, writing to the
/// dynamic linker's data and the GOT, pages the child then copies. Re-executing the server
/// once with LD_BIND_NOW resolves them all before the first fork. Neither variable stays in
/// the environment the server and its children see.
fn bind_symbols_now() {
    if std::env::var_os(BOUND_MARKER).is_some() {
        // SAFETY: single-threaded, before anything reads the environment.
        unsafe {
            std::env::remove_var(BOUND_MARKER);
            std::env::remove_var("LD_BIND_NOW");
        }
        return;
    }
    if std::env::var_os("LD_BIND_NOW").is_some() {
        return;
    }
    use std::os::unix::process::CommandExt;
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_default();
    let e = std::process::Command::new("/proc/self/exe")
        .arg0(argv0)
        .args(args)
        .env(BOUND_MARKER, "1")
        .env("LD_BIND_NOW", "1")
        .exec();
    // Not fatal: the server only starts slower children.
    eprintln!("isolate --warm-serve: cannot re-execute with LD_BIND_NOW ({e}); continuing");
}

/// What the server process inherited, read before start-up changes any of it.
struct Inherited {
    env: Vec<Vec<u8>>,
    ignored: u64,
    cwd: (u64, u64),
}

impl Inherited {
    fn take() -> Inherited {
        let cwd = std::fs::metadata(".").map_or((0, 0), |m| (m.dev(), m.ino()));
        Inherited {
            env: super::client::environ_entries(),
            ignored: super::client::ignored_signals(),
            cwd,
        }
    }
}

fn prepare(
    py: Python<'_>,
    argv0: &CStr,
    before: Inherited,
    options: &ServeOptions,
) -> Result<(Context, UnixListener, Wakeup), String> {
    let internal = |e: PyErr| format!("cannot read the started interpreter's state: {e}");
    call::check_layout(py).map_err(internal)?;
    let ctx = context(py, argv0, before).map_err(internal)?;
    preload(py, &options.preload)?;
    let threads = std::fs::read_dir("/proc/self/task").map_or(1, |d| d.count());
    if threads > 1 {
        return Err(format!(
            "{threads} threads run after preloading, and a fork copies only the calling one; \
             preload only modules that start no thread at import"
        ));
    }
    let wake =
        Wakeup::install(py).map_err(|e| format!("cannot install the signal handlers: {e}"))?;
    call::watch_audit_hooks();
    freeze(ctx.gc.bind(py)).map_err(internal)?;
    // Last: a server that fails to start leaves no socket behind.
    let listener = bind(&options.socket)?;
    Ok((ctx, listener, wake))
}

/// Imports the preloads. A module that changes the environment or sys.path at import would
/// change them for every program, which python3 would not: refused.
fn preload(py: Python<'_>, modules: &[String]) -> Result<(), String> {
    let path = || -> PyResult<Vec<String>> { py.import("sys")?.getattr("path")?.extract() };
    let (env, sys_path) = (
        super::client::environ_entries(),
        path().map_err(|e| e.to_string())?,
    );
    for module in modules {
        if let Err(e) = py.import(module.as_str()) {
            e.print(py);
            return Err(format!(
                "cannot preload {module:?} (the traceback is above); fix it or leave it out of --preload"
            ));
        }
    }
    let changed = if super::client::environ_entries() != env {
        "the environment"
    } else if path().map_err(|e| e.to_string())? != sys_path {
        "sys.path"
    } else {
        return Ok(());
    };
    Err(format!(
        "preloading {} changed {changed}, which every program would then see: leave out the \
         module that does",
        modules.join(",")
    ))
}

/// Objects that live as long as the server move to the permanent generation: the
/// children's collections never touch them, so their pages stay shared.
fn freeze(gc: &Bound<'_, PyModule>) -> PyResult<()> {
    gc.call_method0("collect")?;
    gc.call_method0("freeze")?;
    Ok(())
}

fn context(py: Python<'_>, argv0: &CStr, before: Inherited) -> PyResult<Context> {
    let modules = py.import("sys")?.getattr("modules")?;
    let had_gc = modules.contains("gc")?;
    let gc = py.import("gc")?;
    if !had_gc {
        modules.del_item("gc")?;
    }
    let after = super::client::environ_entries();
    let old = child::env_map(&before.env);
    let new = child::env_map(&after);
    let mut env_changes = Vec::new();
    for key in old.keys().chain(new.keys()) {
        if old.get(key) != new.get(key) && !env_changes.iter().any(|(k, _)| k == key) {
            env_changes.push((key.to_vec(), new.get(key).map(|v| v.to_vec())));
        }
    }
    // Inherited as ignored, they are ignored in the server's Python too; SIGTERM is ours.
    let ignored = (1..=64).filter(|s| before.ignored & (1 << (s - 1)) != 0);
    let touched_signals = ignored.chain([libc::SIGTERM]).collect();
    let helper = PyDict::new(py);
    helper.set_item("__builtins__", py.import("builtins")?)?;
    helper.set_item("__name__", "isolate_warm_child")?;
    let code = CString::new(include_str!("child.py")).expect("child.py has no NUL byte");
    py.run(&code, Some(&helper), Some(&helper))?;
    let meta = std::fs::metadata("/proc/self/exe")?;
    Ok(Context {
        // SAFETY: getpid cannot fail.
        server_pid: unsafe { libc::getpid() } as u32,
        exe: (meta.dev(), meta.ino()),
        exe_path: std::fs::read_link("/proc/self/exe")?,
        argv0: argv0.to_bytes().to_vec(),
        cwd: before.cwd,
        env: before.env,
        env_changes,
        groups: super::client::groups(),
        touched_signals,
        stdlib: stdlib::self_contained(),
        config: call::server_config(py)?.unbind(),
        helper: helper.unbind(),
        gc: gc.unbind(),
        sys: py.import("sys")?.unbind(),
        warnings: py.import("_warnings")?.unbind(),
        warning_filters: PyTuple::new(
            py,
            py.import("_warnings")?
                .getattr("filters")?
                .try_iter()?
                .collect::<PyResult<Vec<_>>>()?,
        )?
        .unbind(),
    })
}

/// Creates the socket owner-only (mode 0600 from the start, through the umask), replacing a
/// stale socket file but never a live server's.
fn bind(path: &Path) -> Result<UnixListener, String> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => match UnixStream::connect(path) {
            Ok(_) => {
                return Err(format!(
                    "a warm server already listens on {}: stop it, or choose another path",
                    path.display()
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                std::fs::remove_file(path).map_err(|e| {
                    format!("cannot remove the stale socket {}: {e}", path.display())
                })?;
            }
            Err(e) => return Err(format!("{} is in the way: {e}; remove it", path.display())),
        },
        Ok(_) => {
            return Err(format!(
                "{} exists and is not a socket: remove it, or choose another path",
                path.display()
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot inspect {}: {e}", path.display())),
    }
    // SAFETY: umask cannot fail; the old mask is restored right after bind.
    let old = unsafe { libc::umask(0o177) };
    let listener = UnixListener::bind(path);
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    let listener = listener.map_err(|e| {
        format!(
            "cannot listen on {}: {e} (is its directory there and writable?)",
            path.display()
        )
    })?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| listener.set_nonblocking(true))
        .map_err(|e| format!("cannot secure the socket {}: {e}", path.display()))?;
    Ok(listener)
}

/// A pipe that signals write into, so that the loop's poll wakes for them: CPython's own
/// handlers (SIGINT) through signal.set_wakeup_fd, ours (SIGTERM) directly.
struct Wakeup {
    read: OwnedFd,
    _write: OwnedFd,
}

impl Wakeup {
    fn install(py: Python<'_>) -> PyResult<Wakeup> {
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills two descriptors we then own.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error().into());
        }
        // SAFETY: both were just created.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        py.import("_signal")?
            .call_method1("set_wakeup_fd", (write.as_raw_fd(),))?;
        WAKE_FD.store(write.as_raw_fd(), Ordering::SeqCst);
        // SAFETY: installing a handler that only stores and writes (async-signal-safe), and
        // restoring SIGCHLD's default so that exited children wait to be reaped.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_stop as *const () as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGTERM, &action, std::ptr::null_mut());
            libc::signal(libc::SIGCHLD, libc::SIG_DFL);
        }
        Ok(Wakeup {
            read,
            _write: write,
        })
    }

    fn drain(&self) {
        let mut buf = [0u8; 64];
        // SAFETY: reading into a buffer we own from a non-blocking pipe.
        while unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {
        }
    }
}

struct Running {
    pid: libc::pid_t,
    pidfd: OwnedFd,
    conn: OwnedFd,
    killed: bool,
}

/// A child forked ahead of a call: fork, CPython's after-fork work and the child's own set-up
/// are off the call's path. It waits on `ctl` for its connection, and says on `ctl` when its
/// set-up is done: a call is never handed to a child still busy with it.
struct Idle {
    pid: libc::pid_t,
    pidfd: OwnedFd,
    ctl: UnixStream,
    ready: bool,
}

struct Server {
    listener: Option<UnixListener>,
    socket: PathBuf,
    wake: Wakeup,
    children: Vec<Running>,
    idle: Vec<Idle>,
    pool: usize,
    ctx: Context,
}

impl Server {
    /// Serves until a stop signal and the last running program's end; returns the signal.
    fn run(&mut self) -> i32 {
        let mut stopping = 0;
        loop {
            if stopping != 0 && self.children.is_empty() {
                return stopping;
            }
            if self.listener.is_some() {
                self.refill();
            }
            let mut fds = vec![poll_fd(self.wake.read.as_raw_fd(), libc::POLLIN)];
            let listening = self.listener.is_some();
            if let Some(l) = &self.listener {
                fds.push(poll_fd(l.as_raw_fd(), libc::POLLIN));
            }
            for c in &self.children {
                fds.push(poll_fd(c.pidfd.as_raw_fd(), libc::POLLIN));
                // A client that went away (killed, or gave up) takes its program with it.
                let conn = if c.killed { -1 } else { c.conn.as_raw_fd() };
                fds.push(poll_fd(conn, libc::POLLRDHUP));
            }
            let (first_child, first_idle) = (1 + listening as usize, fds.len());
            for i in &self.idle {
                fds.push(poll_fd(i.pidfd.as_raw_fd(), libc::POLLIN));
                let ctl = if i.ready { -1 } else { i.ctl.as_raw_fd() };
                fds.push(poll_fd(ctl, libc::POLLIN));
            }
            wait_detached(&mut fds);
            if fds[0].revents != 0 {
                self.wake.drain();
                if let Some(sig) = self.stop_requested() {
                    if stopping != 0 {
                        self.kill_all();
                    }
                    stopping = sig;
                    self.close_listener();
                    self.drain_pool();
                }
            }
            let accept = listening && self.listener.is_some() && fds[1].revents != 0;
            // Before the stop drained the pool, these were its children.
            if self.listener.is_some() {
                self.tend_idle(&fds[first_idle..]);
            }
            self.tend_children(&fds[first_child..first_idle]);
            if accept {
                self.accept_all();
            }
        }
    }

    /// Forks children until `pool` of them wait.
    fn refill(&mut self) {
        while self.idle.len() < self.pool {
            match self.fork_child(true) {
                Ok(idle) => self.idle.push(idle),
                Err(e) => {
                    eprintln!("isolate --warm-serve: cannot fork a waiting child: {e}");
                    return;
                }
            }
        }
    }

    /// A waiting child that finished its set-up is ready; one that died (it never should:
    /// the OOM killer, a stray kill) is reaped and replaced.
    fn tend_idle(&mut self, fds: &[libc::pollfd]) {
        for i in (0..self.idle.len()).rev() {
            let (died, said) = (fds[2 * i].revents != 0, fds[2 * i + 1].revents != 0);
            if said && !died {
                let mut byte = [0u8; 1];
                self.idle[i].ready = (&self.idle[i].ctl).read(&mut byte).is_ok_and(|n| n == 1);
            }
            if died || (said && !self.idle[i].ready) {
                let idle = self.idle.remove(i);
                let mut status = 0;
                // SAFETY: reaping our own child, which exited or is exiting.
                unsafe {
                    libc::kill(idle.pid, libc::SIGKILL);
                    libc::waitpid(idle.pid, &mut status, 0);
                }
                eprintln!(
                    "isolate --warm-serve: a waiting child (pid {}) died, wait status {status}",
                    idle.pid
                );
            }
        }
    }

    /// Stopping: the waiting children go (they ran nothing).
    fn drain_pool(&mut self) {
        for idle in self.idle.drain(..) {
            drop(idle.ctl);
            // SAFETY: reaping our own child, which exits when its control socket closes.
            unsafe { libc::waitpid(idle.pid, std::ptr::null_mut(), 0) };
        }
    }

    fn stop_requested(&self) -> Option<i32> {
        // SAFETY: the GIL is held; a KeyboardInterrupt from CPython's SIGINT handler is the
        // server's own stop request, so it is cleared here.
        let interrupted = unsafe {
            let failed = ffi::PyErr_CheckSignals() != 0;
            if failed {
                ffi::PyErr_Clear();
            }
            failed
        };
        match STOP_SIGNAL.swap(0, Ordering::SeqCst) {
            0 if interrupted => Some(libc::SIGINT),
            0 => None,
            sig => Some(sig),
        }
    }

    fn tend_children(&mut self, fds: &[libc::pollfd]) {
        let mut done = Vec::new();
        for (i, c) in self.children.iter_mut().enumerate() {
            let (exited, hangup) = (fds[2 * i].revents != 0, fds[2 * i + 1].revents != 0);
            if exited {
                let mut status = 0;
                // SAFETY: reaping our own child, which the pidfd says has exited.
                if unsafe { libc::waitpid(c.pid, &mut status, libc::WNOHANG) } == c.pid {
                    Reply::Status(status).send(c.conn.as_raw_fd());
                    done.push(i);
                }
            } else if hangup && !c.killed {
                pidfd_kill(&c.pidfd);
                c.killed = true;
            }
        }
        for i in done.into_iter().rev() {
            self.children.swap_remove(i);
        }
    }

    fn kill_all(&mut self) {
        for c in &mut self.children {
            pidfd_kill(&c.pidfd);
            c.killed = true;
        }
    }

    fn accept_all(&mut self) {
        while let Some(listener) = &self.listener {
            match listener.accept() {
                Ok((conn, _)) => self.serve_one(OwnedFd::from(conn)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Out of descriptors or memory: the backlog keeps the client waiting.
                    eprintln!("isolate --warm-serve: accept failed: {e}");
                    return;
                }
            }
        }
    }

    fn serve_one(&mut self, conn: OwnedFd) {
        let Some(cred) = peer_credentials(conn.as_raw_fd()) else {
            return;
        };
        // SAFETY: geteuid cannot fail.
        let uid = unsafe { libc::geteuid() };
        if cred.uid != uid {
            Reply::Refused(format!(
                "the warm server at {} serves uid {uid} only, and this client runs as uid {}; \
                 start your own server with `isolate --warm-serve SOCKET`",
                self.socket.display(),
                cred.uid
            ))
            .send(conn.as_raw_fd());
            return;
        }
        let ready = self.idle.iter().position(|i| i.ready);
        let idle = ready.map(|i| self.idle.remove(i));
        let idle = match idle.map_or_else(|| self.fork_child(false), Ok) {
            Ok(idle) => idle,
            Err(e) => {
                Reply::Cold(format!("the server cannot fork ({e})")).send(conn.as_raw_fd());
                return;
            }
        };
        let handed = super::protocol::send_with_fds(
            &idle.ctl,
            &[4u32.to_le_bytes(), cred.gid.to_le_bytes()].concat(),
            &[conn.as_raw_fd()],
        );
        if let Err(e) = handed {
            // The child is gone; it is reaped like any other, and the client starts cold.
            Reply::Cold(format!("the server lost a child ({e})")).send(conn.as_raw_fd());
        }
        self.children.push(Running {
            pid: idle.pid,
            pidfd: idle.pidfd,
            conn,
            killed: false,
        });
    }

    fn fork_child(&self, ahead: bool) -> io::Result<Idle> {
        let (ctl, theirs) = UnixStream::pair()?;
        // SAFETY: os.fork's sequence, with the GIL held and no other thread.
        let pid = unsafe {
            ffi::PyOS_BeforeFork();
            let pid = libc::fork();
            if pid == 0 {
                drop(ctl);
                child::wait_for_call(theirs, ahead, &self.ctx);
            }
            ffi::PyOS_AfterFork_Parent();
            pid
        };
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        match pidfd_open(pid) {
            Ok(pidfd) => Ok(Idle {
                pid,
                pidfd,
                ctl,
                ready: false,
            }),
            Err(e) => {
                // SAFETY: killing and reaping our own child.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, std::ptr::null_mut(), 0);
                }
                Err(e)
            }
        }
    }

    fn close_listener(&mut self) {
        let Some(listener) = self.listener.take() else {
            return;
        };
        // Only our own socket file: another server may have replaced it since.
        let ours = listener.as_raw_fd();
        let bound = fd_inode(ours);
        drop(listener);
        let on_disk = std::fs::symlink_metadata(&self.socket)
            .map(|m| m.ino())
            .ok();
        if bound.is_some() && on_disk == bound {
            let _ = std::fs::remove_file(&self.socket);
        }
    }
}

fn poll_fd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// Polls with the GIL released (other threads of an embedding host may need it).
fn wait_detached(fds: &mut [libc::pollfd]) {
    // SAFETY: the GIL is held on entry and re-taken before returning.
    unsafe {
        let ts = ffi::PyEval_SaveThread();
        libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1);
        ffi::PyEval_RestoreThread(ts);
    }
}

/// The socket file's inode as the kernel bound it (for a Unix socket, fstat of the socket
/// descriptor does not give it; the listener's own address does).
fn fd_inode(fd: RawFd) -> Option<u64> {
    // SAFETY: getsockname writes at most `len` bytes into a struct we own.
    let path = unsafe {
        let mut addr: libc::sockaddr_un = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
        if libc::getsockname(fd, (&mut addr as *mut libc::sockaddr_un).cast(), &mut len) != 0 {
            return None;
        }
        CStr::from_ptr(addr.sun_path.as_ptr()).to_bytes().to_vec()
    };
    std::fs::symlink_metadata(std::ffi::OsStr::from_bytes(&path))
        .map(|m| m.ino())
        .ok()
}

fn peer_credentials(fd: RawFd) -> Option<libc::ucred> {
    // SAFETY: getsockopt writes at most `len` bytes into a struct we own.
    unsafe {
        let mut cred: libc::ucred = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
        let ok = libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        ) == 0;
        ok.then_some(cred)
    }
}

pub(super) fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned it to us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

pub(super) fn pidfd_kill(pidfd: &OwnedFd) {
    pidfd_signal(pidfd, libc::SIGKILL);
}

pub(super) fn pidfd_signal(pidfd: &OwnedFd, sig: libc::c_int) {
    // SAFETY: signalling through a pidfd cannot hit a recycled pid.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        );
    }
}
