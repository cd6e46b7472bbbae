//! Named points where the fault tests kill this process, to prove what a crash exactly
//! there leaves behind: `PYSYSROOT_FAULT=<name>` makes the process send itself SIGKILL when
//! it reaches the point, as a power cut or an OOM kill would stop it. A few names are
//! switches instead, which make the process behave as on a poorer machine; several names are
//! separated by commas.

/// The environment variable naming the point to die at.
pub const ENV: &str = "PYSYSROOT_FAULT";

/// Switch: behave as on a file system without `renameat2(RENAME_EXCHANGE)`.
pub const NO_RENAME_EXCHANGE: &str = "no-rename-exchange";

fn named(name: &str) -> bool {
    std::env::var(ENV).is_ok_and(|v| v.split(',').any(|n| n.trim() == name))
}

pub fn point(name: &str) {
    if named(name) {
        eprintln!("fault injected: killed at {name}");
        // SAFETY: sending a signal to ourselves.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

/// Whether the switch `name` is on.
pub fn switch(name: &str) -> bool {
    named(name)
}
