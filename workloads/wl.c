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
