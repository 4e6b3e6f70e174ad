/*
 * bench_readers — how fast a trace reader streams a file: requests, seconds, rows/s, MB/s (of
 * the file as stored) and peak RSS. Wall and CPU time are both shown: on a shared machine the
 * CPU figure is the one for a core of one's own.
 *
 *   build/tests/bench/fleetsim-bench-readers FORMAT FILE [--slow] [--sort SECONDS] [--repeat N]
 *
 * FORMAT is a trace format name (azure, burstgpt, mooncake, vllm, csv, jsonl); the generic csv
 * and jsonl formats are read with the columns tests/bench/gen_traces.py writes (t in ms, in, out,
 * tenant, session, prio). --slow parses JSON lines with jansson only. --repeat reads the file N
 * times (wl_rewind) and reports the best pass. Make files with gen_traces.py; numbers go in notes,
 * never in tests.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "wl.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds of this process: on a shared machine, the figure for one core. */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) * 1e-6;
}

static uint32_t intern(void *ctx, int kind, const char *name, size_t len)
{
    (void)ctx;
    (void)kind;
    return len ? 1 + (unsigned char)name[len - 1] % 16 : 0; /* any stable index will do here */
}

int main(int argc, char **argv)
{
    if (argc < 3 || wl_format_from_name(argv[1]) < 0) {
        fprintf(stderr, "usage: %s FORMAT FILE [--slow] [--sort SECONDS] [--repeat N]\n", argv[0]);
        return 2;
    }
    wl_names names = {NULL, NULL, intern};
    wl_trace_opts o = {.format = (enum wl_format)wl_format_from_name(argv[1]), .names = &names};
    o.columns = (wl_columns){.arrival = "t", .input = "in", .output = "out", .arrival_unit = WL_UNIT_MS,
                             .tenant = "tenant", .session = "session", .priority = "prio"};
    int repeat = 1;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--slow") == 0) o.json_slow = true;
        else if (strcmp(argv[i], "--sort") == 0 && i + 1 < argc) o.sort_window = atof(argv[++i]);
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) repeat = atoi(argv[++i]);
        else {
            fprintf(stderr, "%s: unknown argument '%s'\n", argv[0], argv[i]);
            return 2;
        }
    }
    struct stat sb;
    if (stat(argv[2], &sb) != 0) {
        perror(argv[2]);
        return 2;
    }
    fs_error err;
    double t0 = now_s(), c0 = cpu_s(), best = 1e300, best_cpu = 1e300;
    wl_source *s = wl_trace_open(argv[2], &o, &err);
    if (!s) {
        char msg[1200];
        fprintf(stderr, "%s\n", fs_error_format(&err, msg, sizeof msg));
        return 1;
    }
    uint64_t n = 0, tokens = 0, blocks = 0;
    for (int pass = 0; pass < repeat; pass++) {
        if (pass && wl_rewind(s, &err) != 0) break;
        if (pass) t0 = now_s(), c0 = cpu_s();
        wl_request r;
        int rc;
        n = tokens = blocks = 0;
        while ((rc = wl_next(s, &r, &err)) == 1) {
            n++;
            tokens += (uint64_t)r.input_tokens + (uint64_t)r.output_tokens;
            blocks += (uint64_t)r.nchain;
        }
        if (rc < 0) {
            char msg[1200];
            fprintf(stderr, "%s\n", fs_error_format(&err, msg, sizeof msg));
            wl_free(s);
            return 1;
        }
        double dt = now_s() - t0, dc = cpu_s() - c0;
        if (dt < best) best = dt;
        if (dc < best_cpu) best_cpu = dc;
    }
    wl_trace_stats st;
    wl_stats(s, &st);
    wl_free(s);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double mb = (double)sb.st_size / 1e6;
    printf("%-8s %s: %llu rows, %llu requests (tokens %llu, blocks %llu)\n"
           "         wall %.3f s: %.2f M rows/s, %.0f MB/s; cpu %.3f s: %.2f M rows/s, %.0f MB/s; peak RSS %.1f MiB\n",
           argv[1], argv[2], (unsigned long long)st.rows, (unsigned long long)n, (unsigned long long)tokens,
           (unsigned long long)blocks, best, (double)st.rows / best / 1e6, mb / best, best_cpu,
           (double)st.rows / best_cpu / 1e6, mb / best_cpu, (double)ru.ru_maxrss / 1024.0);
    return 0;
}
