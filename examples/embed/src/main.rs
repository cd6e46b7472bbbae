//! An embedding executable of your own: starts CPython from the sysroot it was linked
//! against, registers a Rust module as a built-in, and runs Python that calls it and the
//! standard library's C-backed modules.

use pyo3::prelude::*;

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
    let config = engine::Config {
        // The sysroot this executable was linked against holds the stdlib; a program you
        // ship carries it instead (see the README).
        home: Some(engine::SYSROOT.into()),
        argv: std::env::args().collect(),
        ..engine::Config::default()
    };
    let interpreter = match engine::Interpreter::start(&config) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("embed-example: cannot start Python: {e}");
            std::process::exit(1);
        }
    };
    let status = interpreter.run_source(PROGRAM, "<embed-example>");
    drop(interpreter);
    std::process::exit(status.0);
}
