"""Writes the standard library as a deterministic zip for the self-contained isolate.

Run with the sysroot's own interpreter (so bytecode matches its version):
    python3 -I make_stdlib_zip.py <stdlib dir> <out.zip>

Each module goes in as source and as unchecked-hash bytecode next to it, the layout zipimport
reads; entries are sorted with a fixed timestamp, so the same stdlib gives the same bytes.
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


def entries(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("config-"))
        for name in sorted(filenames):
            if name.endswith(".py"):
                path = os.path.join(dirpath, name)
                yield path, os.path.relpath(path, root).replace(os.sep, "/")


def add(zf, arcname, data):
    info = zipfile.ZipInfo(arcname, FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)


def main(root, out):
    # Beside the output, not in a temporary directory: under a WASI runtime only the
    # preopened directories exist.
    pyc = out + ".pyc.tmp"
    with zipfile.ZipFile(out, "w") as zf:
        for path, arc in entries(root):
            with open(path, "rb") as f:
                add(zf, arc, f.read())
            try:
                py_compile.compile(path, cfile=pyc, dfile=arc, doraise=True,
                                   invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
            except py_compile.PyCompileError:
                continue  # a few stdlib files are templates or Python-2 samples; the source is still there
            with open(pyc, "rb") as f:
                add(zf, arc[:-3] + ".pyc", f.read())
    if os.path.exists(pyc):
        os.remove(pyc)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
