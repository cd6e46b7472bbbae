"""Writes the standard library as a deterministic zip for the self-contained isolate.

Run with the sysroot's own interpreter (so bytecode matches its version):
    python3 -I make_stdlib_zip.py [--code-dir DIR] <stdlib dir> <out.zip> [<packages dir>]

--code-dir names the directory python3 has the stdlib in, for the file names in the
stdlib's bytecode (tracebacks print them): a WASI python3's is always the same guest path,
so the isolate's tracebacks can name the same files. Without it they are the names in the zip.

A packages directory (pure-Python packages installed from wheels) goes in at the zip's root
too, every file of it: code, data files read through importlib.resources, and the
.dist-info metadata importlib.metadata reads.

Each module goes in as source (deflated) and as unchecked-hash bytecode (stored) next to it,
the layout zipimport reads; entries are sorted with a fixed timestamp, so the same stdlib gives
the same bytes.
"""
import importlib.util
import os
import py_compile
import sys
import zipfile

# Not needed in an embedded engine: tests, GUI, packaging bootstraps, extension module dirs.
SKIP_DIRS = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib-dynload", "site-packages",
             "__pycache__", "venv", "lib2to3"}
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
# Bytecode is stored: inflating it took a fifth of the instructions of `import json, decimal`
# (docs/2026-12-03-single-file.md), at 7 MB more in the file. Sources, read only for tracebacks and
# inspect, stay compressed.
PYC_COMPRESS = zipfile.ZIP_STORED


def entries(root, everything=False):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("config-"))
        for name in sorted(filenames):
            if everything or name.endswith(".py"):
                path = os.path.join(dirpath, name)
                yield path, os.path.relpath(path, root).replace(os.sep, "/")


class Utf8Info(zipfile.ZipInfo):
    """Names marked UTF-8 (flag bit 11) even when they are ASCII: zipimport then decodes them
    without looking up a codec. Unmarked names are decoded as 'ascii', and under -X dev that
    lookup imports encodings.ascii from this very zip while it is being read: endless
    recursion. (zipfile resets flag_bits when it writes, so the flag is set where names are
    encoded.)"""

    def _encodeFilenameFlags(self):
        return self.filename.encode("utf-8"), self.flag_bits | 0x800


def add(zf, arcname, data, compress=zipfile.ZIP_DEFLATED):
    info = Utf8Info(arcname, FIXED_TIME)
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)


def main(root, out, packages=None, code_dir=None):
    # Beside the output, not in a temporary directory: under a WASI runtime only the
    # preopened directories exist.
    pyc = out + ".pyc.tmp"
    files = [(path, arc, code_dir) for path, arc in entries(root)]
    if packages:
        files += [(path, arc, None) for path, arc in entries(packages, everything=True)]
    with zipfile.ZipFile(out, "w") as zf:
        for path, arc, under in sorted(files, key=lambda e: e[1]):
            with open(path, "rb") as f:
                add(zf, arc, f.read())
            if not arc.endswith(".py"):
                continue
            try:
                py_compile.compile(path, cfile=pyc, dfile=f"{under}/{arc}" if under else arc, doraise=True,
                                   invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
            except py_compile.PyCompileError:
                continue  # a few stdlib files are templates or Python-2 samples; the source is still there
            with open(pyc, "rb") as f:
                add(zf, arc[:-3] + ".pyc", f.read(), PYC_COMPRESS)
    if os.path.exists(pyc):
        os.remove(pyc)


if __name__ == "__main__":
    args = sys.argv[1:]
    code_dir = None
    if args[:1] == ["--code-dir"]:
        code_dir, args = args[1], args[2:]
    main(*args, code_dir=code_dir)
