"""Report exporter that exercises print() options and bulk writes.

Covers print with sep/end/file=sys.stderr/flush, printing many argument
types, sys.stdout.write of a large (~200 KB) generated document in chunks
and in one call, writelines, return values of write(), and a checksum of
everything written so the volume is verifiable.
"""
import hashlib
import io
import sys


def generate_rows(n):
    for i in range(n):
        name = "item-" + "abcdefghijklmnopqrstuvwxyz"[i % 26] * (1 + i % 7)
        yield f"{i:06d},{name},{(i * 7919) % 100003},{i % 13 == 0}\n"


def main():
    print("== print() options ==")
    print("a", "b", "c")
    print("a", "b", "c", sep="")
    print("a", "b", "c", sep=" | ", end=" <end>\n")
    print(1, 2.5, None, True, [1, 2], {"k": "v"}, (3,), b"bytes", sep=", ")
    print("no newline...", end="")
    print(" continued", end="\n\n")
    print(*range(10), sep="-")
    print(*"spread", sep=".")
    print("multi\nline\nstring", "tab\tseparated", sep="\n---\n")
    print(end="")
    print()
    print("unicode:", "ünïcødé", "日本語", "🎉", sep="\t")
    print("to stderr", 42, sep=": ", file=sys.stderr)
    print("stderr without newline", end="", file=sys.stderr, flush=True)
    print(" ...and the rest", file=sys.stderr)
    print("sep=None and end=None mean defaults:", "x", "y", sep=None, end=None)
    buf = io.StringIO()
    print("captured", "into", "StringIO", sep="_", file=buf)
    print("StringIO got:", repr(buf.getvalue()))
    try:
        print("bad", sep=5)
    except TypeError as exc:
        print("TypeError:", exc)
    print(flush=True)

    print("== bulk output ==")
    rows = list(generate_rows(6000))
    blob = "".join(rows)
    digest = hashlib.sha256(blob.encode()).hexdigest()
    print(f"document: {len(rows)} rows, {len(blob)} characters, sha256 {digest}")
    sys.stdout.flush()
    written = 0
    for start in range(0, len(rows), 1000):
        written += sys.stdout.write("".join(rows[start:start + 1000]))
    print(f"-- chunked write returned {written} characters in total")
    n = sys.stdout.write(blob)
    print(f"-- single write returned {n}")
    sys.stdout.writelines(f"line {i} of writelines\n" for i in range(50))
    line = "=" * 199 + "\n"
    sys.stdout.write(line * 100)
    print("long line:", "x" * 5000)
    total_bytes = len(blob.encode()) * 2 + len(line) * 100
    print(f"bulk section done, about {total_bytes} bytes of table data", flush=True)
    print("stderr: bulk section finished", file=sys.stderr)
    sys.stderr.write("stderr bulk: " + "e" * 3000 + "\n")
    sys.stderr.flush()


if __name__ == "__main__":
    main()
