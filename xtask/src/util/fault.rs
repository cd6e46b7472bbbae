//! Named points where the fault tests kill this process, to prove what a crash exactly
//! there leaves behind: `PYSYSROOT_FAULT=<name>` makes the process send itself SIGKILL when
//! it reaches the point, as a power cut or an OOM kill would stop it.

/// The environment variable naming the point to die at.
pub const ENV: &str = "PYSYSROOT_FAULT";

pub fn point(name: &str) {
    if std::env::var_os(ENV).is_some_and(|v| v == name) {
        eprintln!("fault injected: killed at {name}");
        // SAFETY: sending a signal to ourselves.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}
