//! Checks that this crate is being built against a sysroot the supported way: the sysroot's
//! manifest is named by `PYSYSROOT_MANIFEST`, it is for the target being built, and the
//! executable-level flags its flavor needs are in effect. The link lines themselves come
//! from the sysroot's PyO3 configuration (`PYO3_CONFIG_FILE`), through PyO3's own build
//! script, so they reach every executable that depends on this crate or on PyO3.
//! `cargo xtask env --target <target>` writes all of it as a cargo configuration.

use std::path::Path;
use sysroot_manifest::Manifest;

const HOW: &str = "link against a sysroot the supported way:\n    cargo xtask env --target <target> > pysysroot.toml\n    cargo build --release --config pysysroot.toml --target <rust triple>";

fn main() {
    println!("cargo:rerun-if-env-changed=PYSYSROOT_MANIFEST");
    let Some(path) = std::env::var_os("PYSYSROOT_MANIFEST") else {
        panic!(
            "\n\nengine links CPython statically from a sysroot, but PYSYSROOT_MANIFEST is not set: {HOW}\n\n"
        );
    };
    let (manifest, root) =
        Manifest::load(Path::new(&path)).unwrap_or_else(|e| panic!("\n\n{e}\n\n"));
    let target = std::env::var("TARGET").unwrap_or_default();
    if manifest.target.rust_triple != target {
        panic!(
            "\n\nthe sysroot {} is for {}, but this build targets {target}: pass --target {} or pick the matching sysroot\n\n",
            root.display(),
            manifest.target.rust_triple,
            manifest.target.rust_triple
        );
    }
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let flags: Vec<&str> = flags.split('\x1f').collect();
    let wanted = manifest.rustflags(&root);
    if !wanted.iter().all(|w| flags.contains(&w.as_str())) {
        panic!(
            "\n\nthe {} sysroot at {} needs these flags for every crate of the executable: {}\nbut rustc gets: {}\n{HOW}\n\n",
            manifest.flavor,
            root.display(),
            wanted.join(" "),
            flags.join(" ")
        );
    }
    println!("cargo:rerun-if-changed={}", Path::new(&path).display());
    println!(
        "cargo:rustc-env=ISOLATE_PYTHON_VERSION={}",
        manifest.python.version
    );
    println!("cargo:rustc-env=ISOLATE_SYSROOT={}", root.display());
    // Code that mirrors one CPython release's private behaviour (src/warm/call.rs).
    println!("cargo::rustc-check-cfg=cfg(isolate_py311)");
    if manifest.python.version.starts_with("3.11.") {
        println!("cargo:rustc-cfg=isolate_py311");
    }
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("wasi") {
        // Where the runner maps a module's home: CPython's configured prefix (src/stdlib.rs).
        let abi = manifest.python.abi.clone();
        let pc = root.join(format!("lib/pkgconfig/python-{abi}.pc"));
        let prefix = std::fs::read_to_string(&pc)
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("prefix=").map(str::to_string))
            })
            .unwrap_or_else(|| {
                panic!(
                    "\n\n{} names no prefix=: the sysroot {} is incomplete, rebuild it (cargo xtask build-python)\n\n",
                    pc.display(),
                    root.display()
                )
            });
        println!("cargo:rerun-if-changed={}", pc.display());
        println!("cargo:rustc-env=ISOLATE_PREFIX={prefix}");
        // The pre-initialised isolate's entry points (src/wasi_snapshot.rs): rustc exports
        // only `_start` from a wasm executable.
        for name in [
            "wizer-initialize",
            "pysysroot-resume",
            "pysysroot_warm_protocol",
        ] {
            println!("cargo:rustc-link-arg-bin=isolate=-Wl,--export={name}");
        }
    }
}
