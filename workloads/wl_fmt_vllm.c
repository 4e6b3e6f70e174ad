/*
 * Per-request JSON lines of a measured vLLM benchmark run, one object per line with at least
 * `input_toks`, `output_toks` and a time: the engine's `queued_ts` when the first row has it (the
 * server's own clock, as the engine saw the arrival), else the client's `arrival_time` (which
 * lags the engine by up to the client's send delay). Times are seconds.
 */
#include "wl_trace_internal.h"

typedef struct vllm_state {
    int clock; /* 0 unknown yet, 1 queued_ts, 2 arrival_time */
} vllm_state;

static int vllm_row(wl_reader *r, wl_request *out, fs_error *err)
{
    vllm_state *st = r->fmt_state;
    double probe;
    if (st->clock == 0) st->clock = wl_json_num(&r->json, "queued_ts", &probe) != 0 ? 1 : 2;
    if (wl_json_count(r, "input_toks", true, &out->input_tokens, err) ||
        wl_json_count(r, "output_toks", true, &out->output_tokens, err) ||
        wl_json_time(r, st->clock == 1 ? "queued_ts" : "arrival_time", WL_UNIT_S, &out->arrival, err))
        return WL_ROW_BAD;
    return WL_ROW_OK;
}

const wl_format_ops wl_fmt_vllm = {"vllm", false, NULL, vllm_row, NULL, sizeof(vllm_state)};

wl_source *wl_vllm_open(const char *path, uint32_t target, fs_error *err)
{
    wl_trace_opts o = {.format = WL_FMT_VLLM, .target = target};
    return wl_trace_open(path, &o, err);
}
