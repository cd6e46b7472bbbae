# The Python side of the pre-initialised WASI isolate (engine/src/wasi_snapshot.rs). It is
# compiled and run once, at snapshot time, in a namespace of its own; its functions are then
# called at every resume. Nothing here imports a module: a cold start would not have imported
# it, and sys.modules must be exactly what a cold start leaves. `sys` is given.

posix = sys.modules['posix']
os = sys.modules['os']
io = sys.modules['io']
S_ISDIR = sys.modules['stat'].S_ISDIR
dirname = sys.modules['posixpath'].dirname
abspath = sys.modules['posixpath'].abspath
isfile = sys.modules['genericpath'].isfile


def _digest(path):
    with io.open(path, 'rb') as f:
        return hash(f.read())


def _zip_digest(path, size):
    """A zip's end record and central directory (every member's name, size, CRC, offset):
    the same bytes mean the same archive, however it was copied."""
    with io.open(path, 'rb') as f:
        f.seek(max(0, size - 65557))
        tail = f.read()
        at = tail.rfind(b'PK\x05\x06')
        if at < 0:
            return None
        end = tail[at:at + 22]
        f.seek(int.from_bytes(end[16:20], 'little'))
        return hash((end, f.read(int.from_bytes(end[12:16], 'little'))))


# What start-up read, by content, never by modification time: an archive unpacked or a
# directory copied elsewhere is the same start-up.

def _entry(path):
    """A sys.path entry: a directory, a zip (zipimport read it), or nothing."""
    try:
        st = posix.stat(path)
    except OSError as e:
        return ('missing', e.errno)
    if S_ISDIR(st.st_mode):
        return ('dir',)
    return ('zip', st.st_size, _zip_digest(path, st.st_size))


def _site_dir(path):
    """A directory site read .pth files from."""
    try:
        names = sorted(n for n in posix.listdir(path) if n.endswith('.pth'))
    except OSError as e:
        return ('missing', e.errno)
    return tuple((n, _digest(path + '/' + n)) for n in names)


def _file(path):
    try:
        return ('file', _digest(path))
    except OSError as e:
        return ('missing', e.errno)


def _found(name):
    """Whether an import of `name` (site's sitecustomize) would find it on sys.path."""
    cache = sys.modules['_frozen_importlib_external'].PathFinder._path_importer_cache
    for entry in sys.path:
        finder = cache(entry)
        if finder is not None and finder.find_spec(name) is not None:
            return True
    return False


def stamps():
    """What initialisation imported from: each sys.path entry, the .pth files in site's
    directories, the file of every module it imported from a directory, and that site's
    sitecustomize (and usercustomize) were not there to import."""
    out = [(_entry, e, _entry(e)) for e in sys.path]
    site = sys.modules['site']
    dirs = site.getsitepackages()
    if site.ENABLE_USER_SITE and site.USER_SITE:
        dirs.append(site.USER_SITE)
    out += [(_site_dir, d, _site_dir(d)) for d in dirs]
    zipimporter = sys.modules['zipimport'].zipimporter
    for module in list(sys.modules.values()):
        spec = getattr(module, '__spec__', None)
        if spec is None or not spec.has_location or isinstance(spec.loader, zipimporter):
            continue
        out.append((_file, spec.origin, _file(spec.origin)))
    hooks = ['sitecustomize'] + (['usercustomize'] if site.ENABLE_USER_SITE else [])
    out += [(_found, name, _found(name)) for name in hooks if name not in sys.modules]
    return out


def changed(recorded, base_executable):
    """Why a cold start would import differently now, or None."""
    for look, what, was in recorded:
        if look(what) != was:
            return f'{what} is not what the snapshot started with'
    # site reads a pyvenv.cfg beside the executable or one level up.
    exe_dir = dirname(abspath(base_executable or ''))
    for d in (exe_dir, dirname(exe_dir)):
        if isfile(d + '/pyvenv.cfg'):
            return f'{d}/pyvenv.cfg makes a virtual environment'
    # init_sys_streams refuses it (and the cold start says so).
    if _valid(0) and S_ISDIR(posix.fstat(0).st_mode):
        return 'stdin is a directory'
    return None


def check_snapshot():
    """What the resume relies on, true of this CPython."""
    if os.environ._data is not posix.environ:
        raise RuntimeError('os.environ does not share posix.environ')


def _valid(fd):
    try:
        posix.fstat(fd)
    except OSError:
        return False
    return True


def _stdio(fd, write, name, encoding, errors, buffered):
    # CPython's create_stdio (Python/pylifecycle.c), step by step.
    if not _valid(fd):
        return None
    buffering = 0 if (not buffered and write) else -1
    buf = io.open(fd, 'wb' if write else 'rb', buffering, None, None, None, False)
    raw = buf.raw if buffering else buf
    raw.name = name
    tty = raw.isatty()
    stream = io.TextIOWrapper(buf, encoding, errors, '\n',
                              bool(buffered and (tty or fd == 2)), not buffered)
    stream.mode = 'w' if write else 'r'
    return stream


def apply(environ, argv, orig_argv, executable, base_executable, stdio):
    """This run's environment, arguments and standard streams, as a cold start sets them."""
    encoding, errors, buffered = stdio
    data = os.environ._data
    data.clear()
    # posix's convertenviron: split at the first '=', skip entries without one, the first
    # of a name wins.
    for entry in environ:
        key, sep, value = entry.partition(b'=')
        if sep:
            data.setdefault(key, value)
    sys.argv = argv
    sys.orig_argv = orig_argv
    if executable is not None:
        sys.executable = executable
    if base_executable is not None:
        sys._base_executable = base_executable
    # init_sys_streams: tty and buffering are this run's, not the snapshot's.
    sys.__stdin__ = sys.stdin = _stdio(0, False, '<stdin>', encoding, errors, buffered)
    sys.__stdout__ = sys.stdout = _stdio(1, True, '<stdout>', encoding, errors, buffered)
    err = _stdio(2, True, '<stderr>', encoding, 'backslashreplace', buffered)
    if err is not None:
        try:
            sys.modules['_codecs'].lookup(err.encoding)
        except Exception:
            pass
    sys.__stderr__ = sys.stderr = err
    if 'random' in sys.modules:
        sys.modules['random'].seed()
