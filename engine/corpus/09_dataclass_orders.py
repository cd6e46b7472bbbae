"""Order processing with dataclasses.

Covers @dataclass with order=True, frozen=True, field(default_factory=...),
field(compare=False, repr=False), __post_init__, InitVar, asdict/astuple,
replace, fields(), FrozenInstanceError, inheritance, and slots (3.10+).
"""
import dataclasses
from dataclasses import InitVar, asdict, astuple, dataclass, field, fields, replace
from decimal import Decimal
from enum import Enum
from typing import List, Optional


class Status(Enum):
    NEW = "new"
    PAID = "paid"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


@dataclass(frozen=True, order=True)
class Money:
    amount: Decimal
    currency: str = "EUR"

    def __add__(self, other):
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch {self.currency}/{other.currency}")
        return Money(self.amount + other.amount, self.currency)

    def __mul__(self, qty):
        return Money((self.amount * qty).quantize(Decimal("0.01")), self.currency)

    def __str__(self):
        return f"{self.amount:.2f} {self.currency}"


@dataclass(order=True)
class LineItem:
    sku: str
    qty: int
    price: Money = field(compare=False)
    note: str = field(default="", repr=False, compare=False)

    @property
    def total(self):
        return self.price * self.qty


@dataclass
class Address:
    street: str
    city: str
    country: str = "DE"


@dataclass(order=True)
class Order:
    sort_index: tuple = field(init=False, repr=False)
    order_id: int
    customer: str
    lines: List[LineItem] = field(default_factory=list, compare=False)
    status: Status = field(default=Status.NEW, compare=False)
    ship_to: Optional[Address] = field(default=None, compare=False)
    discount_pct: InitVar[int] = 0
    discount: Decimal = field(init=False, compare=False, default=Decimal("0"))

    def __post_init__(self, discount_pct):
        if discount_pct < 0 or discount_pct > 50:
            raise ValueError(f"discount {discount_pct}% out of range")
        self.discount = Decimal(discount_pct) / 100
        self.sort_index = (self.customer.lower(), self.order_id)

    def subtotal(self):
        total = Money(Decimal("0"))
        for line in self.lines:
            total = total + line.total
        return total

    def grand_total(self):
        sub = self.subtotal()
        return Money((sub.amount * (1 - self.discount)).quantize(Decimal("0.01")), sub.currency)


@dataclass(frozen=True)
class AuditEvent:
    order_id: int
    action: str
    detail: dict = field(default_factory=dict, hash=False)


@dataclass(slots=True)
class Point:
    x: float
    y: float = 0.0


@dataclass
class PriorityOrder(Order):
    priority: int = 1

    def __post_init__(self, discount_pct):
        super().__post_init__(discount_pct)
        self.sort_index = self.sort_index + (-self.priority,)


def main():
    eur = lambda s: Money(Decimal(s))
    orders = [
        Order(1003, "Zoe", [LineItem("A-1", 3, eur("9.99")), LineItem("B-2", 1, eur("120.00"), "gift")],
              discount_pct=10, ship_to=Address("Hauptstr. 1", "Köln")),
        Order(1001, "adam", [LineItem("C-3", 12, eur("0.35"))]),
        Order(1002, "Mia", [LineItem("A-1", 1, eur("9.99")), LineItem("A-1", 2, eur("9.99"))], status=Status.PAID),
        Order(1000, "adam", [], status=Status.CANCELLED),
        PriorityOrder(1004, "Bea", [LineItem("D-4", 5, eur("19.95"))], priority=3, discount_pct=5),
    ]
    print("== orders as created ==")
    for o in orders:
        print(" ", o)
    print("== natural order of plain Orders ==")
    print(" ", [o.order_id for o in sorted(o for o in orders if type(o) is Order)])
    try:
        sorted(orders)
    except TypeError as exc:
        print("  mixed classes:", exc)
    print("== sorted by sort_index (customer, id) ==")
    for o in sorted(orders, key=lambda o: o.sort_index):
        print(f"  {o.order_id} {o.customer:<5} {o.status.value:<9} sub={o.subtotal()} total={o.grand_total()}")
    print("== line items sorted (sku, qty) ==")
    all_lines = sorted(line for o in orders for line in o.lines)
    for line in all_lines:
        print(f"  {line}  total={line.total}")
    print("equal lines ignore price/note:", LineItem("X", 1, eur("1")) == LineItem("X", 1, eur("2"), "n"))

    print("== asdict / astuple ==")
    d = asdict(orders[0])
    for k, v in d.items():
        print(f"  {k}: {v!r}")
    print("  astuple(money):", astuple(eur("5.50")))
    print("  field names:", [f.name for f in fields(Order)])
    print("  init fields:", [f.name for f in fields(Order) if f.init])
    print("  is dataclass:", dataclasses.is_dataclass(Order), dataclasses.is_dataclass(orders[0]), dataclasses.is_dataclass(5))

    print("== replace and frozen ==")
    paid = replace(orders[1], status=Status.PAID, discount_pct=20)
    print("  replaced:", paid.order_id, paid.status, paid.discount, paid.grand_total())
    print("  original untouched:", orders[1].status, orders[1].discount)
    m = eur("3.00")
    try:
        m.amount = Decimal("4")
    except dataclasses.FrozenInstanceError as exc:
        print("  FrozenInstanceError:", exc)
    print("  frozen money hashable & sortable:", sorted({eur("2"), eur("1"), eur("2")}))
    print("  money ordering:", eur("1.00") < eur("1.01"), Money(Decimal("1"), "USD") > Money(Decimal("1"), "EUR"))
    try:
        eur("1") + Money(Decimal("1"), "USD")
    except ValueError as exc:
        print("  add error:", exc)
    try:
        Order(9999, "bad", discount_pct=80)
    except ValueError as exc:
        print("  post_init error:", exc)
    e1 = AuditEvent(1, "create", {"by": "system"})
    e2 = AuditEvent(1, "create", {"by": "admin"})
    print("  audit equality compares detail:", e1 == e2, "| hash ignores detail:", hash(e1) == hash(e2))

    print("== slots and defaults ==")
    p = Point(1.5)
    print(" ", p, "has __dict__:", hasattr(p, "__dict__"), "slots:", Point.__slots__)
    try:
        p.z = 3
    except AttributeError:
        print("  cannot add attribute z to slotted Point")
    try:
        Order()
    except TypeError as exc:
        print("  TypeError:", exc)

    print("== dynamic dataclass ==")
    Row = dataclasses.make_dataclass("Row", [("name", str), ("score", int, field(default=0))], order=True)
    rows = sorted([Row("c", 3), Row("a", 7), Row("b"), Row("a", 2)])
    print(" ", rows)
    print("  best:", max(rows, key=lambda r: r.score))
    totals = {}
    for o in orders:
        totals.setdefault(o.status.name, Money(Decimal("0")))
        totals[o.status.name] = totals[o.status.name] + o.grand_total()
    for k in sorted(totals):
        print(f"  {k:<10} {totals[k]}")


if __name__ == "__main__":
    main()
