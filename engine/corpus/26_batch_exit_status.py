"""Nightly batch job runner that reports failures through its exit status.

Runs a list of simulated jobs with dependencies (topological order via
graphlib), retries with a deterministic backoff schedule, prints a report,
and finally exits with status 3 ("some jobs failed") via SystemExit.
Also shows that finally blocks and atexit handlers run on SystemExit.
"""
import atexit
import sys
from graphlib import CycleError, TopologicalSorter

JOBS = {
    "fetch_rates": {"deps": [], "fails": 0},
    "fetch_orders": {"deps": [], "fails": 2},
    "normalize": {"deps": ["fetch_orders", "fetch_rates"], "fails": 0},
    "invoice": {"deps": ["normalize"], "fails": 5},
    "ledger": {"deps": ["normalize"], "fails": 1},
    "email": {"deps": ["invoice"], "fails": 0},
    "archive": {"deps": ["ledger"], "fails": 0},
}
MAX_ATTEMPTS = 3
EXIT_OK, EXIT_PARTIAL = 0, 3


class JobFailed(Exception):
    pass


def backoff(attempt, base=0.5, cap=8.0):
    return min(cap, base * (2 ** attempt))


def run_job(name, spec, attempt):
    if attempt < spec["fails"]:
        raise JobFailed(f"{name}: transient error #{attempt + 1}")
    return sum(ord(c) for c in name) * (attempt + 1)


def main():
    atexit.register(lambda: print("atexit: cleanup handler ran"))
    graph = {name: spec["deps"] for name, spec in JOBS.items()}
    order = list(TopologicalSorter(graph).static_order())
    print("execution order:", order)
    ts = TopologicalSorter(graph)
    ts.prepare()
    waves = []
    while ts.is_active():
        ready = sorted(ts.get_ready())
        waves.append(ready)
        ts.done(*ready)
    print("parallel waves:", waves)
    try:
        TopologicalSorter({"a": ["b"], "b": ["c"], "c": ["a"]}).prepare()
    except CycleError as exc:
        print("cycle detected:", exc.args[0], "->", " -> ".join(exc.args[1]))

    status, results, clock = {}, {}, 0.0
    for name in order:
        spec = JOBS[name]
        blocked = [d for d in spec["deps"] if status.get(d) != "ok"]
        if blocked:
            status[name] = "skipped"
            print(f"[{clock:6.2f}s] {name:<13} SKIPPED (blocked by {', '.join(blocked)})")
            continue
        for attempt in range(MAX_ATTEMPTS):
            try:
                results[name] = run_job(name, spec, attempt)
            except JobFailed as exc:
                wait = backoff(attempt)
                print(f"[{clock:6.2f}s] {name:<13} attempt {attempt + 1} failed: {exc}; retry in {wait}s")
                clock += wait
            else:
                status[name] = "ok"
                print(f"[{clock:6.2f}s] {name:<13} OK on attempt {attempt + 1} -> {results[name]}")
                clock += 0.25
                break
        else:
            status[name] = "failed"
            print(f"[{clock:6.2f}s] {name:<13} FAILED after {MAX_ATTEMPTS} attempts")

    print("=" * 44)
    summary = {}
    for name, st in status.items():
        summary.setdefault(st, []).append(name)
    for st in ("ok", "failed", "skipped"):
        print(f"{st:>8}: {len(summary.get(st, [])):>2}  {', '.join(summary.get(st, []))}")
    print(f"simulated wall time: {clock:.2f}s")
    code = EXIT_OK if not summary.get("failed") else EXIT_PARTIAL
    print(f"exiting with status {code}")
    sys.stdout.flush()
    try:
        raise SystemExit(code)
    finally:
        print("finally: report closed")


if __name__ == "__main__":
    main()
