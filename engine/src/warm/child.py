"""Run by the warm server's forked children, before the program: make the process what a
fresh python3 start would be for this call. Compiled once in the server into a private
namespace (not a module in sys.modules). See docs/warm-start.md for the reasoning.
"""

# PyConfig fields a call may set differently from the server. Each is consulted only after
# start-up: by pymain_run_python (argv, run_*, skip_source_first_line, safe_path for
# sys.path[0]), by the REPL at the end of a run (inspect, interactive, quiet), through sys at
# import time (write_bytecode is sys.dont_write_bytecode), or by the standard streams, which
# each child builds afresh (buffered_stdio, -u). _PyInterpreterState_SetConfig rewrites sys
# (argv, orig_argv, flags, dont_write_bytecode) from them.
PER_CALL = frozenset({
    "argv", "orig_argv", "run_command", "run_module", "run_filename",
    "skip_source_first_line", "safe_path", "inspect", "interactive", "quiet",
    "write_bytecode", "buffered_stdio",
})

# Computed by getpath at start-up from program_name, home, pythonpath_env and platlibdir
# (compared: the first two here, the others through PYTHON* variables) and argv[0] with
# PATH or the working directory (compared by the child before this runs); whether this is
# a source build, and from it whether frozen modules are used unless -X frozen_modules says
# (xoptions are compared). The client's config is read without computing them, so the
# server's values stand.
DERIVED = frozenset({
    "module_search_paths", "module_search_paths_set", "executable", "base_executable",
    "prefix", "base_prefix", "exec_prefix", "base_exec_prefix", "platlibdir", "stdlib_dir",
    "sys_path_0", "_is_python_build", "use_frozen_modules",
})

# How start-up ran, not what it made: stdlib::start always initialises in two phases
# (`_init_main` 0, then the main phase), and the server has run both before any call.
PHASES = frozenset({"_init_main"})

# Normalised at start-up ("UTF-8" is read, "utf-8" is kept): compared by codec.
ENCODINGS = frozenset({"filesystem_encoding", "stdio_encoding"})


def merge(server, client):
    """Why the call must start cold, or None: every field outside PER_CALL and DERIVED
    (3.13's new ones included) must equal the server's."""
    import codecs
    for key, ours in server.items():
        if key in PER_CALL or key in DERIVED or key in PHASES:
            continue
        theirs = client.get(key)
        if key in ENCODINGS and ours and theirs:
            same = codecs.lookup(ours).name == codecs.lookup(theirs).name
        else:
            same = ours == theirs
        if not same:
            return f"PyConfig.{key} would be {theirs!r}, the server started with {ours!r}"
    return None


def apply(environ, signals, ignored, tz_changed, stdio):
    """What start-up derives from the process and a fork does not redo. `environ` is None
    when the call's environment is the server's; `signals` those whose disposition may
    differ from python3's."""
    if environ is not None:
        _environ(environ)
    if signals:
        _signals(signals, ignored)
    if tz_changed:
        import sys
        time = sys.modules.get("time")
        if time is not None:
            # time.tzname and time.timezone are computed at import, from TZ.
            time.tzset()
    _streams(*stdio)


def reset_signals(touched):
    """The signals the server changed, back to python3's dispositions: a call then only
    applies what its client ignores."""
    _signals(touched, ())


def prefault(encoding, errors):
    """Run by a child waiting for a call: the paths every call takes, on throwaway objects, so
    that the pages they write are copied before the call arrives, not while it waits. Leaves
    nothing a program could see."""
    import io
    import os
    fd = os.open(os.devnull, os.O_RDWR)
    try:
        for write in (False, True):
            _stream(io, os, fd, "stdout", write, encoding, errors, True).close()
    finally:
        os.close(fd)


def _environ(entries):
    # os.environ._data is posix.environ (the same dict), and modules keep references to
    # os.environ: refill it in place, with posix's rules (first '=', first entry wins).
    import posix
    data = posix.environ
    data.clear()
    for entry in entries:
        key, sep, value = entry.partition(b"=")
        if sep:
            data.setdefault(key, value)


def _signals(signals, ignored):
    # python3's start: a disposition inherited as SIG_IGN stays, SIGPIPE and SIGXFSZ are
    # ignored, SIGINT raises KeyboardInterrupt unless ignored, everything else is SIG_DFL.
    # _signal, not signal: start-up imports only the former.
    import _signal
    for signum in signals:
        if signum in ignored or signum in (_signal.SIGPIPE, _signal.SIGXFSZ):
            want = _signal.SIG_IGN
        elif signum == _signal.SIGINT:
            want = _signal.default_int_handler
        else:
            want = _signal.SIG_DFL
        try:
            _signal.signal(signum, want)
        except (OSError, ValueError):
            pass


def _streams(encoding, errors, buffered):
    # create_stdio and init_sys_streams (Python/pylifecycle.c), for the client's
    # descriptors: line buffering depends on isatty, write-through on -u.
    import io
    import os
    import sys
    for fd, name, write, errs in (
        (0, "stdin", False, errors),
        (1, "stdout", True, errors),
        (2, "stderr", True, "backslashreplace"),
    ):
        stream = _stream(io, os, fd, name, write, encoding, errs, buffered)
        setattr(sys, f"__{name}__", stream)
        setattr(sys, name, stream)


def _stream(io, os, fd, name, write, encoding, errors, buffered):
    try:
        os.get_inheritable(fd)
    except OSError:
        return None
    buffering = 0 if (write and not buffered) else -1
    buf = io.open(fd, "wb" if write else "rb", buffering, None, None, None, False)
    raw = buf.raw if buffering else buf
    raw.name = f"<{name}>"
    line_buffering = buffered and (raw.isatty() or fd == 2)
    stream = io.TextIOWrapper(buf, encoding, errors, "\n", line_buffering, not buffered)
    stream.mode = "w" if write else "r"
    return stream
