/*
 * fleetsim sweep: every point of a parameter grid, N replications each, one process per run.
 *
 * Each run is a child process (fork) that loads the point's scenario and writes its own SQLite
 * file in a temporary folder beside the results database; the parent starts up to -j of them,
 * and when all are done merges the files into the database in (point, seed_index) order with
 * store_merge. So the database holds the same rows whatever -j is, and no two processes ever
 * write one SQLite file. (The alternative, children writing the database themselves, would need
 * SQLite's locking to serialise them and would store runs in completion order.)
 */
#define _GNU_SOURCE /* sched_getaffinity, strsignal */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "cli_internal.h"
#include "jsonv.h"
#include "merge.h"
#include "points.h"

#define MAX_SEEDS 10000
#define MAX_POINTS 1000000
#define MAX_VALUES 100000

static const char usage_sweep[] =
    "usage: fleetsim sweep SCENARIO [--grid PATH=V1,V2,...]... [options]\n"
    "\n"
    "Run SCENARIO at every point of a grid (the Cartesian product of the --grid values, the\n"
    "first --grid varying slowest; or the scenario's \"sweep\" section), N replications per\n"
    "point, in parallel processes, into one results database; then print per point the mean\n"
    "and 95% confidence interval (Student t) of the headline metrics over the replications.\n"
    "\n"
    "options:\n"
    "  --grid PATH=V1,V2,...  one axis: PATH as for --set, each value JSON if it parses, else a\n"
    "                     string; values split at commas outside quotes and brackets\n"
    "                     (--grid 'router={\"policy\":\"random\"},{\"policy\":\"least_outstanding\"}');\n"
    "                     repeatable; any --grid replaces the scenario's sweep.grid\n"
    "  --seeds N          replications per point (default sweep.seeds, else 1): replication k\n"
    "                     runs with the point's seed + k (common random numbers across points)\n"
    "  -j, --jobs N       runs at a time (default: the CPUs this process may use)\n"
    "  --shard I/N        run only the points whose index % N is I - 1 (I = 1..N): for array\n"
    "                     jobs; merge the shards' databases with fleetsim merge\n"
    "  --name NAME        the sweep's name in the points table (default sweep-<scenario\n"
    "                     name>-<hash of the points' scenarios>: the same in every shard)\n"
    "  --resume           skip replications the database already holds 'ok' for this sweep\n"
    "  --list             print the points (index and parameters; with --shard, its own)\n"
    "                     and the sweep's name, and run nothing\n"
    "  --set PATH=VALUE, --seed N, --catalog FILE, --requests, --skip-bad-rows, --sort SECONDS\n"
    "                     as for run, for every point (--set before the grid's values)\n"
    "  --db FILE          results database (default results.db; created if missing)\n"
    "  --json             print the point table as one JSON object\n"
    "  -q, --quiet        no progress on stderr (a bar on a terminal, else a line per run)\n"
    "  -h, --help         this text\n"
    "\n"
    "exit status: 0 done; 1 a run failed (each is named; the others are stored) or the\n"
    "database failed; 2 bad usage or input (nothing runs); 130 interrupted (Ctrl-C stops the\n"
    "runs; finished ones are stored and --resume runs the rest).\n";

/* ---- the grid ---- */

typedef struct axis {
    char *key;        /* a --set path */
    char **text;      /* each value as JSON text (compact, numbers as written back exactly) */
    size_t n;
} axis;

typedef struct point {
    char **sets;      /* the --set overrides that make it, user's first */
    char *params;     /* {"key": value, ...} in axis order */
    uint64_t seed;    /* its scenario's seed: replication k runs with seed + k */
} point;

enum job_state { JOB_WAITING, JOB_RUNNING, JOB_OK, JOB_FAILED, JOB_INTERRUPTED, JOB_SKIPPED };

typedef struct job {
    size_t point;
    uint64_t seed_index;
    pid_t pid;
    enum job_state state;
    double started, seconds;
    char *message;    /* why it failed: the last line it printed, or how it died */
} job;

typedef struct sweep_args {
    const char *scenario, *db, *name;
    const char **sets, **catalogs, **grids;
    int nsets, ncatalogs, ngrids;
    bool has_seed, requests, skip_bad_rows, resume, list, json, quiet;
    uint64_t seed, seeds, jobs, shard_i, shard_n;
    double sort_window;
} sweep_args;

typedef struct sweep {
    sweep_args a;
    json_t *root;     /* the scenario without its sweep section */
    axis *axes;
    size_t naxes;
    uint64_t seeds;
    point *points;
    size_t npoints;
    char name[300];   /* the sweep's name */
    char *tmpdir;
    job *jobs;
    size_t njobs;
} sweep;

static void axis_fini(axis *x)
{
    for (size_t i = 0; i < x->n; i++) free(x->text[i]);
    free(x->text);
    free(x->key);
}

/* The fewest significant digits (up to 17) that give the number back. */
static int real_digits(double v)
{
    for (int d = 1; d < 17; d++) {
        char buf[40];
        snprintf(buf, sizeof buf, "%.*g", d, v);
        if (strtod(buf, NULL) == v) return d;
    }
    return 17;
}

static char *value_text(const json_t *v)
{
    int d = json_is_real(v) ? real_digits(json_real_value(v)) : 17;
    char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(d));
    if (!t) fs_oom(0);
    return t;
}

static void axis_add(axis *x, const json_t *v)
{
    x->text = fs_xrealloc(x->text, (x->n + 1) * sizeof *x->text);
    x->text[x->n++] = value_text(v);
}

/* "key=v1,v2,...": values split at commas outside quotes, brackets and braces. */
static int parse_grid(const char *spec, axis *out)
{
    memset(out, 0, sizeof *out);
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec) return usage_error("--grid: expected PATH=V1,V2,..., got '%s'", spec);
    out->key = fs_xmalloc((size_t)(eq - spec) + 1);
    memcpy(out->key, spec, (size_t)(eq - spec));
    out->key[eq - spec] = '\0';
    const char *p = eq + 1;
    int depth = 0;
    bool quoted = false;
    for (const char *start = p;; p++) {
        if (quoted) {
            if (*p == '\\' && p[1]) p++;
            else if (*p == '"') quoted = false;
            if (*p) continue;
        }
        if (*p == '"') quoted = true;
        else if (*p == '[' || *p == '{') depth++;
        else if ((*p == ']' || *p == '}') && depth > 0) depth--;
        if ((*p == ',' && depth == 0 && !quoted) || *p == '\0') {
            size_t len = (size_t)(p - start);
            if (len == 0) {
                axis_fini(out);
                return usage_error("--grid '%s': an empty value (values are separated by single commas)", spec);
            }
            char *piece = fs_xmalloc(len + 1);
            memcpy(piece, start, len);
            piece[len] = '\0';
            json_error_t je;
            json_t *v = json_loads(piece, JSON_DECODE_ANY, &je); /* the rule of --set */
            if (!v) v = json_string(piece);
            free(piece);
            if (!v) {
                axis_fini(out);
                return usage_error("--grid '%s': values must be UTF-8 text", spec);
            }
            axis_add(out, v);
            json_decref(v);
            if (out->n > MAX_VALUES) {
                axis_fini(out);
                return usage_error("--grid '%s': more than %d values", spec, MAX_VALUES);
            }
            if (*p == '\0') break;
            start = p + 1;
        }
    }
    return 0;
}

/* The scenario's "sweep" section: {"grid": {"path": [values...], ...}, "seeds": N}. */
static int load_section(sweep *sw, json_t *sec, fs_error *err)
{
    static const char *const keys[] = {"grid", "seeds", NULL};
    jv_ctx c = {sw->a.scenario, err};
    if (!json_is_object(sec)) return jv_bad(&c, "sweep", "an object with grid and seeds", sec);
    long long seeds;
    json_t *grid;
    if (jv_check_keys(&c, sec, "sweep", keys) ||
        jv_get_int(&c, sec, "sweep", "seeds", false, 1, 1, MAX_SEEDS, &seeds) ||
        jv_get_obj(&c, sec, "sweep", "grid", false, &grid))
        return -1;
    if (!sw->a.seeds) sw->seeds = (uint64_t)seeds;
    if (sw->a.ngrids) return 0; /* the command line's grid replaces the file's */
    const char *key;
    json_t *vals;
    json_object_foreach(grid, key, vals) {
        char p[JV_PATH_MAX];
        jv_join(p, "sweep.grid", key);
        if (!json_is_array(vals) || json_array_size(vals) == 0 || json_array_size(vals) > MAX_VALUES)
            return jv_bad(&c, p, "a non-empty array of values", vals);
        sw->axes = fs_xrealloc(sw->axes, (sw->naxes + 1) * sizeof *sw->axes);
        axis *x = &sw->axes[sw->naxes++];
        memset(x, 0, sizeof *x);
        x->key = fs_xstrdup(key);
        size_t i;
        json_t *v;
        json_array_foreach(vals, i, v) axis_add(x, v);
    }
    return 0;
}

/* ---- arguments ---- */

static int parse_args(int argc, char **argv, sweep_args *a)
{
    a->db = "results.db";
    a->sets = fs_xcalloc((size_t)argc + 1, sizeof *a->sets);
    a->catalogs = fs_xcalloc((size_t)argc + 1, sizeof *a->catalogs);
    a->grids = fs_xcalloc((size_t)argc + 1, sizeof *a->grids);
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char *v = NULL;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(usage_sweep, stdout);
            return -1;
        }
        static const char *const with_value[] = {"--grid", "--seeds", "-j", "--jobs", "--shard", "--name", "--set",
                                                 "--seed", "--catalog", "--db", "--sort", NULL};
        for (const char *const *o = with_value; *o; o++) {
            size_t len = strlen(*o);
            if (strcmp(arg, *o) == 0) {
                if (i + 1 >= argc) return usage_error("option %s needs a value", arg);
                v = argv[++i];
            } else if (strncmp(arg, *o, len) == 0 && arg[len] == '=' && (*o)[1] == '-') {
                v = arg + len + 1;
            } else if (strcmp(*o, "-j") == 0 && strncmp(arg, "-j", 2) == 0 && arg[2]) {
                v = arg + 2;
            } else {
                continue;
            }
            arg = *o;
            break;
        }
        if (v) {
            if (strcmp(arg, "--grid") == 0) a->grids[a->ngrids++] = v;
            else if (strcmp(arg, "--set") == 0) a->sets[a->nsets++] = v;
            else if (strcmp(arg, "--catalog") == 0) a->catalogs[a->ncatalogs++] = v;
            else if (strcmp(arg, "--db") == 0) a->db = v;
            else if (strcmp(arg, "--name") == 0) {
                if (!*v || strlen(v) > 256) return usage_error("--name: expected 1 to 256 characters, got '%s'", v);
                a->name = v;
            } else if (strcmp(arg, "--sort") == 0) {
                if (cli_parse_sort(v, &a->sort_window)) return EXIT_INPUT;
            } else if (strcmp(arg, "--seed") == 0) {
                if (cli_parse_u64(v, &a->seed)) return usage_error("--seed: expected a non-negative integer, got '%s'", v);
                a->has_seed = true;
            } else if (strcmp(arg, "--seeds") == 0) {
                if (cli_parse_u64(v, &a->seeds) || a->seeds < 1 || a->seeds > MAX_SEEDS)
                    return usage_error("--seeds: expected an integer in 1..%d, got '%s'", MAX_SEEDS, v);
            } else if (strcmp(arg, "-j") == 0 || strcmp(arg, "--jobs") == 0) {
                if (cli_parse_u64(v, &a->jobs) || a->jobs < 1 || a->jobs > 4096)
                    return usage_error("-j: expected a number of processes in 1..4096, got '%s'", v);
            } else { /* --shard I/N */
                const char *slash = strchr(v, '/');
                char ibuf[32];
                size_t ilen = slash ? (size_t)(slash - v) : 0;
                bool okay = slash && ilen < sizeof ibuf;
                if (okay) {
                    memcpy(ibuf, v, ilen);
                    ibuf[ilen] = '\0';
                    okay = cli_parse_u64(ibuf, &a->shard_i) == 0 && cli_parse_u64(slash + 1, &a->shard_n) == 0 &&
                           a->shard_n >= 1 && a->shard_n <= MAX_POINTS && a->shard_i >= 1 && a->shard_i <= a->shard_n;
                }
                if (!okay)
                    return usage_error("--shard: expected I/N with 1 <= I <= N (e.g. 2/4; I is 1-based), got '%s'", v);
            }
        } else if (strcmp(arg, "--requests") == 0) {
            a->requests = true;
        } else if (strcmp(arg, "--skip-bad-rows") == 0) {
            a->skip_bad_rows = true;
        } else if (strcmp(arg, "--resume") == 0) {
            a->resume = true;
        } else if (strcmp(arg, "--list") == 0) {
            a->list = true;
        } else if (strcmp(arg, "--json") == 0) {
            a->json = true;
        } else if (strcmp(arg, "-q") == 0 || strcmp(arg, "--quiet") == 0) {
            a->quiet = true;
        } else if (strcmp(arg, "--no-db") == 0) {
            return usage_error("%s", "sweep: --no-db does not apply: a sweep's results are its database");
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return usage_error("unknown option '%s'", arg);
        } else if (!a->scenario) {
            a->scenario = arg;
        } else {
            return usage_error("unexpected argument '%s' (one scenario per sweep)", arg);
        }
    }
    if (!a->scenario) return usage_error("%s", "sweep needs a scenario file");
    return 0;
}

static uint64_t default_jobs(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return (uint64_t)CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (uint64_t)n : 1;
}

/* ---- points ---- */

/* key=value strings as --set takes them, and the params object, for point p (axis 0 slowest). */
static void make_point(sweep *sw, size_t p, point *out)
{
    size_t nsets = (size_t)sw->a.nsets;
    out->sets = fs_xcalloc(nsets + sw->naxes + 1, sizeof *out->sets);
    for (size_t i = 0; i < nsets; i++) out->sets[i] = fs_xstrdup(sw->a.sets[i]);
    size_t *digit = fs_xcalloc(sw->naxes + 1, sizeof *digit);
    size_t rest = p;
    for (size_t k = sw->naxes; k-- > 0;) {
        digit[k] = rest % sw->axes[k].n;
        rest /= sw->axes[k].n;
    }
    size_t plen = 3;
    for (size_t k = 0; k < sw->naxes; k++) plen += 2 * strlen(sw->axes[k].key) + strlen(sw->axes[k].text[digit[k]]) + 8;
    out->params = fs_xmalloc(plen);
    size_t len = (size_t)snprintf(out->params, plen, "{");
    for (size_t k = 0; k < sw->naxes; k++) {
        const axis *x = &sw->axes[k];
        const char *val = x->text[digit[k]];
        size_t n = strlen(x->key) + strlen(val) + 2;
        out->sets[nsets + k] = fs_xmalloc(n);
        snprintf(out->sets[nsets + k], n, "%s=%s", x->key, val);
        json_t *ks = json_string(x->key);
        char *kt = ks ? json_dumps(ks, JSON_ENCODE_ANY) : NULL;
        if (!kt) fs_oom(0);
        len += (size_t)snprintf(out->params + len, plen - len, "%s%s:%s", k ? "," : "", kt, val);
        free(kt);
        json_decref(ks);
    }
    snprintf(out->params + len, plen - len, "}");
    free(digit);
}

static void point_fini(point *p, size_t nsets)
{
    for (size_t i = 0; p->sets && i < nsets; i++) free(p->sets[i]);
    free(p->sets);
    free(p->params);
}

static size_t point_nsets(const sweep *sw) { return (size_t)sw->a.nsets + sw->naxes; }

/* "[router.policy=random, workload.rate=20]" from the params object */
static void point_label(const char *params, char *buf, size_t size)
{
    json_error_t je;
    json_t *o = json_loads(params, 0, &je);
    size_t len = (size_t)snprintf(buf, size, "[");
    const char *k;
    json_t *v;
    bool first = true;
    if (o) json_object_foreach(o, k, v) {
            char *t = json_is_string(v) ? NULL : value_text(v);
            if (len < size)
                len += (size_t)snprintf(buf + len, size - len, "%s%s=%s", first ? "" : ", ", k,
                                        t ? t : json_string_value(v));
            free(t);
            first = false;
        }
    if (len < size) snprintf(buf + len, size - len, "]");
    json_decref(o);
}

static bool in_shard(const sweep *sw, size_t p)
{
    return sw->a.shard_n == 0 || p % sw->a.shard_n == sw->a.shard_i - 1;
}

static scenario_opts point_opts(const sweep *sw, const point *p, bool has_seed, uint64_t seed)
{
    scenario_opts so = {(const char *const *)p->sets, (int)point_nsets(sw), has_seed, seed,
                        sw->a.catalogs, sw->a.ncatalogs, sw->a.skip_bad_rows, sw->a.sort_window};
    return so;
}

/* Load every point once, in this process: a bad key or value fails the sweep before anything
 * runs, with the scenario's own message. Also gives each point's seed and the sweep's name. */
static int validate_points(sweep *sw)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over the points' resolved scenarios */
    char scname[128] = "";
    for (size_t p = 0; p < sw->npoints; p++) {
        point *pt = &sw->points[p];
        make_point(sw, p, pt);
        scenario_opts so = point_opts(sw, pt, sw->a.has_seed, sw->a.seed);
        json_t *copy = json_deep_copy(sw->root);
        if (!copy) fs_oom(0);
        scenario sc;
        fs_error err;
        if (scenario_load_json(copy, sw->a.scenario, &so, &sc, &err)) {
            print_error(&err);
            char label[512];
            point_label(pt->params, label, sizeof label);
            fprintf(stderr, "fleetsim: (in sweep point %zu %s)\n", p, label);
            return EXIT_INPUT;
        }
        pt->seed = sc.cfg.seed;
        if (p == 0) snprintf(scname, sizeof scname, "%s", sc.name);
        for (const unsigned char *c = (const unsigned char *)sc.resolved_json; *c; c++) {
            h ^= *c;
            h *= 1099511628211ULL;
        }
        h ^= 0xff; /* separator */
        h *= 1099511628211ULL;
        scenario_fini(&sc);
    }
    if (sw->a.name) snprintf(sw->name, sizeof sw->name, "%s", sw->a.name);
    else snprintf(sw->name, sizeof sw->name, "sweep-%s-%08llx", scname, (unsigned long long)(h >> 32));
    return 0;
}

/* ---- running ---- */

static volatile sig_atomic_t stop_signals;
/* the running children, for the signal handler to pass a Ctrl-C on (0: a free slot) */
static volatile pid_t *live_pids;
static size_t live_cap;

static void on_stop(int sig)
{
    (void)sig;
    stop_signals = stop_signals + 1;
    for (size_t i = 0; i < live_cap; i++)
        if (live_pids[i] > 0) kill(live_pids[i], stop_signals > 1 ? SIGKILL : SIGINT);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void job_path(const sweep *sw, size_t j, const char *ext, char *buf, size_t size)
{
    snprintf(buf, size, "%s/run-%06zu.%s", sw->tmpdir, j, ext);
}

/* The child: one run into its own database, errors into its own file. Never returns. */
static void child_run(sweep *sw, size_t j) __attribute__((noreturn));
static void child_run(sweep *sw, size_t j)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    char dbpath[4200], errpath[4200];
    job_path(sw, j, "db", dbpath, sizeof dbpath);
    job_path(sw, j, "err", errpath, sizeof errpath);
    int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    fd = open("/dev/null", O_WRONLY);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        close(fd);
    }
    const job *jb = &sw->jobs[j];
    const point *pt = &sw->points[jb->point];
    scenario_opts so = point_opts(sw, pt, true, (pt->seed + jb->seed_index) & (uint64_t)INT64_MAX);
    json_t *copy = json_deep_copy(sw->root);
    if (!copy) fs_oom(0);
    scenario sc;
    fs_error err;
    int code;
    if (scenario_load_json(copy, sw->a.scenario, &so, &sc, &err)) {
        print_error(&err);
        code = EXIT_INPUT;
    } else {
        cli_run o = {.db = dbpath, .store_requests = sw->a.requests || sc.store_requests};
        fs_metrics m = {0};
        code = cli_execute(&sc, &o, &m);
        fs_metrics_fini(&m);
        scenario_fini(&sc);
    }
    fflush(NULL);
    exit(code);
}

static void launch(sweep *sw, size_t j, size_t slot)
{
    job *jb = &sw->jobs[j];
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &old); /* a Ctrl-C now reaches the child once it is in the table */
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) child_run(sw, j);
    if (pid > 0) {
        jb->pid = pid;
        live_pids[slot] = pid;
        jb->state = JOB_RUNNING;
        jb->started = now_s();
    } else {
        jb->state = JOB_FAILED;
        jb->message = fs_xstrdup(strerror(errno));
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
}

/* A child that died before it could end its run leaves it 'running': say what happened. */
static void close_dead_run(const char *dbpath, const char *status, const char *message)
{
    struct stat sb;
    if (stat(dbpath, &sb) != 0) return;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(db, "UPDATE runs SET status = ?, error = ?, ended_at = strftime('%Y-%m-%dT%H:%M:%SZ', "
                               "'now') WHERE status = 'running'", -1, &s, NULL) == SQLITE_OK) {
            sqlite3_bind_text(s, 1, status, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 2, message, -1, SQLITE_STATIC);
            sqlite3_step(s);
            sqlite3_finalize(s);
        }
    }
    sqlite3_close(db);
}

typedef struct progress {
    bool tty, quiet, drawn;
    size_t total, done, failed;
    double t0;
} progress;

static void progress_clear(progress *pg)
{
    if (pg->drawn) fputs("\r\033[K", stderr);
    pg->drawn = false;
}

static void progress_draw(progress *pg)
{
    if (!pg->tty || pg->quiet) return;
    const int width = 30;
    int filled = pg->total ? (int)(width * pg->done / pg->total) : width;
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    double el = now_s() - pg->t0;
    fprintf(stderr, "\r\033[K[%s] %zu/%zu runs", bar, pg->done, pg->total);
    if (pg->failed) fprintf(stderr, ", %zu failed", pg->failed);
    fprintf(stderr, ", %.1f s", el);
    if (pg->done && pg->done < pg->total) fprintf(stderr, ", about %.0f s left", el / (double)pg->done * (double)(pg->total - pg->done));
    pg->drawn = true;
    fflush(stderr);
}

/* What the child wrote on stderr, each line labelled with its point. The last line is kept as
 * the job's message. */
static void relay_messages(sweep *sw, size_t j, progress *pg)
{
    char path[4200], label[600], line[2048];
    job_path(sw, j, "err", path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) return;
    job *jb = &sw->jobs[j];
    point_label(sw->points[jb->point].params, label, sizeof label);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!line[0]) continue;
        const char *msg = strncmp(line, "fleetsim: ", 10) == 0 ? line + 10 : line;
        progress_clear(pg);
        fprintf(stderr, "fleetsim: point %zu seed_index %llu %s: %s\n", jb->point, (unsigned long long)jb->seed_index,
                label, msg);
        if (jb->state != JOB_OK) {
            free(jb->message);
            jb->message = fs_xstrdup(msg);
        }
    }
    fclose(f);
}

static void job_done(sweep *sw, size_t j, int status, progress *pg)
{
    job *jb = &sw->jobs[j];
    jb->seconds = now_s() - jb->started;
    char dbpath[4200], why[128] = "";
    job_path(sw, j, "db", dbpath, sizeof dbpath);
    if (WIFEXITED(status)) {
        int code = WEXITSTATUS(status);
        jb->state = code == 0 ? JOB_OK : code == EXIT_INTERRUPTED ? JOB_INTERRUPTED : JOB_FAILED;
        if (code && code != EXIT_INTERRUPTED) snprintf(why, sizeof why, "exit status %d", code);
    } else {
        int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        jb->state = sig == SIGINT || (sig == SIGKILL && stop_signals > 1) ? JOB_INTERRUPTED : JOB_FAILED;
        snprintf(why, sizeof why, "killed by signal %d (%s)", sig, strsignal(sig));
        close_dead_run(dbpath, jb->state == JOB_INTERRUPTED ? "interrupted" : "failed", why);
    }
    relay_messages(sw, j, pg);
    if (jb->state == JOB_FAILED && (!jb->message || !WIFEXITED(status))) {
        free(jb->message);
        jb->message = fs_xstrdup(why);
    }
    pg->done++;
    if (jb->state == JOB_FAILED) pg->failed++;
    if (!pg->quiet && !pg->tty) {
        char label[600];
        point_label(sw->points[jb->point].params, label, sizeof label);
        static const char *const word[] = {"", "", "ok", "FAILED", "interrupted", ""};
        fprintf(stderr, "fleetsim: run %zu/%zu: point %zu seed_index %llu %s %s in %.2f s\n", pg->done, pg->total,
                jb->point, (unsigned long long)jb->seed_index, label, word[jb->state], jb->seconds);
    }
    progress_draw(pg);
}

/* Start up to -j children at a time until every job ran or a signal stops the sweep. */
static void run_jobs(sweep *sw, progress *pg)
{
    size_t slots = (size_t)sw->a.jobs;
    live_pids = fs_xcalloc(slots, sizeof *live_pids);
    live_cap = slots;
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    size_t next = 0, running = 0;
    sig_atomic_t forwarded = 0;
    progress_draw(pg);
    for (;;) {
        while (!stop_signals && running < slots && next < sw->njobs) {
            size_t j = next++;
            if (sw->jobs[j].state == JOB_SKIPPED) continue;
            size_t slot = 0;
            while (live_pids[slot] != 0) slot++;
            launch(sw, j, slot);
            if (sw->jobs[j].state == JOB_RUNNING) running++;
            else {
                pg->done++;
                pg->failed++;
            }
        }
        if (running == 0) break;
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno != EINTR) break; /* ECHILD: nothing left to wait for */
            if (stop_signals != forwarded) { /* a child started while the signal was blocked */
                forwarded = stop_signals;
                for (size_t i = 0; i < slots; i++)
                    if (live_pids[i] > 0) kill(live_pids[i], stop_signals > 1 ? SIGKILL : SIGINT);
            }
            continue;
        }
        for (size_t i = 0; i < slots; i++)
            if (live_pids[i] == pid) live_pids[i] = 0;
        for (size_t j = 0; j < sw->njobs; j++)
            if (sw->jobs[j].state == JOB_RUNNING && sw->jobs[j].pid == pid) {
                running--;
                job_done(sw, j, status, pg);
                break;
            }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    progress_clear(pg);
    free((void *)live_pids);
    live_pids = NULL;
    live_cap = 0;
}

/* ---- the result ---- */

static void print_cell(char *buf, size_t size, const point_stat *s)
{
    if (!s || s->n == 0) snprintf(buf, size, "-");
    else if (isfinite(s->half_width)) snprintf(buf, size, "%.4g ± %.2g", s->mean, s->half_width);
    else snprintf(buf, size, "%.4g", s->mean);
}

/* printed width of UTF-8 text (± is two bytes, one column) */
static int text_width(const char *s)
{
    int w = 0;
    for (; *s; s++) w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void print_padded(const char *s, int width, bool last)
{
    fputs(s, stdout);
    if (!last)
        for (int i = text_width(s); i < width + 2; i++) putchar(' ');
}

static void param_text(const char *params, const char *key, char *buf, size_t size)
{
    json_error_t je;
    json_t *o = json_loads(params, 0, &je);
    json_t *v = o ? json_object_get(o, key) : NULL;
    if (!v) snprintf(buf, size, "-");
    else if (json_is_string(v)) snprintf(buf, size, "%s", json_string_value(v));
    else {
        char *t = value_text(v);
        snprintf(buf, size, "%s", t);
        free(t);
    }
    json_decref(o);
}

static void print_table(const sweep *sw, const point_table *t)
{
    size_t nm = 0;
    const point_metric *ms[32];
    for (const point_metric *m = point_headline; m->name && nm < 32; m++)
        for (size_t r = 0; r < t->n; r++) {
            const point_stat *s = point_row_find(&t->rows[r], m->name, m->stat);
            if (s && s->n > 0) {
                ms[nm++] = m;
                break;
            }
        }
    size_t ncols = 2 + sw->naxes + nm;
    char ***cell = fs_xcalloc(t->n + 1, sizeof *cell);
    int *width = fs_xcalloc(ncols, sizeof *width);
    for (size_t r = 0; r <= t->n; r++) {
        cell[r] = fs_xcalloc(ncols, sizeof *cell[r]);
        for (size_t c = 0; c < ncols; c++) cell[r][c] = fs_xcalloc(1, 256);
    }
    snprintf(cell[0][0], 256, "point");
    for (size_t k = 0; k < sw->naxes; k++) snprintf(cell[0][1 + k], 256, "%s", sw->axes[k].key);
    snprintf(cell[0][1 + sw->naxes], 256, "runs");
    for (size_t m = 0; m < nm; m++) snprintf(cell[0][2 + sw->naxes + m], 256, "%s", ms[m]->label);
    for (size_t r = 0; r < t->n; r++) {
        const point_row *row = &t->rows[r];
        char **c = cell[r + 1];
        snprintf(c[0], 256, "%lld", (long long)row->point);
        for (size_t k = 0; k < sw->naxes; k++) param_text(row->params, sw->axes[k].key, c[1 + k], 256);
        if (row->nfailed) snprintf(c[1 + sw->naxes], 256, "%zu (%zu failed)", row->nruns, row->nfailed);
        else snprintf(c[1 + sw->naxes], 256, "%zu", row->nruns);
        for (size_t m = 0; m < nm; m++) print_cell(c[2 + sw->naxes + m], 256, point_row_find(row, ms[m]->name, ms[m]->stat));
    }
    for (size_t r = 0; r <= t->n; r++)
        for (size_t c = 0; c < ncols; c++)
            if (text_width(cell[r][c]) > width[c]) width[c] = text_width(cell[r][c]);
    printf("sweep %s: %zu points in this table, mean ± 95%% CI half-width over the runs of each\n", sw->name, t->n);
    for (size_t r = 0; r <= t->n; r++) {
        for (size_t c = 0; c < ncols; c++) print_padded(cell[r][c], width[c], c + 1 == ncols);
        putchar('\n');
    }
    for (size_t r = 0; r <= t->n; r++) {
        for (size_t c = 0; c < ncols; c++) free(cell[r][c]);
        free(cell[r]);
    }
    free(cell);
    free(width);
}

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static void print_json(const sweep *sw, const point_table *t)
{
    json_t *root = json_object(), *pts = json_array();
    json_object_set_new(root, "sweep", json_string(sw->name));
    json_object_set_new(root, "database", json_string(sw->a.db));
    json_object_set_new(root, "seeds", json_integer((json_int_t)sw->seeds));
    for (size_t r = 0; r < t->n; r++) {
        const point_row *row = &t->rows[r];
        json_t *p = json_object(), *runs = json_array(), *mets = json_object();
        json_error_t je;
        json_t *params = json_loads(row->params, 0, &je);
        json_object_set_new(p, "point", json_integer(row->point));
        json_object_set_new(p, "params", params ? params : json_object());
        for (size_t i = 0; i < row->nruns; i++) json_array_append_new(runs, json_integer(row->run_ids[i]));
        json_object_set_new(p, "runs", runs);
        json_object_set_new(p, "failed", json_integer((json_int_t)row->nfailed));
        for (const point_metric *m = point_headline; m->name; m++) {
            const point_stat *s = point_row_find(row, m->name, m->stat);
            if (!s) continue;
            char key[128];
            if (strcmp(m->stat, "value") == 0) snprintf(key, sizeof key, "%s", m->name);
            else snprintf(key, sizeof key, "%s_%s", m->stat, m->name);
            json_object_set_new(mets, key, json_pack("{s:s, s:o, s:o, s:i}", "unit", s->unit, "mean",
                                                     num_or_null(s->mean), "half_width", num_or_null(s->half_width),
                                                     "n", s->n));
        }
        json_object_set_new(p, "metrics", mets);
        json_array_append_new(pts, p);
    }
    json_object_set_new(root, "points", pts);
    json_dumpf(root, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(root);
}

/* ---- the command ---- */

static int load_scenario(sweep *sw)
{
    json_error_t je;
    fs_error err;
    sw->root = json_load_file(sw->a.scenario, JSON_REJECT_DUPLICATES, &je);
    if (!sw->root) {
        if (je.line <= 0) fs_error_set(&err, sw->a.scenario, 0, 0, "%s", je.text);
        else fs_error_set(&err, sw->a.scenario, je.line, je.column, "%s", je.text);
        print_error(&err);
        return EXIT_INPUT;
    }
    for (int g = 0; g < sw->a.ngrids; g++) {
        axis x;
        if (parse_grid(sw->a.grids[g], &x)) return EXIT_INPUT;
        for (size_t k = 0; k < sw->naxes; k++)
            if (strcmp(sw->axes[k].key, x.key) == 0) {
                axis_fini(&x);
                return usage_error("--grid: '%s' given twice", sw->axes[k].key);
            }
        sw->axes = fs_xrealloc(sw->axes, (sw->naxes + 1) * sizeof *sw->axes);
        sw->axes[sw->naxes++] = x;
    }
    sw->seeds = sw->a.seeds ? sw->a.seeds : 1;
    json_t *sec = json_is_object(sw->root) ? json_object_get(sw->root, "sweep") : NULL;
    if (sec) {
        json_incref(sec);
        json_object_del(sw->root, "sweep");
        int rc = load_section(sw, sec, &err);
        json_decref(sec);
        if (rc) {
            print_error(&err);
            return EXIT_INPUT;
        }
    }
    size_t n = 1;
    for (size_t k = 0; k < sw->naxes; k++) {
        if (n > MAX_POINTS / sw->axes[k].n)
            return usage_error("the grid has more than %d points", MAX_POINTS);
        n *= sw->axes[k].n;
    }
    sw->npoints = n;
    sw->points = fs_xcalloc(n, sizeof *sw->points);
    return 0;
}

/* The jobs of this shard, minus (--resume) or refusing (otherwise) replications already stored. */
static int plan_jobs(sweep *sw)
{
    point_key *done = NULL;
    size_t ndone = 0;
    fs_error err;
    if (point_stored(sw->a.db, sw->name, &done, &ndone, &err)) {
        print_error(&err);
        return EXIT_INPUT;
    }
    sw->jobs = fs_xcalloc(sw->npoints * sw->seeds + 1, sizeof *sw->jobs);
    size_t clash = 0, d = 0;
    for (size_t p = 0; p < sw->npoints; p++) {
        if (!in_shard(sw, p)) continue;
        for (uint64_t k = 0; k < sw->seeds; k++) {
            job *jb = &sw->jobs[sw->njobs++];
            jb->point = p;
            jb->seed_index = k;
            while (d < ndone && (done[d].point < (int64_t)p || (done[d].point == (int64_t)p && done[d].seed_index < (int64_t)k)))
                d++;
            if (d < ndone && done[d].point == (int64_t)p && done[d].seed_index == (int64_t)k) {
                jb->state = JOB_SKIPPED;
                clash++;
            }
        }
    }
    free(done);
    if (clash && !sw->a.resume) {
        fprintf(stderr, "fleetsim: %s already holds %zu of these %zu runs of sweep '%s' (same points and seeds); "
                "--resume runs only the missing ones, --name NAME or another --db starts afresh\n", sw->a.db, clash,
                sw->njobs, sw->name);
        return EXIT_INPUT;
    }
    if (clash) fprintf(stderr, "fleetsim: --resume: %zu of %zu runs already in %s\n", clash, sw->njobs, sw->a.db);
    return 0;
}

static int make_tmpdir(sweep *sw)
{
    const char *slash = strrchr(sw->a.db, '/');
    size_t dlen = slash ? (size_t)(slash - sw->a.db) : 0;
    size_t size = dlen + 64;
    sw->tmpdir = fs_xmalloc(size);
    if (slash) snprintf(sw->tmpdir, size, "%.*s/.fleetsim-sweep-XXXXXX", (int)(dlen ? dlen : 1), sw->a.db);
    else snprintf(sw->tmpdir, size, ".fleetsim-sweep-XXXXXX");
    if (!mkdtemp(sw->tmpdir)) {
        fprintf(stderr, "fleetsim: cannot make a temporary folder '%s' beside the results database: %s\n", sw->tmpdir,
                strerror(errno));
        free(sw->tmpdir);
        sw->tmpdir = NULL;
        return EXIT_INPUT;
    }
    return 0;
}

static void remove_tmpdir(sweep *sw)
{
    if (!sw->tmpdir) return;
    char path[4200];
    for (size_t j = 0; j < sw->njobs; j++) {
        static const char *const ext[] = {"db", "err", "db-journal"};
        for (size_t e = 0; e < 3; e++) {
            job_path(sw, j, ext[e], path, sizeof path);
            unlink(path);
        }
    }
    if (rmdir(sw->tmpdir) != 0)
        fprintf(stderr, "fleetsim: could not remove the temporary folder '%s': %s\n", sw->tmpdir, strerror(errno));
}

/* Merge the children's files, in (point, seed_index) order. */
static int merge_runs(sweep *sw, store_merge_result *res)
{
    store_merge_input *in = fs_xcalloc(sw->njobs + 1, sizeof *in);
    store_point *pts = fs_xcalloc(sw->njobs + 1, sizeof *pts);
    char **paths = fs_xcalloc(sw->njobs + 1, sizeof *paths);
    size_t n = 0;
    for (size_t j = 0; j < sw->njobs; j++) {
        job *jb = &sw->jobs[j];
        if (jb->state == JOB_WAITING || jb->state == JOB_SKIPPED) continue;
        char path[4200];
        job_path(sw, j, "db", path, sizeof path);
        struct stat sb;
        if (stat(path, &sb) != 0) continue; /* died before it opened its database */
        paths[n] = fs_xstrdup(path);
        pts[n] = (store_point){sw->name, (int64_t)jb->point, (int64_t)jb->seed_index, sw->points[jb->point].params};
        in[n] = (store_merge_input){paths[n], &pts[n]};
        n++;
    }
    fs_error err;
    int rc = store_merge(sw->a.db, in, n, res, &err);
    if (rc != STORE_MERGE_OK) print_error(&err);
    for (size_t i = 0; i < n; i++) free(paths[i]);
    free(paths);
    free(pts);
    free(in);
    return rc;
}

static void sweep_fini(sweep *sw)
{
    for (size_t p = 0; p < sw->npoints; p++) point_fini(&sw->points[p], point_nsets(sw));
    free(sw->points);
    for (size_t k = 0; k < sw->naxes; k++) axis_fini(&sw->axes[k]);
    free(sw->axes);
    for (size_t j = 0; j < sw->njobs; j++) free(sw->jobs[j].message);
    free(sw->jobs);
    free(sw->tmpdir);
    json_decref(sw->root);
    free(sw->a.sets);
    free(sw->a.catalogs);
    free(sw->a.grids);
}

static void list_points(const sweep *sw)
{
    printf("sweep %s: %zu points x %llu seeds\n", sw->name, sw->npoints, (unsigned long long)sw->seeds);
    for (size_t p = 0; p < sw->npoints; p++)
        if (in_shard(sw, p)) printf("%zu\t%s\n", p, sw->points[p].params);
}

static int finish(sweep *sw, const progress *pg)
{
    size_t ok = 0, failed = 0;
    for (size_t j = 0; j < sw->njobs; j++) {
        ok += sw->jobs[j].state == JOB_OK;
        failed += sw->jobs[j].state == JOB_FAILED;
    }
    store_merge_result res = {0};
    int mrc = merge_runs(sw, &res);
    if (mrc != STORE_MERGE_OK) {
        fprintf(stderr, "fleetsim: the runs are kept in %s/ (one database per run)\n", sw->tmpdir);
        free(sw->tmpdir);
        sw->tmpdir = NULL;
        return EXIT_RUN_FAILED;
    }
    remove_tmpdir(sw);
    if (res.runs)
        fprintf(stderr, "fleetsim: sweep %s: %zu runs stored in %s (runs %lld..%lld), %.1f s\n", sw->name, res.runs,
                sw->a.db, (long long)res.first_id, (long long)res.last_id, now_s() - pg->t0);
    if (stop_signals) {
        fprintf(stderr, "fleetsim: interrupted: %zu of %zu runs done; fleetsim sweep ... --resume runs the rest\n", ok,
                sw->njobs);
        return EXIT_INTERRUPTED;
    }
    point_table t;
    fs_error err;
    if (point_summary(sw->a.db, sw->name, 0, &t, &err)) {
        print_error(&err);
        return EXIT_RUN_FAILED;
    }
    if (sw->a.json) print_json(sw, &t);
    else print_table(sw, &t);
    fflush(stdout);
    point_table_fini(&t);
    if (failed) {
        fprintf(stderr, "fleetsim: %zu of %zu runs failed:\n", failed, sw->njobs);
        for (size_t j = 0; j < sw->njobs; j++) {
            const job *jb = &sw->jobs[j];
            if (jb->state != JOB_FAILED) continue;
            char label[600];
            point_label(sw->points[jb->point].params, label, sizeof label);
            fprintf(stderr, "  point %zu seed_index %llu %s: %s\n", jb->point, (unsigned long long)jb->seed_index, label,
                    jb->message ? jb->message : "failed");
        }
        return EXIT_RUN_FAILED;
    }
    return 0;
}

int cmd_sweep(int argc, char **argv)
{
    sweep sw = {0};
    int rc = parse_args(argc, argv, &sw.a);
    if (rc == 0) rc = load_scenario(&sw);
    if (rc == 0) rc = validate_points(&sw);
    if (rc == 0 && sw.a.list) {
        list_points(&sw);
        sweep_fini(&sw);
        return 0;
    }
    if (rc == 0) rc = plan_jobs(&sw);
    if (rc) {
        sweep_fini(&sw);
        return rc < 0 ? 0 : rc;
    }
    if (!sw.a.jobs) sw.a.jobs = default_jobs();
    size_t todo = 0;
    for (size_t j = 0; j < sw.njobs; j++) todo += sw.jobs[j].state == JOB_WAITING;
    if (sw.a.shard_n && sw.njobs == 0)
        fprintf(stderr, "fleetsim: shard %llu/%llu has no points (the grid has %zu)\n", (unsigned long long)sw.a.shard_i,
                (unsigned long long)sw.a.shard_n, sw.npoints);
    progress pg = {.tty = isatty(STDERR_FILENO) == 1, .quiet = sw.a.quiet, .total = todo, .t0 = now_s()};
    if (!sw.a.quiet)
        fprintf(stderr, "fleetsim: sweep %s: %zu points x %llu seeds%s, %zu runs, %llu at a time\n", sw.name,
                sw.npoints, (unsigned long long)sw.seeds, sw.a.shard_n ? " (this shard's points)" : "", todo,
                (unsigned long long)sw.a.jobs);
    if (todo && (rc = make_tmpdir(&sw)) != 0) {
        sweep_fini(&sw);
        return rc;
    }
    if (todo) run_jobs(&sw, &pg);
    rc = finish(&sw, &pg);
    sweep_fini(&sw);
    return rc;
}
