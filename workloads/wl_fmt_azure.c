/*
 * The Azure LLM inference traces (Splitwise, ISCA'24, 2023; the week-long 2024 traces): CSV with
 * the header TIMESTAMP,ContextTokens,GeneratedTokens. 2023 timestamps are naive with 7
 * fractional digits, 2024 ones carry 6 digits and a UTC offset; wl_parse_datetime reads both.
 */
#include <string.h>

#include "wl_trace_internal.h"

static const char *const columns[3] = {"TIMESTAMP", "ContextTokens", "GeneratedTokens"};

static int azure_header(wl_reader *r, fs_error *err)
{
    for (int i = 0; i < 3; i++) {
        if (i >= r->nf)
            return fs_error_set(err, r->path, (int)r->line, i + 1, "expected the header "
                                "TIMESTAMP,ContextTokens,GeneratedTokens, got only %d columns", r->nf);
        if (wl_header_find(r, columns[i]) != i)
            return fs_error_set(err, r->path, (int)r->line, i + 1, "expected the header "
                                "TIMESTAMP,ContextTokens,GeneratedTokens, got '%s' in column %d", r->f[i].s, i + 1);
    }
    if (r->nf != 3)
        return fs_error_set(err, r->path, (int)r->line, 0, "expected the header TIMESTAMP,ContextTokens,"
                            "GeneratedTokens, got %d columns", r->nf);
    return 0;
}

static int azure_row(wl_reader *r, wl_request *out, fs_error *err)
{
    if (r->nf != 3)
        return wl_row_error(r, err, 0, NULL, "expected 3 columns (TIMESTAMP,ContextTokens,GeneratedTokens), found %d",
                            r->nf);
    if (wl_field_time(r, 0, columns[0], WL_UNIT_DATETIME, &out->arrival, err) ||
        wl_field_count(r, 1, columns[1], true, &out->input_tokens, err) ||
        wl_field_count(r, 2, columns[2], true, &out->output_tokens, err))
        return WL_ROW_BAD;
    return WL_ROW_OK;
}

const wl_format_ops wl_fmt_azure = {"azure", true, azure_header, azure_row, NULL, 0};

wl_source *wl_azure_open(const char *path, uint32_t target, fs_error *err)
{
    wl_trace_opts o = {.format = WL_FMT_AZURE, .target = target};
    return wl_trace_open(path, &o, err);
}
