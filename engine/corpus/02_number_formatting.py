"""Numeric formatting report: a units/measurements pretty-printer.

Covers int and float format specs, repr, round, huge integers, and float
edge cases (-0.0, inf, nan, subnormals, float.hex).  Only correctly rounded
operations are printed with repr; nothing here depends on libm.
"""
import math
import sys

INT_SPECS = ["d", "+d", " d", "5d", "<8d", "^9d", ">+8d", "08d", ",d", "_d", "x", "#x", "X", "#X",
             "o", "#o", "b", "#b", "_b", "#_x", "c", "=+10d", "e", ".2f", "%"]
FLOAT_SPECS = ["", "f", ".0f", ".1f", ".3f", "e", ".2e", "E", "g", ".3g", ".10g", "G", "%", ".1%",
               "+.2f", " .2f", "=+12.3f", "012.4f", ",.2f", "_.3f", "#.0f", "#g", ".17g", "r"]


def fmt_table(values, specs, title):
    print(f"-- {title} --")
    for v in values:
        cells = []
        for spec in specs:
            if spec == "r":
                cells.append(repr(v))
                continue
            try:
                cells.append(format(v, spec))
            except (ValueError, OverflowError) as exc:
                cells.append(f"<{type(exc).__name__}>")
        print(f"{v!r}:")
        for spec, cell in zip(specs, cells):
            print(f"    {spec!r:>10} -> {cell!r}")


def float_edges():
    print("-- float edge cases --")
    neg_zero = -0.0
    inf = float("inf")
    nan = float("nan")
    tiny = 5e-324
    min_normal = sys.float_info.min
    big = sys.float_info.max
    cases = [0.0, neg_zero, inf, -inf, nan, tiny, -tiny, min_normal, min_normal / 2, big, -big,
             math.ldexp(1.0, -1074), math.ldexp(1.0, 1023), 1e16, 1e-7, 123456789012345678.0, 0.1 + 0.2, 1 / 3, 2 / 3]
    for x in cases:
        print(f"{x!r:>26} hex={x.hex():<24} str={str(x):<24} .3e={x:.3e} g={x:g}"
              f" finite={math.isfinite(x)} sub={x != 0 and abs(x) < min_normal}")
    print("copysign(1, -0.0) =", math.copysign(1.0, neg_zero))
    print("-0.0 == 0.0:", neg_zero == 0.0, " repr:", repr(neg_zero), " format:", format(neg_zero, ".2f"))
    print("round(-0.4) =", round(-0.4), " round(-0.4, 0) =", round(-0.4, 0))
    print("nan == nan:", nan == nan, " nan in [nan]:", nan in [nan], " isnan:", math.isnan(nan))
    print("inf - inf is nan:", math.isnan(inf - inf), " inf * 0 is nan:", math.isnan(inf * 0))
    print("float('-inf') < -big:", float("-inf") < -big)
    print("fromhex:", float.fromhex("0x1.921fb54442d18p+1"), float.fromhex("-0x0.0000000000001p-1022"))
    print("nextafter(1, 2) =", repr(math.nextafter(1.0, 2.0)), " ulp(1.0) =", repr(math.ulp(1.0)))
    print("ulp(0.0) =", repr(math.ulp(0.0)), " nextafter(0, -1) =", repr(math.nextafter(0.0, -1.0)))
    print("as_integer_ratio(0.1) =", (0.1).as_integer_ratio())
    print("is_integer:", (3.0).is_integer(), (3.5).is_integer())
    print("fsum vs sum:", repr(math.fsum([0.1] * 10)), repr(sum([0.1] * 10)))
    print("sqrt(2) =", repr(math.sqrt(2.0)), " sqrt(1e-320) =", repr(math.sqrt(1e-320)))
    print("divmod(-7.5, 2) =", divmod(-7.5, 2), " fmod(-7.5, 2) =", math.fmod(-7.5, 2))
    for s in ("1e400", "-1e400", "1e-400", "  12.5  ", "1_000.25", "infinity", "-NaN", "0x10"):
        try:
            print(f"float({s!r}) = {float(s)!r}")
        except ValueError as exc:
            print(f"float({s!r}) -> ValueError: {exc}")


def rounding():
    print("-- round() --")
    for x in (0.5, 1.5, 2.5, -0.5, -1.5, 2.675, 1.005, 0.125, 0.375, 1e300, 123.456):
        print(f"round({x!r}) = {round(x)!r}; round(x, 2) = {round(x, 2)!r}; round(x, -1) = {round(x, -1)!r}")
    for n in (15, 25, 35, -25, 12345, 99999):
        print(f"round({n}, -1) = {round(n, -1)}  round({n}, -2) = {round(n, -2)}")
    for x in (1e300, 3.7, -3.7):
        print(f"int({x!r}) = {int(x)}  floor = {math.floor(x)}  ceil = {math.ceil(x)}  trunc = {math.trunc(x)}")


def huge_ints():
    print("-- huge integers --")
    f = math.factorial(300)
    print("300! has", len(str(f)), "digits; head", str(f)[:30], "tail", str(f)[-30:])
    print("digit sum of 300!:", sum(int(c) for c in str(f)))
    p = 2 ** 521 - 1
    print("M521 bit_length:", p.bit_length(), " mod 1e9+7:", p % 1_000_000_007)
    print("pow(3, 10**18, M521) % 10**12 =", pow(3, 10 ** 18, p) % 10 ** 12)
    print("inverse of 12345 mod 1e9+7:", pow(12345, -1, 1_000_000_007))
    big = 10 ** 100 + 7
    print("googol+7 hex:", hex(big))
    print("to_bytes len:", len(big.to_bytes((big.bit_length() + 7) // 8, "big")))
    print("round-trip:", int.from_bytes(big.to_bytes(42, "little"), "little") == big)
    print("neg to_bytes:", (-12345).to_bytes(4, "big", signed=True).hex())
    print("isqrt(10**80+1):", math.isqrt(10 ** 80 + 1))
    print("comb(200, 100):", math.comb(200, 100))
    print("gcd/lcm:", math.gcd(2 ** 64 - 1, 2 ** 48 - 1), math.lcm(2 ** 20, 3 ** 12, 10 ** 5))
    print("divmod negative:", divmod(-(10 ** 30), 7), divmod(10 ** 30, -7))
    print("format big:", format(3 ** 100, ","), format(2 ** 70, "_x"), format(-(2 ** 40), "#b")[:20])
    print("float(2**1023 * 3 // 2) =", float(2 ** 1023 * 3 // 2))
    try:
        float(2 ** 1024)
    except OverflowError as exc:
        print("float(2**1024) -> OverflowError:", exc)
    print("int/int true division:", (10 ** 30 + 1) / 10 ** 15, 7 // -2, -7 % 3)
    limit_ok = len(str(10 ** 4000))
    print("str(10**4000) length:", limit_ok)
    try:
        str(10 ** 5000)
    except ValueError:
        print("str(10**5000) exceeds the default int max str digits")
    print("bit_count:", (2 ** 200 - 1).bit_count() if hasattr(int, "bit_count") else "n/a")


def main():
    fmt_table([0, 7, -42, 255, 65, 1234567, -9876543210, 2 ** 64], INT_SPECS, "integers")
    fmt_table([0.0, -0.0, 1.0, 0.1, -2.5, 1234.5678, 1e-5, 6.02214076e23, float("inf"), float("nan")],
              FLOAT_SPECS, "floats")
    float_edges()
    rounding()
    huge_ints()
    print("-- misc --")
    print("%-formatting:", "%5.2f|%-6d|%+e|%x|%o|%r|%s|%%" % (3.14159, 42, 12345.678, 255, 8, "a", None))
    print("str.format:", "{0:>{1}}|{2:^{3}.{4}f}|{x:#06x}".format("ab", 6, 2.71828, 10, 3, x=255))
    print("bool arithmetic:", True + True, format(True, "d"), repr(True * 1.5))


if __name__ == "__main__":
    main()
