"""A fake build tool that writes progress to stdout and diagnostics to
stderr, interleaved.

Covers print(file=sys.stderr), sys.stderr.write, explicit flushes, the
logging module configured to stderr with a fixed (time-free) format,
warnings.warn with a custom formatter, and a final summary on stdout.
stdout and stderr are captured separately; each stream's content is
deterministic.
"""
import logging
import sys
import warnings

TARGETS = [
    ("core/alloc.c", ["unused variable 'tmp'"], []),
    ("core/hash.c", [], []),
    ("net/socket.c", ["implicit conversion loses precision", "comparison of signed and unsigned"], []),
    ("net/tls.c", [], ["undefined reference to 'ssl_init'"]),
    ("ui/render.c", ["deprecated function 'draw_old'"], []),
    ("ui/font.c", [], []),
    ("app/main.c", [], ["undefined reference to 'render_frame'", "ld returned 1 exit status"]),
]


def format_warning(message, category, filename, lineno, line=None):
    return f"warning[{category.__name__}]: {message}\n"


class BuildWarning(UserWarning):
    pass


def main():
    warnings.formatwarning = format_warning
    warnings.simplefilter("always", BuildWarning)
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG, format="%(levelname)-7s %(name)s: %(message)s")
    log = logging.getLogger("build")
    link_log = logging.getLogger("build.link")

    print(f"building {len(TARGETS)} targets")
    sys.stdout.flush()
    log.info("toolchain: cc -O2 -Wall (simulated)")
    n_warn = n_err = 0
    built = []
    for i, (src, warns, errs) in enumerate(TARGETS, 1):
        obj = src.rsplit(".", 1)[0] + ".o"
        print(f"[{i}/{len(TARGETS)}] CC {src} -> {obj}")
        sys.stdout.flush()
        for w in warns:
            print(f"{src}:{10 * i + len(w) % 7}: warning: {w}", file=sys.stderr, flush=True)
            n_warn += 1
        if errs:
            for e in errs:
                sys.stderr.write(f"{src}: error: {e}\n")
                n_err += 1
            sys.stderr.flush()
            log.error("compilation of %s failed with %d error(s)", src, len(errs))
            print(f"      FAILED {src}", flush=True)
        else:
            built.append(obj)
            log.debug("wrote %s (%d bytes)", obj, 1000 + 37 * i * len(src))
    if n_warn > 3:
        warnings.warn(f"{n_warn} compiler warnings; consider -Werror", BuildWarning)
    warnings.warn("DeprecationWarning raised in __main__ is shown by default", DeprecationWarning)
    link_log.warning("skipping link step: %d object(s) failed", len(TARGETS) - len(built))
    print()
    print("objects built:")
    for obj in built:
        print("   ", obj)
    print(f"summary: {len(built)} ok, {len(TARGETS) - len(built)} failed, {n_warn} warnings, {n_err} errors")
    sys.stdout.flush()
    print("stderr line written with print(..., sep='|', end='!\\n'):", "a", "b", file=sys.stderr, sep="|", end="!\n")
    sys.stderr.write("build finished with errors\n")
    logging.shutdown()


if __name__ == "__main__":
    main()
