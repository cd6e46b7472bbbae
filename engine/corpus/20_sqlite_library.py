"""Lending-library catalogue in an in-memory SQLite database.

Covers sqlite3 ':memory:' connections, CREATE TABLE with constraints,
executemany, qmark and named parameters, aggregates with GROUP BY/HAVING,
JOINs, ORDER BY with tie-breakers, row_factory (sqlite3.Row and a custom
factory), create_function, create_aggregate, create_collation,
transactions with commit/rollback, IntegrityError, and Python-side
formatting of results.  Nothing version-specific (sqlite_version, error
message text) is printed.
"""
import sqlite3
from decimal import Decimal

BOOKS = [
    (1, "The Left Hand of Darkness", "Le Guin", 1969, "sf", 12.99),
    (2, "A Wizard of Earthsea", "Le Guin", 1968, "fantasy", 9.50),
    (3, "Dune", "Herbert", 1965, "sf", 14.25),
    (4, "Kindred", "Butler", 1979, "sf", 11.00),
    (5, "Parable of the Sower", "Butler", 1993, "sf", 13.75),
    (6, "Piranesi", "Clarke", 2020, "fantasy", 16.00),
    (7, "Jonathan Strange & Mr Norrell", "Clarke", 2004, "fantasy", 18.40),
    (8, "Åsa's Saga", "Öberg", 2011, "history", 21.10),
    (9, "émigré Letters", "Zola", 1901, "history", 7.95),
]
MEMBERS = [("ana", "Ana Lima"), ("ben", "Ben Okoro"), ("cy", "Cy Tan"), ("dee", "Dee Moss")]
LOANS = [
    (1, "ana", "2024-01-03", "2024-01-20"), (3, "ana", "2024-01-05", None), (3, "ben", "2023-12-01", "2023-12-30"),
    (4, "ben", "2024-02-01", "2024-02-10"), (5, "ben", "2024-02-11", None), (6, "cy", "2024-03-01", "2024-03-02"),
    (7, "cy", "2024-03-03", None), (2, "dee", "2024-01-15", "2024-02-28"), (8, "dee", "2024-03-10", None),
    (1, "cy", "2024-02-01", "2024-02-03"), (3, "cy", "2024-02-15", "2024-03-01"),
]


class Median:
    def __init__(self):
        self.values = []

    def step(self, value):
        if value is not None:
            self.values.append(value)

    def finalize(self):
        if not self.values:
            return None
        v = sorted(self.values)
        mid = len(v) // 2
        return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2


def fold(text):
    import unicodedata
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def collate_folded(a, b):
    fa, fb = fold(a), fold(b)
    return (fa > fb) - (fa < fb)


def days_between(a, b):
    if a is None or b is None:
        return None
    from datetime import date
    return (date.fromisoformat(b) - date.fromisoformat(a)).days


def dict_factory(cursor, row):
    return {col[0]: row[i] for i, col in enumerate(cursor.description)}


def main():
    con = sqlite3.connect(":memory:")
    con.executescript("""
        CREATE TABLE books (
            id INTEGER PRIMARY KEY, title TEXT NOT NULL, author TEXT NOT NULL,
            year INTEGER CHECK (year > 1400), genre TEXT, price REAL);
        CREATE TABLE members (handle TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL);
        CREATE TABLE loans (
            book_id INTEGER REFERENCES books(id), handle TEXT REFERENCES members(handle),
            out_date TEXT NOT NULL, back_date TEXT);
        CREATE INDEX loans_by_member ON loans(handle);
    """)
    con.executemany("INSERT INTO books VALUES (?, ?, ?, ?, ?, ?)", BOOKS)
    con.executemany("INSERT INTO members VALUES (:handle, :name)", [{"handle": h, "name": n} for h, n in MEMBERS])
    cur = con.executemany("INSERT INTO loans VALUES (?, ?, ?, ?)", LOANS)
    print("loans inserted:", cur.rowcount, "| total changes:", con.total_changes)
    con.commit()

    con.create_function("days_between", 2, days_between, deterministic=True)
    con.create_function("fold", 1, fold)
    con.create_aggregate("median", 1, Median)
    con.create_collation("folded", collate_folded)

    print("== books by genre, year ==")
    for row in con.execute("SELECT genre, year, title, author FROM books ORDER BY genre, year DESC, id"):
        print(f"  {row[0]:<8} {row[1]} {row[2]:<32} {row[3]}")

    print("== aggregates per genre ==")
    q = """SELECT genre, COUNT(*), SUM(price), MIN(year), MAX(year), median(price), GROUP_CONCAT(id, '+')
           FROM books GROUP BY genre HAVING COUNT(*) >= 2 ORDER BY genre"""
    for genre, n, total, lo, hi, med, ids in con.execute(q):
        ids = "+".join(sorted(str(ids).split("+"), key=int))
        print(f"  {genre:<8} n={n} sum={total:.2f} years={lo}-{hi} median={med:.3f} ids={ids}")

    print("== row_factory = sqlite3.Row ==")
    con.row_factory = sqlite3.Row
    q = """SELECT m.name AS member, COUNT(l.book_id) AS loans,
                  SUM(l.back_date IS NULL) AS open_loans,
                  median(days_between(l.out_date, l.back_date)) AS median_days
           FROM members m LEFT JOIN loans l ON l.handle = m.handle
           GROUP BY m.handle ORDER BY loans DESC, member"""
    for row in con.execute(q):
        print(f"  keys={row.keys()} -> {row['member']:<9} loans={row['loans']} open={row[2]} median_days={row['median_days']}")

    print("== parameterised lookups ==")
    con.row_factory = dict_factory
    for author in ("Le Guin", "Butler", "Nobody", "Clarke' OR '1'='1"):
        rows = con.execute("SELECT id, title FROM books WHERE author = ? ORDER BY id", (author,)).fetchall()
        print(f"  {author!r}: {rows}")
    params = {"lo": 1960, "hi": 1999, "genre": "sf"}
    rows = con.execute("SELECT title, year FROM books WHERE year BETWEEN :lo AND :hi AND genre = :genre "
                       "ORDER BY year", params).fetchall()
    print("  named params:", rows)
    cur = con.execute("SELECT title FROM books WHERE price > ? ORDER BY price DESC, id", (12,))
    print("  fetchone:", cur.fetchone(), "| fetchmany(2):", cur.fetchmany(2), "| rest:", len(cur.fetchall()))
    print("  description:", [d[0] for d in cur.description])

    print("== collation and functions ==")
    con.row_factory = None
    plain = [r[0] for r in con.execute("SELECT author FROM books GROUP BY author ORDER BY author")]
    folded = [r[0] for r in con.execute("SELECT author FROM books GROUP BY author ORDER BY author COLLATE folded")]
    print("  binary order:", plain)
    print("  folded order:", folded)
    print("  titles by fold():", [r[0] for r in con.execute("SELECT title FROM books ORDER BY fold(title), id")][:5])
    print("  overdue (>30 days or open):", con.execute(
        "SELECT b.title, l.handle FROM loans l JOIN books b ON b.id = l.book_id "
        "WHERE l.back_date IS NULL OR days_between(l.out_date, l.back_date) > 30 ORDER BY l.out_date, b.id").fetchall())
    print("  expressions:", con.execute("SELECT 7 / 2, 7 / 2.0, 7 % 3, -7 / 2, 'a' || 'b', length('Öberg'), "
                                        "upper('abc'), typeof(1.0), typeof(NULL), coalesce(NULL, 'x'), "
                                        "CAST('42' AS INTEGER) + 1, abs(-3), max(1, 5, 3), instr('hello', 'l')").fetchone())

    print("== transactions ==")
    before = con.execute("SELECT COUNT(*) FROM loans").fetchone()[0]
    try:
        with con:
            con.execute("INSERT INTO loans VALUES (9, 'ana', '2024-04-01', NULL)")
            con.execute("INSERT INTO members VALUES ('eve', 'Ana Lima')")
    except sqlite3.IntegrityError:
        print("  IntegrityError on duplicate member name -> rolled back")
    after = con.execute("SELECT COUNT(*) FROM loans").fetchone()[0]
    print("  loans before/after failed transaction:", before, after)
    with con:
        cur = con.execute("INSERT INTO members VALUES (?, ?)", ("eve", "Eve Adams"))
        print("  lastrowid is an int:", isinstance(cur.lastrowid, int), "rowcount:", cur.rowcount)
    for bad in (("INSERT INTO books (id, title, author, year) VALUES (?, ?, ?, ?)", (1, "Dup", "X", 2000)),
                ("INSERT INTO books (id, title, author, year) VALUES (?, ?, ?, ?)", (99, "Old", "Y", 1200)),
                ("INSERT INTO books (id, author, year) VALUES (?, ?, ?)", (98, "Z", 2000))):
        try:
            con.execute(*bad)
        except sqlite3.IntegrityError as exc:
            print("  IntegrityError for", bad[1], "->", type(exc).__name__)
    try:
        con.execute("SELEC nonsense")
    except sqlite3.OperationalError:
        print("  OperationalError for a syntax error")
    try:
        con.execute("SELECT ?", (1, 2))
    except sqlite3.ProgrammingError:
        print("  ProgrammingError for a wrong number of bindings")
    con.execute("UPDATE books SET price = round(price * 1.1, 2) WHERE genre = 'fantasy'")
    print("  in_transaction after UPDATE:", con.in_transaction)
    con.rollback()
    print("  prices after rollback:", [r[0] for r in con.execute("SELECT price FROM books WHERE genre='fantasy' ORDER BY id")])

    print("== values round trip ==")
    con.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v)")
    values = {"int": 2 ** 62, "neg": -1, "float": 0.1, "text": "naïve ☃", "blob": b"\x00\x01\xff", "null": None,
              "bigfloat": 1e300, "decimal": str(Decimal("12.345"))}
    con.executemany("INSERT INTO kv VALUES (?, ?)", values.items())
    for k, v, t in con.execute("SELECT k, v, typeof(v) FROM kv ORDER BY k"):
        print(f"  {k:<9} {t:<8} {v!r}")
    try:
        con.execute("INSERT INTO kv VALUES ('huge', ?)", (2 ** 63,))
    except OverflowError:
        print("  OverflowError for 2**63")
    dump = list(con.iterdump())
    print("  iterdump mentions every table:", all(any(f'"{t}"' in line or f" {t} " in line for line in dump)
                                                   for t in ("books", "members", "loans", "kv")))
    con.close()
    try:
        con.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        print("  ProgrammingError after close")


if __name__ == "__main__":
    main()
