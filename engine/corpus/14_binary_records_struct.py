"""Binary file formats with struct: a WAV header, a BMP header, and a
length-prefixed record log.

Covers struct.pack/unpack with explicit byte orders (<, >, !, =), calcsize,
Struct objects, pack_into/unpack_from on bytearrays, iter_unpack, padding
bytes, pascal strings, half floats, bools, memoryview casts and
int.to_bytes/from_bytes.  Only standard sizes are used (never native '@').
"""
import struct
from collections import namedtuple

WavHeader = namedtuple("WavHeader", "riff size wave fmt fmt_size audio_format channels sample_rate "
                                    "byte_rate block_align bits data data_size")
WAV = struct.Struct("<4sI4s4sIHHIIHH4sI")
BMP_FILE = struct.Struct("<2sIHHI")
BMP_INFO = struct.Struct("<IiiHHIIiiII")
RECORD = struct.Struct(">HbBhiqf?x3s")


def hexdump(data, width=16):
    for off in range(0, len(data), width):
        chunk = data[off:off + width]
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        print(f"    {off:04x}  {chunk.hex(' '):<{width * 3}} {text}")


def build_wav(samples, rate=8000):
    data = struct.pack(f"<{len(samples)}h", *samples)
    hdr = WAV.pack(b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16, b"data", len(data))
    return hdr + data


def build_bmp(w, h, pixel):
    row = bytes(pixel) * w
    row += b"\x00" * ((4 - len(row) % 4) % 4)
    pixels = row * h
    info = BMP_INFO.pack(40, w, -h, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    header = BMP_FILE.pack(b"BM", BMP_FILE.size + len(info) + len(pixels), 0, 0, BMP_FILE.size + len(info))
    return header + info + pixels


def main():
    print("== calcsize ==")
    for fmt in ("<i", ">q", "!H", "=d", "<e", "<?", "<5s", "<5p", "<2x", "<HbBhiqf?x3s", ">HbBhiqf?x3s",
                "<3I2h", "<0s", "<10c", "=Q", "!f", "<l", "=L"):
        print(f"  calcsize({fmt!r:<16}) = {struct.calcsize(fmt)}")
    print("  Struct sizes:", WAV.size, BMP_FILE.size, BMP_INFO.size, RECORD.size, "| format:", RECORD.format)

    print("== byte orders ==")
    for fmt in ("<I", ">I", "!I", "=I", "<h", ">h", "<q", ">Q", "<f", ">d", "<e", ">e"):
        for value in ((0x12345678, -2, 1) if fmt[1] in "Ihq" else (0x12345678, 65535, 1) if fmt[1] in "Q" else (1.5, -0.1, 65504.0)):
            try:
                packed = struct.pack(fmt, value)
                back = struct.unpack(fmt, packed)[0]
                print(f"  {fmt:<3} {value!r:>12} -> {packed.hex(' '):<24} -> {back!r}")
            except struct.error as exc:
                print(f"  {fmt:<3} {value!r:>12} -> struct.error: {exc}")
    print("  half precision rounding:", [struct.unpack("<e", struct.pack("<e", x))[0] for x in (0.1, 1 / 3, 2049.0, 6e-8)])
    print("  float32 rounding:", [struct.unpack("<f", struct.pack("<f", x))[0] for x in (0.1, 1 / 3, 16777217.0, 1e-40)])
    for fmt, value in (("<h", 40000), ("<B", -1), ("<e", 70000.0), ("<I", 2 ** 32), ("<c", b"ab")):
        try:
            struct.pack(fmt, value)
        except (struct.error, OverflowError) as exc:
            print(f"  pack({fmt!r}, {value!r}) -> {type(exc).__name__}: {exc}")

    print("== WAV header ==")
    samples = [int(1000 * ((i % 20) - 10)) for i in range(40)]
    wav = build_wav(samples)
    hdr = WavHeader._make(WAV.unpack_from(wav))
    for k, v in hdr._asdict().items():
        print(f"  {k:<13} {v!r}")
    hexdump(wav[:64])
    decoded = [s for (s,) in struct.iter_unpack("<h", wav[WAV.size:])]
    print("  samples round trip:", decoded == samples, "| min/max:", min(decoded), max(decoded))

    print("== BMP header ==")
    bmp = build_bmp(5, 3, (0x10, 0x80, 0xF0))
    magic, fsize, _, _, offset = BMP_FILE.unpack_from(bmp)
    info = BMP_INFO.unpack_from(bmp, BMP_FILE.size)
    print(f"  magic={magic!r} size={fsize} offset={offset} width={info[1]} height={info[2]} bpp={info[4]} image={info[6]}")
    hexdump(bmp[:BMP_FILE.size + BMP_INFO.size + 20])

    print("== record log (pack_into / unpack_from) ==")
    rows = [(1, -5, 200, -300, 70000, -(2 ** 40), 0.5, True, b"abc"),
            (2, 127, 0, 32767, -1, 2 ** 62, -2.25, False, b"xy"),
            (65535, -128, 255, -32768, 2 ** 31 - 1, -(2 ** 63), 3.0e38, True, b"toolong")]
    buf = bytearray(2 + RECORD.size * len(rows))
    struct.pack_into(">H", buf, 0, len(rows))
    for i, row in enumerate(rows):
        RECORD.pack_into(buf, 2 + i * RECORD.size, *row)
    hexdump(bytes(buf))
    (count,) = struct.unpack_from(">H", buf)
    for i in range(count):
        print("  ", RECORD.unpack_from(buf, 2 + i * RECORD.size))
    print("  iter_unpack:", [r[0] for r in RECORD.iter_unpack(bytes(buf[2:]))])
    try:
        list(RECORD.iter_unpack(bytes(buf[2:-1])))
    except struct.error as exc:
        print("  iter_unpack on ragged buffer:", exc)
    try:
        struct.unpack(">I", b"\x00\x01")
    except struct.error as exc:
        print("  short buffer:", exc)

    print("== pascal strings, padding, bools ==")
    print("  ", struct.pack("<5p", b"hi"), struct.unpack("<5p", struct.pack("<5p", b"toolongvalue")))
    print("  ", struct.pack(">B3xH", 1, 2), struct.pack("<??", 0, "nonempty"), struct.unpack("<3?", b"\x00\x01\x02"))
    print("  ", struct.pack("<4s", b"ab"), struct.pack("<2s", b"abcd"), struct.unpack("<3c", b"xyz"))

    print("== memoryview and int conversions ==")
    raw = bytes(range(16))
    mv = memoryview(raw)
    print("  as <I words:", [hex(w) for (w,) in struct.iter_unpack("<I", raw)])
    print("  as >I words:", [hex(w) for (w,) in struct.iter_unpack(">I", raw)])
    print("  memoryview slice:", mv[4:8].tobytes().hex(), mv[::4].tolist(), mv.nbytes, mv.readonly)
    mb = memoryview(bytearray(8)).cast("B")
    mb[0:4] = b"\x01\x02\x03\x04"
    print("  cast B list:", mb.tolist())
    for n in (0, 1, 255, 256, -1, -129, 2 ** 63 - 1, -(2 ** 63)):
        for order in ("big", "little"):
            size = max(1, (n.bit_length() + 8) // 8)
            b = n.to_bytes(size, order, signed=True)
            print(f"  {n:>21} {order:<6} {b.hex():<18} back={int.from_bytes(b, order, signed=True)}")
    print("  unsigned read of ff ff:", int.from_bytes(b"\xff\xff", "big"), int.from_bytes(b"\xff\xff", "big", signed=True))
    checksum = sum(struct.unpack(f">{len(raw) // 2}H", raw)) & 0xFFFF
    print("  16-bit word checksum:", hex(checksum), "| ones' complement:", hex(~checksum & 0xFFFF))


if __name__ == "__main__":
    main()
