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
    /* Prompt sharing for prefix caching: the first prefix_tokens tokens of the prompt are the
     * same for every request with the same prefix_key (0: nothing shared). */
    uint64_t prefix_key;
    int32_t prefix_tokens;
} wl_request;

typedef struct wl_source wl_source;

/* 1: a request in *out; 0: the source is exhausted; -1: bad input, described in err. */
int wl_next(wl_source *s, wl_request *out, fs_error *err);
/* A request of this source finished at `now`. */
void wl_complete(wl_source *s, const wl_request *r, fs_time now);
void wl_free(wl_source *s);

/* ---- synthetic load ---- */

enum wl_arrival { WL_ARRIVAL_CONSTANT, WL_ARRIVAL_POISSON, WL_ARRIVAL_GAMMA };
enum wl_dist { WL_DIST_FIXED, WL_DIST_UNIFORM, WL_DIST_LOGNORMAL, WL_DIST_EMPIRICAL };

/* A token-length distribution. fixed: value. uniform: integers in [min, max]. lognormal: mean
 * and cv of the distribution itself (not of its log), then clamped to [min, max]. empirical: one
 * of `values` (lengths taken from a trace) chosen uniformly, then clamped. Draws are
 * rounded to integers and are at least 1. */
typedef struct wl_len_spec {
    enum wl_dist dist;
    double value, mean, cv;
    double min, max;
    const int32_t *values;  /* empirical: not owned, must outlive the source */
    size_t nvalues;
} wl_len_spec;

typedef struct wl_synth_spec {
    enum wl_arrival arrival;
    double rate; /* requests per second, > 0 */
    double cv;   /* gamma: coefficient of variation of inter-arrival times, > 0 */
    wl_len_spec input, output;
    /* Shared prefixes (a system prompt): each request starts with prefix_tokens tokens shared
     * with the requests of one of prefix_groups groups, drawn uniformly; its input length is
     * prefix_tokens plus a draw from `input`. 0 tokens: no sharing. */
    int32_t prefix_tokens;
    uint32_t prefix_groups;
    uint32_t target;
} wl_synth_spec;

/* `index` tells sources apart in the RNG stream derivation (the first source is 0). */
wl_source *wl_synth_open(const wl_synth_spec *spec, uint64_t seed, uint64_t index);

/* Draw one length (exposed for tests of the distributions). */
int32_t wl_len_draw(const wl_len_spec *spec, void *gsl_rng);

/* ---- traces ---- */

/* The Azure LLM inference trace CSV (TIMESTAMP,ContextTokens,GeneratedTokens), streamed with
 * libcsv. Arrivals are relative to the first row's timestamp. Fails (NULL, err filled) when the
 * file cannot be opened, is empty or its header is wrong; row errors surface from wl_next. */
wl_source *wl_azure_open(const char *path, uint32_t target, fs_error *err);

/* Arrival times of `inner` divided by `speedup` (> 0): 2 replays a trace twice as fast. Takes
 * ownership of inner. */
wl_source *wl_speedup_open(wl_source *inner, double speedup);

/* Requests from memory (copied); ids are renumbered 0, 1, ... in order. */
wl_source *wl_list_open(const wl_request *reqs, size_t n);

/* Per-request JSON lines of a measured vLLM run (input_toks, output_toks, and queued_ts or else
 * arrival_time, in seconds). Row errors surface from wl_next as file:line. */
wl_source *wl_vllm_open(const char *path, uint32_t target, fs_error *err);

/* Parse "YYYY-MM-DD HH:MM:SS[.f{1,9}][Z|+HH:MM|-HH:MM]" (a 'T' may separate date and time)
 * into ns since the Unix epoch, UTC. Returns -1 when the text is not such a timestamp. */
int wl_parse_datetime(const char *s, size_t len, int64_t *ns);

#endif
