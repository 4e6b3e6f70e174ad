/* The jsonl trace format: being written (see wl_trace_internal.h for the interface). */
#include "wl_trace_internal.h"

static int jsonl_row(wl_reader *r, wl_request *out, fs_error *err)
{
    (void)out;
    return wl_row_error(r, err, 0, NULL, "the jsonl format is not available yet");
}

static int jsonl_header(wl_reader *r, fs_error *err)
{
    (void)r;
    (void)err;
    return 0;
}

const wl_format_ops wl_fmt_jsonl = {"jsonl", false, jsonl_header, jsonl_row, NULL, 0};
