//! The wire format between a warm client and the server's forked child.
//!
//! One request, client to child: a length-prefixed frame of little-endian fields, with the
//! working directory and every descriptor the program inherits passed as SCM_RIGHTS on its
//! first bytes. Then replies, child or server to client: a tag byte, a u32 length, a payload.
//! Both sides are the same executable (the child checks), so the format has no compatibility
//! story beyond the magic and version that catch a mismatched peer.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

const MAGIC: &[u8; 4] = b"ISOW";
const VERSION: u32 = 1;
/// The kernel's limit of descriptors in one SCM_RIGHTS message (SCM_MAX_FD), minus the
/// working directory's.
pub const MAX_FDS: usize = 252;
/// Larger than any argv plus environment `execve` accepts.
const MAX_FRAME: usize = 64 << 20;

/// What the program would have inherited from the client, had the client exec'd python3.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// The command line, argv[0] included, without the client's own `--warm SOCKET`.
    pub argv: Vec<Vec<u8>>,
    /// `environ` as it is: `KEY=VALUE` entries in order.
    pub env: Vec<Vec<u8>>,
    /// Descriptor numbers the program gets, in the order of the passed descriptors.
    pub fds: Vec<i32>,
    pub umask: u32,
    /// Blocked signals, bit `n - 1` for signal `n`.
    pub sigmask: u64,
    /// Signals the client ignores (exec keeps SIG_IGN, so python3 would too).
    pub ignored: u64,
    /// (resource, soft, hard) for every resource limit.
    pub rlimits: Vec<(u32, u64, u64)>,
    pub groups: Vec<u32>,
    /// (st_dev, st_ino) of the executable that would run the call cold, which the server
    /// must then be; (0, 0) when any server will do (a library client).
    pub exe: (u64, u64),
    /// The client's executable path, for messages only.
    pub exe_path: Vec<u8>,
}

struct Writer(Vec<u8>);

impl Writer {
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, v: &[u8]) {
        self.u32(v.len() as u32);
        self.0.extend_from_slice(v);
    }
    fn list(&mut self, v: &[Vec<u8>]) {
        self.u32(v.len() as u32);
        for item in v {
            self.bytes(item);
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("the request is truncated".into());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn bytes(&mut self) -> Result<Vec<u8>, String> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
    fn count(&mut self, item_size: usize) -> Result<usize, String> {
        let n = self.u32()? as usize;
        if n.saturating_mul(item_size) > self.0.len() {
            return Err("the request is truncated".into());
        }
        Ok(n)
    }
    fn list(&mut self) -> Result<Vec<Vec<u8>>, String> {
        let n = self.count(4)?;
        (0..n).map(|_| self.bytes()).collect()
    }
}

impl Request {
    /// The frame: magic, version, then the fields; the length prefix comes first.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(4096));
        w.u32(0);
        w.0.extend_from_slice(MAGIC);
        w.u32(VERSION);
        w.list(&self.argv);
        w.list(&self.env);
        w.u32(self.fds.len() as u32);
        for fd in &self.fds {
            w.u32(*fd as u32);
        }
        w.u32(self.umask);
        w.u64(self.sigmask);
        w.u64(self.ignored);
        w.u32(self.rlimits.len() as u32);
        for (resource, soft, hard) in &self.rlimits {
            w.u32(*resource);
            w.u64(*soft);
            w.u64(*hard);
        }
        w.u32(self.groups.len() as u32);
        for g in &self.groups {
            w.u32(*g);
        }
        w.u64(self.exe.0);
        w.u64(self.exe.1);
        w.bytes(&self.exe_path);
        let len = (w.0.len() - 4) as u32;
        w.0[..4].copy_from_slice(&len.to_le_bytes());
        w.0
    }

    pub fn decode(frame: &[u8]) -> Result<Request, String> {
        let mut r = Reader(frame);
        if r.take(4)? != MAGIC || r.u32()? != VERSION {
            return Err("the client speaks another protocol version".into());
        }
        let argv = r.list()?;
        let env = r.list()?;
        let n = r.count(4)?;
        let fds = (0..n)
            .map(|_| r.u32().map(|v| v as i32))
            .collect::<Result<_, _>>()?;
        let umask = r.u32()?;
        let sigmask = r.u64()?;
        let ignored = r.u64()?;
        let n = r.count(20)?;
        let rlimits = (0..n)
            .map(|_| Ok((r.u32()?, r.u64()?, r.u64()?)))
            .collect::<Result<_, String>>()?;
        let n = r.count(4)?;
        let groups = (0..n).map(|_| r.u32()).collect::<Result<_, _>>()?;
        let exe = (r.u64()?, r.u64()?);
        let exe_path = r.bytes()?;
        Ok(Request {
            argv,
            env,
            fds,
            umask,
            sigmask,
            ignored,
            rlimits,
            groups,
            exe,
            exe_path,
        })
    }
}

/// Sends `frame` with `fds` attached to its first bytes.
pub fn send_with_fds(sock: &UnixStream, frame: &[u8], fds: &[RawFd]) -> io::Result<()> {
    let fd_bytes = std::mem::size_of_val(fds);
    // SAFETY: CMSG_SPACE is pure arithmetic.
    let space = unsafe { libc::CMSG_SPACE(fd_bytes as u32) } as usize;
    let mut control = vec![0u8; space];
    let mut iov = libc::iovec {
        iov_base: frame.as_ptr() as *mut _,
        iov_len: frame.len(),
    };
    // SAFETY: msghdr is plain data; every pointer in it outlives the sendmsg call, and the
    // control buffer is CMSG_SPACE bytes, enough for one header and the descriptors.
    let sent = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if !fds.is_empty() {
            msg.msg_control = control.as_mut_ptr().cast();
            // usize with glibc, u32 with musl.
            msg.msg_controllen = space as _;
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(fd_bytes as u32) as _;
            std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(cmsg).cast(), fds.len());
        }
        loop {
            let n = libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL);
            if n >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                break n;
            }
        }
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    (&*sock).write_all(&frame[sent as usize..])
}

/// Receives one request frame and the descriptors attached to it (close-on-exec).
pub fn recv_with_fds(sock: &UnixStream) -> io::Result<(Vec<u8>, Vec<OwnedFd>)> {
    // Small: a child's every fresh page is a page fault; longer requests are read after.
    let mut buf = vec![0u8; 8 * 1024];
    // SAFETY: as in send_with_fds; the kernel writes at most msg_controllen control bytes.
    let (n, fds) = unsafe {
        let space = libc::CMSG_SPACE((MAX_FDS + 1) as u32 * 4) as usize;
        let mut control = vec![0u8; space];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        // usize with glibc, u32 with musl.
        msg.msg_controllen = space as _;
        let n = loop {
            let n = libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC);
            if n >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                break n;
            }
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut fds = Vec::new();
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let count = ((*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / 4;
                let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                for i in 0..count {
                    fds.push(OwnedFd::from_raw_fd(data.add(i).read_unaligned()));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
        if msg.msg_flags & libc::MSG_CTRUNC != 0 {
            return Err(io::Error::other(
                "more descriptors than one request may carry",
            ));
        }
        (n as usize, fds)
    };
    if n < 4 {
        return Err(io::Error::other(
            "the client closed the connection before its request",
        ));
    }
    let len = u32::from_le_bytes(buf[..4].try_into().unwrap()) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::other(
            "the request is larger than any command line",
        ));
    }
    buf.resize(4 + len, 0);
    if n < buf.len() {
        (&*sock).read_exact(&mut buf[n..])?;
    } else {
        buf.truncate(4 + len);
    }
    buf.drain(..4);
    Ok((buf, fds))
}

/// A message to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The program runs in this process.
    Started(u32),
    /// Run it cold: the reason names what the server cannot honour.
    Cold(String),
    /// The server will not serve this client.
    Refused(String),
    /// The program's wait status.
    Status(i32),
}

impl Reply {
    pub fn encode(&self) -> Vec<u8> {
        let (tag, payload) = match self {
            Reply::Started(pid) => (b'S', pid.to_le_bytes().to_vec()),
            Reply::Cold(why) => (b'C', why.as_bytes().to_vec()),
            Reply::Refused(why) => (b'R', why.as_bytes().to_vec()),
            Reply::Status(status) => (b'X', status.to_le_bytes().to_vec()),
        };
        let mut out = vec![tag];
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&payload);
        out
    }

    /// Reads one reply; `None` at the end of the stream.
    pub fn read(sock: &UnixStream) -> io::Result<Option<Reply>> {
        let mut head = [0u8; 5];
        let mut got = 0;
        while got < head.len() {
            match (&*sock).read(&mut head[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let len = u32::from_le_bytes(head[1..].try_into().unwrap()) as usize;
        if len > 1 << 20 {
            return Err(io::Error::other("the server sent an oversized reply"));
        }
        let mut payload = vec![0u8; len];
        (&*sock).read_exact(&mut payload)?;
        let text = || String::from_utf8_lossy(&payload).into_owned();
        let int = || -> io::Result<[u8; 4]> {
            payload
                .as_slice()
                .try_into()
                .map_err(|_| io::Error::other("the server sent a malformed reply"))
        };
        Ok(Some(match head[0] {
            b'S' => Reply::Started(u32::from_le_bytes(int()?)),
            b'C' => Reply::Cold(text()),
            b'R' => Reply::Refused(text()),
            b'X' => Reply::Status(i32::from_le_bytes(int()?)),
            _ => return Err(io::Error::other("the server sent an unknown reply")),
        }))
    }

    /// Best effort: a client that went away needs no answer, and the server must not block.
    pub fn send(&self, fd: RawFd) {
        let bytes = self.encode();
        // SAFETY: writing a buffer we own to a descriptor the caller owns.
        unsafe {
            libc::send(
                fd,
                bytes.as_ptr().cast(),
                bytes.len(),
                libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trip() {
        let req = Request {
            argv: vec![b"python3".to_vec(), b"-c".to_vec(), b"print(1)".to_vec()],
            env: vec![b"A=1".to_vec(), b"weird".to_vec()],
            fds: vec![0, 1, 2, 63],
            umask: 0o022,
            sigmask: 1 << 1,
            ignored: 1 << 12,
            rlimits: vec![(7, 1024, 4096)],
            groups: vec![0, 27],
            exe: (1, 2),
            exe_path: b"/x/isolate".to_vec(),
        };
        let frame = req.encode();
        assert_eq!(
            u32::from_le_bytes(frame[..4].try_into().unwrap()) as usize,
            frame.len() - 4
        );
        assert_eq!(Request::decode(&frame[4..]).unwrap(), req);
        assert!(Request::decode(&frame[4..frame.len() - 1]).is_err());
    }

    #[test]
    fn request_with_fds_over_a_socket() {
        let (a, b) = UnixStream::pair().unwrap();
        let req = Request {
            argv: vec![vec![b'x'; 200_000]],
            fds: vec![7],
            ..Request::default()
        };
        let (r, _w) = std::io::pipe().unwrap();
        let frame = req.encode();
        let sender = std::thread::spawn(move || {
            send_with_fds(&a, &frame, &[r.as_raw_fd()]).unwrap();
        });
        let (frame, fds) = recv_with_fds(&b).unwrap();
        sender.join().unwrap();
        assert_eq!(Request::decode(&frame).unwrap(), req);
        assert_eq!(fds.len(), 1);
    }

    #[test]
    fn replies_round_trip() {
        let (a, b) = UnixStream::pair().unwrap();
        let replies = [
            Reply::Started(42),
            Reply::Cold("xoptions differ".into()),
            Reply::Refused("uid".into()),
            Reply::Status(9),
        ];
        for r in &replies {
            r.send(a.as_raw_fd());
        }
        drop(a);
        for r in &replies {
            assert_eq!(Reply::read(&b).unwrap().as_ref(), Some(r));
        }
        assert_eq!(Reply::read(&b).unwrap(), None);
    }
}
