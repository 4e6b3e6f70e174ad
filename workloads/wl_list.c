/* A source over requests held in memory (tests, small hand-made workloads). */
#include <stdlib.h>
#include <string.h>

#include "wl_internal.h"

typedef struct list_src {
    wl_source base;
    wl_request *v;
    size_t n, next;
} list_src;

static int list_next(wl_source *src, wl_request *out, fs_error *err)
{
    list_src *l = (list_src *)src;
    if (l->next == l->n) return 0;
    if (l->next > 0 && l->v[l->next].arrival < l->v[l->next - 1].arrival)
        return fs_error_set(err, "(request list)", (int)l->next + 1, 0, "arrival times must not decrease");
    *out = l->v[l->next];
    out->id = l->next++;
    return 1;
}

static void list_free(wl_source *src)
{
    list_src *l = (list_src *)src;
    free(l->v);
    free(l);
}

static int list_rewind(wl_source *src, fs_error *err)
{
    (void)err;
    ((list_src *)src)->next = 0;
    return 0;
}

static const wl_source_ops list_ops = {list_next, NULL, list_free, list_rewind, NULL};

wl_source *wl_list_open(const wl_request *reqs, size_t n)
{
    list_src *l = fs_xcalloc(1, sizeof *l);
    l->base.ops = &list_ops;
    l->v = fs_xmalloc((n ? n : 1) * sizeof *l->v);
    if (n) memcpy(l->v, reqs, n * sizeof *l->v);
    l->n = n;
    return &l->base;
}
