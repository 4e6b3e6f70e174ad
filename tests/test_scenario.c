/*
 * test_scenario.c — scenario loading: what a user sees for bad files, what a good file turns
 * into, `--set` overrides and `--seed`, and where a trace path points.
 *
 * Scenario texts below are written with ' for " (JSON has no single-quoted strings, so the
 * swap is unambiguous) and go to a temporary file under /tmp for each case.
 *
 * FS_TEST_VERBOSE=1 prints every bad case's message.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "scenario.h"

/* ---- helpers ---- */

#define TMP_TEMPLATE "/tmp/fs_test_scenario_XXXXXX"

/* Write text to path with every ' turned into ". */
static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(2);
    }
    for (const char *p = text; *p; p++) fputc(*p == '\'' ? '"' : *p, f);
    if (fclose(f) != 0) {
        perror(path);
        exit(2);
    }
}

/* A fresh temporary file holding text (quotes swapped); its name goes to path. */
static void tmp_scenario(const char *text, char *path, size_t size)
{
    snprintf(path, size, "%s", TMP_TEMPLATE);
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        exit(2);
    }
    close(fd);
    write_text(path, text);
}

/* Load text as a scenario file; on failure the formatted error goes to msg. The temporary
 * file is removed before returning; its name stays in path for messages. */
static int load_text(const char *text, const scenario_opts *opts, scenario *sc, char *path,
                     size_t path_size, fs_error *err, char *msg, size_t msg_size)
{
    tmp_scenario(text, path, path_size);
    fs_error_clear(err);
    msg[0] = '\0';
    int rc = scenario_load(path, opts, sc, err);
    if (rc != 0) fs_error_format(err, msg, msg_size);
    unlink(path);
    return rc;
}

/* Load text that must be good; on failure, print why and return -1 (sc is then empty). */
static int load_good(const char *text, const scenario_opts *opts, scenario *sc)
{
    char path[64], msg[1024];
    fs_error err;
    int rc = load_text(text, opts, sc, path, sizeof path, &err, msg, sizeof msg);
    if (rc != 0) fprintf(stderr, "  unexpected error: %s\n", msg);
    CHECK_INT(rc, 0);
    return rc;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Pieces of a good scenario, to build bad ones from. */
#define NAME "'name': 't'"
#define DUR "'duration': 60"
#define FLEET "'fleet': [{'gpu': 'L4', 'count': 4}]"
#define SVC "'service': {'mean_ms': 50}"
#define DEP "{'name': 'embed', 'model': 'm', 'replicas': 2, " SVC "}"
#define DEPS "'deployments': [" DEP "]"
#define WL "'workload': {'rate': 10}"
#define HEAD "{" NAME ", " DUR ", " FLEET ", " DEPS /* the rest and '}' follow */
#define GOOD HEAD ", " WL "}"
/* A scenario with one deployment written out (d: its members besides name and model). */
#define WITH_DEP(d) "{" NAME ", " DUR ", " FLEET ", 'deployments': [{'name': 'embed', 'model': 'm', " d "}], " WL "}"
/* A scenario with the workload written out. */
#define WITH_WL(w) HEAD ", 'workload': " w "}"
/* A scenario head whose fleet's first entry is an L4 pool with the members p (more entries may
 * follow: close the object and open the next); deployments and the rest follow. */
#define POOLS(p) "{" NAME ", " DUR ", 'fleet': [{'gpu': 'L4', " p "}], "
/* One L4 pool of 4 GPUs and one deployment with the members d besides name, model and service. */
#define DEP_WITH(d) "{" NAME ", " DUR ", " FLEET ", 'deployments': [{'name': 'e', 'model': 'm', " SVC ", " d "}], " WL "}"
/* An llm deployment of Llama-3.1-8B on H100 pools (the fleet's entries f) with the members d. */
#define LLM_ON(f, d) "{" NAME ", " DUR ", 'fleet': [" f "], 'deployments': [{'model': 'llama-3.1-8b', 'kind': 'llm', " \
    "'engine': {'max_model_len': 8192}, " d "}], " WL "}"
#define HEAD_L4_MIG "{" NAME ", " DUR ", 'fleet': [{'gpu': 'L4', 'count': 4, 'mig': 'all-1g.6gb'}], " DEPS ", " WL "}"

/* ---- bad scenarios ---- */

typedef struct bad_case {
    const char *name;
    const char *json;
    const char *path;    /* the JSON path err.path must hold ("" for parse errors) */
    int line;            /* parse errors: the line the message must name; 0 otherwise */
    int col;             /* parse errors: the column, when the message must name one; else 0 */
    const char *want[4]; /* substrings of the formatted message (NULL-terminated) */
} bad_case;

static const bad_case bad_cases[] = {
    /* JSON syntax */
    {"syntax error", "{\n  'name': 't',\n  'seed': 1,,\n  'duration': 5\n}", "", 3, 13,
     {"string or '}' expected near ','", NULL}},
    {"missing comma", "{\n  'name': 't'\n  'seed': 1\n}", "", 3, 8, {"'}' expected near '\"seed\"'", NULL}},
    {"unterminated object", "{\n  'name': 't',\n  'seed': 1\n", "", 4, 0, {"'}' expected near end of file", NULL}},
    {"unterminated string", "{\n  'name': 't\n}", "", 2, 0, {"unexpected newline", NULL}},
    {"duplicate key", "{\n  'name': 'a',\n  'seed': 1,\n  'name': 'b'\n}", "", 4, 0,
     {"duplicate object key near '\"name\"'", NULL}},
    {"empty file", "", "", 1, 0, {"'[' or '{' expected near end of file", NULL}},
    {"top level a number", "42", "", 1, 0, {"'[' or '{' expected near '42'", NULL}},
    {"trailing garbage", "{'name': 't'}\n\nx", "", 3, 0, {"end of file expected near 'x'", NULL}},
    {"integer too big", "{'name': 't',\n 'seed': 99999999999999999999}", "", 2, 0, {"too big integer", NULL}},
    /* top level */
    {"top level not an object", "[1, 2]", "(top level)", 0, 0, {"expected an object, got an array", NULL}},
    {"missing name", "{" DUR ", " FLEET ", " DEPS ", " WL "}", "name", 0, 0,
     {"required key is missing (expected a string)", NULL}},
    {"empty name", "{'name': '', " DUR ", " FLEET ", " DEPS ", " WL "}", "name", 0, 0,
     {"expected a non-empty string, got \"\"", NULL}},
    {"name a number", "{'name': 5, " DUR ", " FLEET ", " DEPS ", " WL "}", "name", 0, 0,
     {"expected a string, got 5", NULL}},
    {"description a number", HEAD ", " WL ", 'description': 5}", "description", 0, 0, {"expected a string, got 5", NULL}},
    {"seed negative", HEAD ", " WL ", 'seed': -1}", "seed", 0, 0, {"expected an integer >= 0", "got -1", NULL}},
    {"seed a string", HEAD ", " WL ", 'seed': 'abc'}", "seed", 0, 0, {"expected an integer >= 0", "got \"abc\"", NULL}},
    {"seed fractional", HEAD ", " WL ", 'seed': 1.5}", "seed", 0, 0, {"expected an integer >= 0", "got 1.5", NULL}},
    {"duration 0", "{" NAME ", 'duration': 0, " FLEET ", " DEPS ", " WL "}", "duration", 0, 0,
     {"expected a number > 0", "got 0", NULL}},
    {"duration a string", "{" NAME ", 'duration': '60s', " FLEET ", " DEPS ", " WL "}", "duration", 0, 0,
     {"expected a number > 0", "got \"60s\"", NULL}},
    {"requests 0", HEAD ", " WL ", 'requests': 0}", "requests", 0, 0, {"expected an integer >= 1, got 0", NULL}},
    {"warmup negative", HEAD ", " WL ", 'warmup': -1}", "warmup", 0, 0, {"expected a number >= 0", "got -1", NULL}},
    {"warmup equal to duration", HEAD ", " WL ", 'warmup': 60}", "warmup", 0, 0,
     {"expected less than duration (60 s), got 60 s", NULL}},
    {"warmup beyond duration", HEAD ", " WL ", 'warmup': 90.5}", "warmup", 0, 0,
     {"expected less than duration (60 s), got 90.5 s", NULL}},
    {"drain_timeout a string", HEAD ", " WL ", 'drain_timeout': 'long'}", "drain_timeout", 0, 0,
     {"expected a number >= 0", "got \"long\"", NULL}},
    {"no duration nor requests", "{" NAME ", " FLEET ", " DEPS ", " WL "}", "duration", 0, 0,
     {"a synthetic workload never ends", "\"duration\"", "\"requests\"", NULL}},
    /* unknown keys */
    {"unknown top-level key, close match", "{" NAME ", 'duraton': 60, " FLEET ", " DEPS ", " WL "}", "duraton", 0, 0,
     {"unknown key 'duraton'; did you mean 'duration'?", NULL}},
    {"unknown nested key, close match", WITH_DEP("'replcas': 2, " SVC), "deployments[0].replcas", 0, 0,
     {"unknown key 'replcas'; did you mean 'replicas'?", NULL}},
    {"unknown key, no close match", HEAD ", " WL ", 'zzzzzzzzzz': 1}", "zzzzzzzzzz", 0, 0,
     {"unknown key 'zzzzzzzzzz'; known keys here: name, description, seed, duration, requests, warmup, "
      "drain_timeout, catalogs, fleet, deployments, workload, router, placement, admission, regions, failures, energy, sweep, slo, output", NULL}},
    {"unknown slo key, no close match", HEAD ", " WL ", 'slo': {'p99': 100}}", "slo.p99", 0, 0,
     {"unknown key 'p99'; known keys here: ttft_ms, tpot_ms, e2e_ms", NULL}},
    {"unknown service key", WITH_DEP("'service': {'men_ms': 50}"), "deployments[0].service.men_ms", 0, 0,
     {"unknown key 'men_ms'; did you mean 'mean_ms'?", NULL}},
    {"unknown router key", HEAD ", " WL ", 'router': {'polcy': 'random'}}", "router.polcy", 0, 0,
     {"unknown key 'polcy'; did you mean 'policy'?", NULL}},
    {"unknown output key", HEAD ", " WL ", 'output': {'request': true}}", "output.request", 0, 0,
     {"unknown key 'request'; did you mean 'requests'?", NULL}},
    {"unknown trace key", WITH_WL("{'arrival': 'trace', 'trace': {'file': 'a.csv'}}"), "workload.trace.file", 0, 0,
     {"unknown key 'file'; known keys here: path, format", NULL}},
    {"unknown fleet key", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'L4', 'cuont': 4}], " DEPS ", " WL "}",
     "fleet[0].cuont", 0, 0, {"did you mean 'count'?", NULL}},
    {"unknown workload key", WITH_WL("{'rate': 10, 'arival': 'poisson'}"), "workload.arival", 0, 0,
     {"did you mean 'arrival'?", NULL}},
    {"unknown length key", WITH_WL("{'rate': 10, 'input': {'dist': 'fixed', 'valeu': 3}}"), "workload.input.valeu", 0, 0,
     {"did you mean 'value'?", NULL}},
    /* fleet */
    {"missing fleet", "{" NAME ", " DUR ", " DEPS ", " WL "}", "fleet", 0, 0,
     {"required key is missing (expected an array of {gpu, count})", NULL}},
    {"empty fleet", "{" NAME ", " DUR ", 'fleet': [], " DEPS ", " WL "}", "fleet", 0, 0,
     {"expected a non-empty array of {gpu, count}", NULL}},
    {"fleet a string", "{" NAME ", " DUR ", 'fleet': 'L4', " DEPS ", " WL "}", "fleet", 0, 0,
     {"expected a non-empty array of {gpu, count}, got \"L4\"", NULL}},
    {"fleet entry a number", "{" NAME ", " DUR ", 'fleet': [4], " DEPS ", " WL "}", "fleet[0]", 0, 0,
     {"expected an object with gpu and count, got 4", NULL}},
    {"unknown GPU", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'Z9', 'count': 4}], " DEPS ", " WL "}", "fleet[0].gpu", 0, 0,
     {"expected a known GPU (", "L4", "H100-SXM", "got \"Z9\""}},
    {"fleet count 0", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'L4', 'count': 0}], " DEPS ", " WL "}", "fleet[0].count", 0, 0,
     {"expected an integer in 1..1000000, got 0", NULL}},
    {"fleet count a string", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'L4', 'count': '4'}], " DEPS ", " WL "}",
     "fleet[0].count", 0, 0, {"expected an integer in 1..1000000, got \"4\"", NULL}},
    {"fleet count missing", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'L4'}], " DEPS ", " WL "}", "fleet[0].count", 0, 0,
     {"required key is missing (expected an integer >= 1)", NULL}},
    {"negative price", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'L4', 'count': 4, 'price_per_hour': -1}], " DEPS ", " WL "}",
     "fleet[0].price_per_hour", 0, 0, {"expected a number >= 0", "got -1", NULL}},
    {"pool name twice in the fleet",
     "{" NAME ", " DUR ", 'fleet': [{'gpu': 'L4', 'count': 2}, {'gpu': 'l4', 'count': 2}], " DEPS ", " WL "}",
     "fleet[1]", 0, 0, {"pool name \"L4\" already appears in fleet[0]; give each pool a \"name\"", NULL}},
    {"pool name given twice", POOLS("'name': 'a', 'count': 2}, {'gpu': 'H100', 'name': 'a', 'count': 2") DEPS ", " WL "}",
     "fleet[1]", 0, 0, {"pool name \"a\" already appears in fleet[0]", NULL}},
    {"pool name a number", POOLS("'count': 4, 'name': 5") DEPS ", " WL "}", "fleet[0].name", 0, 0,
     {"expected a string, got 5", NULL}},
    {"pool name too long", POOLS("'count': 4, 'name': '0123456789012345678901234567890123456789012345678901234567890123'")
     DEPS ", " WL "}", "fleet[0].name", 0, 0, {"expected at most 63 bytes, got 64", NULL}},
    {"pool region empty", POOLS("'count': 4, 'region': ''") DEPS ", " WL "}", "fleet[0].region", 0, 0,
     {"expected a non-empty string, got \"\"", NULL}},
    {"unknown pool key", POOLS("'count': 4, 'max_node': 2") DEPS ", " WL "}", "fleet[0].max_node", 0, 0,
     {"did you mean 'max_nodes'?", NULL}},
    {"min_nodes above max_nodes", POOLS("'count': 8, 'min_nodes': 3, 'max_nodes': 2") DEPS ", " WL "}",
     "fleet[0].max_nodes", 0, 0, {"expected at least min_nodes (3), got 2", NULL}},
    {"min_nodes above the starting nodes", POOLS("'count': 8, 'min_nodes': 2, 'max_nodes': 4") DEPS ", " WL "}",
     "fleet[0].min_nodes", 0, 0, {"expected at most the starting node count (1: count 8 in nodes of 8 GPUs), got 2", NULL}},
    {"max_nodes below the starting nodes", POOLS("'count': 16, 'max_nodes': 1") DEPS ", " WL "}", "fleet[0].max_nodes", 0,
     0, {"expected at least the starting node count (2: count 16 in nodes of 8 GPUs), got 1", NULL}},
    {"max_nodes 0", POOLS("'count': 4, 'min_nodes': 0, 'max_nodes': 0") DEPS ", " WL "}", "fleet[0].max_nodes", 0, 0,
     {"expected an integer in 1..1000000, got 0", NULL}},
    {"min_nodes negative", POOLS("'count': 4, 'min_nodes': -1") DEPS ", " WL "}", "fleet[0].min_nodes", 0, 0,
     {"expected an integer in 0..1000000, got -1", NULL}},
    {"empty pool that cannot grow", POOLS("'count': 0, 'min_nodes': 0") DEPS ", " WL "}", "fleet[0].count", 0, 0,
     {"got 0 (a pool starts with no GPUs only when it may grow: set max_nodes >= 1)", NULL}},
    {"MIG pool that grows", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'A100', 'count': 2, 'mig': 'all-3g.40gb', "
     "'max_nodes': 2}], 'deployments': [{'model': 'm', " SVC ", 'mig_profile': '3g.40gb'}], " WL "}", "fleet[0].max_nodes",
     0, 0, {"expected the starting node count (1), got 2: a pool with a \"mig\" layout keeps its nodes", NULL}},
    {"reclaims without spot", POOLS("'count': 4, 'reclaims_per_hour': 0.5") DEPS ", " WL "}",
     "fleet[0].reclaims_per_hour", 0, 0, {"expected 0 unless \"spot\" is true (only spot capacity is reclaimed), got 0.5",
                                          NULL}},
    {"spot not a boolean", POOLS("'count': 4, 'spot': 'yes'") DEPS ", " WL "}", "fleet[0].spot", 0, 0,
     {"expected true or false, got \"yes\"", NULL}},
    {"storage bandwidth 0", POOLS("'count': 4, 'storage_gbs': 0") DEPS ", " WL "}", "fleet[0].storage_gbs", 0, 0,
     {"expected a number > 0", "got 0", NULL}},
    {"provisioning negative", POOLS("'count': 4, 'provision_s': -5") DEPS ", " WL "}", "fleet[0].provision_s", 0, 0,
     {"expected a number >= 0", "got -5", NULL}},
    {"provisioning a string", POOLS("'count': 4, 'provision_s': '3m'") DEPS ", " WL "}", "fleet[0].provision_s", 0, 0,
     {"got \"3m\"", NULL}},
    {"mtbf negative", POOLS("'count': 4, 'mtbf_hours': -1") DEPS ", " WL "}", "fleet[0].mtbf_hours", 0, 0,
     {"expected a number >= 0", "got -1", NULL}},
    {"reclaims too frequent", POOLS("'count': 4, 'spot': true, 'reclaims_per_hour': 5000") DEPS ", " WL "}",
     "fleet[0].reclaims_per_hour", 0, 0, {"expected a number >= 0 and <= 3600, got 5000", NULL}},
    {"named pool too small", POOLS("'count': 1, 'name': 'a'") DEPS ", " WL "}", "fleet[0]", 0, 0,
     {"deployments need 2 GPUs of type L4 (replicas x gpus_per_replica), pool \"a\" has 1", NULL}},
    {"fleet too small", WITH_DEP("'replicas': 3, 'gpus_per_replica': 2, " SVC), "fleet[0]", 0, 0,
     {"deployments need 6 GPUs of type L4 (replicas x gpus_per_replica), the fleet has 4", NULL}},
    {"fleet too small across deployments",
     "{" NAME ", " DUR ", " FLEET ", 'deployments': [" DEP ", {'name': 'b', 'model': 'm', 'replicas': 3, " SVC "}], " WL "}",
     "fleet[0]", 0, 0, {"deployments need 5 GPUs of type L4", "the fleet has 4", NULL}},
    /* deployments */
    {"missing deployments", "{" NAME ", " DUR ", " FLEET ", " WL "}", "deployments", 0, 0,
     {"required key is missing (expected an array of deployments)", NULL}},
    {"empty deployments", "{" NAME ", " DUR ", " FLEET ", 'deployments': [], " WL "}", "deployments", 0, 0,
     {"expected a non-empty array", NULL}},
    {"deployments a single object", "{" NAME ", " DUR ", " FLEET ", 'deployments': " DEP ", " WL "}", "deployments", 0, 0,
     {"expected a non-empty array, got an object", NULL}},
    {"deployment a string", "{" NAME ", " DUR ", " FLEET ", 'deployments': ['embed'], " WL "}", "deployments[0]", 0, 0,
     {"expected an object, got \"embed\"", NULL}},
    {"missing model", "{" NAME ", " DUR ", " FLEET ", 'deployments': [{'name': 'e', " SVC "}], " WL "}",
     "deployments[0].model", 0, 0, {"required key is missing (expected a string)", NULL}},
    {"replicas -2", WITH_DEP("'replicas': -2, " SVC), "deployments[0].replicas", 0, 0,
     {"expected an integer in 1..100000", "got -2", NULL}},
    {"replicas 1.5", WITH_DEP("'replicas': 1.5, " SVC), "deployments[0].replicas", 0, 0,
     {"expected an integer in 1..100000", "got 1.5", NULL}},
    {"replicas a string", WITH_DEP("'replicas': '2', " SVC), "deployments[0].replicas", 0, 0,
     {"expected an integer in 1..100000", "got \"2\"", NULL}},
    {"gpus_per_replica too big", WITH_DEP("'gpus_per_replica': 65, " SVC), "deployments[0].gpus_per_replica", 0, 0,
     {"expected an integer in 1..64, got 65", NULL}},
    {"max_batch 0", WITH_DEP("'max_batch': 0, " SVC), "deployments[0].max_batch", 0, 0,
     {"expected an integer in 1..1000000, got 0", NULL}},
    {"unknown kind", WITH_DEP("'kind': 'vision', " SVC), "deployments[0].kind", 0, 0,
     {"expected one of \"fixed\", \"llm\"", "got \"vision\"", NULL}},
    {"llm keys on a fixed deployment", WITH_DEP("'tp': 2, " SVC), "deployments[0].tp", 0, 0,
     {"not used with kind \"fixed\"", NULL}},
    {"fixed keys on an llm deployment", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'H100', 'count': 1}], 'deployments': "
     "[{'model': 'llama-3.1-8b', 'kind': 'llm', " SVC "}], " WL "}", "deployments[0].service", 0, 0,
     {"not used with kind \"llm\"", NULL}},
    {"llm model not in the catalog", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'H100', 'count': 1}], 'deployments': "
     "[{'model': 'gpt-5', 'kind': 'llm'}], " WL "}", "deployments[0].model", 0, 0,
     {"expected a model of the catalog", "got \"gpt-5\"", NULL}},
    {"llm tp not dividing heads", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'H100', 'count': 8}], 'deployments': "
     "[{'model': 'llama-3.1-8b', 'kind': 'llm', 'tp': 3}], " WL "}", "deployments[0].tp", 0, 0,
     {"expected a power of two that divides the model's 32 attention heads, got 3", NULL}},
    {"llm model too big for the GPU", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'L4', 'count': 1}], 'deployments': "
     "[{'model': 'llama-3.1-70b', 'kind': 'llm'}], " WL "}", "deployments[0].model", 0, 0,
     {"does not fit on L4 with tp 1", NULL}},
    {"llm context longer than the KV cache", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'L4', 'count': 1}], 'deployments': "
     "[{'model': 'llama-3.1-8b', 'kind': 'llm'}], " WL "}", "deployments[0].engine.max_model_len", 0, 0,
     {"less than max_model_len 131072", NULL}},
    {"disaggregation replicas mismatch", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'H100', 'count': 8}], 'deployments': "
     "[{'model': 'llama-3.1-8b', 'kind': 'llm', 'replicas': 2, 'disaggregation': {'prefill_replicas': 1, "
     "'decode_replicas': 3}}], " WL "}", "deployments[0].replicas", 0, 0,
     {"expected prefill_replicas + decode_replicas (4) with disaggregation, got 2", NULL}},
    {"disaggregation link zero", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'H100', 'count': 8}], 'deployments': "
     "[{'model': 'llama-3.1-8b', 'kind': 'llm', 'disaggregation': {'prefill_replicas': 1, 'decode_replicas': 1, "
     "'link_gbs': 0}}], " WL "}", "deployments[0].disaggregation.link_gbs", 0, 0, {"expected a number > 0", NULL}},
    {"disaggregation pools too big for the fleet", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'H100', 'count': 3}], "
     "'deployments': [{'model': 'llama-3.1-8b', 'kind': 'llm', 'disaggregation': {'prefill_replicas': 2, "
     "'decode_replicas': 2}}], " WL "}", "fleet[0]", 0, 0, {"deployments need 4 GPUs of type H100-SXM", NULL}},
    {"llm chunked prefill off with a small budget", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'H100', 'count': 1}], "
     "'deployments': [{'model': 'llama-3.1-8b', 'kind': 'llm', 'engine': {'enable_chunked_prefill': false, "
     "'max_num_batched_tokens': 2048, 'max_model_len': 8192}}], " WL "}", "deployments[0].engine.max_num_batched_tokens",
     0, 0, {"expected at least max_model_len (8192) when enable_chunked_prefill is false", "got 2048", NULL}},
    {"llm engine unknown key", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'H100', 'count': 1}], 'deployments': "
     "[{'model': 'llama-3.1-8b', 'kind': 'llm', 'engine': {'max_num_seq': 5}}], " WL "}",
     "deployments[0].engine.max_num_seq", 0, 0, {"did you mean 'max_num_seqs'?", NULL}},
    {"llm bad kv dtype", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'H100', 'count': 1}], 'deployments': "
     "[{'model': 'llama-3.1-8b', 'kind': 'llm', 'engine': {'kv_cache_dtype': 'int2'}}], " WL "}",
     "deployments[0].engine.kv_cache_dtype", 0, 0, {"expected one of \"auto\", \"bf16\", \"fp8\"", NULL}},
    {"prefix tokens zero", HEAD ", 'workload': {'rate': 1, 'prefix': {'tokens': 0}}}", "workload.prefix.tokens", 0, 0,
     {"expected an integer in 1..16777216, got 0", NULL}},
    {"catalogs not an array", "{" NAME ", " DUR ", 'catalogs': 'x.json', " FLEET ", " DEPS ", " WL "}", "catalogs", 0, 0,
     {"expected an array of file names", NULL}},
    {"catalog file missing", "{" NAME ", " DUR ", 'catalogs': ['/nonexistent/c.json'], " FLEET ", " DEPS ", " WL "}",
     "catalogs[0]", 0, 0, {"cannot load the catalog file: unable to open /nonexistent/c.json", NULL}},
    {"deployment GPU not in the fleet", WITH_DEP("'gpu': 'H100', " SVC), "deployments[0].gpu", 0, 0,
     {"expected a GPU type of the fleet, got \"H100\"", NULL}},
    /* node pools of a deployment */
#define TWO_POOLS "'fleet': [{'gpu': 'L4', 'count': 2, 'name': 'a'}, {'gpu': 'L4', 'count': 2, 'name': 'b'}, " \
    "{'gpu': 'H100', 'count': 2, 'name': 'h', 'gpus_per_node': 2}, {'gpu': 'A100', 'count': 1, 'mig': 'all-3g.40gb'}]"
#define ON_POOLS(d) "{" NAME ", " DUR ", " TWO_POOLS ", 'deployments': [{'name': 'e', 'model': 'm', " SVC ", " d "}], " WL "}"
    {"unknown pool", ON_POOLS("'pools': ['a', 'x']"), "deployments[0].pools[1]", 0, 0,
     {"expected the name of a pool of the fleet (\"a\", \"b\", \"h\", \"A100-SXM4-80GB\"), got \"x\"", NULL}},
    {"unknown pool as a string", ON_POOLS("'pools': 'L4'"), "deployments[0].pools", 0, 0,
     {"expected the name of a pool of the fleet", "got \"L4\"", NULL}},
    {"pools of mixed GPU types", ON_POOLS("'pools': ['a', 'h']"), "deployments[0].pools[1]", 0, 0,
     {"expected a pool of GPU type L4 (as its first pool), got \"h\" of H100-SXM", NULL}},
    {"pool not of the deployment's GPU", ON_POOLS("'gpu': 'h100', 'pools': ['h', 'b']"), "deployments[0].pools[1]", 0, 0,
     {"expected a pool of GPU type H100-SXM (the deployment's gpu), got \"b\" of L4", NULL}},
    {"pool twice", ON_POOLS("'pools': ['a', 'b', 'a']"), "deployments[0].pools[2]", 0, 0,
     {"expected each pool once, got \"a\" again (also pools[0])", NULL}},
    {"pools empty", ON_POOLS("'pools': []"), "deployments[0].pools", 0, 0,
     {"expected a pool name or a non-empty array of pool names, got an empty array", NULL}},
    {"pools a number", ON_POOLS("'pools': 3"), "deployments[0].pools", 0, 0,
     {"expected a pool name or a non-empty array of pool names, got 3", NULL}},
    {"pools entry a number", ON_POOLS("'pools': ['a', 3]"), "deployments[0].pools[1]", 0, 0,
     {"expected a pool name, got 3", NULL}},
    {"MIG pool among several", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'A100', 'count': 1, 'mig': 'all-3g.40gb'}, "
     "{'gpu': 'A100', 'count': 1, 'name': 'w'}], 'deployments': [{'model': 'm', " SVC ", 'pools': ['w', "
     "'A100-SXM4-80GB']}], " WL "}", "deployments[0].pools", 0, 0,
     {"expected a single pool when one has a \"mig\" layout (fleet[0] \"A100-SXM4-80GB\"", "got 2 pools", NULL}},
    {"pools together too small", ON_POOLS("'pools': ['a', 'b'], 'replicas': 5"), "deployments[0]", 0, 0,
     {"deployments need 5 GPUs of type L4 (replicas x gpus_per_replica) on pools \"a\", \"b\", which have 4 at the "
      "start", NULL}},
    {"no node of the pools is wide enough", ON_POOLS("'pools': ['a', 'b'], 'gpus_per_replica': 4"), "deployments[0]", 0, 0,
     {"replica 1 of e needs 4 GPUs on one node, and no node of its pools (fleet[0] \"a\": 8 GPUs per node, fleet[1] "
      "\"b\": 8 GPUs per node) has that many free", NULL}},
    /* autoscaling */
    {"replicas 0 without autoscale", DEP_WITH("'replicas': 0"), "deployments[0].replicas", 0, 0,
     {"expected an integer in 1..100000, got 0 (a deployment starts with no replicas only under autoscale policy "
      "\"kpa\" with min_replicas 0)", NULL}},
    {"HPA with replicas 0", DEP_WITH("'replicas': 0, 'autoscale': {'policy': 'hpa', 'max_replicas': 2}"),
     "deployments[0].replicas", 0, 0, {"got 0", "the HPA keeps at least min_replicas >= 1", NULL}},
    {"KPA with replicas 0 and no scale to zero",
     DEP_WITH("'replicas': 0, 'autoscale': {'policy': 'kpa', 'scale_to_zero': false}"), "deployments[0].replicas", 0, 0,
     {"expected at least 1 with autoscale.scale_to_zero false, got 0", NULL}},
    {"KPA with replicas below min", DEP_WITH("'replicas': 1, 'autoscale': {'policy': 'kpa', 'min_replicas': 2}"),
     "deployments[0].replicas", 0, 0,
     {"expected a count within the autoscaler's bounds (min_replicas 2, max_replicas unbounded), got 1", NULL}},
    {"replicas above max_replicas", DEP_WITH("'replicas': 3, 'autoscale': {'policy': 'hpa', 'max_replicas': 2}"),
     "deployments[0].replicas", 0, 0,
     {"expected a count within the autoscaler's bounds (min_replicas 1, max_replicas 2), got 3", NULL}},
    {"HPA without max_replicas", DEP_WITH("'autoscale': {'policy': 'hpa'}"), "deployments[0].autoscale.max_replicas",
     0, 0, {"required key is missing (expected an integer >= 1)", NULL}},
    {"autoscale without policy", DEP_WITH("'autoscale': {'max_replicas': 2}"), "deployments[0].autoscale.policy", 0, 0,
     {"required key is missing (expected a string)", NULL}},
    {"autoscale policy unknown", DEP_WITH("'autoscale': {'policy': 'vpa'}"), "deployments[0].autoscale.policy", 0, 0,
     {"expected one of \"hpa\", \"kpa\", got \"vpa\"", NULL}},
    {"autoscale a number", DEP_WITH("'autoscale': 3"), "deployments[0].autoscale", 0, 0,
     {"expected an object, got 3", NULL}},
    {"unknown autoscale key", DEP_WITH("'autoscale': {'policy': 'hpa', 'max_replica': 2}"),
     "deployments[0].autoscale.max_replica", 0, 0, {"unknown key 'max_replica'; did you mean 'max_replicas'?", NULL}},
    {"KPA key on an HPA", DEP_WITH("'autoscale': {'policy': 'hpa', 'max_replicas': 2, 'tick_s': 1}"),
     "deployments[0].autoscale.tick_s", 0, 0, {"not used with policy \"hpa\"", "remove it", NULL}},
    {"HPA key on a KPA", DEP_WITH("'autoscale': {'policy': 'kpa', 'tolerance': 0.2}"), "deployments[0].autoscale.tolerance",
     0, 0, {"not used with policy \"kpa\"", NULL}},
    {"HPA min above max", DEP_WITH("'autoscale': {'policy': 'hpa', 'min_replicas': 3, 'max_replicas': 2}"),
     "deployments[0].autoscale.max_replicas", 0, 0, {"expected at least min_replicas (3), got 2", NULL}},
    {"HPA min 0", DEP_WITH("'autoscale': {'policy': 'hpa', 'min_replicas': 0, 'max_replicas': 2}"),
     "deployments[0].autoscale.min_replicas", 0, 0, {"expected an integer in 1..100000, got 0", NULL}},
    {"KPA min above max", DEP_WITH("'autoscale': {'policy': 'kpa', 'min_replicas': 3, 'max_replicas': 2}"),
     "deployments[0].autoscale.max_replicas", 0, 0, {"expected 0 (unbounded) or at least min_replicas (3), got 2", NULL}},
    {"HPA queue without target", DEP_WITH("'autoscale': {'policy': 'hpa', 'metric': 'queue', 'max_replicas': 2}"),
     "deployments[0].autoscale.target", 0, 0, {"required key is missing", NULL}},
    {"HPA metric unknown", DEP_WITH("'autoscale': {'policy': 'hpa', 'metric': 'rps', 'max_replicas': 2}"),
     "deployments[0].autoscale.metric", 0, 0,
     {"expected one of \"utilization\", \"queue\", \"concurrency\", \"kv_usage\", got \"rps\"", NULL}},
    {"HPA utilization over 100 %", DEP_WITH("'autoscale': {'policy': 'hpa', 'target': 120, 'max_replicas': 2}"),
     "deployments[0].autoscale.target", 0, 0, {"expected a number >= 0.001 and <= 100, got 120", NULL}},
    {"HPA tolerance 1", DEP_WITH("'autoscale': {'policy': 'hpa', 'tolerance': 1, 'max_replicas': 2}"),
     "deployments[0].autoscale", 0, 0, {"expected tolerance in [0, 1), got 1", NULL}},
    {"HPA stabilization over an hour",
     DEP_WITH("'autoscale': {'policy': 'hpa', 'scale_down_stabilization_s': 4000, 'max_replicas': 2}"),
     "deployments[0].autoscale.scale_down_stabilization_s", 0, 0, {"expected a number >= 0 and <= 3600, got 4000", NULL}},
    {"HPA sync period 0", DEP_WITH("'autoscale': {'policy': 'hpa', 'sync_period_s': 0, 'max_replicas': 2}"),
     "deployments[0].autoscale.sync_period_s", 0, 0, {"expected a number > 0", "got 0", NULL}},
    {"KPA metric unknown", DEP_WITH("'autoscale': {'policy': 'kpa', 'metric': 'utilization'}"),
     "deployments[0].autoscale.metric", 0, 0, {"expected one of \"concurrency\", \"rps\", got \"utilization\"", NULL}},
    {"KPA panic window under a second",
     DEP_WITH("'autoscale': {'policy': 'kpa', 'stable_window_s': 6, 'panic_window_pct': 10}"), "deployments[0].autoscale",
     0, 0, {"expected panic_window_pct giving 1 s to the stable window, got 10 %", NULL}},
    {"KPA stable window fractional", DEP_WITH("'autoscale': {'policy': 'kpa', 'stable_window_s': 60.5}"),
     "deployments[0].autoscale.stable_window_s", 0, 0, {"expected an integer in 6..3600, got 60.5", NULL}},
    {"KPA panic threshold low", DEP_WITH("'autoscale': {'policy': 'kpa', 'panic_threshold_pct': 100}"),
     "deployments[0].autoscale.panic_threshold_pct", 0, 0, {"expected a number >= 110 and <= 1000, got 100", NULL}},
    {"KPA scale-down rate 1", DEP_WITH("'autoscale': {'policy': 'kpa', 'max_scale_down_rate': 1}"),
     "deployments[0].autoscale.max_scale_down_rate", 0, 0, {"expected a number > 1", "got 1", NULL}},
    {"KPA grace under 6 s", DEP_WITH("'autoscale': {'policy': 'kpa', 'scale_to_zero_grace_s': 5}"),
     "deployments[0].autoscale.scale_to_zero_grace_s", 0, 0, {"expected a number >= 6", "got 5", NULL}},
    {"autoscale on MIG", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'A100', 'count': 2, 'mig': 'all-3g.40gb'}], "
     "'deployments': [{'model': 'm', " SVC ", 'mig_profile': '3g.40gb', 'autoscale': {'policy': 'kpa'}}], " WL "}",
     "deployments[0].autoscale", 0, 0, {"autoscaling replicas on MIG instances of a fixed layout is not modelled", NULL}},
    {"autoscale on a disaggregated deployment",
     LLM_ON("{'gpu': 'H100', 'count': 8}", "'autoscale': {'policy': 'kpa'}, 'disaggregation': {'prefill_replicas': 1, "
            "'decode_replicas': 1}"),
     "deployments[0].autoscale", 0, 0, {"autoscaling a disaggregated deployment is not modelled", NULL}},
    {"max_replicas beyond the pools",
     "{" NAME ", " DUR ", 'fleet': [{'gpu': 'L4', 'count': 4, 'name': 'a', 'max_nodes': 2}, {'gpu': 'L4', 'count': 0, "
     "'name': 'b', 'max_nodes': 3, 'gpus_per_node': 4}], 'deployments': [{'model': 'm', " SVC ", 'gpus_per_replica': 3, "
     "'pools': ['a', 'b'], 'autoscale': {'policy': 'hpa', 'max_replicas': 7}}], " WL "}",
     "deployments[0].autoscale.max_replicas", 0, 0,
     {"expected at most 6 (the replicas that fit), got 7: a replica takes 3 GPUs of one node, and the deployment's pools "
      "reach 5 nodes (24 GPUs) at max_nodes", NULL}},
    {"unbounded KPA with no node wide enough",
     POOLS("'count': 0, 'max_nodes': 2, 'gpus_per_node': 4") "'deployments': [{'model': 'm', " SVC ", "
     "'gpus_per_replica': 8, 'replicas': 0, 'autoscale': {'policy': 'kpa'}}], " WL "}", "deployments[0].autoscale", 0, 0,
     {"expected room for at least one replica, got none: a replica takes 8 GPUs of one node", NULL}},
    /* cold start and failures */
    {"cold_start unknown key", DEP_WITH("'cold_start': {'warmup': 5}"), "deployments[0].cold_start.warmup", 0, 0,
     {"did you mean 'warmup_s'?", NULL}},
    {"cold_start weights negative", DEP_WITH("'cold_start': {'weights_gb': -1}"), "deployments[0].cold_start.weights_gb",
     0, 0, {"expected a number >= 0", "got -1", NULL}},
    {"cold_start a list", DEP_WITH("'cold_start': [10]"), "deployments[0].cold_start", 0, 0,
     {"expected an object, got an array", NULL}},
    {"failures retry not a boolean", HEAD ", " WL ", 'failures': {'retry': 1}}", "failures.retry", 0, 0,
     {"expected true or false, got 1", NULL}},
    {"failures unknown key", HEAD ", " WL ", 'failures': {'retries': 2}}", "failures.retries", 0, 0,
     {"did you mean 'retry'?", NULL}},
    {"missing service", WITH_DEP("'replicas': 2"), "deployments[0].service", 0, 0,
     {"required key is missing (expected an object)", NULL}},
    {"service a number", WITH_DEP("'service': 50"), "deployments[0].service", 0, 0, {"expected an object, got 50", NULL}},
    {"service dist unknown", WITH_DEP("'service': {'dist': 'weibull', 'mean_ms': 50}"), "deployments[0].service.dist", 0, 0,
     {"expected one of \"constant\", \"exponential\", \"lognormal\", got \"weibull\"", NULL}},
    {"service mean_ms 0", WITH_DEP("'service': {'mean_ms': 0}"), "deployments[0].service.mean_ms", 0, 0,
     {"expected a number > 0", "got 0", NULL}},
    {"service mean_ms missing", WITH_DEP("'service': {'dist': 'constant'}"), "deployments[0].service.mean_ms", 0, 0,
     {"required key is missing", NULL}},
    {"service lognormal cv 0", WITH_DEP("'service': {'dist': 'lognormal', 'mean_ms': 5, 'cv': 0}"),
     "deployments[0].service.cv", 0, 0, {"expected a number > 0 and <= 100, got 0", NULL}},
    {"deployment name too long",
     WITH_DEP("'replicas': 1, " SVC "}, {'model': 'm', "
              "'name': '0123456789012345678901234567890123456789012345678901234567890123', " SVC),
     "deployments[1].name", 0, 0, {"expected at most 63 bytes, got 64", NULL}},
    {"duplicate deployment names", "{" NAME ", " DUR ", " FLEET ", 'deployments': [" DEP ", " DEP "], " WL "}",
     "deployments[1].name", 0, 0, {"expected a unique name, got \"embed\" (also deployments[0])", NULL}},
    {"default names collide",
     "{" NAME ", " DUR ", " FLEET ", 'deployments': [{'model': 'm', " SVC "}, {'model': 'm', " SVC "}], " WL "}",
     "deployments[1].name", 0, 0, {"expected a unique name, got \"m\" (also deployments[0])", NULL}},
    /* workload */
    {"missing workload", "{" NAME ", " DUR ", " FLEET ", " DEPS "}", "workload", 0, 0,
     {"required key is missing (expected an object)", NULL}},
    {"workload rate missing", WITH_WL("{'arrival': 'poisson'}"), "workload.rate", 0, 0, {"required key is missing", NULL}},
    {"workload rate negative", WITH_WL("{'rate': -5}"), "workload.rate", 0, 0, {"expected a number > 0", "got -5", NULL}},
    {"workload rate 0", WITH_WL("{'rate': 0}"), "workload.rate", 0, 0, {"expected a number > 0", "got 0", NULL}},
    {"arrival unknown", WITH_WL("{'arrival': 'bursty', 'rate': 10}"), "workload.arrival", 0, 0,
     {"expected one of \"trace\", \"constant\", \"poisson\"", "got \"bursty\"", NULL}},
    {"cv with poisson", WITH_WL("{'arrival': 'poisson', 'rate': 10, 'cv': 2}"), "workload.cv", 0, 0,
     {"only used with \"arrival\": \"gamma\"", NULL}},
    {"gamma cv 0", WITH_WL("{'arrival': 'gamma', 'rate': 10, 'cv': 0}"), "workload.cv", 0, 0,
     {"expected a number > 0 and <= 100, got 0", NULL}},
    {"length dist unknown", WITH_WL("{'rate': 10, 'input': {'dist': 'weird'}}"), "workload.input.dist", 0, 0,
     {"expected one of \"fixed\", \"uniform\"", "got \"weird\"", NULL}},
    {"length a number", WITH_WL("{'rate': 10, 'input': 300}"), "workload.input", 0, 0, {"expected an object, got 300", NULL}},
    {"fixed length 0", WITH_WL("{'rate': 10, 'output': {'value': 0}}"), "workload.output.value", 0, 0,
     {"expected a number >= 1", "got 0", NULL}},
    {"uniform max < min", WITH_WL("{'rate': 10, 'input': {'dist': 'uniform', 'min': 100, 'max': 50}}"),
     "workload.input.max", 0, 0, {"expected a number >= min (100), got 50", NULL}},
    {"uniform without max", WITH_WL("{'rate': 10, 'input': {'dist': 'uniform', 'min': 100}}"), "workload.input.max", 0, 0,
     {"required key is missing", NULL}},
    {"lognormal without mean", WITH_WL("{'rate': 10, 'output': {'dist': 'lognormal', 'cv': 1}}"), "workload.output.mean", 0, 0,
     {"required key is missing", NULL}},
    {"lognormal max < min", WITH_WL("{'rate': 10, 'input': {'dist': 'lognormal', 'mean': 50, 'min': 20, 'max': 10}}"),
     "workload.input.max", 0, 0, {"expected a number >= min (20), got 10", NULL}},
    {"trace arrival without trace", WITH_WL("{'arrival': 'trace'}"), "workload.trace", 0, 0,
     {"required key is missing (expected an object)", NULL}},
    {"trace without path", WITH_WL("{'arrival': 'trace', 'trace': {'format': 'azure'}}"), "workload.trace.path", 0, 0,
     {"required key is missing (expected a string)", NULL}},
    {"trace format unknown", WITH_WL("{'arrival': 'trace', 'trace': {'path': 'a.csv', 'format': 'json'}}"),
     "workload.trace.format", 0, 0, {"expected one of \"azure\", \"burstgpt\", \"mooncake\", \"vllm\", \"csv\", \"jsonl\", got \"json\"", NULL}},
    {"trace with rate", WITH_WL("{'arrival': 'trace', 'rate': 5, 'trace': {'path': 'a.csv'}}"), "workload.rate", 0, 0,
     {"not used with arrival \"trace\"", "remove it", NULL}},
    {"trace with input lengths", WITH_WL("{'arrival': 'trace', 'input': {'value': 5}, 'trace': {'path': 'a.csv'}}"),
     "workload.input", 0, 0, {"not used with arrival \"trace\"", NULL}},
    {"trace section with poisson", WITH_WL("{'rate': 5, 'trace': {'path': 'a.csv'}}"), "workload.trace", 0, 0,
     {"only used with \"arrival\": \"trace\"", NULL}},
    {"workload names a missing deployment", WITH_WL("{'rate': 5, 'deployment': 'nope'}"), "workload.deployment", 0, 0,
     {"expected the name of a deployment, got \"nope\"", NULL}},
    /* MIG partitioning */
#define MIGF(layout) "{" NAME ", " DUR ", 'fleet': [{'gpu': 'A100-SXM4-80GB', 'count': 2, 'mig': '" layout "'}], "
#define MIGD(extra) "'deployments': [{'model': 'meta-llama/Llama-3.1-8B', 'kind': 'llm', " extra "}], " WL "}"
    {"MIG layout overflows memory", MIGF("3g.40gb,3g.40gb,1g.10gb") MIGD("'mig_profile': '3g.40gb'"), "fleet[0].mig", 0, 0,
     {"memory slices exhausted on A100-SXM4-80GB", "need 9 of 8", NULL}},
    {"MIG profile unknown", MIGF("all-5g.50gb") MIGD("'mig_profile': '3g.40gb'"), "fleet[0].mig", 0, 0,
     {"5g.50gb", NULL}},
    {"MIG too many instances", MIGF("4g.40gb,4g.40gb") MIGD("'mig_profile': '4g.40gb'"), "fleet[0].mig", 0, 0,
     {"4g.40gb", NULL}},
    {"MIG on a GPU without geometry", HEAD_L4_MIG, "fleet[0].mig", 0, 0, {"no MIG geometry is known for L4", NULL}},
    {"MIG profile not in the layout", MIGF("all-3g.40gb") MIGD("'mig_profile': '2g.20gb'"), "deployments[0].mig_profile",
     0, 0, {"expected a profile of fleet[0]'s MIG layout (3g.40gb), got \"2g.20gb\"", NULL}},
    {"MIG profile missing", MIGF("all-3g.40gb") MIGD("'replicas': 1"), "deployments[0].mig_profile", 0, 0,
     {"partitioned into MIG instances", NULL}},
    {"MIG profile on whole GPUs", "{" NAME ", " DUR ", " FLEET ", 'deployments': [{'model': 'm', " SVC ", 'mig_profile': "
     "'1g.10gb'}], " WL "}",
     "deployments[0].mig_profile", 0, 0, {"has no \"mig\" layout", NULL}},
    {"MIG instances short", MIGF("all-3g.40gb") MIGD("'mig_profile': '3g.40gb', 'replicas': 5"), "fleet[0]", 0, 0,
     {"deployments need 5 MIG instances 3g.40gb, the fleet has 4 (2 GPUs of A100-SXM4-80GB)", NULL}},
    {"MIG with tp 2", MIGF("all-3g.40gb") MIGD("'mig_profile': '3g.40gb', 'tp': 2"), "deployments[0].tp", 0, 0,
     {"no peer-to-peer link", NULL}},
    {"model too big for the instance", MIGF("all-1g.10gb") MIGD("'mig_profile': '1g.10gb'"), "deployments[0].model", 0, 0,
     {"does not fit on a MIG instance 1g.10gb of A100-SXM4-80GB", "use a larger profile or whole GPUs", NULL}},
    {"empty cluster label", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'L4', 'count': 4, 'cluster': ''}], " DEPS ", " WL "}",
     "fleet[0].cluster", 0, 0, {"expected a non-empty string", NULL}},
    /* MIG instances made on demand */
#define DYNF(extra) "{" NAME ", " DUR ", 'fleet': [{'gpu': 'A100-SXM4-80GB', 'count': 2, 'gpus_per_node': 2, " \
    "'mig': 'dynamic'" extra "}], "
    {"dynamic MIG: unknown profile", DYNF("") MIGD("'mig_profile': '5g.50gb'"), "deployments[0].mig_profile", 0, 0,
     {"expected a MIG profile of A100-SXM4-80GB (1g.10gb", "got \"5g.50gb\"", NULL}},
    {"dynamic MIG: profile missing", DYNF("") MIGD("'replicas': 1"), "deployments[0].mig_profile", 0, 0,
     {"required key is missing", "name the profile each replica takes", NULL}},
    {"dynamic MIG: no room", DYNF("") MIGD("'mig_profile': '4g.40gb', 'replicas': 3"), "deployments[0]", 0, 0,
     {"replica 3 of meta-llama/Llama-3.1-8B needs a MIG instance 4g.40gb, and no GPU of fleet[0] (2 GPUs) has room",
      "placed by mig_aware", NULL}},
    {"dynamic MIG: policy unknown", DYNF(", 'mig_policy': 'spread'") MIGD("'mig_profile': '1g.10gb'"),
     "fleet[0].mig_policy", 0, 0, {"first_fit\", \"best_fit\", \"mig_aware", NULL}},
    {"dynamic MIG: a part node", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'A100-SXM4-80GB', 'count': 2, 'mig': 'dynamic'}], "
     MIGD("'mig_profile': '1g.10gb'"), "fleet[0]", 0, 0, {"expected count to be a multiple of gpus_per_node (8), got 2",
                                                          NULL}},
    {"MIG policy on a whole-GPU pool", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'L4', 'count': 4, 'mig_repartition': true}], "
     DEPS ", " WL "}", "fleet[0].mig_repartition", 0, 0, {"applies to a pool with \"mig\": \"dynamic\" only", NULL}},
    /* GPU sharing (time-slicing, MPS) */
#define SHF(sharing) "{" NAME ", " DUR ", 'fleet': [{'gpu': 'H100-SXM', 'count': 1, 'sharing': " sharing "}], "
#define SHD(extra) "'deployments': [{'model': 'meta-llama/Llama-3.1-8B', 'kind': 'llm', " extra "}], " WL "}"
    {"sharing one replica per GPU", SHF("{'replicas': 1}") SHD("'replicas': 1"), "fleet[0].sharing.replicas", 0, 0,
     {"expected an integer in 2..48, got 1", NULL}},
    {"sharing mode unknown", SHF("{'mode': 'vgpu', 'replicas': 2}") SHD("'replicas': 1"), "fleet[0].sharing.mode", 0, 0,
     {"time_slicing\", \"mps", "got \"vgpu\"", NULL}},
    {"sharing without replicas", SHF("{'mode': 'mps'}") SHD("'replicas': 1"), "fleet[0].sharing.replicas", 0, 0,
     {"required key is missing", NULL}},
    {"switch overhead under MPS", SHF("{'mode': 'mps', 'replicas': 2, 'switch_overhead': 0.1}") SHD("'replicas': 1"),
     "fleet[0].sharing", 0, 0, {"switch_overhead applies to time_slicing only", NULL}},
    {"MIG and sharing", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'A100-SXM4-80GB', 'count': 1, 'mig': 'all-1g.10gb', "
     "'sharing': {'replicas': 2}}], " MIGD("'mig_profile': '1g.10gb'"), "fleet[0].sharing", 0, 0,
     {"either partitioned by MIG or shared, not both", NULL}},
    {"co-tenants overflow memory", SHF("{'replicas': 2}") SHD("'replicas': 2"), "fleet[0]", 0, 0,
     {"GPU 0 of node 0 holds replicas of meta-llama/Llama-3.1-8B, meta-llama/Llama-3.1-8B, which do not fit together",
      "lower their engine.gpu_memory_utilization", NULL}},
    {"tp 2 on a shared pool", "{" NAME ", " DUR ", 'fleet': [{'gpu': 'H100-SXM', 'count': 2, 'sharing': {'replicas': 2}}], "
     SHD("'replicas': 1, 'tp': 2, 'gpus_per_replica': 2, 'engine': {'gpu_memory_utilization': 0.45}"), "deployments[0]", 0, 0,
     {"takes one share of one GPU: expected gpus_per_replica 1 and tp 1, got 2 and 2", NULL}},
    {"autoscale on a shared pool", SHF("{'replicas': 2}")
     SHD("'replicas': 1, 'engine': {'gpu_memory_utilization': 0.45}, 'autoscale': {'policy': 'hpa', 'max_replicas': 2}"),
     "deployments[0].autoscale", 0, 0, {"autoscaling replicas on a shared pool is not modelled", NULL}},
    /* regions */
    {"regions not an object", HEAD ", " WL ", 'regions': 3}", "regions", 0, 0, {"expected an object, got 3", NULL}},
    {"region policy unknown", HEAD ", " WL ", 'regions': {'policy': 'nearest'}}", "regions.policy", 0, 0,
     {"local\", \"spillover\", \"least_loaded", "got \"nearest\"", NULL}},
    {"region key misspelt", HEAD ", " WL ", 'regions': {'latency': {}}}", "regions.latency", 0, 0,
     {"did you mean 'latency_ms'?", NULL}},
    {"spill load 0", HEAD ", " WL ", 'regions': {'policy': 'spillover', 'spill_load': 0}}", "regions.spill_load", 0, 0,
     {"got 0", NULL}},
    {"negative latency", HEAD ", " WL ", 'regions': {'latency_ms': {'a': {'b': -5}}}}", "regions.latency_ms.a.b", 0, 0,
     {"expected milliseconds in 0..1e6, got -5", NULL}},
    {"latency within a region", HEAD ", " WL ", 'regions': {'latency_ms': {'a': {'a': 5}}}}", "regions.latency_ms.a.a",
     0, 0, {"expected 0 within one region, got 5", NULL}},
    {"latency row not an object", HEAD ", " WL ", 'regions': {'latency_ms': {'a': 5}}}", "regions.latency_ms.a", 0, 0,
     {"expected an object of region: milliseconds, got 5", NULL}},
    {"residency empty", HEAD ", " WL ", 'regions': {'residency': {'eu': []}}}", "regions.residency.eu", 0, 0,
     {"expected a non-empty array of region names", NULL}},
    {"residency not names", HEAD ", " WL ", 'regions': {'residency': {'eu': ['eu', 7]}}}", "regions.residency.eu[1]",
     0, 0, {"expected a region name, got 7", NULL}},
    /* energy */
    {"memory weight 0", HEAD ", " WL ", 'energy': {'memory_weight': 0}}", "energy.memory_weight", 0, 0, {"got 0", NULL}},
    {"compute weight too big", HEAD ", " WL ", 'energy': {'compute_weight': 11}}", "energy.compute_weight", 0, 0,
     {"got 11", NULL}},
    {"energy key misspelt", HEAD ", " WL ", 'energy': {'memory': 0.5}}", "energy.memory", 0, 0,
     {"did you mean 'memory_weight'?", NULL}},
    /* admission */
    {"rate limit without rps", HEAD ", " WL ", 'admission': {'rate_limits': {'a': {'burst': 3}}}}",
     "admission.rate_limits.a.rps", 0, 0, {"required key is missing", NULL}},
    {"rate limit of 0", HEAD ", " WL ", 'admission': {'rate_limits': {'a': {'rps': 0}}}}", "admission.rate_limits.a.rps",
     0, 0, {"got 0", NULL}},
    {"rate limit not an object", HEAD ", " WL ", 'admission': {'rate_limits': {'a': 5}}}", "admission.rate_limits.a", 0, 0,
     {"expected an object with rps and burst, got 5", NULL}},
    {"burst below 1", HEAD ", " WL ", 'admission': {'rate_limits': {'a': {'rps': 2, 'burst': 0.5}}}}",
     "admission.rate_limits.a.burst", 0, 0, {"got 0.5", NULL}},
    {"too many retries", HEAD ", " WL ", 'admission': {'retries': 1000}}", "admission.retries", 0, 0, {"got 1000", NULL}},
    {"admission unknown key", HEAD ", " WL ", 'admission': {'retry': 2}}", "admission.retry", 0, 0,
     {"unknown key 'retry'", NULL}},
    /* several sources, transforms, trace options */
    {"sources not an array", WITH_WL("{'sources': 5}"), "workload.sources", 0, 0,
     {"expected an array of 1 to 4096 sources, got 5", NULL}},
    {"sources empty", WITH_WL("{'sources': []}"), "workload.sources", 0, 0, {"expected an array of 1 to 4096", NULL}},
    {"key beside sources", WITH_WL("{'sources': [{'rate': 5}], 'rate': 3}"), "workload.rate", 0, 0,
     {"every key belongs to a source", NULL}},
    {"second source's deployment", WITH_WL("{'sources': [{'rate': 5}, {'rate': 5, 'deployment': 'x'}]}"),
     "workload.sources[1].deployment", 0, 0, {"expected the name of a deployment, got \"x\"", NULL}},
    {"source not an object", WITH_WL("{'sources': [{'rate': 5}, 7]}"), "workload.sources[1]", 0, 0,
     {"expected an object, got 7", NULL}},
    {"window on a synthetic source", WITH_WL("{'rate': 5, 'window': {'end': 10}}"), "workload.window", 0, 0,
     {"only used with \"arrival\": \"trace\"", NULL}},
    {"window end before start", WITH_WL("{'arrival': 'trace', 'trace': {'path': 'a.csv'}, 'window': {'start': 10, 'end': 5}}"),
     "workload.window.end", 0, 0, {"expected more than start (10 s), got 5 s", NULL}},
    {"window unknown key", WITH_WL("{'arrival': 'trace', 'trace': {'path': 'a.csv'}, 'window': {'begin': 1}}"),
     "workload.window.begin", 0, 0, {"unknown key", NULL}},
    {"sample 0", WITH_WL("{'arrival': 'trace', 'trace': {'path': 'a.csv'}, 'sample': 0}"), "workload.sample", 0, 0,
     {"got 0", NULL}},
    {"sample above 1", WITH_WL("{'arrival': 'trace', 'trace': {'path': 'a.csv'}, 'sample': 1.5}"), "workload.sample", 0, 0,
     {"got 1.5", NULL}},
    {"speedup and mean_rate", WITH_WL("{'arrival': 'trace', 'trace': {'path': 'a.csv'}, 'speedup': 2, 'mean_rate': 3}"),
     "workload.mean_rate", 0, 0, {"not both", NULL}},
    {"loop 0", WITH_WL("{'arrival': 'trace', 'trace': {'path': 'a.csv'}, 'loop': 0}"), "workload.loop", 0, 0, {"got 0", NULL}},
    {"limit negative", WITH_WL("{'rate': 5, 'limit': -1}"), "workload.limit", 0, 0, {"got -1", NULL}},
    {"speedup inside trace", WITH_WL("{'arrival': 'trace', 'trace': {'path': 'a.csv', 'speedup': 2}}"),
     "workload.trace.speedup", 0, 0, {"unknown key", NULL}},
    {"csv without columns", WITH_WL("{'arrival': 'trace', 'trace': {'path': 'a.csv', 'format': 'csv'}}"),
     "workload.trace.columns", 0, 0, {"required key is missing", NULL}},
    {"columns without input", WITH_WL("{'arrival': 'trace', 'trace': {'path': 'a.csv', 'format': 'csv', 'columns': "
                                      "{'arrival': 't', 'output': 'o'}}}"),
     "workload.trace.columns.input", 0, 0, {"required key is missing", NULL}},
    {"arrival unit unknown", WITH_WL("{'arrival': 'trace', 'trace': {'path': 'a.csv', 'format': 'jsonl', 'columns': "
                                     "{'arrival': 't', 'input': 'i', 'output': 'o', 'arrival_unit': 'h'}}}"),
     "workload.trace.columns.arrival_unit", 0, 0, {"expected one of \"s\", \"ms\", \"us\", \"datetime\", got \"h\"", NULL}},
    {"model filter on azure", WITH_WL("{'arrival': 'trace', 'trace': {'path': 'a.csv', 'model': 'GPT-4'}}"),
     "workload.trace.model", 0, 0, {"not used with format \"azure\"", NULL}},
    {"columns on mooncake", WITH_WL("{'arrival': 'trace', 'trace': {'path': 'a.jsonl', 'format': 'mooncake', 'columns': {}}}"),
     "workload.trace.columns", 0, 0, {"not used with format \"mooncake\"", NULL}},
    {"sort window negative", WITH_WL("{'arrival': 'trace', 'trace': {'path': 'a.csv', 'sort_window': -1}}"),
     "workload.trace.sort_window", 0, 0, {"got -1", NULL}},
    {"tenant not a string", WITH_WL("{'rate': 5, 'tenant': 3}"), "workload.tenant", 0, 0, {"expected a string, got 3", NULL}},
    {"priority out of range", WITH_WL("{'rate': 5, 'priority': 10000000}"), "workload.priority", 0, 0, {"got 10000000", NULL}},
    /* router, slo, output */
    /* keys the chosen dist does not use */
    {"fixed length with mean", WITH_WL("{'rate': 10, 'input': {'mean': 300}}"), "workload.input.mean", 0, 0,
     {"not used with dist \"fixed\" (its keys: dist, value); remove it", NULL}},
    {"uniform length with value", WITH_WL("{'rate': 10, 'output': {'dist': 'uniform', 'min': 1, 'max': 9, 'value': 3}}"),
     "workload.output.value", 0, 0, {"not used with dist \"uniform\" (its keys: dist, min, max); remove it", NULL}},
    {"exponential service with cv", WITH_DEP("'service': {'mean_ms': 50, 'cv': 2}"), "deployments[0].service.cv", 0, 0,
     {"not used with dist \"exponential\" (its keys: dist, mean_ms); remove it", NULL}},
    {"router policy unknown", HEAD ", " WL ", 'router': {'policy': 'fastest'}}", "router.policy", 0, 0,
     {"expected one of \"round_robin\", \"random\", \"least_outstanding\", \"central_queue\", \"least_tokens\", "
      "\"power_of_two\", \"kv_utilization\", \"scored\", \"session_affinity\", got \"fastest\"", NULL}},
    {"router a string", HEAD ", " WL ", 'router': 'random'}", "router", 0, 0, {"expected an object, got \"random\"", NULL}},
    {"slo ttft negative", HEAD ", " WL ", 'slo': {'ttft_ms': -1}}", "slo.ttft_ms", 0, 0,
     {"expected a number > 0", "got -1", NULL}},
    {"slo e2e null", HEAD ", " WL ", 'slo': {'e2e_ms': null}}", "slo.e2e_ms", 0, 0,
     {"expected a number > 0", "got null", NULL}},
    {"output.requests not a boolean", HEAD ", " WL ", 'output': {'requests': 'yes'}}", "output.requests", 0, 0,
     {"expected true or false, got \"yes\"", NULL}},
    {"output.requests a number", HEAD ", " WL ", 'output': {'requests': 1}}", "output.requests", 0, 0,
     {"expected true or false, got 1", NULL}},
    {"timeseries_interval negative", HEAD ", " WL ", 'output': {'timeseries_interval': -1}}",
     "output.timeseries_interval", 0, 0,
     {"expected a number >= 0", "got -1", NULL}},
};

#define NBAD (sizeof bad_cases / sizeof bad_cases[0])

/* Load one bad case and check all a user would see. */
static void check_bad(const bad_case *c)
{
    char path[64], msg[1024], prefix[128];
    fs_error err;
    scenario sc;
    int before = h_failed_checks;
    int rc = load_text(c->json, NULL, &sc, path, sizeof path, &err, msg, sizeof msg);
    CHECK_INT(rc, -1);
    /* nothing left behind */
    CHECK(sc.resolved_json == NULL);
    CHECK(sc.sources == NULL);
    CHECK_STR(err.source, path);
    CHECK_STR(err.path, c->path);
    if (c->line > 0) {
        /* "file:LINE:COL: message" */
        snprintf(prefix, sizeof prefix, "%s:%d:", path, c->line);
        CHECK_INT(err.line, c->line);
        if (c->col > 0) {
            snprintf(prefix, sizeof prefix, "%s:%d:%d: ", path, c->line, c->col);
            CHECK_INT(err.column, c->col);
        }
        CHECK(starts_with(msg, prefix));
    } else {
        /* "file: path: message" */
        snprintf(prefix, sizeof prefix, "%s: %s: ", path, c->path);
        CHECK_INT(err.line, 0);
        CHECK(starts_with(msg, prefix));
    }
    CHECK(strlen(err.msg) > 0);
    for (int i = 0; i < 4 && c->want[i]; i++) CHECK_CONTAINS(msg, c->want[i]);
    if (h_failed_checks != before || getenv("FS_TEST_VERBOSE"))
        fprintf(stderr, "  %s case \"%s\": %s\n", h_failed_checks != before ? "failed" : "ok", c->name, msg);
}

static void test_bad_scenarios(void)
{
    CHECK(NBAD >= 25);
    for (size_t i = 0; i < NBAD; i++) check_bad(&bad_cases[i]);
    /* every case is distinct */
    for (size_t i = 0; i < NBAD; i++)
        for (size_t j = i + 1; j < NBAD; j++) {
            CHECK(strcmp(bad_cases[i].json, bad_cases[j].json) != 0);
            CHECK(strcmp(bad_cases[i].name, bad_cases[j].name) != 0);
        }
}

/* The base of the bad cases is itself good, so each case fails for the one reason it shows. */
static void test_bad_cases_base_is_good(void)
{
    scenario sc;
    if (load_good(GOOD, NULL, &sc) == 0) scenario_fini(&sc);
    if (load_good(WITH_DEP("'replicas': 2, " SVC), NULL, &sc) == 0) scenario_fini(&sc);
    if (load_good(WITH_WL("{'rate': 10, 'input': {'dist': 'uniform', 'min': 100, 'max': 100}}"), NULL, &sc) == 0)
        scenario_fini(&sc);
}

static void test_file_not_found(void)
{
    const char *path = "/tmp/fs_test_scenario_no_such_dir/none.json";
    scenario sc;
    fs_error err;
    char msg[1024];
    fs_error_clear(&err);
    CHECK_INT(scenario_load(path, NULL, &sc, &err), -1);
    CHECK(sc.resolved_json == NULL);
    fs_error_format(&err, msg, sizeof msg);
    CHECK(starts_with(msg, path));
    CHECK_CONTAINS(msg, "unable to open");
    CHECK_CONTAINS(msg, "No such file or directory");
}

/* An error with a NULL fs_error must not crash (callers may only want the status). */
static void test_null_error(void)
{
    char path[64];
    scenario sc;
    tmp_scenario("{'name': 5}", path, sizeof path);
    CHECK_INT(scenario_load(path, NULL, &sc, NULL), -1);
    unlink(path);
}

/* ---- good scenarios ---- */

static void test_quickstart(void)
{
    scenario sc;
    fs_error err;
    char msg[1024];
    fs_error_clear(&err);
    int rc = scenario_load(FS_SOURCE_DIR "/scenarios/quickstart.json", NULL, &sc, &err);
    if (rc) fprintf(stderr, "  %s\n", fs_error_format(&err, msg, sizeof msg));
    CHECK_INT(rc, 0);
    if (rc) return;
    const sim_config *cfg = &sc.cfg;
    CHECK_STR(sc.name, "quickstart");
    CHECK_INT(cfg->seed, 42);
    CHECK_INT(cfg->duration, 120 * (int64_t)1000000000);
    CHECK_INT(cfg->warmup, 10 * (int64_t)1000000000);
    CHECK_INT(cfg->max_requests, 0);
    CHECK_INT(cfg->drain_timeout, -1);
    CHECK_INT(cfg->sample_interval, 1000000000);
    CHECK_INT(cfg->nfleet, 1);
    CHECK_STR(cfg->fleet[0].gpu, "L4");
    CHECK_INT(cfg->fleet[0].count, 4);
    CHECK_NEAR(cfg->fleet[0].price_per_hour, 0.80, 1e-12); /* the catalog's default */
    CHECK_INT(cfg->ndeployments, 1);
    const sim_deployment *d = &cfg->deployments[0];
    CHECK_STR(d->name, "embed");
    CHECK_STR(d->model, "BAAI/bge-large-en-v1.5");
    CHECK_INT(d->replicas, 4);
    CHECK_INT(d->gpus_per_replica, 1);
    CHECK_INT(d->max_batch, 1);
    CHECK_INT(d->gpu, 0);
    CHECK_INT(d->service, SIM_SERVICE_EXPONENTIAL);
    CHECK_NEAR(d->service_mean_s, 0.050, 1e-15);
    CHECK_INT(d->router, SIM_ROUTER_LEAST_OUTSTANDING);
    CHECK_INT(cfg->slo_ttft, 200 * (int64_t)1000000);
    CHECK_INT(cfg->slo_e2e, 200 * (int64_t)1000000);
    CHECK_INT(cfg->slo_tpot, 0);
    CHECK(sc.nsources == 1 && !sc.sources[0].is_trace);
    CHECK(!sc.store_requests);
    CHECK_INT(sc.sources[0].xf.target, 0);
    CHECK_INT(sc.sources[0].synth.arrival, WL_ARRIVAL_POISSON);
    CHECK_NEAR(sc.sources[0].synth.rate, 60, 0);
    CHECK_INT(sc.sources[0].synth.target, 0);
    CHECK_INT(sc.sources[0].synth.input.dist, WL_DIST_LOGNORMAL);
    CHECK_NEAR(sc.sources[0].synth.input.mean, 300, 0);
    CHECK_NEAR(sc.sources[0].synth.input.cv, 0.8, 0);
    CHECK_NEAR(sc.sources[0].synth.input.min, 1, 0);
    CHECK_NEAR(sc.sources[0].synth.input.max, 512, 0);
    CHECK_INT(sc.sources[0].synth.output.dist, WL_DIST_FIXED);
    CHECK_NEAR(sc.sources[0].synth.output.value, 1, 0);
    /* the resolved JSON keeps the file's values and adds the defaults */
    CHECK_CONTAINS(sc.resolved_json, "\"name\":\"quickstart\"");
    CHECK_CONTAINS(sc.resolved_json, "\"seed\":42");
    CHECK_CONTAINS(sc.resolved_json, "\"policy\":\"least_outstanding\"");
    CHECK_CONTAINS(sc.resolved_json, "\"drain_timeout\":null");
    CHECK_CONTAINS(sc.resolved_json, "\"gpus_per_replica\":1");
    CHECK_CONTAINS(sc.resolved_json, "\"max_batch\":1");
    CHECK_CONTAINS(sc.resolved_json, "\"price_per_hour\":0.8");
    CHECK_CONTAINS(sc.resolved_json, "\"requests\":false");
    CHECK_CONTAINS(sc.resolved_json, "\"deployment\":\"embed\"");
    CHECK(strchr(sc.resolved_json, '\n') == NULL); /* compact */
    scenario_fini(&sc);
    CHECK(sc.resolved_json == NULL);
    scenario_fini(&sc); /* twice is harmless */
}

/* The resolved JSON is itself a scenario that loads to the same configuration. */
static void test_resolved_reloads(void)
{
    scenario a, b;
    fs_error err;
    char path[64], msg[1024];
    fs_error_clear(&err);
    int rc = scenario_load(FS_SOURCE_DIR "/scenarios/quickstart.json", NULL, &a, &err);
    CHECK_INT(rc, 0);
    if (rc) return;
    /* resolved JSON holds no single quotes to swap: the model and description have none */
    CHECK(strchr(a.resolved_json, '\'') == NULL);
    rc = load_text(a.resolved_json, NULL, &b, path, sizeof path, &err, msg, sizeof msg);
    if (rc) fprintf(stderr, "  %s\n", msg);
    CHECK_INT(rc, 0);
    if (rc == 0) {
        CHECK_STR(b.resolved_json, a.resolved_json);
        CHECK(memcmp(&a.cfg, &b.cfg, sizeof a.cfg) == 0);
        CHECK(memcmp(&a.sources[0].synth, &b.sources[0].synth, sizeof a.sources[0].synth) == 0);
        scenario_fini(&b);
    }
    scenario_fini(&a);
}

static void test_minimal_defaults(void)
{
    scenario sc;
    if (load_good("{'name': 'min', 'requests': 500, 'fleet': {'gpu': 'h100', 'count': 2},"
                  " 'deployments': [{'model': 'org/model', 'service': {'mean_ms': 20}}],"
                  " 'workload': {'rate': 5}}",
                  NULL, &sc))
        return;
    const sim_config *cfg = &sc.cfg;
    CHECK_STR(sc.name, "min");
    CHECK_INT(cfg->seed, 1);
    CHECK_INT(cfg->duration, FS_TIME_MAX); /* no duration: arrivals stop after `requests` */
    CHECK_INT(cfg->max_requests, 500);
    CHECK_INT(cfg->warmup, 0);
    CHECK_INT(cfg->drain_timeout, -1);
    CHECK_INT(cfg->sample_interval, 1000000000);
    CHECK_INT(cfg->slo_ttft, 0);
    CHECK_INT(cfg->slo_tpot, 0);
    CHECK_INT(cfg->slo_e2e, 0);
    CHECK_INT(cfg->nfleet, 1);
    CHECK_STR(cfg->fleet[0].gpu, "H100-SXM"); /* alias to canonical; one object for the array */
    CHECK_NEAR(cfg->fleet[0].price_per_hour, 4.00, 1e-12);
    const sim_deployment *d = &cfg->deployments[0];
    CHECK_STR(d->name, "org/model"); /* the name defaults to the model */
    CHECK_INT(d->replicas, 1);
    CHECK_INT(d->gpus_per_replica, 1);
    CHECK_INT(d->max_batch, 1);
    CHECK_INT(d->service, SIM_SERVICE_EXPONENTIAL);
    CHECK_NEAR(d->service_mean_s, 0.020, 1e-15);
    CHECK_INT(d->router, SIM_ROUTER_ROUND_ROBIN);
    CHECK_INT(sc.sources[0].synth.arrival, WL_ARRIVAL_POISSON);
    CHECK_INT(sc.sources[0].synth.input.dist, WL_DIST_FIXED);
    CHECK_NEAR(sc.sources[0].synth.input.value, 1, 0);
    CHECK_INT(sc.sources[0].synth.output.dist, WL_DIST_FIXED);
    CHECK_NEAR(sc.sources[0].synth.output.value, 1, 0);
    const char *r = sc.resolved_json;
    CHECK_CONTAINS(r, "\"router\":{\"policy\":\"round_robin\",\"scrape_interval_ms\":50.0}");
    CHECK_CONTAINS(r, "\"warmup\":0");
    CHECK_CONTAINS(r, "\"seed\":1,");
    CHECK_CONTAINS(r, "\"kind\":\"fixed\"");
    CHECK_CONTAINS(r, "\"gpu\":\"H100-SXM\""); /* the deployment's GPU: the fleet's first */
    CHECK_CONTAINS(r, "\"name\":\"org/model\"");
    CHECK_CONTAINS(r, "\"dist\":\"exponential\"");
    CHECK_CONTAINS(r, "\"arrival\":\"poisson\"");
    CHECK_CONTAINS(r, "\"fleet\":[{");
    CHECK_CONTAINS(r, "\"slo\":{}");
    CHECK_CONTAINS(r, "\"timeseries_interval\":1");
    CHECK_CONTAINS(r, "\"requests\":500");
    CHECK(strstr(r, "\"duration\"") == NULL); /* not made up */
    scenario_fini(&sc);
}

static void test_good_variants(void)
{
    scenario sc;
    /* two deployments on two GPU types; the workload goes to the second; 2.0 counts as 2 */
    if (load_good("{'name': 'two', 'seed': 7, 'duration': 1.5, 'warmup': 0.25, 'drain_timeout': 3,"
                  " 'fleet': [{'gpu': 'L4', 'count': 4}, {'gpu': 'A100', 'count': 8, 'price_per_hour': 1.25}],"
                  " 'deployments': [{'name': 'a', 'model': 'm', " SVC "},"
                  "   {'name': 'b', 'model': 'm', 'gpu': 'a100-80gb', 'replicas': 2.0, 'gpus_per_replica': 4,"
                  "    'max_batch': 8, 'service': {'dist': 'lognormal', 'mean_ms': 1.5, 'cv': 2}}],"
                  " 'workload': {'arrival': 'gamma', 'cv': 3, 'rate': 12.5, 'deployment': 'b',"
                  "   'input': {'dist': 'uniform', 'min': 10, 'max': 20}},"
                  " 'router': {'policy': 'central_queue'}, 'slo': {'tpot_ms': 0.5},"
                  " 'output': {'requests': true, 'timeseries_interval': 0}}",
                  NULL, &sc) == 0) {
        const sim_config *cfg = &sc.cfg;
        CHECK_INT(cfg->seed, 7);
        CHECK_INT(cfg->duration, 1500000000);
        CHECK_INT(cfg->warmup, 250000000);
        CHECK_INT(cfg->drain_timeout, 3000000000);
        CHECK_INT(cfg->sample_interval, 0);
        CHECK_INT(cfg->slo_tpot, 500000);
        CHECK_INT(cfg->nfleet, 2);
        CHECK_STR(cfg->fleet[1].gpu, "A100-SXM4-80GB");
        CHECK_NEAR(cfg->fleet[1].price_per_hour, 1.25, 0);
        CHECK_INT(cfg->ndeployments, 2);
        CHECK_INT(cfg->deployments[0].gpu, 0);
        CHECK_INT(cfg->deployments[1].gpu, 1);
        CHECK_INT(cfg->deployments[1].replicas, 2);
        CHECK_INT(cfg->deployments[1].gpus_per_replica, 4);
        CHECK_INT(cfg->deployments[1].max_batch, 8);
        CHECK_INT(cfg->deployments[1].service, SIM_SERVICE_LOGNORMAL);
        CHECK_NEAR(cfg->deployments[1].service_mean_s, 0.0015, 1e-15);
        CHECK_NEAR(cfg->deployments[1].service_cv, 2, 0);
        CHECK_INT(cfg->deployments[0].router, SIM_ROUTER_CENTRAL_QUEUE);
        CHECK_INT(cfg->deployments[1].router, SIM_ROUTER_CENTRAL_QUEUE);
        CHECK_INT(sc.sources[0].xf.target, 1);
        CHECK_INT(sc.sources[0].synth.target, 1);
        CHECK_INT(sc.sources[0].synth.arrival, WL_ARRIVAL_GAMMA);
        CHECK_NEAR(sc.sources[0].synth.cv, 3, 0);
        CHECK_NEAR(sc.sources[0].synth.rate, 12.5, 0);
        CHECK_INT(sc.sources[0].synth.input.dist, WL_DIST_UNIFORM);
        CHECK_NEAR(sc.sources[0].synth.input.min, 10, 0);
        CHECK_NEAR(sc.sources[0].synth.input.max, 20, 0);
        CHECK(sc.store_requests);
        scenario_fini(&sc);
    }
    /* the fleet exactly full; warmup just under the duration; drain_timeout null allowed */
    if (load_good(HEAD ", " WL ", 'warmup': 59.999, 'drain_timeout': null}", NULL, &sc) == 0) {
        CHECK_INT(sc.cfg.drain_timeout, -1);
        scenario_fini(&sc);
    }
    if (load_good(WITH_DEP("'replicas': 2, 'gpus_per_replica': 2, " SVC), NULL, &sc) == 0) scenario_fini(&sc);
}

/* ---- --set and --seed ---- */

static int load_quickstart(const char *const *sets, int nsets, scenario *sc, fs_error *err, char *msg, size_t size)
{
    scenario_opts o = {sets, nsets, false, 0, NULL, 0, false, 0};
    fs_error_clear(err);
    msg[0] = '\0';
    int rc = scenario_load(FS_SOURCE_DIR "/scenarios/quickstart.json", &o, sc, err);
    if (rc) fs_error_format(err, msg, size);
    return rc;
}

static void test_set_overrides(void)
{
    scenario sc;
    fs_error err;
    char msg[1024];
    const char *sets[] = {"workload.rate=40", "deployments[0].replicas=3", "router.policy=random",
                          "slo={\"ttft_ms\": 150}", "workload.input={\"dist\": \"uniform\", \"min\": 5, \"max\": 9}",
                          "output.requests=true", "name=\"42\""};
    int rc = load_quickstart(sets, 7, &sc, &err, msg, sizeof msg);
    if (rc) fprintf(stderr, "  %s\n", msg);
    CHECK_INT(rc, 0);
    if (rc) return;
    CHECK_NEAR(sc.sources[0].synth.rate, 40, 0);
    CHECK_INT(sc.cfg.deployments[0].replicas, 3);
    CHECK_INT(sc.cfg.deployments[0].router, SIM_ROUTER_RANDOM);
    CHECK_INT(sc.cfg.slo_ttft, 150000000);
    CHECK_INT(sc.cfg.slo_e2e, 0); /* the object replaced the whole slo section */
    CHECK_INT(sc.sources[0].synth.input.dist, WL_DIST_UNIFORM);
    CHECK_NEAR(sc.sources[0].synth.input.min, 5, 0);
    CHECK_NEAR(sc.sources[0].synth.input.max, 9, 0);
    CHECK(sc.store_requests);
    CHECK_STR(sc.name, "42");
    CHECK_INT(sc.cfg.seed, 42); /* untouched */
    /* the overrides are part of the scenario as run */
    CHECK_CONTAINS(sc.resolved_json, "\"rate\":40");
    CHECK_CONTAINS(sc.resolved_json, "\"replicas\":3");
    CHECK_CONTAINS(sc.resolved_json, "\"policy\":\"random\"");
    CHECK_CONTAINS(sc.resolved_json, "\"slo\":{\"ttft_ms\":150}");
    scenario_fini(&sc);
}

static void test_set_order_and_new_sections(void)
{
    scenario sc;
    fs_error err;
    char msg[1024];
    /* later sets win */
    const char *twice[] = {"workload.rate=40", "workload.rate=2.5"};
    CHECK_INT(load_quickstart(twice, 2, &sc, &err, msg, sizeof msg), 0);
    CHECK_NEAR(sc.sources[0].synth.rate, 2.5, 0);
    scenario_fini(&sc);
    /* a missing section is created along the path */
    scenario_opts o = {(const char *const[]){"slo.tpot_ms=30", "router.policy=central_queue"}, 2, false, 0, NULL, 0, false, 0};
    if (load_good(GOOD, &o, &sc) == 0) {
        CHECK_INT(sc.cfg.slo_tpot, 30000000);
        CHECK_INT(sc.cfg.deployments[0].router, SIM_ROUTER_CENTRAL_QUEUE);
        scenario_fini(&sc);
    }
}

typedef struct set_case {
    const char *set;
    const char *want[3];
} set_case;

static void test_set_errors(void)
{
    /* malformed --set: the message names --set and the offending text */
    static const set_case cases[] = {
        {"noequals", {"--set: ", "expected path=value, got 'noequals'", NULL}},
        {"=5", {"--set: ", "expected path=value, got '=5'", NULL}},
        {"deployments[9].replicas=1", {"--set: ", "'deployments' is not an array with an element 9", NULL}},
        {"deployments[x]=1", {"--set: ", "expected [index] after 'deployments'", NULL}},
        {"deployments[0=1", {"--set: ", "expected [index] after 'deployments'", NULL}},
        {"name.first=1", {"--set: ", "'name.first' is not an object key", NULL}},
        {"workload..rate=1", {"--set: ", "is not an object key", NULL}},
        {"fleet[0]x=1", {"--set: ", "unexpected 'x' in the path", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        scenario sc;
        fs_error err;
        char msg[1024];
        int before = h_failed_checks;
        CHECK_INT(load_quickstart(&cases[i].set, 1, &sc, &err, msg, sizeof msg), -1);
        CHECK(sc.resolved_json == NULL);
        CHECK(starts_with(msg, "--set: "));
        for (int k = 0; k < 3 && cases[i].want[k]; k++) CHECK_CONTAINS(msg, cases[i].want[k]);
        if (h_failed_checks != before) fprintf(stderr, "  in --set '%s': %s\n", cases[i].set, msg);
    }
}

/* Examples and rules from scenarios/REFERENCE.md. */
static void test_set_reference_examples(void)
{
    scenario sc;
    fs_error err;
    char msg[1024];
    const char *sets[] = {"router={\"policy\":\"random\"}", "slo.e2e_ms=500", "drain_timeout=null", "name=test"};
    int rc = load_quickstart(sets, 4, &sc, &err, msg, sizeof msg);
    if (rc) fprintf(stderr, "  %s\n", msg);
    CHECK_INT(rc, 0);
    if (rc == 0) {
        CHECK_INT(sc.cfg.deployments[0].router, SIM_ROUTER_RANDOM);
        CHECK_INT(sc.cfg.slo_e2e, 500000000);
        CHECK_INT(sc.cfg.slo_ttft, 200000000); /* the rest of slo stays */
        CHECK_INT(sc.cfg.drain_timeout, -1);
        CHECK_STR(sc.name, "test");
        scenario_fini(&sc);
    }
    /* null only where null means something */
    const char *null_slo[] = {"slo.ttft_ms=null"};
    CHECK_INT(load_quickstart(null_slo, 1, &sc, &err, msg, sizeof msg), -1);
    CHECK_CONTAINS(msg, "slo.ttft_ms: expected a number > 0");
    CHECK_CONTAINS(msg, "got null");
    /* sets apply to the file as written: a single-object fleet has no fleet[0] */
    char path[64];
    scenario_opts o = {(const char *const[]){"fleet[0].count=3"}, 1, false, 0, NULL, 0, false, 0};
    rc = load_text("{'name': 't', " DUR ", 'fleet': {'gpu': 'L4', 'count': 4}, " DEPS ", " WL "}", &o, &sc, path,
                   sizeof path, &err, msg, sizeof msg);
    CHECK_INT(rc, -1);
    CHECK(starts_with(msg, "--set: "));
    CHECK_CONTAINS(msg, "'fleet' is not an array with an element 0");
    o.sets = (const char *const[]){"fleet.count=3"};
    rc = load_text("{'name': 't', " DUR ", 'fleet': {'gpu': 'L4', 'count': 4}, " DEPS ", " WL "}", &o, &sc, path,
                   sizeof path, &err, msg, sizeof msg);
    CHECK_INT(rc, 0);
    if (rc == 0) {
        CHECK_INT(sc.cfg.fleet[0].count, 3);
        scenario_fini(&sc);
    }
}

static void test_set_validated(void)
{
    scenario sc;
    fs_error err;
    char msg[1024];
    /* a set that adds an unknown key is caught like one in the file */
    const char *unknown[] = {"workload.ratee=40"};
    CHECK_INT(load_quickstart(unknown, 1, &sc, &err, msg, sizeof msg), -1);
    CHECK_STR(err.path, "workload.ratee");
    CHECK_CONTAINS(msg, "unknown key 'ratee'; did you mean 'rate'?");
    const char *top[] = {"sede=3"};
    CHECK_INT(load_quickstart(top, 1, &sc, &err, msg, sizeof msg), -1);
    CHECK_CONTAINS(msg, "unknown key 'sede'; did you mean 'seed'?");
    /* a set value is checked like a file's */
    const char *neg[] = {"deployments[0].replicas=-2"};
    CHECK_INT(load_quickstart(neg, 1, &sc, &err, msg, sizeof msg), -1);
    CHECK_CONTAINS(msg, "deployments[0].replicas: expected an integer in 1..100000, got -2");
    const char *big[] = {"deployments[0].replicas=5"};
    CHECK_INT(load_quickstart(big, 1, &sc, &err, msg, sizeof msg), -1);
    CHECK_CONTAINS(msg, "fleet[0]: deployments need 5 GPUs of type L4");
    /* VALUE is JSON when it parses: a bare number is not a string */
    const char *num[] = {"name=42"};
    CHECK_INT(load_quickstart(num, 1, &sc, &err, msg, sizeof msg), -1);
    CHECK_CONTAINS(msg, "name: expected a string, got 42");
    const char *pol[] = {"router.policy=fastest"};
    CHECK_INT(load_quickstart(pol, 1, &sc, &err, msg, sizeof msg), -1);
    CHECK_CONTAINS(msg, "router.policy: expected one of");
    CHECK_CONTAINS(msg, "got \"fastest\"");
}

static void test_seed_override(void)
{
    scenario sc;
    fs_error err;
    char msg[1024];
    scenario_opts o = {NULL, 0, true, 7, NULL, 0, false, 0};
    fs_error_clear(&err);
    int rc = scenario_load(FS_SOURCE_DIR "/scenarios/quickstart.json", &o, &sc, &err);
    if (rc) fprintf(stderr, "  %s\n", fs_error_format(&err, msg, sizeof msg));
    CHECK_INT(rc, 0);
    if (rc) return;
    CHECK_INT(sc.cfg.seed, 7);
    CHECK_CONTAINS(sc.resolved_json, "\"seed\":7,");
    scenario_fini(&sc);
    /* --seed also wins over --set seed=..., and stands in for a bad seed in the file */
    const char *sets[] = {"seed=3"};
    scenario_opts o2 = {sets, 1, true, 0, NULL, 0, false, 0};
    if (load_good(HEAD ", " WL ", 'seed': -1}", &o2, &sc) == 0) {
        CHECK_INT(sc.cfg.seed, 0);
        scenario_fini(&sc);
    }
    /* the largest seed a file can hold */
    scenario_opts o3 = {NULL, 0, true, (uint64_t)INT64_MAX, NULL, 0, false, 0};
    if (load_good(GOOD, &o3, &sc) == 0) {
        CHECK_INT(sc.cfg.seed, INT64_MAX);
        scenario_fini(&sc);
    }
    /* documented: only the low 63 bits of --seed are kept */
    scenario_opts o4 = {NULL, 0, true, ((uint64_t)1 << 63) + 5, NULL, 0, false, 0};
    if (load_good(GOOD, &o4, &sc) == 0) {
        CHECK_INT(sc.cfg.seed, 5);
        CHECK_CONTAINS(sc.resolved_json, "\"seed\":5,");
        scenario_fini(&sc);
    }
}

/* ---- edge cases ---- */

/* Edge cases once handled wrongly: each is reported at the key the user wrote, and a tiny
 * positive time never silently turns into 0 ("none"). */
static void test_edge_cases(void)
{
    scenario sc;
    fs_error err;
    char path[64], msg[1024];
    int rc;

    /* a model name over 63 bytes with no `name`: the error names the model */
    rc = load_text(WITH_DEP("'replicas': 1, " SVC "}, "
                            "{'model': 'org/a-model-name-that-is-longer-than-sixty-three-bytes-0123456789', " SVC),
                   NULL, &sc, path, sizeof path, &err, msg, sizeof msg);
    CHECK_INT(rc, -1);
    CHECK_STR(err.path, "deployments[1].model");
    CHECK_CONTAINS(msg, "expected at most 63 bytes, got 65");

    /* a positive duration that rounds to 0 ns is reported at duration */
    rc = load_text("{" NAME ", 'duration': 1e-10, " FLEET ", " DEPS ", " WL "}", NULL, &sc, path, sizeof path, &err,
                   msg, sizeof msg);
    CHECK_INT(rc, -1);
    CHECK_STR(err.path, "duration");
    CHECK_CONTAINS(msg, "expected at least 1 ns");

    /* an SLO target below 1 ns is rejected, not turned into "no target" */
    rc = load_text(HEAD ", " WL ", 'slo': {'ttft_ms': 1e-7}}", NULL, &sc, path, sizeof path, &err, msg, sizeof msg);
    CHECK_INT(rc, -1);
    CHECK_STR(err.path, "slo.ttft_ms");
    CHECK_CONTAINS(msg, "expected at least 1 ns (1e-06 ms), got 1e-07");
    rc = load_text(HEAD ", " WL ", 'output': {'timeseries_interval': 1e-12}}", NULL, &sc, path, sizeof path, &err, msg,
                   sizeof msg);
    CHECK_INT(rc, -1);
    CHECK_STR(err.path, "output.timeseries_interval");

    /* a negative or spaced --set index is malformed, not a huge element number */
    const char *neg_index[] = {"deployments[-1].replicas=1"};
    CHECK_INT(load_quickstart(neg_index, 1, &sc, &err, msg, sizeof msg), -1);
    CHECK_CONTAINS(msg, "expected [index]");
    const char *spaced[] = {"deployments[ 0].replicas=1"};
    CHECK_INT(load_quickstart(spaced, 1, &sc, &err, msg, sizeof msg), -1);
    CHECK_CONTAINS(msg, "expected [index]");

    /* an empty array says so; a unit suffix is suggested */
    rc = load_text("{" NAME ", 'duration': 1, 'fleet': [], " DEPS ", " WL "}", NULL, &sc, path, sizeof path, &err, msg,
                   sizeof msg);
    CHECK_INT(rc, -1);
    CHECK_CONTAINS(msg, "got an empty array");
    rc = load_text(HEAD ", " WL ", 'slo': {'ttft': 100}}", NULL, &sc, path, sizeof path, &err, msg, sizeof msg);
    CHECK_INT(rc, -1);
    CHECK_CONTAINS(msg, "did you mean 'ttft_ms'?");
}

/* ---- traces ---- */

static void test_trace_relative_path(void)
{
    scenario sc;
    fs_error err;
    char msg[1024];
    fs_error_clear(&err);
    int rc = scenario_load(FS_TEST_DATA "/scenarios/trace_relative.json", NULL, &sc, &err);
    if (rc) fprintf(stderr, "  %s\n", fs_error_format(&err, msg, sizeof msg));
    CHECK_INT(rc, 0);
    if (rc) return;
    CHECK(sc.nsources == 1 && sc.sources[0].is_trace);
    CHECK_STR(sc.sources[0].trace_path, FS_TEST_DATA "/scenarios/../azure_conv_head100.csv");
    CHECK_INT(sc.cfg.duration, FS_TIME_MAX); /* a trace ends by itself */
    CHECK_INT(sc.cfg.deployments[0].service, SIM_SERVICE_CONSTANT);
    CHECK_CONTAINS(sc.resolved_json, "\"format\":\"azure\"");
    CHECK_CONTAINS(sc.resolved_json, "\"path\":\"../azure_conv_head100.csv\""); /* as written */
    /* the path leads to the trace: its first request */
    wl_source *src[1];
    rc = scenario_open_sources(&sc, src, &err);
    if (rc) fprintf(stderr, "  %s\n", fs_error_format(&err, msg, sizeof msg));
    CHECK_INT(rc, 0);
    if (rc == 0) {
        wl_request r;
        CHECK_INT(wl_next(src[0], &r, &err), 1);
        CHECK_INT(r.arrival, 0);
        CHECK_INT(r.input_tokens, 374);
        CHECK_INT(r.output_tokens, 44);
        wl_free(src[0]);
    }
    scenario_fini(&sc);
    CHECK(sc.sources == NULL);
}

static void test_trace_paths_in_tmp(void)
{
    char dir[64] = "/tmp/fs_test_scenario_dir_XXXXXX", sub[128], file[160];
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        CHECK(0);
        return;
    }
    snprintf(sub, sizeof sub, "%s/sub", dir);
    snprintf(file, sizeof file, "%s/s.json", sub);
    CHECK_INT(mkdir(sub, 0700), 0);
    scenario sc;
    fs_error err;
    char msg[1024], want[256];
    /* relative: next to the scenario */
    write_text(file, "{'name': 't', " FLEET ", " DEPS ", 'workload': {'arrival': 'trace', 'trace': {'path': 't.csv'}}}");
    fs_error_clear(&err);
    int rc = scenario_load(file, NULL, &sc, &err);
    if (rc) fprintf(stderr, "  %s\n", fs_error_format(&err, msg, sizeof msg));
    CHECK_INT(rc, 0);
    if (rc == 0) {
        snprintf(want, sizeof want, "%s/t.csv", sub);
        CHECK_STR(sc.sources[0].trace_path, want);
        scenario_fini(&sc);
    }
    /* relative with folders */
    write_text(file, "{'name': 't', " FLEET ", " DEPS ", 'workload': {'arrival': 'trace', 'trace': {'path': 'in/t.csv'}}}");
    rc = scenario_load(file, NULL, &sc, &err);
    CHECK_INT(rc, 0);
    if (rc == 0) {
        snprintf(want, sizeof want, "%s/in/t.csv", sub);
        CHECK_STR(sc.sources[0].trace_path, want);
        scenario_fini(&sc);
    }
    /* absolute: unchanged */
    write_text(file, "{'name': 't', " FLEET ", " DEPS ", 'workload': {'arrival': 'trace', 'trace': {'path': '/data/t.csv'}}}");
    rc = scenario_load(file, NULL, &sc, &err);
    CHECK_INT(rc, 0);
    if (rc == 0) {
        CHECK_STR(sc.sources[0].trace_path, "/data/t.csv");
        scenario_fini(&sc);
    }
    /* a missing trace file is reported when the source opens, naming the resolved path */
    write_text(file, "{'name': 't', " FLEET ", " DEPS ", 'workload': {'arrival': 'trace', 'trace': {'path': 'none.csv'}}}");
    rc = scenario_load(file, NULL, &sc, &err);
    CHECK_INT(rc, 0);
    if (rc == 0) {
        wl_source *src[1];
        CHECK_INT(scenario_open_sources(&sc, src, &err), -1);
        snprintf(want, sizeof want, "%s/none.csv", sub);
        CHECK_CONTAINS(fs_error_format(&err, msg, sizeof msg), want);
        scenario_fini(&sc);
    }
    unlink(file);
    rmdir(sub);
    rmdir(dir);
}

/* Several sources with tags and transforms, and the trace options from the command line. */
static void test_sources_and_transforms(void)
{
    scenario sc;
    scenario_opts o = {NULL, 0, false, 0, NULL, 0, true, 30};
    if (load_good(HEAD ", 'workload': {'sources': ["
                  "{'arrival': 'trace', 'trace': {'path': '" FS_TEST_DATA "/azure_conv_head100.csv'}, "
                  "'window': {'start': 1, 'end': 20}, 'sample': 0.5, 'mean_rate': 4, 'loop': 2, 'tenant': 'a', "
                  "'region': 'eu', 'priority': 2, 'limit': 50}, "
                  "{'rate': 3, 'tenant': 'b', 'limit': 9}]}}",
                  &o, &sc))
        return;
    CHECK_INT(sc.nsources, 2);
    const scenario_source *t = &sc.sources[0], *y = &sc.sources[1];
    CHECK(t->is_trace && !y->is_trace);
    CHECK_NEAR(t->xf.window_start, 1, 0);
    CHECK_NEAR(t->xf.window_end, 20, 0);
    CHECK_NEAR(t->xf.sample, 0.5, 0);
    CHECK_NEAR(t->xf.mean_rate, 4, 0);
    CHECK_INT(t->xf.loop, 2);
    CHECK_INT(t->xf.limit, 50);
    CHECK(t->xf.set_tenant && t->xf.tenant == 1 && y->xf.set_tenant && y->xf.tenant == 2);
    CHECK(t->xf.set_region && t->xf.region == 1 && !y->xf.set_region);
    CHECK(t->xf.set_priority && t->xf.priority == 2 && !y->xf.set_priority);
    CHECK_INT(sc.ntenants, 2);
    CHECK_STR(sc.tenants[1], "b");
    CHECK(t->trace.skip_bad_rows); /* from the command line */
    CHECK_NEAR(t->trace.sort_window, 30, 0);
    CHECK_INT(y->xf.limit, 9);
    /* the sources open and give what the transforms leave */
    wl_source *src[2];
    fs_error err;
    CHECK_INT(scenario_open_sources(&sc, src, &err), 0);
    wl_request r;
    int n = 0, rc;
    fs_time last = -1;
    while ((rc = wl_next(src[0], &r, &err)) == 1) {
        CHECK(r.arrival >= last);
        CHECK(r.tenant == 1 && r.region == 1 && r.priority == 2);
        last = r.arrival;
        n++;
    }
    CHECK_INT(rc, 0);
    CHECK(n > 4 && n <= 50);
    for (n = 0; (rc = wl_next(src[1], &r, &err)) == 1;) n++;
    CHECK_INT(n, 9);
    wl_free(src[0]);
    wl_free(src[1]);
    scenario_fini(&sc);
    /* a limit on every synthetic source lets the workload end without duration */
    CHECK_INT(load_good("{" NAME ", " FLEET ", " DEPS ", 'workload': {'rate': 3, 'limit': 5}}", NULL, &sc), 0);
    scenario_fini(&sc);
}

/* A deployment on MIG instances: the instance's memory sizes the KV cache, its SMs and memory
 * slices scale compute and bandwidth. */
static void test_mig_deployment(void)
{
    scenario sc;
    if (load_good("{" NAME ", " DUR ", 'fleet': [{'gpu': 'A100-SXM4-80GB', 'count': 2, 'mig': '3g.40gb,2g.20gb,1g.10gb,1g.10gb'}], "
                  "'deployments': [{'name': 'a', 'model': 'meta-llama/Llama-3.1-8B', 'kind': 'llm', 'mig_profile': '3g.40gb', "
                  "'replicas': 2}, {'name': 'b', 'model': 'm', " SVC ", 'mig_profile': '1g.10gb', 'replicas': 4}], " WL "}",
                  NULL, &sc))
        return;
    const sim_llm *l = &sc.cfg.deployments[0].llm;
    CHECK_NEAR(l->compute_share, 42.0 / 108, 1e-12); /* 3g: 42 of the A100's 108 SMs */
    CHECK_NEAR(l->bandwidth_share, 0.5, 0);          /* 4 of 8 memory slices */
    CHECK(sc.dep_mig[0] && strcmp(sc.dep_mig[0]->name, "3g.40gb") == 0);
    CHECK(sc.dep_mig[1] && strcmp(sc.dep_mig[1]->name, "1g.10gb") == 0);
    int32_t mig_blocks = l->num_gpu_blocks;
    scenario_fini(&sc);
    if (load_good("{" NAME ", " DUR ", 'fleet': [{'gpu': 'A100-SXM4-80GB', 'count': 2}], "
                  "'deployments': [{'model': 'meta-llama/Llama-3.1-8B', 'kind': 'llm'}], " WL "}",
                  NULL, &sc))
        return;
    int32_t whole_blocks = sc.cfg.deployments[0].llm.num_gpu_blocks;
    fprintf(stderr, "  Llama-3.1-8B KV blocks: %d on a 3g.40gb instance, %d on a whole A100-80GB\n", mig_blocks, whole_blocks);
    CHECK(mig_blocks > 0 && mig_blocks < whole_blocks / 2);
    scenario_fini(&sc);
}

/* The stored scenario is the scenario run: numbers keep every digit that matters, and what a
 * person typed still prints as typed. */
static void test_resolved_numbers_exact(void)
{
    scenario a, b;
    if (load_good("{" NAME ", 'duration': 100000000.0000004, 'warmup': 100000000.0000002, " FLEET ", " DEPS ", "
                  "'workload': {'rate': 0.3333333333333333}}", NULL, &a))
        return;
    CHECK_CONTAINS(a.resolved_json, "0.3333333333333333");
    json_error_t je;
    json_t *root = json_loads(a.resolved_json, 0, &je);
    fs_error err;
    CHECK(root && scenario_load_json(root, "(stored)", NULL, &b, &err) == 0);
    CHECK(b.sources && b.sources[0].synth.rate == a.sources[0].synth.rate);
    CHECK_INT(b.cfg.warmup, a.cfg.warmup);
    scenario_fini(&b);
    scenario_fini(&a);
    if (load_good(GOOD, NULL, &a)) return;
    CHECK_CONTAINS(a.resolved_json, "\"rate\":10");
    CHECK_CONTAINS(a.resolved_json, "\"mean_ms\":50");
    CHECK_CONTAINS(a.resolved_json, "\"price_per_hour\":0.8,");
    scenario_fini(&a);
}

/* Replicas go onto nodes by the placement policy; a replica's GPUs share one node. Spreading
 * eight 1-GPU replicas over two 8-GPU nodes leaves no node for an 8-GPU replica; packing does. */
static void test_replica_placement(void)
{
#define PLACED(policy)                                                                                      \
    "{" NAME ", " DUR ", 'fleet': [{'gpu': 'H100-SXM', 'count': 16}], 'deployments': ["                     \
    "{'name': 'small', 'model': 'm', " SVC ", 'replicas': 8}, "                                            \
    "{'name': 'wide', 'model': 'm', " SVC ", 'replicas': 1, 'gpus_per_replica': 8}], " WL ", "              \
    "'placement': {'policy': '" policy "'}}"
    scenario sc;
    char path[64], msg[1024];
    fs_error err;
    CHECK_INT(load_text(PLACED("spread"), NULL, &sc, path, sizeof path, &err, msg, sizeof msg), -1);
    CHECK_CONTAINS(msg, "deployments[1]: replica 1 of wide needs 8 GPUs on one node, and no node of fleet[0] "
                        "(8 GPUs per node) has that many free once the replicas before it are placed by spread");
    if (load_good(PLACED("best_fit"), NULL, &sc) == 0) {
        CHECK_INT(sc.cfg.nodes, 2);
        CHECK_INT(sc.cfg.nodes_used, 2);
        CHECK_INT(sc.cfg.gpus_free_on_used, 0);
        scenario_fini(&sc);
    }
    CHECK_INT(load_text(PLACED("worst"), NULL, &sc, path, sizeof path, &err, msg, sizeof msg), -1);
    CHECK_CONTAINS(msg, "placement.policy: expected one of \"first_fit\"");
    /* a replica wider than a node never fits */
    CHECK_INT(load_text("{" NAME ", " DUR ", 'fleet': [{'gpu': 'H100-SXM', 'count': 8, 'gpus_per_node': 4}], "
                        "'deployments': [{'model': 'm', " SVC ", 'gpus_per_replica': 8}], " WL "}",
                        NULL, &sc, path, sizeof path, &err, msg, sizeof msg),
              -1);
    CHECK_CONTAINS(msg, "needs 8 GPUs on one node");
    /* spread leaves one GPU per node stranded for a 2-GPU replica */
    if (load_good("{" NAME ", " DUR ", 'fleet': [{'gpu': 'H100-SXM', 'count': 12, 'gpus_per_node': 3}], "
                  "'deployments': [{'name': 'a', 'model': 'm', " SVC ", 'replicas': 4, 'gpus_per_replica': 2}], " WL "}",
                  NULL, &sc) == 0) {
        CHECK_INT(sc.cfg.nodes, 4);
        CHECK_INT(sc.cfg.nodes_used, 4);
        CHECK_INT(sc.cfg.gpus_free_on_used, 4);
        CHECK_INT(sc.cfg.gpus_stranded, 4);
        scenario_fini(&sc);
    }
#undef PLACED
}

/* Two engines time-slicing one H100 fit when each reserves 45% (plus a CUDA context each); each
 * holds half a GPU for billing and, under MPS, half of its SMs. */
static void test_sharing(void)
{
    static const char *const modes[] = {"time_slicing", "mps"};
    for (int k = 0; k < 2; k++) {
        char text[1024];
        snprintf(text, sizeof text, "{'name': 't', 'duration': 60, 'fleet': [{'gpu': 'H100-SXM', 'count': 1, 'sharing': "
                 "{'mode': '%s', 'replicas': 2}}], 'deployments': [{'model': 'meta-llama/Llama-3.1-8B', 'kind': 'llm', "
                 "'replicas': 2, 'engine': {'gpu_memory_utilization': 0.45}}], 'workload': {'rate': 10}}", modes[k]);
        scenario sc;
        if (load_good(text, NULL, &sc)) return;
        const sim_deployment *d = &sc.cfg.deployments[0];
        CHECK_INT(sc.cfg.fleet[0].shares, 2);
        CHECK(sc.cfg.fleet[0].mps == (k == 1));
        CHECK_NEAR(d->gpu_share, 0.5, 0);
        CHECK_NEAR(d->llm.compute_share, k == 1 ? 0.5 : 0, 0);
        CHECK_NEAR(d->mem_fraction, 0.45, 0);
        scenario_fini(&sc);
    }
}

/* A dynamic MIG pool: defaults, and autoscaling allowed on it (instances are made as needed). */
static void test_dynamic_mig(void)
{
    scenario sc;
    if (load_good("{'name': 't', 'duration': 60, 'fleet': [{'gpu': 'A100-SXM4-80GB', 'count': 2, 'gpus_per_node': 2, "
                  "'mig': 'dynamic'}], "
                  "'deployments': [{'model': 'meta-llama/Llama-3.1-8B', 'kind': 'llm', 'mig_profile': '3g.40gb', "
                  "'replicas': 2, 'autoscale': {'policy': 'hpa', 'max_replicas': 4}}], 'workload': {'rate': 10}}",
                  NULL, &sc))
        return;
    const sim_fleet_entry *fe = &sc.cfg.fleet[0];
    CHECK(fe->mig_dynamic != NULL && !fe->mig);
    CHECK_INT(fe->mig_policy, 2); /* mig_aware */
    CHECK(!fe->mig_repartition);
    CHECK_INT(fe->mig_reconfigure, 60000000000);
    CHECK_STR(sc.cfg.deployments[0].mig_profile->name, "3g.40gb");
    CHECK_NEAR(sc.cfg.deployments[0].gpu_share, 3.0 / 7, 1e-15);
    CHECK_CONTAINS(sc.resolved_json, "\"mig_policy\":\"mig_aware\"");
    scenario_fini(&sc);
}

static void test_admission_keys(void)
{
    scenario sc;
    if (load_good("{" NAME ", " DUR ", " FLEET ", " DEPS ", 'workload': {'sources': [{'rate': 5, 'tenant': 'gold'}, "
                  "{'rate': 50, 'tenant': 'free'}]}, 'admission': {'rate_limits': {'free': {'rps': 10, 'burst': 20}}, "
                  "'retries': 3, 'backoff_ms': 500, 'backoff_multiplier': 2}}",
                  NULL, &sc))
        return;
    const sim_admission *a = &sc.cfg.admission;
    CHECK_INT(a->nlimits, 1);
    CHECK_INT(a->limits[0].tenant, 2); /* the second tenant named */
    CHECK_NEAR(a->limits[0].rps, 10, 0);
    CHECK_NEAR(a->limits[0].burst, 20, 0);
    CHECK_INT(a->retries, 3);
    CHECK_INT(a->backoff, 500 * FS_NS_PER_MS);
    CHECK_NEAR(a->backoff_multiplier, 2, 0);
    scenario_fini(&sc);
}

/* ---- node pools, autoscaling, cold start, failures ---- */

/* Every new key's default, in the config and in the resolved JSON. */
static void test_pool_defaults(void)
{
    scenario sc;
    if (load_good(GOOD, NULL, &sc)) return;
    const sim_fleet_entry *fe = &sc.cfg.fleet[0];
    CHECK_STR(fe->name, "L4"); /* the GPU type */
    CHECK_INT(fe->region, 0);
    CHECK_INT(fe->min_nodes, 1); /* the starting nodes: 4 GPUs in nodes of 8 */
    CHECK_INT(fe->max_nodes, 1);
    CHECK_INT(fe->provision, 180 * FS_NS_PER_S);
    CHECK_INT(fe->image_pull, 60 * FS_NS_PER_S);
    CHECK_NEAR(fe->storage_bw, 2e9, 0);
    CHECK_INT(fe->unneeded_time, 600 * FS_NS_PER_S);
    CHECK(!fe->spot);
    CHECK_NEAR(fe->reclaims_per_hour, 0, 0);
    CHECK_INT(fe->reclaim_notice, 120 * FS_NS_PER_S);
    CHECK_NEAR(fe->mtbf_hours, 0, 0);
    CHECK_INT(fe->mttr, 600 * FS_NS_PER_S);
    const sim_deployment *d = &sc.cfg.deployments[0];
    CHECK_INT(d->npools, 1);
    CHECK_INT(d->pools[0], 0);
    CHECK_INT(d->gpu, 0);
    CHECK_INT(d->autoscale.kind, SIM_SCALE_NONE);
    CHECK_INT(d->container_start, 10 * FS_NS_PER_S);
    CHECK_INT(d->warmup, 0); /* fixed kind: nothing to warm up */
    CHECK_NEAR(d->weight_bytes, 0, 0);
    CHECK(sc.cfg.failure_retry);
    const char *r = sc.resolved_json;
    CHECK_CONTAINS(r, "\"name\":\"L4\"");
    CHECK_CONTAINS(r, "\"min_nodes\":1,");
    CHECK_CONTAINS(r, "\"max_nodes\":1,");
    CHECK_CONTAINS(r, "\"provision_s\":180.0");
    CHECK_CONTAINS(r, "\"image_pull_s\":60.0");
    CHECK_CONTAINS(r, "\"storage_gbs\":2.0");
    CHECK_CONTAINS(r, "\"unneeded_s\":600.0");
    CHECK_CONTAINS(r, "\"spot\":false");
    CHECK_CONTAINS(r, "\"reclaims_per_hour\":0.0");
    CHECK_CONTAINS(r, "\"reclaim_notice_s\":120.0");
    CHECK_CONTAINS(r, "\"mtbf_hours\":0.0");
    CHECK_CONTAINS(r, "\"mttr_s\":600.0");
    CHECK_CONTAINS(r, "\"pools\":[\"L4\"]");
    CHECK_CONTAINS(r, "\"cold_start\":{\"container_start_s\":10.0,\"warmup_s\":0.0,\"weights_gb\":0.0}");
    CHECK_CONTAINS(r, "\"failures\":{\"retry\":true}");
    CHECK(strstr(r, "\"region\"") == NULL); /* no default */
    CHECK(strstr(r, "\"autoscale\"") == NULL);
    scenario_fini(&sc);

    /* an llm replica loads its weights (all TP shards) and warms up for 30 s */
    if (load_good(LLM_ON("{'gpu': 'H100', 'count': 2}", "'tp': 2"), NULL, &sc)) return;
    d = &sc.cfg.deployments[0];
    double bytes = st_weight_bytes_per_gpu(d->llm.model, ST_BF16, 2) * 2;
    CHECK_NEAR(d->weight_bytes, round(bytes), 0);
    CHECK(d->weight_bytes > 15e9 && d->weight_bytes < 17e9); /* 8B parameters in bf16 */
    CHECK_INT(d->warmup, 30 * FS_NS_PER_S);
    CHECK_CONTAINS(sc.resolved_json, "\"warmup_s\":30.0");
    char want[64];
    snprintf(want, sizeof want, "\"weights_gb\":%.15g", round(bytes) / 1e9);
    CHECK_CONTAINS(sc.resolved_json, want);
    scenario_fini(&sc);
    /* fp8 weights take half the bytes (embeddings stay bf16) */
    if (load_good("{" NAME ", " DUR ", 'fleet': [{'gpu': 'H100', 'count': 1}], 'deployments': [{'model': "
                  "'llama-3.1-8b', 'kind': 'llm', 'engine': {'max_model_len': 8192, 'dtype': 'fp8'}}], " WL "}",
                  NULL, &sc))
        return;
    CHECK(sc.cfg.deployments[0].weight_bytes < 0.6 * bytes && sc.cfg.deployments[0].weight_bytes > 0.45 * bytes);
    scenario_fini(&sc);
}

/* Everything set: two pools of one GPU type in two regions, one of them spot and starting
 * empty; an HPA over both; the cold start and the failure policy. */
#define TWO_REGIONS                                                                                                  \
    "{" NAME ", " DUR ", 'fleet': [{'gpu': 'L4', 'count': 8, 'name': 'ondemand', 'region': 'us-east', "             \
    "'provision_s': 90, 'image_pull_s': 20.5, 'storage_gbs': 1.5, 'unneeded_s': 0, 'mtbf_hours': 2000, "             \
    "'mttr_s': 1800}, {'gpu': 'l4', 'count': 0, 'name': 'spot', 'region': 'us-west', 'spot': true, "                 \
    "'reclaims_per_hour': 0.2, 'reclaim_notice_s': 30, 'max_nodes': 4, 'price_per_hour': 0.3}], "                   \
    "'deployments': [{'name': 'e', 'model': 'm', " SVC ", 'pools': ['ondemand', 'spot'], 'autoscale': {'policy': "  \
    "'hpa', 'max_replicas': 40, 'min_replicas': 2, 'scrape_interval_s': 30}, 'cold_start': {'container_start_s': 5, " \
    "'warmup_s': 12.5, 'weights_gb': 20}}], " WL ", 'failures': {'retry': false}}"

static void test_pools_and_hpa(void)
{
    scenario sc;
    if (load_good(TWO_REGIONS, NULL, &sc)) return;
    const sim_config *cfg = &sc.cfg;
    CHECK_INT(cfg->nfleet, 2);
    const sim_fleet_entry *a = &cfg->fleet[0], *b = &cfg->fleet[1];
    CHECK_STR(a->name, "ondemand");
    CHECK_STR(b->name, "spot");
    CHECK_STR(b->gpu, "L4");
    CHECK_INT(sc.nregions, 2);
    CHECK(a->region == 1 && b->region == 2);
    CHECK_STR(sc.regions[a->region - 1], "us-east");
    CHECK_STR(sc.regions[b->region - 1], "us-west");
    CHECK(a->min_nodes == 1 && a->max_nodes == 1);
    CHECK(b->min_nodes == 0 && b->max_nodes == 4 && b->count == 0);
    CHECK_INT(a->provision, 90 * FS_NS_PER_S);
    CHECK_INT(a->image_pull, 20500 * FS_NS_PER_MS);
    CHECK_NEAR(a->storage_bw, 1.5e9, 0);
    CHECK_INT(a->unneeded_time, 0);
    CHECK_NEAR(a->mtbf_hours, 2000, 0);
    CHECK_INT(a->mttr, 1800 * FS_NS_PER_S);
    CHECK(!a->spot && b->spot);
    CHECK_NEAR(b->reclaims_per_hour, 0.2, 0);
    CHECK_INT(b->reclaim_notice, 30 * FS_NS_PER_S);
    CHECK_NEAR(b->price_per_hour, 0.3, 0);
    const sim_deployment *d = &cfg->deployments[0];
    CHECK(d->npools == 2 && d->pools[0] == 0 && d->pools[1] == 1 && d->gpu == 0);
    CHECK_INT(d->replicas, 2); /* max(1, min_replicas) */
    const sim_autoscale *as = &d->autoscale;
    CHECK_INT(as->kind, SIM_SCALE_HPA);
    CHECK_INT(as->hpa.metric, AS_UTILIZATION);
    CHECK_NEAR(as->hpa.target, 70, 0); /* percent */
    CHECK_INT(as->hpa.min_replicas, 2);
    CHECK_INT(as->hpa.max_replicas, 40);
    CHECK_NEAR(as->hpa.tolerance, 0.1, 0);
    CHECK_INT(as->hpa.sync_period, 15 * FS_NS_PER_S);
    CHECK_INT(as->scrape_interval, 30 * FS_NS_PER_S);
    CHECK_INT(as->hpa.down.stabilization, 300 * FS_NS_PER_S);
    CHECK_INT(as->hpa.up.stabilization, 0);
    hpa_config def = hpa_defaults(AS_UTILIZATION, 70, 40); /* the behaviors' policies are Kubernetes' */
    CHECK_INT(as->hpa.up.npolicies, def.up.npolicies);
    CHECK_INT(as->hpa.down.policy[0].value, def.down.policy[0].value);
    CHECK_INT(d->container_start, 5 * FS_NS_PER_S);
    CHECK_INT(d->warmup, 12500 * FS_NS_PER_MS);
    CHECK_NEAR(d->weight_bytes, 20e9, 0);
    CHECK(!cfg->failure_retry);
    CHECK_INT(cfg->nodes, 1); /* the spot pool starts empty */
    const char *r = sc.resolved_json;
    CHECK_CONTAINS(r, "\"gpu\":\"L4\""); /* from the first pool */
    CHECK_CONTAINS(r, "\"autoscale\":{\"max_replicas\":40,\"metric\":\"utilization\",\"min_replicas\":2,\"policy\":"
                      "\"hpa\",\"scale_down_stabilization_s\":300.0,\"scale_up_stabilization_s\":0.0,"
                      "\"scrape_interval_s\":30,\"sync_period_s\":15.0,\"target\":70.0,\"tolerance\":0.1}");
    CHECK_CONTAINS(r, "\"replicas\":2");
    CHECK_CONTAINS(r, "\"failures\":{\"retry\":false}");
    /* the resolved scenario loads to the same one */
    char *first = strdup(r);
    scenario_fini(&sc);
    json_error_t je;
    json_t *root = json_loads(first, 0, &je);
    fs_error err;
    CHECK(root && scenario_load_json(root, "(stored)", NULL, &sc, &err) == 0);
    if (sc.resolved_json) {
        CHECK_STR(sc.resolved_json, first);
        CHECK(sc.cfg.deployments[0].npools == 2 && sc.cfg.fleet[1].region == 2);
        scenario_fini(&sc);
    }
    free(first);
    /* max_replicas at the pools' room (8 + 4 x 8 replicas of 1 GPU) is fine, one more is not */
    scenario_opts o = {(const char *const[]){"deployments[0].autoscale.max_replicas=41"}, 1, false, 0, NULL, 0, false, 0};
    char path[64], msg[1024];
    CHECK_INT(load_text(TWO_REGIONS, &o, &sc, path, sizeof path, &err, msg, sizeof msg), -1);
    CHECK_CONTAINS(msg, "deployments[0].autoscale.max_replicas: expected at most 40 (the replicas that fit), got 41");
    /* a queue target is in requests, and required */
    o.sets = (const char *const[]){"deployments[0].autoscale={\"policy\":\"hpa\",\"metric\":\"queue\",\"target\":4,"
                                   "\"max_replicas\":3}"};
    if (load_good(TWO_REGIONS, &o, &sc) == 0) {
        CHECK_INT(sc.cfg.deployments[0].autoscale.hpa.metric, AS_QUEUE);
        CHECK_NEAR(sc.cfg.deployments[0].autoscale.hpa.target, 4, 0);
        CHECK_INT(sc.cfg.deployments[0].replicas, 1);
        scenario_fini(&sc);
    }
}
#undef TWO_REGIONS

/* A KPA deployment that starts with no replicas on a pool that starts with no nodes. */
static void test_kpa_from_zero(void)
{
    scenario sc;
    if (load_good(LLM_ON("{'gpu': 'H100', 'count': 0, 'max_nodes': 2}", "'replicas': 0, 'autoscale': {'policy': 'kpa'}"),
                  NULL, &sc))
        return;
    const sim_deployment *d = &sc.cfg.deployments[0];
    CHECK_INT(d->replicas, 0);
    CHECK_INT(sc.cfg.nodes, 0);
    CHECK_INT(sc.cfg.fleet[0].min_nodes, 0);
    CHECK_INT(sc.cfg.fleet[0].max_nodes, 2);
    const kpa_config *k = &d->autoscale.kpa;
    kpa_config def = kpa_defaults();
    CHECK_INT(d->autoscale.kind, SIM_SCALE_KPA);
    CHECK_INT(k->metric, AS_CONCURRENCY);
    CHECK_NEAR(k->target, 100, 0);
    CHECK_NEAR(k->utilization, 0.7, 1e-15);
    CHECK_INT(k->stable_window, 60 * FS_NS_PER_S);
    CHECK_NEAR(k->panic_window_pct, 10, 0);
    CHECK_NEAR(k->panic_threshold, 2.0, 0);
    CHECK_NEAR(k->max_scale_up_rate, 1000, 0);
    CHECK_NEAR(k->max_scale_down_rate, 2, 0);
    CHECK_INT(k->tick, 2 * FS_NS_PER_S);
    CHECK(k->scale_to_zero);
    CHECK_INT(k->scale_to_zero_grace, 30 * FS_NS_PER_S);
    CHECK(k->min_scale == 0 && k->max_scale == 0);
    CHECK_INT(k->activation_scale, def.activation_scale);
    CHECK_CONTAINS(sc.resolved_json, "\"autoscale\":{\"max_replicas\":0,\"max_scale_down_rate\":2.0,"
                                     "\"max_scale_up_rate\":1000.0,\"metric\":\"concurrency\",\"min_replicas\":0,"
                                     "\"panic_threshold_pct\":200.0,\"panic_window_pct\":10.0,\"policy\":\"kpa\","
                                     "\"scale_to_zero\":true,\"scale_to_zero_grace_s\":30.0,\"stable_window_s\":60,"
                                     "\"target\":100.0,\"target_utilization_pct\":70.0,\"tick_s\":2.0}");
    scenario_fini(&sc);
    /* rps targets 200 by default; without replicas, a KPA starts with one (Knative's initial scale) */
    if (load_good(LLM_ON("{'gpu': 'H100', 'count': 8}", "'autoscale': {'policy': 'kpa', 'metric': 'rps', "
                         "'max_replicas': 8, 'target_utilization_pct': 50, 'panic_threshold_pct': 150}"),
                  NULL, &sc))
        return;
    k = &sc.cfg.deployments[0].autoscale.kpa;
    CHECK_INT(k->metric, AS_RPS);
    CHECK_NEAR(k->target, 200, 0);
    CHECK_NEAR(k->utilization, 0.5, 0);
    CHECK_NEAR(k->panic_threshold, 1.5, 0);
    CHECK_INT(k->max_scale, 8);
    CHECK_INT(sc.cfg.deployments[0].replicas, 1);
    scenario_fini(&sc);
}

/* Replicas go to the first of their pools where they fit; node bounds given explicitly. */
static void test_pool_placement(void)
{
    scenario sc;
    if (load_good("{" NAME ", " DUR ", 'fleet': [{'gpu': 'L4', 'count': 2, 'name': 'a', 'gpus_per_node': 2}, "
                  "{'gpu': 'L4', 'count': 16, 'name': 'b', 'min_nodes': 1, 'max_nodes': 5}], 'deployments': ["
                  "{'name': 'x', 'model': 'm', " SVC ", 'pools': ['a', 'b'], 'replicas': 5}, "
                  "{'name': 'y', 'model': 'm', " SVC ", 'pools': 'b', 'replicas': 13}], " WL "}",
                  NULL, &sc))
        return;
    const sim_config *cfg = &sc.cfg;
    CHECK(cfg->fleet[1].min_nodes == 1 && cfg->fleet[1].max_nodes == 5);
    CHECK(cfg->deployments[1].npools == 1 && cfg->deployments[1].gpu == 1);
    CHECK_INT(cfg->nodes, 3); /* a: 1 node of 2; b: 2 of 8 */
    CHECK_INT(cfg->nodes_used, 3);
    CHECK_INT(cfg->gpus_free_on_used, 0); /* x: 2 on a, 3 on b; y: 13 on b */
    scenario_fini(&sc);
    /* what x spills onto b leaves no whole node there for an 8-GPU replica of y */
    char path[64], msg[1024];
    fs_error err;
    CHECK_INT(load_text("{" NAME ", " DUR ", 'fleet': [{'gpu': 'L4', 'count': 2, 'name': 'a'}, {'gpu': 'L4', "
                        "'count': 16, 'name': 'b'}], 'deployments': [{'name': 'x', 'model': 'm', " SVC ", 'pools': "
                        "['a', 'b'], 'replicas': 5}, {'name': 'y', 'model': 'm', " SVC ", 'pools': 'b', "
                        "'gpus_per_replica': 8}], " WL "}", NULL, &sc, path, sizeof path, &err, msg, sizeof msg),
              -1);
    CHECK_CONTAINS(msg, "deployments[1]: replica 1 of y needs 8 GPUs on one node, and no node of fleet[1] (8 GPUs per "
                        "node) has that many free");
}

int main(void)
{
    RUN(test_bad_scenarios);
    RUN(test_bad_cases_base_is_good);
    RUN(test_file_not_found);
    RUN(test_null_error);
    RUN(test_quickstart);
    RUN(test_resolved_reloads);
    RUN(test_minimal_defaults);
    RUN(test_good_variants);
    RUN(test_set_overrides);
    RUN(test_set_order_and_new_sections);
    RUN(test_set_errors);
    RUN(test_set_reference_examples);
    RUN(test_set_validated);
    RUN(test_seed_override);
    RUN(test_edge_cases);
    RUN(test_trace_relative_path);
    RUN(test_trace_paths_in_tmp);
    RUN(test_sources_and_transforms);
    RUN(test_mig_deployment);
    RUN(test_resolved_numbers_exact);
    RUN(test_replica_placement);
    RUN(test_admission_keys);
    RUN(test_sharing);
    RUN(test_dynamic_mig);
    RUN(test_pool_defaults);
    RUN(test_pools_and_hpa);
    RUN(test_kpa_from_zero);
    RUN(test_pool_placement);
    return DONE();
}
