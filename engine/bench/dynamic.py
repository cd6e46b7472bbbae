"""Dynamic attribute and dispatch workload: attribute reads and writes, method calls,
properties, dict traffic, getattr/setattr with computed names, __getattr__ fallbacks and
polymorphic calls, the kind of code engines run.

Usage: dynamic.py M    (M iterations; prints a checksum)
"""
import sys


class Vector:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    @property
    def manhattan(self):
        return abs(self.x) + abs(self.y)

    def shift(self, dx, dy):
        self.x += dx
        self.y += dy
        return self


class Shape:
    def area(self):
        return 0


class Square(Shape):
    def __init__(self, side):
        self.side = side

    def area(self):
        return self.side * self.side


class Rect(Shape):
    def __init__(self, w, h):
        self.w = w
        self.h = h

    def area(self):
        return self.w * self.h


class Config:
    """Unknown settings fall back to defaults through __getattr__."""

    defaults = {"retries": 3, "timeout": 30, "depth": 2}

    def __init__(self, **values):
        self.__dict__.update(values)

    def __getattr__(self, name):
        return Config.defaults.get(name, 0)


def run(m):
    v = Vector(0, 0)
    shapes = [Square(3), Rect(2, 5), Square(4), Rect(1, 7)]
    cfg = Config(retries=5)
    counters = {}
    names = ("alpha", "beta", "gamma", "delta")
    acc = 0
    for i in range(m):
        v.shift(1, -2)
        acc += v.manhattan
        shape = shapes[i & 3]
        acc += shape.area()
        name = names[i & 3]
        counters[name] = counters.get(name, 0) + 1
        setattr(v, "tag", name)
        acc += len(getattr(v, "tag"))
        acc += cfg.retries + cfg.timeout
    return acc + sum(counters.values())


print(run(int(sys.argv[1])))
