#include <string.h>

#include "wl_internal.h"

int wl_next(wl_source *s, wl_request *out, fs_error *err) { return s->ops->next(s, out, err); }

void wl_complete(wl_source *s, const wl_request *r, fs_time now)
{
    if (s->ops->complete) s->ops->complete(s, r, now);
}

void wl_free(wl_source *s)
{
    if (s) s->ops->free(s);
}

int wl_rewind(wl_source *s, fs_error *err)
{
    if (!s->ops->rewind) return fs_error_set(err, "(workload)", 0, 0, "this source cannot be replayed");
    return s->ops->rewind(s, err);
}

void wl_stats(wl_source *s, wl_trace_stats *out)
{
    memset(out, 0, sizeof *out);
    if (s->ops->stats) s->ops->stats(s, out);
}
