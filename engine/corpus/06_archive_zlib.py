"""A tiny record archive: framed, checksummed and zlib-compressed.

Covers zlib.compress/decompress at several levels, crc32 and adler32 (one
shot and running), streaming compressobj/decompressobj with flush modes,
wbits variants (zlib, raw deflate, gzip, auto-detect), zdict, max_length and
unconsumed_tail, plus struct framing.  Compressed bytes are never printed
directly (they may legitimately differ between zlib releases); only facts
that any correct zlib must reproduce are.
"""
import struct
import zlib

# Streams produced once by zlib; decoding them is fully specified.
FIXED_ZLIB = bytes.fromhex(
    "78da75d24b0ac2401084e1bda7c811a6bbe6297898a0114421301917de5e572142552fbbe05bfd7db9aefd3685df9da7"
    "6dcce3bd5dd6e7a9ef6fdbdf7d19fd73587c5feef3e37518c0a528a5a4a4cca522a5aaa446250b4a321392399720a5a8"
    "a4c4a52ca5a2a4caa5a6240f4272a392bb94a0a4c8a524a5aca4c2a52aa52624f0c6211b876a1cbc71c8c6a11a076f1c"
    "b271a8c6f1d7f817f8e84836")
FIXED_GZIP = bytes.fromhex("1f8b0800000000000203cb48cdc9c95748afca2c5028cf2fca49e1ca202800008fe9eca233000000")
FIXED_RAW = bytes.fromhex("2b4a2c5748494dcb492c4955282e294a4dccd55128c2100300")

MAGIC = b"ARC1"
HEADER = struct.Struct(">4sHI")      # magic, record count, total raw length
ENTRY = struct.Struct(">H I I I B")  # name length, raw length, crc32, adler32, level


def make_records():
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    recs = {}
    for i in range(12):
        body = "\n".join(f"{words[(i * j) % 8]}-{j:03d} value={i * j * 7919 % 1000}" for j in range(20 + i * 15))
        recs[f"rec_{i:02d}.txt"] = body.encode()
    recs["empty.bin"] = b""
    recs["binary.bin"] = bytes((i * 37 + 11) % 256 for i in range(3000))
    recs["unicode.txt"] = ("Grüße aus Köln — ☃ snow, 雪 " * 40).encode("utf-8")
    return recs


def pack_archive(records):
    out = bytearray(HEADER.pack(MAGIC, len(records), sum(len(v) for v in records.values())))
    for i, (name, data) in enumerate(records.items()):
        level = (i % 10) - 1   # -1 .. 8
        comp = zlib.compress(data, level)
        nb = name.encode()
        out += ENTRY.pack(len(nb), len(data), zlib.crc32(data), zlib.adler32(data), level & 0xFF)
        out += nb + struct.pack(">I", len(comp)) + comp
    return bytes(out)


def unpack_archive(blob):
    magic, count, total = HEADER.unpack_from(blob, 0)
    assert magic == MAGIC, magic
    pos = HEADER.size
    result = {}
    for _ in range(count):
        nlen, rawlen, crc, adler, level = ENTRY.unpack_from(blob, pos)
        pos += ENTRY.size
        name = blob[pos:pos + nlen].decode()
        pos += nlen
        (clen,) = struct.unpack_from(">I", blob, pos)
        pos += 4
        data = zlib.decompress(blob[pos:pos + clen])
        pos += clen
        ok = len(data) == rawlen and zlib.crc32(data) == crc and zlib.adler32(data) == adler
        result[name] = (data, ok, level if level < 128 else level - 256)
    return result, total, pos == len(blob)


def main():
    records = make_records()
    print("== checksums ==")
    for name, data in records.items():
        print(f"  {name:<12} len={len(data):>6} crc32={zlib.crc32(data):08x} adler32={zlib.adler32(data):08x}")
    data = records["rec_05.txt"]
    crc, adler = 0, 1
    for i in range(0, len(data), 97):
        crc = zlib.crc32(data[i:i + 97], crc)
        adler = zlib.adler32(data[i:i + 97], adler)
    print("  running crc/adler match one-shot:", crc == zlib.crc32(data), adler == zlib.adler32(data))
    print("  crc32(b'123456789') =", hex(zlib.crc32(b"123456789")), " adler32(b'Wikipedia') =", hex(zlib.adler32(b"Wikipedia")))

    print("== archive round trip ==")
    blob = pack_archive(records)
    restored, total, consumed = unpack_archive(blob)
    print("  total raw bytes:", total, " consumed all:", consumed)
    for name, (data, ok, level) in restored.items():
        print(f"  {name:<12} level={level:>2} ok={ok} same={data == records[name]}")

    print("== levels ==")
    sample = b"".join(records[k] for k in sorted(records))
    sizes = {lvl: len(zlib.compress(sample, lvl)) for lvl in range(0, 10)}
    print("  stored level 0 larger than input:", sizes[0] > len(sample))
    print("  every level 1-9 smaller than half the input:", all(sizes[l] * 2 < len(sample) for l in range(1, 10)))
    print("  level 9 no larger than level 1:", sizes[9] <= sizes[1])
    for lvl in (0, 1, 6, 9):
        print(f"  level {lvl} decompresses back: {zlib.decompress(zlib.compress(sample, lvl)) == sample}")

    print("== streaming ==")
    co = zlib.compressobj(level=6, method=zlib.DEFLATED, wbits=15, memLevel=8, strategy=zlib.Z_DEFAULT_STRATEGY)
    pieces = []
    for i in range(0, len(sample), 4000):
        pieces.append(co.compress(sample[i:i + 4000]))
        if i % 20000 == 0:
            pieces.append(co.flush(zlib.Z_SYNC_FLUSH))
    pieces.append(co.flush())
    stream = b"".join(pieces)
    print("  sync-flushed stream ends with empty stored block marker:",
          any(p.endswith(b"\x00\x00\xff\xff") for p in pieces if p))
    do = zlib.decompressobj()
    out = bytearray()
    chunks = 0
    for i in range(0, len(stream), 333):
        out += do.decompress(stream[i:i + 333])
        chunks += 1
    out += do.flush()
    print("  streamed decompress ok:", bytes(out) == sample, "eof:", do.eof, "fed in >0 chunks:", chunks > 0)
    do = zlib.decompressobj()
    head = do.decompress(stream, 100)
    print("  max_length=100 gives", len(head), "bytes; unconsumed tail pending:", len(do.unconsumed_tail) > 0)
    rest = bytearray(head)
    while do.unconsumed_tail:
        rest += do.decompress(do.unconsumed_tail, 5000)
    rest += do.flush()
    print("  bounded decompress ok:", bytes(rest) == sample)
    do = zlib.decompressobj()
    tail = do.decompress(zlib.compress(b"payload") + b"TRAILING-GARBAGE")
    print("  unused_data:", do.unused_data, "result:", tail)

    print("== wbits variants ==")
    text = b"variant payload " * 50
    for label, wbits in (("zlib", 15), ("raw", -15), ("gzip", 31), ("small window", 9)):
        c = zlib.compressobj(9, zlib.DEFLATED, wbits)
        comp = c.compress(text) + c.flush()
        back = zlib.decompress(comp, wbits)
        auto = zlib.decompress(comp, 47) if wbits in (15, 31) else None
        print(f"  {label:<13} roundtrip={back == text} auto-detect={auto == text if auto is not None else 'n/a'}")
    zd = b"status=ok status=retry status=fail record"
    c = zlib.compressobj(zdict=zd)
    comp = c.compress(FIXED_RAW) + c.flush()
    d = zlib.decompressobj(zdict=zd)
    print("  zdict roundtrip:", d.decompress(comp) == FIXED_RAW)
    try:
        zlib.decompress(comp)
    except zlib.error as exc:
        print("  missing zdict ->", exc)

    print("== fixed streams ==")
    fixed = zlib.decompress(FIXED_ZLIB)
    print("  zlib stream:", len(fixed), "bytes, crc", hex(zlib.crc32(fixed)))
    for line in fixed.decode().splitlines()[:6]:
        print("   ", line)
    print("  gzip stream:", zlib.decompress(FIXED_GZIP, 31))
    print("  raw stream:", zlib.decompress(FIXED_RAW, -15))
    for bad in (FIXED_ZLIB[:50], b"not compressed at all", FIXED_ZLIB[:-1] + b"\x00"):
        try:
            zlib.decompress(bad)
        except zlib.error as exc:
            print("  error:", exc)


if __name__ == "__main__":
    main()
