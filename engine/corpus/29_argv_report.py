"""Command-line front end: reports and parses its own arguments.

Prints sys.argv[1:] (never argv[0], which is a path), inspects each
argument (length, code points, UTF-8 bytes, whitespace), and parses them
with argparse (errors are raised, never printed as usage text, so the
terminal width never matters).  The manifest passes a non-ASCII
argument and one with spaces.
"""
import argparse
import shlex
import sys
import unicodedata


def describe(arg):
    cats = sorted({unicodedata.category(c) for c in arg})
    return (f"len={len(arg):<3} utf8={len(arg.encode('utf-8', 'surrogateescape')):<3} "
            f"spaces={arg.count(' '):<2} ascii={arg.isascii()!s:<5} cats={cats}")


class QuietParser(argparse.ArgumentParser):
    """Raises instead of printing usage (whose wrapping depends on the terminal)."""

    def error(self, message):
        raise ValueError(message)


def build_parser():
    p = QuietParser(prog="argv_report", add_help=False, allow_abbrev=False)
    p.add_argument("--name", default="anonymous")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.add_argument("--tag", action="append", default=[])
    p.add_argument("--mode", choices=["fast", "safe"], default="safe")
    p.add_argument("rest", nargs="*")
    return p


def main():
    args = sys.argv[1:]
    print("argument count:", len(args))
    for i, arg in enumerate(args, 1):
        print(f"  argv[{i}] = {arg!r}")
        print(f"           ascii()={ascii(arg)}")
        print(f"           {describe(arg)}")
    print("shell-quoted:", " ".join(shlex.quote(a) for a in args))
    print("joined with '|':", "|".join(args))
    print("reversed words:", [a[::-1] for a in args])
    print("upper:", [a.upper() for a in args])
    print("NFD lengths:", [len(unicodedata.normalize("NFD", a)) for a in args])

    parser = build_parser()
    ns, unknown = parser.parse_known_args(args)
    print("parsed namespace:")
    for key, value in sorted(vars(ns).items()):
        print(f"  {key:<8} = {value!r}")
    print("unknown options:", unknown)

    print("sample parses:")
    samples = [
        ["--name", "Zoë Ünal", "--count", "3", "-vv", "file one.txt"],
        ["--tag", "a", "--tag", "b c", "--mode", "fast", "--", "--not-an-option"],
        ["--count", "three"],
        ["--mode", "turbo"],
        ["--nam", "abbrev"],
    ]
    for sample in samples:
        try:
            ns, unknown = parser.parse_known_args(sample)
            print(f"  {sample!r}\n    -> {dict(sorted(vars(ns).items()))} unknown={unknown}")
        except ValueError as exc:
            print(f"  {sample!r}\n    -> error: {exc}")
    print("done")


if __name__ == "__main__":
    main()
