/*
 * fuzz_profile.c — libFuzzer target: the profile importer (gpu/profile.h), every format it tells
 * by the header (fleetsim-probe, aiconfigurator GEMM, attention, NCCL and all-reduce, Vidur MLP).
 *
 * Beyond the sanitizers, the target aborts when: a failure leaves no message or changes the set
 * (reading is all or nothing); a success adds no row, or a row with a time that is not finite and
 * > 0, a shape that is not finite and >= 0, a line outside the input, or an operator out of range.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz_profile: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

static int shape_ok(double x) { return isfinite(x) && x >= 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    prof_set s;
    prof_set_init(&s);
    fs_error err;
    fs_error_clear(&err);
    size_t lines = 1;
    for (size_t i = 0; i < size; i++) lines += data[i] == '\n';
    if (prof_read_buffer(&s, "fuzz.csv", (const char *)data, size, &err) != 0) {
        if (!err.msg[0]) fail("prof_read_buffer failed without a message");
        if (s.n != 0) fail("a failed read left %zu rows", s.n);
    } else {
        if (s.n == 0) fail("a successful read gave no row");
        for (size_t i = 0; i < s.n; i++) {
            const prof_row *r = &s.rows[i];
            if ((unsigned)r->op >= PROF_NOPS) fail("row %zu: operator %d", i, (int)r->op);
            if (!(isfinite(r->seconds) && r->seconds > 0)) fail("row %zu: time %g", i, r->seconds);
            const double shape[] = {r->m, r->n, r->k, r->batch, r->q_len, r->kv_len, r->heads, r->kv_heads, r->head_dim,
                                    r->bytes};
            for (size_t k = 0; k < sizeof shape / sizeof shape[0]; k++)
                if (!shape_ok(shape[k])) fail("row %zu: shape field %zu is %g", i, k, shape[k]);
            if (r->line < 1 || (size_t)r->line > lines) fail("row %zu: line %d of %zu", i, r->line, lines);
        }
    }
    prof_set_fini(&s);
    return 0;
}
