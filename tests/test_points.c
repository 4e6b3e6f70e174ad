/* point_summary (reports/points.h) and store_merge (reports/merge.h) on databases written through
 * the store with hand-chosen metric values: means, t-intervals and n checked by hand. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "merge.h"
#include "points.h"
#include "store.h"

static char dir[64];

static void db_path(const char *name, char *out, size_t size) { snprintf(out, size, "%s/%s", dir, name); }

/* One run with request_throughput = x (NaN: stored NULL) and e2el p99 = 10 x; status ok unless
 * fail. sweep NULL: no points row. Returns its id. */
static int64_t add_run(const char *db, const char *name, const char *sweep, int64_t point, int64_t seed_index,
                       const char *params, double x, int fail)
{
    fs_error err;
    store *st = store_open(db, &err);
    CHECK(st != NULL);
    if (!st) return -1;
    store_run_info info = {name, "{}", (uint64_t)(7 + seed_index), "test", ""};
    int64_t id = -1;
    CHECK_INT(store_run_begin(st, &info, &id, &err), 0);
    fs_metrics m = {0};
    fs_metrics_add(&m, "request_throughput", "value", x, "req/s");
    fs_metrics_add(&m, "e2el", "p99", 10 * x, "ms");
    CHECK_INT(store_metrics_add(st, id, &m, &err), 0);
    if (sweep) {
        store_point p = {sweep, point, seed_index, params};
        CHECK_INT(store_point_add(st, id, &p, &err), 0);
    }
    if (fail) CHECK_INT(store_run_abort(st, id, "failed", "test", &err), 0);
    else CHECK_INT(store_run_end(st, id, &err), 0);
    fs_metrics_fini(&m);
    store_close(st);
    return id;
}

static void test_t_quantile(void)
{
    CHECK_NEAR(point_t975(1), 12.706204736174707, 1e-9);
    CHECK_NEAR(point_t975(2), 4.302652729749464, 1e-9);
    CHECK_NEAR(point_t975(30), 2.042272456301238, 1e-9);
    CHECK(isnan(point_t975(0)));
}

static void test_summary(void)
{
    char db[128];
    db_path("s.db", db, sizeof db);
    /* point 0: 3 ok runs 1, 2, 4 (mean 7/3, s^2 = (16/9 + 1/9 + 25/9) / 2 = 7/3) and a failed one,
     * whose points row the store rolls back with its other rows */
    add_run(db, "a", "sw", 0, 0, "{\"x\":1}", 1, 0);
    add_run(db, "a", "sw", 0, 1, "{\"x\":1}", 2, 0);
    int64_t r3 = add_run(db, "a", "sw", 0, 2, "{\"x\":1}", 4, 0);
    add_run(db, "a", "sw", 0, 3, "{\"x\":1}", 100, 1);
    /* point 1: one value and one NaN; another sweep; a plain run */
    add_run(db, "a", "sw", 1, 0, "{\"x\":2}", 5, 0);
    add_run(db, "a", "sw", 1, 1, "{\"x\":2}", NAN, 0);
    add_run(db, "b", "other", 0, 0, "{}", 9, 0);
    int64_t plain = add_run(db, "plain", NULL, 0, 0, NULL, 3, 0);

    point_table t;
    fs_error err;
    CHECK_INT(point_summary(db, "sw", 0, &t, &err), 0);
    CHECK_INT(t.n, 2);
    if (t.n == 2) {
        const point_row *p0 = &t.rows[0], *p1 = &t.rows[1];
        CHECK_STR(p0->sweep, "sw");
        CHECK_STR(p0->params, "{\"x\":1}");
        CHECK_STR(p0->name, "a");
        CHECK_INT(p0->nruns, 3);
        CHECK_INT(p0->nfailed, 0);
        CHECK_INT(p0->run_ids[2], r3);
        const point_stat *s = point_row_find(p0, "request_throughput", "value");
        CHECK(s != NULL);
        if (s) {
            CHECK_INT(s->n, 3);
            CHECK_NEAR(s->mean, 7.0 / 3, 1e-12);
            CHECK_NEAR(s->sd, sqrt(7.0 / 3), 1e-12);
            CHECK_NEAR(s->half_width, 4.302652729749464 * sqrt(7.0 / 3) / sqrt(3), 1e-9);
            CHECK_STR(s->unit, "req/s");
        }
        s = point_row_find(p0, "e2el", "p99");
        CHECK(s && fabs(s->mean - 70.0 / 3) < 1e-9);
        CHECK(point_row_find(p0, "e2el", "p90") == NULL);
        s = point_row_find(p1, "request_throughput", "value");
        CHECK(s && s->n == 1 && s->mean == 5 && isnan(s->half_width) && isnan(s->sd));
        CHECK_INT(p1->nruns, 2);
    }
    point_table_fini(&t);

    /* by run id: the run's point, every replication */
    CHECK_INT(point_summary(db, NULL, r3, &t, &err), 0);
    CHECK(t.n == 1 && t.rows[0].point == 0 && t.rows[0].nruns == 3);
    point_table_fini(&t);
    /* a run outside any sweep: a row of its own */
    CHECK_INT(point_summary(db, NULL, plain, &t, &err), 0);
    CHECK(t.n == 1 && t.rows[0].sweep == NULL && t.rows[0].point == -1 && t.rows[0].nruns == 1);
    if (t.n == 1) {
        const point_stat *s = point_row_find(&t.rows[0], "request_throughput", "value");
        CHECK(s && s->n == 1 && s->mean == 3);
    }
    point_table_fini(&t);
    /* everything: both sweeps, by name */
    CHECK_INT(point_summary(db, NULL, 0, &t, &err), 0);
    CHECK(t.n == 3 && strcmp(t.rows[0].sweep, "other") == 0);
    point_table_fini(&t);
    /* no such sweep: empty; no such run, not a database: errors */
    CHECK_INT(point_summary(db, "nope", 0, &t, &err), 0);
    CHECK_INT(t.n, 0);
    CHECK_INT(point_summary(db, NULL, 999, &t, &err), -1);
    CHECK_CONTAINS(err.msg, "no run 999");
    CHECK_INT(point_summary("/nonexistent/x.db", "sw", 0, &t, &err), -1);

    point_key *keys;
    size_t n;
    CHECK_INT(point_stored(db, "sw", &keys, &n, &err), 0);
    CHECK_INT(n, 5); /* the failed replication is not stored 'ok' */
    CHECK(n == 5 && keys[2].point == 0 && keys[2].seed_index == 2 && keys[3].point == 1);
    free(keys);
    char missing[128];
    db_path("missing.db", missing, sizeof missing);
    CHECK_INT(point_stored(missing, "sw", &keys, &n, &err), 0);
    CHECK_INT(n, 0);
    unlink(db);
}

static void test_merge_order(void)
{
    char a[128], b[128], out[128];
    db_path("a.db", a, sizeof a);
    db_path("b.db", b, sizeof b);
    db_path("m.db", out, sizeof out);
    add_run(a, "s", "sw", 1, 0, "{}", 3, 0);
    add_run(a, "plain-a", NULL, 0, 0, NULL, 1, 0);
    add_run(b, "s", "sw", 0, 1, "{}", 2, 0);
    add_run(b, "s", "sw", 0, 0, "{}", 1, 0);
    add_run(b, "s", "aa", 5, 0, "{}", 1, 0);
    store_merge_input in[2] = {{b, NULL}, {a, NULL}};
    store_merge_result res;
    fs_error err;
    CHECK_INT(store_merge(out, in, 2, &res, &err), STORE_MERGE_OK);
    CHECK_INT(res.runs, 5);
    CHECK_INT(res.first_id, 1);
    /* plain first, then (sweep, point, seed_index): aa/5/0, sw/0/0, sw/0/1, sw/1/0 */
    point_table t;
    CHECK_INT(point_summary(out, NULL, 1, &t, &err), 0);
    CHECK(t.n == 1 && t.rows[0].sweep == NULL && strcmp(t.rows[0].name, "plain-a") == 0);
    point_table_fini(&t);
    CHECK_INT(point_summary(out, "sw", 0, &t, &err), 0);
    CHECK(t.n == 2 && t.rows[0].nruns == 2 && t.rows[0].run_ids[0] == 3 && t.rows[0].run_ids[1] == 4 &&
          t.rows[1].run_ids[0] == 5);
    point_table_fini(&t);
    /* again: the same replications are refused, nothing written */
    CHECK_INT(store_merge(out, in, 1, &res, &err), STORE_MERGE_BAD_INPUT);
    CHECK_CONTAINS(err.msg, "is already in");
    CHECK_INT(point_summary(out, NULL, 0, &t, &err), 0);
    CHECK_INT(t.n, 3);
    point_table_fini(&t);
    /* a point given by the caller places a file's one run */
    char c[128];
    db_path("c.db", c, sizeof c);
    add_run(c, "s", NULL, 0, 0, NULL, 8, 0);
    store_point p = {"sw", 7, 0, "{\"k\":1}"};
    store_merge_input one = {c, &p};
    CHECK_INT(store_merge(out, &one, 1, &res, &err), STORE_MERGE_OK);
    CHECK_INT(res.first_id, 6);
    CHECK_INT(point_summary(out, NULL, 6, &t, &err), 0);
    CHECK(t.n == 1 && t.rows[0].point == 7 && strcmp(t.rows[0].params, "{\"k\":1}") == 0);
    point_table_fini(&t);
    /* a failed run placed so (what a sweep does with a failed child's file) counts as failed */
    char d[128];
    db_path("d.db", d, sizeof d);
    add_run(d, "s", NULL, 0, 0, NULL, 8, 1);
    store_point q = {"sw", 7, 1, "{\"k\":1}"};
    store_merge_input two = {d, &q};
    CHECK_INT(store_merge(out, &two, 1, &res, &err), STORE_MERGE_OK);
    CHECK_INT(point_summary(out, NULL, 6, &t, &err), 0);
    CHECK(t.n == 1 && t.rows[0].nruns == 1 && t.rows[0].nfailed == 1);
    point_table_fini(&t);
    unlink(d);
    unlink(a);
    unlink(b);
    unlink(c);
    unlink(out);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/fs_test_points_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_t_quantile);
    RUN(test_summary);
    RUN(test_merge_order);
    rmdir(dir);
    return DONE();
}
