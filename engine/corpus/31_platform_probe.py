"""Platform probe: the ONE corpus program whose output legitimately depends
on the machine it runs on (platform_specific = true in the manifest).

It prints platform.machine() and a few related facts (pointer width, byte
order, native struct sizes) next to platform-independent checks, so the
harness can compare it between two interpreters on the same machine.
No versions, paths, host names or kernel strings are printed.
"""
import platform
import struct
import sys


def main():
    machine = platform.machine()
    print("platform.machine():", machine)
    print("implementation:", sys.implementation.name)
    print("byteorder:", sys.byteorder)
    print("pointer bits:", struct.calcsize("P") * 8)
    print("64-bit maxsize:", sys.maxsize > 2 ** 32)
    native = {code: struct.calcsize(code) for code in "cbhilqfdPnN?e"}
    print("native sizes:", " ".join(f"{k}={v}" for k, v in native.items()))
    print("native alignment of 'bq':", struct.calcsize("bq"), "vs standard '=bq':", struct.calcsize("=bq"))
    family = {"x86_64": "x86", "AMD64": "x86", "i686": "x86", "aarch64": "arm", "arm64": "arm",
              "wasm32": "wasm"}.get(machine, "other")
    print("family:", family)
    print("float repr is platform independent:", repr(0.1 + 0.2), repr(1e22), repr(5e-324))
    print("int hash width:", (sys.hash_info.width))
    print("float_info.mant_dig:", sys.float_info.mant_dig, "max_exp:", sys.float_info.max_exp)
    print("int digits:", sys.int_info.bits_per_digit, "sizeof_digit:", sys.int_info.sizeof_digit)
    probe = struct.pack("=I", 0x01020304)
    print("native '=I' bytes:", probe.hex(), "| little-endian host:", probe[0] == 4)
    print("standard '<I' bytes (same everywhere):", struct.pack("<I", 0x01020304).hex())
    labels = ["machine", "byteorder", "pointer bits"]
    values = [machine, sys.byteorder, str(struct.calcsize("P") * 8)]
    width = max(map(len, labels))
    for label, value in zip(labels, values):
        print(f"  {label:>{width}} : {value}")


if __name__ == "__main__":
    main()
