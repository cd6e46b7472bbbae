"""Batch importer with structured error reporting.

Covers exception hierarchies, raise ... from, implicit chaining (__context__),
suppressed context (from None), try/except/else/finally ordering, context
managers that suppress, exception notes, ExceptionGroup and except*, and
traceback.format_exc()/format_exception() printed to stdout.  Every frame in
every traceback belongs to this script.
"""
import sys
import traceback


class ImportFailure(Exception):
    """Base class for importer errors."""


class ParseError(ImportFailure):
    def __init__(self, line_no, text):
        super().__init__(f"line {line_no}: cannot parse {text!r}")
        self.line_no = line_no


class RangeError(ImportFailure, ValueError):
    pass


RAW = """\
widget,4,2.50
gadget,x,1.00
doohickey,3,
sprocket,-2,0.75
gizmo,10,1e3
"""


def parse_line(no, line):
    name, qty, price = line.split(",")
    try:
        q = int(qty)
    except ValueError as exc:
        raise ParseError(no, qty) from exc
    try:
        p = float(price)
    except ValueError:
        raise ParseError(no, price)
    if q < 0:
        raise RangeError(f"line {no}: negative quantity {q}")
    return name, q, p


def load(text):
    ok, failures = [], []
    for no, line in enumerate(text.splitlines(), 1):
        try:
            rec = parse_line(no, line)
        except RangeError as exc:
            failures.append(("range", exc))
        except ImportFailure as exc:
            failures.append(("parse", exc))
        else:
            ok.append(rec)
        finally:
            print(f"  processed line {no}")
    return ok, failures


class Suppress:
    def __init__(self, *types):
        self.types = types
        self.caught = []

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if et is not None and issubclass(et, self.types):
            self.caught.append(f"{et.__name__}: {ev}")
            return True
        return False


def level3(data):
    return data["missing"]


def level2(data):
    try:
        return level3(data)
    except KeyError as exc:
        raise LookupError("level2 could not find the key") from exc


def level1(data):
    try:
        return level2(data)
    except LookupError:
        raise RuntimeError("level1 gave up")


def check_items(items):
    errors = []
    for i, item in enumerate(items):
        try:
            if not isinstance(item, int):
                raise TypeError(f"item {i} is {type(item).__name__}")
            if item < 0:
                raise ValueError(f"item {i} is negative")
        except Exception as exc:
            exc.add_note(f"while checking item #{i}")
            errors.append(exc)
    if errors:
        raise ExceptionGroup("invalid items", errors)


def finally_order():
    log = []
    def inner():
        try:
            log.append("try")
            return "from try"
        finally:
            log.append("finally")
    result = inner()
    def overriding():
        try:
            raise ValueError("lost")
        finally:
            return "finally wins"
    return result, log, overriding()


def main():
    print("== loading ==")
    ok, failures = load(RAW)
    print("loaded:", ok)
    for kind, exc in failures:
        cause = exc.__cause__
        ctx = exc.__context__
        print(f"  [{kind}] {type(exc).__name__}: {exc}")
        print(f"      cause={type(cause).__name__ if cause else None} context={type(ctx).__name__ if ctx else None}"
              f" suppress={exc.__suppress_context__} isinstance ValueError={isinstance(exc, ValueError)}")

    print("== formatted traceback of a chained error ==")
    try:
        level1({"present": 1})
    except RuntimeError:
        text = traceback.format_exc()
        print(text, end="")
        exc = sys.exc_info()[1]
        chain = []
        while exc is not None:
            chain.append(type(exc).__name__)
            exc = exc.__cause__ or exc.__context__
        print("chain:", " <- ".join(chain))

    print("== raise from None ==")
    try:
        try:
            {}["k"]
        except KeyError:
            raise ValueError("clean error") from None
    except ValueError:
        print(traceback.format_exc(), end="")

    print("== format_exception_only / notes ==")
    try:
        int("forty-two")
    except ValueError as exc:
        exc.add_note("hint: use digits")
        print("".join(traceback.format_exception_only(type(exc), exc)), end="")
        print("notes:", exc.__notes__)

    print("== exception groups ==")
    try:
        check_items([1, "two", -3, 4.0, 5])
    except* TypeError as group:
        print("TypeErrors:", [str(e) for e in group.exceptions])
    except* ValueError as group:
        print("ValueErrors:", [str(e) for e in group.exceptions], [e.__notes__ for e in group.exceptions])
    try:
        check_items(["a", -1])
    except ExceptionGroup as eg:
        print(traceback.format_exc(), end="")
        match, rest = eg.split(TypeError)
        print("split:", [str(e) for e in match.exceptions], [str(e) for e in rest.exceptions])
        print("subgroup:", eg.subgroup(lambda e: isinstance(e, ValueError)).exceptions)

    print("== suppression and finally ==")
    guard = Suppress(ZeroDivisionError, KeyError)
    for op in (lambda: 1 / 0, lambda: {}["x"], lambda: "fine"):
        with guard:
            print("  result:", op())
    print("  suppressed:", guard.caught)
    try:
        with Suppress(KeyError):
            [].pop()
    except IndexError as exc:
        print("  not suppressed:", repr(exc))
    print("  finally order:", finally_order())

    print("== exception attributes ==")
    for exc in (FileNotFoundError("settings.ini missing"), UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
                KeyError("k"), StopIteration(7), SystemExit(4), RangeError("r"), ParseError(9, "zz")):
        print(f"  {type(exc).__name__:<18} str={str(exc)!r:<60} args={exc.args}")
    print("  MRO of RangeError:", [c.__name__ for c in RangeError.__mro__])
    try:
        raise ImportFailure("outer")
    except ImportFailure as exc:
        stored = exc
    print("  exception variable cleared after except:", "exc" not in dir())
    print("  stored traceback present:", stored.__traceback__ is not None)
    lines = traceback.format_exception(stored)
    print("  format_exception(stored):")
    for chunk in lines:
        print("   |" + chunk.rstrip("\n").replace("\n", "\n   |"))


if __name__ == "__main__":
    main()
