/* The mooncake trace format: being written (see wl_trace_internal.h for the interface). */
#include "wl_trace_internal.h"

static int mooncake_row(wl_reader *r, wl_request *out, fs_error *err)
{
    (void)out;
    return wl_row_error(r, err, 0, NULL, "the mooncake format is not available yet");
}

static int mooncake_header(wl_reader *r, fs_error *err)
{
    (void)r;
    (void)err;
    return 0;
}

const wl_format_ops wl_fmt_mooncake = {"mooncake", false, mooncake_header, mooncake_row, NULL, 0};
