"""A small template engine that compiles templates to Python functions.

Syntax: {{ expr|filter:arg }}, {% for x in items %}...{% endfor %},
{% if cond %}...{% elif cond %}...{% else %}...{% endif %}, {# comment #}.
Covers re-based lexing, code generation with compile()/exec() into a
private namespace, closures for filters, html.escape, str methods,
dotted attribute/key lookup via getattr/__getitem__, and error reporting.
"""
import html
import re

TOKEN = re.compile(r"({{.*?}}|{%.*?%}|{#.*?#})", re.DOTALL)


class TemplateError(Exception):
    pass


def make_filters():
    def truncate(s, n="10"):
        s, n = str(s), int(n)
        return s if len(s) <= n else s[: n - 1] + "…"

    def money(v, cur="€"):
        return f"{cur}{v:,.2f}"

    def pluralize(n, suffix="s"):
        return "" if n == 1 else suffix

    return {
        "upper": lambda s: str(s).upper(),
        "lower": lambda s: str(s).lower(),
        "title": lambda s: str(s).title(),
        "escape": lambda s: html.escape(str(s)),
        "length": len,
        "join": lambda seq, sep=", ": sep.join(map(str, seq)),
        "default": lambda v, d="": v if v not in (None, "", []) else d,
        "truncate": truncate,
        "money": money,
        "pluralize": pluralize,
        "center": lambda s, w="20": str(s).center(int(w), "*"),
        "sorted": sorted,
        "first": lambda seq: seq[0] if seq else "",
    }


def resolve(ctx, dotted):
    parts = dotted.split(".")
    try:
        value = ctx[parts[0]]
    except KeyError:
        raise TemplateError(f"undefined variable {parts[0]!r}") from None
    for part in parts[1:]:
        if isinstance(value, dict):
            value = value[part]
        elif part.isdigit():
            value = value[int(part)]
        else:
            value = getattr(value, part)
    return value


class Template:
    def __init__(self, source, name="<template>"):
        self.source = source
        self.name = name
        self.code = self._compile(source)
        namespace = {}
        exec(compile(self.code, name, "exec"), {"_resolve": resolve, "_filters": make_filters(),
                                               "TemplateError": TemplateError}, namespace)
        self._render = namespace["render"]

    def _expr(self, text):
        pieces = [p.strip() for p in text.split("|")]
        head = pieces[0]
        if re.fullmatch(r"-?\d+(\.\d+)?", head) or re.fullmatch(r"'[^']*'", head):
            code = head
        elif re.fullmatch(r"[A-Za-z_][\w.]*", head):
            code = f"_resolve(ctx, {head!r})"
        else:
            raise TemplateError(f"bad expression {head!r}")
        for f in pieces[1:]:
            fname, _, arg = f.partition(":")
            args = f", {arg.strip()!r}" if arg else ""
            code = f"_filters[{fname.strip()!r}]({code}{args})"
        return code

    def _cond(self, text):
        m = re.fullmatch(r"(not\s+)?(.+?)(?:\s*(==|!=|>=|<=|>|<)\s*(.+))?", text.strip())
        neg, left, op, right = m.groups()
        code = self._expr(left)
        if op:
            code = f"({code} {op} {self._expr(right)})"
        return f"(not {code})" if neg else code

    def _compile(self, source):
        lines = ["def render(ctx):", "    out = []", "    ctx = dict(ctx)"]
        indent = 1
        stack = []
        for tok in TOKEN.split(source):
            if not tok:
                continue
            pad = "    " * indent
            if tok.startswith("{#"):
                continue
            if tok.startswith("{{"):
                lines.append(f"{pad}out.append(str({self._expr(tok[2:-2])}))")
            elif tok.startswith("{%"):
                words = tok[2:-2].split(None, 1)
                kw, rest = words[0], (words[1] if len(words) > 1 else "")
                if kw == "for":
                    var, _, seq = rest.partition(" in ")
                    var = var.strip()
                    lines.append(f"{pad}_seq = list({self._expr(seq)})")
                    lines.append(f"{pad}for _i, _item in enumerate(_seq):")
                    lines.append(f"{pad}    ctx[{var!r}] = _item")
                    lines.append(f"{pad}    ctx['loop'] = {{'index': _i + 1, 'first': _i == 0, 'last': _i == len(_seq) - 1}}")
                    stack.append("for")
                    indent += 1
                elif kw == "if":
                    lines.append(f"{pad}if {self._cond(rest)}:")
                    stack.append("if")
                    indent += 1
                elif kw in ("elif", "else"):
                    if not stack or stack[-1] != "if":
                        raise TemplateError(f"{kw} outside if")
                    head = f"elif {self._cond(rest)}:" if kw == "elif" else "else:"
                    lines.append("    " * (indent - 1) + head)
                elif kw in ("endfor", "endif"):
                    if not stack or stack.pop() != kw[3:]:
                        raise TemplateError(f"unexpected {kw}")
                    lines.append(f"{pad}pass")
                    indent -= 1
                else:
                    raise TemplateError(f"unknown tag {kw!r}")
            else:
                lines.append(f"{pad}out.append({tok!r})")
        if stack:
            raise TemplateError(f"unclosed {stack[-1]}")
        lines.append("    return ''.join(out)")
        return "\n".join(lines)

    def render(self, **ctx):
        return self._render(ctx)


class Customer:
    def __init__(self, name, tier):
        self.name = name
        self.tier = tier


INVOICE = """\
{# invoice template #}
INVOICE for {{ customer.name|title }} ({{ customer.tier|upper }})
{{ 'items'|center:30 }}
{% for line in lines %}{{ loop.index }}. {{ line.desc|truncate:18 }} x{{ line.qty }} = {{ line.total|money }}{% if loop.last %}
{% else %};
{% endif %}{% endfor %}{% if total > 100 %}Big order! {% elif total > 50 %}Nice order. {% else %}Small order. {% endif %}Total: {{ total|money:$ }}
{{ lines|length }} line{{ lines|length|pluralize }}; tags: {{ tags|sorted|join: / }}
Note: {{ note|default:(none)|escape }}
"""


def main():
    t = Template(INVOICE, "invoice")
    print("== generated code ==")
    for i, line in enumerate(t.code.splitlines(), 1):
        print(f"{i:3} {line}")
    orders = [
        (Customer("ada lovelace", "gold"), [("Analytical engine gears", 3, 19.99), ("Punch cards", 200, 0.05)],
         {"math", "history", "engines"}, "Deliver <before> Friday & call"),
        (Customer("charles babbage", "silver"), [("Difference engine", 1, 1499.5)], {"engines"}, ""),
        (Customer("grace", "bronze"), [("Moth", 1, 0.5), ("Compiler manual", 2, 12.25), ("COBOL mug", 1, 8)],
         set(), None),
    ]
    for cust, items, tags, note in orders:
        lines = [{"desc": d, "qty": q, "total": q * p} for d, q, p in items]
        total = sum(l["total"] for l in lines)
        print("== render ==")
        print(t.render(customer=cust, lines=lines, total=total, tags=tags, note=note), end="")

    print("== small templates ==")
    cases = [
        ("Hello {{ name }}!", {"name": "wörld"}),
        ("{{ xs|first }}-{{ xs.1 }}-{{ xs|length }}", {"xs": ["a", "b", "c"]}),
        ("{% for c in word %}[{{ c|upper }}]{% endfor %}", {"word": "abc"}),
        ("{% if not flag %}off{% else %}on{% endif %}", {"flag": False}),
        ("{% if n == 3 %}three{% elif n != 4 %}not four{% else %}four{% endif %}", {"n": 4}),
        ("{% for r in rows %}{% for c in r %}{{ c }}{% if not loop.last %},{% endif %}{% endfor %};{% endfor %}",
         {"rows": [[1, 2], [3], []]}),
        ("{{ missing }}", {}),
        ("{% if x %}unclosed", {"x": 1}),
        ("{% endfor %}", {}),
        ("{% while x %}", {}),
        ("{{ 1 + 2 }}", {}),
        ("{{ user.email }}", {"user": Customer("x", "y")}),
        ("{{ d.key|escape }}", {"d": {"key": "<b>&amp;</b>"}}),
    ]
    for src, ctx in cases:
        try:
            print(f"  {src!r:<70} -> {Template(src).render(**ctx)!r}")
        except TemplateError as exc:
            print(f"  {src!r:<70} !! TemplateError: {exc}")
        except AttributeError as exc:
            print(f"  {src!r:<70} !! AttributeError: {exc}")


if __name__ == "__main__":
    main()
