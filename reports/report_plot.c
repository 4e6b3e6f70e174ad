/* The report's plots: data from the request rows and the time series, one gnuplot script per
 * plot, one section per plot, or a note saying why a plot is not drawn. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gnuplot.h"
#include "report.h"
#include "report_internal.h"
#include "stats.h"

/* Sizes a laptop shows whole: 900 px wide, 14 px text. */
#define PLOT_W 900
#define PLOT_H 440
#define PLOT_H_PANELS 640
#define KEY_ROW_H 22
#define MAX_SERIES (REPORT_MAX_RUNS * 6)
#define MAX_MARKERS (REPORT_MAX_RUNS * 2) /* an SLO and a warm-up end per run */
#define MAX_POINTS 2000 /* a series longer than this is averaged down (time series) or sampled (CDFs) */

static const char *const palette[] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#8c564b"};
#define NCOLORS (sizeof palette / sizeof *palette)

typedef struct series {
    double *x, *y; /* a NaN y breaks the line */
    size_t n, cap;
    char what[96]; /* the quantity ("p99", "ready replicas"); "" when the plot shows one */
    size_t run;  /* index in r->runs: the colour with several runs */
    int kind;    /* which quantity: the colour with one run, the dash with several */
    bool lower, dashed; /* lower: drawn in the second panel (see emit) */
} series;

/* A reference line: an SLO target or the end of the warm-up. */
typedef struct marker {
    double at;
    bool vertical;
    char label[96];
} marker;

typedef struct plot {
    const char *anchor, *heading;
    char caption[1536]; /* HTML */
    char xlabel[128], ylabel[128], lower_label[128]; /* lower_label: the second panel's y axis */
    const char *key;    /* gnuplot's key placement */
    bool logx;
    bool markers_in_key; /* reference lines named in the key, not labelled on the plot */
    double log_from;    /* with logx: where the x axis starts (0: gnuplot's choice) */
    series s[MAX_SERIES];
    size_t ns;
    marker m[MAX_MARKERS];
    size_t nm;
} plot;

/* The time axis of every plot: one unit for the whole report. */
typedef struct time_axis {
    double div;
    const char *unit;
    double end; /* s: the end of the longest run */
} time_axis;

static plot *plot_new(const char *anchor, const char *heading)
{
    plot *p = fs_xcalloc(1, sizeof *p);
    p->anchor = anchor;
    p->heading = heading;
    p->key = "top left";
    return p;
}

static void plot_free(plot *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->ns; i++) {
        free(p->s[i].x);
        free(p->s[i].y);
    }
    free(p);
}

static series *add_series(plot *p, size_t run, int kind, const char *what, bool lower)
{
    FS_ASSERT(p->ns < MAX_SERIES);
    series *s = &p->s[p->ns++];
    s->run = run;
    s->kind = kind;
    s->lower = lower;
    snprintf(s->what, sizeof s->what, "%s", what);
    return s;
}

static void push(series *s, double x, double y)
{
    if (s->n == s->cap) {
        size_t cap = s->cap;
        s->x = fs_xgrow(s->x, &cap, s->n + 1, sizeof *s->x);
        s->y = fs_xrealloc(s->y, cap * sizeof *s->y);
        s->cap = cap;
    }
    s->x[s->n] = x;
    s->y[s->n++] = y;
}

/* A reference line of run `run`; with several runs its label says which runs it belongs to. */
static void add_marker(const report *r, plot *p, size_t run, double at, bool vertical, const char *what)
{
    if (!isfinite(at)) return;
    long long id = (long long)r->runs[run].id;
    for (size_t i = 0; i < p->nm; i++) {
        marker *m = &p->m[i];
        if (m->at != at || m->vertical != vertical) continue;
        size_t n = strlen(m->label);
        if (r->nruns > 1) snprintf(m->label + n, sizeof m->label - n, ", %lld", id);
        return;
    }
    if (p->nm == MAX_MARKERS) return;
    marker *m = &p->m[p->nm++];
    m->at = at;
    m->vertical = vertical;
    if (r->nruns > 1) snprintf(m->label, sizeof m->label, "%s: run %lld", what, id);
    else snprintf(m->label, sizeof m->label, "%s", what);
}

static size_t points(const plot *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->ns; i++) n += p->s[i].n;
    return n;
}

/* ---- sections ---- */

static void skip(report *r, const char *anchor, const char *heading, const char *why)
{
    fprintf(r->out, "<section class=\"plot-skipped\" id=\"%s\"><h3>", anchor);
    report_html(r->out, heading);
    fputs("</h3>\n<p class=\"note\">Not drawn: ", r->out);
    report_html(r->out, why);
    fputs("</p></section>\n", r->out);
}

/* A string for gnuplot: single-quoted ('' for '), control characters as spaces. */
static void gp_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputs("''", f);
        else if ((unsigned char)*s < 0x20) fputc(' ', f);
        else fputc(*s, f);
    }
    fputc('\'', f);
}

/* 1, 2 or 5 times a power of ten, at least x. */
static double nice(double x)
{
    if (!(x > 0)) return 1;
    double e = pow(10, floor(log10(x)));
    return x <= e ? e : x <= 2 * e ? 2 * e : x <= 5 * e ? 5 * e : 10 * e;
}

/* Terminal and style, the same for every plot. */
static void script_terminal(FILE *f, int height)
{
    fprintf(f, "set terminal svg size %d,%d noenhanced font 'sans-serif,14' background '#ffffff'\n"
               "set encoding utf8\nset border 3 lc rgb '#555555'\nset tics nomirror out\n"
               "set grid xtics ytics lc rgb '#e2e2e2' lw 1 dt 1\n",
            PLOT_W, height);
    for (size_t i = 0; i < NCOLORS; i++) fprintf(f, "set linetype %zu lc rgb '%s' lw 2\n", i + 1, palette[i]);
}

/* Whether a reference line is drawn: not when it lies so far beyond the data (more than 5 times
 * its range, 100 times on a log axis) that the data would shrink to a corner; the chart of runs
 * shows every one. */
static bool shown(const plot *p, const marker *m, double xmax, double ymax)
{
    if (p->markers_in_key) return true;
    if (m->vertical) return xmax <= 0 || m->at <= (p->logx ? 100 : 5) * xmax;
    return ymax <= 0 || m->at <= 5 * ymax;
}

/* The reference lines. Vertical ones are labelled (when `labels`) on the side with more room,
 * one below the other; horizontal ones only when `horizontal`. */
static void script_markers(FILE *f, const plot *p, double xmax, double ymax, bool labels, bool horizontal)
{
    fputs("unset arrow\nunset label\n", f);
    int nlabel = 0;
    double xright = xmax;
    for (size_t i = 0; i < p->nm; i++)
        if (p->m[i].vertical && shown(p, &p->m[i], xmax, ymax) && p->m[i].at > xright) xright = p->m[i].at;
    for (size_t i = 0; i < p->nm; i++) {
        const marker *m = &p->m[i];
        if (!shown(p, m, xmax, ymax)) continue;
        if (m->vertical) {
            fprintf(f, "set arrow from %.9g, graph 0 to %.9g, graph 1 nohead lc rgb '#333333' dt %zu lw 1.5 front\n",
                    m->at, m->at, p->markers_in_key ? i % 4 + 2 : 4);
            if (!labels || p->markers_in_key) continue;
            double from = p->log_from > 0 ? p->log_from : 1;
            bool left = p->logx ? m->at * m->at > from * xright : m->at > 0.5 * xright; /* log: the geometric middle */
            fprintf(f, "set label %zu ", i + 1);
            gp_quote(f, m->label);
            fprintf(f, " at %.9g, graph %.2f %s offset %s,0 tc rgb '#333333' front\n", m->at, 0.95 - 0.07 * (nlabel++ % 12),
                    left ? "right" : "left", left ? "-0.5" : "0.5");
        } else if (horizontal) {
            fprintf(f, "set arrow from graph 0, first %.9g to graph 1, first %.9g nohead lc rgb '#333333' dt 4 lw 1.5 "
                       "front\n", m->at, m->at);
            fprintf(f, "set label %zu ", i + 1);
            gp_quote(f, m->label);
            fprintf(f, " at graph 0.99, first %.9g right offset 0,0.7 tc rgb '#333333' front\n", m->at);
        }
    }
}

/* Axes of a one-panel plot, widened so that every marker shows. */
static void script_axes(FILE *f, const plot *p, double xmax, double ymax)
{
    fputs("set key ", f);
    fputs(p->key, f);
    fputs("\nset xlabel ", f);
    gp_quote(f, p->xlabel);
    fputs("\nset ylabel ", f);
    gp_quote(f, p->ylabel);
    fputc('\n', f);
    if (p->logx) fputs("set logscale x\n", f);
    double mx = xmax, my = ymax;
    for (size_t i = 0; i < p->nm; i++) {
        if (!shown(p, &p->m[i], xmax, ymax)) continue;
        if (p->m[i].vertical && p->m[i].at > mx) mx = p->m[i].at;
        if (!p->m[i].vertical && p->m[i].at > my) my = p->m[i].at;
    }
    script_markers(f, p, xmax, ymax, true, true);
    char from[32] = "0";
    if (p->logx && p->log_from > 0) snprintf(from, sizeof from, "%.9g", p->log_from);
    else if (p->logx) snprintf(from, sizeof from, "*");
    if (mx > xmax) fprintf(f, "set xrange [%s:%.9g]\n", from, mx * 1.06);
    else fprintf(f, "set xrange [%s:*]\n", from);
    if (my > ymax) fprintf(f, "set yrange [0:%.9g]\n", my * 1.1);
    else fputs("set yrange [0:*]\n", f);
}

/* ---- legends ---- */

/* Panel 0: the upper (or only) one, 1: the lower one, -1: every series. */
static bool in_panel(const series *s, int panel)
{
    return s->n && (panel < 0 || s->lower == (panel == 1));
}

/* One run: a colour per quantity. Several: a colour per run, a dash per quantity. */
static size_t color_of(const report *r, const series *s)
{
    return (r->nruns == 1 ? (size_t)s->kind : s->run) % NCOLORS + 1;
}

static int dash_of(const report *r, const series *s)
{
    return r->nruns == 1 ? (s->dashed ? 2 : 1) : s->kind + 1;
}

/* With several runs and several quantities on a panel the legend is factored: one entry per run
 * (its colour) and one per quantity (its dash, in grey), not one per pair. */
static bool factored(const report *r, const plot *p, int panel)
{
    int kind = -1;
    for (size_t i = 0; i < p->ns; i++) {
        if (!in_panel(&p->s[i], panel)) continue;
        if (kind >= 0 && p->s[i].kind != kind) return r->nruns > 1;
        kind = p->s[i].kind;
    }
    return false;
}

/* A series' own legend entry when the legend is not factored. */
static const char *title_of(const report *r, const series *s)
{
    return r->nruns == 1 && s->what[0] ? s->what : r->runs[s->run].label;
}

/* Calls `entry` for each legend entry of a panel, in order: title, colour (0: grey), dash. */
typedef void (*entry_fn)(void *ctx, const char *title, size_t color, int dash);

static void legend(const report *r, const plot *p, int panel, entry_fn entry, void *ctx)
{
    if (!factored(r, p, panel)) {
        for (size_t i = 0; i < p->ns; i++)
            if (in_panel(&p->s[i], panel)) entry(ctx, title_of(r, &p->s[i]), color_of(r, &p->s[i]), dash_of(r, &p->s[i]));
        return;
    }
    bool run_seen[REPORT_MAX_RUNS] = {false}, kind_seen[MAX_SERIES] = {false};
    for (size_t i = 0; i < p->ns; i++) {
        const series *s = &p->s[i];
        if (!in_panel(s, panel) || run_seen[s->run]) continue;
        run_seen[s->run] = true;
        entry(ctx, r->runs[s->run].label, color_of(r, s), 1);
    }
    for (size_t i = 0; i < p->ns; i++) {
        const series *s = &p->s[i];
        if (!in_panel(s, panel) || kind_seen[s->kind]) continue;
        kind_seen[s->kind] = true;
        entry(ctx, s->what, 0, dash_of(r, s));
    }
}

typedef struct key_size {
    size_t entries, longest;
} key_size;

static void count_entry(void *ctx, const char *title, size_t color, int dash)
{
    key_size *k = ctx;
    (void)color;
    (void)dash;
    k->entries++;
    if (strlen(title) > k->longest) k->longest = strlen(title);
}

static void keyentry(void *ctx, const char *title, size_t color, int dash)
{
    FILE *f = ctx;
    if (color) fprintf(f, ", \\\n  keyentry with lines lt %zu dt %d title ", color, dash);
    else fprintf(f, ", \\\n  keyentry with lines lc rgb '#555555' lw 2 dt %d title ", dash);
    gp_quote(f, title);
}

/* The plot command over the series of one panel. */
static void script_plot(FILE *f, const report *r, const plot *p, int panel)
{
    const char *sep = "plot ";
    bool own_titles = !factored(r, p, panel);
    for (size_t i = 0; i < p->ns; i++) {
        const series *s = &p->s[i];
        if (!in_panel(s, panel)) continue;
        int dash = own_titles && r->nruns > 1 ? 1 : dash_of(r, s); /* one quantity: every run solid */
        fprintf(f, "%s$d%zu using 1:2 with lines lt %zu dt %d ", sep, i, color_of(r, s), dash);
        if (own_titles) {
            fputs("title ", f);
            gp_quote(f, title_of(r, s));
        } else {
            fputs("notitle", f);
        }
        sep = ", \\\n  ";
    }
    if (!own_titles) legend(r, p, panel, keyentry, f);
    fputc('\n', f);
}

/* Run the script, write the section. */
static int draw(report *r, const plot *p, char *script, size_t len, fs_error *err)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "p%d-", ++r->nplots);
    size_t n = 0;
    char *svg = gnuplot_svg(script, len, prefix, &n, err);
    if (!svg) {
        char what[sizeof err->msg];
        snprintf(what, sizeof what, "%s", err->msg);
        return fs_error_set(err, "", 0, 0, "plot '%s': %s", p->heading, what);
    }
    fprintf(r->out, "<section class=\"plot\" id=\"%s\"><h3>", p->anchor);
    report_html(r->out, p->heading);
    fprintf(r->out, "</h3>\n<p class=\"note\">%s</p>\n", p->caption);
    fwrite(svg, 1, n, r->out);
    fputs("</section>\n", r->out);
    free(svg);
    return 0;
}

/* Key rows beyond the first (one per panel) that the legends below the plots take: the canvas
 * grows by that much so that the plots keep their height. */
static int key_rows(key_size k)
{
    size_t columns = (PLOT_W - 100) / (k.longest * 9 + 90); /* about 9 px a character, and the sample line */
    if (columns < 1) columns = 1;
    return k.entries ? (int)((k.entries + columns - 1) / columns) - 1 : 0;
}

static int extra_key_rows(const report *r, const plot *p, bool panels)
{
    if (!panels && strcmp(p->key, "below") != 0) return 0;
    int rows = 0;
    for (int panel = panels ? 0 : -1; panel < (panels ? 2 : 0); panel++) {
        key_size k = {0, 0};
        legend(r, p, panel, count_entry, &k);
        rows += key_rows(k);
    }
    return rows;
}

/* A plot of lines; `why` is the note shown instead when it has no points. Series marked `lower`
 * go to a second panel below the first, sharing its time axis (two quantities of different
 * units, never two y axes on one panel). */
static int emit(report *r, plot *p, const char *why, fs_error *err)
{
    size_t count[2] = {0, 0};
    double xmax = 0, ymax[2] = {0, 0};
    for (size_t i = 0; i < p->ns; i++) {
        const series *s = &p->s[i];
        count[s->lower] += s->n;
        for (size_t j = 0; j < s->n; j++) {
            if (s->x[j] > xmax) xmax = s->x[j];
            if (s->y[j] > ymax[s->lower]) ymax[s->lower] = s->y[j];
        }
    }
    if (count[0] + count[1] == 0) {
        skip(r, p->anchor, p->heading, why);
        return 0;
    }
    bool panels = count[0] && count[1];
    if (!count[0]) { /* only the lower quantity was stored: draw it alone */
        for (size_t i = 0; i < p->ns; i++) p->s[i].lower = false;
        snprintf(p->ylabel, sizeof p->ylabel, "%s", p->lower_label);
        ymax[0] = ymax[1];
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return fs_error_set(err, "", 0, 0, "plot '%s': cannot build the gnuplot script", p->heading);
    script_terminal(f, (panels ? PLOT_H_PANELS : PLOT_H) + KEY_ROW_H * extra_key_rows(r, p, panels));
    for (size_t i = 0; i < p->ns; i++) {
        const series *s = &p->s[i];
        if (!s->n) continue;
        fprintf(f, "$d%zu << EOD\n", i);
        for (size_t j = 0; j < s->n; j++) {
            if (isnan(s->y[j])) fputc('\n', f);
            else fprintf(f, "%.9g %.9g\n", s->x[j], s->y[j]);
        }
        fputs("EOD\n", f);
    }
    if (!panels) {
        script_axes(f, p, xmax, ymax[0]);
        script_plot(f, r, p, -1);
    } else {
        double data_xmax = xmax;
        for (size_t i = 0; i < p->nm; i++)
            if (p->m[i].vertical && shown(p, &p->m[i], data_xmax, 0) && p->m[i].at > xmax) xmax = p->m[i].at;
        double step = nice(xmax / 8);
        fprintf(f, "set multiplot layout 2,1\nset lmargin 12\nset rmargin 4\nset xrange [0:%.9g]\nset key below\n",
                ceil(xmax / step) * step);
        for (int panel = 0; panel < 2; panel++) {
            if (panel == 0) fputs("set format x ''\nunset xlabel\n", f);
            else {
                fputs("set format x '% h'\nset xlabel ", f);
                gp_quote(f, p->xlabel);
                fputc('\n', f);
            }
            fputs("set ylabel ", f);
            gp_quote(f, panel ? p->lower_label : p->ylabel);
            /* a little room above, so that a line at the maximum is not drawn on the border */
            fprintf(f, "\nset yrange [0:%.9g]\n", ymax[panel] > 0 ? ymax[panel] * 1.08 : 1);
            script_markers(f, p, data_xmax, 0, panel == 0, false);
            script_plot(f, r, p, panel);
        }
        fputs("unset multiplot\n", f);
    }
    fclose(f);
    int rc = draw(r, p, text, len, err);
    free(text);
    return rc;
}

/* ---- request rows: latency distributions and percentiles over time ---- */

typedef struct reqs {
    double *t, *ttft, *e2e, *tpot; /* arrival in s; latencies in ms (tpot NaN where undefined) */
    unsigned char *measured;
    size_t n, cap;
} reqs;

static void reqs_free(reqs *q)
{
    free(q->t);
    free(q->ttft);
    free(q->e2e);
    free(q->tpot);
    free(q->measured);
    memset(q, 0, sizeof *q);
}

/* The finished, not rejected requests of a run. A run's rows are written in one transaction, so
 * they lie in one rowid range: scanning that range reads the table in order, where the
 * (run_id, id) index would cost a table lookup per row. */
static int load_reqs(report *r, const report_run *run, reqs *q, fs_error *err)
{
    json_t *deps = json_object_get(run->sc, "deployments"), *d;
    size_t ndeps = json_array_size(deps), i;
    bool *llm = fs_xcalloc(ndeps + 1, sizeof *llm); /* by deployment index: TPOT is defined */
    json_array_foreach(deps, i, d) {
        const char *kind = json_string_value(json_object_get(d, "kind"));
        llm[i] = kind && strcmp(kind, "llm") == 0;
    }
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(r->db, "SELECT arrival_s, first_token_s, done_s, output_tokens, deployment, measured "
                           "FROM requests NOT INDEXED WHERE rowid BETWEEN (SELECT min(rowid) FROM requests WHERE run_id "
                           "= ?1) AND (SELECT max(rowid) FROM requests WHERE run_id = ?1) AND run_id = ?1 AND finished "
                           "= 1 AND rejected = 0 AND first_token_s IS NOT NULL AND done_s IS NOT NULL", -1, &s, NULL)
        != SQLITE_OK) {
        free(llm);
        return fs_error_set(err, r->db_path, 0, 0, "cannot read the requests: %s", sqlite3_errmsg(r->db));
    }
    sqlite3_bind_int64(s, 1, run->id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (q->n == q->cap) {
            size_t cap = q->cap;
            q->t = fs_xgrow(q->t, &cap, q->n + 1, sizeof *q->t);
            q->ttft = fs_xrealloc(q->ttft, cap * sizeof *q->ttft);
            q->e2e = fs_xrealloc(q->e2e, cap * sizeof *q->e2e);
            q->tpot = fs_xrealloc(q->tpot, cap * sizeof *q->tpot);
            q->measured = fs_xrealloc(q->measured, cap);
            q->cap = cap;
        }
        double arrival = sqlite3_column_double(s, 0), first = sqlite3_column_double(s, 1),
               done = sqlite3_column_double(s, 2);
        int out = sqlite3_column_int(s, 3), dep = sqlite3_column_int(s, 4);
        q->t[q->n] = arrival;
        q->ttft[q->n] = (first - arrival) * 1e3;
        q->e2e[q->n] = (done - arrival) * 1e3;
        q->tpot[q->n] = dep >= 0 && (size_t)dep < ndeps && llm[dep] && out > 1 ? (done - first) * 1e3 / (out - 1) : NAN;
        q->measured[q->n] = (unsigned char)(sqlite3_column_int(s, 5) != 0);
        q->n++;
    }
    sqlite3_finalize(s);
    free(llm);
    if (rc != SQLITE_DONE) return fs_error_set(err, r->db_path, 0, 0, "cannot read the requests: %s", sqlite3_errmsg(r->db));
    return 0;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* The empirical CDF of sorted values: every point when few, else ranks spread evenly plus ranks
 * closing in on the maximum (so the tail keeps its shape). */
static void cdf_series(series *s, const double *v, size_t n)
{
    if (n <= MAX_POINTS) {
        for (size_t i = 0; i < n; i++) push(s, v[i], (double)(i + 1) / (double)n);
        return;
    }
    size_t cap = MAX_POINTS + 200, k = 0;
    size_t *rank = fs_xmalloc(cap * sizeof *rank);
    for (size_t j = 0; j < MAX_POINTS - 100; j++) rank[k++] = (size_t)((double)j * (double)(n - 1) / (MAX_POINTS - 101));
    for (double e = 2; e <= log10((double)n) && k < cap; e += 0.05) rank[k++] = n - 1 - (size_t)((double)n * pow(10, -e));
    qsort(rank, k, sizeof *rank, cmp_size);
    for (size_t j = 0; j < k; j++)
        if (j == 0 || rank[j] != rank[j - 1]) push(s, v[rank[j]], (double)(rank[j] + 1) / (double)n);
    free(rank);
}

/* Measured values of one latency, sorted; NaN left out. Returns the count. */
static size_t measured_sorted(const reqs *q, const double *lat, double *out)
{
    size_t n = 0;
    for (size_t i = 0; i < q->n; i++)
        if (q->measured[i] && !isnan(lat[i])) out[n++] = lat[i];
    fs_sort_doubles(out, n);
    return n;
}

/* p50 and p99 of a latency per arrival-time bucket, every finished request (warm-up too): the
 * values scattered into their buckets (a counting sort), then each bucket sorted. */
static void over_time(plot *p, size_t run, const reqs *q, const double *lat, double width, time_axis ta)
{
    size_t nb = 1, n = 0;
    for (size_t i = 0; i < q->n; i++)
        if (!isnan(lat[i]) && (size_t)(q->t[i] / width) + 1 > nb) nb = (size_t)(q->t[i] / width) + 1;
    size_t *start = fs_xcalloc(nb + 1, sizeof *start), *next = fs_xmalloc(nb * sizeof *next);
    for (size_t i = 0; i < q->n; i++) {
        if (isnan(lat[i])) continue;
        start[(size_t)(q->t[i] / width) + 1]++;
        n++;
    }
    for (size_t b = 0; b < nb; b++) {
        start[b + 1] += start[b];
        next[b] = start[b];
    }
    double *v = fs_xmalloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < q->n; i++)
        if (!isnan(lat[i])) v[next[(size_t)(q->t[i] / width)]++] = lat[i];
    series *p50 = add_series(p, run, 0, "p50", false), *p99 = add_series(p, run, 1, "p99", false);
    p99->dashed = true;
    for (size_t b = 0; b < nb; b++) {
        size_t k = start[b + 1] - start[b];
        if (k == 0) { /* an empty bucket breaks the lines */
            if (p50->n && !isnan(p50->y[p50->n - 1])) {
                push(p50, NAN, NAN);
                push(p99, NAN, NAN);
            }
            continue;
        }
        fs_sort_doubles(v + start[b], k);
        double x = ((double)b + 0.5) * width / ta.div;
        push(p50, x, fs_quantile_sorted(v + start[b], k, 0.5));
        push(p99, x, fs_quantile_sorted(v + start[b], k, 0.99));
    }
    free(v);
    free(next);
    free(start);
}

static double slo_of(const report_run *run, const char *key)
{
    json_t *v = json_object_get(json_object_get(run->sc, "slo"), key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static double warmup_of(const report_run *run)
{
    json_t *v = json_object_get(run->sc, "warmup");
    return json_is_number(v) ? json_number_value(v) : 0;
}

enum { L_TTFT, L_TPOT, L_E2E, L_COUNT };
static const char *const lat_name[L_COUNT] = {"TTFT", "TPOT", "E2E"};
static const char *const lat_slo[L_COUNT] = {"ttft_ms", "tpot_ms", "e2e_ms"};
static const char *const lat_meaning[L_COUNT] = {
    "time to first token: arrival to the first output token",
    ("time per output token: (E2E − TTFT) / (output tokens − 1), for requests of LLM deployments with more than "
     "one output token"),
    "end-to-end latency: arrival to the last token"};

/* Whether CDFs read better on a log axis: positive values with a tail far beyond the median, or
 * runs whose medians lie far apart. */
static bool wants_log(const plot *p)
{
    double lo = INFINITY, hi = 0;
    bool tail = false;
    for (size_t i = 0; i < p->ns; i++) {
        const series *s = &p->s[i];
        if (!s->n) continue;
        if (!(s->x[0] > 0)) return false;
        double median = s->x[s->n / 2];
        tail |= s->x[s->n - 1] > 30 * median;
        if (median < lo) lo = median;
        if (median > hi) hi = median;
    }
    return tail || hi > 10 * lo;
}

static int request_plots(report *r, time_axis ta, fs_error *err)
{
    plot *cdf[L_COUNT], *time[2];
    static const char *const cdf_anchor[L_COUNT] = {"cdf-ttft", "cdf-tpot", "cdf-e2e"};
    static const char *const cdf_heading[L_COUNT] = {"TTFT distribution", "TPOT distribution", "E2E latency distribution"};
    for (int l = 0; l < L_COUNT; l++) {
        cdf[l] = plot_new(cdf_anchor[l], cdf_heading[l]);
        cdf[l]->key = r->nruns > 4 ? "below" : "bottom right opaque";
    }
    time[0] = plot_new("time-ttft", "TTFT over time (p50 and p99)");
    time[1] = plot_new("time-e2e", "E2E latency over time (p50 and p99)");
    time[0]->key = time[1]->key = "below";
    double width = nice(ta.end / 60); /* about 60 buckets over the longest run */

    char missing[512] = "";
    size_t with_rows = 0, llm_with_rows = 0;
    int rc = 0;
    for (size_t k = 0; k < r->nruns && !rc; k++) {
        const report_run *run = &r->runs[k];
        if (!run->has_requests) {
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%lld", missing[0] ? ", " : "",
                     (long long)run->id);
            continue;
        }
        with_rows++;
        llm_with_rows += run->llm;
        reqs q = {0};
        rc = load_reqs(r, run, &q, err);
        double *sorted = fs_xmalloc((q.n ? q.n : 1) * sizeof *sorted);
        const double *lat[L_COUNT] = {q.ttft, q.tpot, q.e2e};
        for (int l = 0; l < L_COUNT && !rc; l++) {
            if (l == L_TPOT && !run->llm) continue;
            size_t n = measured_sorted(&q, lat[l], sorted);
            if (n) cdf_series(add_series(cdf[l], k, 0, "", false), sorted, n);
            char label[96];
            snprintf(label, sizeof label, "SLO %g ms", slo_of(run, lat_slo[l]));
            add_marker(r, cdf[l], k, slo_of(run, lat_slo[l]), true, label);
        }
        for (int t = 0; t < 2 && !rc; t++) {
            int l = t ? L_E2E : L_TTFT;
            over_time(time[t], k, &q, lat[l], width, ta);
            char label[96];
            snprintf(label, sizeof label, "SLO %g ms", slo_of(run, lat_slo[l]));
            add_marker(r, time[t], k, slo_of(run, lat_slo[l]), false, label);
            if (warmup_of(run) > 0) add_marker(r, time[t], k, warmup_of(run) / ta.div, true, "warm-up ends");
        }
        free(sorted);
        reqs_free(&q);
    }
    const char *no_rows = r->nruns == 1 ? "the run was stored without request rows; run it with --requests or "
                                          "--report (or set output.requests) to keep one row per request"
                                        : "none of these runs stored request rows; run them with --requests or --report";
    char note[640] = "";
    if (missing[0] && with_rows)
        snprintf(note, sizeof note, " Runs without request rows (not shown): %s.", missing);
    for (int l = 0; l < L_COUNT && !rc; l++) {
        plot *p = cdf[l];
        p->logx = wants_log(p);
        /* a log axis from the power of ten below the fastest run's 0.1% point, not from its few outliers */
        for (size_t i = 0; p->logx && i < p->ns; i++) {
            const series *c = &p->s[i];
            if (!c->n) continue;
            size_t j = 0;
            while (j + 1 < c->n && c->y[j] < 0.001) j++;
            double from = pow(10, floor(log10(c->x[j])));
            if (p->log_from == 0 || from < p->log_from) p->log_from = from;
        }
        snprintf(p->xlabel, sizeof p->xlabel, "%s (ms)%s", lat_name[l], p->logx ? ", log scale" : "");
        snprintf(p->ylabel, sizeof p->ylabel, "fraction of requests ≤ x");
        snprintf(p->caption, sizeof p->caption, "%s: %s. The share of measured, completed requests at or below each "
                 "latency; the grey dash-dotted line is the SLO target (left out when far beyond the latencies).%s", lat_name[l], lat_meaning[l], note);
        const char *why = !with_rows ? no_rows
                          : l == L_TPOT && !llm_with_rows
                              ? "no LLM deployment: a fixed-service request returns its whole answer at once, so there "
                                "is no time per output token"
                              : "no measured request completed";
        rc = emit(r, p, why, err);
    }
    for (int t = 0; t < 2 && !rc; t++) {
        plot *p = time[t];
        snprintf(p->xlabel, sizeof p->xlabel, "arrival time (%s)", ta.unit);
        snprintf(p->ylabel, sizeof p->ylabel, "%s (ms)", lat_name[t ? L_E2E : L_TTFT]);
        char w[32];
        report_number(w, sizeof w, width);
        snprintf(p->caption, sizeof p->caption, "Median (solid) and 99th percentile (dashed) %s of the requests "
                 "arriving in each %s s interval, warm-up included; the grey dash-dotted lines mark the SLO target (left "
                 "out when far above the latencies) and the end of the warm-up.%s", lat_name[t ? L_E2E : L_TTFT], w, note);
        rc = emit(r, p, with_rows ? "no request completed" : no_rows, err);
    }
    for (int l = 0; l < L_COUNT; l++) plot_free(cdf[l]);
    plot_free(time[0]);
    plot_free(time[1]);
    return rc;
}

/* ---- time series ---- */

/* One stored series of a run, times in the report's unit and values × scale, averaged down to
 * MAX_POINTS. Returns the points added (0: not stored), or -1. */
static long load_timeseries(report *r, const report_run *run, const char *name, double scale, series *out,
                            time_axis ta, fs_error *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(r->db, "SELECT t_s, value FROM timeseries WHERE run_id = ? AND name = ? AND value IS NOT "
                           "NULL ORDER BY t_s", -1, &s, NULL) != SQLITE_OK)
        return fs_error_set(err, r->db_path, 0, 0, "cannot read the time series: %s", sqlite3_errmsg(r->db));
    sqlite3_bind_int64(s, 1, run->id);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
    series all = {0};
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) push(&all, sqlite3_column_double(s, 0), sqlite3_column_double(s, 1));
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        free(all.x);
        free(all.y);
        return fs_error_set(err, r->db_path, 0, 0, "cannot read the time series: %s", sqlite3_errmsg(r->db));
    }
    size_t group = (all.n + MAX_POINTS - 1) / MAX_POINTS;
    for (size_t i = 0; i < all.n; i += group) {
        size_t end = i + group < all.n ? i + group : all.n;
        double sx = 0, sy = 0;
        for (size_t j = i; j < end; j++) {
            sx += all.x[j];
            sy += all.y[j];
        }
        push(out, sx / (double)(end - i) / ta.div, sy / (double)(end - i) * scale);
    }
    free(all.x);
    free(all.y);
    return (long)out->n;
}

typedef struct ts_line {
    const char *name, *what;
    double scale;
    bool lower, dashed, llm_only; /* lower: in the second panel */
} ts_line;

typedef struct ts_plot {
    const char *anchor, *heading, *ylabel, *lower_label, *caption;
    ts_line lines[6];
} ts_plot;

static const ts_plot ts_plots[] = {
    {"load", "Arrivals and completions", "requests per second", "",
     "Requests arriving and completing per second over the sampling interval (output.timeseries_interval), warm-up "
     "and drain included. Completions that stay below arrivals mean a growing backlog.",
     {{"arrival_rate", "arrivals", 1, false, false, false}, {"completion_rate", "completions", 1, false, true, false}}},
    {"queue", "Queue length and KV-cache use", "requests waiting", "KV-cache blocks in use (%)",
     "Requests queued and not in service (central queues plus replica queues; for LLM engines the waiting queue, "
     "preempted requests included), and the share of KV-cache blocks in use over all LLM replicas (lower panel).",
     {{"waiting", "waiting requests", 1, false, false, false}, {"kv_usage", "KV-cache use (%)", 1, true, false, true}}},
    {"replicas", "Replicas, nodes and utilisation", "replicas, nodes", "busy replicas (% of ready)",
     "Replicas ready (routed to), starting (cold start in progress) and desired (what the autoscalers or the scenario "
     "ask for) over all deployments, provisioned nodes over all pools, and the share of ready replicas with a request "
     "in service (lower panel).",
     {{"replicas_ready", "ready replicas", 1, false, false, false},
      {"replicas_starting", "starting replicas", 1, false, false, false},
      {"replicas_desired", "desired replicas", 1, false, true, false},
      {"nodes", "nodes", 1, false, false, false},
      {"busy_fraction", "busy (% of ready)", 100, true, false, false}}},
    {"cost", "Cost and power", "cost so far (USD)", "fleet power (kW)",
     "Spending so far (every provisioned node billed per GPU-hour) and the fleet's mean power over each sampling "
     "interval (lower panel; idle power of provisioned GPUs plus what their activity adds).",
     {{"cost", "cost (USD)", 1, false, false, false}, {"power", "power (kW)", 1e-3, true, false, false}}},
};

static int timeseries_plot(report *r, const ts_plot *t, time_axis ta, fs_error *err)
{
    plot *p = plot_new(t->anchor, t->heading);
    p->key = "below";
    snprintf(p->xlabel, sizeof p->xlabel, "time since the start (%s)", ta.unit);
    snprintf(p->ylabel, sizeof p->ylabel, "%s", t->ylabel);
    bool any_llm = false;
    char absent[256] = "";
    for (int l = 0; l < 6 && t->lines[l].name; l++) {
        const ts_line *line = &t->lines[l];
        size_t stored = 0;
        for (size_t k = 0; k < r->nruns; k++) {
            if (line->llm_only && !r->runs[k].llm) continue;
            series *s = add_series(p, k, l, line->what, line->lower);
            s->dashed = line->dashed;
            long n = load_timeseries(r, &r->runs[k], line->name, line->scale, s, ta, err);
            if (n < 0) {
                plot_free(p);
                return -1;
            }
            if (n > 0) stored++;
        }
        any_llm |= line->llm_only && stored;
        if (!stored && !line->llm_only)
            snprintf(absent + strlen(absent), sizeof absent - strlen(absent), "%s%s", absent[0] ? ", " : "", line->name);
    }
    snprintf(p->lower_label, sizeof p->lower_label, "%s", t->lower_label);
    snprintf(p->caption, sizeof p->caption, "%s", t->caption);
    if (strcmp(t->anchor, "queue") == 0 && !any_llm)
        snprintf(p->caption + strlen(p->caption), sizeof p->caption - strlen(p->caption),
                 " No LLM deployment, so no KV cache.");
    else if (absent[0] && points(p))
        snprintf(p->caption + strlen(p->caption), sizeof p->caption - strlen(p->caption),
                 " Not stored, so not drawn: %s.", absent);
    char why[400];
    snprintf(why, sizeof why, "the time series %s %s not stored (output.timeseries_interval 0 turns sampling off)",
             absent[0] ? absent : t->lines[0].name, strchr(absent, ',') ? "were" : "was");
    int rc = emit(r, p, why, err);
    plot_free(p);
    return rc;
}

/* ---- several runs: cost against tail latency ---- */

typedef struct tradeoff_point {
    double x, y;
    size_t run;
} tradeoff_point;

static int cmp_tradeoff(const void *a, const void *b)
{
    const tradeoff_point *p = a, *q = b;
    if (p->x != q->x) return p->x < q->x ? -1 : 1;
    if (p->y != q->y) return p->y < q->y ? -1 : 1;
    return (p->run > q->run) - (p->run < q->run);
}

static int tradeoff_plot(report *r, fs_error *err)
{
    /* the latency with an SLO target (TTFT first), else TTFT; the cost per output token where every run has it */
    bool ttft_slo = false, e2e_slo = false, per_token = true;
    for (size_t k = 0; k < r->nruns; k++) {
        ttft_slo |= !isnan(slo_of(&r->runs[k], "ttft_ms"));
        e2e_slo |= !isnan(slo_of(&r->runs[k], "e2e_ms"));
        double v;
        int rc = report_metric(r, &r->runs[k], "cost_per_1m_output_tokens", "value", &v, err);
        if (rc < 0) return -1;
        per_token &= rc == 1 && isfinite(v);
    }
    bool e2e = !ttft_slo && e2e_slo;
    const char *lat = e2e ? "e2el" : "ttft", *cost = per_token ? "cost_per_1m_output_tokens" : "cost_per_1k_requests";
    plot *p = plot_new("tradeoff", "Cost against p99 latency");
    p->key = "below";
    p->markers_in_key = true;
    snprintf(p->xlabel, sizeof p->xlabel, "p99 %s (ms)", e2e ? "E2E latency" : "TTFT");
    snprintf(p->ylabel, sizeof p->ylabel, "%s (USD)", per_token ? "cost per 1M output tokens" : "cost per 1k requests");
    tradeoff_point pts[REPORT_MAX_RUNS];
    size_t n = 0;
    char left_out[512] = "";
    for (size_t k = 0; k < r->nruns; k++) {
        double x = NAN, y = NAN;
        if (report_metric(r, &r->runs[k], lat, "p99", &x, err) < 0 || report_metric(r, &r->runs[k], cost, "value", &y, err) < 0) {
            plot_free(p);
            return -1;
        }
        if (isfinite(x) && isfinite(y)) pts[n++] = (tradeoff_point){x, y, k};
        else snprintf(left_out + strlen(left_out), sizeof left_out - strlen(left_out), "%s%lld",
                      left_out[0] ? ", " : "", (long long)r->runs[k].id);
        char label[96];
        double slo = slo_of(&r->runs[k], e2e ? "e2e_ms" : "ttft_ms");
        snprintf(label, sizeof label, "SLO %s %g ms", e2e ? "E2E" : "TTFT", slo);
        add_marker(r, p, k, slo, true, label);
    }
    snprintf(p->caption, sizeof p->caption, "Each point is a run: the 99th percentile of its %s against its %s. Lower "
             "left is better. Filled points joined by the line form the Pareto front: no other run is both cheaper and "
             "faster. A run left of its grey SLO line meets the target at the 99th percentile.%s%s%s",
             e2e ? "end-to-end latency" : "time to first token",
             per_token ? "cost per million output tokens" : "cost per thousand requests",
             left_out[0] ? " Left out (no completed requests or no cost): runs " : "", left_out, left_out[0] ? "." : "");
    if (n == 0) {
        skip(r, p->anchor, p->heading, "no run has both a p99 latency and a cost");
        plot_free(p);
        return 0;
    }
    qsort(pts, n, sizeof *pts, cmp_tradeoff);
    bool front[REPORT_MAX_RUNS];
    double best = INFINITY, xmax = 0, ymax = 0;
    for (size_t i = 0; i < n; i++) {
        front[i] = pts[i].y < best;
        if (front[i]) best = pts[i].y;
        if (pts[i].x > xmax) xmax = pts[i].x;
        if (pts[i].y > ymax) ymax = pts[i].y;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        plot_free(p);
        return fs_error_set(err, "", 0, 0, "plot 'Cost against p99 latency': cannot build the gnuplot script");
    }
    key_size k = {2, strlen("dominated run")};
    for (size_t i = 0; i < p->nm; i++) count_entry(&k, p->m[i].label, 0, 0);
    script_terminal(f, PLOT_H + KEY_ROW_H * key_rows(k));
    script_axes(f, p, xmax, ymax);
    fputs("set offsets 0, graph 0.15, graph 0.15, 0\n", f);
    bool any_other = false;
    for (int pass = 0; pass < 3; pass++) {
        fprintf(f, "$%s << EOD\n", pass == 0 ? "front" : pass == 1 ? "other" : "labels");
        for (size_t i = 0; i < n; i++) {
            if ((pass == 0 && !front[i]) || (pass == 1 && front[i])) continue;
            any_other |= pass == 1;
            fprintf(f, "%.9g %.9g", pts[i].x, pts[i].y);
            if (pass == 2) {
                char name[40];
                snprintf(name, sizeof name, "%s", r->runs[pts[i].run].name);
                for (char *c = name; *c; c++)
                    if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20) *c = '\'';
                fprintf(f, " \"run %lld: %s\"", (long long)r->runs[pts[i].run].id, name);
            }
            fputc('\n', f);
        }
        fputs("EOD\n", f);
    }
    fputs("plot $front using 1:2 with linespoints lt 1 pt 7 ps 1.6 title 'Pareto front'", f);
    if (any_other) fputs(", \\\n  $other using 1:2 with points lc rgb '#777777' pt 6 ps 1.6 title 'dominated run'", f);
    fputs(", \\\n  $labels using 1:2:3 with labels left offset char 1,0.6 notitle", f);
    for (size_t i = 0; i < p->nm; i++) { /* told apart by their dashes */
        fprintf(f, ", \\\n  keyentry with lines lc rgb '#333333' dt %zu lw 1.5 title ", i % 4 + 2);
        gp_quote(f, p->m[i].label);
    }
    fputc('\n', f);
    fclose(f);
    int rc = draw(r, p, text, len, err);
    free(text);
    plot_free(p);
    return rc;
}

/* ---- all of them ---- */

/* The end of the longest run: its last time-series sample (an index look-up), or where it has
 * none its last completion (a scan of its request rows). */
static int time_unit(report *r, time_axis *ta, fs_error *err)
{
    double end = 0;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(r->db, "SELECT coalesce((SELECT max(t_s) FROM timeseries WHERE run_id = ?1), "
                           "(SELECT max(done_s) FROM requests WHERE run_id = ?1))", -1, &s, NULL) != SQLITE_OK)
        return fs_error_set(err, r->db_path, 0, 0, "cannot read the time series: %s", sqlite3_errmsg(r->db));
    for (size_t k = 0; k < r->nruns; k++) {
        sqlite3_bind_int64(s, 1, r->runs[k].id);
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_double(s, 0) > end) end = sqlite3_column_double(s, 0);
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    if (end > 6 * 3600) *ta = (time_axis){3600, "h", end};
    else if (end > 1800) *ta = (time_axis){60, "min", end};
    else *ta = (time_axis){1, "s", end};
    return 0;
}

int report_plots(report *r, fs_error *err)
{
    time_axis ta;
    if (time_unit(r, &ta, err)) return -1;
    FILE *f = r->out;
    fputs("<section id=\"latency\"><h2>Latency</h2>\n", f);
    if (request_plots(r, ta, err)) return -1;
    fputs("</section>\n<section id=\"over-time\"><h2>Load over time</h2>\n", f);
    for (size_t i = 0; i < 2; i++)
        if (timeseries_plot(r, &ts_plots[i], ta, err)) return -1;
    fputs("</section>\n<section id=\"capacity\"><h2>Capacity and cost</h2>\n", f);
    for (size_t i = 2; i < 4; i++)
        if (timeseries_plot(r, &ts_plots[i], ta, err)) return -1;
    fputs("</section>\n", f);
    if (r->nruns > 1) {
        fputs("<section id=\"tradeoff\"><h2>Cost against latency</h2>\n", f);
        if (tradeoff_plot(r, err)) return -1;
        fputs("</section>\n", f);
    }
    return 0;
}
