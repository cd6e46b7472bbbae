//! Warm start: one interpreter started and frozen once, forked for each program.
//!
//! `isolate --warm-serve SOCKET` starts CPython exactly as a plain `isolate` would, imports
//! the preloads, freezes the heap (`gc.freeze`) and listens on an owner-only Unix socket.
//! `isolate --warm SOCKET ARGS...` (or [`Client`]) sends its command line, environment,
//! working directory and inheritable descriptors; the server forks, and the child makes
//! itself the process python3 would have been (config through
//! `_PyInterpreterState_SetConfig`, environment, streams, signals, descriptors) and runs
//! `Py_RunMain`. A call the frozen interpreter cannot honour (another hash seed, `-X`, `-I`,
//! ...) starts cold instead. docs/warm-start.md has the design and its limits.

mod call;
mod child;
pub mod cli;
mod client;
mod protocol;
mod server;

pub use client::{Call, Client, Error, Running};
pub use server::{ServeOptions, serve};
