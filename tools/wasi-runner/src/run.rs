//! Running a module: `_start` with the caller's stdio, environment and directories.

use crate::args::{Preopen, RUN_USAGE, Run};
use crate::cache;
use crate::ctx::{self, Guest};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use wasmtime::{
    Engine, Instance, Linker, Memory, Module, Result, Store, Trap, Val, error::Context as _,
};
use wasmtime_wasi::I32Exit;
use wasmtime_wasi::p1::WasiP1Ctx;

pub const WASMTIME_VERSION: &str = "48.0.8";

/// The exported address of a word through which a pre-initialised guest and its runner talk:
/// the runner writes [`COLD_READY`] before `_start` (a cold module is at hand); a guest that
/// must not resume its snapshot writes [`WANTS_COLD`] and exits before doing anything else,
/// with why after the word (its length, a little-endian u32, then that many bytes of UTF-8),
/// which the start log gives.
pub const PROTOCOL_EXPORT: &str = "pysysroot_warm_protocol";
pub const COLD_READY: u32 = 1;
pub const WANTS_COLD: u32 = 2;

pub fn main(argv: &[String]) -> i32 {
    let run = match Run::parse(argv) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("wasi-runner: {e}\n{RUN_USAGE}");
            return 2;
        }
    };
    let code = ctx::on_big_stack(run.max_wasm_stack, || {
        execute(&run).unwrap_or_else(|e| {
            eprintln!("wasi-runner: {}: {e:?}", run.module.display());
            1
        })
    });
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    code
}

/// How a start ended.
enum Ended {
    Status(i32),
    WantsCold(String),
}

/// Where a run's time went, in the start log.
#[derive(Default)]
struct Times {
    /// Engine, linker and module (compiled, or from the cache).
    load: Duration,
    /// Instantiation, summed over the starts of a fallback.
    instantiate: Duration,
    /// `_start` until the guest exits.
    run: Duration,
}

fn execute(run: &Run) -> Result<i32> {
    let mut times = Times::default();
    let t = Instant::now();
    let engine = ctx::engine(run.max_wasm_stack)?;
    let linker = ctx::linker(&engine)?;
    let loaded = cache::load(&engine, &run.module, run.cache_dir.as_deref())?;
    let argv = run.guest_argv();
    let env = host_env();
    let preopens = preopens(run)?;
    times.load = t.elapsed();
    let guest = Guest {
        argv: &argv,
        env: &env,
        preopens: &preopens,
        seed: None,
    };
    let cold = loaded.cold.clone();
    let first = start(
        &engine,
        &linker,
        &loaded.module,
        &guest,
        cold.is_some(),
        &mut times,
    )?;
    let mut why = String::new();
    let (how, code) = match first {
        Ended::Status(code) if cold.is_some() => ("warm", code),
        Ended::Status(code) => ("plain", code),
        Ended::WantsCold(reason) => {
            why = format!(": {reason}");
            let cold = cold.expect("only a module with a cold one is offered it");
            let t = Instant::now();
            let loaded = cache::load(&engine, &cold, run.cache_dir.as_deref())?;
            times.load += t.elapsed();
            match start(&engine, &linker, &loaded.module, &guest, false, &mut times)? {
                Ended::Status(code) => ("cold", code),
                Ended::WantsCold(_) => unreachable!("a cold start is never offered another"),
            }
        }
    };
    if let Some(log) = &run.start_log {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening the start log {}", log.display()))?;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        writeln!(
            f,
            "{how} load {:.2} instantiate {:.2} run {:.2} ms{why}",
            ms(times.load),
            ms(times.instantiate),
            ms(times.run)
        )?;
    }
    Ok(code)
}

/// The caller's whole environment, sorted (the guest's `os.environ` order is the same on
/// every run).
fn host_env() -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    env.sort();
    env
}

/// `/` is the current directory, then the module's home, then the `--dir`s, in the order the
/// Python runner gave them.
fn preopens(run: &Run) -> Result<Vec<Preopen>> {
    let mut out = vec![Preopen {
        host: std::env::current_dir()?,
        guest: "/".into(),
    }];
    if let Some(guest) = &run.home_at {
        let host = match &run.home {
            Some(h) => h.clone(),
            None => home_of(&run.module)?,
        };
        out.push(Preopen {
            host,
            guest: guest.clone(),
        });
    }
    out.extend(run.dirs.iter().cloned());
    Ok(out)
}

/// The directory holding the module, or its parent when that is a `bin/` (a sysroot).
pub fn home_of(module: &Path) -> Result<PathBuf> {
    let abs = std::path::absolute(module)?;
    let here = abs.parent().unwrap_or(Path::new("/"));
    Ok(match here.file_name() {
        Some(n) if n == "bin" => here.parent().unwrap_or(here).to_path_buf(),
        _ => here.to_path_buf(),
    })
}

fn start(
    engine: &Engine,
    linker: &Linker<WasiP1Ctx>,
    module: &Module,
    guest: &Guest,
    offer_cold: bool,
    times: &mut Times,
) -> Result<Ended> {
    let t = Instant::now();
    let mut store = Store::new(engine, guest.build()?);
    let instance = linker.instantiate(&mut store, module)?;
    times.instantiate += t.elapsed();
    let word = match offer_cold {
        true => protocol_word(&mut store, &instance)?,
        false => None,
    };
    if let Some((memory, at)) = word {
        memory.write(&mut store, at, &COLD_READY.to_le_bytes())?;
    }
    let entry = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
    let t = Instant::now();
    let result = entry.call(&mut store, ());
    times.run += t.elapsed();
    let code = match result {
        Ok(()) => 0,
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => exit.0,
            None if e.is::<Trap>() => {
                eprintln!("wasi-runner: trap: {e:?}");
                134
            }
            None => return Err(e),
        },
    };
    if let Some((memory, at)) = word {
        let mut bytes = [0u8; 4];
        memory.read(&store, at, &mut bytes)?;
        if u32::from_le_bytes(bytes) == WANTS_COLD {
            memory.read(&store, at + 4, &mut bytes)?;
            let mut why = vec![0u8; (u32::from_le_bytes(bytes) as usize).min(4096)];
            memory.read(&store, at + 8, &mut why)?;
            return Ok(Ended::WantsCold(
                String::from_utf8_lossy(&why).replace('\n', " "),
            ));
        }
    }
    Ok(Ended::Status(code))
}

/// Where the protocol word is, if the module exports it.
fn protocol_word(
    store: &mut Store<WasiP1Ctx>,
    instance: &Instance,
) -> Result<Option<(Memory, usize)>> {
    let Some(global) = instance.get_global(&mut *store, PROTOCOL_EXPORT) else {
        return Ok(None);
    };
    let Val::I32(at) = global.get(&mut *store) else {
        wasmtime::bail!("{PROTOCOL_EXPORT} is not an i32 address");
    };
    let Some(memory) = instance.get_memory(&mut *store, "memory") else {
        wasmtime::bail!("the module exports no memory");
    };
    Ok(Some((memory, at as u32 as usize)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_module_in_bin_has_the_sysroot_as_home() {
        assert_eq!(
            home_of(Path::new("/s/wasi/3.13.5/bin/python3.13.wasm")).unwrap(),
            PathBuf::from("/s/wasi/3.13.5")
        );
        assert_eq!(
            home_of(Path::new("/s/dist/isolate.wasm")).unwrap(),
            PathBuf::from("/s/dist")
        );
    }
}
