"""An exact linear-algebra library over the rationals.

Covers a hand-written Rational type (operator overloading, __hash__,
__eq__ with ints, __format__, reflected operators, normalisation), a Matrix
class (Gaussian elimination, determinant, inverse, rank, solve, transpose,
matrix power, __matmul__), comparison with fractions.Fraction, and
float-to-rational conversion via as_integer_ratio.
"""
from fractions import Fraction
from math import gcd


class Rational:
    __slots__ = ("n", "d")

    def __init__(self, n, d=1):
        if isinstance(n, Rational):
            n, d = n.n * d, n.d
        if d == 0:
            raise ZeroDivisionError("Rational with zero denominator")
        if d < 0:
            n, d = -n, -d
        g = gcd(n, d) or 1
        self.n, self.d = n // g, d // g

    @classmethod
    def from_float(cls, x):
        return cls(*x.as_integer_ratio())

    @staticmethod
    def _coerce(other):
        if isinstance(other, Rational):
            return other
        if isinstance(other, int):
            return Rational(other)
        return NotImplemented

    def __add__(self, o):
        o = self._coerce(o)
        return NotImplemented if o is NotImplemented else Rational(self.n * o.d + o.n * self.d, self.d * o.d)

    __radd__ = __add__

    def __sub__(self, o):
        o = self._coerce(o)
        return NotImplemented if o is NotImplemented else Rational(self.n * o.d - o.n * self.d, self.d * o.d)

    def __rsub__(self, o):
        return Rational(o) - self

    def __mul__(self, o):
        o = self._coerce(o)
        return NotImplemented if o is NotImplemented else Rational(self.n * o.n, self.d * o.d)

    __rmul__ = __mul__

    def __truediv__(self, o):
        o = self._coerce(o)
        return NotImplemented if o is NotImplemented else Rational(self.n * o.d, self.d * o.n)

    def __rtruediv__(self, o):
        return Rational(o) / self

    def __neg__(self):
        return Rational(-self.n, self.d)

    def __abs__(self):
        return Rational(abs(self.n), self.d)

    def __pow__(self, k):
        if k < 0:
            return Rational(self.d ** -k, self.n ** -k)
        return Rational(self.n ** k, self.d ** k)

    def __eq__(self, o):
        o = self._coerce(o)
        return NotImplemented if o is NotImplemented else (self.n, self.d) == (o.n, o.d)

    def __lt__(self, o):
        o = self._coerce(o)
        return self.n * o.d < o.n * self.d

    def __le__(self, o):
        return self == o or self < o

    def __hash__(self):
        return hash(Fraction(self.n, self.d))

    def __bool__(self):
        return self.n != 0

    def __float__(self):
        return self.n / self.d

    def __repr__(self):
        return f"Rational({self.n}, {self.d})"

    def __str__(self):
        return str(self.n) if self.d == 1 else f"{self.n}/{self.d}"

    def __format__(self, spec):
        if spec.endswith("f"):
            return format(Fraction(self.n, self.d).__float__(), spec)
        return format(str(self), spec)


R = Rational


class Matrix:
    def __init__(self, rows):
        self.rows = [[x if isinstance(x, Rational) else R(x) for x in row] for row in rows]
        self.m, self.n = len(self.rows), len(self.rows[0])

    @classmethod
    def identity(cls, n):
        return cls([[1 if i == j else 0 for j in range(n)] for i in range(n)])

    def __matmul__(self, other):
        if self.n != other.m:
            raise ValueError(f"shape mismatch {self.m}x{self.n} @ {other.m}x{other.n}")
        cols = list(zip(*other.rows))
        return Matrix([[sum((a * b for a, b in zip(row, col)), R(0)) for col in cols] for row in self.rows])

    def __add__(self, other):
        return Matrix([[a + b for a, b in zip(r1, r2)] for r1, r2 in zip(self.rows, other.rows)])

    def __mul__(self, k):
        return Matrix([[a * k for a in row] for row in self.rows])

    __rmul__ = __mul__

    def __eq__(self, other):
        return self.rows == other.rows

    def __pow__(self, k):
        result, base = Matrix.identity(self.n), self
        while k:
            if k & 1:
                result = result @ base
            base = base @ base
            k >>= 1
        return result

    def T(self):
        return Matrix([list(c) for c in zip(*self.rows)])

    def rref(self):
        a = [row[:] for row in self.rows]
        pivots, r, swaps = [], 0, 0
        for c in range(self.n):
            p = next((i for i in range(r, self.m) if a[i][c]), None)
            if p is None:
                continue
            if p != r:
                a[r], a[p] = a[p], a[r]
                swaps += 1
            pv = a[r][c]
            a[r] = [x / pv for x in a[r]]
            for i in range(self.m):
                if i != r and a[i][c]:
                    f = a[i][c]
                    a[i] = [x - f * y for x, y in zip(a[i], a[r])]
            pivots.append(c)
            r += 1
            if r == self.m:
                break
        return Matrix(a), pivots

    def rank(self):
        return len(self.rref()[1])

    def det(self):
        if self.m != self.n:
            raise ValueError("determinant of non-square matrix")
        a = [row[:] for row in self.rows]
        det = R(1)
        for c in range(self.n):
            p = next((i for i in range(c, self.n) if a[i][c]), None)
            if p is None:
                return R(0)
            if p != c:
                a[c], a[p] = a[p], a[c]
                det = -det
            det = det * a[c][c]
            for i in range(c + 1, self.n):
                f = a[i][c] / a[c][c]
                a[i] = [x - f * y for x, y in zip(a[i], a[c])]
        return det

    def inverse(self):
        aug = Matrix([row + ident for row, ident in zip(self.rows, Matrix.identity(self.n).rows)])
        red, piv = aug.rref()
        if piv[:self.n] != list(range(self.n)):
            raise ZeroDivisionError("matrix is singular")
        return Matrix([row[self.n:] for row in red.rows])

    def solve(self, b):
        aug = Matrix([row + [R(v) if not isinstance(v, Rational) else v] for row, v in zip(self.rows, b)])
        red, piv = aug.rref()
        if self.n in piv:
            raise ValueError("inconsistent system")
        if len(piv) < self.n:
            raise ValueError(f"underdetermined system (rank {len(piv)})")
        return [red.rows[i][self.n] for i in range(self.n)]

    def __str__(self):
        cells = [[str(x) for x in row] for row in self.rows]
        w = max(len(c) for row in cells for c in row)
        return "\n".join("  [" + " ".join(c.rjust(w) for c in row) + "]" for row in cells)


def hilbert(n):
    return Matrix([[R(1, i + j + 1) for j in range(n)] for i in range(n)])


def main():
    print("== rational arithmetic ==")
    a, b = R(3, 4), R(-5, 6)
    for label, v in (("a", a), ("b", b), ("a+b", a + b), ("a-b", a - b), ("a*b", a * b), ("a/b", a / b),
                     ("1+a", 1 + a), ("2-a", 2 - a), ("1/b", 1 / b), ("a**3", a ** 3), ("b**-2", b ** -2),
                     ("abs(b)", abs(b)), ("R(10,-4)", R(10, -4)), ("R(0,7)", R(0, 7))):
        print(f"  {label:<9} = {v!s:<10} {v!r:<22} float={float(v)!r}")
    print("  comparisons:", a > b, a == R(6, 8), R(2) == 2, sorted([a, b, R(0), R(1, 3)]))
    print("  hash matches Fraction:", hash(R(3, 4)) == hash(Fraction(3, 4)), "| set dedupe:", len({R(1, 2), R(2, 4), R(3, 6)}))
    print("  from_float(0.1):", R.from_float(0.1), "| from_float(-2.5):", R.from_float(-2.5))
    print("  format:", f"[{a:>8}] [{b:.4f}] [{R(22, 7):^9}]")
    try:
        R(1, 0)
    except ZeroDivisionError as exc:
        print("  ZeroDivisionError:", exc)
    try:
        a + 0.5
    except TypeError as exc:
        print("  TypeError:", exc)

    print("== matrices ==")
    A = Matrix([[2, 1, -1], [-3, -1, 2], [-2, 1, 2]])
    print("A =\n" + str(A))
    print("det(A) =", A.det(), "rank =", A.rank())
    print("solve A x = [8, -11, -3]:", [str(x) for x in A.solve([8, -11, -3])])
    Ai = A.inverse()
    print("inverse(A) =\n" + str(Ai))
    print("A @ inverse(A) == I:", A @ Ai == Matrix.identity(3))
    print("A^T =\n" + str(A.T()))
    print("A^5 =\n" + str(A ** 5))
    print("2*A + A =\n" + str(2 * A + A))
    F = Matrix([[1, 1], [1, 0]])
    print("Fibonacci via matrix power: F^90[0][1] =", (F ** 90).rows[0][1])

    print("== Hilbert matrices (exact) ==")
    for n in (2, 3, 4, 5, 6):
        H = hilbert(n)
        d = H.det()
        inv = H.inverse()
        entry_sum = sum((x for row in inv.rows for x in row), R(0))
        print(f"  n={n} det=1/{(1 / d)!s:<22} sum(inverse)={entry_sum} max|inv|={max(abs(x) for row in inv.rows for x in row)}")
    print("H4^-1 =\n" + str(hilbert(4).inverse()))

    print("== singular and rectangular systems ==")
    S = Matrix([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    print("det(S) =", S.det(), "rank(S) =", S.rank())
    red, piv = S.rref()
    print("rref(S) =\n" + str(red), "\npivots:", piv)
    for rhs in ([1, 2, 3], [1, 2, 4]):
        try:
            print("solve:", S.solve(rhs))
        except ValueError as exc:
            print("solve", rhs, "->", exc)
    try:
        S.inverse()
    except ZeroDivisionError as exc:
        print("inverse(S) ->", exc)
    Rm = Matrix([[1, 2], [3, 4], [5, 6]])
    print("R^T @ R =\n" + str(Rm.T() @ Rm), "\nrank:", Rm.rank())
    try:
        Rm @ Rm
    except ValueError as exc:
        print("Rm @ Rm ->", exc)
    try:
        Rm.det()
    except ValueError as exc:
        print("det(Rm) ->", exc)
    print("== least squares fit y = a + b x (exact) ==")
    xs, ys = [0, 1, 2, 3, 4], [R(1), R(3, 2), R(5, 2), R(7, 2), R(4)]
    X = Matrix([[1, x] for x in xs])
    XtX = X.T() @ X
    Xty = X.T() @ Matrix([[y] for y in ys])
    coef = XtX.solve([row[0] for row in Xty.rows])
    print("  a =", coef[0], " b =", coef[1], f" (a~{coef[0]:.6f}, b~{coef[1]:.6f})")
    resid = [y - (coef[0] + coef[1] * x) for x, y in zip(xs, ys)]
    print("  residuals:", [str(r) for r in resid], "sum:", sum(resid, R(0)))


if __name__ == "__main__":
    main()
