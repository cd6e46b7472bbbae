//! `isolate --warm-serve SOCKET [--preload MOD,...]` and `isolate --warm SOCKET ARGS...`.

use super::client::{Call, Client, Error};
use super::server::{self, ServeOptions};
use std::ffi::{CStr, OsString, c_char};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;

const SERVE_USAGE: &str =
    "usage: isolate --warm-serve SOCKET [--preload MODULE[,MODULE...]]... [--pool N]";
const CLIENT_USAGE: &str = "usage: isolate --warm SOCKET [python3 arguments...]";

/// Signals a terminal or a supervisor sends to the program, which the client forwards to it
/// (the program runs in the server's child, outside the client's process group).
const FORWARDED: [libc::c_int; 8] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGALRM,
    libc::SIGTERM,
    libc::SIGWINCH,
];

fn arg(p: *mut c_char) -> OsString {
    // SAFETY: every argument main received is a valid C string.
    OsString::from_vec(unsafe { CStr::from_ptr(p) }.to_bytes().to_vec())
}

/// # Safety
/// `args` are main's arguments, `args[1]` being `--warm-serve`; no interpreter has started.
pub unsafe fn serve_main(args: &[*mut c_char]) -> i32 {
    let mut rest = args[2..].iter().map(|&a| arg(a));
    let Some(socket) = rest.next() else {
        eprintln!("{SERVE_USAGE}");
        return 2;
    };
    let mut options = ServeOptions::new(socket);
    while let Some(flag) = rest.next() {
        match (flag.to_str(), rest.next()) {
            (Some("--preload"), Some(list)) => options.preload.extend(
                list.to_string_lossy()
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_string),
            ),
            (Some("--pool"), Some(n)) => match n.to_str().and_then(|n| n.parse().ok()) {
                Some(n) => options.pool = n,
                None => {
                    eprintln!("isolate --warm-serve: --pool takes a number\n{SERVE_USAGE}");
                    return 2;
                }
            },
            _ => {
                eprintln!("isolate --warm-serve: unexpected {flag:?}\n{SERVE_USAGE}");
                return 2;
            }
        }
    }
    // SAFETY: main's argv[0], and nothing started an interpreter yet.
    unsafe { server::serve(CStr::from_ptr(args[0]), &options) }
}

/// Runs the command line warm, or cold in this process when the server cannot run it as
/// python3 would (or there is no server).
///
/// # Safety
/// `args` are main's arguments, `args[1]` being `--warm`; no interpreter has started.
pub unsafe fn client_main(args: &[*mut c_char]) -> i32 {
    if args.len() < 3 {
        eprintln!("{CLIENT_USAGE}");
        return 2;
    }
    let program: Vec<*mut c_char> = std::iter::once(args[0])
        .chain(args[3..].iter().copied())
        .collect();
    let socket = PathBuf::from(arg(args[2]));
    match run_warm(&socket, &program) {
        Ok(status) => exit_like(status),
        Err(e) if e.is_cold() => {
            // SAFETY: nothing started an interpreter; the client's state is as it came in.
            unsafe { crate::cli::run(&program) }
        }
        Err(e) => {
            eprintln!("isolate: {e}");
            1
        }
    }
}

fn run_warm(socket: &std::path::Path, program: &[*mut c_char]) -> Result<ExitStatus, Error> {
    let call = Call::inherit(program.iter().map(|&a| arg(a)).collect())?;
    // Blocked from before the connection: a signal that comes before the program runs
    // waits, then goes to the program (or, for a cold start, to this process as it was).
    let _blocked = Blocked::forwarded();
    let running = Client::connect(socket)?.start(&call)?;
    let Some(pid) = running.pid() else {
        return running.wait();
    };
    let signals = signalfd()?;
    // Fails only when the program already ended: its status is on the way, and there is
    // nothing left to forward signals to.
    let child = server::pidfd_open(pid as libc::pid_t).ok();
    loop {
        let mut fds = [
            libc::pollfd {
                fd: running.as_fd().as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: signals.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: polling two descriptors we own.
        unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if fds[1].revents != 0 {
            forward_pending(&signals, child.as_ref());
        }
        if fds[0].revents != 0 {
            return running.wait();
        }
    }
}

/// The forwarded signals blocked for as long as this lives; the mask before is restored.
struct Blocked(libc::sigset_t);

impl Blocked {
    fn forwarded() -> Blocked {
        // SAFETY: building a set we own, and changing this (only) thread's mask.
        unsafe {
            let set = forwarded_set();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
            Blocked(old)
        }
    }
}

impl Drop for Blocked {
    fn drop(&mut self) {
        // SAFETY: restoring the mask saved above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.0, std::ptr::null_mut()) };
    }
}

fn forwarded_set() -> libc::sigset_t {
    // SAFETY: initialising and filling a set we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in FORWARDED {
            libc::sigaddset(&mut set, sig);
        }
        set
    }
}

fn signalfd() -> Result<OwnedFd, Error> {
    let set = forwarded_set();
    // SAFETY: signalfd returns a new descriptor or -1.
    let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
    if fd < 0 {
        return Err(Error::Lost(format!(
            "cannot forward signals: signalfd: {}",
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: just created.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn forward_pending(signals: &OwnedFd, child: Option<&OwnedFd>) {
    loop {
        // SAFETY: signalfd_siginfo is plain data; read fills it whole or fails.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        let n = unsafe {
            libc::read(
                signals.as_raw_fd(),
                (&mut info as *mut libc::signalfd_siginfo).cast(),
                size,
            )
        };
        if n != size as isize {
            return;
        }
        if let Some(child) = child {
            server::pidfd_signal(child, info.ssi_signo as libc::c_int);
        }
    }
}

/// This process ends the way the program did: the same exit code, or death by the same signal.
fn exit_like(status: ExitStatus) -> i32 {
    if let Some(code) = status.code() {
        return code;
    }
    let sig = status.signal().unwrap_or(libc::SIGKILL);
    // SAFETY: restoring the default action, unblocking and raising the signal on ourselves;
    // the core-size limit 0 keeps this process from dumping a core of its own (the program
    // dumped its own, if the limits allowed it).
    unsafe {
        let none = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &none);
        libc::signal(sig, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::kill(libc::getpid(), sig);
    }
    128 + sig
}
