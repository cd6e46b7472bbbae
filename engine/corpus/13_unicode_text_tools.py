"""Unicode-aware text utilities: a column formatter for mixed-script tables.

Covers unicodedata (normalize NFC/NFD/NFKC/NFKD, name, category, combining,
east_asian_width, decimal/numeric, bidirectional, mirrored), str.casefold,
case mapping of non-ASCII text, encode/decode with utf-8, utf-16, utf-32,
latin-1, cp1252, ascii and error handlers, plus display-width alignment.
"""
import codecs
import unicodedata


def display_width(s):
    width = 0
    for ch in s:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def pad(s, width, align="<"):
    gap = max(0, width - display_width(s))
    if align == "<":
        return s + " " * gap
    if align == ">":
        return " " * gap + s
    left = gap // 2
    return " " * left + s + " " * (gap - left)


def render_table(rows):
    widths = [max(display_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    sep = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [sep]
    for n, r in enumerate(rows):
        out.append("| " + " | ".join(pad(c, w, "^" if n == 0 else "<") for c, w in zip(r, widths)) + " |")
        if n == 0:
            out.append(sep.replace("-", "="))
    out.append(sep)
    return "\n".join(out)


def slugify(text):
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    out, dash = [], False
    for ch in text:
        if ch.isascii() and ch.isalnum():
            out.append(ch)
            dash = False
        elif not dash and out:
            out.append("-")
            dash = True
    return "".join(out).strip("-")


def main():
    print("== display-width table ==")
    rows = [("name", "city", "note"), ("Zoë", "Zürich", "umlaut"), ("李小龍", "香港", "wide CJK"),
            ("ｶﾀｶﾅ", "東京都", "halfwidth kana"), ("José", "São Paulo", "combining: e\u0301"),
            ("Ørsted", "København", "Æ Ø Å"), ("한국어", "서울", "Hangul"), ("ＡＢＣ", "fullwidth", "Ｆ")]
    print(render_table(rows))
    for s in ("abc", "東京", "ｶﾅ", "e\u0301", "\u200b", "👍", "Ａ"):
        print(f"  {ascii(s):<18} len={len(s)} width={display_width(s)} eaw={[unicodedata.east_asian_width(c) for c in s]}")

    print("== normalization ==")
    samples = ["é", "e\u0301", "ﬁ", "Å", "Å", "①", "ｶ", "x²", "Ⅻ", "ǆ", "\u1e9b\u0323"]
    for s in samples:
        forms = {f: unicodedata.normalize(f, s) for f in ("NFC", "NFD", "NFKC", "NFKD")}
        print(f"  {ascii(s):<16}" + " ".join(f"{f}={ascii(v):<16}" for f, v in forms.items()))
    a, b = "caf\u00e9", "cafe\u0301"
    print("  equal raw:", a == b, " equal NFC:", unicodedata.normalize("NFC", a) == unicodedata.normalize("NFC", b))
    if hasattr(unicodedata, "is_normalized"):
        print("  is_normalized NFC:", unicodedata.is_normalized("NFC", a), unicodedata.is_normalized("NFC", b))

    print("== character database ==")
    for ch in "Aß9٣½Ωω€\u0301\u200d中😀\t":
        print(f"  U+{ord(ch):05X} {unicodedata.name(ch, '<unnamed>'):<40} cat={unicodedata.category(ch)}"
              f" bidi={unicodedata.bidirectional(ch) or '-':<3} comb={unicodedata.combining(ch)}"
              f" dec={unicodedata.decimal(ch, None)} num={unicodedata.numeric(ch, None)} mirr={unicodedata.mirrored(ch)}")
    print("  lookup:", unicodedata.lookup("SNOWMAN"), ascii(unicodedata.lookup("LATIN SMALL LETTER SHARP S")))
    print("  decomposition of é:", unicodedata.decomposition("é"), "| of ﬁ:", unicodedata.decomposition("ﬁ"))

    print("== case mapping ==")
    words = ["Straße", "ǅemal", "İstanbul", "ΣΊΣΥΦΟΣ", "ﬂour", "Ǉubljana", "MAẞE", "Ωmega", "i̇"]
    for w in words:
        print(f"  {w:<10} upper={w.upper():<12} lower={w.lower():<12} title={w.title():<12}"
              f" casefold={w.casefold():<12} swapcase={w.swapcase()}")
    print("  caseless equal:", "STRASSE".casefold() == "straße".casefold(), "STRASSE".lower() == "straße".lower())
    print("  isidentifier:", [s.isidentifier() for s in ("naïve", "变量", "2x", "_ok", "a-b")])
    print("  numeric tests:", [(s, s.isdigit(), s.isdecimal(), s.isnumeric()) for s in ("123", "١٢٣", "½", "²", "Ⅷ")])
    print("  int() of other digits:", int("١٢٣"), int("१२३४"), float("٣.٥"))
    print("  center/ljust:", "|" + "ñ".center(7, "·") + "|", "|" + "日本".ljust(6, "＿") + "|")
    print("  split unicode whitespace:", "a\u3000b\u00a0c\u2003d".split())
    print("  slugify:", [slugify(t) for t in ("Crème Brûlée – Recipe #1", "Ångström & Co.", "Ｆｕｌｌ ｗｉｄｔｈ!")])

    print("== encodings ==")
    text = "Grüße, Δ, 東京, 😀"
    for enc in ("utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32-be", "utf-8-sig"):
        data = text.encode(enc)
        print(f"  {enc:<10} {len(data):>3} bytes head={data[:12].hex(' ')} roundtrip={data.decode(enc) == text}")
    for enc in ("latin-1", "ascii", "cp1252"):
        for errors in ("strict", "replace", "ignore", "xmlcharrefreplace", "backslashreplace", "namereplace"):
            try:
                print(f"  {enc:<8} {errors:<17} {text.encode(enc, errors=errors)!r}")
            except UnicodeEncodeError as exc:
                print(f"  {enc:<8} {errors:<17} UnicodeEncodeError at {exc.start}-{exc.end}: {exc.reason}")
    broken = b"ok \xff\xfe bad \xc3\x28 trunc \xe6\x9d"
    for errors in ("replace", "ignore", "backslashreplace", "surrogateescape"):
        s = broken.decode("utf-8", errors=errors)
        print(f"  decode {errors:<16} -> {ascii(s)}")
    s = broken.decode("utf-8", "surrogateescape")
    print("  surrogateescape round trip:", s.encode("utf-8", "surrogateescape") == broken)
    try:
        broken.decode("utf-8")
    except UnicodeDecodeError as exc:
        print(f"  strict decode: {exc.reason} at byte {exc.start} ({exc.object[exc.start:exc.end]!r})")
    print("  latin-1 bytes 0x80-0x8f:", ascii(bytes(range(0x80, 0x90)).decode("latin-1")))
    print("  cp1252 euro & quotes:", b"\x80 \x93q\x94".decode("cp1252"))
    print("  utf-16 surrogate pair:", "😀".encode("utf-16-be").hex(), "| utf-8:", "😀".encode().hex())
    print("  lone surrogate encode:", "\ud800".encode("utf-8", "surrogatepass").hex())
    dec = codecs.getincrementaldecoder("utf-8")()
    pieces = [dec.decode(bytes([b])) for b in "€uro".encode()]
    print("  incremental decoder:", pieces)
    print("  idna:", "bücher.example".encode("idna"), "| punycode:", "münchen".encode("punycode"))
    print("  rot13:", codecs.encode("Hello, World", "rot13"), "| escape:", "tab\there\n".encode("unicode_escape"))
    print("  sorted by codepoint:", sorted(["zebra", "Äpfel", "apple", "Zürich", "éclair", "eclair"]))
    print("  sorted casefold+NFKD:", sorted(["zebra", "Äpfel", "apple", "Zürich", "éclair", "eclair"], key=slugify))


if __name__ == "__main__":
    main()
