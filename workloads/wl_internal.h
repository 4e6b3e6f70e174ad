/*
 * wl_internal.h — what every source implements; private to workloads/.
 */
#ifndef FS_WL_INTERNAL_H
#define FS_WL_INTERNAL_H

#include "wl.h"

typedef struct wl_source_ops {
    int (*next)(wl_source *s, wl_request *out, fs_error *err);
    void (*complete)(wl_source *s, const wl_request *r, fs_time now); /* may be NULL */
    void (*free)(wl_source *s);
    int (*rewind)(wl_source *s, fs_error *err);               /* may be NULL: cannot */
    void (*stats)(wl_source *s, wl_trace_stats *out);         /* may be NULL: no trace rows */
} wl_source_ops;

/* Every source struct starts with this header. */
struct wl_source {
    const wl_source_ops *ops;
};

#endif
