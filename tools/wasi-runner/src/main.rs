//! `wasi-runner`: runs WASI (preview 1) command modules under wasmtime, and pre-initialises
//! them (wizer).
//!
//! ```text
//! wasi-runner [--home-at GUEST] [--cache-dir DIR] [--dir HOST[::GUEST]]... [--argv0 NAME]
//!             [--max-wasm-stack BYTES] MODULE [ARGS...]
//! wasi-runner wizen [--init-func NAME] [--rename DST=SRC]... [--dir HOST::GUEST]...
//!             [--env KEY=VALUE]... [--argv0 NAME] [--cold FILE] [--max-wasm-stack BYTES] IN OUT
//! ```
//!
//! The first form is the command line of the Python runner it replaces (`xtask/py/wasi_run.py`):
//! the guest sees the current directory as `/`, with `--home-at` the module's home (its
//! directory, or the parent of a `bin/`), the `--dir`s, the caller's whole environment and
//! stdio. The exit status is the guest's `proc_exit` code, 0 when `_start` returns, 134 (128 +
//! SIGABRT, as the wasmtime CLI) after a trap, 1 when the runner itself fails.
//!
//! A module pre-initialised by `wizen --cold FILE` names the module it was made from; when its
//! guest finds that this run's command line or environment would have initialised differently
//! (see engine/src/wasi_snapshot.rs), it asks for, and gets, a run of that cold module instead.

mod args;
mod cache;
mod ctx;
mod run;
mod wizen;

fn main() {
    let argv: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let code = match argv.first().map(String::as_str) {
        Some("wizen") => wizen::main(&argv[1..]),
        Some("--version") => {
            println!(
                "wasi-runner {} (wasmtime {})",
                env!("CARGO_PKG_VERSION"),
                run::WASMTIME_VERSION
            );
            0
        }
        _ => run::main(&argv),
    };
    std::process::exit(code)
}
