"""The same python3 with other allocators, interleaved (docs/2026-12-05-pyperformance-and-allocators.md):
glibc's malloc, mimalloc preloaded (it replaces malloc for everything pymalloc does not take),
and glibc's transparent-huge-page tunable for its heap. Each run is a pyperf worker timed by
`perf stat -e task-clock`, as `cargo xtask bench --suite pyperformance` times them.

    python3 docs/2026-12-05-allocator-probe.py PYTHON LIBMIMALLOC_SO SITE_PACKAGES ROUNDS

SITE_PACKAGES holds pyperformance and pyperf (the bench's pinned tools environment)."""
import math, os, shutil, statistics, subprocess, sys, tempfile

# absolute: the runs start in a scratch directory
python, mimalloc, site = (os.path.abspath(a) for a in sys.argv[1:4])
rounds = int(sys.argv[4])
benchmarks = os.path.join(site, "pyperformance", "data-files", "benchmarks")
# name: (directory, loops, arguments); loops as the bench calibrated them (start-up under 5%)
BENCHES = {
    "chaos": ("bm_chaos", 14, []), "deepcopy": ("bm_deepcopy", 2379, []),
    "float": ("bm_float", 9, []), "go": ("bm_go", 6, []),
    "json_dumps": ("bm_json_dumps", 64, []), "json_loads": ("bm_json_loads", 1954, []),
    "nbody": ("bm_nbody", 9, []), "pickle": ("bm_pickle", 4818, ["pickle"]),
    "raytrace": ("bm_raytrace", 4, []), "regex_v8": ("bm_regex_v8", 48, []),
    "richards": ("bm_richards", 20, []), "xml_etree_process": ("bm_xml_etree", 24, ["process"]),
    "pyflate": ("bm_pyflate", 3, []), "async_tree_none": ("bm_async_tree", 1, ["none"]),
    "gc_traversal": ("bm_gc_traversal", 291, []), "deltablue": ("bm_deltablue", 215, []),
    "unpickle": ("bm_pickle", 4818, ["unpickle"]),
    "logging_simple": ("bm_logging", 11469, ["simple"]),
}
VARIANTS = {
    "glibc": {},
    "mimalloc": {"LD_PRELOAD": mimalloc},
    "glibc-thp": {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"},
}

scratch = tempfile.mkdtemp()
# pyperf alone on the path, as the bench has it
os.makedirs(os.path.join(scratch, "path"))
os.symlink(os.path.join(site, "pyperf"), os.path.join(scratch, "path", "pyperf"))
stat, out = os.path.join(scratch, "stat"), os.path.join(scratch, "out.json")
names = list(VARIANTS)
times = {b: {v: [] for v in names} for b in BENCHES}
for r in range(rounds):
    for i, (bench, (directory, loops, args)) in enumerate(BENCHES.items()):
        k = (r + i) % len(names)
        for variant in names[k:] + names[:k]:
            env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0",
                   "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": os.path.join(scratch, "path"),
                   **VARIANTS[variant]}
            if os.path.exists(out):
                os.remove(out)
            subprocess.run(["perf", "stat", "-x,", "-e", "task-clock", "-o", stat, "--", python,
                            os.path.join(benchmarks, directory, "run_benchmark.py"), *args,
                            "--worker", "--loops", str(loops), "--warmups", "1", "--values", "3",
                            "--output", out],
                           env=env, check=True, stdout=subprocess.DEVNULL, cwd=scratch)
            with open(stat) as f:
                times[bench][variant].append(
                    next(float(l.split(",")[0]) for l in f if "task-clock" in l))
    print(f"round {r + 1}/{rounds} done", file=sys.stderr)
shutil.rmtree(scratch)

print("| benchmark | " + " | ".join(f"{v} ÷ glibc" for v in names[1:]) + " |")
print("|---|" + "---:|" * (len(names) - 1))
medians = {v: [] for v in names[1:]}
for bench in BENCHES:
    cells = []
    for v in names[1:]:
        ratios = [x / g for x, g in zip(times[bench][v], times[bench]["glibc"])]
        medians[v].append(statistics.median(ratios))
        cells.append(f"{medians[v][-1]:.3f} ({min(ratios):.3f}-{max(ratios):.3f})")
    print(f"| {bench} | " + " | ".join(cells) + " |")
print("| **geometric mean** | " + " | ".join(
    f"**{math.exp(sum(map(math.log, medians[v])) / len(medians[v])):.3f}**"
    for v in names[1:]) + " |")
