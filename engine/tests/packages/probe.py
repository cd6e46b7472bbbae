"""Uses compiled and pure packages from PyPI; prints results that must be the same under
python3 and the isolate (the end-to-end tests compare them)."""
import importlib.resources
import sys

import certifi
import idna
import markupsafe
import msgpack
import numpy
import yaml

a = numpy.arange(12, dtype=numpy.float64).reshape(3, 4)
print("numpy", numpy.__version__, a.sum(), (a @ a.T).trace(), numpy.linalg.det(numpy.eye(3) * 2))
packed = msgpack.packb({"k": [1, 2.5, "x", None, True]})
print("msgpack", msgpack.version, packed.hex(), msgpack.unpackb(packed))
print("msgpack C extension:", msgpack.Packer.__module__)
doc = yaml.dump({"b": [1, 2], "a": {"x": "y"}}, Dumper=yaml.CDumper)
print("yaml", yaml.__version__, yaml.__with_libyaml__, repr(doc), yaml.load(doc, Loader=yaml.CLoader))
print("markupsafe", markupsafe.escape("<a href='x'>&</a>"), type(markupsafe.escape("x")).__module__)
print("markupsafe speedups:", markupsafe._escape_inner.__module__)
print("idna", idna.encode("bücher.example").decode())
pem = importlib.resources.files("certifi").joinpath("cacert.pem").read_text()
print("certifi", pem.count("BEGIN CERTIFICATE") > 100, certifi.where().endswith("cacert.pem"))
print("flags", sys.flags.ignore_environment, sys.flags.no_site)
