//! An embedding executable of your own: starts CPython from the sysroot it was linked
//! against, registers a Rust module as a built-in, and runs Python that calls it and the
//! standard library's C-backed modules.
//!
//! `embed-example SCRIPT.py [DIR...]` runs a script instead, with each DIR on `sys.path`:
//! packages installed there from PyPI, compiled ones included, load as they do in python3.

use pyo3::prelude::*;
use std::path::PathBuf;

/// A module written in Rust, imported by the embedded Python as `greeter`.
#[pymodule]
mod greeter {
    use pyo3::prelude::*;

    #[pyfunction]
    fn add(a: i64, b: i64) -> i64 {
        a + b
    }

    #[pyfunction]
    fn shout(text: &str) -> String {
        format!("{}!", text.to_uppercase())
    }
}

const PROGRAM: &str = r#"
import decimal, hashlib, sqlite3, sys
import greeter

print("greeter is built in:", "greeter" in sys.builtin_module_names)
print("greeter.add(2, 40) =", greeter.add(2, 40))
print("greeter.shout('hello') =", greeter.shout("hello"))
print("sha256(abc) =", hashlib.sha256(b"abc").hexdigest())
db = sqlite3.connect(":memory:")
db.execute("create table t (x)")
db.executemany("insert into t values (?)", [(1,), (2,), (39,)])
print("sqlite sum =", db.execute("select sum(x) from t").fetchone()[0])
print("decimal 1/7 =", decimal.Decimal(1) / decimal.Decimal(7))
print("argv =", sys.argv)
"#;

fn main() {
    // Before the interpreter starts: a built-in module is part of CPython's init table.
    pyo3::append_to_inittab!(greeter);
    let args: Vec<String> = std::env::args().collect();
    let script = args.get(1).filter(|a| a.ends_with(".py")).map(PathBuf::from);
    let config = engine::Config {
        // The sysroot this executable was linked against holds the stdlib; a program you
        // ship carries it instead (see the README).
        home: Some(engine::SYSROOT.into()),
        // The embedding is isolated (no PYTHONPATH, no site-packages): packages come from
        // where the host says.
        paths: match script {
            Some(_) => args[2..].iter().map(PathBuf::from).collect(),
            None => Vec::new(),
        },
        argv: match script {
            Some(_) => args[1..].to_vec(),
            None => args.clone(),
        },
        ..engine::Config::default()
    };
    let interpreter = match engine::Interpreter::start(&config) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("embed-example: cannot start Python: {e}");
            std::process::exit(1);
        }
    };
    let status = match &script {
        Some(path) => interpreter.run_file(path),
        None => interpreter.run_source(PROGRAM, "<embed-example>"),
    };
    drop(interpreter);
    std::process::exit(status.0);
}
