/*
 * internal.h: what the library's files share and users never see. Names crossing
 * files use the doubled prefix dsc__ (stb's convention).
 */
#ifndef DSC_INTERNAL_H
#define DSC_INTERNAL_H

#include "descent.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- errors (status.c) */

/* Records a formatted message for the calling thread and returns st. */
dsc_status dsc__fail(dsc_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Rewrites the calling thread's last message as "<prefix>: <message>" and returns st
 * (a caller saying where a callee's failure happened). */
dsc_status dsc__fail_prefix(dsc_status st, const char *prefix);

/* ---- memory (memory.c): 64-byte aligned, zeroed; NULL on failure. */
void *dsc__alloc(size_t bytes);
/* The same, not zeroed: the caller writes it first (first-touch page placement). */
void *dsc__alloc_uninit(size_t bytes);
void dsc__free(void *p);
/* Memory for a large array the caller fills at once (a dataset's values, a file read
 * whole): not zeroed, freed with free() or dsc__free, NULL on failure. Where the
 * system has them, a large block gets transparent huge pages and is touched here
 * page by page, so that filling it costs a few hundred page faults rather than one
 * per 4 KiB (on a virtual machine, where a fault is dear, that is most of a
 * read()'s time). */
void *dsc__alloc_big(size_t bytes);
/* Copies s into fresh memory (malloc); NULL on failure. */
char *dsc__strdup(const char *s);

/* ---- files (file.c): a whole regular file into fresh memory (dsc__alloc_big, freed
 * with free(); *len bytes, no terminator added); anything else (a directory, a device)
 * is refused. Messages start "who: " and name the path. */
dsc_status dsc__read_whole_file(const char *who, const char *path, unsigned char **buf, size_t *len);
/* The same in steps: path opened read-only if it is a regular file (*fd, closed by the
 * caller; *size its length), then size bytes at offset into b ("shrank while being
 * read" when the file ends before). */
dsc_status dsc__open_regular(const char *who, const char *path, int *fd, size_t *size);
dsc_status dsc__read_at(const char *who, const char *path, int fd, size_t offset, unsigned char *b, size_t size);
/* DSC_ERR_IO with "who: cannot <what> 'path': <errno's text>" (no "who: " when NULL). */
dsc_status dsc__io_fail(const char *who, const char *what, const char *path);

/* ---- output files (outfile.c): written to a temporary f (at tmp) and, when
 * finished with keep and every write succeeded, fsync'ed and renamed over the target
 * (a regular or new file, whose mode the new one keeps; the file a chain of symlinks
 * ends on) or copied into it (a device, a FIFO); otherwise the temporary is removed
 * and the target left as it was. Checkpoints and every output of the command. */
typedef struct dsc__outfile {
    FILE *f;            /* the temporary, open for writing (the caller may close it and
                           write tmp by name instead: set f to NULL) */
    char tmp[4200];
    char target[4200];
    int copy;           /* the target is not a regular file: copy, do not rename */
} dsc__outfile;
dsc_status dsc__outfile_open(const char *who, const char *path, dsc__outfile *o);
/* All n bytes to fd, retrying short writes (-1 with errno). */
int dsc__write_all(int fd, const void *p, size_t n);
/* DSC_ERR_IO naming the target when a write, the close, the fsync, the rename or the
 * copy failed (keep only); the temporary is gone either way. */
dsc_status dsc__outfile_finish(const char *who, dsc__outfile *o, int keep);

/* ---- parameter descriptors (params.c), as the optimizer and the average take them */

/* Checks n, dtype, name and shape of tensor i (not data, grad or group). */
dsc_status dsc__param_check(const dsc_param *p, size_t i);
/* dst[i] = params[i] with the name copied (malloc; "p<i>" when NULL) and ndim 0 as
 * [n]; refuses a name one of dst[0..i) has. */
dsc_status dsc__param_copy(dsc_param *dst, const dsc_param *params, size_t i);

/* ---- spec strings (spec.c)
 * "name(a, key=value, key=(1,2), key=[1,2], sub(x=1))": a name and a list of items
 * split at top-level commas; each item is positional (key NULL) or keyed. Values are
 * raw text (trimmed), so each consumer interprets its own keys. */
#define DSC__SPEC_MAX_ITEMS 32
#define DSC__SPEC_MAX_TEXT 512

typedef struct dsc__spec_item {
    char key[64];     /* "" for a positional item */
    char value[DSC__SPEC_MAX_TEXT];
} dsc__spec_item;

typedef struct dsc__spec {
    char name[64];
    int count;
    dsc__spec_item items[DSC__SPEC_MAX_ITEMS];
} dsc__spec;

/* Splits text into a spec; what names the caller in errors is `what` ("optimizer"). */
dsc_status dsc__spec_split(const char *text, const char *what, dsc__spec *out);

/* Applies "key=value, ..." of hp's kind over hp (dsc_optim_set_group_spec). */
dsc_status dsc__hparams_apply_keys(dsc_hparams *hp, const char *keys);

/* Value parsers: each fails with a message naming who ("adam"), the key and the text. */
dsc_status dsc__spec_double(const char *who, const char *key, const char *text, double *out);
dsc_status dsc__spec_bool(const char *who, const char *key, const char *text, int *out);
dsc_status dsc__spec_int64(const char *who, const char *key, const char *text, int64_t *out);
/* "(a, b)" or "[a, b, ...]" (either bracket) into at most max doubles. */
dsc_status dsc__spec_list(const char *who, const char *key, const char *text,
                          double *out, int max, int *count);

/* ---- gradient norms and clipping (clip.c), shared by the step and dsc_clip_*
 * partial: sum |g|^p over n elements, or max |g| for p = inf (NaN propagates);
 * combine adds partials (max for inf); root turns a sum into the norm. */
double dsc__grad_partial(dsc_dtype dt, const void *g, size_t n, double p);
int dsc__grad_finite(dsc_dtype dt, const void *g, size_t n);
void dsc__grad_scale(dsc_dtype dt, void *g, size_t n, double c);
double dsc__norm_combine(double acc, double partial, double p);
double dsc__norm_root(double sum, double p);
/* PyTorch's clip_grad_norm_ coefficient: max_norm / (norm + 1e-6), capped at 1. */
double dsc__clip_coef(double max_norm, double norm);

/* ---- the non-finite policy (nonfinite.c) for a step whose gradient is not finite:
 * nonfinite=error fails naming step steps + 1; skip counts the skip and fails once
 * max_consecutive_skips are reached in a row. ctl: the optimizer-wide controls. */
dsc_status dsc__nonfinite_policy(const dsc_hparams *ctl, int64_t steps, int64_t *skipped, int64_t *consecutive);

/* ---- gradient accumulation (accumulate.c): acc += g, elementwise in the dtype */
void dsc__grad_accumulate(dsc_dtype dt, void *acc, const void *g, size_t n);

/* ---- schedules (src/sched), as the optimizer steps them: src/sched gives this table
 * when it attaches a schedule to a group, and core calls a schedule only through it.
 * can_step checks that a step may happen (onecycle ends); advance, the step itself,
 * cannot fail after the check. */
typedef struct dsc__sched_hooks {
    int (*needs_loss)(const dsc_sched *s);
    dsc_status (*can_step)(const dsc_sched *s);
    void (*advance)(dsc_sched *s, double loss);
    double (*lr)(const dsc_sched *s);
    void (*destroy)(dsc_sched *s);
} dsc__sched_hooks;
/* Group g of o takes s (NULL: none) in place of the schedule it had, which is
 * destroyed; with s, the group's rate becomes s's (src/core/group_schedules.c). */
void dsc__optim_attach_schedule(dsc_optim *o, int g, dsc_sched *s, const dsc__sched_hooks *hooks);
/* dsc_sched_create that also takes "lambda(fn=callback)" without its function (for
 * checking a checkpoint's schedule state on a scratch copy) */
dsc_status dsc__sched_create_unbound(dsc_sched **out, const char *spec, double base_lr);

/* ---- optimizer internals (optimizer.c and the files of src/optim) */

#define DSC__MAX_STATE 4 /* state buffers per tensor, most any kind needs */
#define DSC__MAX_CONST 12

/* Per-step scalars of one tensor, computed once per step in double. */
typedef struct dsc__scal {
    double lr;       /* the group's learning rate for this step */
    double gscale;   /* gradient multiplier: clip coefficient (1 when none) */
    double clip_value; /* > 0: clamp the scaled gradient to [-v, v] */
    double wd;       /* coupled L2 coefficient (0 when decoupled or no-decay) */
    double l1;       /* L1 coefficient (0 when no-decay) */
    double decay;    /* decoupled multiplier 1 - lr*wd (1 when none) */
    int maximize;
    int first;       /* this is the group's first step (SGD's buffer starts as g) */
    size_t offset;   /* index in the tensor of the call's first element (set per call) */
    double c[DSC__MAX_CONST]; /* kind-specific constants (bias corrections, ...) */
    /* set by the driver for each tensor: kinds that need more than the constants read
     * them (Muon: the shape and the fallback AdamW values) */
    const dsc_hparams *hp;  /* the tensor's group hyperparameters */
    const dsc_param *param; /* the tensor (shape, flags); ndim >= 1 */
    void *scratch;          /* ops->scratch_elems elements of the tensor's dtype */
} dsc__scal;

/* Updates n elements: p and g point at the tensor's (or a chunk's) data, st at its
 * state buffers, all offset alike. */
typedef void (*dsc__kernel)(const dsc__scal *s, void *p, const void *g, void *const *st,
                            size_t n);

/* The first pass of a kind with per-tensor norms (LAMB, LARS) over n elements of a
 * tensor: adds its two sums of squares into sums[0..1] (it may update state). */
typedef void (*dsc__norms_kernel)(const dsc__scal *s, void *p, const void *g, void *const *st,
                                  size_t n, double *sums);

/* Per-group scalar state that persists across steps (NAdam's mu_product). */
typedef struct dsc__gstate {
    double mu_product;
    double weight_sum; /* schedule-free: sum of the averaging weights (starts at 0) */
    double lr_max;     /* schedule-free: largest warmed-up lr so far (starts at 0) */
    double eta;        /* asgd: the step size of the next step (set by each step) */
    double mu;         /* asgd: the averaging weight of the next step (starts at 1) */
} dsc__gstate;

/* The outcome of a closure step: updated, or skipped for a non-finite first evaluation. */
typedef enum dsc__closure_result { DSC__CLOSURE_UPDATED = 0, DSC__CLOSURE_NONFINITE = 1 } dsc__closure_result;

/* One step of a closure kind over the count tensors of params under hp (the kind's wide
 * state w); *loss gets the first evaluation's loss; nonfinite says whether to check the
 * first evaluation. */
typedef dsc_status (*dsc__closure_step)(void *w, const dsc_param *params, size_t count, const dsc_hparams *hp,
                                        dsc_closure_fn fn, void *ctx, double *loss, dsc__closure_result *result);

/* One tensor of an optimizer-wide state (L-BFGS's): F64, 1-D or 2-D, owned by the kind. */
typedef struct dsc__wide {
    const char *name; /* saved as "optim/<name>" */
    double *data;
    int ndim;
    size_t shape[2];
    size_t n;         /* the product of the shape */
} dsc__wide;

/* One optimizer family: its state layout, validation, per-step scalars, kernels. */
typedef struct dsc__ops {
    dsc_kind kind;
    /* number and names of the state buffers a tensor needs under hp */
    int (*state_names)(const dsc_hparams *hp, const char **names);
    /* extra checks beyond the common ones (may be NULL) */
    dsc_status (*validate)(const dsc_hparams *hp);
    /* kind constants of step t (>= 1) into s->c; may advance gs (called once a step) */
    void (*prepare)(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s);
    /* initial value of state buffer k (Adagrad's initial_accumulator_value); NULL: 0 */
    double (*state_init)(const dsc_hparams *hp, int k);
    dsc__kernel reference[2]; /* scalar reference loops, by dtype */
    dsc__kernel fast[2];      /* fused vectorised kernels, by dtype (NULL: use reference) */
    /* Hooks of the kinds beyond the per-element rules (all optional):
     * whole_tensor: the kernel needs the whole tensor in one call (per-tensor norms of
     *   LAMB/LARS, Muon's matrix products): a driver that splits large tensors into
     *   chunks must not split these.
     * tensor_state: the layout of one tensor when it depends on the tensor (Muon: 2-D
     *   tensors keep a momentum buffer, the others Adam's moments); replaces
     *   state_names for allocation, while state_names still describes hp's layout.
     * scratch_elems: elements of workspace a tensor's kernel needs; the optimizer
     *   allocates the largest once at create and passes it as s->scratch (no
     *   allocation in a step).
     * place: writes the evaluation (eval 1) or training (eval 0) point of a tensor into
     *   its parameter buffer from the state (schedule-free's x and y), by dtype.
     * eval_state: the state buffer that holds the evaluation point once the optimizer
     *   has stepped (schedule-free's "x"), for whoever reads it without placing it
     *   (dsc__optim_eval_point); NULL: the parameter is the evaluation point. */
    int whole_tensor;
    int (*tensor_state)(const dsc_hparams *hp, const dsc_param *p, const char **names);
    size_t (*scratch_elems)(const dsc_hparams *hp, const dsc_param *p);
    void (*place[2])(const dsc_hparams *hp, void *p, void *const *st, size_t n, int eval);
    const char *eval_state;
    /* f32 parameters with bfloat16 state (state_dtype=bf16); NULL: not offered */
    dsc__kernel reference_bf16;
    dsc__kernel fast_bf16;
    /* Per-tensor norms split over threads (LAMB, LARS; NULL for the others): the fast
     * path runs norms[dtype] over fixed blocks of every tensor, then finish turns a
     * tensor's two summed norms into constants of s->c, then fast[dtype] updates in
     * pieces of any size. The reference loop still takes the whole tensor at once. */
    dsc__norms_kernel norms[2];
    void (*norms_finish)(dsc__scal *s, const double *sums);
    /* whole_tensor for this tensor only (Muon: the 2-D ones); NULL: every tensor */
    int (*tensor_whole)(const dsc_param *p);
    /* Row-sparse gradients (DSC_SPARSE_GRAD tensors, sparse.c): DSC__SPARSE_NO refuses
     * them (torch's "does not support sparse gradients"); DSC__SPARSE_TAKES where the
     * kernel applied to the named rows alone is torch's sparse rule; DSC__SPARSE_ONLY
     * refuses dense gradients (sparse_adam). sparse_check: the kind's own refusals for
     * such a tensor; NULL: none. sparse_all_rows: whether every row moves, those the
     * gradient does not name with a zero gradient, but for rows whose state is all 0,
     * which such a step leaves at rest (SGD's momentum: torch's sparse buffer keeps
     * every row it ever named, and one never named leaves its parameters alone); NULL:
     * the named rows alone. */
    int sparse;
    dsc_status (*sparse_check)(const dsc_hparams *hp);
    int (*sparse_all_rows)(const dsc_hparams *hp);
    /* A kind whose step re-evaluates the loss (L-BFGS): dsc_optim_step refuses it, and
     * dsc_optim_step_closure runs closure_step instead of the per-element update. Its
     * state is the optimizer's, not per tensor ("wide": vectors over every tensor's
     * elements), made by wide_create at create (which may refuse the parameters) and
     * freed by wide_free; wide_change refuses new group hyperparameters its state
     * cannot follow. See dsc__optim_wide for its checkpoint side. */
    dsc_status (*wide_create)(const dsc_param *params, size_t count, const dsc_hparams *hp, void **out,
                              size_t *bytes);
    void (*wide_free)(void *w);
    dsc_status (*wide_change)(const dsc_hparams *old, const dsc_hparams *hp);
    dsc__closure_step closure_step;
    size_t (*wide_count)(const void *w);
    void (*wide_tensor)(const void *w, size_t k, dsc__wide *out);
    dsc_status (*wide_check)(const void *w, const unsigned char *const *bytes);
    /* The shape of the state buffer called name of tensor p when it is not the tensor's
     * (Adafactor's row and column factors): writes shape and returns ndim; 0 (or a NULL
     * hook): the tensor's shape. Such buffers need whole_tensor (a piece of the tensor
     * has no piece of them). */
    int (*state_shape)(const dsc_param *p, const char *name, size_t *shape);
} dsc__ops;

enum { DSC__SPARSE_NO = 0, DSC__SPARSE_TAKES, DSC__SPARSE_ONLY };

/* bfloat16 is the high half of an f32's bits; stores round to nearest even, NaN
 * stays NaN (a quiet one). */
static inline float dsc__bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint16_t dsc__f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint16_t r = (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
    return f != f ? (uint16_t)0x7FC0 : r;
}

/* Rounds up with probability equal to the dropped fraction (r: 16 random bits): a
 * slow average such as Adam's second moment (beta2 = 0.999 changes it by 0.1 %, under
 * half a bf16 ulp) then still moves in expectation instead of sticking. */
static inline uint16_t dsc__f32_to_bf16_stochastic(float f, uint32_t r)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint16_t h = (uint16_t)((u + (r & 0xFFFFu)) >> 16);
    return f != f ? (uint16_t)0x7FC0 : h;
}

/* 16 random-looking low bits of (index, step), the same for any thread count or run:
 * one multiply (Fibonacci hashing) and a fold of the well-mixed high half, cheap
 * enough to stay hidden under the memory traffic. */
static inline uint32_t dsc__hash32(uint32_t index, uint32_t step)
{
    uint32_t h = (index + step * 0x632BE5ABu) * 0x9E3779B1u;
    return h ^ (h >> 16);
}

const dsc__ops *dsc__ops_for(dsc_kind kind);

/* The names of the state buffers tensor i of o has under hp (its group's hyperparameters,
 * as a checkpoint holds them), in dsc_optim_state's order, "grad_accum" last; names holds
 * DSC__MAX_STATE + 1. A checkpoint matches its tensors by these before applying hp. */
size_t dsc__optim_state_names(const dsc_optim *o, size_t i, const dsc_hparams *hp, const char **names);
/* Whether dsc_optim_set_group_hparams(o, g, hp) would be refused (validation, kind,
 * optimizer-wide keys), without changing anything: a restore checks every group first. */
dsc_status dsc__optim_check_group(const dsc_optim *o, int g, const dsc_hparams *hp);
/* A restore has written every state buffer: a buffer a group just turned on holds the
 * file's values, not a fresh start (SGD's momentum buffer must not restart as g). */
void dsc__optim_state_restored(dsc_optim *o);

/* The optimizer-wide state tensors (L-BFGS's; 0 for the other kinds), for checkpoints:
 * count, the k-th, and whether candidate contents would be a valid state (bytes[k]:
 * the k-th tensor's n little-endian doubles, perhaps unaligned) before any is copied in. */
size_t dsc__optim_wide_count(const dsc_optim *o);
void dsc__optim_wide(const dsc_optim *o, size_t k, dsc__wide *out);
dsc_status dsc__optim_wide_check(const dsc_optim *o, const unsigned char *const *bytes);

/* Tensor i's descriptor with the shape (n, ndim, shape) of its state buffer called name
 * (dsc_optim_state_shape's), which checkpoints store and check. */
/* An optimizer like dsc_optim_create's whose state buffers are never allocated
 * (dsc_optim_state gives their names and NULL data): a resume that restores it with
 * skip_state (parameters, hyperparameters, schedules, counters) to hand them to a
 * distributed run, which reads its own state from the file. It cannot step, change
 * mode or be saved (DSC_ERR_ARG). */
dsc_status dsc__optim_create_stateless(dsc_optim **out, const dsc_hparams *hp, const dsc_param *params,
                                       size_t count);
void dsc__optim_state_param(const dsc_optim *o, size_t i, const char *name, dsc_param *out);

/* The data of tensor i at the optimizer's evaluation point, whatever its mode (optimizer.c):
 * the ops' eval_state buffer once it has stepped, else the parameter itself. */
const void *dsc__optim_eval_point(const dsc_optim *opt, size_t i);

/* Marks a loop for vectorisation (OpenMP's simd, or -fopenmp-simd without OpenMP). */
#if defined(_OPENMP) || defined(DSC_OMP_SIMD)
#define DSC__SIMD _Pragma("omp simd")
/* The same for a loop that sums into a and b (or a alone) (the lanes' order is fixed by the code,
 * so the sums do not depend on the thread count). */
#define DSC__SIMD_SUM2(a, b) DSC__PRAGMA(omp simd reduction(+ : a, b))
#define DSC__SIMD_SUM(a) DSC__PRAGMA(omp simd reduction(+ : a))
#define DSC__PRAGMA(x) _Pragma(#x)
#else
#define DSC__SIMD
#define DSC__SIMD_SUM2(a, b)
#define DSC__SIMD_SUM(a)
#endif

/* ---- the parallel step (parallel.c)
 * Every tensor of every group is one task; a step deals the concatenation of all
 * tasks' elements out to the threads in equal, cache-line-aligned ranges, so many
 * small tensors cost per element what one large one does. */
typedef struct dsc__task {
    dsc__kernel kernel; /* this step's kernel, set by the step */
    dsc__scal s;        /* this step's scalars, set by the step */
    void *p;
    const void *g;
    void *const *st;    /* the tensor's state buffers */
    size_t st_n[DSC__MAX_STATE]; /* elements of each (n but for factored state, ops->state_shape) */
    size_t st_es;       /* bytes of one state element (2 for bf16 state) */
    int nstate;
    dsc_dtype dtype;
    size_t n;
    int whole;          /* the kernel needs the whole tensor in one call (ops->whole_tensor) */
    double init[DSC__MAX_STATE]; /* initial values of the state buffers */
    dsc__norms_kernel norms; /* this step's first pass (per-tensor norms), or NULL */
    int la_sync;        /* lookahead syncs after this step's update (slow: the last buffer) */
    double la_alpha;
    size_t la_piece;    /* elements a kernel call before each sync (0: the call's whole range) */
} dsc__task;

typedef struct dsc__plan {
    dsc__task *tasks;
    size_t count;
    size_t *start;  /* count + 1: first element of each task in the concatenation */
    size_t *block0; /* count + 1: first measurement block of each task */
    double *blocks; /* two partials per block: gradient norm, or a kind's two norms */
    int threads;    /* threads a step may use (>= 1) */
} dsc__plan;

/* Allocates count tasks for the caller to fill; dsc__plan_finish then sizes the rest. */
dsc_status dsc__plan_create(dsc__plan *pl, size_t count);
dsc_status dsc__plan_finish(dsc__plan *pl);
void dsc__plan_free(dsc__plan *pl);
/* Threads this build can run (the OpenMP default; 1 without OpenMP). */
int dsc__threads_available(void);
/* threads >= 1, or 0 for the default; a build without OpenMP keeps 1. */
void dsc__plan_set_threads(dsc__plan *pl, int threads);
/* Writes the state buffers' initial values, each range by the thread that will update
 * it (first-touch page placement). */
void dsc__plan_fill_state(const dsc__plan *pl);
/* partial[i] = sum |g_i|^p (max |g_i| for p = inf) in an order that does not depend on
 * the thread count; returns whether every gradient is finite. */
int dsc__plan_measure(dsc__plan *pl, double p, double *partial);
/* Runs every task's norms pass over its blocks, then finish on each task's sums. */
void dsc__plan_norms(dsc__plan *pl, void (*finish)(dsc__scal *s, const double *sums));
/* Runs every task's kernel over its elements (and lookahead's sync where la_sync). */
void dsc__plan_update(const dsc__plan *pl);

/* ---- row-sparse gradients (sparse.c): a DSC_SPARSE_GRAD tensor keeps no task in the
 * plan (its task has n 0); the step gathers its rows (summing repeats), measures them
 * with the dense tensors, and runs the task's kernel on each distinct row. */
typedef struct dsc__sparse dsc__sparse;
/* Whether tensor i (params[i] as given) may be in a group of hp under ops: a sparse
 * tensor needs a kind that takes sparse gradients, 2 dimensions, no decay, lookahead or
 * accumulation; a dense one a kind that takes dense gradients. */
dsc_status dsc__sparse_check(const dsc__ops *ops, const dsc_hparams *hp, const dsc_param *p, size_t i);
dsc_status dsc__sparse_create(dsc__sparse **out, const dsc_param *p);
void dsc__sparse_destroy(dsc__sparse *sp);
/* dsc_optim_set_sparse_grad on tensor p's gradient; changes nothing when it fails. */
dsc_status dsc__sparse_set(dsc__sparse *sp, const dsc_param *p, const int64_t *rows, size_t nrows,
                           const void *values);
void dsc__sparse_clear(dsc__sparse *sp); /* no rows */
/* Before a step: each distinct row's values (repeats summed in order, torch's coalesce). */
void dsc__sparse_gather(dsc__sparse *sp, dsc_dtype dt);
/* *partial = sum |g|^p of the gathered rows (max for inf); returns whether all finite. */
int dsc__sparse_measure(const dsc__sparse *sp, dsc_dtype dt, double p, double *partial);
/* The task's kernel (set by the step) on every gathered row, on up to threads threads;
 * with all_rows on every row of the table, a zero gradient where none is named. */
void dsc__sparse_update(dsc__sparse *sp, const dsc__task *t, int threads, int all_rows);
/* Writes the initial values of the task's state buffers (n elements each). */
void dsc__sparse_fill_state(const dsc__task *t, size_t n);

extern const dsc__ops dsc__ops_sgd;
extern const dsc__ops dsc__ops_adagrad;
extern const dsc__ops dsc__ops_rmsprop;
extern const dsc__ops dsc__ops_adadelta;
extern const dsc__ops dsc__ops_adam;
extern const dsc__ops dsc__ops_adamw;
extern const dsc__ops dsc__ops_adamax;
extern const dsc__ops dsc__ops_nadam;
extern const dsc__ops dsc__ops_radam;
extern const dsc__ops dsc__ops_adabelief;
extern const dsc__ops dsc__ops_lion;
extern const dsc__ops dsc__ops_lamb;
extern const dsc__ops dsc__ops_lars;
extern const dsc__ops dsc__ops_schedulefree_adamw;
extern const dsc__ops dsc__ops_muon;
extern const dsc__ops dsc__ops_rprop;
extern const dsc__ops dsc__ops_asgd;
extern const dsc__ops dsc__ops_sparse_adam;
extern const dsc__ops dsc__ops_lbfgs;
extern const dsc__ops dsc__ops_adafactor;

/* ---- lookahead (lookahead.c): slow weights around any kind, driven by optimizer.c.
 * The slow buffer is the last state buffer of a tensor ("lookahead_slow"). */
#define DSC__LOOKAHEAD_STATE "lookahead_slow"
/* Before the first step: slow = p. After step t with t % k == 0: p = slow + alpha (p -
 * slow), slow = p. */
void dsc__lookahead_start(const dsc_param *p, void *slow);
void dsc__lookahead_sync(dsc_dtype dt, void *p, void *slow, size_t n, double alpha);

/* ---- weight averaging (average.c): the canonical text of an average spec (as
 * dsc_average_format writes it), so checkpoints compare specs, not spellings. */
dsc_status dsc__average_canonical(const char *spec, char *buf, size_t size);
/* Whether the average's buffers are the optimizer's state (ASGD's ax), which a
 * checkpoint saves and restores with the optimizer, not again as the average's. */
int dsc__average_borrowed(const dsc_average *avg);

#endif
