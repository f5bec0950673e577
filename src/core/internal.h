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

/* ---- memory (memory.c): 64-byte aligned, zeroed; NULL on failure. */
void *dsc__alloc(size_t bytes);
/* The same, not zeroed: the caller writes it first (first-touch page placement). */
void *dsc__alloc_uninit(size_t bytes);
void dsc__free(void *p);
/* Copies s into fresh memory (malloc); NULL on failure. */
char *dsc__strdup(const char *s);

/* ---- files (file.c): a whole regular file into fresh memory (malloc; *len bytes, no
 * terminator added); anything else (a directory, a device) is refused. Messages start
 * "who: " and name the path. */
dsc_status dsc__read_whole_file(const char *who, const char *path, unsigned char **buf, size_t *len);
/* Opens a regular file for reading (*fd, to close) and gives its size: a device or a
 * FIFO is refused, as above (checkpoints read what they need with pread). */
dsc_status dsc__open_regular(const char *who, const char *path, int *fd, size_t *size);
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

/* ---- schedules (src/sched), as the optimizer steps them: the check that a step may
 * happen (onecycle ends), then the step itself, which cannot fail after the check. */
dsc_status dsc__sched_can_step(const dsc_sched *s);
void dsc__sched_advance(dsc_sched *s, double loss);
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
} dsc__ops;

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

/* The data of tensor i at the optimizer's evaluation point, whatever its mode (params.c):
 * the ops' eval_state buffer once it has stepped, else the parameter itself. */
const void *dsc__optim_eval_point(const dsc_optim *opt, size_t i);

/* Marks a loop for vectorisation (OpenMP's simd, or -fopenmp-simd without OpenMP). */
#if defined(_OPENMP) || defined(DSC_OMP_SIMD)
#define DSC__SIMD _Pragma("omp simd")
/* The same for a loop that sums into a and b (the lanes' order is fixed by the code,
 * so the sums do not depend on the thread count). */
#define DSC__SIMD_SUM2(a, b) DSC__PRAGMA(omp simd reduction(+ : a, b))
#define DSC__PRAGMA(x) _Pragma(#x)
#else
#define DSC__SIMD
#define DSC__SIMD_SUM2(a, b)
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

#endif
