/*
 * Any JSON lines, through opts.columns read as keys: the arrival (a number in arrival_unit s, ms
 * or us; a date-time string for datetime), input and output (token counts) are required in every
 * row; model, tenant, session, priority and region are optional members (absent or null: not
 * given). Other members are ignored.
 *
 * As for CSV (wl_fmt_csv.c): a model maps to a deployment through opts.names->model (a model key
 * without opts.names fails at open), tenant and region become indexes through
 * opts.names->intern, priority is an integer in -1000000..1000000, a session is hashed. Names
 * and sessions may be strings or integers (an integer stands for its decimal text).
 */
#include "wl_trace_internal.h"

static int jsonl_check(wl_reader *r, fs_error *err)
{
    const wl_columns *c = &r->opts.columns;
    const char *need[3] = {c->arrival, c->input, c->output}, *what[3] = {"arrival", "input", "output"};
    for (int i = 0; i < 3; i++)
        if (!need[i])
            return fs_error_set(err, r->path, 0, 0, "a jsonl trace needs columns.%s: the key of its %s member",
                                what[i], what[i]);
    if (c->model && (!r->opts.names || !r->opts.names->model))
        return fs_error_set(err, r->path, 0, 0, "key \"%s\" (columns.model) names models, but this trace is read "
                            "without deployments to map them to", c->model);
    return 0;
}

static int jsonl_row(wl_reader *r, wl_request *out, fs_error *err)
{
    const wl_columns *c = &r->opts.columns;
    if (wl_json_time(r, c->arrival, c->arrival_unit, &out->arrival, err) ||
        wl_json_count(r, c->input, true, &out->input_tokens, err) ||
        wl_json_count(r, c->output, true, &out->output_tokens, err))
        return WL_ROW_BAD;
    char num[24];
    const char *s;
    size_t n;
    int rc;
    if (c->model) {
        if ((rc = wl_json_name(r, c->model, num, &s, &n, err)) < 0) return WL_ROW_BAD;
        char why[200];
        if (rc == 1 && wl_map_model(r, s, n, &out->target, why, sizeof why))
            return wl_row_error(r, err, 0, NULL, "\"%s\": %s", c->model, why);
    }
    if (c->priority) {
        int64_t v = 0;
        if (wl_json_int_in(r, c->priority, -WL_MAX_PRIORITY, WL_MAX_PRIORITY, &v, err) < 0) return WL_ROW_BAD;
        out->priority = (int32_t)v;
    }
    if (c->tenant) {
        if ((rc = wl_json_name(r, c->tenant, num, &s, &n, err)) < 0) return WL_ROW_BAD;
        if (rc == 1) out->tenant = wl_map_name(r, 0, s, n);
    }
    if (c->region) {
        if ((rc = wl_json_name(r, c->region, num, &s, &n, err)) < 0) return WL_ROW_BAD;
        if (rc == 1) out->region = wl_map_name(r, 1, s, n);
    }
    if (c->session) {
        if ((rc = wl_json_name(r, c->session, num, &s, &n, err)) < 0) return WL_ROW_BAD;
        if (rc == 1) out->session = wl_hash_text(s, n);
    }
    return WL_ROW_OK;
}

const wl_format_ops wl_fmt_jsonl = {"jsonl", false, jsonl_check, jsonl_row, NULL, 0};
