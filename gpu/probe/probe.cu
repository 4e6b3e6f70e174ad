/*
 * probe.cu — fleetsim-probe's command line: parse the arguments (before any CUDA call, so --help
 * and usage errors work without a GPU), find the device, run the chosen ops in order, write the
 * rows.
 *
 * Exit codes: 0 done; 1 a CUDA error or a failed check; 2 bad arguments; 77 no CUDA device (the
 * test harness's "skipped").
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

/* The ops in the order they run: the copy first, as it gives the bandwidth ceiling. */
static const struct {
    const char *name;
    void (*run)(probe *p);
} ops[] = {
    {"copy", probe_copy},       {"gemm", probe_gemm},       {"attn_decode", probe_attn_decode},
    {"attn_prefill", probe_attn_prefill}, {"rmsnorm", probe_rmsnorm}, {"silu_mul", probe_silu_mul},
    {"rope", probe_rope},
};
#define NOPS (sizeof ops / sizeof ops[0])

static void usage(FILE *f)
{
    fputs("usage: fleetsim-probe [--quick] [--ops LIST] [-o FILE] [--json] [--repeats N] [--device N] [--seed N]\n"
          "\n"
          "Runs the kernels of an LLM iteration on a CUDA GPU over a grid of shapes, checks each shape\n"
          "against a CPU reference, times it, and writes one CSV row per measurement.\n"
          "\n"
          "  --quick        a small grid that runs in seconds (for tests)\n"
          "  --ops LIST     comma-separated, from: copy, gemm, attn_decode, attn_prefill, rmsnorm,\n"
          "                 silu_mul, rope (default: all)\n"
          "  -o FILE        write the rows to FILE instead of stdout\n"
          "  --json         a JSON array of objects instead of CSV\n"
          "  --repeats N    timed replays per measurement, at most (default 30; slow shapes use fewer)\n"
          "  --device N     CUDA device index (default 0)\n"
          "  --seed N       base of the random inputs (default: from the clock; printed on stderr)\n"
          "  --help         this text\n"
          "\n"
          "Exit status: 0 done, 1 CUDA error or failed check, 2 bad arguments, 77 no CUDA device.\n",
          f);
}

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fleetsim-probe: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (try --help)\n", stderr);
    va_end(ap);
    return 2;
}

/* A whole decimal number in [lo, hi], or -1. */
static long long parse_int(const char *s, long long lo, long long hi)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    return v;
}

static int parse_ops(const char *list, unsigned *mask)
{
    char buf[256];
    if (snprintf(buf, sizeof buf, "%s", list) >= (int)sizeof buf)
        return bad_usage("--ops: list too long: '%s'", list);
    *mask = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        size_t i = 0;
        while (i < NOPS && strcmp(ops[i].name, tok) != 0)
            i++;
        if (i == NOPS)
            return bad_usage("--ops: unknown op '%s' (known: copy, gemm, attn_decode, attn_prefill, rmsnorm, "
                             "silu_mul, rope)", tok);
        *mask |= 1u << i;
    }
    if (!*mask)
        return bad_usage("--ops: no op named in '%s'", list);
    return 0;
}

/* 0 to run, 1 for --help (printed), 2 for bad arguments (message printed). */
static int parse_args(int argc, char **argv, probe_opts *o)
{
    memset(o, 0, sizeof *o);
    o->ops = (1u << NOPS) - 1;
    o->repeats = 30;
    o->seed = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = !strcmp(a, "--ops") || !strcmp(a, "-o") || !strcmp(a, "--repeats") || !strcmp(a, "--device") ||
                     !strcmp(a, "--seed");
        if (takes && !val)
            return bad_usage("%s needs a value", a);
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(a, "--quick")) {
            o->quick = true;
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--ops")) {
            if (parse_ops(val, &o->ops))
                return 2;
        } else if (!strcmp(a, "-o")) {
            if (!*val)
                return bad_usage("-o needs a file name");
            o->output = val;
        } else if (!strcmp(a, "--repeats")) {
            long long v = parse_int(val, 1, 10000);
            if (v < 0)
                return bad_usage("--repeats: expected a whole number from 1 to 10000, found '%s'", val);
            o->repeats = (int)v;
        } else if (!strcmp(a, "--device")) {
            long long v = parse_int(val, 0, 1023);
            if (v < 0)
                return bad_usage("--device: expected a device index from 0, found '%s'", val);
            o->device = (int)v;
        } else if (!strcmp(a, "--seed")) {
            long long v = parse_int(val, 0, 0x7fffffffffffffffll);
            if (v < 0)
                return bad_usage("--seed: expected a non-negative whole number, found '%s'", val);
            o->seed = (uint64_t)v;
        } else {
            return bad_usage("unknown argument '%s'", a);
        }
        if (takes)
            i++;
    }
    return 0;
}

int main(int argc, char **argv)
{
    probe_opts opt;
    int rc = parse_args(argc, argv, &opt);
    if (rc)
        return rc == 1 ? 0 : 2;

    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        fprintf(stderr, "fleetsim-probe: no CUDA device found (%s)\n",
                e != cudaSuccess ? cudaGetErrorString(e) : "the runtime reports 0 devices");
        return 77;
    }
    if (opt.device >= count) {
        fprintf(stderr, "fleetsim-probe: --device %d: only %d CUDA device%s found\n", opt.device, count,
                count == 1 ? "" : "s");
        return 2;
    }
    FILE *out = stdout;
    if (opt.output && !(out = fopen(opt.output, "w"))) {
        fprintf(stderr, "fleetsim-probe: cannot open '%s' for writing: %s\n", opt.output, strerror(errno));
        return 2;
    }

    probe p;
    probe_init(&p, &opt);
    fprintf(stderr,
            "fleetsim-probe: %s (cc %d.%d, %d SMs, SM clock %d MHz, memory clock %d MHz, L2 %.0f MiB), "
            "CUDA driver %d, runtime %d; %s grid, seed %llu\n",
            p.name, p.cc_major, p.cc_minor, p.sm_count, p.sm_clock_mhz, p.mem_clock_mhz, p.l2_bytes / 1048576.0,
            p.driver, p.runtime, opt.quick ? "quick" : "full", (unsigned long long)opt.seed);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < NOPS; i++)
        if (opt.ops & (1u << i))
            ops[i].run(&p);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "fleetsim-probe: %zu rows in %.1f s, every shape checked\n", p.nrows,
            (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);

    rc = probe_write(&p, out);
    if (out != stdout && fclose(out) != 0 && rc == 0) {
        fprintf(stderr, "fleetsim-probe: cannot write '%s': %s\n", opt.output, strerror(errno));
        rc = -1;
    }
    probe_fini(&p);
    return rc ? 1 : 0;
}
