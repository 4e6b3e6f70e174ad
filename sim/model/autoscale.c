/*
 * autoscale.c — HPA, KPA and node-pool decisions (see autoscale.h).
 *
 * Each function below names the upstream function it follows. Where the upstream code depends
 * on wall-clock goroutines or API objects, the simulation's equivalent is stated:
 *   - HPA: one sync is one reconcileAutoscaler. Recommendations and scale events are kept as the
 *     controller keeps them (a list whose entries are reused once old), compared with the same
 *     strict inequalities (time.After / time.Before), so a record exactly one window old is out.
 *     Metrics are a Pods metric with an AverageValue target for every metric we offer, including
 *     utilization (a Resource/Utilization target would fall back to max(100 %, target) of the
 *     request for missing pods; the busy fraction has no request).
 *   - KPA: kpa_tick is the decider's Scale followed by the PA reconcile. Knative reconciles the PA
 *     when the decision changes and re-enqueues it for the scale-to-zero timers; here it runs
 *     every tick, so a timer fires at the first tick at or after it (on time when the timers and
 *     ticks share the 2 s grid). A window's sum is recomputed from its buckets at each tick, in
 *     time order, where Knative keeps a running total: the same average up to the last bits,
 *     which the 6-digit floor of roundToNDigits hides.
 */
#include "autoscale.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_error.h"

#define SEC FS_NS_PER_S

static int32_t min32(int32_t a, int32_t b) { return a < b ? a : b; }
static int32_t max32(int32_t a, int32_t b) { return a > b ? a : b; }

/* Go's int32(math.Ceil(x)) for the counts here, saturating where Go would wrap. */
static int32_t ceil_count(double x)
{
    double c = ceil(x);
    return c >= (double)INT32_MAX ? INT32_MAX : (int32_t)c;
}

static int fail(char *msg, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *msg, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, size, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- HPA ---------------------------------------------------------------------------------- */

/* Kubernetes validation: periodSeconds in (0, 1800], stabilizationWindowSeconds in [0, 3600]. */
#define HPA_MAX_PERIOD (1800 * SEC)
#define HPA_MAX_STABILIZATION (3600 * SEC)

hpa_config hpa_defaults(enum as_metric metric, double target, int32_t max_replicas)
{
    /* pkg/apis/autoscaling/v2/defaults.go: GenerateHPAScaleUpRules, GenerateHPAScaleDownRules;
     * the scale-down window is the controller flag's 5 min (maybeInitScaleDownStabilizationWindow). */
    hpa_config c = {.metric = metric, .target = target, .tolerance = 0.1, .min_replicas = 1,
                    .max_replicas = max_replicas, .sync_period = 15 * SEC};
    c.up = (hpa_rules){.stabilization = 0, .select = HPA_SELECT_MAX, .npolicies = 2,
                       .policy = {{HPA_PODS, 4, 15 * SEC}, {HPA_PERCENT, 100, 15 * SEC}}};
    c.down = (hpa_rules){.stabilization = 300 * SEC, .select = HPA_SELECT_MAX, .npolicies = 1,
                         .policy = {{HPA_PERCENT, 100, 15 * SEC}}};
    return c;
}

static int check_rules(const hpa_rules *r, const char *dir, char *msg, size_t size)
{
    if (r->stabilization < 0 || r->stabilization > HPA_MAX_STABILIZATION)
        return fail(msg, size, "expected %s stabilization window in [0, 3600] s, got %g s", dir,
                    fs_time_to_s(r->stabilization));
    if (r->select != HPA_SELECT_MAX && r->select != HPA_SELECT_MIN && r->select != HPA_SELECT_DISABLED)
        return fail(msg, size, "expected %s select policy Max, Min or Disabled, got %d", dir, (int)r->select);
    if (r->npolicies < 1 || r->npolicies > HPA_MAX_POLICIES)
        return fail(msg, size, "expected 1 to %d %s policies, got %d", HPA_MAX_POLICIES, dir, r->npolicies);
    for (int32_t i = 0; i < r->npolicies; i++) {
        const hpa_policy *p = &r->policy[i];
        if (p->type != HPA_PODS && p->type != HPA_PERCENT)
            return fail(msg, size, "expected %s policy %d of type Pods or Percent, got %d", dir, i, (int)p->type);
        if (p->value < 1)
            return fail(msg, size, "expected %s policy %d value >= 1, got %d", dir, i, p->value);
        if (p->period <= 0 || p->period > HPA_MAX_PERIOD)
            return fail(msg, size, "expected %s policy %d period in (0, 1800] s, got %g s", dir, i,
                        fs_time_to_s(p->period));
    }
    return 0;
}

int hpa_config_check(const hpa_config *c, char *msg, size_t size)
{
    if (c->metric != AS_UTILIZATION && c->metric != AS_QUEUE && c->metric != AS_CONCURRENCY &&
        c->metric != AS_KV_USAGE)
        return fail(msg, size, "expected an HPA metric (utilization, queue, concurrency, kv usage), got %d",
                    (int)c->metric);
    /* The target is taken in milli-units (Quantity.MilliValue): at least 1m, and far from overflow. */
    if (!(c->target >= 0.001 && c->target <= 1e12))
        return fail(msg, size, "expected target in [0.001, 1e12], got %g", c->target);
    if (!(c->tolerance >= 0 && c->tolerance < 1))
        return fail(msg, size, "expected tolerance in [0, 1), got %g", c->tolerance);
    if (c->min_replicas < 1)
        return fail(msg, size, "expected min_replicas >= 1, got %d", c->min_replicas);
    if (c->max_replicas < c->min_replicas)
        return fail(msg, size, "expected max_replicas >= min_replicas (%d), got %d", c->min_replicas,
                    c->max_replicas);
    if (c->sync_period <= 0)
        return fail(msg, size, "expected sync_period > 0, got %g s", fs_time_to_s(c->sync_period));
    if (check_rules(&c->up, "scale-up", msg, size) < 0) return -1;
    return check_rules(&c->down, "scale-down", msg, size);
}

static int64_t milli(double v) { return llround(v * 1000.0); }

/* Tolerances.isWithin: bounds included. */
static bool within(const hpa_config *c, double ratio)
{
    return 1.0 - c->tolerance <= ratio && ratio <= 1.0 + c->tolerance;
}

/* replica_calculator.go calcPlainMetricReplicas, with GetMetricUsageRatio's integer average. */
int32_t hpa_calc(const hpa_config *c, int32_t current, const hpa_sample *s)
{
    FS_ASSERT(s->reported >= 0 && s->missing >= 0 && s->unready >= 0);
    FS_ASSERT(s->sum >= 0 && isfinite(s->sum));
    if (s->reported == 0) return -1; /* "did not receive metrics for targeted pods" */
    int64_t target = milli(c->target);
    int64_t total = milli(s->sum);
    double ratio = (double)(total / s->reported) / (double)target;

    bool up_with_unready = s->unready > 0 && ratio > 1.0;
    if (!up_with_unready && s->missing == 0) {
        if (within(c, ratio)) return current;
        return ceil_count(ratio * (double)s->reported);
    }

    /* Rebalance: missing pods at the target on a scale-down and at 0 on a scale-up (and not at all
     * when the ratio is exactly 1), unready pods at 0 on a scale-up. */
    int64_t n = s->reported;
    if (s->missing > 0) {
        if (ratio < 1.0) {
            total += (int64_t)s->missing * target;
            n += s->missing;
        } else if (ratio > 1.0) {
            n += s->missing;
        }
    }
    if (up_with_unready) n += s->unready;
    double new_ratio = (double)(total / n) / (double)target;
    if (within(c, new_ratio) || (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0))
        return current; /* too small a change, or the direction flipped */
    int32_t r = ceil_count(new_ratio * (double)n);
    if ((new_ratio < 1.0 && r > current) || (new_ratio > 1.0 && r < current))
        return current; /* the extra pods flipped the direction */
    return r;
}

void hpa_init(hpa *h, const hpa_config *c)
{
    char msg[256];
    FS_ASSERT(hpa_config_check(c, msg, sizeof msg) == 0);
    memset(h, 0, sizeof *h);
    h->cfg = *c;
}

void hpa_fini(hpa *h)
{
    free(h->rec);
    free(h->up);
    free(h->down);
    memset(h, 0, sizeof *h);
}

static void add_rec(hpa *h, int32_t replicas, fs_time t)
{
    h->rec = fs_xgrow(h->rec, &h->rec_cap, h->nrec + 1, sizeof *h->rec);
    h->rec[h->nrec++] = (hpa_rec){replicas, t};
}

/* horizontal.go stabilizeRecommendationWithBehaviors: the desired count is brought within
 * [lowest recommendation of the scale-up window, highest of the scale-down window], starting
 * from the current count; then it is recorded, in the place of the last entry older than both
 * windows if there is one. */
static int32_t stabilize(hpa *h, fs_time now, int32_t current, int32_t desired)
{
    fs_time up_cut = now - h->cfg.up.stabilization, down_cut = now - h->cfg.down.stabilization;
    int32_t up = desired, down = desired;
    size_t old = SIZE_MAX;
    for (size_t i = 0; i < h->nrec; i++) {
        const hpa_rec *r = &h->rec[i];
        if (r->t > up_cut) up = min32(up, r->replicas);
        if (r->t > down_cut) down = max32(down, r->replicas);
        if (r->t < up_cut && r->t < down_cut) old = i;
    }
    int32_t out = current;
    if (out < up) out = up;
    if (out > down) out = down;
    if (old != SIZE_MAX) h->rec[old] = (hpa_rec){desired, now};
    else add_rec(h, desired, now);
    return out;
}

/* horizontal.go getReplicasChangePerPeriod. */
static int64_t change_in(const hpa_event *e, size_t n, fs_time now, fs_time period)
{
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        if (e[i].t > now - period) sum += e[i].change;
    return sum;
}

static int32_t clamp32(int64_t v) { return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v; }

/* calculateScaleUpLimitWithScalingRules (up) and calculateScaleDownLimitWithBehaviors (down): the
 * period starts from the current count less the additions and plus the removals made within it;
 * Percent rounds up on the way up and truncates on the way down. */
static int32_t rate_limit(const hpa *h, fs_time now, int32_t current, bool up)
{
    const hpa_rules *r = up ? &h->cfg.up : &h->cfg.down;
    if (r->select == HPA_SELECT_DISABLED) return current;
    /* Max selects the largest change: the highest count up, the lowest down. */
    bool highest = (r->select == HPA_SELECT_MAX) == up;
    int64_t result = highest ? INT32_MIN : INT32_MAX;
    for (int32_t i = 0; i < r->npolicies; i++) {
        const hpa_policy *p = &r->policy[i];
        int64_t start = current - change_in(h->up, h->nup, now, p->period) +
                        change_in(h->down, h->ndown, now, p->period);
        int64_t proposed;
        if (p->type == HPA_PODS) proposed = up ? start + p->value : start - p->value;
        else if (up) proposed = ceil_count((double)start * (1.0 + (double)p->value / 100.0));
        else proposed = (int64_t)((double)start * (1.0 - (double)p->value / 100.0));
        if (highest ? proposed > result : proposed < result) result = proposed;
    }
    return clamp32(result);
}

/* convertDesiredReplicasWithBehaviorRate: the rate limit, never past the current count the
 * wrong way, then max_replicas going up and min_replicas going down. */
static int32_t limit_rate(const hpa *h, fs_time now, int32_t current, int32_t desired)
{
    if (desired > current) {
        int32_t allowed = min32(h->cfg.max_replicas, max32(rate_limit(h, now, current, true), current));
        return min32(desired, allowed);
    }
    if (desired < current) {
        int32_t allowed = max32(h->cfg.min_replicas, min32(rate_limit(h, now, current, false), current));
        return max32(desired, allowed);
    }
    return desired;
}

static fs_time longest_period(const hpa_rules *r)
{
    fs_time p = 0;
    for (int32_t i = 0; i < r->npolicies; i++)
        if (r->policy[i].period > p) p = r->policy[i].period;
    return p;
}

/* horizontal.go storeScaleEvent: events older than the longest policy period are marked
 * outdated, and the last outdated one is reused. */
static void store_event(hpa_event **ev, size_t *n, size_t *cap, fs_time longest, fs_time now, int32_t change)
{
    size_t old = SIZE_MAX;
    for (size_t i = 0; i < *n; i++) {
        if ((*ev)[i].t < now - longest) (*ev)[i].outdated = true;
        if ((*ev)[i].outdated) old = i;
    }
    hpa_event e = {change, now, false};
    if (old != SIZE_MAX) {
        (*ev)[old] = e;
        return;
    }
    *ev = fs_xgrow(*ev, cap, *n + 1, sizeof **ev);
    (*ev)[(*n)++] = e;
}

/* horizontal.go reconcileAutoscaler, from the scale read to the scale write. */
int32_t hpa_sync(hpa *h, fs_time now, int32_t current, const hpa_sample *s)
{
    FS_ASSERT(current >= 0);
    if (h->nrec == 0) add_rec(h, current, now); /* recordInitialRecommendation */
    if (current == 0) return 0;                 /* "scaling is disabled" (min_replicas >= 1) */

    int32_t desired;
    if (current > h->cfg.max_replicas) {
        desired = h->cfg.max_replicas;
    } else if (current < h->cfg.min_replicas) {
        desired = h->cfg.min_replicas;
    } else {
        int32_t proposal = hpa_calc(&h->cfg, current, s);
        if (proposal < 0) return current; /* the sync fails: nothing changes */
        desired = limit_rate(h, now, current, stabilize(h, now, current, proposal));
    }
    if (desired > current)
        store_event(&h->up, &h->nup, &h->up_cap, longest_period(&h->cfg.up), now, desired - current);
    else if (desired < current)
        store_event(&h->down, &h->ndown, &h->down_cap, longest_period(&h->cfg.down), now, current - desired);
    return desired;
}

/* ---- KPA ---------------------------------------------------------------------------------- */

/* Knative's limits: autoscaling.WindowMin (6 s), BucketSize (1 s), TargetMin (0.01). */
#define KPA_WINDOW_MIN (6 * SEC)
#define KPA_BUCKET SEC
#define KPA_TARGET_MIN 0.01

kpa_config kpa_defaults(void)
{
    /* config/core/configmaps/autoscaler.yaml */
    return (kpa_config){.metric = AS_CONCURRENCY, .target = 100, .utilization = 0.7,
                        .stable_window = 60 * SEC, .panic_window_pct = 10, .panic_threshold = 2.0,
                        .max_scale_up_rate = 1000, .max_scale_down_rate = 2, .tick = 2 * SEC,
                        .scale_to_zero = true, .scale_to_zero_grace = 30 * SEC, .min_scale = 0,
                        .max_scale = 0, .activation_scale = 1};
}

/* pkg/autoscaler/config validation: the panic window before rounding. */
static fs_time panic_window_raw(const kpa_config *c)
{
    return (fs_time)(c->panic_window_pct / 100.0 * (double)c->stable_window);
}

/* resources/metric.go MakeMetric: Duration(stable × pct / 100).Round(time.Second), at least a
 * bucket. (Round goes half away from zero.) */
static fs_time panic_window(const kpa_config *c)
{
    fs_time w = (fs_time)((double)c->stable_window * c->panic_window_pct / 100.0);
    w = (w + SEC / 2) / SEC * SEC;
    return w < KPA_BUCKET ? KPA_BUCKET : w;
}

int kpa_config_check(const kpa_config *c, char *msg, size_t size)
{
    if (c->metric != AS_CONCURRENCY && c->metric != AS_RPS)
        return fail(msg, size, "expected a KPA metric (concurrency or rps), got %d", (int)c->metric);
    if (!(c->target > 0 && c->target <= 1e9))
        return fail(msg, size, "expected target in (0, 1e9], got %g", c->target);
    if (!(c->utilization > 0 && c->utilization <= 1))
        return fail(msg, size, "expected utilization in (0, 1], got %g", c->utilization);
    if (c->stable_window < KPA_WINDOW_MIN || c->stable_window > 3600 * SEC || c->stable_window % SEC)
        return fail(msg, size, "expected stable_window of whole seconds in [6, 3600] s, got %g s",
                    fs_time_to_s(c->stable_window));
    fs_time pw = panic_window_raw(c);
    if (!(c->panic_window_pct > 0) || pw < KPA_BUCKET || pw > c->stable_window)
        return fail(msg, size, "expected panic_window_pct giving 1 s to the stable window, got %g %%",
                    c->panic_window_pct);
    if (!(c->panic_threshold >= 1.1 && c->panic_threshold <= 10))
        return fail(msg, size, "expected panic_threshold in [1.1, 10], got %g", c->panic_threshold);
    if (!(c->max_scale_up_rate > 1 && c->max_scale_up_rate <= 1e9))
        return fail(msg, size, "expected max_scale_up_rate in (1, 1e9], got %g", c->max_scale_up_rate);
    if (!(c->max_scale_down_rate > 1 && c->max_scale_down_rate <= 1e9))
        return fail(msg, size, "expected max_scale_down_rate in (1, 1e9], got %g", c->max_scale_down_rate);
    if (c->tick <= 0)
        return fail(msg, size, "expected tick > 0, got %g s", fs_time_to_s(c->tick));
    if (c->scale_to_zero_grace < KPA_WINDOW_MIN)
        return fail(msg, size, "expected scale_to_zero_grace >= 6 s, got %g s", fs_time_to_s(c->scale_to_zero_grace));
    if (c->min_scale < 0 || c->max_scale < 0 || (c->max_scale > 0 && c->max_scale < c->min_scale))
        return fail(msg, size, "expected 0 <= min_scale <= max_scale (0: unbounded), got %d and %d",
                    c->min_scale, c->max_scale);
    if (c->activation_scale < 1)
        return fail(msg, size, "expected activation_scale >= 1, got %d", c->activation_scale);
    return 0;
}

static void win_init(kpa_window *w, fs_time window)
{
    w->window = window;
    w->n = (int32_t)((window + KPA_BUCKET - 1) / KPA_BUCKET);
    w->bucket = fs_xcalloc((size_t)w->n, sizeof *w->bucket);
    w->first = 0;
    w->last = -1;
}

static double *slot(kpa_window *w, int64_t s) { return &w->bucket[s % w->n]; }

/* TimedFloat64Buckets.Record, for times that never go back: the buckets skipped since the last
 * write are cleared; after a whole window without writes the window starts afresh. */
static void win_record(kpa_window *w, fs_time now, double v)
{
    int64_t b = now / KPA_BUCKET;
    FS_ASSERT(b >= w->last);
    if (w->last < 0 || (b - w->last) * KPA_BUCKET >= w->window) {
        memset(w->bucket, 0, (size_t)w->n * sizeof *w->bucket);
        w->first = b;
    } else {
        for (int64_t s = w->last + 1; s <= b; s++) *slot(w, s) = 0;
    }
    w->last = b;
    *slot(w, b) += v;
}

/* TimedFloat64Buckets.IsEmpty: nothing written for more than a window. */
static bool win_empty(const kpa_window *w, fs_time now)
{
    return w->last < 0 || (now / KPA_BUCKET - w->last) * KPA_BUCKET > w->window;
}

/* TimedFloat64Buckets.WindowAverage: the mean over the buckets written since the first write,
 * at most a window of them; when the last write is d seconds old the d newest seconds are left
 * out (missing data shortens the window rather than counting as zero). Floored to 6 digits. */
static double win_average(kpa_window *w, fs_time now)
{
    if (w->last < 0) return 0;
    int64_t b = now / KPA_BUCKET, d = b - w->last;
    FS_ASSERT(d >= 0);
    if (d * KPA_BUCKET >= w->window) return 0;
    int64_t lo = b - w->n + 1;
    if (lo < w->first) lo = w->first;
    double sum = 0;
    for (int64_t s = lo; s <= w->last; s++) sum += *slot(w, s);
    int64_t nb = w->last - w->first + 1;
    if (nb > w->n - d) nb = w->n - d;
    return floor(sum / (double)nb * 1e6) / 1e6;
}

void kpa_init(kpa *k, const kpa_config *c, fs_time now, int32_t ready)
{
    char msg[256];
    FS_ASSERT(kpa_config_check(c, msg, sizeof msg) == 0);
    FS_ASSERT(now >= 0 && ready >= 0);
    memset(k, 0, sizeof *k);
    k->cfg = *c;
    /* resources.ResolveMetricTarget */
    k->target = fmax(KPA_TARGET_MIN, c->target * c->utilization);
    win_init(&k->stable, c->stable_window);
    win_init(&k->panic, panic_window(c));
    /* scaling/autoscaler.go newAutoscaler: start in panic mode above one pod. */
    k->panicking = ready > 1;
    k->panic_time = now;
    k->max_panic_pods = ready;
    k->last_desired = -1;
    /* computeActiveCondition with no decision yet (want -1) from Active=Unknown. */
    k->state = ready >= max32(1, c->min_scale) ? KPA_ACTIVE : KPA_ACTIVATING;
    k->state_since = now;
}

void kpa_fini(kpa *k)
{
    free(k->stable.bucket);
    free(k->panic.bucket);
    memset(k, 0, sizeof *k);
}

/* collector.go record (pods and activator stats land in the same buckets) and
 * multiscaler.go Poke. */
bool kpa_record(kpa *k, fs_time now, double concurrency, double rps)
{
    FS_ASSERT(now >= 0 && concurrency >= 0 && rps >= 0 && isfinite(concurrency) && isfinite(rps));
    double v = k->cfg.metric == AS_RPS ? rps : concurrency;
    win_record(&k->stable, now, v);
    win_record(&k->panic, now, v);
    return k->last_desired == 0 && concurrency != 0;
}

/* scaling/autoscaler.go Scale: the decider. Returns -1 when the stable window holds no data. */
static int32_t decide(kpa *k, fs_time now, int32_t ready)
{
    const kpa_config *c = &k->cfg;
    if (win_empty(&k->stable, now)) return -1; /* metrics.ErrNoData */
    double stable = win_average(&k->stable, now), panic = win_average(&k->panic, now);
    double readyf = fmax(1.0, (double)ready);
    double up = fmin(ceil(c->max_scale_up_rate * readyf), (double)INT32_MAX);
    double down = floor(readyf / c->max_scale_down_rate);
    double dspc = ceil(stable / k->target), dppc = ceil(panic / k->target);
    int32_t want_stable = (int32_t)fmin(fmax(dspc, down), up);
    int32_t want_panic = (int32_t)fmin(fmax(dppc, down), up);
    if (c->activation_scale > 1) {
        if (dspc > 0 && c->activation_scale > want_stable) want_stable = c->activation_scale;
        if (dppc > 0 && c->activation_scale > want_panic) want_panic = c->activation_scale;
    }

    if (dppc / readyf >= c->panic_threshold) {
        k->panicking = true; /* begin, or extend */
        k->panic_time = now;
    } else if (k->panicking && k->panic_time + c->stable_window < now) {
        k->panicking = false; /* the surge has made its way into the stable window */
        k->max_panic_pods = 0;
    }

    int32_t want = want_stable;
    if (k->panicking) {
        /* Provision for the larger of the two, and never scale down while panicking. */
        want = max32(want, want_panic);
        k->max_panic_pods = max32(k->max_panic_pods, want);
        want = k->max_panic_pods;
    }
    return want;
}

/* kpa/scaler.go applyBounds: max 0 is unbounded. */
static int32_t apply_bounds(const kpa_config *c, int32_t x)
{
    if (x < c->min_scale) return c->min_scale;
    if (c->max_scale != 0 && x > c->max_scale) return c->max_scale;
    return x;
}

/* kpa/scaler.go Scale and handleScaleToZero: what the PA wants, and whether to apply it. The
 * activator is taken to be in the path as soon as the PA is inactive, and the activation
 * timeout (progress deadline + 10 s) is not modelled. */
static int32_t scale(kpa *k, fs_time now, int32_t d, bool *apply)
{
    *apply = false;
    if (d < 0 && k->state != KPA_ACTIVATING) return d; /* metrics not yet collected */
    d = apply_bounds(&k->cfg, d);
    if (d != 0 || !k->cfg.scale_to_zero) {
        *apply = true;
        return d != 0 ? d : 1;
    }
    switch (k->state) {
    case KPA_ACTIVATING:
        return -1;
    case KPA_ACTIVE:
        /* Active for a stable window: want 0, which marks the PA inactive; until then at most 1. */
        if (now - k->state_since >= k->cfg.stable_window) return 0;
        *apply = true;
        return 1;
    case KPA_INACTIVE:
        *apply = now - k->state_since >= k->cfg.scale_to_zero_grace;
        return 0;
    }
    fs_panic(__FILE__, __LINE__, "bad kpa state %d", (int)k->state);
}

static void set_state(kpa *k, fs_time now, enum kpa_state s)
{
    if (k->state == s) return;
    k->state = s;
    k->state_since = now;
}

/* kpa/kpa.go computeActiveCondition. */
static void active_condition(kpa *k, fs_time now, int32_t want, int32_t ready)
{
    if (want == 0) set_state(k, now, KPA_INACTIVE);
    else if (want > 0 || k->state != KPA_INACTIVE)
        set_state(k, now, ready < max32(1, k->cfg.min_scale) ? KPA_ACTIVATING : KPA_ACTIVE);
}

int32_t kpa_tick(kpa *k, fs_time now, int32_t ready, int32_t current)
{
    FS_ASSERT(ready >= 0 && current >= 0);
    FS_ASSERT(now >= k->state_since && (k->stable.last < 0 || now / KPA_BUCKET >= k->stable.last));
    /* An invalid decision leaves the decider's last one in place (multiscaler tickScaler). */
    int32_t d = decide(k, now, ready);
    if (d >= 0) k->last_desired = d;
    bool apply;
    int32_t want = scale(k, now, k->last_desired, &apply);
    active_condition(k, now, want, ready);
    return apply ? want : current;
}

/* ---- Cluster-Autoscaler-like node pool ----------------------------------------------------- */

ca_config ca_defaults(int32_t min_nodes, int32_t max_nodes)
{
    /* cluster-autoscaler FAQ: --scale-down-unneeded-time 10m, --scan-interval 10s. */
    return (ca_config){.min_nodes = min_nodes, .max_nodes = max_nodes, .unneeded_time = 600 * SEC,
                       .scan_interval = 10 * SEC};
}

int ca_config_check(const ca_config *c, char *msg, size_t size)
{
    if (c->min_nodes < 0 || c->max_nodes < 1 || c->max_nodes < c->min_nodes)
        return fail(msg, size, "expected 0 <= min_nodes <= max_nodes and max_nodes >= 1, got %d and %d",
                    c->min_nodes, c->max_nodes);
    if (c->unneeded_time < 0)
        return fail(msg, size, "expected unneeded_time >= 0, got %g s", fs_time_to_s(c->unneeded_time));
    if (c->scan_interval <= 0)
        return fail(msg, size, "expected scan_interval > 0, got %g s", fs_time_to_s(c->scan_interval));
    return 0;
}

static void add_node(ca_pool *p, fs_time ready_at)
{
    p->node = fs_xgrow(p->node, &p->cap, (size_t)p->n + 1, sizeof *p->node);
    p->node[p->n++] = (ca_node){p->next_id++, ready_at, FS_TIME_MAX};
}

void ca_init(ca_pool *p, const ca_config *c, int32_t nodes, fs_time now)
{
    char msg[256];
    FS_ASSERT(ca_config_check(c, msg, sizeof msg) == 0);
    FS_ASSERT(nodes >= c->min_nodes && nodes <= c->max_nodes);
    memset(p, 0, sizeof *p);
    p->cfg = *c;
    for (int32_t i = 0; i < nodes; i++) add_node(p, now);
}

void ca_fini(ca_pool *p)
{
    free(p->node);
    memset(p, 0, sizeof *p);
}

int32_t ca_ready(const ca_pool *p, fs_time now)
{
    int32_t r = 0;
    for (int32_t i = 0; i < p->n; i++) r += p->node[i].ready_at <= now;
    return r;
}

int32_t ca_scale_up(ca_pool *p, fs_time now, int32_t needed, fs_time delay)
{
    FS_ASSERT(needed >= 0 && delay >= 0);
    int32_t add = needed - (p->n - ca_ready(p, now)); /* nodes already coming take pods too */
    add = min32(add, p->cfg.max_nodes - p->n);
    for (int32_t i = 0; i < add; i++) add_node(p, now + delay);
    return max32(add, 0);
}

void ca_mark(ca_pool *p, int32_t id, fs_time now, bool unneeded)
{
    int32_t lo = 0, hi = p->n; /* ids ascend along the array */
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (p->node[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    FS_ASSERT(lo < p->n && p->node[lo].id == id && p->node[lo].ready_at <= now);
    ca_node *n = &p->node[lo];
    if (!unneeded) n->unneeded_since = FS_TIME_MAX;
    else if (n->unneeded_since == FS_TIME_MAX) n->unneeded_since = now;
}

int32_t ca_scale_down(ca_pool *p, fs_time now, int32_t *removed, int32_t cap)
{
    int32_t out = 0, kept = 0;
    for (int32_t i = 0; i < p->n; i++) {
        ca_node n = p->node[i];
        if (out < cap && p->n - out > p->cfg.min_nodes && n.unneeded_since != FS_TIME_MAX &&
            now - n.unneeded_since >= p->cfg.unneeded_time) {
            removed[out++] = n.id;
            continue;
        }
        p->node[kept++] = n;
    }
    p->n = kept;
    return out;
}

bool ca_remove(ca_pool *p, int32_t id)
{
    for (int32_t i = 0; i < p->n; i++) {
        if (p->node[i].id != id) continue;
        memmove(&p->node[i], &p->node[i + 1], (size_t)(p->n - i - 1) * sizeof *p->node);
        p->n--;
        return true;
    }
    return false;
}
