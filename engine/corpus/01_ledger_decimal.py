"""A small double-entry bank ledger that keeps money in Decimal.

Exercises decimal contexts, precision, rounding modes, quantize, traps and
signals, localcontext, and formatting of Decimal values.
"""
from decimal import (
    Decimal, Context, localcontext, getcontext, InvalidOperation, DivisionByZero,
    Inexact, Rounded, ROUND_HALF_UP, ROUND_HALF_EVEN, ROUND_DOWN, ROUND_UP,
    ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_DOWN, ROUND_05UP,
)

CENT = Decimal("0.01")


class LedgerError(Exception):
    pass


class Account:
    def __init__(self, name, opening="0.00"):
        self.name = name
        self.balance = Decimal(opening).quantize(CENT)
        self.history = []

    def post(self, amount, memo):
        amount = Decimal(amount).quantize(CENT, rounding=ROUND_HALF_EVEN)
        self.balance += amount
        self.history.append((memo, amount, self.balance))

    def __repr__(self):
        return f"Account({self.name!r}, balance={self.balance})"


class Ledger:
    def __init__(self):
        self.accounts = {}
        self.journal = []

    def open(self, name, opening="0.00"):
        if name in self.accounts:
            raise LedgerError(f"duplicate account {name}")
        self.accounts[name] = Account(name, opening)
        return self.accounts[name]

    def transfer(self, src, dst, amount, memo):
        amount = Decimal(amount)
        if amount <= 0:
            raise LedgerError(f"non-positive transfer {amount}")
        if self.accounts[src].balance < amount:
            raise LedgerError(f"insufficient funds in {src}: {self.accounts[src].balance} < {amount}")
        self.accounts[src].post(-amount, memo)
        self.accounts[dst].post(amount, memo)
        self.journal.append((src, dst, amount.quantize(CENT), memo))

    def apply_interest(self, name, annual_rate, days, rounding=ROUND_HALF_EVEN):
        acct = self.accounts[name]
        with localcontext() as ctx:
            ctx.prec = 34
            daily = Decimal(annual_rate) / Decimal(365)
            interest = acct.balance * ((1 + daily) ** days - 1)
        credited = interest.quantize(CENT, rounding=rounding)
        acct.post(credited, f"interest {days}d @ {annual_rate}")
        return interest, credited

    def trial_balance(self):
        return sum((a.balance for a in self.accounts.values()), Decimal("0.00"))


def show_rounding_table():
    print("== rounding modes ==")
    modes = [ROUND_HALF_UP, ROUND_HALF_EVEN, ROUND_HALF_DOWN, ROUND_DOWN, ROUND_UP,
             ROUND_CEILING, ROUND_FLOOR, ROUND_05UP]
    values = ["2.345", "2.355", "-2.345", "-2.355", "0.005", "1.0049", "7.105", "-0.015"]
    print("value    " + " ".join(f"{m[6:]:>9}" for m in modes))
    for v in values:
        d = Decimal(v)
        cells = [str(d.quantize(CENT, rounding=m)) for m in modes]
        print(f"{v:<8} " + " ".join(f"{c:>9}" for c in cells))


def show_contexts():
    print("== contexts ==")
    for prec in (5, 10, 28, 50):
        ctx = Context(prec=prec, rounding=ROUND_HALF_EVEN)
        third = ctx.divide(Decimal(1), Decimal(3))
        root2 = ctx.sqrt(Decimal(2))
        e = ctx.exp(Decimal(1))
        print(f"prec={prec:<3} 1/3={third} sqrt2={root2} e={e}")
    ctx = Context(prec=6, traps=[Inexact])
    try:
        ctx.divide(Decimal(2), Decimal(3))
    except Inexact as exc:
        print("trapped Inexact:", type(exc).__name__)
    print("exact divide under Inexact trap:", ctx.divide(Decimal(6), Decimal(3)))
    ctx = Context(prec=4)
    result = ctx.add(Decimal("1.23456"), Decimal("0"))
    print("rounded add:", result, "flags:", sorted(k.__name__ for k, v in ctx.flags.items() if v))
    with localcontext() as lc:
        lc.traps[DivisionByZero] = False
        lc.traps[InvalidOperation] = False
        print("1/0 untrapped:", Decimal(1) / Decimal(0))
        print("-1/0 untrapped:", Decimal(-1) / Decimal(0))
        print("0/0 untrapped:", Decimal(0) / Decimal(0))
        print("sqrt(-1) untrapped:", Decimal(-1).sqrt())
    for expr in ("1/0", "0/0", "sqrt(-4)", "quantize"):
        try:
            if expr == "1/0":
                Decimal(1) / Decimal(0)
            elif expr == "0/0":
                Decimal(0) / Decimal(0)
            elif expr == "sqrt(-4)":
                Decimal(-4).sqrt()
            else:
                Decimal("1e30").quantize(Decimal("0.01"))
        except (DivisionByZero, InvalidOperation) as exc:
            print(f"{expr:<9} raised {type(exc).__name__}")
    print("default prec:", getcontext().prec, "rounding:", getcontext().rounding)


def show_formatting():
    print("== formatting ==")
    samples = ["1234567.891", "-0.0005", "0", "-0", "1E+3", "123.4500", "NaN", "-Infinity", "1e-10"]
    for s in samples:
        d = Decimal(s)
        print(f"{s:>12} str={str(d):<14} repr={d!r:<22} eng={d.to_eng_string():<10}"
              f" norm={d.normalize()!s:<8} tuple={d.as_tuple()}")
    d = Decimal("1234567.891")
    for spec in (",.2f", ">15,.3f", "+.1e", ".3%", "_^20.4f", "010.2f", ".5g"):
        print(f"format({d}, {spec!r}) = {format(d, spec)!r}")
    print("compare:", Decimal("1.10") == Decimal("1.1"), Decimal("1.10").compare_total(Decimal("1.1")))
    print("as_integer_ratio:", Decimal("-3.75").as_integer_ratio())
    print("from_float(0.1):", Decimal.from_float(0.1))
    print("adjusted:", Decimal("123.45e7").adjusted(), "scaleb:", Decimal("1.5").scaleb(4))


def main():
    ledger = Ledger()
    ledger.open("cash", "1000.00")
    ledger.open("savings", "25000.00")
    ledger.open("rent")
    ledger.open("groceries")
    ledger.open("utilities")
    txns = [
        ("cash", "rent", "850.00", "March rent"),
        ("savings", "cash", "1200.505", "top-up"),
        ("cash", "groceries", "63.125", "market"),
        ("cash", "groceries", "17.335", "bakery"),
        ("cash", "utilities", "120.10", "power"),
        ("cash", "rent", "5000", "too much"),
        ("groceries", "cash", "0", "zero refund"),
        ("cash", "utilities", "33.3333", "water"),
    ]
    for src, dst, amt, memo in txns:
        try:
            ledger.transfer(src, dst, amt, memo)
            print(f"ok    {memo:<12} {src:>9} -> {dst:<10} {Decimal(amt):>10}")
        except LedgerError as exc:
            print(f"FAIL  {memo:<12} {exc}")
    for rate, days, mode in (("0.045", 30, ROUND_HALF_EVEN), ("0.045", 31, ROUND_DOWN), ("0.0125", 365, ROUND_UP)):
        raw, credited = ledger.apply_interest("savings", rate, days, mode)
        print(f"interest {rate} x {days}d raw={raw:.10f} credited={credited} ({mode})")
    print("== statements ==")
    for acct in ledger.accounts.values():
        print(repr(acct))
        for memo, amount, running in acct.history:
            print(f"    {memo:<24}{amount:>12}{running:>14}")
    print("trial balance:", ledger.trial_balance())
    splits = Decimal("100.00")
    shares = [(splits / 3).quantize(CENT, rounding=ROUND_DOWN)] * 3
    remainder = splits - sum(shares)
    shares[0] += remainder
    print("split 100 three ways:", [str(s) for s in shares], "sum", sum(shares))
    show_rounding_table()
    show_contexts()
    show_formatting()


if __name__ == "__main__":
    main()
