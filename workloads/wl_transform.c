/* Transforms over another source. */
#include <math.h>
#include <stdlib.h>

#include "wl_internal.h"

typedef struct speedup_src {
    wl_source base;
    wl_source *inner;
    double factor;
} speedup_src;

static int speedup_next(wl_source *src, wl_request *out, fs_error *err)
{
    speedup_src *s = (speedup_src *)src;
    int rc = wl_next(s->inner, out, err);
    if (rc == 1) out->arrival = (fs_time)llround((double)out->arrival / s->factor);
    return rc;
}

static void speedup_complete(wl_source *src, const wl_request *r, fs_time now)
{
    wl_complete(((speedup_src *)src)->inner, r, now);
}

static void speedup_free(wl_source *src)
{
    speedup_src *s = (speedup_src *)src;
    wl_free(s->inner);
    free(s);
}

static const wl_source_ops speedup_ops = {speedup_next, speedup_complete, speedup_free};

wl_source *wl_speedup_open(wl_source *inner, double speedup)
{
    speedup_src *s = fs_xcalloc(1, sizeof *s);
    s->base.ops = &speedup_ops;
    s->inner = inner;
    s->factor = speedup;
    return &s->base;
}
