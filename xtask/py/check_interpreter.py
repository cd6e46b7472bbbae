"""Checks an interpreter of a sysroot from the inside; prints one JSON object.

Run as: python3 -I check_interpreter.py '<json: {"builtin": [...], "imports": [...]}>'
The caller compares the result; this script only reports what it finds.
"""
import hashlib
import importlib
import json
import sys

want = json.loads(sys.argv[1])
report = {"errors": []}

for name in want["imports"]:
    try:
        importlib.import_module(name)
    except Exception as e:  # reported, not raised: the caller lists every failure at once
        report["errors"].append(f"import {name}: {type(e).__name__}: {e}")

# Known answers for b"abc", through hashlib's front door and through the builtin (HACL*,
# blake2) modules directly, which hashlib bypasses when OpenSSL provides the algorithm.
ABC = {
    "md5": "900150983cd24fb0d6963f7d28e17f72",
    "sha1": "a9993e364706816aba3e25717850c26c9cd0d89d",
    "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    "sha512": "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
              "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    "sha3_256": "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532",
    "blake2b": "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
               "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
}
# A million and three bytes: many blocks through each compressor, the code BOLT's frame
# optimisation broke in the HACL* SHA-2 and BLAKE2 functions.
MILLION = {
    "md5": "5abe51b61ad88ec96601dfaccdc33969",
    "sha1": "e0184932e09d5304faec6c3df30a3b8df233ee35",
    "sha256": "cf5f310cac13bb0f1de288d09940e8ee441e8d5d88b0fd4ec6021c405fda8c8c",
    "sha512": "2c85515cd9c21e21ef55d09f4a057fc6881f16827db2e0ea6fe6177495eb6e9b"
              "5e466667ffccb7c7653e2b48b38e85589562c2d8f6a26ee5308d05463476adf5",
    "sha3_256": "8cea78b15140dd4e1739cf5ab8cb6adf748f8479dcee1a2b0114d8e702a4e5cf",
    "blake2b": "61c31edfd5786d52aeee64a113edbf3fe1094bf02158eef18d40bbf6aeccd886"
               "dd7534e74d80aee1c34c39fef394f47b0cb361892e538cbb05874ab5dd824749",
    "blake2s": "c19280e2aa8a82a3c717b2f9ecbebfb1d559f8896d9916d1b955ce849ff40aa2",
}
ABC["blake2s"] = "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982"
BUILTIN = {  # algorithm -> (module, constructor); 3.12+ merged _sha256/_sha512 into _sha2
    "md5": ("_md5", "md5"),
    "sha1": ("_sha1", "sha1"),
    "sha256": ("_sha2", "sha256") if sys.version_info >= (3, 12) else ("_sha256", "sha256"),
    "sha512": ("_sha2", "sha512") if sys.version_info >= (3, 12) else ("_sha512", "sha512"),
    "sha3_256": ("_sha3", "sha3_256"),
    "blake2b": ("_blake2", "blake2b"),
    "blake2s": ("_blake2", "blake2s"),
}
report["hashes"] = {}
for alg, digest in ABC.items():
    try:
        front = hashlib.new(alg, b"abc").hexdigest()
        module, ctor = BUILTIN[alg]
        builtin = getattr(importlib.import_module(module), ctor)(b"abc").hexdigest()
        report["hashes"][alg] = front == digest and builtin == digest
        if not report["hashes"][alg]:
            report["errors"].append(f"{alg}: hashlib gave {front}, {module}.{ctor} gave {builtin}, expected {digest}")
    except Exception as e:
        report["hashes"][alg] = False
        report["errors"].append(f"{alg}: {type(e).__name__}: {e}")

for alg, digest in MILLION.items():
    data = b"a" * 1_000_003
    module, ctor = BUILTIN[alg]
    try:
        got = (hashlib.new(alg, data).hexdigest(), getattr(importlib.import_module(module), ctor)(data).hexdigest())
    except Exception as e:
        got = (f"{type(e).__name__}: {e}",) * 2
    if got != (digest, digest):
        report["errors"].append(f"{alg} of 1,000,003 bytes: hashlib gave {got[0]}, {module}.{ctor} gave {got[1]}, expected {digest}")


# Binary operators through slot wrappers: BOLT's identical-code folding once merged the
# wrappers of a binary function and of its reflected form, so a str subclass's `+` came
# out the wrong way round (python-build-standalone#622). Both orders, str and int.
class Text(str):
    def __add__(self, other):
        return "add:" + str.__add__(str(self), other)

    def __radd__(self, other):
        return "radd:" + str.__add__(other, str(self))


class Number(int):
    def __radd__(self, other):
        return ("radd", other, int(self))

    def __rsub__(self, other):
        return ("rsub", other, int(self))


operators = {
    "Text('a') + 'b'": (Text("a") + "b", "add:ab"),
    "'a' + Text('b')": ("a" + Text("b"), "radd:ab"),
    "Text.__add__": (Text.__add__(Text("a"), "b"), "add:ab"),
    "str.__add__ on a Text": (str.__add__(Text("a"), "b"), "ab"),
    "1 + Number(2)": (1 + Number(2), ("radd", 1, 2)),
    "1 - Number(2)": (1 - Number(2), ("rsub", 1, 2)),
    "Number(5) - 2": (Number(5) - 2, 3),
    "[1] + [2]": ([1] + [2], [1, 2]),
}
for expr, (got, expected) in operators.items():
    if got != expected:
        report["errors"].append(f"{expr} gave {got!r}, expected {expected!r}")

report["builtin_module_names"] = sorted(sys.builtin_module_names)
report["missing_builtin"] = [m for m in want["builtin"] if m not in sys.builtin_module_names]
report["from_shared_objects"] = sorted(
    name for name, mod in sys.modules.items()
    if (getattr(mod, "__file__", None) or "").endswith((".so", ".pyd", ".dylib"))
)
report["version"] = sys.version.split()[0]
print(json.dumps(report))
