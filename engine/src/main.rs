//! `isolate`: a python3-compatible interpreter, linked statically against the sysroot.
fn main() {
    std::process::exit(engine::cli::main());
}
