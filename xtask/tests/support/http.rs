//! A fault-injecting HTTP/1.1 server on 127.0.0.1 for the download tests: one thread per
//! connection, and every reply decided by the test from the request (its path, its headers,
//! its number): any status, a body cut short, a stall, a trickle, `Range` honoured or
//! ignored, `ETag`/`Last-Modified` validators with `If-Range`.
//!
//! Shared by the unit tests of `pipeline/fetch.rs` (which include this file by path) and the
//! integration tests (as `support::http`), so it uses only std.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Request {
    /// 0 for the first request this server answered, then 1, 2...
    pub n: usize,
    pub method: String,
    pub path: String,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first byte asked for by `Range: bytes=N-`.
    pub fn range_start(&self) -> Option<usize> {
        self.header("range")?
            .strip_prefix("bytes=")?
            .trim_end_matches('-')
            .parse()
            .ok()
    }
}

/// What to answer, and how badly.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Close the connection after this many bytes of the body (the head still announces all).
    pub cut_after: Option<usize>,
    /// Wait this long before sending anything.
    pub stall_head: Duration,
    /// After this many bytes of the body, wait this long (then go on).
    pub stall_at: Option<(usize, Duration)>,
    /// Send the body this many bytes at a time, pausing between.
    pub trickle: Option<(usize, Duration)>,
    /// Announce no length and send the body over and over until the client hangs up.
    pub endless: bool,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            cut_after: None,
            stall_head: Duration::ZERO,
            stall_at: None,
            trickle: None,
            endless: false,
        }
    }

    pub fn bytes(body: &[u8]) -> Reply {
        Reply {
            body: body.to_vec(),
            ..Reply::status(200)
        }
    }

    /// `body` as a static file server serves it: `Range` honoured when `ranges` (206, or 416
    /// past the end), unless an `If-Range` names another validator than `etag` or `modified`.
    pub fn file(
        req: &Request,
        body: &[u8],
        ranges: bool,
        etag: Option<&str>,
        modified: Option<&str>,
    ) -> Reply {
        let mut reply = Reply::bytes(body);
        if let Some(e) = etag {
            reply = reply.header("ETag", e);
        }
        if let Some(m) = modified {
            reply = reply.header("Last-Modified", m);
        }
        let still_valid = req
            .header("if-range")
            .is_none_or(|v| Some(v) == etag || Some(v) == modified);
        match req.range_start() {
            Some(start) if ranges && still_valid => {
                if start >= body.len() {
                    return Reply {
                        body: Vec::new(),
                        ..reply.status_code(416)
                    }
                    .header("Content-Range", &format!("bytes */{}", body.len()));
                }
                let range = format!("bytes {start}-{}/{}", body.len() - 1, body.len());
                Reply {
                    body: body[start..].to_vec(),
                    ..reply.status_code(206)
                }
                .header("Content-Range", &range)
            }
            _ => reply,
        }
    }

    pub fn status_code(mut self, status: u16) -> Reply {
        self.status = status;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn cut_after(mut self, n: usize) -> Reply {
        self.cut_after = Some(n);
        self
    }

    pub fn stall_head(mut self, d: Duration) -> Reply {
        self.stall_head = d;
        self
    }

    pub fn stall_at(mut self, n: usize, d: Duration) -> Reply {
        self.stall_at = Some((n, d));
        self
    }

    pub fn trickle(mut self, chunk: usize, pause: Duration) -> Reply {
        self.trickle = Some((chunk, pause));
        self
    }

    pub fn endless(mut self) -> Reply {
        self.endless = true;
        self
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// The server; it runs until the test process ends.
pub struct Server {
    pub port: u16,
    pub requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        let handler: Arc<Handler> = Arc::new(handler);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (log, handler) = (log.clone(), handler.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &log, &*handler);
                });
            }
        });
        Server { port, requests }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn read_request(stream: &TcpStream, n: usize) -> std::io::Result<Option<Request>> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut first = String::new();
    if reader.read_line(&mut first)? == 0 {
        return Ok(None);
    }
    let mut parts = first.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    Ok(Some(Request {
        n,
        method,
        path,
        headers,
    }))
}

fn serve(
    mut stream: TcpStream,
    log: &Mutex<Vec<Request>>,
    handler: &Handler,
) -> std::io::Result<()> {
    let req = {
        // Numbered in the order requests arrive, under the log's lock.
        let mut log = log.lock().unwrap();
        let Some(req) = read_request(&stream, log.len())? else {
            return Ok(());
        };
        log.push(req.clone());
        req
    };
    let reply = handler(&req);
    std::thread::sleep(reply.stall_head);
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    if !reply.endless {
        head.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
    }
    head.push_str("Connection: close\r\n");
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if req.method == "HEAD" {
        return Ok(());
    }
    if reply.endless {
        // Ends when the client closes the connection and a write fails.
        loop {
            stream.write_all(&reply.body)?;
        }
    }
    let body = &reply.body[..reply.cut_after.unwrap_or(usize::MAX).min(reply.body.len())];
    let (chunk, pause) = reply.trickle.unwrap_or((usize::MAX, Duration::ZERO));
    let mut sent = 0;
    while sent < body.len() {
        let mut end = body.len().min(sent.saturating_add(chunk));
        if let Some((at, wait)) = reply.stall_at {
            if sent == at {
                stream.flush()?;
                std::thread::sleep(wait);
            } else if sent < at {
                end = end.min(at);
            }
        }
        stream.write_all(&body[sent..end])?;
        stream.flush()?;
        sent = end;
        if sent < body.len() {
            std::thread::sleep(pause);
        }
    }
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Whatever",
    }
}
