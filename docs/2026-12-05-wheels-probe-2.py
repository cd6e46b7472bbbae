"""Compiled packages from PyPI with their own copies of libraries the isolate links too, each
exercised a little; python3, bin/isolate, the single file and examples/embed must print the
same (docs/2026-12-05-packages-signals-and-bounded-downloads.md)."""
import sys
def t(name, f):
    try:
        print(name, f())
    except Exception as e:
        print(name, "FAILED", type(e).__name__, str(e)[:200])
import numpy as np
t("scipy", lambda: __import__("scipy.linalg").linalg.det(np.array([[1.0,2],[3,4]])).round(6))
t("scipy.sparse", lambda: __import__("scipy.sparse").sparse.eye(3).sum())
t("scipy.optimize", lambda: round(__import__("scipy.optimize").optimize.brentq(lambda x: x*x-2, 0, 2), 8))
def pa():
    import pyarrow as pa, pyarrow.compute as pc
    a = pa.array([1,2,3,None]); return (pc.sum(a).as_py(), pa.table({"x":[1,2]}).num_rows, pa.__version__ is not None)
t("pyarrow", pa)
def pq():
    import pyarrow as pa, pyarrow.parquet as pq, io
    b = io.BytesIO(); pq.write_table(pa.table({"x":[1,2,3]}), b); b.seek(0); return pq.read_table(b).to_pydict()
t("parquet", pq)
def grpc():
    import grpc; from concurrent import futures
    s = grpc.server(futures.ThreadPoolExecutor(2)); port = s.add_insecure_port("127.0.0.1:0"); s.start(); s.stop(0); return port > 0
t("grpc", grpc)
t("psycopg2", lambda: __import__("psycopg2").extensions.libpq_version() > 0)
def mpl():
    import matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot as plt, io
    fig, ax = plt.subplots(); ax.plot([1,2,3]); b = io.BytesIO(); fig.savefig(b, format="png"); return b.getvalue()[:8]
t("matplotlib", mpl)
def skl():
    from sklearn.linear_model import LinearRegression
    m = LinearRegression().fit([[0],[1],[2]], [0,2,4]); return round(float(m.coef_[0]), 6)
t("sklearn", skl)
t("crc32c", lambda: __import__("google_crc32c").value(b"abc"))
t("xxhash", lambda: __import__("xxhash").xxh64(b"abc").hexdigest())
t("mmh3", lambda: __import__("mmh3").hash(b"abc"))
t("bitarray", lambda: __import__("bitarray").bitarray("1011").count())
t("tokenizers", lambda: __import__("tokenizers").__version__ is not None)
t("yaml C", lambda: __import__("yaml").__with_libyaml__)
t("kiwisolver", lambda: __import__("kiwisolver").Solver() is not None)
t("ssl", lambda: __import__("ssl").create_default_context().protocol)
