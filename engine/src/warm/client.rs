//! The client side: hand a command line and this process's inheritance to a warm server.

use super::protocol::{self, Reply, Request};
use std::ffi::{CStr, OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

/// Why a call did not run warm.
#[derive(Debug)]
pub enum Error {
    /// Nothing listens at the socket (no server, or a stale socket file): run it cold.
    Unavailable(PathBuf, io::Error),
    /// The server cannot run this call exactly as python3 would; the reason names the
    /// setting. Run it cold.
    Cold(String),
    /// The server refuses this client: it belongs to another user.
    Refused(String),
    /// The call cannot be expressed (too many descriptors, an unreadable working directory).
    Unsupported(String),
    /// The connection broke, or the server exited before it reported the program's status.
    Lost(String),
}

impl Error {
    /// True when running the call cold gives python3's behaviour (nothing ran warm).
    pub fn is_cold(&self) -> bool {
        matches!(
            self,
            Error::Unavailable(..) | Error::Cold(_) | Error::Unsupported(_)
        )
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Unavailable(path, e) => write!(
                f,
                "no warm server at {}: {e} (start one with `isolate --warm-serve {}`)",
                path.display(),
                path.display()
            ),
            Error::Cold(why) => write!(f, "the warm server runs this cold: {why}"),
            Error::Refused(why) | Error::Unsupported(why) | Error::Lost(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for Error {}

/// One program to run: what python3 would inherit if it were exec'd here with `argv`.
pub struct Call {
    request: Request,
    cwd: OwnedFd,
    /// Descriptors to pass, in the order of `request.fds`.
    fds: Vec<OwnedFd>,
}

impl Call {
    /// Everything from this process: environment, working directory, every descriptor
    /// without close-on-exec, umask, signal mask and ignored signals, limits, groups.
    pub fn inherit(argv: Vec<OsString>) -> Result<Call, Error> {
        let env = environ_entries();
        let mut fds = Vec::new();
        for fd in inheritable_fds()? {
            // SAFETY: `fd` was open a moment ago; the duplicate is ours.
            let dup = unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned();
            fds.push((fd, dup.map_err(|e| unsupported_fd(fd, e))?));
        }
        let mut call = Call::build(argv, env, Path::new("."), fds)?;
        // A cold start runs this executable: the server must be the same one.
        (call.request.exe, call.request.exe_path) = own_executable();
        Ok(call)
    }

    /// `argv` with this environment, working directory and descriptors (`(number in the
    /// program, descriptor here)`); the rest (umask, signals, limits, groups) from this process.
    pub fn new(
        argv: &[OsString],
        env: &[(OsString, OsString)],
        cwd: &Path,
        fds: &[(RawFd, BorrowedFd<'_>)],
    ) -> Result<Call, Error> {
        let env = env
            .iter()
            .map(|(k, v)| {
                let mut e = k.as_bytes().to_vec();
                e.push(b'=');
                e.extend_from_slice(v.as_bytes());
                e
            })
            .collect();
        let fds = fds
            .iter()
            .map(|(n, fd)| {
                Ok((
                    *n,
                    fd.try_clone_to_owned().map_err(|e| unsupported_fd(*n, e))?,
                ))
            })
            .collect::<Result<_, Error>>()?;
        Call::build(argv.to_vec(), env, cwd, fds)
    }

    fn build(
        argv: Vec<OsString>,
        env: Vec<Vec<u8>>,
        cwd: &Path,
        fds: Vec<(RawFd, OwnedFd)>,
    ) -> Result<Call, Error> {
        if fds.len() > protocol::MAX_FDS {
            return Err(Error::Unsupported(format!(
                "{} descriptors to pass, more than the {} one request carries",
                fds.len(),
                protocol::MAX_FDS
            )));
        }
        let cwd = open_dir(cwd)?;
        let (numbers, fds): (Vec<RawFd>, Vec<OwnedFd>) = fds.into_iter().unzip();
        let request = Request {
            argv: argv.into_iter().map(OsString::into_vec).collect(),
            env,
            fds: numbers,
            umask: current_umask(),
            sigmask: signal_mask(),
            ignored: ignored_signals(),
            rlimits: rlimits(),
            groups: groups(),
            exe: (0, 0),
            exe_path: Vec::new(),
        };
        Ok(Call { request, cwd, fds })
    }
}

fn unsupported_fd(fd: RawFd, e: io::Error) -> Error {
    Error::Unsupported(format!("cannot pass descriptor {fd}: {e}"))
}

/// A connection to a warm server, not yet used.
pub struct Client {
    stream: UnixStream,
    path: PathBuf,
}

impl Client {
    pub fn connect(path: impl AsRef<Path>) -> Result<Client, Error> {
        let path = path.as_ref().to_path_buf();
        match UnixStream::connect(&path) {
            Ok(stream) => Ok(Client { stream, path }),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Err(Error::Refused(format!(
                "cannot use the warm server at {}: {e}; its socket is its owner's only, start \
                 your own with `isolate --warm-serve SOCKET`",
                path.display()
            ))),
            Err(e) => Err(Error::Unavailable(path, e)),
        }
    }

    /// Runs `argv` (argv[0] included) as python3 would with this environment, working
    /// directory and descriptors (`(number in the program, descriptor here)`), and waits.
    pub fn run(
        self,
        argv: &[OsString],
        env: &[(OsString, OsString)],
        cwd: &Path,
        fds: &[(RawFd, BorrowedFd<'_>)],
    ) -> Result<ExitStatus, Error> {
        self.start(&Call::new(argv, env, cwd, fds)?)?.wait()
    }

    /// Sends the call and waits until the program runs (or ended before it could start:
    /// a bad option, `--version`).
    pub fn start(self, call: &Call) -> Result<Running, Error> {
        let mut fds = vec![call.cwd.as_raw_fd()];
        fds.extend(call.fds.iter().map(|f| f.as_raw_fd()));
        // A refusing server closes without reading: its reply still waits in the socket.
        let sent = protocol::send_with_fds(&self.stream, &call.request.encode(), &fds);
        let running = Running {
            stream: self.stream,
            path: self.path,
            pid: None,
            status: None,
        };
        match running.next_reply() {
            Ok(Reply::Started(pid)) => Ok(Running {
                pid: Some(pid),
                ..running
            }),
            Ok(Reply::Status(status)) => Ok(Running {
                status: Some(ExitStatus::from_raw(status)),
                ..running
            }),
            Ok(Reply::Cold(why)) => Err(Error::Cold(why)),
            Ok(Reply::Refused(why)) => Err(Error::Refused(why)),
            Err(e) => Err(match sent {
                Err(send) => running.lost(&format!("sending the request failed ({send})")),
                Ok(()) => e,
            }),
        }
    }
}

/// A program running in the server's child.
pub struct Running {
    stream: UnixStream,
    path: PathBuf,
    pid: Option<u32>,
    status: Option<ExitStatus>,
}

impl Running {
    /// The child's pid, to signal it; `None` if the program ended before it started.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// The connection: readable when the status arrives (for a caller's own poll loop).
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }

    /// Waits for the program's end: its wait status, as if python3 were this process's child.
    pub fn wait(self) -> Result<ExitStatus, Error> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        match self.next_reply()? {
            Reply::Status(status) => Ok(ExitStatus::from_raw(status)),
            other => Err(self.lost(&format!("unexpected reply {other:?}"))),
        }
    }

    fn next_reply(&self) -> Result<Reply, Error> {
        match Reply::read(&self.stream) {
            Ok(Some(reply)) => Ok(reply),
            Ok(None) => Err(self.lost("the server closed the connection")),
            Err(e) => Err(self.lost(&e.to_string())),
        }
    }

    fn lost(&self, what: &str) -> Error {
        Error::Lost(format!(
            "the warm server at {} did not report the program's status: {what}; \
             see the server's own output, or restart it",
            self.path.display()
        ))
    }
}

unsafe extern "C" {
    static environ: *const *const libc::c_char;
}

pub(crate) fn environ_entries() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    // SAFETY: environ is a NULL-terminated array of C strings; this program does not
    // change its environment concurrently.
    unsafe {
        let mut p = environ;
        while !p.is_null() && !(*p).is_null() {
            out.push(CStr::from_ptr(*p).to_bytes().to_vec());
            p = p.add(1);
        }
    }
    out
}

/// Every open descriptor without close-on-exec: what an exec'd python3 would have.
fn inheritable_fds() -> Result<Vec<RawFd>, Error> {
    let dir = std::fs::read_dir("/proc/self/fd")
        .map_err(|e| Error::Unsupported(format!("cannot list /proc/self/fd: {e}")))?;
    let mut fds: Vec<RawFd> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        // SAFETY: F_GETFD only reads the descriptor's flags.
        .filter(|&fd| {
            let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
            flags >= 0 && flags & libc::FD_CLOEXEC == 0
        })
        .collect();
    fds.sort_unstable();
    Ok(fds)
}

fn open_dir(path: &Path) -> Result<OwnedFd, Error> {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::Unsupported(format!("{} contains a NUL byte", path.display())))?;
    // SAFETY: opening a path we own; O_PATH needs no permission on the directory itself.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(Error::Unsupported(format!(
            "cannot open the working directory {}: {}",
            path.display(),
            io::Error::last_os_error()
        )));
    }
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn own_executable() -> ((u64, u64), Vec<u8>) {
    let meta = std::fs::metadata("/proc/self/exe");
    let id = meta.map_or((0, 0), |m| {
        use std::os::unix::fs::MetadataExt;
        (m.dev(), m.ino())
    });
    let path = std::fs::read_link("/proc/self/exe").unwrap_or_default();
    (id, path.into_os_string().into_vec())
}

fn current_umask() -> u32 {
    // SAFETY: umask cannot fail; the previous value is put back at once.
    unsafe {
        let mask = libc::umask(0o022);
        libc::umask(mask);
        mask as u32
    }
}

/// Bit `n - 1` set for each signal `n` in `set`, for signals 1 to 64.
pub(crate) fn sigset_bits(set: &libc::sigset_t) -> u64 {
    // SAFETY: sigismember reads the set.
    (1..=64).fold(0, |bits, sig| {
        if unsafe { libc::sigismember(set, sig) } == 1 {
            bits | 1 << (sig - 1)
        } else {
            bits
        }
    })
}

fn signal_mask() -> u64 {
    // SAFETY: querying the mask with a null new set changes nothing.
    unsafe {
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut old);
        sigset_bits(&old)
    }
}

pub(crate) fn ignored_signals() -> u64 {
    (1..=64).fold(0, |bits, sig| {
        // SAFETY: querying a disposition with a null new action changes nothing.
        let ignored = unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction == libc::SIG_IGN
        };
        if ignored { bits | 1 << (sig - 1) } else { bits }
    })
}

/// RLIMIT_CPU (0) to RLIMIT_RTTIME (15): Linux's resources since 2.6.25.
const RESOURCES: u32 = 16;

fn rlimits() -> Vec<(u32, u64, u64)> {
    (0..RESOURCES)
        .filter_map(|r| {
            // SAFETY: getrlimit writes one struct we own.
            unsafe {
                let mut lim: libc::rlimit = std::mem::zeroed();
                (libc::getrlimit(r as _, &mut lim) == 0).then_some((r, lim.rlim_cur, lim.rlim_max))
            }
        })
        .collect()
}

pub(crate) fn groups() -> Vec<u32> {
    // SAFETY: the first call sizes the buffer, the second fills it.
    unsafe {
        let n = libc::getgroups(0, std::ptr::null_mut());
        let mut gids = vec![0 as libc::gid_t; n.max(0) as usize];
        let n = libc::getgroups(n, gids.as_mut_ptr());
        gids.truncate(n.max(0) as usize);
        gids.sort_unstable();
        gids
    }
}

/// For messages: a path as the user wrote it.
pub(crate) fn show(bytes: &[u8]) -> String {
    OsStr::from_bytes(bytes).to_string_lossy().into_owned()
}
