//! Links the isolate against the sysroot named by `PYSYSROOT_MANIFEST` (set by
//! `cargo xtask isolate`). Every link line comes from the sysroot's manifest: no path or
//! library name is written here.

use std::path::Path;
use sysroot_manifest::Manifest;

fn main() {
    println!("cargo:rerun-if-env-changed=PYSYSROOT_MANIFEST");
    let Some(path) = std::env::var_os("PYSYSROOT_MANIFEST") else {
        panic!(
            "\n\nengine links CPython statically from a sysroot: build it with `cargo xtask isolate`, \
             or set PYSYSROOT_MANIFEST=<sysroot>/manifest.json and PYO3_CONFIG_FILE=<sysroot>/pyo3-config.txt\n\n"
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
    println!("cargo:rerun-if-changed={}", Path::new(&path).display());
    for line in manifest.cargo_link_lines(&root) {
        println!("{line}");
    }
    println!(
        "cargo:rustc-env=ISOLATE_PYTHON_VERSION={}",
        manifest.python.version
    );
    // Code that mirrors one CPython release's private behaviour (src/warm/call.rs).
    println!("cargo::rustc-check-cfg=cfg(isolate_py311)");
    if manifest.python.version.starts_with("3.11.") {
        println!("cargo:rustc-cfg=isolate_py311");
    }
}
