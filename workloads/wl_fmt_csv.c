/*
 * Any CSV with a header row, through opts.columns: the header names of the arrival (in
 * arrival_unit: s, ms, us, or a date and time), input and output columns, and optionally model,
 * tenant, session, priority and region. Every named column must be in the header (checked at
 * open); other columns are ignored, and every row has as many fields as the header.
 *
 * Model values map to a deployment through opts.names->model (an empty value: opts.target); a
 * model column without opts.names fails at open. Tenant and region names become 1-based indexes
 * through opts.names->intern (0 without opts.names, or for an empty value). Priority is an integer
 * in -1000000..1000000 (empty: 0). Session is any text, hashed (empty: no session).
 */
#include "wl_trace_internal.h"

enum { C_ARRIVAL, C_INPUT, C_OUTPUT, C_MODEL, C_TENANT, C_SESSION, C_PRIORITY, C_REGION, C_N };

static const char *const keys[C_N] = {"arrival", "input", "output", "model", "tenant", "session", "priority", "region"};

typedef struct csv_state {
    int ncols;
    int col[C_N];         /* index in the row, -1: not mapped */
    const char *name[C_N]; /* the header name (opts.columns') */
} csv_state;

static void names_of(const wl_columns *c, const char *out[C_N])
{
    const char *v[C_N] = {c->arrival, c->input, c->output, c->model, c->tenant, c->session, c->priority, c->region};
    for (int i = 0; i < C_N; i++) out[i] = v[i];
}

static int csv_header(wl_reader *r, fs_error *err)
{
    csv_state *st = r->fmt_state;
    names_of(&r->opts.columns, st->name);
    st->ncols = r->nf;
    for (int i = 0; i < C_N; i++) {
        st->col[i] = -1;
        if (!st->name[i]) {
            if (i <= C_OUTPUT)
                return fs_error_set(err, r->path, 0, 0, "a csv trace needs columns.%s: the header name of its %s "
                                    "column", keys[i], keys[i]);
            continue;
        }
        if ((st->col[i] = wl_header_find(r, st->name[i])) < 0) {
            char list[500];
            return fs_error_set(err, r->path, (int)r->line, 0, "no column '%s' (columns.%s) in the header; its "
                                "columns are %s", st->name[i], keys[i], wl_header_list(r, list, sizeof list));
        }
    }
    if (st->name[C_MODEL] && (!r->opts.names || !r->opts.names->model))
        return fs_error_set(err, r->path, (int)r->line, st->col[C_MODEL] + 1, "column '%s' (columns.model) names "
                            "models, but this trace is read without deployments to map them to",
                            st->name[C_MODEL]);
    return 0;
}

static int csv_row(wl_reader *r, wl_request *out, fs_error *err)
{
    const csv_state *st = r->fmt_state;
    const int *c = st->col;
    const char *const *nm = st->name;
    if (r->nf != st->ncols)
        return wl_row_error(r, err, 0, NULL, "expected %d columns (as in the header), found %d", st->ncols, r->nf);
    if (wl_field_time(r, c[C_ARRIVAL], nm[C_ARRIVAL], r->opts.columns.arrival_unit, &out->arrival, err) ||
        wl_field_count(r, c[C_INPUT], nm[C_INPUT], true, &out->input_tokens, err) ||
        wl_field_count(r, c[C_OUTPUT], nm[C_OUTPUT], true, &out->output_tokens, err))
        return WL_ROW_BAD;
    if (c[C_MODEL] >= 0) {
        const wl_field *f = &r->f[c[C_MODEL]];
        char why[200];
        if (wl_map_model(r, f->s, f->n, &out->target, why, sizeof why))
            return wl_row_error(r, err, c[C_MODEL] + 1, nm[C_MODEL], "%s", why);
    }
    if (c[C_PRIORITY] >= 0 && r->f[c[C_PRIORITY]].n > 0) {
        int64_t v;
        if (wl_field_int(r, c[C_PRIORITY], nm[C_PRIORITY], -WL_MAX_PRIORITY, WL_MAX_PRIORITY, &v, err))
            return WL_ROW_BAD;
        out->priority = (int32_t)v;
    }
    if (c[C_TENANT] >= 0) out->tenant = wl_map_name(r, 0, r->f[c[C_TENANT]].s, r->f[c[C_TENANT]].n);
    if (c[C_REGION] >= 0) out->region = wl_map_name(r, 1, r->f[c[C_REGION]].s, r->f[c[C_REGION]].n);
    if (c[C_SESSION] >= 0) out->session = wl_hash_text(r->f[c[C_SESSION]].s, r->f[c[C_SESSION]].n);
    return WL_ROW_OK;
}

const wl_format_ops wl_fmt_csv = {"csv", true, csv_header, csv_row, NULL, sizeof(csv_state)};
