"""Quarterly sales report: reads messy CSV, aggregates, writes several CSV
dialects back out (all in memory).

Covers csv.reader/writer on io.StringIO, DictReader/DictWriter, registered
dialects, quoting modes (MINIMAL, ALL, NONNUMERIC, NONE with escapechar),
embedded quotes/newlines/delimiters, skipinitialspace, Sniffer, and
Decimal money aggregation.
"""
import csv
import io
from collections import defaultdict
from decimal import Decimal, ROUND_HALF_UP

RAW = '''region,rep,product,units,unit_price,note
North,"Lee, Ann",Widget,12,2.50,
North,"Lee, Ann",Gadget,3,19.99,"said ""call me"" later"
South,Bo Diaz,Widget,40,2.35,bulk
South,Bo Diaz,Gizmo,1,149.00,"multi-line
note here"
East,Chen Wu,Widget,0,2.50,cancelled
East,Chen Wu,Gadget,7,18.50,
West,Ümit Kaya,Gizmo,2,139.99,"tab\there"
North,Dee Ray,Gizmo,5,145.00,
South,"O'Neil, Pat",Gadget,11,19.25,"comma, inside"
'''

PIPE_DATA = """id | name | score
1 | alpha | 9.5
2 | beta | 7
3 | "gamma | delta" | 8.25
"""


class ReportDialect(csv.Dialect):
    delimiter = ";"
    quotechar = "'"
    doublequote = True
    skipinitialspace = False
    lineterminator = "\n"
    quoting = csv.QUOTE_MINIMAL


csv.register_dialect("report", ReportDialect)
csv.register_dialect("pipes", delimiter="|", skipinitialspace=True, quotechar='"', lineterminator="\n")


def money(x):
    return Decimal(x).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def main():
    print("== raw rows ==")
    reader = csv.reader(io.StringIO(RAW, newline=""))
    header = next(reader)
    print("  header:", header)
    for row in reader:
        print(f"  line {reader.line_num:>2}: {row!r}")

    print("== aggregation ==")
    totals = defaultdict(Decimal)
    units = defaultdict(int)
    by_rep = defaultdict(lambda: defaultdict(Decimal))
    for rec in csv.DictReader(io.StringIO(RAW, newline="")):
        amount = money(Decimal(rec["unit_price"]) * int(rec["units"]))
        totals[rec["region"]] += amount
        units[rec["product"]] += int(rec["units"])
        by_rep[rec["region"]][rec["rep"]] += amount
    grand = sum(totals.values(), Decimal("0"))
    for region in sorted(totals):
        share = (totals[region] / grand * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        print(f"  {region:<6} {totals[region]:>10} {share:>5}%  reps={dict(sorted(by_rep[region].items()))}")
    print(f"  {'TOTAL':<6} {grand:>10}")
    print("  units:", dict(sorted(units.items())))

    rows = [["region", "revenue", "share", "comment"]]
    for region in sorted(totals):
        rows.append([region, totals[region], float(totals[region] / grand), f'top rep: {max(by_rep[region], key=by_rep[region].get)}'])
    rows.append(["TOTAL", grand, 1.0, 'includes "cancelled", zero-unit rows'])

    print("== writer: default excel (CRLF line endings shown as \\r\\n) ==")
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows(rows)
    print(buf.getvalue().replace("\r\n", "\\r\\n\n"), end="")

    for label, kwargs in (("QUOTE_ALL", dict(quoting=csv.QUOTE_ALL)),
                          ("QUOTE_NONNUMERIC", dict(quoting=csv.QUOTE_NONNUMERIC)),
                          ("QUOTE_NONE + escapechar", dict(quoting=csv.QUOTE_NONE, escapechar="\\")),
                          ("excel-tab", dict(dialect="excel-tab")),
                          ("report dialect", dict(dialect="report")),
                          ("unix dialect", dict(dialect="unix"))):
        buf = io.StringIO(newline="")
        w = csv.writer(buf, **kwargs) if "dialect" in kwargs else csv.writer(buf, lineterminator="\n", **kwargs)
        w.writerows(rows[:3] + rows[-1:])
        print(f"== writer: {label} ==")
        print(buf.getvalue().replace("\r\n", "\\r\\n\n").replace("\t", "<TAB>"), end="")
    try:
        csv.writer(io.StringIO(), quoting=csv.QUOTE_NONE).writerow(["needs, quoting"])
    except csv.Error as exc:
        print("  QUOTE_NONE without escapechar:", exc)

    print("== DictWriter ==")
    buf = io.StringIO(newline="")
    dw = csv.DictWriter(buf, fieldnames=["product", "units", "avg_price"], extrasaction="ignore",
                        restval="n/a", lineterminator="\n")
    dw.writeheader()
    for product in sorted(units):
        dw.writerow({"product": product, "units": units[product], "ignored": "x"})
    dw.writerow({"product": "Sprocket"})
    print(buf.getvalue(), end="")
    try:
        csv.DictWriter(io.StringIO(), fieldnames=["a"]).writerow({"a": 1, "b": 2})
    except ValueError as exc:
        print("  extrasaction=raise:", exc)

    print("== round trip through the report dialect ==")
    buf = io.StringIO(newline="")
    csv.writer(buf, dialect="report").writerows([["it's", "semi;colon", "plain", "multi\nline"], [1, 2.5, None, ""]])
    text = buf.getvalue()
    print("  written:", repr(text))
    print("  read back:", list(csv.reader(io.StringIO(text, newline=""), dialect="report")))

    print("== pipe-delimited with skipinitialspace ==")
    for row in csv.DictReader(io.StringIO(PIPE_DATA, newline=""), dialect="pipes"):
        print("  ", {k.strip(): v.strip() for k, v in row.items()})
    print("  dialects registered:", sorted(d for d in csv.list_dialects() if d in ("report", "pipes", "excel", "unix")))

    print("== sniffer ==")
    sample = "name;age;city\nAnn;31;Oslo\nBob;45;Bergen\n"
    dialect = csv.Sniffer().sniff(sample)
    print("  delimiter:", repr(dialect.delimiter), "has header:", csv.Sniffer().has_header(sample))
    print("  parsed:", list(csv.reader(io.StringIO(sample), dialect)))

    print("== strict mode and errors ==")
    for bad in ('a,"unterminated\n', 'a,b"c,d\n', '"x"y,z\n'):
        try:
            print("  lenient:", list(csv.reader(io.StringIO(bad))))
        except csv.Error as exc:
            print("  lenient error:", exc)
        try:
            print("  strict:", list(csv.reader(io.StringIO(bad), strict=True)))
        except csv.Error as exc:
            print("  strict error:", exc)
    print("  field_size_limit default:", csv.field_size_limit())


if __name__ == "__main__":
    main()
