/*
 * profile.h — measured operator times, imported from profile files, one row per measured call.
 *
 * A profile row is what the step-time model can predict on its own: one operator (a GEMM, a
 * decode or prefill attention call, an all-reduce, an elementwise kernel) with its shape and its
 * measured time. Rows come from CSV files whose format is told by the header:
 *
 *   fleetsim-probe              device,cc,...,op,impl,dtype,batch,m,n,k,seq,ctx,heads,kv_heads,
 *                               head_dim,block_size,bytes,time_us,... (our CUDA probe)
 *   aiconfigurator GEMM         gemm_dtype,m,n,k,latency [ms]
 *   aiconfigurator attention    op_name (context_attention | generation_attention),batch_size,
 *                               isl,num_heads,num_key_value_heads,head_dim,step,attn_dtype,
 *                               kv_cache_dtype,latency [ms]
 *   aiconfigurator NCCL         op_name,nccl_dtype,num_gpus,message_size [elements],latency [ms]
 *   aiconfigurator all-reduce   allreduce_dtype,num_gpus,message_size,latency [ms],backend
 *                               (vLLM's custom all-reduce)
 *   Vidur MLP                   time_stats.<op>.median [ms] per operator, n_head,n_kv_head,n_embd,
 *                               n_expanded_embd,use_gated_mlp,num_tokens,
 *                               num_tensor_parallel_workers: one file row gives a profile row per
 *                               operator (4 GEMMs, 6 elementwise kernels), times per TP shard
 *
 * Columns are found by name (order and extra columns do not matter). A file row that the model
 * does not describe (another collective, an eager-mode all-reduce, a dtype without a tensor-core
 * path in the model) is skipped and counted, with the first reason kept for the user; a row that
 * is malformed is an error naming file:line:column, what was expected and what was found.
 *
 * Shapes follow the model's operators (steptime.h): a GEMM is C[m x n] = A[m x k] B[k x n] with
 * B the weights; an attention call runs `batch` sequences of q_len new tokens each, every one
 * attending to kv_len tokens (its earlier context and itself, causally): decode has q_len = 1.
 * An elementwise kernel moves `bytes` (read plus written); an all-reduce sums `bytes` per rank
 * over `gpus` ranks.
 *
 * Ownership: a prof_set owns its rows and file records; prof_set_fini releases them. Reading is
 * all or nothing per file: on an error the set is as it was.
 */
#ifndef FS_PROFILE_H
#define FS_PROFILE_H

#include <stddef.h>

#include "fs_error.h"
#include "steptime.h"

typedef enum prof_op {
    PROF_GEMM,
    PROF_ATTN_DECODE,
    PROF_ATTN_PREFILL,
    PROF_ALLREDUCE,
    PROF_ELEMENTWISE,
    PROF_NOPS
} prof_op;

typedef struct prof_row {
    prof_op op;
    char name[32];        /* the operator as the source names it: "gemm", "mlp_up_proj", "rmsnorm",
                             "allreduce.nccl"; the op's name (prof_op_name) when there is no finer one */
    char group[48];       /* what the rows were measured on: Vidur's model ("Llama-2-7b-hf"), else "" */
    enum st_dtype dtype;  /* GEMM weights or attention KV cache; bf16 for the rest */
    double m, n, k;                        /* GEMM */
    double batch, q_len, kv_len, heads, kv_heads, head_dim; /* attention */
    double bytes;                          /* elementwise and all-reduce */
    int gpus;                              /* all-reduce ranks (the tensor-parallel degree) */
    double seconds;                        /* measured time of one call, > 0 */
    size_t file;                           /* index into prof_set.files */
    int line;                              /* the file line it came from */
} prof_row;

typedef struct prof_file {
    char *path;
    const char *format;   /* static: "aiconfigurator GEMM", ... */
    size_t rows;          /* profile rows it gave */
    size_t skipped;       /* file rows left out */
    char skip_note[200];  /* the first one left out and why ("" when none) */
} prof_file;

typedef struct prof_set {
    prof_row *rows;
    size_t n, cap;
    prof_file *files;
    size_t nfiles, files_cap;
} prof_set;

void prof_set_init(prof_set *s);
void prof_set_fini(prof_set *s);

/* Append the rows of the CSV file at `path`. A file without rows is an error. */
int prof_read_file(prof_set *s, const char *path, fs_error *err);
/* The same for `len` bytes in memory; `label` names them in messages (tests, fuzzing). */
int prof_read_buffer(prof_set *s, const char *label, const char *data, size_t len, fs_error *err);

/* "gemm", "attn_decode", "attn_prefill", "allreduce", "elementwise". */
const char *prof_op_name(prof_op op);

/* The known formats and their identifying columns, one per line, for messages and --help. */
const char *prof_formats_help(void);

#endif
