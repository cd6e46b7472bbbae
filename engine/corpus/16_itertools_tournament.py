"""Tournament planner and report built on itertools.

Covers product, permutations, combinations, combinations_with_replacement,
groupby, accumulate (with func and initial), chain / chain.from_iterable,
islice, pairwise, batched (guarded: 3.12+), tee, zip_longest, starmap,
cycle, repeat, count, compress, dropwhile/takewhile, filterfalse.
"""
import itertools as it
import operator

TEAMS = ["Ajax", "Benfica", "Celtic", "Dynamo", "Everton", "Feyenoord"]


def round_robin(teams):
    """Circle method: every team meets every other team once."""
    teams = list(teams)
    if len(teams) % 2:
        teams.append(None)
    n = len(teams)
    rounds = []
    for r in range(n - 1):
        pairs = [(teams[i], teams[n - 1 - i]) for i in range(n // 2)]
        rounds.append([p for p in pairs if None not in p])
        teams = [teams[0]] + [teams[-1]] + teams[1:-1]
    return rounds


def score(home, away, r):
    h = (len(home) * 7 + len(away) * 3 + r) % 5
    a = (len(away) * 5 + len(home) + 2 * r) % 4
    return h, a


def batched(iterable, n):
    if hasattr(it, "batched"):
        return [tuple(b) for b in it.batched(iterable, n)]
    iterator = iter(iterable)
    out = []
    while True:
        chunk = tuple(it.islice(iterator, n))
        if not chunk:
            return out
        out.append(chunk)


def main():
    print("== fixtures ==")
    schedule = round_robin(TEAMS)
    results = []
    for r, matches in enumerate(schedule, 1):
        line = []
        for home, away in matches:
            h, a = score(home, away, r)
            results.append((r, home, away, h, a))
            line.append(f"{home} {h}-{a} {away}")
        print(f"  round {r}: " + "; ".join(line))
    all_pairs = {frozenset(p) for rnd in schedule for p in rnd}
    print("  distinct pairings:", len(all_pairs), "expected:", len(list(it.combinations(TEAMS, 2))))

    print("== standings ==")
    points = {t: 0 for t in TEAMS}
    goals = {t: [0, 0] for t in TEAMS}
    for _, home, away, h, a in results:
        goals[home][0] += h; goals[home][1] += a
        goals[away][0] += a; goals[away][1] += h
        if h > a:
            points[home] += 3
        elif a > h:
            points[away] += 3
        else:
            points[home] += 1
            points[away] += 1
    table = sorted(TEAMS, key=lambda t: (-points[t], -(goals[t][0] - goals[t][1]), -goals[t][0], t))
    for pos, t in enumerate(table, 1):
        print(f"  {pos}. {t:<10} pts={points[t]:>2} gf={goals[t][0]:>2} ga={goals[t][1]:>2}")
    print("  grouped by points:")
    for pts, grp in it.groupby(table, key=points.get):
        print(f"    {pts:>2}: {', '.join(grp)}")

    print("== cumulative goals by round ==")
    per_round = [sum(h + a for rr, _, _, h, a in results if rr == r) for r in range(1, len(schedule) + 1)]
    print("  per round:", per_round)
    print("  running total:", list(it.accumulate(per_round)))
    print("  running max:", list(it.accumulate(per_round, max)))
    print("  running product (initial=1):", list(it.accumulate(per_round, operator.mul, initial=1)))
    print("  round deltas (pairwise):", [b - a for a, b in it.pairwise(per_round)])

    print("== combinatorics ==")
    print("  product('AB', repeat=2):", ["".join(p) for p in it.product("AB", repeat=2)])
    print("  product(range(2), 'xy'):", list(it.product(range(2), "xy")))
    print("  permutations('abc', 2):", ["".join(p) for p in it.permutations("abc", 2)])
    print("  combinations(range(5), 3):", list(it.combinations(range(5), 3)))
    print("  combinations_with_replacement('xyz', 2):", ["".join(c) for c in it.combinations_with_replacement("xyz", 2)])
    print("  podium orders of top 4:", sum(1 for _ in it.permutations(table[:4], 3)))
    coins = [1, 2, 5]
    ways = [c for n in range(1, 5) for c in it.combinations_with_replacement(coins, n) if sum(c) == 7]
    print("  ways to pay 7 with up to 4 coins:", ways)

    print("== slicing and chaining ==")
    evens = (x for x in it.count(0, 2))
    print("  islice(count(0, 2), 5, 12, 3):", list(it.islice(evens, 5, 12, 3)))
    print("  chain:", list(it.chain("ab", [1, 2], (None,))))
    print("  chain.from_iterable:", list(it.chain.from_iterable(["xy", "z", ""])))
    print("  cycle+islice:", "".join(it.islice(it.cycle("RGB"), 10)))
    print("  repeat:", list(it.repeat("ha", 3)), list(map(pow, range(5), it.repeat(2))))
    print("  starmap:", list(it.starmap(operator.sub, [(10, 3), (4, 8), (0, 0)])))
    print("  zip_longest:", list(it.zip_longest("abcd", [1, 2], fillvalue="-")))
    print("  compress:", list(it.compress(TEAMS, [points[t] >= 7 for t in TEAMS])))
    print("  takewhile/dropwhile:", list(it.takewhile(lambda x: x < 5, [1, 4, 6, 2])), list(it.dropwhile(lambda x: x < 5, [1, 4, 6, 2])))
    print("  filterfalse:", list(it.filterfalse(str.isupper, "aBcDeF")))
    a, b = it.tee(iter(per_round), 2)
    print("  tee:", list(a), sum(b))
    print("  batched(…, 4):", batched(range(10), 4))
    print("  batched teams in pairs:", batched(TEAMS, 2))

    print("== groupby on sorted log ==")
    log = sorted(results, key=lambda r: (r[1], r[0]))
    for home, grp in it.groupby(log, key=operator.itemgetter(1)):
        grp = list(grp)
        print(f"  {home:<10} home games={len(grp)} rounds={[g[0] for g in grp]} goals={sum(g[3] for g in grp)}")
    runs = [(k, len(list(g))) for k, g in it.groupby("aaabccddddeaa")]
    print("  run-length:", runs, "->", "".join(f"{k}{n}" for k, n in runs))
    words = "apple avocado banana blueberry cherry cranberry date".split()
    print("  by first letter:", {k: list(g) for k, g in it.groupby(words, key=lambda w: w[0])})


if __name__ == "__main__":
    main()
