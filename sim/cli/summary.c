/* Printing a run's metric rows: a table for people, a JSON object for scripts. */
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "cli.h"

static double get(const fs_metrics *m, const char *name, const char *stat)
{
    const fs_metric *x = fs_metrics_find(m, name, stat);
    return x ? x->value : NAN;
}

void cli_print_summary(FILE *out, const char *name, unsigned long long seed, const fs_metrics *m)
{
    fprintf(out, "scenario %s, seed %llu\n", name, seed);
    fprintf(out, "  requests     %.0f arrived, %.0f completed, %.0f unfinished, %.0f rejected (measured after warm-up)\n",
            get(m, "arrived", "value"), get(m, "completed", "value"), get(m, "unfinished", "value"),
            get(m, "rejected", "value"));
    if (fs_metrics_find(m, "rate_limited", "value"))
        fprintf(out, "  admission    %.0f rate-limited responses (429), %.0f requests given up after retries\n",
                get(m, "rate_limited", "value"), get(m, "rate_limited_dropped", "value"));
    if (fs_metrics_find(m, "trace_rows", "read"))
        fprintf(out, "  trace        %.0f rows read; left out: %.0f malformed (skipped), %.0f failed requests, "
                "%.0f filtered\n", get(m, "trace_rows", "read"), get(m, "trace_rows", "bad_skipped"),
                get(m, "trace_rows", "failed_dropped"), get(m, "trace_rows", "filtered"));
    fprintf(out, "  duration     %.3f s\n", get(m, "duration", "value"));
    fprintf(out, "  throughput   %.3f req/s, %.1f input tok/s, %.1f output tok/s\n",
            get(m, "request_throughput", "value"), get(m, "input_throughput", "value"),
            get(m, "output_throughput", "value"));
    fprintf(out, "  SLO          %.2f %% attained, goodput %.3f req/s\n", get(m, "slo_attainment", "value"),
            get(m, "request_goodput", "value"));
    fprintf(out, "  utilization  %.1f %% of replica time busy\n", get(m, "replica_utilization", "value"));
    if (fs_metrics_find(m, "preemptions", "value"))
        fprintf(out, "  engine       %.0f preemptions, %.2f %% of prompt tokens from the prefix cache\n",
                get(m, "preemptions", "value"), get(m, "prefix_cache_hit_rate", "value"));
    for (size_t i = 0; i < m->n; i++) { /* per tenant, when requests carry tenants */
        const fs_metric *x = &m->v[i];
        if (strcmp(x->name, "tenant_completed") != 0) continue;
        fprintf(out, "  tenant %-12s %.0f completed, mean TTFT %.1f ms, mean E2E %.1f ms, SLO %.2f %%\n", x->stat,
                x->value, get(m, "tenant_mean_ttft", x->stat), get(m, "tenant_mean_e2el", x->stat),
                get(m, "tenant_slo_attainment", x->stat));
    }
    if (fs_metrics_find(m, "tenant_fairness", "value"))
        fprintf(out, "  fairness     %.3f (Jain's index over the tenants' SLO attainment; 1: even)\n",
                get(m, "tenant_fairness", "value"));
    fprintf(out, "  cost         %.4f USD for %.3f GPU-hours, %.4f USD per 1k requests\n",
            get(m, "cost", "value"), get(m, "gpu_hours", "value"), get(m, "cost_per_1k_requests", "value"));
    static const char *const stats[] = {"mean", "median", "p90", "p95", "p99", "p99.9", "max"};
    fprintf(out, "\n  %-14s", "latency (ms)");
    for (size_t k = 0; k < 7; k++) fprintf(out, " %10s", stats[k]);
    fputc('\n', out);
    static const char *const rows[][2] = {{"ttft", "TTFT"}, {"tpot", "TPOT"}, {"itl", "ITL"}, {"e2el", "E2E"},
                                          {"queue", "queueing"}};
    for (size_t r = 0; r < 5; r++) {
        if (!fs_metrics_find(m, rows[r][0], "mean")) continue; /* TPOT and ITL: token models only */
        fprintf(out, "  %-14s", rows[r][1]);
        for (size_t k = 0; k < 7; k++) fprintf(out, " %10.3f", get(m, rows[r][0], stats[k]));
        fputc('\n', out);
    }
}

static void put_number(FILE *out, double v)
{
    if (isfinite(v)) fprintf(out, "%.17g", v);
    else fputs("null", out);
}

static bool distribution_stat(const char *stat)
{
    if (stat[0] == 'p' && isdigit((unsigned char)stat[1])) return true;
    static const char *const names[] = {"mean", "median", "std", "min", "max", "count", NULL};
    for (const char *const *n = names; *n; n++)
        if (strcmp(*n, stat) == 0) return true;
    return false;
}

void cli_print_json(FILE *out, const fs_metrics *m)
{
    fputc('{', out);
    for (size_t i = 0; i < m->n; i++) {
        const fs_metric *x = &m->v[i];
        if (i) fputs(", ", out);
        /* scalars keep their name (completed, request_throughput); distributions read as
         * vLLM's benchmark names them: mean_ttft_ms, median_e2el_ms, p99_queue_ms; other
         * breakdowns are name_part: trace_rows_read, gpu_hours_by_type_H100-SXM */
        if (strcmp(x->stat, "value") == 0) fprintf(out, "\"%s\": ", x->name);
        else if (distribution_stat(x->stat)) fprintf(out, "\"%s_%s_%s\": ", x->stat, x->name, x->unit);
        else fprintf(out, "\"%s_%s\": ", x->name, x->stat);
        put_number(out, x->value);
    }
    fputs("}\n", out);
}
