/*
 * wl.h — request sources behind one pull API.
 *
 * A source yields requests in arrival order, one at a time (wl_next); nothing holds the whole
 * workload in memory, so a trace of any length streams. The simulation tells the source of each
 * completion (wl_complete), which closed-loop and session sources need to time their next
 * request; open-loop sources ignore it.
 *
 * Common random numbers: a synthetic source draws from its own RNG streams (arrivals and
 * lengths), seeded from (scenario seed, source index) only, so the request stream is a pure
 * function of the seed and the workload, whatever the fleet or router.
 *
 * Ownership: wl_*_open returns a source the caller releases with wl_free. A wl_request is a
 * plain value.
 */
#ifndef FS_WL_H
#define FS_WL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs_error.h"
#include "fs_time.h"

typedef struct wl_request {
    uint64_t id;           /* 0, 1, 2, ... in arrival order */
    fs_time arrival;       /* ns from the start of the run */
    int32_t input_tokens;  /* prompt length, >= 1 */
    int32_t output_tokens; /* tokens to generate, >= 1 */
    uint32_t target;       /* which deployment serves it (index), set by the source's tag */
    int32_t priority;      /* lower is more urgent (engines with the priority policy) */
    /* Prompt sharing for prefix caching: the first prefix_tokens tokens of the request (its
     * prompt, then its output) are the same for every request with the same prefix_key (0:
     * nothing shared). A session's turns share one key: each turn's prompt starts with the
     * previous turn's prompt and output. */
    uint64_t prefix_key;
    int32_t prefix_tokens;
    /* Or a chain of content hashes (Mooncake's hash_ids): chain[i] names tokens
     * [i x chain_tokens, (i + 1) x chain_tokens) of the prompt together with everything before
     * them, so two prompts hold the same tokens for as long as their chains agree. Points into
     * the source: valid until its next wl_next; whoever keeps the request copies it. */
    const uint64_t *chain;
    int32_t nchain, chain_tokens;
    uint32_t tenant, region;  /* 1-based indexes into the scenario's names; 0: none */
    uint64_t session;         /* 0: none */
} wl_request;

typedef struct wl_source wl_source;

/* 1: a request in *out; 0: the source is exhausted; -1: bad input, described in err;
 * WL_WAIT: nothing now (closed-loop users, session turns). out->arrival then holds a wake-up
 * time (FS_TIME_MAX: none): when the source will have a request without any completion (the
 * next session starts). The caller asks again after each wl_complete of this source and at the
 * wake-up, until WL_WAIT, and schedules every request given (arrivals at or after the call's
 * time, not necessarily in order among themselves); a call after a WL_WAIT with no completion
 * in between counts as the wake-up. wl_complete names a request by its id: wrappers keep ids. */
#define WL_WAIT 2
int wl_next(wl_source *s, wl_request *out, fs_error *err);
/* Start again from the first request (for looping). 0, or -1 with err. */
int wl_rewind(wl_source *s, fs_error *err);
/* A request of this source finished at `now`. */
void wl_complete(wl_source *s, const wl_request *r, fs_time now);
void wl_free(wl_source *s);

/* ---- traces ---- */

/* Trace formats (wl_format_name gives the scenario's names). */
enum wl_format {
    WL_FMT_AZURE,    /* Azure LLM inference CSV: TIMESTAMP,ContextTokens,GeneratedTokens (2023, 2024) */
    WL_FMT_BURSTGPT, /* BurstGPT CSV, v1.1 (6 columns) and v1.2+ (8 columns) */
    WL_FMT_MOONCAKE, /* Mooncake JSON lines: timestamp (ms), input_length, output_length, hash_ids */
    WL_FMT_VLLM,     /* per-request JSON lines of a measured run: input_toks, output_toks, queued_ts / arrival_time */
    WL_FMT_CSV,      /* any CSV with a header, through a column mapping */
    WL_FMT_JSONL,    /* any JSON lines, through a key mapping */
    WL_FMT_COUNT
};
const char *wl_format_name(enum wl_format f);
int wl_format_from_name(const char *name); /* -1: unknown */

enum wl_time_unit { WL_UNIT_S, WL_UNIT_MS, WL_UNIT_US, WL_UNIT_DATETIME };
/* Their names, in enum order, NULL-terminated: "s", "ms", "us", "datetime". */
extern const char *const wl_time_unit_names[];

/* A generic trace's columns (CSV header names, or JSON keys); NULL: absent. arrival, input and
 * output are required. */
typedef struct wl_columns {
    const char *arrival, *input, *output;
    enum wl_time_unit arrival_unit;
    const char *model, *tenant, *session, *priority, *region;
} wl_columns;

/* What a trace's rows came to. */
typedef struct wl_trace_stats {
    uint64_t rows;     /* data rows read */
    uint64_t bad;      /* malformed rows skipped (skip_bad_rows) */
    uint64_t failed;   /* failed requests dropped (BurstGPT: Response tokens 0) */
    uint64_t filtered; /* rows another filter left out (model, log type) */
} wl_trace_stats;

/* Names in a trace's rows to indexes: the deployment serving a model (-1 with a message in
 * `why` when none does), and tenant and region names (kind 0 and 1) to 1-based indexes. */
typedef struct wl_names {
    void *ctx;
    int (*model)(void *ctx, const char *name, size_t len, uint32_t *target, char *why, size_t why_len);
    uint32_t (*intern)(void *ctx, int kind, const char *name, size_t len);
} wl_names;

typedef struct wl_trace_opts {
    enum wl_format format;
    wl_columns columns;        /* WL_FMT_CSV, WL_FMT_JSONL */
    const char *model;         /* BurstGPT: only rows of this Model (NULL: all) */
    const char *log_type;      /* BurstGPT: only rows of this Log Type (NULL: all) */
    bool keep_failed;          /* BurstGPT: keep failed requests (served with 1 output token) */
    bool skip_bad_rows;        /* skip and count malformed rows instead of failing */
    double sort_window;        /* seconds: rows may come this much out of time order (0: none) */
    uint32_t target;           /* the deployment, unless a model column says otherwise */
    const wl_names *names;     /* for model, tenant and region columns (may be NULL) */
    bool json_slow;            /* parse every JSON line with jansson (tests compare the two) */
    bool unordered;            /* rows may come in any order (a reader after lengths only): no time-order
                                  check; arrivals are then relative to the first row and may be < 0 */
} wl_trace_opts;

/* Open a trace, plain or gzip-compressed (told by its first bytes). Fails (NULL, err filled)
 * when the file cannot be read or its header is wrong; row errors surface from wl_next as
 * file:line:column with the offending value. Arrivals are relative to the earliest request. */
wl_source *wl_trace_open(const char *path, const wl_trace_opts *o, fs_error *err);
/* The same over bytes in memory (`name` for messages; the bytes must outlive the source). */
wl_source *wl_trace_open_buffer(const char *name, const void *data, size_t len, const wl_trace_opts *o,
                                fs_error *err);
/* Row counts of the traces under s (summed over merged sources); zeros for synthetic ones. */
void wl_stats(wl_source *s, wl_trace_stats *out);

/* ---- transforms ---- */

typedef struct wl_xform_spec {
    double window_start, window_end; /* seconds of the source's own time; end 0: to the end */
    double sample;                   /* keep each request with this probability (1: all) */
    double speedup;                  /* arrival times divided by this (1: as is) */
    double mean_rate;                /* rescale arrival times to this mean rate, req/s (0: as is) */
    uint32_t loop;                   /* play the source this many times back to back (0, 1: once) */
    uint64_t limit;                  /* at most this many requests (0: all) */
    /* tags: a set value replaces the request's own */
    bool set_target, set_tenant, set_region, set_priority;
    uint32_t target, tenant, region;
    int32_t priority;
} wl_xform_spec;

/* Apply x to inner (owned): window, sampling (seeded by seed and index), speed-up or mean rate
 * (a first pass over the source measures its rate), looping, limit, tags. Ids are renumbered.
 * NULL with err when the first pass fails or finds no request. */
wl_source *wl_xform_open(wl_source *inner, const wl_xform_spec *x, uint64_t seed, uint64_t index, fs_error *err);

/* Requests from memory (copied); ids are renumbered 0, 1, ... in order. */
wl_source *wl_list_open(const wl_request *reqs, size_t n);

/* The Azure and measured-run readers (wl_trace_open with defaults). */
wl_source *wl_azure_open(const char *path, uint32_t target, fs_error *err);
wl_source *wl_vllm_open(const char *path, uint32_t target, fs_error *err);

/* Parse "YYYY-MM-DD HH:MM:SS[.f{1,9}][Z|+HH:MM|-HH:MM]" (a 'T' may separate date and time)
 * into ns since the Unix epoch, UTC. Returns -1 when the text is not such a timestamp, or its
 * year is outside 1678..2261 (what 64-bit nanoseconds since 1970 can hold). */
int wl_parse_datetime(const char *s, size_t len, int64_t *ns);

#endif
