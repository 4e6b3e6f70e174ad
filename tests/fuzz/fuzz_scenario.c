/*
 * fuzz_scenario.c — libFuzzer target: the scenario parser (sim/cli/scenario.h).
 *
 * Input: JSON text. What jansson rejects is skipped (that is jansson's parser, not ours); the
 * tree goes to scenario_load_json as if read from /tmp/fuzz-scenario.json, so relative trace and
 * catalog paths point into /tmp (they rarely exist: opening them fails, as it should). A loaded
 * scenario then has its sources opened and driven for up to PULLS requests each, completions
 * included (closed-loop users and sessions wait for them).
 *
 * Beyond the sanitizers, the target aborts when: a failure leaves no message, or leaves state
 * behind (resolved JSON, sources); a success yields no resolved JSON, no source or no deployment;
 * the resolved JSON does not load again to the same resolved JSON (it is what the results store
 * keeps as the scenario that ran); a request breaks wl.h's contract (ids 0, 1, ... as given;
 * arrivals in order until the source first waits, and never before the time of the call; at
 * least one token; a deployment of the scenario); or a source's own assertion fails.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "scenario.h"

#define PATH "/tmp/fuzz-scenario.json"
#define PULLS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz_scenario: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* Load root (taken over); on failure check that the error is reported and nothing kept. */
static int load(json_t *root, scenario *sc)
{
    fs_error err;
    char msg[2048];
    fs_error_clear(&err);
    if (scenario_load_json(root, PATH, NULL, sc, &err) == 0) {
        if (!sc->resolved_json || sc->nsources == 0 || !sc->sources || sc->cfg.ndeployments == 0)
            fail("loaded with resolved JSON %p, %u sources, %u deployments", (void *)sc->resolved_json, sc->nsources,
                 sc->cfg.ndeployments);
        return 0;
    }
    if (!err.msg[0]) fail("scenario_load_json failed without a message");
    if (sc->resolved_json || sc->sources || sc->nsources || sc->cat)
        fail("scenario_load_json failed (%s) and left state behind", fs_error_format(&err, msg, sizeof msg));
    return -1;
}

/* The resolved JSON must load again, to itself. */
static void check_reload(const scenario *sc)
{
    json_error_t je;
    json_t *root = json_loads(sc->resolved_json, JSON_REJECT_DUPLICATES, &je);
    if (!root) fail("resolved JSON does not parse: %s\n  %s", je.text, sc->resolved_json);
    scenario again;
    fs_error err;
    char msg[2048];
    fs_error_clear(&err);
    if (scenario_load_json(root, PATH, NULL, &again, &err))
        fail("resolved JSON does not load: %s\n  %s", fs_error_format(&err, msg, sizeof msg), sc->resolved_json);
    if (strcmp(again.resolved_json, sc->resolved_json) != 0)
        fail("resolved JSON changes on reloading:\n  %s\n  %s", sc->resolved_json, again.resolved_json);
    scenario_fini(&again);
}

/* Draw up to PULLS requests from a source as the simulation would: every request takes 1 s, and
 * when the source waits (closed-loop users, sessions) time moves to the next completion or to the
 * wake-up the source asked for, whichever comes first. */
static void drive(wl_source *src, uint32_t i, uint32_t ndeployments)
{
    wl_request fly[PULLS]; /* requests given and not completed, in the order they complete */
    size_t nfly = 0;
    fs_time now = 0, prev = 0;
    bool waited = false;
    fs_error err;
    fs_error_clear(&err);
    for (uint64_t k = 0, calls = 0; k < PULLS && calls < 4 * PULLS; calls++) {
        wl_request r;
        int rc = wl_next(src, &r, &err);
        if (rc == WL_WAIT) {
            waited = true;
            fs_time done = nfly ? fly[0].arrival + FS_NS_PER_S : FS_TIME_MAX;
            if (done == FS_TIME_MAX && r.arrival == FS_TIME_MAX) return; /* nothing will come */
            if (done > r.arrival) { /* the wake-up comes first: the next call is it */
                if (r.arrival > now) now = r.arrival;
                continue;
            }
            now = done;
            wl_complete(src, &fly[0], now);
            memmove(fly, fly + 1, --nfly * sizeof *fly);
            continue;
        }
        if (rc < 0 && !err.msg[0]) fail("source %u: wl_next failed without a message", i);
        if (rc != 1) {
            if (rc != 0 && rc != -1) fail("source %u: wl_next returned %d", i, rc);
            return;
        }
        if (r.id != k || r.arrival < now || (!waited && r.arrival < prev) || r.input_tokens < 1 ||
            r.output_tokens < 1 || r.target >= ndeployments)
            fail("source %u, request %llu: id %llu, arrival %lld ns (now %lld ns, previous %lld ns), %d input and %d "
                 "output tokens, target %u", i, (unsigned long long)k, (unsigned long long)r.id,
                 (long long)r.arrival, (long long)now, (long long)prev, r.input_tokens, r.output_tokens, r.target);
        prev = r.arrival;
        if (r.arrival > FS_TIME_MAX - FS_NS_PER_S) return; /* it would never complete */
        size_t at = nfly++; /* keep fly ordered by arrival, so fly[0] completes first */
        while (at > 0 && fly[at - 1].arrival > r.arrival) {
            fly[at] = fly[at - 1];
            at--;
        }
        fly[at] = r;
        k++;
    }
}

/* Open the sources and drive each for a few requests. */
static void pull(scenario *sc)
{
    wl_source **src = calloc(sc->nsources, sizeof *src);
    fs_error err;
    if (!src) fail("out of memory");
    fs_error_clear(&err);
    if (scenario_open_sources(sc, src, &err)) {
        if (!err.msg[0]) fail("scenario_open_sources failed without a message");
        free(src);
        return;
    }
    for (uint32_t i = 0; i < sc->nsources; i++) {
        drive(src[i], i, sc->cfg.ndeployments);
        wl_free(src[i]);
    }
    free(src);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    if (!root) return 0;
    scenario sc;
    if (load(root, &sc)) return 0;
    check_reload(&sc);
    pull(&sc);
    scenario_fini(&sc);
    return 0;
}
