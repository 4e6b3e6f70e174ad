/*
 * Per-request JSON lines of a measured vLLM benchmark run, one object per line with at least
 * `input_toks`, `output_toks` and a time: the engine's `queued_ts` when present (the server's own
 * clock, as the engine saw the arrival), else the client's `arrival_time` (which lags the engine
 * by up to the client's send delay). Times are seconds; arrivals are relative to the first row.
 * The file is read one line at a time (jansson per line): memory is flat in the file's length.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "wl_internal.h"

typedef struct vllm_src {
    wl_source base;
    FILE *f;
    char *path, *line;
    size_t cap;
    long lineno;
    uint32_t target;
    uint64_t next_id;
    int clock;        /* 0 unknown yet, 1 queued_ts, 2 arrival_time */
    double t0;
    fs_time last;
} vllm_src;

static int field_count(vllm_src *v, json_t *o, const char *key, int32_t *out, fs_error *err)
{
    json_t *x = json_object_get(o, key);
    if (!x) return fs_error_set(err, v->path, (int)v->lineno, 0, "missing \"%s\" (expected a token count)", key);
    if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > 1000000000)
        return fs_error_set(err, v->path, (int)v->lineno, 0, "\"%s\": expected a token count in 0..1000000000", key);
    json_int_t n = json_integer_value(x);
    *out = n < 1 ? 1 : (int32_t)n; /* an engine always reads and produces at least one token */
    return 0;
}

static int vllm_next(wl_source *src, wl_request *out, fs_error *err)
{
    vllm_src *v = (vllm_src *)src;
    for (;;) {
        errno = 0;
        ssize_t n = getline(&v->line, &v->cap, v->f);
        if (n < 0) {
            if (errno) return fs_error_set(err, v->path, (int)v->lineno, 0, "read failed: %s", strerror(errno));
            return 0;
        }
        v->lineno++;
        size_t len = (size_t)n;
        while (len && (v->line[len - 1] == '\n' || v->line[len - 1] == '\r' || v->line[len - 1] == ' ')) len--;
        if (len == 0) continue; /* blank lines are allowed */
        json_error_t je;
        json_t *o = json_loadb(v->line, len, 0, &je);
        if (!o) return fs_error_set(err, v->path, (int)v->lineno, je.column, "invalid JSON: %s", je.text);
        int rc = -1;
        int32_t in, outt;
        if (!json_is_object(o)) {
            fs_error_set(err, v->path, (int)v->lineno, 0, "expected a JSON object per line");
        } else if (field_count(v, o, "input_toks", &in, err) == 0 && field_count(v, o, "output_toks", &outt, err) == 0) {
            if (v->clock == 0) v->clock = json_object_get(o, "queued_ts") ? 1 : 2;
            const char *key = v->clock == 1 ? "queued_ts" : "arrival_time";
            json_t *t = json_object_get(o, key);
            double ts = json_is_number(t) ? json_number_value(t) : NAN;
            if (!isfinite(ts) || ts < 0) {
                fs_error_set(err, v->path, (int)v->lineno, 0, "\"%s\": expected a time in seconds%s", key,
                             t ? "" : " (missing)");
            } else {
                if (v->next_id == 0) v->t0 = ts;
                fs_time at = fs_time_from_s(ts - v->t0);
                if (at < v->last) {
                    fs_error_set(err, v->path, (int)v->lineno, 0, "\"%s\": time goes backwards (%.6f s before the "
                                 "previous request)", key, fs_time_to_s(v->last - at));
                } else {
                    v->last = at;
                    memset(out, 0, sizeof *out);
                    out->id = v->next_id++;
                    out->arrival = at;
                    out->input_tokens = in;
                    out->output_tokens = outt;
                    out->target = v->target;
                    rc = 1;
                }
            }
        }
        json_decref(o);
        return rc;
    }
}

static void vllm_free(wl_source *src)
{
    vllm_src *v = (vllm_src *)src;
    if (v->f) fclose(v->f);
    free(v->line);
    free(v->path);
    free(v);
}

static const wl_source_ops vllm_ops = {vllm_next, NULL, vllm_free};

wl_source *wl_vllm_open(const char *path, uint32_t target, fs_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fs_error_set(err, path, 0, 0, "cannot open trace: %s", strerror(errno));
        return NULL;
    }
    vllm_src *v = fs_xcalloc(1, sizeof *v);
    v->base.ops = &vllm_ops;
    v->f = f;
    v->path = fs_xstrdup(path);
    v->target = target;
    return &v->base;
}
