/*
 * The synthetic source: open-loop requests, closed-loop users and sessions (see wl_synth.h).
 *
 * An open-loop source without sessions draws each request when asked: its time from the
 * arrival process, its lengths from the length stream, its prefix group from the prefix stream.
 *
 * A source that waits keeps slots: one per closed-loop user, or one per session in progress
 * (reused through a free list, so steady state allocates nothing). A request given out is
 * remembered by id until it completes; its completion makes the slot's next request (the next
 * turn, the user's next request or session) and queues it for the following wl_next calls.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wl_internal.h"
#include "wl_synth_internal.h"

#define NO_SLOT UINT32_MAX

/* Stream bases of users and sessions, apart from the prefix keys fs_hash64(seed, group + 1). */
#define USERS_BASE (UINT64_MAX - 1)
#define SESSIONS_BASE (UINT64_MAX - 2)

typedef struct slot {  /* a closed-loop user, or a session of the open process */
    uint64_t user;     /* user: its stream base, fs_hash64(users base, user) */
    uint64_t jobs;     /* user: requests or sessions begun */
    uint64_t seed;     /* session: turn k draws from the stream fs_hash64(seed, k) */
    uint64_t key;      /* session: its id (request.session and prefix_key); 0 without sessions */
    uint32_t turns, turn; /* session: turns drawn, turns begun */
    int64_t context;   /* session: the last turn's prompt + output */
    uint32_t next_free;
} slot;

typedef struct ready { /* a request a completion has determined, not given out yet */
    wl_request r;
    uint32_t slot;
} ready;

/* Request id -> slot for the requests given out and not completed: linear probing, deletion by
 * backward shift (no tombstones), kept under half full. */
typedef struct idmap {
    uint64_t *keys; /* id + 1; 0: empty */
    uint32_t *vals;
    size_t cap, n;
} idmap;

typedef struct synth {
    wl_source base;
    wl_synth_spec spec;      /* array pointers cleared: what they held was copied */
    wl_arr arr;
    wl_len *input, *output, *turns;
    fs_rng *arrivals, *lengths, *prefixes;
    fs_rng *scratch;         /* reseeded for each user request or session turn */
    uint64_t seed;           /* fs_hash64(seed, index): prefix keys and the bases below */
    uint64_t users_base, sessions_base;
    uint64_t next_id;
    bool waits;              /* closed loop or sessions */
    slot *slots;
    uint32_t nslots, free_slot;
    size_t slot_cap;
    ready *queue;            /* FIFO ring */
    size_t qhead, qlen, qcap;
    idmap given;
    uint64_t sessions;       /* sessions the open process has begun */
    fs_time next_start;      /* its next session start, when have_start */
    bool have_start;
    bool waited;             /* WL_WAIT was the last answer and no completion came since (true
                              * at first): a call now is the wake-up, or the first call */
    fs_time clock;           /* the latest completion time reported */
} synth;

/* ---- id map ---- */

static size_t home(uint64_t id, size_t cap) { return (size_t)((id * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & (cap - 1); }

static void idmap_put(idmap *m, uint64_t id, uint32_t v);

static void idmap_grow(idmap *m)
{
    idmap old = *m;
    m->cap = old.cap ? 2 * old.cap : 64;
    m->keys = fs_xcalloc(m->cap, sizeof *m->keys);
    m->vals = fs_xmalloc(m->cap * sizeof *m->vals);
    m->n = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i]) idmap_put(m, old.keys[i] - 1, old.vals[i]);
    free(old.keys);
    free(old.vals);
}

static void idmap_put(idmap *m, uint64_t id, uint32_t v)
{
    if (2 * (m->n + 1) > m->cap) idmap_grow(m);
    size_t mask = m->cap - 1, i = home(id, m->cap);
    while (m->keys[i]) i = (i + 1) & mask;
    m->keys[i] = id + 1;
    m->vals[i] = v;
    m->n++;
}

static bool idmap_take(idmap *m, uint64_t id, uint32_t *v)
{
    if (m->cap == 0) return false;
    size_t mask = m->cap - 1, i = home(id, m->cap);
    for (; m->keys[i] != id + 1; i = (i + 1) & mask)
        if (!m->keys[i]) return false;
    *v = m->vals[i];
    /* Knuth's algorithm R: pull later entries of the probe run back into the hole, unless their
     * home lies cyclically in (hole, entry]. */
    for (size_t j = i;;) {
        m->keys[i] = 0;
        for (;;) {
            j = (j + 1) & mask;
            if (!m->keys[j]) {
                m->n--;
                return true;
            }
            size_t h = home(m->keys[j] - 1, m->cap);
            if (i <= j ? (h <= i || h > j) : (h <= i && h > j)) break;
        }
        m->keys[i] = m->keys[j];
        m->vals[i] = m->vals[j];
        i = j;
    }
}

/* ---- slots and the ready queue ---- */

static uint32_t slot_new(synth *s)
{
    uint32_t i = s->free_slot;
    if (i != NO_SLOT) {
        s->free_slot = s->slots[i].next_free;
    } else {
        FS_ASSERT(s->nslots < NO_SLOT);
        s->slots = fs_xgrow(s->slots, &s->slot_cap, (size_t)s->nslots + 1, sizeof *s->slots);
        i = s->nslots++;
    }
    memset(&s->slots[i], 0, sizeof s->slots[i]);
    return i;
}

static void slot_free(synth *s, uint32_t i)
{
    s->slots[i].next_free = s->free_slot;
    s->free_slot = i;
}

static void push(synth *s, const wl_request *r, uint32_t i)
{
    if (s->qlen == s->qcap) { /* grow, unwrapping the ring */
        size_t cap = s->qcap ? 2 * s->qcap : 64;
        ready *q = fs_xmalloc(cap * sizeof *q);
        for (size_t k = 0; k < s->qlen; k++) q[k] = s->queue[(s->qhead + k) % s->qcap];
        free(s->queue);
        s->queue = q;
        s->qcap = cap;
        s->qhead = 0;
    }
    s->queue[(s->qhead + s->qlen++) % s->qcap] = (ready){*r, i};
}

/* ---- drawing requests ---- */

static void draw_lengths(const synth *s, fs_rng *r, int32_t *in, int32_t *out)
{
    double rho = s->spec.correlation;
    if (rho == 0) {
        *in = wl_len_draw(s->input, r);
        *out = wl_len_draw(s->output, r);
        return;
    }
    double z1 = gsl_ran_gaussian(r, 1);
    double z2 = rho * z1 + sqrt(1 - rho * rho) * gsl_ran_gaussian(r, 1);
    *in = wl_len_at_score(s->input, z1);
    *out = wl_len_at_score(s->output, z2);
}

static void request(synth *s, wl_request *r, fs_time t, fs_rng *rng)
{
    int32_t in, out;
    draw_lengths(s, rng, &in, &out);
    *r = (wl_request){.arrival = t, .input_tokens = in, .output_tokens = out, .target = s->spec.target};
}

/* A shared system prompt of one of the groups, drawn from rng, ahead of the prompt. */
static void add_prefix(const synth *s, wl_request *r, fs_rng *rng)
{
    const wl_synth_spec *sp = &s->spec;
    if (sp->prefix_tokens <= 0) return;
    uint64_t group = sp->prefix_groups > 1 ? gsl_rng_uniform_int(rng, sp->prefix_groups) : 0;
    r->prefix_key = fs_hash64(s->seed, group + 1) | 1;
    r->prefix_tokens = sp->prefix_tokens;
    r->input_tokens = r->input_tokens > INT32_MAX - sp->prefix_tokens ? INT32_MAX : r->input_tokens + sp->prefix_tokens;
}

static void reseed(synth *s, uint64_t base, uint64_t n) { gsl_rng_set(s->scratch, (unsigned long)fs_hash64(base, n)); }

/* A closed-loop user's next request, `after` plus its think time (none before the first). */
static void user_request(synth *s, slot *sl, fs_time after, wl_request *r)
{
    reseed(s, sl->user, sl->jobs);
    double think = sl->jobs++ > 0 ? wl_time_draw(&s->spec.closed.think, s->scratch) : 0;
    request(s, r, after + fs_time_from_s(think), s->scratch);
    add_prefix(s, r, s->scratch);
}

/* The session's next turn, `after` plus a think time. Turn 0 draws the number of turns (and
 * first, for a closed-loop user's later sessions, the user's think time); a later turn's prompt
 * is the last one's prompt and output plus the new tokens. */
static void session_turn(synth *s, slot *sl, fs_time after, wl_request *r)
{
    const wl_synth_spec *sp = &s->spec;
    double think;
    reseed(s, sl->seed, sl->turn);
    if (sl->turn == 0) {
        think = sp->arrival == WL_ARRIVAL_CLOSED && sl->jobs > 1 ? wl_time_draw(&sp->closed.think, s->scratch) : 0;
        sl->turns = (uint32_t)wl_len_draw(s->turns, s->scratch);
        sl->context = 0;
    } else {
        think = wl_time_draw(&sp->sessions.think, s->scratch);
    }
    request(s, r, after + fs_time_from_s(think), s->scratch);
    int64_t prompt = sl->context + r->input_tokens, all = prompt + r->output_tokens;
    r->input_tokens = prompt < INT32_MAX ? (int32_t)prompt : INT32_MAX;
    r->prefix_tokens = all < INT32_MAX ? (int32_t)all : INT32_MAX;
    r->prefix_key = r->session = sl->key;
    sl->context = all;
    sl->turn++;
}

/* A closed-loop user's next session. */
static void user_session(synth *s, slot *sl, fs_time after, wl_request *r)
{
    sl->seed = fs_hash64(sl->user, sl->jobs++);
    sl->key = sl->seed | 1;
    sl->turn = 0;
    session_turn(s, sl, after, r);
}

/* ---- the source ---- */

static void give(synth *s, wl_request *out, uint32_t i)
{
    out->id = s->next_id++;
    idmap_put(&s->given, out->id, i);
}

static int wait_until(synth *s, wl_request *out, fs_time wake)
{
    *out = (wl_request){.arrival = wake};
    s->waited = true;
    return WL_WAIT;
}

static int synth_next(wl_source *src, wl_request *out, fs_error *err)
{
    (void)err;
    synth *s = (synth *)src;
    if (!s->waits) {
        fs_time t;
        if (!wl_arr_next(&s->arr, &t)) return 0;
        request(s, out, t, s->lengths);
        add_prefix(s, out, s->prefixes);
        out->id = s->next_id++;
        return 1;
    }
    if (s->qlen) {
        ready *q = &s->queue[s->qhead];
        *out = q->r;
        give(s, out, q->slot);
        s->qhead = (s->qhead + 1) % s->qcap;
        s->qlen--;
        return 1;
    }
    if (s->spec.arrival == WL_ARRIVAL_CLOSED) return wait_until(s, out, FS_TIME_MAX);
    /* Sessions of the open process. The next one is given when its time has come (the wake-up
     * call WL_WAIT asked for, or a completion at or after it): handing out starts ahead of time
     * on every completion would run the process ahead without bound. */
    if (!s->have_start) {
        if (!wl_arr_next(&s->arr, &s->next_start)) return s->given.n ? wait_until(s, out, FS_TIME_MAX) : 0;
        s->have_start = true;
    }
    if (s->next_start > s->clock && !s->waited) return wait_until(s, out, s->next_start);
    uint32_t i = slot_new(s);
    slot *sl = &s->slots[i];
    sl->seed = fs_hash64(s->sessions_base, s->sessions++);
    sl->key = sl->seed | 1;
    session_turn(s, sl, s->next_start, out);
    s->have_start = false;
    s->waited = false;
    give(s, out, i);
    return 1;
}

static void synth_complete(wl_source *src, const wl_request *r, fs_time now)
{
    synth *s = (synth *)src;
    if (!s->waits) return;
    uint32_t i;
    bool known = idmap_take(&s->given, r->id, &i);
    FS_ASSERT(known); /* a request this source gave out, completed once, with its id kept */
    if (now > s->clock) s->clock = now;
    s->waited = false;
    slot *sl = &s->slots[i];
    wl_request next;
    if (!s->spec.sessions.enabled) {
        user_request(s, sl, now, &next);
    } else if (sl->turn < sl->turns) {
        session_turn(s, sl, now, &next);
    } else if (s->spec.arrival == WL_ARRIVAL_CLOSED) {
        user_session(s, sl, now, &next);
    } else {
        slot_free(s, i); /* the session is over */
        return;
    }
    push(s, &next, i);
}

static void synth_free(wl_source *src)
{
    synth *s = (synth *)src;
    wl_arr_fini(&s->arr);
    wl_len_free(s->input);
    wl_len_free(s->output);
    wl_len_free(s->turns);
    fs_rng_free(s->arrivals);
    fs_rng_free(s->lengths);
    fs_rng_free(s->prefixes);
    fs_rng_free(s->scratch);
    free(s->slots);
    free(s->queue);
    free(s->given.keys);
    free(s->given.vals);
    free(s);
}

static const wl_source_ops synth_ops = {synth_next, synth_complete, synth_free, NULL, NULL};

wl_source *wl_synth_open(const wl_synth_spec *spec, uint64_t seed, uint64_t index)
{
    synth *s = fs_xcalloc(1, sizeof *s);
    s->base.ops = &synth_ops;
    s->spec = *spec;
    s->arrivals = fs_rng_new(seed, FS_STREAM_ARRIVALS, index);
    s->lengths = fs_rng_new(seed, FS_STREAM_LENGTHS, index);
    s->prefixes = fs_rng_new(seed, FS_STREAM_PREFIXES, index);
    if (!s->arrivals || !s->lengths || !s->prefixes) fs_oom(sizeof(gsl_rng));
    s->seed = fs_hash64(seed, index);
    s->users_base = fs_hash64(s->seed, USERS_BASE);
    s->sessions_base = fs_hash64(s->seed, SESSIONS_BASE);
    FS_ASSERT(spec->correlation >= -1 && spec->correlation <= 1);
    wl_arr_init(&s->arr, spec, s->arrivals);
    s->input = wl_len_new(&spec->input);
    s->output = wl_len_new(&spec->output);
    s->spec.stages.v = NULL;
    s->spec.diurnal.profile = NULL;
    s->spec.input.values = s->spec.output.values = s->spec.sessions.turns.values = NULL;
    s->spec.input.counts = s->spec.output.counts = s->spec.sessions.turns.counts = NULL;
    s->free_slot = NO_SLOT;
    s->waits = spec->arrival == WL_ARRIVAL_CLOSED || spec->sessions.enabled;
    if (!s->waits) return &s->base;

    s->scratch = gsl_rng_alloc(fs_rng_xoshiro256ss);
    if (!s->scratch) fs_oom(sizeof(gsl_rng));
    if (spec->sessions.enabled) {
        FS_ASSERT(spec->prefix_tokens <= 0);
        s->turns = wl_len_new(&spec->sessions.turns);
    }
    s->waited = true; /* the first call gives the first session at once */
    if (spec->arrival == WL_ARRIVAL_CLOSED) { /* every user sends at time 0, in user order */
        FS_ASSERT(spec->closed.users >= 1);
        for (uint32_t u = 0; u < spec->closed.users; u++) {
            uint32_t i = slot_new(s);
            slot *sl = &s->slots[i];
            sl->user = fs_hash64(s->users_base, u);
            wl_request r;
            if (spec->sessions.enabled) user_session(s, sl, 0, &r);
            else user_request(s, sl, 0, &r);
            push(s, &r, i);
        }
    }
    return &s->base;
}
