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
BUILTIN = {  # algorithm -> (module, constructor); 3.12+ merged _sha256/_sha512 into _sha2
    "md5": ("_md5", "md5"),
    "sha1": ("_sha1", "sha1"),
    "sha256": ("_sha2", "sha256") if sys.version_info >= (3, 12) else ("_sha256", "sha256"),
    "sha512": ("_sha2", "sha512") if sys.version_info >= (3, 12) else ("_sha512", "sha512"),
    "sha3_256": ("_sha3", "sha3_256"),
    "blake2b": ("_blake2", "blake2b"),
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

report["builtin_module_names"] = sorted(sys.builtin_module_names)
report["missing_builtin"] = [m for m in want["builtin"] if m not in sys.builtin_module_names]
report["from_shared_objects"] = sorted(
    name for name, mod in sys.modules.items()
    if (getattr(mod, "__file__", None) or "").endswith((".so", ".pyd", ".dylib"))
)
report["version"] = sys.version.split()[0]
print(json.dumps(report))
