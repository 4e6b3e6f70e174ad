/*
 * harness.h — fleetsim's tiny test harness (one header, no dependency).
 *
 * A test file defines `static void test_x(void)` functions and lists them in main with RUN().
 * Checks record a failure with file:line and both values, and let the test go on; a test
 * program exits 1 when any check failed, and prints "N passed, N failed" at the end.
 *
 *   CHECK(cond)                 CHECK_INT(a, b)   CHECK_STR(a, b)   CHECK_CONTAINS(hay, needle)
 *   CHECK_NEAR(a, b, tol)       absolute tolerance
 *   SKIP(why)                   mark the current test skipped and return from it
 */
#ifndef FS_HARNESS_H
#define FS_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int h_failed_checks, h_passed, h_failed, h_skipped, h_cur_failed, h_cur_skipped;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            h_cur_failed = 1;                                                       \
            h_failed_checks++;                                                      \
        }                                                                           \
    } while (0)

#define CHECK_INT(a, b)                                                                       \
    do {                                                                                      \
        long long h_a = (long long)(a), h_b = (long long)(b);                                 \
        if (h_a != h_b) {                                                                     \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, \
                    #b, h_a, h_b);                                                            \
            h_cur_failed = 1;                                                                 \
            h_failed_checks++;                                                                \
        }                                                                                     \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                   \
    do {                                                                                        \
        double h_a = (double)(a), h_b = (double)(b), h_t = (double)(tol);                       \
        if (!(fabs(h_a - h_b) <= h_t)) {                                                        \
            fprintf(stderr, "%s:%d: |%s - %s| <= %g failed: %.10g vs %.10g (diff %.3g)\n",       \
                    __FILE__, __LINE__, #a, #b, h_t, h_a, h_b, fabs(h_a - h_b));                \
            h_cur_failed = 1;                                                                   \
            h_failed_checks++;                                                                  \
        }                                                                                       \
    } while (0)

#define CHECK_STR(a, b)                                                                        \
    do {                                                                                       \
        const char *h_a = (a), *h_b = (b);                                                     \
        if (!h_a || !h_b || strcmp(h_a, h_b) != 0) {                                           \
            fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a, \
                    #b, h_a ? h_a : "(null)", h_b ? h_b : "(null)");                            \
            h_cur_failed = 1;                                                                  \
            h_failed_checks++;                                                                 \
        }                                                                                      \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                                             \
    do {                                                                                        \
        const char *h_h = (hay), *h_n = (needle);                                               \
        if (!h_h || !strstr(h_h, h_n)) {                                                        \
            fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__,       \
                    h_h ? h_h : "(null)", h_n);                                                 \
            h_cur_failed = 1;                                                                   \
            h_failed_checks++;                                                                  \
        }                                                                                       \
    } while (0)

#define SKIP(why)                                                         \
    do {                                                                  \
        fprintf(stderr, "  skipped: %s\n", why);                          \
        h_cur_skipped = 1;                                                \
        return;                                                           \
    } while (0)

#define RUN(fn)                                                                            \
    do {                                                                                   \
        h_cur_failed = h_cur_skipped = 0;                                                  \
        fprintf(stderr, "%s\n", #fn);                                                      \
        fn();                                                                              \
        if (h_cur_failed) h_failed++;                                                      \
        else if (h_cur_skipped) h_skipped++;                                               \
        else h_passed++;                                                                   \
    } while (0)

#define DONE()                                                                             \
    (printf("%d passed, %d failed, %d skipped\n", h_passed, h_failed, h_skipped),          \
     h_failed ? 1 : 0)

/* The folder of test data (set by CMake). */
#ifndef FS_TEST_DATA
#define FS_TEST_DATA "."
#endif

#endif
