"""A tokenizer and recursive-descent parser/evaluator for a small
calculator language with exact rational arithmetic.

Grammar:
    stmt    := NAME '=' expr | expr
    expr    := term (('+' | '-') term)*
    term    := unary (('*' | '/' | '%') unary)*
    unary   := ('-' | '+') unary | power
    power   := call ('^' unary)?
    call    := NAME '(' args ')' | atom
    atom    := NUMBER | NAME | '(' expr ')'
Covers re-based tokenizing, classes with __repr__, recursion, fractions,
error reporting with caret positions, and an AST pretty printer.
"""
import re
from fractions import Fraction
from math import gcd

TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_]\w*)
  | (?P<op>[-+*/%^(),=])
  | (?P<bad>.)
""", re.VERBOSE)


class CalcError(Exception):
    def __init__(self, msg, pos):
        super().__init__(msg)
        self.pos = pos


class Token:
    __slots__ = ("kind", "text", "pos")

    def __init__(self, kind, text, pos):
        self.kind, self.text, self.pos = kind, text, pos

    def __repr__(self):
        return f"{self.kind}:{self.text!r}@{self.pos}"


def tokenize(src):
    out = []
    for m in TOKEN_RE.finditer(src):
        kind = m.lastgroup
        if kind == "ws":
            continue
        if kind == "bad":
            raise CalcError(f"unexpected character {m.group()!r}", m.start())
        out.append(Token(kind, m.group(), m.start()))
    out.append(Token("eof", "", len(src)))
    return out


class Num:
    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return f"Num({self.value})"


class Var:
    def __init__(self, name, pos):
        self.name, self.pos = name, pos

    def __repr__(self):
        return f"Var({self.name})"


class BinOp:
    def __init__(self, op, left, right, pos):
        self.op, self.left, self.right, self.pos = op, left, right, pos

    def __repr__(self):
        return f"BinOp({self.op!r}, {self.left!r}, {self.right!r})"


class Neg:
    def __init__(self, operand):
        self.operand = operand

    def __repr__(self):
        return f"Neg({self.operand!r})"


class Call:
    def __init__(self, name, args, pos):
        self.name, self.args, self.pos = name, args, pos

    def __repr__(self):
        return f"Call({self.name}, {self.args!r})"


class Assign:
    def __init__(self, name, expr):
        self.name, self.expr = name, expr

    def __repr__(self):
        return f"Assign({self.name}, {self.expr!r})"


class Parser:
    def __init__(self, tokens):
        self.toks, self.i = tokens, 0

    def take(self, text=None):
        t = self.toks[self.i]
        if text is not None and t.text != text:
            raise CalcError(f"expected {text!r} but found {t.text or 'end of input'!r}", t.pos)
        self.i += 1
        return t

    def statement(self):
        if self.toks[self.i].kind == "name" and self.toks[self.i + 1].text == "=":
            name = self.take().text
            self.take("=")
            node = Assign(name, self.expr())
        else:
            node = self.expr()
        if self.toks[self.i].kind != "eof":
            t = self.toks[self.i]
            raise CalcError(f"unexpected {t.text!r}", t.pos)
        return node

    def expr(self):
        node = self.term()
        while self.toks[self.i].text in ("+", "-"):
            t = self.take()
            node = BinOp(t.text, node, self.term(), t.pos)
        return node

    def term(self):
        node = self.unary()
        while self.toks[self.i].text in ("*", "/", "%"):
            t = self.take()
            node = BinOp(t.text, node, self.unary(), t.pos)
        return node

    def unary(self):
        if self.toks[self.i].text == "-":
            self.take()
            return Neg(self.unary())
        if self.toks[self.i].text == "+":
            self.take()
            return self.unary()
        return self.power()

    def power(self):
        base = self.call()
        if self.toks[self.i].text == "^":
            t = self.take()
            return BinOp("^", base, self.unary(), t.pos)
        return base

    def call(self):
        t = self.toks[self.i]
        if t.kind == "name" and self.toks[self.i + 1].text == "(":
            self.take()
            self.take("(")
            args = []
            if self.toks[self.i].text != ")":
                args.append(self.expr())
                while self.toks[self.i].text == ",":
                    self.take()
                    args.append(self.expr())
            self.take(")")
            return Call(t.text, args, t.pos)
        return self.atom()

    def atom(self):
        t = self.take()
        if t.kind == "number":
            return Num(Fraction(t.text))
        if t.kind == "name":
            return Var(t.text, t.pos)
        if t.text == "(":
            node = self.expr()
            self.take(")")
            return node
        raise CalcError(f"unexpected {t.text or 'end of input'!r}", t.pos)


def lcm(a, b):
    return a * b // gcd(a, b)


FUNCS = {
    "abs": (1, lambda a: abs(a)),
    "min": (None, lambda *a: min(a)),
    "max": (None, lambda *a: max(a)),
    "floor": (1, lambda a: Fraction(a.numerator // a.denominator)),
    "gcd": (2, lambda a, b: Fraction(gcd(int(a), int(b)))),
    "lcm": (2, lambda a, b: Fraction(lcm(int(a), int(b)))),
    "avg": (None, lambda *a: sum(a, Fraction(0)) / len(a)),
}


def evaluate(node, env):
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Var):
        if node.name not in env:
            raise CalcError(f"undefined variable {node.name!r}", node.pos)
        return env[node.name]
    if isinstance(node, Neg):
        return -evaluate(node.operand, env)
    if isinstance(node, Assign):
        env[node.name] = evaluate(node.expr, env)
        return env[node.name]
    if isinstance(node, Call):
        if node.name not in FUNCS:
            raise CalcError(f"unknown function {node.name!r}", node.pos)
        arity, fn = FUNCS[node.name]
        args = [evaluate(a, env) for a in node.args]
        if arity is not None and len(args) != arity or not args:
            raise CalcError(f"{node.name}() takes {arity or '1+'} argument(s), got {len(args)}", node.pos)
        return fn(*args)
    a, b = evaluate(node.left, env), evaluate(node.right, env)
    if node.op == "+":
        return a + b
    if node.op == "-":
        return a - b
    if node.op == "*":
        return a * b
    if node.op in "/%":
        if b == 0:
            raise CalcError("division by zero", node.pos)
        return a / b if node.op == "/" else a % b
    if b.denominator != 1:
        raise CalcError("only integer exponents are supported", node.pos)
    if abs(b) > 1000:
        raise CalcError("exponent too large", node.pos)
    return a ** int(b)


def fmt(value):
    if value.denominator == 1:
        return str(value.numerator)
    return f"{value} (~{float(value):.10g})"


PROGRAM = [
    "1 + 2 * 3", "(1 + 2) * 3", "2 ^ 3 ^ 2", "-2 ^ 2", "(-2) ^ 2", "7 / 3", "7 % 3", "-7 % 3",
    "1/3 + 1/6", "0.1 + 0.2", "1.5e3 / 4", "2 ^ -3", "2 ^ 100", "x = 10", "y = x / 4", "x * y - 3",
    "avg(1, 2, 3, 4)", "min(3, y, 2.4)", "max(1/3, 0.33)", "floor(-7/2)", "gcd(84, 36) + lcm(4, 6)",
    "abs(-5/8)", "rate = 3/100", "balance = 1000 * (1 + rate) ^ 5", "floor(balance)",
    "1 / (x - 10)", "2 ^ (1/2)", "unknown + 1", "foo(3)", "min()", "gcd(1)", "3 +", "(1 + 2",
    "4 $ 4", "1 2", "= 5", "2 ^ 5000", "((((((1))))))+-+-1",
]


def main():
    env = {}
    print("tokens:", tokenize("area = 3.5 * (r ^ 2) - f(1, 2)"))
    print("ast:", Parser(tokenize("a = -b + c * (2 - d) ^ 3")).statement())
    for line in PROGRAM:
        try:
            tree = Parser(tokenize(line)).statement()
            value = evaluate(tree, env)
            print(f"  {line:<34} => {fmt(value)}")
        except CalcError as exc:
            print(f"  {line:<34} !! {exc}")
            print(f"  {'':<4}{line}")
            print(f"  {'':<4}{' ' * exc.pos}^")
    print("environment:")
    for name in sorted(env):
        print(f"  {name} = {fmt(env[name])}")
    digits = str(evaluate(Parser(tokenize("2 ^ 1000")).statement(), env))
    print("2^1000 has", len(digits), "digits; digit sum", sum(map(int, digits)))
    harmonic = sum((Fraction(1, k) for k in range(1, 31)), Fraction(0))
    print("H(30) =", harmonic.numerator, "/", harmonic.denominator)
    print("limit_denominator:", Fraction(3.141592653589793).limit_denominator(1000), Fraction("0.333").limit_denominator(10))


if __name__ == "__main__":
    main()
