//! `cargo xtask`: builds pinned, static CPython sysroots and the isolate that embeds them.
//!
//! The house, from the ground up:
//! - [`util`]: processes, files, hashing, templates, ELF and WebAssembly inspection;
//! - [`model`]: recipes, targets and C library recipes, read once into a [`model::Catalog`],
//!   resolved into one build's [`model::Model`]; a built [`model::sysroot::Sysroot`];
//! - [`checks`]: what sysroots and executables must be, for every command and test;
//! - [`pipeline`]: `build-python`'s steps in data-flow order, and the isolate's link;
//! - [`commands`]: one file per command, each with its `run`; `main.rs` only dispatches.

pub mod checks;
pub mod commands;
pub mod model;
pub mod pipeline;
pub mod util;
