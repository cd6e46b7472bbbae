"""Employee directory reports: sorting records many ways.

Covers sorted/list.sort with key functions, reverse, stability and
multi-pass sorts, tuple keys with mixed directions, functools.cmp_to_key,
operator.itemgetter/attrgetter/methodcaller, locale-free natural sort,
bisect (insort, bisect_left/right with key on 3.10+), heapq (nlargest,
nsmallest, merge, heappush/heappop) and functools.total_ordering.
"""
import bisect
import heapq
import re
from functools import cmp_to_key, total_ordering
from operator import attrgetter, itemgetter, methodcaller

EMPLOYEES = [
    ("E017", "Okafor", "Ngozi", "eng", 7, 98000, "2015-03-01"),
    ("E003", "Smith", "Anna", "sales", 5, 61000, "2018-07-15"),
    ("E042", "smith", "bob", "eng", 5, 87000, "2019-01-10"),
    ("E008", "Müller", "Jörg", "ops", 4, 55000, "2020-11-30"),
    ("E011", "Nguyen", "Linh", "eng", 7, 98000, "2013-05-20"),
    ("E025", "Garcia", "Lucía", "sales", 6, 72000, "2016-09-01"),
    ("E002", "Zhang", "Wei", "ops", 4, 55000, "2021-02-14"),
    ("E030", "Åberg", "Sven", "eng", 3, 64000, "2022-06-06"),
    ("E005", "O'Brien", "Liam", "sales", 5, 61000, "2017-04-04"),
    ("E019", "Smith", "Anna", "ops", 2, 43000, "2023-08-21"),
]
FIELDS = ("id", "last", "first", "dept", "grade", "salary", "hired")


@total_ordering
class Version:
    def __init__(self, text):
        self.text = text
        self.parts = tuple(int(p) if p.isdigit() else p for p in re.split(r"[.\-]", text))

    def _key(self):
        return tuple((0, p) if isinstance(p, int) else (-1, p) for p in self.parts)

    def __eq__(self, other):
        return self._key() == other._key()

    def __lt__(self, other):
        return self._key() < other._key()

    def __repr__(self):
        return f"Version({self.text!r})"


def natural_key(s):
    return [int(t) if t.isdigit() else t.casefold() for t in re.split(r"(\d+)", s)]


def dept_then_seniority(a, b):
    if a["dept"] != b["dept"]:
        return -1 if a["dept"] < b["dept"] else 1
    if a["grade"] != b["grade"]:
        return b["grade"] - a["grade"]
    return (a["hired"] > b["hired"]) - (a["hired"] < b["hired"])


def show(title, rows, cols=("id", "last", "first", "dept", "grade", "salary", "hired")):
    print(f"-- {title} --")
    for r in rows:
        print("   " + " ".join(f"{str(r[c]):<8}" for c in cols))


def main():
    people = [dict(zip(FIELDS, e)) for e in EMPLOYEES]
    show("by id", sorted(people, key=itemgetter("id")))
    show("by salary desc, then last name asc", sorted(people, key=lambda p: (-p["salary"], p["last"])))
    show("case-insensitive last, first", sorted(people, key=lambda p: (p["last"].casefold(), p["first"].casefold())))
    stable = sorted(people, key=itemgetter("hired"))
    stable.sort(key=itemgetter("grade"), reverse=True)
    stable.sort(key=itemgetter("dept"))
    show("multi-pass stable: dept asc, grade desc, hired asc", stable, ("dept", "grade", "hired", "id"))
    via_cmp = sorted(people, key=cmp_to_key(dept_then_seniority))
    print("   same as cmp_to_key version:", [p["id"] for p in via_cmp] == [p["id"] for p in stable])
    ties = sorted(people, key=itemgetter("salary"))
    print("   stability of ties at 55000/61000/98000:",
          [(p["salary"], p["id"]) for p in ties if p["salary"] in (55000, 61000, 98000)])
    rev = sorted(people, key=itemgetter("grade"), reverse=True)
    print("   reverse=True keeps tie order:", [(p["grade"], p["id"]) for p in rev])

    print("-- attrgetter / methodcaller --")
    class Rec:
        def __init__(self, d):
            self.__dict__.update(d)
            self.name = f"{d['first']} {d['last']}"
    recs = [Rec(p) for p in people]
    print("   by (dept, name):", [r.name for r in sorted(recs, key=attrgetter("dept", "name"))])
    print("   by upper-cased last:", [r.last for r in sorted(recs, key=lambda r: methodcaller("upper")(r.last))])
    print("   min/max by salary:", min(recs, key=attrgetter("salary")).id, max(recs, key=attrgetter("salary")).id)

    print("-- natural and version sorting --")
    files = ["file10.txt", "File2.txt", "file1.txt", "file20.txt", "file3.TXT", "file2b.txt", "img12", "img2"]
    print("   plain:  ", sorted(files))
    print("   natural:", sorted(files, key=natural_key))
    versions = ["1.10.0", "1.2.0", "1.2.0-rc1", "1.2", "0.9.12", "1.2.0-beta", "10.0", "2.0.0"]
    print("   versions:", sorted(versions, key=Version))
    print("   newest:", max(map(Version, versions)), "| 1.2 < 1.2.0:", Version("1.2") < Version("1.2.0"))
    mixed = [3, 1.5, True, -2, 2.5, False, 0]
    print("   mixed numbers:", sorted(mixed), "| by abs:", sorted(mixed, key=abs))
    words = ["banana", "Apple", "cherry", "apple", "Banana", "date", "éclair"]
    print("   by length then alpha:", sorted(words, key=lambda w: (len(w), w)))
    print("   lists compare lexicographically:", sorted([[2, 1], [1, 9, 9], [1, 9], [], [2]]))
    try:
        sorted([3, "three", 3.0])
    except TypeError as exc:
        print("   TypeError:", exc)

    print("-- bisect --")
    salaries = sorted(p["salary"] for p in people)
    print("   salaries:", salaries)
    for probe in (40000, 55000, 61000, 100000):
        print(f"   {probe}: left={bisect.bisect_left(salaries, probe)} right={bisect.bisect_right(salaries, probe)}")
    bands = [50000, 60000, 80000, 95000]
    labels = "EDCBA"
    print("   bands:", [(p["id"], labels[bisect.bisect(bands, p["salary"])]) for p in people])
    roster = []
    for p in people:
        bisect.insort(roster, (p["hired"], p["id"]))
    print("   insort roster:", [r[1] for r in roster])
    by_hired = sorted(people, key=itemgetter("hired"))
    i = bisect.bisect_left(by_hired, "2019-01-01", key=itemgetter("hired"))
    print("   hired since 2019:", [p["id"] for p in by_hired[i:]])

    print("-- heapq --")
    print("   top 3 salaries:", heapq.nlargest(3, people, key=itemgetter("salary")) == sorted(people, key=itemgetter("salary"), reverse=True)[:3],
          [p["id"] for p in heapq.nlargest(3, people, key=itemgetter("salary"))])
    print("   2 most junior:", [p["id"] for p in heapq.nsmallest(2, people, key=itemgetter("grade", "hired"))])
    heap = []
    for p in people:
        heapq.heappush(heap, (p["grade"], p["id"]))
    print("   pop order:", [heapq.heappop(heap)[1] for _ in range(len(heap))])
    a = sorted(p["salary"] for p in people if p["dept"] == "eng")
    b = sorted(p["salary"] for p in people if p["dept"] != "eng")
    print("   merge:", list(heapq.merge(a, b)))
    print("   merge reverse by key:", list(heapq.merge(["ccc", "a"], ["bb", ""], key=len, reverse=True)))
    data = [9, 4, 7, 1, 8, 2]
    heapq.heapify(data)
    print("   heapify:", data)
    print("   pushpop(5):", heapq.heappushpop(data, 5), data)
    print("   replace(0):", heapq.heapreplace(data, 0), data)


if __name__ == "__main__":
    main()
