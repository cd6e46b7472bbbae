"""Cache policy simulator: LRU, LFU and FIFO caches replayed against a
seeded, skewed access trace, plus functools.lru_cache/cache behaviour.

Covers OrderedDict-based LRU, heap-based LFU with tie-breaking, deque FIFO,
abstract base classes, functools.lru_cache (cache_info, cache_clear,
typed=True), functools.cache, cached_property, partial, wraps,
singledispatch, and a seeded Zipf-like trace from random.Random.
"""
import functools
import random
from abc import ABC, abstractmethod
from collections import Counter, OrderedDict, deque
import heapq


class Cache(ABC):
    def __init__(self, capacity):
        self.capacity = capacity
        self.hits = self.misses = self.evictions = 0
        self.evicted = []

    def access(self, key):
        if self._lookup(key):
            self.hits += 1
            return True
        self.misses += 1
        if self._size() >= self.capacity:
            victim = self._evict()
            self.evictions += 1
            if len(self.evicted) < 8:
                self.evicted.append(victim)
        self._insert(key)
        return False

    @abstractmethod
    def _lookup(self, key): ...

    @abstractmethod
    def _insert(self, key): ...

    @abstractmethod
    def _evict(self): ...

    @abstractmethod
    def _size(self): ...

    def stats(self):
        total = self.hits + self.misses
        return f"hits={self.hits:>4} misses={self.misses:>4} evictions={self.evictions:>4} hit-rate={self.hits / total:.4f}"


class LRUCache(Cache):
    def __init__(self, capacity):
        super().__init__(capacity)
        self.data = OrderedDict()

    def _lookup(self, key):
        if key in self.data:
            self.data.move_to_end(key)
            return True
        return False

    def _insert(self, key):
        self.data[key] = True

    def _evict(self):
        return self.data.popitem(last=False)[0]

    def _size(self):
        return len(self.data)


class FIFOCache(Cache):
    def __init__(self, capacity):
        super().__init__(capacity)
        self.queue, self.members = deque(), set()

    def _lookup(self, key):
        return key in self.members

    def _insert(self, key):
        self.queue.append(key)
        self.members.add(key)

    def _evict(self):
        victim = self.queue.popleft()
        self.members.discard(victim)
        return victim

    def _size(self):
        return len(self.queue)


class LFUCache(Cache):
    """Evicts the least frequently used key; ties broken by oldest last use."""

    def __init__(self, capacity):
        super().__init__(capacity)
        self.freq, self.last, self.heap, self.clock = {}, {}, [], 0

    def _touch(self, key):
        self.clock += 1
        self.freq[key] = self.freq.get(key, 0) + 1
        self.last[key] = self.clock
        heapq.heappush(self.heap, (self.freq[key], self.clock, key))

    def _lookup(self, key):
        if key in self.freq:
            self._touch(key)
            return True
        return False

    def _insert(self, key):
        self._touch(key)

    def _evict(self):
        while True:
            f, t, key = heapq.heappop(self.heap)
            if key in self.freq and self.freq[key] == f and self.last[key] == t:
                del self.freq[key], self.last[key]
                return key

    def _size(self):
        return len(self.freq)


def make_trace(seed, n, universe):
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(universe)]
    keys = [f"k{i:03d}" for i in range(universe)]
    rng.shuffle(keys)
    trace = rng.choices(keys, weights=weights, k=n)
    for start in range(0, n, 500):      # periodic scans defeat LRU
        trace[start:start] = [f"scan{j:02d}" for j in range(12)]
    return trace


@functools.lru_cache(maxsize=64)
def edit_distance(a, b):
    if not a or not b:
        return len(a) + len(b)
    if a[0] == b[0]:
        return edit_distance(a[1:], b[1:])
    return 1 + min(edit_distance(a[1:], b), edit_distance(a, b[1:]), edit_distance(a[1:], b[1:]))


@functools.lru_cache(maxsize=None, typed=True)
def describe(x):
    return f"{type(x).__name__}:{x!r}"


@functools.cache
def partitions(n, k):
    if n == 0:
        return 1
    if n < 0 or k == 0:
        return 0
    return partitions(n - k, k) + partitions(n, k - 1)


def logged(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        result = fn(*args, **kwargs)
        print(f"    {fn.__name__}{args} -> {result}")
        return result
    return wrapper


@logged
def area(w, h=1):
    """Rectangle area."""
    return w * h


class Dataset:
    def __init__(self, values):
        self.values = values
        self.computations = 0

    @functools.cached_property
    def summary(self):
        self.computations += 1
        return (min(self.values), max(self.values), sum(self.values))


@functools.singledispatch
def size_of(obj):
    return 1


@size_of.register
def _(obj: list):
    return sum(size_of(x) for x in obj)


@size_of.register
def _(obj: dict):
    return sum(size_of(v) for v in obj.values())


@size_of.register(str)
def _(obj):
    return len(obj)


def main():
    trace = make_trace(2024, 3000, 150)
    print("trace length:", len(trace), "distinct keys:", len(set(trace)))
    print("hottest keys:", Counter(trace).most_common(6))
    print("first 20 accesses:", " ".join(trace[:20]))
    for capacity in (8, 32, 96):
        print(f"== capacity {capacity} ==")
        for cls in (LRUCache, LFUCache, FIFOCache):
            cache = cls(capacity)
            timeline = []
            for i, key in enumerate(trace):
                cache.access(key)
                if i % 750 == 749:
                    timeline.append(cache.hits)
            print(f"  {cls.__name__:<10} {cache.stats()} hits@750s={timeline}")
            print(f"  {'':<10} first evictions: {cache.evicted}")
    try:
        Cache(3)
    except TypeError as exc:
        print("abstract:", exc)

    print("== functools.lru_cache ==")
    pairs = [("kitten", "sitting"), ("flaw", "lawn"), ("intention", "execution"), ("", "abc"), ("kitten", "sitting")]
    for a, b in pairs:
        print(f"  edit_distance({a!r}, {b!r}) = {edit_distance(a, b)}")
    info = edit_distance.cache_info()
    print("  cache_info:", info, "| maxsize:", info.maxsize)
    edit_distance.cache_clear()
    print("  after clear:", edit_distance.cache_info())
    for v in (1, 1.0, True, "1", 1, 1.0):
        describe(v)
    print("  typed cache entries:", describe.cache_info().currsize, "hits:", describe.cache_info().hits)
    print("  describe values:", [describe(v) for v in (1, 1.0, True)])
    print("  partitions(40, 40) =", partitions(40, 40), "| cache size:", partitions.cache_info().currsize)
    print("  cache_parameters:", edit_distance.cache_parameters(), describe.cache_parameters())

    print("== wraps / partial / cached_property / singledispatch ==")
    area(3, 4)
    square_ish = functools.partial(area, h=2)
    square_ish(5)
    print("  wrapped name/doc:", area.__name__, "|", area.__doc__, "| partial kw:", square_ish.keywords)
    ds = Dataset([5, 3, 9, 1])
    print("  summary:", ds.summary, ds.summary, "computed", ds.computations, "time(s)")
    del ds.summary
    ds.values.append(42)
    print("  after invalidation:", ds.summary, "computed", ds.computations, "time(s)")
    print("  size_of:", size_of(7), size_of("hello"), size_of([1, "ab", [2, 3]]), size_of({"a": "xyz", "b": [1, 2]}))
    print("  registry types:", sorted(t.__name__ for t in size_of.registry))
    total = functools.reduce(lambda acc, kv: acc + kv[1], Counter(trace).items(), 0)
    print("  reduce total:", total)


if __name__ == "__main__":
    main()
