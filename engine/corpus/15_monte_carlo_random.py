"""Seeded simulations: a card game, a queue simulation and a random walk.

Covers random.Random(seed) instances only: random, randint, randrange,
choice, choices (weights, cum_weights), shuffle, sample, uniform, gauss,
normalvariate, expovariate, getrandbits, getstate/setstate, and seeding with
str/bytes/int.  Values derived from transcendental functions are printed
with 12 significant digits.
"""
import random
from collections import Counter

SUITS = "♠♥♦♣"
RANKS = "23456789TJQKA"


def new_deck():
    return [r + s for s in SUITS for r in RANKS]


def hand_score(hand):
    values = {r: i for i, r in enumerate(RANKS, 2)}
    counts = Counter(card[0] for card in hand)
    shape = sorted(counts.values(), reverse=True)
    flush = len({card[1] for card in hand}) == 1
    ranks = sorted((values[c[0]] for c in hand), reverse=True)
    straight = len(counts) == 5 and ranks[0] - ranks[-1] == 4
    if straight and flush:
        return "straight flush"
    if shape[0] == 4:
        return "four of a kind"
    if shape[:2] == [3, 2]:
        return "full house"
    if flush:
        return "flush"
    if straight:
        return "straight"
    if shape[0] == 3:
        return "three of a kind"
    if shape[:2] == [2, 2]:
        return "two pair"
    if shape[0] == 2:
        return "pair"
    return "high card"


def card_game(rng, rounds):
    tally = Counter()
    for rnd in range(rounds):
        deck = new_deck()
        rng.shuffle(deck)
        hands = [deck[i * 5:(i + 1) * 5] for i in range(4)]
        for hand in hands:
            tally[hand_score(hand)] += 1
        if rnd < 3:
            print(f"  round {rnd}: " + " | ".join(" ".join(h) for h in hands))
    return tally


def queue_sim(rng, customers):
    clock, free_at, waits = 0.0, 0.0, []
    for _ in range(customers):
        clock += rng.expovariate(1 / 4.0)
        service = max(0.5, rng.gauss(3.5, 1.0))
        start = max(clock, free_at)
        waits.append(start - clock)
        free_at = start + service
    return waits


def main():
    rng = random.Random(12345)
    print("== basics ==")
    print("  random():", [repr(rng.random()) for _ in range(5)])
    print("  randint(1, 6):", [rng.randint(1, 6) for _ in range(20)])
    print("  randrange(0, 100, 7):", [rng.randrange(0, 100, 7) for _ in range(10)])
    print("  uniform(-1, 1):", [repr(rng.uniform(-1, 1)) for _ in range(3)])
    print("  getrandbits(64):", [rng.getrandbits(64) for _ in range(3)])
    print("  getrandbits(200):", rng.getrandbits(200))
    print("  choice:", [rng.choice("abcdefg") for _ in range(12)])
    print("  choices weighted:", rng.choices(["red", "green", "blue"], weights=[10, 1, 3], k=12))
    print("  choices cum_weights:", rng.choices(range(5), cum_weights=[1, 2, 10, 11, 20], k=12))
    print("  sample:", rng.sample(range(1000), 8), rng.sample("abcdefghij", k=4))
    items = list(range(15))
    rng.shuffle(items)
    print("  shuffle:", items)
    print("  randbytes:", rng.randbytes(12).hex() if hasattr(rng, "randbytes") else "n/a")

    print("== seeding ==")
    for seed in (0, 1, 2 ** 100, -7, "hello", b"hello", 3.0):
        r = random.Random(seed)
        print(f"  seed {seed!r:<32} -> {r.random()!r:<22} {r.randint(0, 10 ** 9)}")
    a = random.Random("replay")
    state = a.getstate()
    first = [a.random() for _ in range(3)]
    a.setstate(state)
    print("  setstate replays:", first == [a.random() for _ in range(3)])
    b = random.Random()
    b.seed(99)
    c = random.Random(99)
    print("  seed() equals constructor:", b.random() == c.random())

    print("== distributions (12 significant digits) ==")
    r = random.Random(2024)
    for name, fn in (("gauss", lambda: r.gauss(0, 1)), ("normalvariate", lambda: r.normalvariate(10, 2)),
                     ("expovariate", lambda: r.expovariate(0.5)), ("lognormvariate", lambda: r.lognormvariate(0, 0.5)),
                     ("triangular", lambda: r.triangular(0, 10, 3)), ("betavariate", lambda: r.betavariate(2, 5)),
                     ("vonmises", lambda: r.vonmisesvariate(1.0, 4.0)), ("paretovariate", lambda: r.paretovariate(3))):
        vals = [fn() for _ in range(4)]
        print(f"  {name:<15}" + " ".join(f"{v:>16.12g}" for v in vals))
    g = random.Random(7)
    xs = [g.gauss(100, 15) for _ in range(2000)]
    mean = sum(xs) / len(xs)
    var = sum((x - mean) * (x - mean) for x in xs) / (len(xs) - 1)
    print(f"  2000 gauss(100, 15): mean={mean:.6g} var={var:.6g}")
    buckets = Counter(int((x - 40) // 10) for x in xs)
    for k in sorted(buckets):
        lo = 40 + 10 * k
        print(f"    [{lo:>3},{lo + 10:>3}) {'*' * (buckets[k] // 10)} {buckets[k]}")

    print("== card game ==")
    tally = card_game(random.Random(31337), 150)
    for hand, n in tally.most_common():
        print(f"  {hand:<16} {n:>4}")

    print("== queue simulation ==")
    waits = queue_sim(random.Random(8), 300)
    print(f"  customers=300 mean wait={sum(waits) / len(waits):.6g} max={max(waits):.6g}"
          f" waited>5={sum(w > 5 for w in waits)}")

    print("== random walk ==")
    w = random.Random(55)
    pos, hist, visits = 0, [], Counter()
    for step in range(400):
        pos += w.choice((-1, 1))
        visits[pos] += 1
        if step % 40 == 39:
            hist.append(pos)
    print("  checkpoints:", hist)
    print("  most visited:", visits.most_common(5), "range:", min(visits), max(visits))
    grid = [["." for _ in range(21)] for _ in range(9)]
    x, y = 10, 4
    for _ in range(60):
        dx, dy = w.choice([(1, 0), (-1, 0), (0, 1), (0, -1)])
        x, y = min(20, max(0, x + dx)), min(8, max(0, y + dy))
        grid[y][x] = "o"
    grid[4][10] = "S"
    grid[y][x] = "E"
    for row in grid:
        print("   " + "".join(row))
    hits = 0
    for _ in range(20000):
        px, py = w.random(), w.random()
        hits += px * px + py * py <= 1.0
    print("  pi estimate:", 4 * hits / 20000)


if __name__ == "__main__":
    main()
