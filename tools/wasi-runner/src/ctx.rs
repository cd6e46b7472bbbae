//! The engine and the WASI context, as both running and pre-initialising need them.

use crate::args::Preopen;
use rand::SeedableRng;
use wasmtime::{Config, Engine, Linker, Result, error::Context as _};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// One engine configuration for every run: the compiled-module cache is keyed by it.
pub fn engine(max_wasm_stack: usize) -> Result<Engine> {
    let mut cfg = Config::new();
    cfg.max_wasm_stack(max_wasm_stack);
    // wasmtime refuses a wasm stack larger than the one it would give async calls.
    cfg.async_stack_size(max_wasm_stack + 1024 * 1024);
    Engine::new(&cfg)
}

pub fn linker(engine: &Engine) -> Result<Linker<WasiP1Ctx>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |cx| cx)?;
    Ok(linker)
}

/// What the guest gets: its arguments, environment, directories; stdio is the runner's.
pub struct Guest<'a> {
    pub argv: &'a [String],
    pub env: &'a [(String, String)],
    pub preopens: &'a [Preopen],
    /// Seeds the guest's random numbers when given (they are the host's otherwise).
    pub seed: Option<[u8; 32]>,
}

impl Guest<'_> {
    pub fn build(&self) -> Result<WasiP1Ctx> {
        let mut b = WasiCtxBuilder::new();
        // One guest on one thread: its file system calls block this thread instead of
        // going through a thread pool.
        b.allow_blocking_current_thread(true);
        b.inherit_stdio().args(self.argv).envs(self.env);
        if let Some(seed) = self.seed {
            b.secure_random(rand::rngs::StdRng::from_seed(seed));
            b.insecure_random(rand::rngs::StdRng::from_seed(seed));
            b.insecure_random_seed(u128::from_le_bytes(
                seed[..16].try_into().expect("16 bytes"),
            ));
        }
        for p in self.preopens {
            b.preopened_dir(&p.host, &p.guest, FsPerms::ReadWrite)
                .with_context(|| {
                    format!("cannot give the guest {} as {}", p.host.display(), p.guest)
                })?;
        }
        Ok(b.build_p1())
    }
}

/// Runs `f` on a thread whose native stack holds the wasm stack: wasm runs on the calling
/// thread's stack, and the main thread's is 8 MiB.
pub fn on_big_stack<T: Send>(max_wasm_stack: usize, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(max_wasm_stack + 16 * 1024 * 1024)
            .spawn_scoped(s, f)
            .expect("spawning the guest's thread")
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}
