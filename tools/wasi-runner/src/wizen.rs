//! Pre-initialisation (wizer): instantiate a module, run its initialisation export with a
//! WASI context of our choosing, and write a module whose memory and globals start where the
//! initialisation left them.

use crate::args::{self, Preopen};
use crate::cache::{WARM_SECTION, write_atomic};
use crate::ctx::{self, Guest};
use sha2::Digest;
use std::path::PathBuf;
use std::task::{Context, Poll, Waker};
use wasmtime::{Instance, Result, Store, Val, error::Context as _};
use wasmtime_wasi::I32Exit;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wizer::{InstanceState, SnapshotVal, ValType, Wizer};

pub const USAGE: &str = "usage: wasi-runner wizen [--init-func NAME] [--rename DST=SRC]... [--dir HOST::GUEST]... [--env KEY=VALUE]... [--argv0 NAME] [--cold FILE] [--max-wasm-stack BYTES] IN OUT";

#[derive(Debug)]
struct Opts {
    init_func: String,
    renames: Vec<(String, String)>,
    dirs: Vec<Preopen>,
    env: Vec<(String, String)>,
    argv0: String,
    cold: Option<String>,
    max_wasm_stack: usize,
    input: PathBuf,
    output: PathBuf,
}

fn parse(argv: &[String]) -> Result<Opts, String> {
    let (opts, rest) = args::split(argv, |_| true, false)?;
    let mut o = Opts {
        init_func: "wizer-initialize".into(),
        renames: Vec::new(),
        dirs: Vec::new(),
        env: Vec::new(),
        argv0: String::new(),
        cold: None,
        max_wasm_stack: args::DEFAULT_MAX_WASM_STACK,
        input: PathBuf::new(),
        output: PathBuf::new(),
    };
    for (name, value) in opts {
        let v = value.unwrap_or_default();
        let pair = |what: &str| {
            v.split_once('=')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| format!("{name} wants {what}, not {v:?}"))
        };
        match name.as_str() {
            "--init-func" => o.init_func = v,
            "--rename" => o.renames.push(pair("DST=SRC")?),
            "--dir" => o.dirs.push(Preopen::parse(&v)),
            "--env" => o.env.push(pair("KEY=VALUE")?),
            "--argv0" => o.argv0 = v,
            "--cold" => o.cold = Some(v),
            "--max-wasm-stack" => o.max_wasm_stack = args::parse_size(&name, &v)?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    let [input, output] = rest.as_slice() else {
        return Err("wizen takes the input module and the output module".into());
    };
    o.input = input.into();
    o.output = output.into();
    Ok(o)
}

pub fn main(argv: &[String]) -> i32 {
    let opts = match parse(argv) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("wasi-runner wizen: {e}\n{USAGE}");
            return 2;
        }
    };
    ctx::on_big_stack(opts.max_wasm_stack, || match wizen(&opts) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!(
                "wasi-runner wizen: pre-initialising {}: {e:?}",
                opts.input.display()
            );
            1
        }
    })
}

fn wizen(o: &Opts) -> Result<()> {
    let wasm = std::fs::read(&o.input)
        .with_context(|| format!("reading the module {}", o.input.display()))?;
    let mut wizer = Wizer::new();
    wizer.init_func(&o.init_func);
    for (dst, src) in &o.renames {
        wizer.func_rename(dst, src);
    }
    let (cx, instrumented) = wizer.instrument(&wasm)?;
    let engine = ctx::engine(o.max_wasm_stack)?;
    let module = wasmtime::Module::new(&engine, &instrumented)
        .context("compiling the instrumented module")?;
    let argv = vec![o.argv0.clone()];
    let guest = Guest {
        argv: &argv,
        env: &o.env,
        preopens: &o.dirs,
        // What the guest draws while initialising (a hash secret) is in the snapshot: drawn
        // from the module's digest, the same module gives the same snapshot.
        seed: Some(sha2::Sha256::digest(&wasm).into()),
    };
    let mut store = Store::new(&engine, guest.build()?);
    let instance = ctx::linker(&engine)?.instantiate(&mut store, &module)?;
    initialize(&mut store, &instance, &o.init_func)?;
    let mut state = State {
        store: &mut store,
        instance,
    };
    let mut out = block_on(wizer.snapshot(&cx, &mut state))?;
    if let Some(cold) = &o.cold {
        append_custom_section(&mut out, WARM_SECTION, cold.as_bytes());
    }
    write_atomic(&o.output, &out)
}

/// The reactor's `_initialize`, if any, then the initialisation export. An exit is an error:
/// what is snapshotted must be a guest that finished initialising.
fn initialize(store: &mut Store<WasiP1Ctx>, instance: &Instance, name: &str) -> Result<()> {
    for export in ["_initialize", name] {
        let Some(func) = instance.get_func(&mut *store, export) else {
            if export == name {
                wasmtime::bail!("the module exports no {name:?} function");
            }
            continue;
        };
        if let Err(e) = func.typed::<(), ()>(&mut *store)?.call(&mut *store, ()) {
            if let Some(exit) = e.downcast_ref::<I32Exit>() {
                wasmtime::bail!(
                    "{export} exited with status {} instead of returning (its message is above)",
                    exit.0
                );
            }
            return Err(e.context(format!("{export} trapped")));
        }
    }
    Ok(())
}

struct State<'a> {
    store: &'a mut Store<WasiP1Ctx>,
    instance: Instance,
}

impl InstanceState for State<'_> {
    async fn global_get(&mut self, name: &str, _: ValType) -> SnapshotVal {
        let global = self
            .instance
            .get_global(&mut *self.store, name)
            .expect("wizer names the globals it exported");
        match global.get(&mut *self.store) {
            Val::I32(x) => SnapshotVal::I32(x),
            Val::I64(x) => SnapshotVal::I64(x),
            Val::F32(x) => SnapshotVal::F32(x),
            Val::F64(x) => SnapshotVal::F64(x),
            Val::V128(x) => SnapshotVal::V128(x.as_u128()),
            other => panic!("wizer cannot snapshot a global holding {other:?}"),
        }
    }

    async fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) {
        let memory = self
            .instance
            .get_memory(&mut *self.store, name)
            .expect("wizer names the memories it exported");
        contents(memory.data(&*self.store))
    }
}

/// Wizer's snapshot is async only so that other runtimes can drive it; with ours every await
/// is ready at once.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn leb128(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A custom section at the end of a module: engines ignore it, our runner reads it.
fn append_custom_section(module: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut body = Vec::new();
    leb128(name.len(), &mut body);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    module.push(0);
    leb128(body.len(), module);
    module.extend(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warm_section_reads_back() {
        // The smallest module: magic and version.
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        append_custom_section(&mut m, WARM_SECTION, &[b'x'; 200]);
        assert_eq!(
            crate::cache::warm_section(&m).unwrap(),
            Some("x".repeat(200))
        );
        assert_eq!(
            crate::cache::warm_section(b"\0asm\x01\0\0\0").unwrap(),
            None
        );
    }

    #[test]
    fn options_are_checked() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let o = parse(&s(&["--env", "A=b=c", "--rename", "_start=r", "in", "out"])).unwrap();
        assert_eq!(o.env, vec![("A".into(), "b=c".into())]);
        assert_eq!(o.renames, vec![("_start".into(), "r".into())]);
        assert!(parse(&s(&["--env", "novalue", "i", "o"])).is_err());
        assert!(
            parse(&s(&["only-in"]))
                .unwrap_err()
                .contains("input module and the output")
        );
    }
}
