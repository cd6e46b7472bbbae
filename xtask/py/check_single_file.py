"""What the single-file isolate must do with the stdlib it carries (run by it, with -S):

    isolate -S check_single_file.py

1. The engine handed zipimport the zip's directory before the first import from it, and that
   directory is exactly what zipimport's own _read_directory makes of the file (same names,
   same order, same tuples), so a change to zipimport in a new CPython is caught here. With -S
   nothing reads the zip before this script: the directory can only come from the engine.
2. zipimport's own reading finds the zip too (after importlib.invalidate_caches(), and for
   zipfile and importlib.resources, which search for the end record near the file's end).
3. __file__, inspect.getsource, source lines in tracebacks, importlib.resources files() of a
   stdlib package, and imports after importlib.invalidate_caches().

Prints one summary line; any failure raises.
"""
import sys
import zipimport

archive = sys._stdlib_dir
given = zipimport._zip_directory_cache.get(archive)
if given is None:
    raise SystemExit(f"zipimport was not given the directory of {archive!r} before the first import")
read = zipimport._read_directory(archive)
if list(given.items()) != list(read.items()):
    names = set(given) ^ set(read)
    diff = [n for n in read if n in given and given[n] != read[n]]
    raise SystemExit(f"the directory given to zipimport differs from _read_directory: "
                     f"{len(given)} against {len(read)} names, only in one: {sorted(names)[:5]}, "
                     f"different: {[(n, given[n], read[n]) for n in diff[:3]]}, "
                     f"same names in another order: {not names and not diff}")

import importlib
import importlib.resources
import inspect
import json
import os
import traceback

prefix = archive + os.sep
assert os.__file__ == prefix + "os.py", os.__file__
assert json.__file__.startswith(prefix), json.__file__
assert inspect.getsource(json.dumps).startswith("def dumps("), "inspect.getsource(json.dumps)"
try:
    json.loads("{")
except ValueError as e:
    # The bytecode names its source relative to the zip (json/decoder.py), as it was compiled.
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename != __file__]
    assert any(f.filename.endswith("json/decoder.py") for f in frames), frames
    assert frames and all(f.line for f in frames), f"no source lines in {frames}"
decoder = importlib.resources.files("json").joinpath("decoder.py")
assert "class JSONDecoder" in decoder.read_text(), "importlib.resources: json/decoder.py"
assert "decoder.py" in {p.name for p in importlib.resources.files("json").iterdir()}

importlib.invalidate_caches()
import fractions  # not imported before: after invalidate_caches, through zipimport's own reading

assert fractions.__file__.startswith(prefix), fractions.__file__
assert "class Fraction" in inspect.getsource(fractions)
print(f"{len(read)} names given to zipimport, as _read_directory reads them; "
      f"__file__, getsource, tracebacks, resources and invalidate_caches work")
