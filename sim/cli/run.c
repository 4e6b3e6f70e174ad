/* Run orchestration shared by `run` and `replay`: sources, store, signals, simulation, metrics. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli_internal.h"
#include "store.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

void print_error(const fs_error *err)
{
    char buf[1400];
    fprintf(stderr, "fleetsim: %s\n", fs_error_format(err, buf, sizeof buf));
}

/* ---- the sink that streams rows into the store ---- */

typedef struct store_sink {
    store *st;
    int64_t run_id;
    bool requests;
    bool db_failed;
    const sim_sink *observer;
} store_sink;

static double ns_to_s(fs_time t) { return t < 0 ? NAN : fs_time_to_s(t); }

static int sink_request(void *ctx, const sim_request_row *row, fs_error *err)
{
    store_sink *k = ctx;
    if (k->observer && k->observer->request && k->observer->request(k->observer->ctx, row, err)) return -1;
    if (!k->st || !k->requests) return 0;
    store_request r = {
        .id = row->id, .deployment = row->deployment,
        .replica = row->replica == SIM_NO_REPLICA ? -1 : (int64_t)row->replica,
        .arrival_s = ns_to_s(row->arrival), .start_s = ns_to_s(row->start),
        .first_token_s = ns_to_s(row->first_token), .done_s = ns_to_s(row->done),
        .input_tokens = row->input_tokens, .output_tokens = row->output_tokens,
        .preemptions = row->preemptions, .cached_tokens = row->cached_tokens,
        .finished = row->finished, .rejected = row->rejected, .measured = row->measured,
    };
    if (store_request_add(k->st, k->run_id, &r, err) == 0) return 0;
    k->db_failed = true;
    return -1;
}

static int sink_sample(void *ctx, fs_time t, const char *name, double value, fs_error *err)
{
    store_sink *k = ctx;
    if (k->observer && k->observer->sample && k->observer->sample(k->observer->ctx, t, name, value, err)) return -1;
    if (!k->st) return 0;
    if (store_sample_add(k->st, k->run_id, fs_time_to_s(t), name, value, err) == 0) return 0;
    k->db_failed = true;
    return -1;
}

static const char *tenant_name(void *ctx, uint32_t tenant)
{
    const scenario *sc = ctx;
    return tenant >= 1 && tenant <= sc->ntenants ? sc->tenants[tenant - 1] : NULL;
}

/* ---- run ---- */

int cli_execute(scenario *sc, cli_run *o, fs_metrics *m)
{
    fs_error err;
    uint32_t nsources = sc->nsources;
    wl_source **sources = fs_xcalloc(nsources, sizeof *sources);
    if (scenario_open_sources(sc, sources, &err)) {
        print_error(&err);
        free(sources);
        return EXIT_INPUT;
    }
    store_sink sink_ctx = {.requests = o->store_requests, .observer = o->observer};
    if (o->db) {
        sink_ctx.st = store_open(o->db, &err);
        store_run_info info = {sc->name, sc->resolved_json, sc->cfg.seed, FLEETSIM_VERSION, FLEETSIM_GIT_COMMIT};
        if (!sink_ctx.st || store_run_begin(sink_ctx.st, &info, &sink_ctx.run_id, &err)) {
            print_error(&err);
            store_close(sink_ctx.st);
            for (uint32_t i = 0; i < nsources; i++) wl_free(sources[i]);
            free(sources);
            return EXIT_RUN_FAILED;
        }
        o->run_id = sink_ctx.run_id;
    }
    sim_sink sink = {&sink_ctx, sink_request, sink_sample};

    struct sigaction sa = {0}, old;
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    sc->cfg.interrupt = &interrupted;
    sc->cfg.tenant_name = tenant_name;
    sc->cfg.tenant_ctx = sc;

    sim *s = sim_new(&sc->cfg, sources, nsources, &sink);
    int status = sim_run(s, &err);
    sigaction(SIGINT, &old, NULL);

    int exit_code = 0;
    if (status == 0) {
        sim_metrics(s, m);
        if (o->finish) o->finish(o->ctx, m);
        if (o->db && (store_metrics_add(sink_ctx.st, sink_ctx.run_id, m, &err) ||
                      store_run_end(sink_ctx.st, sink_ctx.run_id, &err))) {
            print_error(&err);
            store_run_abort(sink_ctx.st, sink_ctx.run_id, "failed", err.msg, NULL);
            exit_code = EXIT_RUN_FAILED;
        }
    } else if (status == 1) {
        fprintf(stderr, "fleetsim: interrupted at simulated time %.3f s\n", fs_time_to_s(sim_now(s)));
        if (o->db) store_run_abort(sink_ctx.st, sink_ctx.run_id, "interrupted", "interrupted by SIGINT", NULL);
        exit_code = EXIT_INTERRUPTED;
    } else {
        print_error(&err);
        if (o->db) {
            char buf[1400];
            store_run_abort(sink_ctx.st, sink_ctx.run_id, "failed", fs_error_format(&err, buf, sizeof buf), NULL);
        }
        exit_code = sink_ctx.db_failed ? EXIT_RUN_FAILED : EXIT_INPUT;
    }
    sim_free(s);
    free(sources);
    store_close(sink_ctx.st);
    return exit_code;
}
