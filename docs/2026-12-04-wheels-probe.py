"""25 compiled packages from PyPI, each exercised a little; python3, bin/isolate, the single
file and examples/embed must print the same (docs/2026-12-04-packages-and-stragglers.md).
ruamel.yaml.clib's probe imports a module that needs ruamel.yaml, which is not installed: it
fails the same way everywhere, which is also a comparison."""
import sys, traceback, hashlib
def t(name, f):
    try:
        print(name, f())
    except BaseException as e:
        print(name, "FAILED", type(e).__name__, e)
        traceback.print_exc(file=sys.stdout)

def crypto():
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.fernet import Fernet
    h = hashes.Hash(hashes.SHA256()); h.update(b"abc")
    k = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(32))
    sig = k.sign(b"msg")
    ct = AESGCM(bytes(16)).encrypt(bytes(12), b"hello", None)
    f = Fernet(Fernet.generate_key()); tok = f.decrypt(f.encrypt(b"x"))
    from cryptography.hazmat.backends.openssl import backend
    return h.finalize().hex(), sig.hex()[:16], ct.hex(), tok, backend.openssl_version_text()
t("cryptography", crypto)
def lx():
    from lxml import etree
    r = etree.fromstring("<a><b x='1'>t</b><b>u</b></a>")
    return etree.tostring(r), r.xpath("//b/@x"), etree.LIBXML_VERSION
t("lxml", lx)
def pc():
    import pydantic_core
    from pydantic_core import SchemaValidator, core_schema
    v = SchemaValidator(core_schema.typed_dict_schema({"a": core_schema.typed_dict_field(core_schema.int_schema())}))
    return v.validate_python({"a": "12"}), pydantic_core.__version__
t("pydantic_core", pc)
t("orjson", lambda: __import__("orjson").dumps({"a": [1, 2.5, None]}))
def ps():
    import psutil, os
    p = psutil.Process(os.getpid())
    return p.pid == os.getpid(), psutil.cpu_count() > 0, len(p.cmdline()) > 0
t("psutil", ps)
def cf():
    import cffi
    ffi = cffi.FFI(); ffi.cdef("size_t strlen(const char*); int printf(const char *, ...);")
    C = ffi.dlopen(None)
    return C.strlen(b"hello"), ffi.sizeof("long")
t("cffi", cf)
def pil():
    from PIL import Image, ImageDraw, features
    im = Image.new("RGB", (32, 32), "red"); ImageDraw.Draw(im).line((0, 0, 31, 31), fill="blue")
    import io; b = io.BytesIO(); im.save(b, "PNG"); b2 = io.BytesIO(); im.save(b2, "JPEG", quality=90)
    return hashlib.sha256(im.tobytes()).hexdigest()[:16], len(b.getvalue()), len(b2.getvalue()) > 0, features.check("zlib")
t("pillow", pil)
def zs():
    import zstandard
    c = zstandard.ZstdCompressor(level=3).compress(b"x" * 1000)
    return len(c), zstandard.ZstdDecompressor().decompress(c)[:3], zstandard.backend
t("zstandard", zs)
t("regex", lambda: __import__("regex").findall(r"\p{Lu}\w+", "Hello World ünd Ärger"))
t("ujson", lambda: __import__("ujson").dumps({"a": 1}))
def gl():
    import greenlet
    out = []
    def f(x):
        out.append(x); y = main.switch(x + 1); out.append(y); return "done"
    main = greenlet.getcurrent(); g = greenlet.greenlet(f)
    a = g.switch(1); b = g.switch(10)
    return out, a, b
t("greenlet", gl)
def uv():
    import uvloop, asyncio
    async def m():
        await asyncio.sleep(0.01)
        r, w = await asyncio.open_connection(*srv.sockets[0].getsockname()) if False else (None, None)
        return 42
    return uvloop.run(m())
t("uvloop", uv)
def sa():
    import sqlalchemy as s
    e = s.create_engine("sqlite://")
    with e.connect() as c:
        return c.execute(s.text("select 1+1, sqlite_version() is not null")).fetchall(), s.__version__
t("sqlalchemy", sa)
def yl():
    import yarl, multidict, frozenlist, propcache
    u = yarl.URL("http://example.com/a/b?x=1") / "c"
    md = multidict.MultiDict([("a", 1), ("a", 2)])
    return str(u), md.getall("a"), type(md).__module__, frozenlist.FrozenList([1]).frozen
t("yarl/multidict", yl)
def cr():
    from Crypto.Cipher import AES
    from Crypto.Hash import SHA256
    return AES.new(bytes(16), AES.MODE_ECB).encrypt(bytes(16)).hex(), SHA256.new(b"abc").hexdigest()
t("pycryptodome", cr)
def lz():
    import lz4.frame
    return len(lz4.frame.decompress(lz4.frame.compress(b"y" * 999)))
t("lz4", lz)
t("brotli", lambda: len(__import__("brotli").compress(b"z" * 1000)))
t("bcrypt", lambda: __import__("bcrypt").checkpw(b"pw", __import__("bcrypt").hashpw(b"pw", __import__("bcrypt").gensalt(4))))
def zq():
    import zmq
    ctx = zmq.Context(); a = ctx.socket(zmq.PAIR); port = a.bind_to_random_port("tcp://127.0.0.1")
    b = ctx.socket(zmq.PAIR); b.connect(f"tcp://127.0.0.1:{port}"); b.send(b"hi"); m = a.recv()
    a.close(); b.close(); ctx.term(); return m, zmq.zmq_version()
t("pyzmq", zq)
def gv():
    import gevent
    jobs = [gevent.spawn(lambda i=i: (gevent.sleep(0.001), i)[1]) for i in range(3)]
    gevent.joinall(jobs); return [j.value for j in jobs]
t("gevent", gv)
def pd():
    import pandas as pd, numpy as np
    df = pd.DataFrame({"a": np.arange(6), "b": list("xyzxyz")})
    return df.groupby("b").a.sum().to_dict(), pd.__version__
t("pandas", pd)
t("simplejson", lambda: (__import__("simplejson").dumps({"a": [1.5]}), __import__("simplejson")._speedups is not None))
def ry():
    import _ruamel_yaml
    return _ruamel_yaml.__name__
t("ruamel", ry)
def cn():
    import charset_normalizer
    return str(charset_normalizer.from_bytes("héllo wörld ünicode".encode("latin-1")).best().encoding), charset_normalizer.md.__file__.endswith(".so")
t("charset_normalizer", cn)
def wr():
    import wrapt
    @wrapt.decorator
    def d(wrapped, instance, args, kwargs): return wrapped(*args, **kwargs) * 2
    @d
    def f(x): return x
    return f(3), type(wrapt.FunctionWrapper).__module__
t("wrapt", wr)
def rp():
    import rpds
    return rpds.HashTrieMap({"a": 1}).insert("b", 2)["b"]
t("rpds", rp)
