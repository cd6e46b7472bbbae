//! The embedding API against a real sysroot (`cargo xtask test` sets ISOLATE_TEST_HOME).
//!
//! One test function: CPython allows one interpreter per process, and the test harness runs
//! separate test functions on separate threads of one process.

use engine::{Config, Exit, Interpreter};
use pyo3::prelude::*;

#[test]
fn embedding_api() {
    let home = std::env::var_os("ISOLATE_TEST_HOME")
        .expect("ISOLATE_TEST_HOME names the sysroot (cargo xtask test sets it)");
    let scripts = std::env::temp_dir().join(format!("engine-test-{}", std::process::id()));
    std::fs::create_dir_all(&scripts).unwrap();
    let config = Config {
        home: Some(home.into()),
        argv: vec!["embedded".into(), "x y".into()],
        ..Config::default()
    };
    // The host's disposition before the interpreter starts: the default, whatever this test
    // process inherited (a shell that starts it in the background leaves SIGINT ignored).
    unsafe { libc::signal(libc::SIGINT, libc::SIG_DFL) };
    let interp =
        Interpreter::start(&config).expect("the interpreter starts from an explicit config");

    // No SIGINT handler was installed: the host keeps its own signal handling. (Importing
    // CPython's `signal` module later installs one; that is CPython's rule, not ours.)
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    assert_eq!(
        unsafe { libc::sigaction(libc::SIGINT, std::ptr::null(), &mut old) },
        0
    );
    assert_eq!(
        old.sa_sigaction,
        libc::SIG_DFL,
        "Config::signal_handlers is off by default"
    );

    // Code runs in __main__, and PyO3 sees what it left there.
    let ok = interp.run_source(
        "import sys, hashlib, json, decimal\n\
         result = (sys.argv, hashlib.sha256(b'abc').hexdigest(), sys.flags.isolated, 'site' in sys.modules)\n",
        "<setup>",
    );
    assert_eq!(ok, Exit(0));
    interp.with(|py| {
        let result = py.import("__main__").unwrap().getattr("result").unwrap();
        let (argv, digest, isolated, site): (Vec<String>, String, i32, bool) =
            result.extract().unwrap();
        assert_eq!(argv, ["embedded", "x y"]);
        assert_eq!(
            digest,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(isolated, 1, "the default config is isolated");
        assert!(!site, "site is not imported unless Config::import_site");
    });

    // UTF-8 mode by default: the isolated interpreter does not read the locale, and would
    // otherwise refuse to print anything but ASCII.
    let utf8 = interp.run_source(
        "import sys\nencodings = (sys.flags.utf8_mode, sys.stdout.encoding, sys.getfilesystemencoding())\nprint('Ärger ünd 表')\n",
        "<utf8>",
    );
    assert_eq!(utf8, Exit(0), "non-ASCII text prints");
    interp.with(|py| {
        let got: (i32, String, String) = py
            .import("__main__")
            .unwrap()
            .getattr("encodings")
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(got, (1, "utf-8".into(), "utf-8".into()));
    });

    // python3's exit-status rules.
    assert_eq!(interp.run_source("raise SystemExit(4)", "<exit4>"), Exit(4));
    assert_eq!(interp.run_source("raise SystemExit", "<exit>"), Exit(0));
    assert_eq!(
        interp.run_source("raise SystemExit('message')", "<msg>"),
        Exit(1)
    );
    assert_eq!(interp.run_source("1 / 0", "<zero>"), Exit(1));
    assert_eq!(interp.run_source("def broken(:\n", "<syntax>"), Exit(1));
    interp.with(|py| assert!(!PyErr::occurred(py), "errors are handled, not left pending"));

    // Files run as __main__ with their path.
    let script = scripts.join("script.py");
    std::fs::write(&script, "import sys\nseen = __file__\nsys.exit(9)\n").unwrap();
    assert_eq!(interp.run_file(&script), Exit(9));
    interp.with(|py| {
        let seen: String = py
            .import("__main__")
            .unwrap()
            .getattr("seen")
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(seen, script.display().to_string());
    });
    assert_eq!(interp.run_file(&scripts.join("missing.py")), Exit(2));

    // One interpreter per process.
    let again = Interpreter::start(&Config::default());
    assert!(again.is_err(), "a second start is refused");
    drop(interp);
    std::fs::remove_dir_all(&scripts).unwrap();
}
