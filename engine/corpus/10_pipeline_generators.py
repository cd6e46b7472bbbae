"""A streaming sensor-data pipeline built from generators and closures.

Covers generator send/throw/close, yield from (with return values),
generator expressions, coroutine-style consumers, closures with nonlocal,
counters/accumulators built from closures, and generator state inspection.
"""
import inspect
from functools import reduce


class SensorFault(Exception):
    pass


def readings(n, seed=17):
    """Deterministic fake sensor: yields (index, value)."""
    state = seed
    for i in range(n):
        state = (state * 48271) % 2147483647
        yield i, (state % 2000) / 10 - 50


def clamp(source, lo, hi):
    for i, v in source:
        yield i, min(max(v, lo), hi)


def moving_average(source, width):
    window = []
    for i, v in source:
        window.append(v)
        if len(window) > width:
            window.pop(0)
        yield i, sum(window) / len(window)


def averager():
    """Coroutine: send numbers, receive running average; returns summary on close via StopIteration."""
    total = 0.0
    count = 0
    average = None
    while True:
        try:
            value = yield average
        except SensorFault as exc:
            print(f"    averager: fault {exc!s} ignored, resetting")
            total, count, average = 0.0, 0, None
            continue
        if value is None:
            break
        total += value
        count += 1
        average = total / count
    return {"count": count, "total": round(total, 6)}


def delegator(results):
    while True:
        summary = yield from averager()
        results.append(summary)
        if len(results) >= 2:
            return "delegator done"


def chunked(iterable, size):
    chunk = []
    for x in iterable:
        chunk.append(x)
        if len(chunk) == size:
            yield tuple(chunk)
            chunk = []
    if chunk:
        yield tuple(chunk)


def flatten(nested):
    for item in nested:
        if isinstance(item, (list, tuple)):
            yield from flatten(item)
        else:
            yield item


def make_counter(start=0, step=1):
    count = start

    def tick():
        nonlocal count
        count += step
        return count

    def reset(value=start):
        nonlocal count
        old, count = count, value
        return old

    return tick, reset


def make_accumulators():
    funcs = []
    for name in ("sum", "max", "min"):
        state = {"sum": 0, "max": float("-inf"), "min": float("inf")}[name]

        def acc(x, _name=name, _box=[state]):
            if _name == "sum":
                _box[0] += x
            elif _name == "max":
                _box[0] = max(_box[0], x)
            else:
                _box[0] = min(_box[0], x)
            return _box[0]
        funcs.append((name, acc))
    return funcs


def late_binding_demo():
    late = [lambda: i * 10 for i in range(3)]
    early = [lambda i=i: i * 10 for i in range(3)]
    return [f() for f in late], [f() for f in early]


def ticket_dispenser():
    number = 100
    try:
        while True:
            cmd = yield number
            if cmd == "skip":
                number += 10
            else:
                number += 1
    finally:
        print("    dispenser closed at", number)


def main():
    print("== pipeline ==")
    pipeline = moving_average(clamp(readings(24), -30.0, 30.0), width=4)
    for i, avg in pipeline:
        bar = "#" * int((avg + 30) // 3)
        print(f"  t={i:02d} avg={avg:+8.3f} {bar}")
    print("  squares of evens:", list(x * x for x in range(20) if x % 2 == 0))
    print("  sum of generator:", sum(v for _, v in readings(100)))
    print("  any/all short-circuit:", any(v > 40 for _, v in readings(50)), all(v > -50 for _, v in readings(50)))
    gen = (c.upper() for c in "lazy")
    print("  next on genexpr:", next(gen), next(gen), list(gen), list(gen))

    print("== coroutine averager ==")
    avg = averager()
    print("  primed:", next(avg))
    for x in (10, 20, 60):
        print(f"  send({x}) -> {avg.send(x)}")
    print("  throw ->", avg.throw(SensorFault("spike")))
    print("  send(5) ->", avg.send(5))
    try:
        avg.send(None)
    except StopIteration as stop:
        print("  finished with", stop.value)

    print("== yield from delegation ==")
    results = []
    d = delegator(results)
    next(d)
    for x in (1, 2, 3, None, 100, 200, None):
        try:
            out = d.send(x)
            print(f"  send({x}) -> {out}")
        except StopIteration as stop:
            print(f"  send({x}) -> delegator returned {stop.value!r}")
            break
    print("  results:", results)
    print("  flatten:", list(flatten([1, [2, [3, (4, 5)], 6], [[[7]]], 8])))
    print("  chunked:", list(chunked(range(11), 4)))

    print("== close and generator state ==")
    disp = ticket_dispenser()
    print("  state:", inspect.getgeneratorstate(disp))
    print("  first:", next(disp), "then:", disp.send(None), disp.send("skip"), next(disp))
    print("  state:", inspect.getgeneratorstate(disp))
    disp.close()
    print("  state:", inspect.getgeneratorstate(disp))
    try:
        next(disp)
    except StopIteration:
        print("  exhausted after close")

    def stubborn():
        try:
            yield 1
        except GeneratorExit:
            yield "refuse"

    s = stubborn()
    next(s)
    try:
        s.close()
    except RuntimeError as exc:
        print("  RuntimeError:", exc)

    def raiser():
        yield 1
        raise StopIteration("inner")

    try:
        list(raiser())
    except RuntimeError as exc:
        print("  PEP 479:", exc, "| cause:", repr(exc.__cause__))

    print("== closures ==")
    tick, reset = make_counter(10, 5)
    print("  ticks:", [tick() for _ in range(4)], "reset returned", reset(), "then", tick())
    names = [c.cell_contents for c in tick.__closure__]
    print("  closure cells:", sorted(names), "freevars:", tick.__code__.co_freevars)
    for name, acc in make_accumulators():
        print(f"  {name}:", [acc(x) for x in (3, -1, 4, 1, -5, 9)])
    print("  late vs early binding:", late_binding_demo())
    compose = lambda *fs: reduce(lambda f, g: lambda x: g(f(x)), fs)
    pipeline_fn = compose(lambda x: x + 1, lambda x: x * 3, str, lambda s: s.rjust(6, "."))
    print("  composed:", [pipeline_fn(x) for x in (0, 5, 333)])

    def memo(fn):
        cache = {}
        calls = 0

        def wrapper(n):
            nonlocal calls
            calls += 1
            if n not in cache:
                cache[n] = fn(n)
            return cache[n]
        wrapper.stats = lambda: (calls, len(cache))
        return wrapper

    @memo
    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    print("  fib(90) =", fib(90), "stats (calls, cached):", fib.stats())


if __name__ == "__main__":
    main()
