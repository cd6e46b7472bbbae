"""Runs a WASI (preview 1) command module with the pinned `wasmtime` package.

Usage: python wasi_run.py [--home-at GUEST] [--cache-dir DIR] [--dir HOST::GUEST]...
                          [--argv0 NAME] [--max-wasm-stack BYTES] MODULE [ARGS...]

The guest sees:
  /        the current directory (WASI has no working directory of its own: wasi-libc
           resolves relative paths against "/", so that is where the caller's files go)
  GUEST    with --home-at, the module's home: the directory holding it, or its parent when
           the module sits in `bin/` (a sysroot) -- CPython finds its stdlib under the
           prefix it was configured with, which is this guest path
  --dir    anything else
and the caller's whole environment (PYTHONHASHSEED, PYTHONPATH...).

Exit status: the guest's proc_exit code; 0 when _start returns; 134 (128 + SIGABRT, like
the wasmtime CLI) after a trap, with the trap on stderr.
"""
import argparse
import ctypes
import hashlib
import os
import sys
import threading

import wasmtime


def parse_args(argv):
    p = argparse.ArgumentParser(prog="wasi_run.py")
    p.add_argument("--home-at", default=None)
    p.add_argument("--cache-dir", default=None, help="keeps compiled modules, keyed by content")
    p.add_argument("--dir", action="append", default=[])
    p.add_argument("--argv0", default=None)
    p.add_argument("--max-wasm-stack", type=int, default=16 * 1024 * 1024)
    p.add_argument("module")
    p.add_argument("args", nargs=argparse.REMAINDER)
    return p.parse_args(argv)


def load_module(engine, path, cache_dir):
    with open(path, "rb") as f:
        wasm = f.read()
    if not cache_dir:
        return wasmtime.Module(engine, wasm)
    # Compiling CPython takes seconds; a test suite starts it hundreds of times.
    cached = os.path.join(cache_dir, hashlib.sha256(wasm).hexdigest() + ".cwasm")
    if os.path.exists(cached):
        try:
            return wasmtime.Module.deserialize_file(engine, cached)
        except wasmtime.WasmtimeError:
            pass  # made by another wasmtime version: compile again
    module = wasmtime.Module(engine, wasm)
    os.makedirs(cache_dir, exist_ok=True)
    tmp = "%s.%d.tmp" % (cached, os.getpid())
    with open(tmp, "wb") as f:
        f.write(module.serialize())
    os.replace(tmp, cached)
    return module


def engine_for(max_stack):
    cfg = wasmtime.Config()
    cfg.max_wasm_stack = max_stack
    # wasmtime refuses a wasm stack larger than its async stack (2 MiB by default), and the
    # Python binding has no setter for that one: use the C API.
    from wasmtime import _ffi
    setter = getattr(_ffi.dll, "wasmtime_config_async_stack_size_set", None)
    if setter is not None:
        setter.restype = None
        setter.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        setter(ctypes.cast(cfg.ptr(), ctypes.c_void_p), max_stack + 1024 * 1024)
    return wasmtime.Engine(cfg)


def home_of(module):
    here = os.path.dirname(os.path.abspath(module))
    return os.path.dirname(here) if os.path.basename(here) == "bin" else here


def run(opts):
    engine = engine_for(opts.max_wasm_stack)
    module = load_module(engine, opts.module, opts.cache_dir)
    wasi = wasmtime.WasiConfig()
    wasi.argv = [opts.argv0 if opts.argv0 is not None else opts.module] + opts.args
    wasi.env = sorted(os.environ.items())
    wasi.preopen_dir(os.getcwd(), "/")
    if opts.home_at:
        wasi.preopen_dir(home_of(opts.module), opts.home_at)
    for d in opts.dir:
        host, sep, guest = d.partition("::")
        wasi.preopen_dir(host, guest if sep else host)
    wasi.inherit_stdin()
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    store.set_wasi(wasi)
    instance = linker.instantiate(store, module)
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as e:
        return e.code
    except wasmtime.Trap as e:
        sys.stderr.write("wasi_run: trap: %s\n" % e)
        return 134
    return 0


def main():
    opts = parse_args(sys.argv[1:])
    result = {"code": 1}

    def guest():
        try:
            result["code"] = run(opts)
        except Exception as e:  # noqa: BLE001 - any host-side failure is reported, not hidden
            sys.stderr.write("wasi_run: %s: %s\n" % (type(e).__name__, e))

    # Wasm runs on the calling thread's native stack: give it room for the wasm stack.
    threading.stack_size(opts.max_wasm_stack + 16 * 1024 * 1024)
    t = threading.Thread(target=guest)
    t.start()
    t.join()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(result["code"] & 0xFF)


if __name__ == "__main__":
    main()
