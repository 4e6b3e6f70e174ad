/*
 * Transforms over another source, applied in this order: the time window (requests in
 * [start, end) of the source's own time, moved to start at 0), seeded sampling, the time scale
 * (a speed-up factor, or the factor that gives the requested mean rate, measured by a first pass
 * over the source), looping (the source again, each pass after the previous one: a window's
 * length, or the pass's last arrival plus its mean gap), the request limit, and tags. Ids are
 * renumbered where the window, sampling or looping leave requests out or repeat them; otherwise
 * they are the source's own, so a closed-loop source recognises its completions. WL_WAIT passes
 * through.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "rng.h"
#include "wl_internal.h"

typedef struct xform {
    wl_source base;
    wl_source *inner;
    wl_xform_spec x;
    uint64_t seed, index;
    gsl_rng *rng;
    fs_time start, end;     /* the window, ns of the source's time (end: FS_TIME_MAX) */
    double scale;           /* arrival multiplier */
    uint32_t passes, pass;
    fs_time offset;         /* of this pass, before scaling */
    fs_time last;           /* last arrival kept in this pass, rebased, before scaling */
    uint64_t kept;          /* in this pass */
    uint64_t next_id;
    bool renumber;          /* ids change only where requests are left out or repeated */
    bool done;
    wl_trace_stats past;    /* row counts of the passes before this one */
} xform;

/* The next request of the current pass that is inside the window and survives sampling, rebased
 * to the window's start. 1, 0 (pass over), -1. */
static int next_in_pass(xform *s, wl_request *out, fs_error *err)
{
    for (;;) {
        int rc = wl_next(s->inner, out, err);
        if (rc != 1) return rc;
        if (out->arrival < s->start) continue;
        if (out->arrival >= s->end) return 0; /* sources come in time order */
        if (s->x.sample < 1 && !(gsl_rng_uniform(s->rng) < s->x.sample)) continue;
        out->arrival -= s->start;
        return 1;
    }
}

static void reseed(xform *s)
{
    if (s->rng) fs_rng_free(s->rng);
    s->rng = fs_rng_new(s->seed, FS_STREAM_SAMPLING, s->index);
}

static int xform_next(wl_source *src, wl_request *out, fs_error *err)
{
    xform *s = (xform *)src;
    while (!s->done) {
        if (s->x.limit && s->next_id >= s->x.limit) break;
        int rc = next_in_pass(s, out, err);
        if (rc < 0 || rc == WL_WAIT) return rc; /* a wait's wake-up time is the source's own */
        if (rc == 1) {
            s->last = out->arrival;
            s->kept++;
            if (s->scale != 1 || s->offset != 0) {
                double t = ((double)out->arrival + (double)s->offset) * s->scale;
                if (!(t < FS_TIME_INPUT_MAX_S * 1e9))
                    return fs_error_set(err, "(workload)", 0, 0, "a transformed arrival time passes %g years (speedup, "
                                        "mean_rate or loop too far): %g s", FS_TIME_INPUT_MAX_S / (365.25 * 86400), t * 1e-9);
                out->arrival = (fs_time)llround(t);
            }
            if (s->renumber) out->id = s->next_id;
            s->next_id++;
            if (s->x.set_target) out->target = s->x.target;
            if (s->x.set_tenant) out->tenant = s->x.tenant;
            if (s->x.set_region) out->region = s->x.region;
            if (s->x.set_priority) out->priority = s->x.priority;
            return 1;
        }
        if (++s->pass >= s->passes || s->kept == 0) break;
        /* the next pass starts one pass length later */
        fs_time len = s->end < FS_TIME_MAX ? s->end - s->start
                                          : s->last + (s->kept > 1 ? s->last / (fs_time)(s->kept - 1) : FS_NS_PER_S);
        if (s->offset > FS_TIME_MAX / 2 - len) return 0; /* looped past any representable time */
        s->offset += len > 0 ? len : FS_NS_PER_S;
        s->kept = 0;
        s->last = 0;
        wl_trace_stats st;
        wl_stats(s->inner, &st);
        s->past.rows += st.rows, s->past.bad += st.bad, s->past.failed += st.failed, s->past.filtered += st.filtered;
        if (wl_rewind(s->inner, err)) return -1;
    }
    s->done = true;
    return 0;
}

static void xform_complete(wl_source *src, const wl_request *r, fs_time now)
{
    wl_complete(((xform *)src)->inner, r, now);
}

static int xform_rewind(wl_source *src, fs_error *err)
{
    xform *s = (xform *)src;
    if (wl_rewind(s->inner, err)) return -1;
    reseed(s);
    s->pass = 0;
    s->offset = s->last = 0;
    s->kept = s->next_id = 0;
    s->done = false;
    memset(&s->past, 0, sizeof s->past);
    return 0;
}

static void xform_stats(wl_source *src, wl_trace_stats *out)
{
    xform *s = (xform *)src;
    wl_stats(s->inner, out);
    out->rows += s->past.rows, out->bad += s->past.bad, out->failed += s->past.failed;
    out->filtered += s->past.filtered;
}

static void xform_free(wl_source *src)
{
    xform *s = (xform *)src;
    wl_free(s->inner);
    if (s->rng) fs_rng_free(s->rng);
    free(s);
}

static const wl_source_ops xform_ops = {xform_next, xform_complete, xform_free, xform_rewind, xform_stats};

wl_source *wl_xform_open(wl_source *inner, const wl_xform_spec *x, uint64_t seed, uint64_t index, fs_error *err)
{
    xform *s = fs_xcalloc(1, sizeof *s);
    s->base.ops = &xform_ops;
    s->inner = inner;
    s->x = *x;
    if (s->x.sample <= 0 || s->x.sample > 1) s->x.sample = 1;
    s->seed = seed;
    s->index = index;
    s->start = fs_time_from_s(x->window_start);
    s->end = x->window_end > 0 ? fs_time_from_s(x->window_end) : FS_TIME_MAX;
    s->passes = x->loop > 1 ? x->loop : 1;
    s->renumber = s->start > 0 || s->end < FS_TIME_MAX || s->x.sample < 1 || s->passes > 1;
    /* a source that hears of completions (closed loop, sessions) recognises its requests by id
     * and times its own arrivals: it takes tags and a limit only */
    FS_ASSERT(!inner->ops->complete || (!s->renumber && x->mean_rate <= 0 && (x->speedup <= 0 || x->speedup == 1)));
    s->scale = x->speedup > 0 ? 1 / x->speedup : 1;
    reseed(s);
    if (x->mean_rate > 0) { /* a first pass measures the rate of what the window and sampling keep */
        wl_request r;
        uint64_t n = 0;
        fs_time last = 0;
        int rc;
        while ((rc = next_in_pass(s, &r, err)) == 1) {
            n++;
            last = r.arrival;
        }
        if (rc < 0 || (rc == 0 && n == 0)) {
            if (rc == 0) fs_error_set(err, "(workload)", 0, 0, "mean_rate: the source has no requests to rescale");
            xform_free(&s->base);
            return NULL;
        }
        fs_time span = s->end < FS_TIME_MAX ? s->end - s->start : last;
        if (span <= 0) {
            fs_error_set(err, "(workload)", 0, 0, "mean_rate: the source's requests all arrive at one instant, so it "
                         "has no rate to rescale");
            xform_free(&s->base);
            return NULL;
        }
        s->scale = (double)n / fs_time_to_s(span) / x->mean_rate;
        if (xform_rewind(&s->base, err)) {
            xform_free(&s->base);
            return NULL;
        }
    }
    return &s->base;
}
