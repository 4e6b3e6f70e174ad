/*
 * BurstGPT (ChatGPT and GPT-4 requests to Azure OpenAI over months): CSV in two versions, told
 * apart by the header, whose columns are found by name:
 *
 *   v1.1   Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type
 *   v1.2+  Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type
 *
 * Timestamp is seconds from the trace start (fractions allowed). Request tokens is the prompt,
 * Response tokens the output; a row with Response tokens 0 is a failed request, dropped and
 * counted in stats.failed unless opts.keep_failed (then served with 1 output token). The
 * opts.model and opts.log_type filters keep only rows whose Model or Log Type is that text
 * exactly; the rows they leave out count in stats.filtered and are not checked further (their
 * column count is). Session ID (v1.2+) becomes request.session; Elapsed time and Total tokens are
 * not used.
 */
#include <string.h>

#include "wl_trace_internal.h"

#define V11 "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type"
#define V12 "Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type"

static const char *const v11[] = {"Timestamp", "Model", "Request tokens", "Response tokens", "Total tokens",
                                  "Log Type", NULL};
static const char *const v12[] = {"Timestamp", "Session ID", "Elapsed time", "Model", "Request tokens",
                                  "Response tokens", "Total tokens", "Log Type", NULL};

typedef struct burstgpt_state {
    int ncols; /* 6 (v1.1) or 8 (v1.2+) */
    int ts, model, req, resp, log_type, session; /* column indexes; session -1 in v1.1 */
} burstgpt_state;

static int burstgpt_header(wl_reader *r, fs_error *err)
{
    burstgpt_state *st = r->fmt_state;
    const char *const *want = r->nf == 8 ? v12 : v11, *missing = NULL;
    for (const char *const *c = want; *c && !missing; c++)
        if (wl_header_find(r, *c) < 0) missing = *c;
    if (missing || (r->nf != 6 && r->nf != 8)) {
        char list[400];
        return fs_error_set(err, r->path, (int)r->line, 0, "expected a BurstGPT header, '" V11 "' (v1.1) or '" V12
                            "' (v1.2 and later); got %d columns (%s)%s%s%s", r->nf, wl_header_list(r, list, sizeof list),
                            missing ? ", no column '" : "", missing ? missing : "", missing ? "'" : "");
    }
    st->ncols = r->nf;
    st->ts = wl_header_find(r, "Timestamp");
    st->model = wl_header_find(r, "Model");
    st->req = wl_header_find(r, "Request tokens");
    st->resp = wl_header_find(r, "Response tokens");
    st->log_type = wl_header_find(r, "Log Type");
    st->session = r->nf == 8 ? wl_header_find(r, "Session ID") : -1;
    return 0;
}

static bool is(const wl_field *f, const char *s) { return f->n == strlen(s) && memcmp(f->s, s, f->n) == 0; }

static int burstgpt_row(wl_reader *r, wl_request *out, fs_error *err)
{
    const burstgpt_state *st = r->fmt_state;
    if (r->nf != st->ncols)
        return wl_row_error(r, err, 0, NULL, "expected %d columns (BurstGPT %s), found %d", st->ncols,
                            st->ncols == 8 ? "v1.2" : "v1.1", r->nf);
    if ((r->opts.model && !is(&r->f[st->model], r->opts.model)) ||
        (r->opts.log_type && !is(&r->f[st->log_type], r->opts.log_type))) {
        r->stats.filtered++;
        return WL_ROW_DROP;
    }
    int32_t resp;
    if (wl_field_time(r, st->ts, "Timestamp", WL_UNIT_S, &out->arrival, err) ||
        wl_field_count(r, st->req, "Request tokens", true, &out->input_tokens, err) ||
        wl_field_count(r, st->resp, "Response tokens", false, &resp, err))
        return WL_ROW_BAD;
    if (resp == 0 && !r->opts.keep_failed) {
        r->stats.failed++;
        return WL_ROW_DROP;
    }
    out->output_tokens = resp > 0 ? resp : 1;
    if (st->session >= 0) out->session = wl_hash_text(r->f[st->session].s, r->f[st->session].n);
    return WL_ROW_OK;
}

const wl_format_ops wl_fmt_burstgpt = {"burstgpt", true, burstgpt_header, burstgpt_row, NULL, sizeof(burstgpt_state)};
