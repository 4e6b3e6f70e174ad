/*
 * wl_synth_internal.h — what the synthetic source's files share (private to workloads/).
 *
 * wl_synth.c: the source: open-loop requests, closed-loop users, sessions.
 * wl_synth_arrival.c: the open-loop arrival processes (times only).
 * wl_synth_len.c: length and think-time distributions.
 */
#ifndef FS_WL_SYNTH_INTERNAL_H
#define FS_WL_SYNTH_INTERNAL_H

#include "wl_synth.h"

/* A piece of a piecewise-linear rate: rate + slope x (x - start) req/s on [start, end). */
typedef struct wl_seg {
    double start, end, rate, slope;
} wl_seg;

/* An open-loop arrival process: its parameters (copied from the spec) and where it stands. */
typedef struct wl_arr {
    enum wl_arrival kind;
    fs_rng *rng;              /* the source's arrival stream; not owned */
    double rate, cv;          /* gamma: cv */
    double shape, scale;      /* weibull */
    uint64_t n;               /* arrivals given */
    fs_time t;                /* renewal kinds: the last arrival */
    double now;               /* non-homogeneous kinds: the last arrival, s */
    /* piecewise-linear rate (stages, a diurnal profile): segments cover [0, period) when
     * periodic, else [0, end of the last stage) */
    wl_seg *segs;
    size_t nsegs, cur;
    double period;            /* 0: not periodic; the process stops after the last segment */
    double cycle_start, pos;  /* the run time where the current period began; position in it */
    double cycle_mass;        /* expected arrivals in one period */
    /* sinusoid */
    double amplitude, period_s, phase_s;
    /* mmpp */
    int state;
    double state_end, mrate[2], mmean[2];
    bool done;
} wl_arr;

void wl_arr_init(wl_arr *a, const wl_synth_spec *sp, fs_rng *rng);
/* 1: the next arrival time in *t (non-decreasing); 0: the process has ended. */
int wl_arr_next(wl_arr *a, fs_time *t);
void wl_arr_fini(wl_arr *a);

/* A length at normal score z: F^-1(Phi(z)), rounded and clamped (the copula's marginal). */
int32_t wl_len_at_score(const wl_len *d, double z);

/* A think time in seconds, >= 0. */
double wl_time_draw(const wl_time_spec *t, fs_rng *r);

#endif
