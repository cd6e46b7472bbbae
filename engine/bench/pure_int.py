"""Pure integer loop: arithmetic on small ints in one function, no attribute lookups.

Usage: pure_int.py M    (M iterations; prints a checksum so the work cannot be skipped)
"""
import sys


def run(m):
    total = 0
    x = 1
    for i in range(m):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        total += (x >> 7) % 1000 - i % 13
    return total


print(run(int(sys.argv[1])))
