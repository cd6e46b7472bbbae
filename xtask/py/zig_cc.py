"""`zig cc` from the pinned `ziglang` package, as a C compiler and as rustc's linker.

Usage: python zig_cc.py -target TRIPLE [cc arguments...]

zig's driver rejects a few flags that CPython's configure and rustc pass; this drops or
rewrites them and then execs zig (one process, no shell):
  -Wl,--stack-first       CPython's WASI link flags; zig already passes it to wasm-ld
  --target=...            rustc names its own triple; zig has -target
  -Wl,--no-demangle       rustc; only affects diagnostics
  -Wl,--allow-undefined   rustc's WASI default; without it an unresolved symbol is a link
                          error instead of a silent import that fails at start-up
  -Wl,-z -Wl,VALUE        rustc's spelling; zig wants -Wl,-z,VALUE
"""
import importlib.util
import os
import sys

DROP = {"-Wl,--stack-first", "-Wl,--no-demangle", "-Wl,--allow-undefined"}


def rewrite(args):
    out = []
    it = iter(args)
    for a in it:
        if a in DROP or a.startswith("--target="):
            continue
        if a == "-Wl,-z":
            value = next(it, "")
            out.append("-Wl,-z," + value[len("-Wl,"):] if value.startswith("-Wl,") else "-Wl,-z," + value)
            continue
        out.append(a)
    return out


def main():
    spec = importlib.util.find_spec("ziglang")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("zig_cc.py: the ziglang package is not installed in %s (cargo xtask provision)" % sys.prefix)
    zig = os.path.join(list(spec.submodule_search_locations)[0], "zig")
    args = sys.argv[1:]
    # Response files (@file) from rustc hold the real arguments.
    expanded = []
    for a in args:
        if a.startswith("@") and os.path.isfile(a[1:]):
            with open(a[1:]) as f:
                expanded.extend(line.rstrip("\n") for line in f if line.strip())
        else:
            expanded.append(a)
    os.execv(zig, [zig, "cc"] + rewrite(expanded))


if __name__ == "__main__":
    main()
