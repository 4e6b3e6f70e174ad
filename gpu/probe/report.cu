/*
 * report.cu — the probe's output: one row per measurement, as CSV with a header line or as a JSON
 * array of objects with the same keys, plus a progress line per row on stderr.
 *
 * Columns (0, or empty for strings, where a field does not apply to the op):
 *   device, cc, sm_count, sm_clock_mhz, mem_clock_mhz  the GPU (clocks: the peak the driver reports)
 *   driver, runtime        CUDA driver and runtime versions ("13.0")
 *   op, impl, dtype        what ran (README.md lists them)
 *   batch, m, n, k, seq, ctx, heads, kv_heads, head_dim, block_size, bytes   the shape
 *   time_us                median time of one launch
 *   flops, moved_bytes     counted minimum work (formulas in each op's file and README.md)
 *   tflops, gbps           flops / time and moved_bytes / time (10^12 FLOP/s, 10^9 B/s)
 *   rel_err, tol           the check this row passed: ||out - ref|| / ||ref|| over the checked
 *                          elements of this very shape, and the op's tolerance
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

const char probe_csv_header[] =
    "device,cc,sm_count,sm_clock_mhz,mem_clock_mhz,driver,runtime,op,impl,dtype,batch,m,n,k,seq,ctx,heads,"
    "kv_heads,head_dim,block_size,bytes,time_us,flops,moved_bytes,tflops,gbps,rel_err,tol";

void probe_emit(probe *p, const probe_row *r)
{
    if (p->nrows == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 256;
        probe_row *rows = (probe_row *)realloc(p->rows, cap * sizeof *rows);
        if (!rows)
            probe_die("out of host memory");
        p->rows = rows;
        p->cap = cap;
    }
    p->rows[p->nrows++] = *r;

    char shape[256];
    int len = 0;
    const struct {
        const char *name;
        long long v;
    } f[] = {{"batch", r->batch}, {"m", r->m},           {"n", r->n},         {"k", r->k},
             {"seq", r->seq},     {"ctx", r->ctx},       {"heads", r->heads}, {"kv_heads", r->kv_heads},
             {"bytes", r->bytes}};
    shape[0] = '\0';
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].v && len < (int)sizeof shape)
            len += snprintf(shape + len, sizeof shape - (size_t)len, " %s=%lld", f[i].name, f[i].v);
    fprintf(stderr, "[%4zu] %-12s %-11s %-4s%s: %.2f us, %.2f TFLOP/s, %.1f GB/s, rel_err %.2e (tol %.0e)\n",
            p->nrows, r->op, r->impl, dtype_name(r->dtype), shape, r->time_us, r->flops / r->time_us * 1e-6,
            r->moved_bytes / r->time_us * 1e-3, r->rel_err, r->tol);
}

/* CSV and JSON take the device name as is, so keep it free of separators and quotes. */
static void clean_name(const char *in, char *out, size_t size)
{
    size_t i = 0;
    for (; in[i] && i + 1 < size; i++)
        out[i] = (in[i] == ',' || in[i] == '"' || in[i] == '\\' || (unsigned char)in[i] < 0x20) ? ' ' : in[i];
    out[i] = '\0';
}

static void write_row(FILE *f, const probe *p, const char *device, const probe_row *r, bool json)
{
    char cc[16], drv[16], rt[16];
    snprintf(cc, sizeof cc, "%d.%d", p->cc_major, p->cc_minor);
    snprintf(drv, sizeof drv, "%d.%d", p->driver / 1000, p->driver % 1000 / 10);
    snprintf(rt, sizeof rt, "%d.%d", p->runtime / 1000, p->runtime % 1000 / 10);
    double tflops = r->flops / r->time_us * 1e-6, gbps = r->moved_bytes / r->time_us * 1e-3;
    const char *fmt = json ? "  {\"device\": \"%s\", \"cc\": \"%s\", \"sm_count\": %d, \"sm_clock_mhz\": %d, "
                             "\"mem_clock_mhz\": %d, \"driver\": \"%s\", \"runtime\": \"%s\", \"op\": \"%s\", "
                             "\"impl\": \"%s\", \"dtype\": \"%s\", \"batch\": %lld, \"m\": %lld, \"n\": %lld, "
                             "\"k\": %lld, \"seq\": %lld, \"ctx\": %lld, \"heads\": %lld, \"kv_heads\": %lld, "
                             "\"head_dim\": %lld, \"block_size\": %lld, \"bytes\": %lld, \"time_us\": %.3f, "
                             "\"flops\": %.0f, \"moved_bytes\": %.0f, \"tflops\": %.6g, \"gbps\": %.6g, "
                             "\"rel_err\": %.3e, \"tol\": %.1e}"
                           : "%s,%s,%d,%d,%d,%s,%s,%s,%s,%s,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,"
                             "%.3f,%.0f,%.0f,%.6g,%.6g,%.3e,%.1e";
    fprintf(f, fmt, device, cc, p->sm_count, p->sm_clock_mhz, p->mem_clock_mhz, drv, rt, r->op, r->impl,
            dtype_name(r->dtype), r->batch, r->m, r->n, r->k, r->seq, r->ctx, r->heads, r->kv_heads, r->head_dim,
            r->block_size, r->bytes, r->time_us, r->flops, r->moved_bytes, tflops, gbps, r->rel_err, r->tol);
}

int probe_write(const probe *p, FILE *f)
{
    char device[256];
    clean_name(p->name, device, sizeof device);
    if (p->opt.json)
        fputs("[\n", f);
    else
        fprintf(f, "%s\n", probe_csv_header);
    for (size_t i = 0; i < p->nrows; i++) {
        write_row(f, p, device, &p->rows[i], p->opt.json);
        fputs(p->opt.json && i + 1 < p->nrows ? ",\n" : "\n", f);
    }
    if (p->opt.json)
        fputs("]\n", f);
    if (fflush(f) != 0 || ferror(f)) {
        fprintf(stderr, "fleetsim-probe: cannot write '%s': %s\n", p->opt.output ? p->opt.output : "(stdout)",
                strerror(errno));
        return -1;
    }
    return 0;
}
