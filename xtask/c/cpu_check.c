/* Linked into every executable made from a sysroot built for a microarchitecture level
   (sysroots/<target>.toml [cpu]). Before anything compiled for that level runs, it checks
   that this CPU has the level, and otherwise exits with a message naming what is missing
   and what to use instead, rather than dying of SIGILL at the first AVX2 instruction.

   The translation unit is compiled with the level's -march (so the __AVX2__-style macros
   say what the compiler was allowed to use), the function itself for the baseline, so that
   it runs on any x86-64. It runs as a constructor, before main and before any Rust or
   CPython code of the executable. */
#if !defined(__x86_64__)
#error "the CPU level check is for x86-64"
#endif
#ifndef PYSYSROOT_MARCH
#error "compile with -DPYSYSROOT_MARCH=\"x86-64-vN\""
#endif

#include <stdio.h>
#include <unistd.h>

#define CHECK(macro_defined, name)                                                   \
    do {                                                                             \
        if ((macro_defined) && !__builtin_cpu_supports(name)) {                      \
            missing[n++] = name;                                                     \
        }                                                                            \
    } while (0)

#ifdef __SSE4_2__
#define HAS_SSE4_2 1
#else
#define HAS_SSE4_2 0
#endif
#ifdef __POPCNT__
#define HAS_POPCNT 1
#else
#define HAS_POPCNT 0
#endif
#ifdef __AVX2__
#define HAS_AVX2 1
#else
#define HAS_AVX2 0
#endif
#ifdef __BMI2__
#define HAS_BMI2 1
#else
#define HAS_BMI2 0
#endif
#ifdef __FMA__
#define HAS_FMA 1
#else
#define HAS_FMA 0
#endif
#ifdef __AVX512F__
#define HAS_AVX512F 1
#else
#define HAS_AVX512F 0
#endif

__attribute__((constructor(101), target("arch=x86-64"), used)) static void
pysysroot_cpu_check(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports(PYSYSROOT_MARCH)) {
        return;
    }
    const char *missing[8];
    int n = 0;
    CHECK(HAS_SSE4_2, "sse4.2");
    CHECK(HAS_POPCNT, "popcnt");
    CHECK(HAS_AVX2, "avx2");
    CHECK(HAS_BMI2, "bmi2");
    CHECK(HAS_FMA, "fma");
    CHECK(HAS_AVX512F, "avx512f");
    fprintf(stderr,
            "this program was built for " PYSYSROOT_MARCH
            " and this CPU does not have that level");
    for (int i = 0; i < n; i++) {
        fprintf(stderr, "%s%s", i ? ", " : " (missing: ", missing[i]);
    }
    fprintf(stderr, "%s; use the build for the baseline x86-64 target instead\n", n ? ")" : "");
    _exit(132); /* as a shell reports SIGILL: 128 + 4 */
}
