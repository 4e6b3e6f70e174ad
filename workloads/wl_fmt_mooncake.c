/*
 * Mooncake traces (Kimi's serving traces, FAST'25): JSON lines
 *
 *   {"timestamp": 27482, "input_length": 6955, "output_length": 52, "hash_ids": [46, 47, ...]}
 *
 * timestamp in ms from the trace start, the prompt and output lengths, and one id per 512-token
 * block of the prompt (the last one may be partial): equal ids at equal positions mean equal
 * content. Every release (mooncake_trace.jsonl, the FAST25-release/traces files) uses these four
 * keys; no other spelling is accepted.
 *
 * The ids become the request's chain: chain[0] = H(id0), chain[i] = H(chain[i-1], id_i), so two
 * prompts agree on chain[i] exactly when their ids agree up to i, as wl.h asks. Of the ids, the
 * first ceil(input_length / 512) are used: ids past the prompt would name no token of it. With
 * fewer ids only the blocks they name can be shared; the rest of the prompt is the request's
 * own. hash_ids may be absent, null or empty: nothing is shared.
 */
#include <stdlib.h>

#include "rng.h"
#include "wl_trace_internal.h"

#define BLOCK_TOKENS 512
#define CHAIN_SEED UINT64_C(0x4d4f4f4e43414b45) /* "MOONCAKE" */

typedef struct mooncake_state {
    uint64_t *chain; /* the last row's chain */
    size_t cap;
} mooncake_state;

static int mooncake_row(wl_reader *r, wl_request *out, fs_error *err)
{
    mooncake_state *st = r->fmt_state;
    if (wl_json_time(r, "timestamp", WL_UNIT_MS, &out->arrival, err) ||
        wl_json_count(r, "input_length", true, &out->input_tokens, err) ||
        wl_json_count(r, "output_length", true, &out->output_tokens, err))
        return WL_ROW_BAD;
    const uint64_t *ids;
    size_t n;
    int rc = wl_json_uints(&r->json, "hash_ids", &ids, &n);
    if (rc < 0) {
        char shown[64];
        wl_json_show(&r->json, "hash_ids", shown, sizeof shown);
        return wl_row_error(r, err, 0, NULL, "\"hash_ids\": expected an array of integers >= 0, got %s", shown);
    }
    if (rc == 0 || n == 0) return WL_ROW_OK;
    size_t blocks = ((size_t)out->input_tokens + BLOCK_TOKENS - 1) / BLOCK_TOKENS;
    if (n > blocks) n = blocks;
    if (n > st->cap) st->chain = fs_xgrow(st->chain, &st->cap, n, sizeof *st->chain);
    uint64_t h = fs_hash64(CHAIN_SEED, ids[0]);
    st->chain[0] = h;
    for (size_t i = 1; i < n; i++) st->chain[i] = h = fs_hash64(h, ids[i]);
    out->chain = st->chain;
    out->nchain = (int32_t)n;
    out->chain_tokens = BLOCK_TOKENS;
    return WL_ROW_OK;
}

static void mooncake_fini(wl_reader *r)
{
    mooncake_state *st = r->fmt_state;
    free(st->chain);
}

const wl_format_ops wl_fmt_mooncake = {"mooncake", false, NULL, mooncake_row, mooncake_fini, sizeof(mooncake_state)};
