"""Validate a set of JSON service configurations against a tiny schema.

Covers json.loads of tricky unicode, escapes, surrogate pairs, floats and big
ints; json.dumps with indent, sort_keys, separators, ensure_ascii, default
hooks; object_pairs_hook, parse_float, and decode error reporting.
"""
import json
from collections import OrderedDict
from decimal import Decimal

SCHEMA = {
    "name": str,
    "port": int,
    "ratio": float,
    "tags": list,
    "limits": dict,
    "enabled": bool,
}

RAW_CONFIGS = [
    r'''{"name": "caf\u00e9-api", "port": 8080, "ratio": 0.75, "tags": ["web", "\u6771\u4eac"],
        "limits": {"rps": 1e3, "burst": 2.5E-1}, "enabled": true}''',
    r'''{"name": "emoji \ud83d\ude80 svc", "port": 443, "ratio": 1, "tags": [],
        "limits": {}, "enabled": false, "extra": null}''',
    r'''{"name": "quotes \"inside\" and \\ backslash\/slash", "port": "80", "ratio": 0.1,
        "tags": ["\t tab", "new\nline", "\u0000nul"], "limits": {"x": -0.0}, "enabled": true}''',
    r'''{"name": "dup", "name": "dup-again", "port": 70000, "ratio": 123456789012345678901234567890,
        "tags": [1, 2.0, -3e-5, 1.7976931348623157e308, 5e-324], "limits": {"n": NaN, "i": -Infinity},
        "enabled": 1}''',
    '{"name": "trailing comma", "port": 1,}',
    '{"name": "single quotes", \'port\': 1}',
    '[1, 2, 3',
    '{"name": "bad escape \\x41"}',
    '"lone surrogate \\udc00 ok"',
    '{"name": "\u00fcnicode raw", "port": 22, "ratio": 0.5, "tags": ["\u00e5"], "limits": {}, "enabled": true}',
]


class ValidationError(Exception):
    pass


def validate(cfg):
    problems = []
    if not isinstance(cfg, dict):
        raise ValidationError(f"top level must be an object, got {type(cfg).__name__}")
    for key, typ in SCHEMA.items():
        if key not in cfg:
            problems.append(f"missing {key!r}")
            continue
        value = cfg[key]
        if typ is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if typ is int and isinstance(value, bool):
            problems.append(f"{key!r} is a bool, wanted int")
        elif not isinstance(value, typ):
            problems.append(f"{key!r} has type {type(value).__name__}, wanted {typ.__name__}")
    port = cfg.get("port")
    if isinstance(port, int) and not 0 < port < 65536:
        problems.append(f"port {port} out of range")
    unknown = sorted(set(cfg) - set(SCHEMA))
    if unknown:
        problems.append(f"unknown keys {unknown}")
    if problems:
        raise ValidationError("; ".join(problems))
    return cfg


def pairs_with_duplicates(pairs):
    seen = OrderedDict()
    for k, v in pairs:
        if k in seen:
            print(f"    warning: duplicate key {k!r}: {seen[k]!r} -> {v!r}")
        seen[k] = v
    return dict(seen)


class Opaque:
    pass


class ConfigEncoder(json.JSONEncoder):
    def default(self, o):
        if isinstance(o, Decimal):
            return {"$decimal": str(o)}
        if isinstance(o, (set, frozenset)):
            return sorted(o)
        if isinstance(o, bytes):
            return {"$bytes": o.hex()}
        return super().default(o)


def main():
    valid = []
    for i, raw in enumerate(RAW_CONFIGS):
        print(f"config #{i}:")
        try:
            cfg = json.loads(raw, object_pairs_hook=pairs_with_duplicates)
        except json.JSONDecodeError as exc:
            print(f"    decode error: {exc.msg} at line {exc.lineno} col {exc.colno} (pos {exc.pos})")
            continue
        print("    parsed:", ascii(cfg))
        try:
            validate(cfg)
        except ValidationError as exc:
            print("    invalid:", exc)
            continue
        print("    valid")
        valid.append(cfg)

    print("== dumps variants ==")
    sample = valid[0]
    print(json.dumps(sample))
    print(json.dumps(sample, ensure_ascii=False))
    print(json.dumps(sample, sort_keys=True, indent=2))
    print(json.dumps(sample, separators=(",", ":"), sort_keys=True))
    print(json.dumps(sample, indent="\t", separators=(", ", " = ")))
    print(json.dumps(valid[1], ensure_ascii=False, indent=1))
    print(json.dumps(valid[1]))

    print("== floats and numbers ==")
    floats = [0.1, 1e16, 1e-7, -0.0, 1.5e300, 5e-324, 123456789.125, 2 ** 53 + 1, 10 ** 30, float("inf"),
              float("-inf"), float("nan"), True, None]
    print(json.dumps(floats))
    try:
        json.dumps(floats, allow_nan=False)
    except ValueError as exc:
        print("allow_nan=False:", exc)
    text = '[0.1, 1.10, 3.14159265358979323846264338327950288, 1e400, -1e-400, 12345678901234567890]'
    print("parse_float=Decimal:", json.loads(text, parse_float=Decimal))
    print("default float parse:", json.loads(text))
    print("parse_int=str:", json.loads("[1, -2, 300]", parse_int=str))
    print("parse_constant:", json.loads("[NaN, Infinity]", parse_constant=lambda c: f"<{c}>"))

    print("== custom encoder ==")
    record = {"amount": Decimal("12.50"), "tags": {"b", "a", "c"}, "payload": b"\x00\xffAB",
              "nested": {"z": 1, "a": [1, {"y": None, "b": False}]}}
    print(json.dumps(record, cls=ConfigEncoder, sort_keys=True, indent=2))
    try:
        json.dumps({"obj": Opaque()}, cls=ConfigEncoder)
    except TypeError as exc:
        print("unserializable:", exc)
    try:
        json.dumps({(1, 2): "tuple key"})
    except TypeError as exc:
        print("tuple key:", exc)
    print("non-str keys:", json.dumps({1: "a", 2.5: "b", True: "c", None: "d"}))
    print("skipkeys:", json.dumps({(1, 2): "x", "ok": 1}, skipkeys=True))

    print("== escapes round trip ==")
    tricky = ["\u2028\u2029", "\x7f\x1f", "</script>", "\U0001F600", "\ud800", "é\u0301", "\\\"/"]
    for s in tricky:
        enc = json.dumps(s)
        enc_u = json.dumps(s, ensure_ascii=False)
        back = json.loads(enc)
        print(f"    {ascii(s):<22} -> {enc:<28} utf8={ascii(enc_u):<24} roundtrip={back == s}")
    decoder = json.JSONDecoder()
    obj, end = decoder.raw_decode('{"a": [1, 2]} trailing text')
    print("raw_decode:", obj, "end =", end)
    stream = '{"id": 1} {"id": 2}\n{"id": 3}'
    pos, items = 0, []
    while pos < len(stream):
        while pos < len(stream) and stream[pos].isspace():
            pos += 1
        if pos >= len(stream):
            break
        obj, pos = decoder.raw_decode(stream, pos)
        items.append(obj["id"])
    print("concatenated stream ids:", items)


if __name__ == "__main__":
    main()
