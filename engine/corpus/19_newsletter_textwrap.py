"""Plain-text newsletter formatter.

Covers textwrap.wrap/fill with many options (width, initial/subsequent
indent, break_long_words, break_on_hyphens, max_lines, placeholder,
expand_tabs, replace_whitespace, drop_whitespace, fix_sentence_endings),
TextWrapper reuse, dedent, indent with predicate, shorten, plus
string.Template and str alignment to build boxed sections.
"""
import string
import textwrap

ARTICLES = [
    ("Community garden opens", """\
        After three years of planning, the community garden on Elm Street
        opened its gates on Saturday.  Volunteers planted forty-two raised
        beds, a herb spiral and an experimental three-sisters patch.   The
        organisers thank everyone who donated tools, seeds and time.
        Next workshop: composting-for-beginners (bring gloves!).
    """),
    ("Library extends hours", """\
        The public library will stay open until 21:00 on weekdays. The
        extended hours are funded by a two-year grant.\tA new self-service
        kiosk lets members borrow e-books, audiobooks and board games.
    """),
    ("Pneumonoultramicroscopicsilicovolcanoconiosis explained", """\
        Dr. Smith gives a short talk on long words. E.g. the title word is
        an invented term.   Supercalifragilisticexpialidocious will not be
        discussed. Questions? Ask at the front desk.
    """),
]

BOX = string.Template("+${bar}+\n| ${title} |\n+${bar}+")
FOOTER = string.Template("$count articles • issue #$issue • contact: $$editor")


def boxed(title, width):
    inner = title.center(width - 4)
    return BOX.substitute(bar="-" * (width - 2), title=inner)


def main():
    width = 60
    print(boxed("THE ELM STREET GAZETTE", width))
    wrapper = textwrap.TextWrapper(width=width, initial_indent="  ", subsequent_indent="  ",
                                   fix_sentence_endings=True)
    for title, body in ARTICLES:
        text = textwrap.dedent(body).strip()
        print()
        print(textwrap.fill(title.upper(), width=width, break_long_words=True))
        print("=" * min(width, len(title)))
        for para in wrapper.wrap(text):
            print(para)
        print("  summary:", textwrap.shorten(text, width=48, placeholder=" [...]"))

    print()
    print("== widths ==")
    sample = textwrap.dedent(ARTICLES[0][1]).strip()
    for w in (20, 33, 47):
        lines = textwrap.wrap(sample, width=w)
        print(f"-- width {w}: {len(lines)} lines, longest {max(map(len, lines))}")
        for line in lines[:6]:
            print(f"|{line:<{w}}|")

    print("== long words and hyphens ==")
    long_text = "antidisestablishmentarianism is a well-known, long-winded, self-referential example"
    for blw in (True, False):
        for boh in (True, False):
            print(f"-- break_long_words={blw} break_on_hyphens={boh}")
            for line in textwrap.wrap(long_text, width=12, break_long_words=blw, break_on_hyphens=boh):
                print(f"   [{line}]")

    print("== max_lines and placeholder ==")
    body = textwrap.dedent(ARTICLES[1][1]).strip()
    print(textwrap.fill(body, width=40, max_lines=3, placeholder=" …more"))
    print(textwrap.fill(body, width=40, max_lines=2, initial_indent="> ", subsequent_indent="> "))

    print("== whitespace handling ==")
    messy = "col1\tcol2\t\tcol3\nnext   line\t end"
    print(repr(textwrap.fill(messy, width=80)))
    print(repr(textwrap.fill(messy, width=80, expand_tabs=False, replace_whitespace=False)))
    print(repr(textwrap.fill(messy, width=80, tabsize=4)))
    print(textwrap.wrap("   leading and trailing   ", width=10, drop_whitespace=False))
    print(textwrap.wrap("   leading and trailing   ", width=10))
    print(textwrap.wrap("", width=10), textwrap.wrap("   ", width=10))

    print("== dedent / indent ==")
    code = """
        def greet(name):
            if name:
                return f"hi {name}"

            return "hi"
    """
    ded = textwrap.dedent(code)
    print(ded, end="")
    print(textwrap.indent(ded, ">>> ", lambda line: line.strip().startswith("def")), end="")
    print(textwrap.indent(ded.strip("\n"), "  | "))
    print(textwrap.indent("a\n\nb\n", "# "), end="")
    print(textwrap.indent("a\n\nb\n", "# ", predicate=lambda line: True), end="")
    print(repr(textwrap.dedent("  x\n\ty\n")), repr(textwrap.dedent("    a\n      b\n\n    c")))

    print("== shorten ==")
    for w in (10, 15, 25, 80):
        print(f"  {w:>2}: {textwrap.shorten('The quick   brown fox jumps over the lazy dog', width=w)!r}")
    try:
        textwrap.shorten("anything goes here", width=3, placeholder=" [...]")
    except ValueError as exc:
        print("  ValueError:", exc)

    print("== template ==")
    print(FOOTER.substitute(count=len(ARTICLES), issue=17))
    tmpl = string.Template("Dear ${name}, your balance is $amount. ${missing}")
    print(tmpl.safe_substitute(name="Ms. Ortiz", amount="12.50"))
    try:
        tmpl.substitute(name="x")
    except KeyError as exc:
        print("  missing key:", exc)
    try:
        string.Template("bad $ sign").substitute()
    except ValueError as exc:
        print("  invalid placeholder:", exc)
    print("  identifiers:", tmpl.get_identifiers() if hasattr(tmpl, "get_identifiers") else "n/a")
    print("  capwords:", string.capwords("hello   wide  world"), "|", string.capwords("a-b c-d", "-"))
    table = [("Item", "Qty", "Price"), ("Tea", 2, 3.5), ("Cake slice", 12, 2.25), ("Soup", 1, 6.0)]
    for name, qty, price in table:
        if isinstance(qty, int):
            print(f"  {name:.<14}{qty:>4} x {price:>6.2f} = {qty * price:>7.2f}")
        else:
            print(f"  {name:<14}{qty:>4}   {price:>6}")


if __name__ == "__main__":
    main()
