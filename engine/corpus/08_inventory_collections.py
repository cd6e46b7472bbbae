"""A warehouse inventory system built on the collections module.

Covers Counter (arithmetic, most_common with ties, elements), OrderedDict
(move_to_end, popitem), defaultdict (nested), deque (rotate, maxlen,
appendleft), namedtuple (_replace, _asdict, _fields, defaults) and ChainMap
(layered settings, new_child, parents).
"""
from collections import ChainMap, Counter, OrderedDict, defaultdict, deque, namedtuple

Item = namedtuple("Item", "sku name category unit_price reorder_level", defaults=(10,))
Movement = namedtuple("Movement", ["kind", "sku", "qty", "ref"])

CATALOG = [
    Item("A-100", "hex bolt M6", "hardware", 0.12, 500),
    Item("A-101", "hex nut M6", "hardware", 0.05, 800),
    Item("A-102", "washer M6", "hardware", 0.02),
    Item("B-200", "cable tie 200mm", "electrical", 0.08, 300),
    Item("B-201", "wago 221-413", "electrical", 0.55, 100),
    Item("C-300", "wood glue 250ml", "adhesives", 4.25, 12),
    Item("C-301", "epoxy 2-part", "adhesives", 9.90, 6),
    Item("D-400", "sanding disc P120", "abrasives", 0.35, 200),
]

MOVEMENTS = [
    Movement("receive", "A-100", 1000, "PO-1"), Movement("receive", "A-101", 1000, "PO-1"),
    Movement("receive", "A-102", 40, "PO-1"), Movement("receive", "B-200", 250, "PO-2"),
    Movement("receive", "B-201", 150, "PO-2"), Movement("receive", "C-300", 20, "PO-3"),
    Movement("ship", "A-100", 600, "SO-7"), Movement("ship", "A-101", 650, "SO-7"),
    Movement("ship", "C-300", 15, "SO-8"), Movement("ship", "B-201", 200, "SO-9"),
    Movement("receive", "D-400", 200, "PO-4"), Movement("ship", "D-400", 5, "SO-10"),
    Movement("adjust", "A-102", -3, "count"), Movement("ship", "Z-999", 1, "SO-11"),
    Movement("ship", "A-102", 30, "SO-12"), Movement("receive", "C-301", 6, "PO-5"),
]


class Inventory:
    def __init__(self, catalog, settings):
        self.items = OrderedDict((it.sku, it) for it in catalog)
        self.stock = Counter()
        self.log = deque(maxlen=5)
        self.by_ref = defaultdict(list)
        self.errors = []
        self.settings = settings

    def apply(self, mv):
        if mv.sku not in self.items:
            self.errors.append(f"{mv.ref}: unknown sku {mv.sku}")
            return
        if mv.kind == "ship":
            if self.stock[mv.sku] < mv.qty and not self.settings["allow_backorder"]:
                self.errors.append(f"{mv.ref}: short on {mv.sku} ({self.stock[mv.sku]} < {mv.qty})")
                return
            self.stock[mv.sku] -= mv.qty
        else:
            self.stock[mv.sku] += mv.qty
        self.log.append(mv)
        self.by_ref[mv.ref.split("-")[0]].append(mv.sku)

    def value(self):
        return sum(self.stock[s] * self.items[s].unit_price for s in self.items)

    def reorder_list(self):
        return [it for it in self.items.values() if self.stock[it.sku] < it.reorder_level]


def main():
    defaults = {"allow_backorder": False, "currency": "EUR", "warehouse": "main"}
    site = {"warehouse": "north"}
    cli = {}
    settings = ChainMap(cli, site, defaults)
    print("settings:", dict(settings), "| maps:", settings.maps)
    inv = Inventory(CATALOG, settings)
    for mv in MOVEMENTS:
        inv.apply(mv)
    print("== stock ==")
    for sku, item in inv.items.items():
        print(f"  {sku} {item.name:<18} {item.category:<11} qty={inv.stock[sku]:>5} @ {item.unit_price:>5.2f}")
    print(f"  total value: {inv.value():.2f} {settings['currency']}")
    print("errors:")
    for e in inv.errors:
        print("  ", e)
    print("last movements:", [f"{m.kind}:{m.sku}" for m in inv.log])
    print("by ref prefix:", dict(inv.by_ref))
    print("reorder:", [(it.sku, inv.stock[it.sku], it.reorder_level) for it in inv.reorder_list()])

    print("== backorders via child context ==")
    rush = settings.new_child({"allow_backorder": True})
    print("child sees:", rush["allow_backorder"], rush["warehouse"], "| parent sees:", rush.parents["allow_backorder"])
    inv.settings = rush
    inv.apply(Movement("ship", "C-301", 10, "SO-13"))
    print("C-301 after backorder:", inv.stock["C-301"], "| positive stock only:", sorted((+inv.stock).items()))
    print("negative entries:", dict(-inv.stock))

    print("== Counter tricks ==")
    words = ("bolt nut washer bolt tie bolt nut glue glue tie tie disc bolt washer nut nut").split()
    c = Counter(words)
    print("most_common(3):", c.most_common(3))
    print("all by count (ties keep first-seen order):", c.most_common())
    d = Counter(bolt=1, nut=10, screw=2)
    print("c + d:", c + d)
    print("c - d:", c - d)
    print("c & d:", c & d, "| c | d:", c | d)
    print("elements of Counter(a=2, b=3):", list(Counter(a=2, b=3).elements()))
    e = Counter("mississippi")
    e.subtract("sip")
    print("subtract:", e, "total:", sum(e.values()))
    e.update({"m": 5})
    print("after update:", sorted(e.items()))
    print("letters:", Counter("abracadabra").most_common())

    print("== OrderedDict as LRU-ish queue ==")
    od = OrderedDict.fromkeys("abcde", 0)
    od.move_to_end("b")
    od.move_to_end("e", last=False)
    print("after moves:", list(od))
    print("popitem last:", od.popitem(), "popitem first:", od.popitem(last=False))
    print("equality is order-sensitive:", OrderedDict(a=1, b=2) == OrderedDict(b=2, a=1),
          "dict equality:", dict(a=1, b=2) == dict(b=2, a=1))
    print("reversed:", list(reversed(od)))

    print("== deque ==")
    dq = deque(range(10))
    dq.rotate(3)
    print("rotate(3):", list(dq))
    dq.rotate(-5)
    print("rotate(-5):", list(dq))
    dq.appendleft(-1)
    dq.extendleft([-2, -3])
    print("extendleft:", list(dq), "index of 0:", dq.index(0))
    window = deque(maxlen=3)
    for x in [5, 1, 4, 1, 5, 9, 2, 6]:
        window.append(x)
        print(f"  window {list(window)} avg={sum(window) / len(window):.3f}")
    print("deque repr:", deque("xyz", maxlen=4))

    print("== namedtuple ==")
    it = CATALOG[2]
    print(it, "| fields:", Item._fields, "| defaults:", Item._field_defaults)
    print("replace:", it._replace(unit_price=0.03), "| asdict:", it._asdict())
    print("make:", Item._make(["E-500", "drill bit", "tools", 3.2, 4]))
    sku, name, *rest = it
    print("unpack:", sku, name, rest, "| index:", it[3], "| count:", it.count(0.02))
    Point3 = namedtuple("Point3", "x y z", rename=False)
    pts = sorted([Point3(1, 2, 3), Point3(0, 5, 1), Point3(1, 0, 9)])
    print("sorted points:", pts)

    print("== nested defaultdict ==")
    tree = lambda: defaultdict(tree)
    root = tree()
    for it in CATALOG:
        root[it.category][it.sku[0]][it.sku] = it.name
    def dump(node, depth=0):
        for k in sorted(node):
            v = node[k]
            if isinstance(v, defaultdict):
                print("  " * depth + f"{k}/")
                dump(v, depth + 1)
            else:
                print("  " * depth + f"{k} = {v}")
    dump(root)
    groups = defaultdict(set)
    for it in CATALOG:
        groups[it.category].add(it.sku)
    print("groups:", {k: sorted(v) for k, v in sorted(groups.items())})


if __name__ == "__main__":
    main()
