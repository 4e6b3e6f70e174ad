/*
 * Routers: which replica of a deployment serves a request.
 *
 *   round_robin        replicas in turn;
 *   random             uniform, from the routing RNG stream;
 *   least_outstanding  fewest requests routed and not done; ties go to the first such replica
 *                      after the one chosen last (so equal replicas share load in turn);
 *   central_queue      one FCFS queue for the deployment; a replica with room takes the head
 *                      (an idle replica is found by scanning after the one chosen last). This is
 *                      the M/M/c discipline.
 * Every choice is a function of the state and the routing stream only: deterministic.
 */
#include <stdlib.h>

#include "sim_internal.h"

struct router {
    enum sim_router kind;
    replica **replicas;
    uint32_t n;
    uint32_t next;   /* round-robin position / tie-break start */
    fs_rng *rng;     /* owned */
    req_fifo queue;  /* central queue */
};

router *router_new(enum sim_router kind, replica **replicas, uint32_t n, fs_rng *rng)
{
    router *rt = fs_xcalloc(1, sizeof *rt);
    rt->kind = kind;
    rt->replicas = replicas;
    rt->n = n;
    rt->rng = rng;
    return rt;
}

void router_free(router *rt)
{
    if (!rt) return;
    fs_rng_free(rt->rng);
    free(rt);
}

/* Hand q to replica r's local queue (the caller kicks r). */
static void assign(replica *r, sim_req *q)
{
    q->replica = r->index;
    r->outstanding++;
    r->ops->submit(r, q);
}

void router_route(router *rt, sim_req *q)
{
    uint32_t n = rt->n, pick = 0;
    switch (rt->kind) {
    case SIM_ROUTER_ROUND_ROBIN:
        pick = rt->next;
        rt->next = (rt->next + 1) % n;
        break;
    case SIM_ROUTER_RANDOM:
        pick = (uint32_t)gsl_rng_uniform_int(rt->rng, n);
        break;
    case SIM_ROUTER_LEAST_OUTSTANDING: {
        uint32_t best = UINT32_MAX;
        for (uint32_t k = 0; k < n; k++) {
            uint32_t i = (rt->next + k) % n;
            if (rt->replicas[i]->outstanding < best) {
                best = rt->replicas[i]->outstanding;
                pick = i;
            }
        }
        rt->next = (pick + 1) % n;
        break;
    }
    case SIM_ROUTER_CENTRAL_QUEUE:
        if (rt->queue.n == 0) {
            for (uint32_t k = 0; k < n; k++) {
                uint32_t i = (rt->next + k) % n;
                if (rt->replicas[i]->ops->free_slots(rt->replicas[i]) > 0) {
                    rt->next = (i + 1) % n;
                    pick = i;
                    goto dispatch;
                }
            }
        }
        fifo_push(&rt->queue, q);
        return;
    }
dispatch:
    assign(rt->replicas[pick], q);
    rt->replicas[pick]->ops->kick(rt->replicas[pick]);
}

void router_on_capacity(router *rt, replica *r)
{
    if (rt->kind != SIM_ROUTER_CENTRAL_QUEUE || rt->queue.n == 0) return;
    uint32_t room = r->ops->free_slots(r);
    if (room == 0) return;
    while (room-- > 0 && rt->queue.n > 0) assign(r, fifo_pop(&rt->queue));
    r->ops->kick(r);
}

uint32_t router_queued(const router *rt) { return (uint32_t)rt->queue.n; }
