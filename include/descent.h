/* SPDX-License-Identifier: MIT (see LICENSE); part of descent. */
/*
 * descent.h: the core API of libdescent (optimizers, parameters, groups, specs).
 *
 * Conventions (see README.md and docs/):
 *   - Every fallible function returns dsc_status; DSC_OK == 0, errors are negative.
 *     After a failure, dsc_last_error() gives a message with the detail, for the
 *     calling thread ("adam: beta1 must be in [0, 1), got 1.5").
 *   - Parameters and gradients are borrowed from the caller; optimizer state is
 *     allocated by the library (64-byte aligned, zeroed) and freed by its destroy.
 *   - No global mutable state: independent objects may be used from different
 *     threads at once. One object must not be used by two threads at once.
 *   - Update rules and defaults follow torch.optim (PyTorch 2.x); see docs/optimizers.md.
 */
#ifndef DESCENT_H
#define DESCENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DSC_VERSION_MAJOR 0
#define DSC_VERSION_MINOR 1
#define DSC_VERSION_PATCH 0
#define DSC_VERSION_STRING "0.1.0"

/* The version of the library linked at run time ("0.1.0"), which may differ from the
 * DSC_VERSION_* of the header a program was compiled with. */
const char *dsc_version(void);

/* ---------------------------------------------------------------- status */

typedef enum dsc_status {
    DSC_OK = 0,
    DSC_ERR_ARG = -1,        /* a NULL pointer, a bad index, an argument that cannot work */
    DSC_ERR_NOMEM = -2,      /* an allocation failed */
    DSC_ERR_SPEC = -3,       /* a spec string could not be parsed (unknown name or key, syntax) */
    DSC_ERR_RANGE = -4,      /* a hyperparameter is outside its allowed range */
    DSC_ERR_NONFINITE = -5,  /* a gradient held NaN or Inf under the "error" policy */
    DSC_ERR_IO = -6,         /* a file could not be read or written */
    DSC_ERR_FORMAT = -7,     /* a file or buffer is malformed, truncated or corrupted */
    DSC_ERR_MISMATCH = -8,   /* shapes, dtypes, names or kinds do not agree */
    DSC_ERR_UNSUPPORTED = -9 /* valid request this build or kind does not support */
} dsc_status;

/* A short, static description of a status code ("invalid hyperparameter value"). */
const char *dsc_status_str(dsc_status st);

/* The detailed message of the last failure on the calling thread ("" if none). */
const char *dsc_last_error(void);

/* ---------------------------------------------------------------- parameters */

typedef enum dsc_dtype { DSC_F32 = 0, DSC_F64 = 1 } dsc_dtype;

/* Size in bytes of one element of dtype, or 0 for an invalid dtype. */
size_t dsc_dtype_size(dsc_dtype dt);
const char *dsc_dtype_name(dsc_dtype dt); /* "f32", "f64" */

enum {
    DSC_NO_DECAY = 1u << 0,   /* weight decay (L2, L1 and decoupled) skips this tensor */
    DSC_SPARSE_GRAD = 1u << 1 /* a 2-D [rows, dim] tensor whose gradient comes as rows
                                 (dsc_optim_set_sparse_grad); its grad must be NULL */
};

#define DSC_MAX_DIMS 8

/*
 * One tensor to optimize. data and grad are borrowed: they must stay valid while the
 * optimizer lives, and hold n elements of dtype. shape is optional (ndim 0 means a
 * 1-D tensor of n elements); when given, its product must equal n. name must be
 * unique within an optimizer (checkpoints match tensors by name); NULL gives "p<i>".
 * group selects the parameter group (0 .. count-1, like torch's param_groups).
 */
typedef struct dsc_param {
    const char *name;
    void *data;
    void *grad;
    size_t n;
    dsc_dtype dtype;
    unsigned flags;
    int ndim;
    size_t shape[DSC_MAX_DIMS];
    int group;
} dsc_param;

/* Marks every tensor of at most one dimension (biases, norm scales) DSC_NO_DECAY. */
void dsc_params_no_decay_1d(dsc_param *params, size_t count);

/* ---------------------------------------------------------------- optimizers */

typedef enum dsc_kind {
    DSC_SGD = 0,
    DSC_ADAGRAD,
    DSC_RMSPROP,
    DSC_ADADELTA,
    DSC_ADAM,
    DSC_ADAMW,
    DSC_ADAMAX,
    DSC_NADAM,
    DSC_RADAM,
    DSC_ADABELIEF,
    DSC_LION,               /* Chen et al. 2023 (google/automl lion) */
    DSC_LAMB,               /* You et al. 2019, layer-wise trust ratio over Adam */
    DSC_LARS,               /* You et al. 2017, layer-wise trust ratio over SGD momentum */
    DSC_SCHEDULEFREE_ADAMW, /* Defazio et al. 2024 (facebookresearch/schedule_free) */
    DSC_MUON,               /* torch.optim.Muon on 2-D tensors, AdamW on the others */
    DSC_RPROP,              /* torch.optim.Rprop (resilient backpropagation) */
    DSC_ASGD,               /* torch.optim.ASGD (averaged SGD), torch 1.13's rule */
    DSC_SPARSE_ADAM,        /* torch.optim.SparseAdam: lazy Adam for row-sparse gradients */
    DSC_LBFGS,              /* torch.optim.LBFGS, torch 1.13's algorithm: dsc_optim_step_closure */
    DSC_ADAFACTOR,          /* torch.optim.Adafactor (torch 2.5): factored second moment */
    DSC_KIND_COUNT /* sentinel */
} dsc_kind;

/* The spec name of a kind ("adam"), or NULL for an invalid kind. */
const char *dsc_kind_name(dsc_kind kind);
/* The kind for a name ("adam"; aliases such as "sgdm" are resolved by the spec parser). */
dsc_status dsc_kind_from_name(const char *name, dsc_kind *out);

/* What to do when a gradient holds NaN or Inf. */
typedef enum dsc_nonfinite {
    DSC_NONFINITE_SKIP = 0,  /* skip the whole step, change nothing, count it (default) */
    DSC_NONFINITE_ERROR = 1, /* return DSC_ERR_NONFINITE, change nothing */
    DSC_NONFINITE_IGNORE = 2 /* do not check (fastest; NaN propagates) */
} dsc_nonfinite;

/* Muon's learning-rate adjustment for an A x B matrix (torch.optim.Muon adjust_lr_fn). */
typedef enum dsc_muon_adjust {
    DSC_MUON_ORIGINAL = 0,       /* lr * sqrt(max(1, A/B)) (Keller Jordan's) */
    DSC_MUON_MATCH_RMS_ADAMW = 1 /* lr * 0.2 * sqrt(max(A, B)) (Moonlight's) */
} dsc_muon_adjust;
/* L-BFGS's line search (torch.optim.LBFGS line_search_fn). */
typedef enum dsc_line_search {
    DSC_LINE_SEARCH_NONE = 0,        /* a fixed step: lr (the first iteration's scaled) */
    DSC_LINE_SEARCH_STRONG_WOLFE = 1 /* bracketing and cubic zoom to the strong Wolfe
                                        conditions (c1 = 1e-4, c2 = 0.9, 25 evaluations) */
} dsc_line_search;
/* Element type of the optimizer state (moments and buffers). */
typedef enum dsc_state_dtype {
    DSC_STATE_PARAM = 0, /* the parameter's dtype (default) */
    DSC_STATE_BF16 = 1   /* bfloat16: half the state bytes (Adam moves 20 instead of 28
                            bytes a step per f32 parameter); exp_avg rounded to nearest,
                            exp_avg_sq stochastically (else beta2 = 0.999 stalls it);
                            adam and adamw, f32 parameters, no lookahead */
} dsc_state_dtype;

/*
 * Hyperparameters of one group. One struct serves every kind; a field a kind does
 * not use must keep its default. Start from dsc_hparams_default(kind) and change
 * fields with designated assignments; the spec string parses into the same struct.
 */
typedef struct dsc_hparams {
    dsc_kind kind;
    double lr;
    /* regularization, every kind */
    double weight_decay;        /* L2 (coupled: g += wd*theta), or decoupled (below) */
    int decoupled_weight_decay; /* theta *= 1 - lr*wd before the update (AdamW) */
    double l1;                  /* g += l1*sign(theta) */
    int maximize;               /* ascend instead of descend */
    /* sgd */
    double momentum;
    double dampening;
    int nesterov;
    int lr_in_buffer; /* v = mu*v - lr*g; theta += v (Keras/numpy-ml convention) */
    /* adagrad */
    double lr_decay;
    double initial_accumulator_value;
    /* rmsprop (alpha, momentum, centered), adadelta (rho); asgd's alpha is its eta power */
    double alpha;
    int centered;
    double rho;
    /* adam family */
    double beta1;
    double beta2;
    double eps;
    int amsgrad;
    double momentum_decay; /* nadam */
    /* training controls (optimizer-wide: taken from the hparams given at create) */
    double clip_norm;      /* > 0: clip the gradients' global norm to this (0 = off) */
    double clip_norm_type; /* p of the norm: 2 by default, any p >= 1, or INFINITY */
    int clip_per_tensor;   /* clip each tensor's norm separately (numpy-ml clip_norm) */
    double clip_value;     /* > 0: clamp every gradient element to [-v, v] (0 = off) */
    dsc_nonfinite nonfinite;
    int64_t max_consecutive_skips; /* > 0: that many skips in a row become an error */
    /* lamb */
    int bias_correction; /* Adam's bias corrections in the direction (default 1) */
    /* lars */
    double trust_coefficient; /* eta of ratio = eta |p| / (|g| + wd |p| + eps) */
    /* schedulefree_adamw */
    int64_t warmup_steps;   /* linear warm-up of lr over these steps */
    double r;               /* polynomial weighting power of the average */
    double weight_lr_power; /* weights of the average are lr_max^power */
    /* muon: 2-D tensors use momentum, nesterov, eps (Newton-Schulz), lr and
     * weight_decay; every other tensor uses AdamW with the adamw_* values */
    int64_t ns_steps;
    dsc_muon_adjust adjust_lr;
    double adamw_lr;
    double adamw_beta1;
    double adamw_beta2;
    double adamw_eps;
    double adamw_weight_decay;
    /* rprop: etas=(eta_minus, eta_plus), step_sizes=(step_size_min, step_size_max) */
    double eta_minus;
    double eta_plus;
    double step_size_min;
    double step_size_max;
    /* asgd: eta = lr / (1 + lambd*lr*t)^alpha; averaging of ax starts after t0 steps */
    double lambd;
    double t0;
    /* lbfgs: iterations and loss evaluations of one step (max_eval 0: max_iter * 5 / 4,
     * torch's default, taken from max_iter at each step), the stopping tolerances on the
     * largest gradient element and on the change of loss or step, the (s, y) pairs
     * kept, and the line search (torch.optim.LBFGS's arguments) */
    int64_t max_iter;
    int64_t max_eval;
    double tolerance_grad;
    double tolerance_change;
    int64_t history_size;
    dsc_line_search line_search_fn;
    /* adafactor: beta2_t = 1 - t^beta2_decay; the second moment's estimate is floored
     * at eps1^2 (eps1 DSC_EPS1_DTYPE: the element type's machine epsilon, torch's None);
     * the step is max(eps2, RMS(p)) * min(lr, 1/sqrt(t)); the update's RMS is clipped
     * to d */
    double beta2_decay;
    double eps1;
    double eps2;
    double d;
    /* lookahead, around any kind (Zhang et al. 2019): when lookahead_k > 0, every
     * lookahead_k steps slow += alpha (p - slow) and p = slow */
    int64_t lookahead_k;
    double lookahead_alpha;
    int64_t accumulate;            /* K >= 1: update once every K calls of dsc_optim_step,
                                      with the mean of the K gradients (default 1) */
    dsc_state_dtype state_dtype;   /* optimizer-wide, spec key state_dtype=param|bf16 */
} dsc_hparams;

/* adafactor's eps1 when not given (torch's eps=(None, ...)): the machine epsilon of
 * each tensor's element type. */
#define DSC_EPS1_DTYPE (-1.0)

/* PyTorch's defaults for kind (lr 1e-3 for Adam, weight_decay 1e-2 for AdamW, ...). */
dsc_hparams dsc_hparams_default(dsc_kind kind);

/* Checks every field; DSC_ERR_RANGE names the first bad field, its range and value. */
dsc_status dsc_hparams_validate(const dsc_hparams *hp);

/*
 * Parses "name" or "name(key=value, ...)" into *out (defaults of the kind for the
 * keys not given). Keys are PyTorch's names; aliases: learning_rate, betas=(b1,b2),
 * decay1/decay2, epsilon, rho/decay/decay_rate (RMSprop smoothing); names sgdm, sgdnm,
 * amsgrad. The result is validated.
 */
dsc_status dsc_hparams_parse(const char *spec, dsc_hparams *out);

/* Writes the canonical spec of hp (every non-default key) into buf; returns the
 * length it needed (like snprintf). */
size_t dsc_hparams_format(const dsc_hparams *hp, char *buf, size_t size);

typedef struct dsc_optim dsc_optim;

/*
 * Creates an optimizer over count tensors. Every group named by params[i].group
 * starts with *hp; change a group's with dsc_optim_set_group_hparams. The optimizer
 * copies the parameter descriptors (names included) but not the tensors.
 */
dsc_status dsc_optim_create(dsc_optim **out, const dsc_hparams *hp,
                            const dsc_param *params, size_t count);
/* The same from a spec string. */
dsc_status dsc_optim_create_spec(dsc_optim **out, const char *spec,
                                 const dsc_param *params, size_t count);
void dsc_optim_destroy(dsc_optim *opt);

/*
 * One update of every tensor from its gradient. Returns DSC_OK also when the step
 * was skipped for a non-finite gradient (see dsc_optim_last_skipped); DSC_ERR_NONFINITE
 * under the "error" policy or past max_consecutive_skips; nothing changes then.
 */
dsc_status dsc_optim_step(dsc_optim *opt);

/*
 * A closure: evaluates the loss at the parameters' current values (the data buffers
 * given at create or dsc_optim_bind) into *loss and writes its gradient into their grad
 * buffers (overwriting them: the optimizer never zeroes them for it), as the closure of
 * torch's optimizer.step(closure) does with loss.backward(). ctx is the caller's, passed
 * back. Anything but DSC_OK stops the step and is returned by it (under L-BFGS the
 * parameters may then hold a point of the line search).
 */
typedef dsc_status (*dsc_closure_fn)(void *ctx, double *loss);

/*
 * One step with a closure, torch's optimizer.step(closure). L-BFGS (which needs it: its
 * plain dsc_optim_step is refused) evaluates fn as often as one torch step does: up to
 * max_iter iterations and max_eval evaluations, fewer once the largest gradient element
 * is <= tolerance_grad or the loss or step changes by less than tolerance_change;
 * every other kind calls fn once and then dsc_optim_step_loss with its loss. *loss (may
 * be NULL) gets the loss of the first evaluation, at the parameters the step started
 * from, as torch's step returns it. A step counts as one (dsc_optim_step_count),
 * however many iterations it made; schedules advance once. A non-finite first loss or
 * gradient follows the nonfinite policy (skip: nothing changes); later ones propagate
 * as in torch.
 */
dsc_status dsc_optim_step_closure(dsc_optim *opt, dsc_closure_fn fn, void *ctx, double *loss);
/* 1 for the kinds whose dsc_optim_step is refused for want of a closure (L-BFGS). */
int dsc_optim_needs_closure(const dsc_optim *opt);
/* L-BFGS's counters, torch's state 'n_iter' and 'func_evals' (iterations and
 * evaluations of fn over all its steps); 0 for the other kinds. */
int64_t dsc_optim_lbfgs_iterations(const dsc_optim *opt);
int64_t dsc_optim_lbfgs_evaluations(const dsc_optim *opt);

/* Sets every gradient to zero (a sparse gradient to no rows). */
void dsc_optim_zero_grad(dsc_optim *opt);

/*
 * Row-sparse gradients, for embedding tables (torch's sparse gradients of
 * nn.Embedding(sparse=True)). A tensor flagged DSC_SPARSE_GRAD is 2-D, [rows, dim], has
 * grad NULL, and takes its gradient from this call: nrows row indices (each in [0,
 * rows)) and values, nrows x dim elements of the tensor's dtype, row k of values being
 * the gradient of row rows[k]. A row may appear more than once: its values are summed,
 * in order, as torch's coalesce() does. Rows not named have a zero gradient, and their
 * state and parameters do not change at all (sparse_adam's lazy moments), but for SGD's
 * momentum, which moves every row it has ever named, as torch's does. rows is read
 * now; values is borrowed like a dense gradient: each step reads it, so it must stay
 * valid and hold the gradient until it is replaced by another call or cleared by
 * dsc_optim_zero_grad. Until the first call the gradient has no rows.
 *
 * Kinds: sparse_adam (which takes no dense gradient), sgd (momentum and Nesterov too:
 * a dense buffer, 0 on the rows never named) and adagrad; every other kind
 * refuses DSC_SPARSE_GRAD tensors at create, as torch.optim refuses sparse gradients.
 * Weight decay, l1, lookahead and accumulate > 1 are refused for these tensors (they
 * would touch every row); clipping and the non-finite policy see the summed values.
 * Fails, changing nothing, for a tensor that is not DSC_SPARSE_GRAD or a row out of
 * range.
 */
dsc_status dsc_optim_set_sparse_grad(dsc_optim *opt, size_t i, const int64_t *rows, size_t nrows,
                                     const void *values);

dsc_kind dsc_optim_kind(const dsc_optim *opt);
size_t dsc_optim_param_count(const dsc_optim *opt);
const dsc_param *dsc_optim_param(const dsc_optim *opt, size_t i);
/* Points tensor i at other memory of the same size and dtype: data and grad (NULL
 * keeps the current buffer), for callers whose buffers move between steps, such as a
 * framework that allocates a new gradient tensor. The state is kept. */
dsc_status dsc_optim_bind(dsc_optim *opt, size_t i, void *data, void *grad);
int dsc_optim_group_count(const dsc_optim *opt);

/* Hyperparameters of a group; setting them validates, and the kind must not change.
 * Turning momentum, amsgrad or centered on or off allocates or frees the group's
 * buffers (docs/optimizers.md); DSC_ERR_NOMEM leaves everything as it was. */
dsc_status dsc_optim_get_group_hparams(const dsc_optim *opt, int group, dsc_hparams *out);
dsc_status dsc_optim_set_group_hparams(dsc_optim *opt, int group, const dsc_hparams *hp);
/* "lr=1e-4, weight_decay=0": keys of the optimizer's kind applied over the group's values. */
dsc_status dsc_optim_set_group_spec(dsc_optim *opt, int group, const char *keys);
dsc_status dsc_optim_get_lr(const dsc_optim *opt, int group, double *lr);
dsc_status dsc_optim_set_lr(dsc_optim *opt, int group, double lr);

/* Updates applied so far (skipped steps do not count). */
int64_t dsc_optim_step_count(const dsc_optim *opt);
/* Steps skipped in all, and whether the last call of dsc_optim_step skipped. */
int64_t dsc_optim_skipped_count(const dsc_optim *opt);
int dsc_optim_last_skipped(const dsc_optim *opt);

/* The gradient norm the last step measured (of clip_norm_type, 2 without clipping;
 * NAN when the step measured none: nonfinite=ignore and no clipping). */
double dsc_optim_grad_norm(const dsc_optim *opt);

/* Bytes of optimizer state allocated (moments and buffers), for memory reports. */
size_t dsc_optim_state_bytes(const dsc_optim *opt);

/*
 * State buffers of tensor i, for checkpoints and inspection: names are PyTorch's
 * ("exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer", "sum", "square_avg",
 * "acc_delta", "grad_avg", "exp_inf", "exp_avg_var"; schedule-free's "z" and "x";
 * Rprop's "prev" and "step_size"; ASGD's "ax", the running average of the parameter;
 * "lookahead_slow", last, under lookahead). Each holds n elements of the tensor's
 * dtype, owned by the optimizer. Muon's layout depends on the tensor: 2-D tensors
 * have "momentum_buffer", the others "exp_avg" and "exp_avg_sq". So does Adafactor's,
 * whose buffers are smaller: a tensor of >= 2 dimensions keeps "row_var" (its shape
 * with the last dimension 1) and "col_var" (the one before it 1), the others
 * "variance" (n elements); dsc_optim_state_shape gives each buffer's shape.
 * L-BFGS has none per
 * tensor: its state (history over the flat concatenation of every tensor, torch's
 * old_dirs, old_stps, ro, d, t, H_diag, prev_flat_grad, prev_loss, n_iter,
 * func_evals) is the optimizer's, held in double and saved by checkpoints as
 * "optim/<name>" tensors.
 */
size_t dsc_optim_state_count(const dsc_optim *opt, size_t i);
/* The shape of state buffer k of tensor i (shape holds DSC_MAX_DIMS; the elements are
 * their product): the tensor's, but for Adafactor's row and column factors. */
dsc_status dsc_optim_state_shape(const dsc_optim *opt, size_t i, size_t k, int *ndim, size_t *shape);
/* DSC_STATE_BF16: every state buffer holds n bfloat16 values (uint16_t, the high half
 * of the f32 bits) instead of elements of the tensor's dtype. */
dsc_state_dtype dsc_optim_state_dtype(const dsc_optim *opt);
dsc_status dsc_optim_state(const dsc_optim *opt, size_t i, size_t k,
                           const char **name, void **data);

/* Scalar state of a group beyond the step count, by name: NAdam's "mu_product",
 * schedule-free's "weight_sum" and "lr_max", ASGD's "eta" and "mu" (every kind has
 * all five). */
/* The names of the group scalars for k = 0, 1, ... (NULL past the last), so that
 * checkpoints can save them all. */
const char *dsc_optim_scalar_name(size_t k);
dsc_status dsc_optim_get_scalar(const dsc_optim *opt, int group, const char *name, double *v);
dsc_status dsc_optim_set_scalar(dsc_optim *opt, int group, const char *name, double v);
/* The largest step, skip or update count a counter may be set to: 2^53, where a count
 * still converts exactly to a double (bias corrections raise betas to the step), and
 * far enough from INT64_MAX that counting on cannot overflow. */
#define DSC_MAX_COUNT (INT64_C(1) << 53)
/* Restores counters (for checkpoints): 0 <= consecutive_skips <= skipped, each and
 * steps at most DSC_MAX_COUNT. */
dsc_status dsc_optim_set_counters(dsc_optim *opt, int64_t steps, int64_t skipped,
                                  int64_t consecutive_skips);
int64_t dsc_optim_consecutive_skips(const dsc_optim *opt);

/* The scalar reference loop instead of the fast kernels (for tests; default 0). */
void dsc_optim_use_reference(dsc_optim *opt, int on);

/*
 * Threads a step uses (OpenMP): every tensor of every group is split across them in
 * one parallel region, in equal shares of elements. 0 means the OpenMP default
 * (OMP_NUM_THREADS, else the core count), which is also the default at create. A
 * build without OpenMP runs on one thread and dsc_optim_threads says 1. Results do
 * not depend on the thread count (lamb's and lars's norms are summed in fixed blocks).
 * Small steps use fewer threads than set; Muon's 2-D tensors take one thread each
 * (their Newton-Schulz products go through CBLAS, which has threads of its own).
 */
dsc_status dsc_optim_set_threads(dsc_optim *opt, int threads);
int dsc_optim_threads(const dsc_optim *opt);

/*
 * Training and evaluation parameters (Schedule-Free keeps both). eval != 0 writes the
 * evaluation point x into the caller's parameter buffers; eval == 0 writes the
 * training point y = beta1 x + (1 - beta1) z back. Both are rebuilt from the state
 * (z and x, which checkpoints hold), never from what the buffers held, so switching
 * is idempotent and a restored optimizer can rebuild either. dsc_optim_step fails in
 * eval mode. Kinds without two points accept the switch and change nothing.
 */
dsc_status dsc_optim_eval_mode(dsc_optim *opt, int eval);
int dsc_optim_in_eval_mode(const dsc_optim *opt);

/* ---------------------------------------------------------------- weight averaging */

/*
 * An average of the parameters, kept in its own buffers (torch.optim.swa_utils):
 *   "ema(decay=0.999, every=1, start=0)": avg += (1 - decay) (p - avg)
 *   "swa(start=0, every=1)":              avg += (p - avg) / (n + 1), n folded so far
 * dsc_average_update is called once after each optimizer step; its t-th call folds the
 * parameters in when t >= start and t % every == 0. The first fold copies them. Until
 * then the average holds the parameters as they were at create.
 */
typedef struct dsc_average dsc_average;

dsc_status dsc_average_create(dsc_average **out, const char *spec, const dsc_param *params,
                              size_t count);
/* ASGD's own average (torch.optim.ASGD's state['ax']) as a dsc_average with spec "ax":
 * its buffers are opt's state buffers ax (borrowed: opt must outlive it), which opt's
 * step folds, so dsc_average_update only counts. Before opt's first step it copies the
 * parameters into ax (that step sets ax = p without reading it). Refused for a kind
 * other than ASGD. Do not step opt while the average is swapped in. */
dsc_status dsc_average_create_ax(dsc_average **out, dsc_optim *opt);
void dsc_average_destroy(dsc_average *avg);
dsc_status dsc_average_update(dsc_average *avg);
/* Copies tensor i's average into dst (n elements of its dtype). */
dsc_status dsc_average_copy_to(const dsc_average *avg, size_t i, void *dst);
/* Exchanges parameters and averages (evaluate with the average); again to undo.
 * dsc_average_update fails while swapped. */
dsc_status dsc_average_swap(dsc_average *avg);
int dsc_average_swapped(const dsc_average *avg);
/* For checkpoints: tensor i's buffer (named "ema", "swa" or "ax") and the two counters. */
dsc_status dsc_average_buffer(const dsc_average *avg, size_t i, const char **name, void **data);
int64_t dsc_average_updates(const dsc_average *avg);  /* calls of update */
int64_t dsc_average_averaged(const dsc_average *avg); /* folds so far */
dsc_status dsc_average_set_counters(dsc_average *avg, int64_t updates, int64_t averaged);
/* The tensors averaged (descriptors as given to create; names copied, "p<i>" when NULL,
 * as the optimizer names them; ndim 0 as [n]), and the canonical spec, every key given
 * ("ema(decay=0.999, every=1, start=0)"; like snprintf). Checkpoints: descent_checkpoint.h,
 * dsc_checkpoint_save_options' average. */
size_t dsc_average_count(const dsc_average *avg);
const dsc_param *dsc_average_param(const dsc_average *avg, size_t i);
size_t dsc_average_format(const dsc_average *avg, char *buf, size_t size);
/* ---------------------------------------------------------------- gradient accumulation
 * With accumulate=K, each call of dsc_optim_step adds the gradients into a buffer the
 * optimizer owns (state buffer "grad_accum" of every tensor, listed last by
 * dsc_optim_state); the K-th call updates once with their mean. Clipping, weight decay,
 * the step counter and the schedule act once per update. A micro-batch with a
 * non-finite gradient is skipped under the skip policy and does not count toward K. */

/* Whether the last call of dsc_optim_step applied an update (0 while accumulating,
 * after a skip or an error). */
int dsc_optim_last_updated(const dsc_optim *opt);
/* Micro-batches accumulated in the current window and the sum of their losses
 * (dsc_optim_step_loss; a plain dsc_optim_step adds none), for checkpoints; set
 * restores them (0 <= count < K, any sum). */
dsc_status dsc_optim_get_accum(const dsc_optim *opt, int64_t *count, double *loss_sum);
dsc_status dsc_optim_set_accum(dsc_optim *opt, int64_t count, double loss_sum);

/* ---------------------------------------------------------------- gradient clipping
 * Standalone versions of what the optimizer's clip_* keys do inside dsc_optim_step;
 * they change the caller's gradients in place, like torch.nn.utils. */

/* Scales every gradient by max_norm / (total + 1e-6) when that is < 1, where total is
 * the norm of order norm_type (> 0, or INFINITY) of all gradients together
 * (torch.nn.utils.clip_grad_norm_). *total_norm (may be NULL) gets the norm measured.
 * A non-finite total leaves the gradients unchanged and returns DSC_ERR_NONFINITE
 * (torch's error_if_nonfinite=True). */
dsc_status dsc_clip_grad_norm(const dsc_param *params, size_t count, double max_norm,
                              double norm_type, double *total_norm);
/* The same coefficient per tensor, from each tensor's own norm (numpy-ml's clip_norm);
 * norms (may be NULL) gets count norms. Non-finite norms leave their tensor unchanged. */
dsc_status dsc_clip_grad_norm_per_tensor(const dsc_param *params, size_t count, double max_norm,
                                         double norm_type, double *norms);
/* Clamps every gradient element to [-clip_value, clip_value]; NaN stays NaN
 * (torch.nn.utils.clip_grad_value_). */
dsc_status dsc_clip_grad_value(const dsc_param *params, size_t count, double clip_value);

/* ---------------------------------------------------------------- schedules
 * A schedule answers the learning rate of the next step. Its position counts its
 * steps; the rate it gives at position t-1 is the one used at optimizer step t, as
 * PyTorch's get_last_lr() after t-1 calls of scheduler.step(). Specs use PyTorch's
 * names and defaults (numpy-ml's for noam, exponential_stages and king):
 *
 *   step(step_size, gamma=0.1)               multistep(milestones=[...], gamma=0.1)
 *   exponential(gamma)                       cosine(T_max, eta_min=0)
 *   cosine_restarts(T_0, T_mult=1, eta_min=0)
 *   linear(start_factor=1/3, end_factor=1, total_iters=5)
 *   constant(factor=1/3, total_iters=5)      polynomial(total_iters=5, power=1)
 *   onecycle(max_lr=base, total_steps, pct_start=0.3, anneal_strategy=cos|linear,
 *            div_factor=25, final_div_factor=1e4, three_phase=false)
 *   cyclic(base_lr=base, max_lr, step_size_up=2000, step_size_down=step_size_up,
 *          mode=triangular|triangular2|exp_range, gamma=1)
 *   plateau(mode=min|max, factor=0.1, patience=10, threshold=1e-4,
 *           threshold_mode=rel|abs, cooldown=0, min_lr=0, eps=1e-8)      loss-driven
 *   sequential(SPEC, SPEC, ..., milestones=[...])   (PyTorch's SequentialLR)
 *   noam(model_dim=512, warmup_steps=4000, scale_factor=1)
 *   exponential_stages(decay=0.1, stage_length=500, staircase=false)
 *   king(patience=1000, decay=0.99)                                    loss-driven
 *
 * Keys without a default are required. See docs in README ("Schedules"). */
typedef struct dsc_sched dsc_sched;

/* Creates a schedule from spec over the base learning rate base_lr (>= 0). */
dsc_status dsc_sched_create(dsc_sched **out, const char *spec, double base_lr);
/* A function of the position t (PyTorch's last_epoch, 0 at the start) for LambdaLR
 * (lr = base * f(t)) and MultiplicativeLR (lr *= f(t) at each step); ctx is the
 * caller's, passed back. */
typedef double (*dsc_sched_fn)(int64_t t, void *ctx);
/* The same with the caller's function: spec is "lambda(fn=callback)" or
 * "multiplicative(fn=callback)", the spec a checkpoint saves for it. */
dsc_status dsc_sched_create_fn(dsc_sched **out, const char *spec, double base_lr, dsc_sched_fn fn, void *ctx);
/* The caller's function of a schedule (and its ctx), or NULL. */
dsc_sched_fn dsc_sched_function(const dsc_sched *s, void **ctx);
void dsc_sched_destroy(dsc_sched *s);

/* The rate of the next step (step dsc_sched_position + 1). */
double dsc_sched_lr(const dsc_sched *s);
int64_t dsc_sched_position(const dsc_sched *s);
double dsc_sched_base_lr(const dsc_sched *s);
const char *dsc_sched_spec(const dsc_sched *s); /* the spec it was created from */
/* 1 for the kinds that need a loss per step (plateau, king). */
int dsc_sched_needs_loss(const dsc_sched *s);

/* One step (PyTorch's scheduler.step()). Loss-driven kinds need dsc_sched_step_loss,
 * which takes the loss observed after the step (ignored by the other kinds).
 * onecycle fails past total_steps, as PyTorch does; nothing changes then. */
dsc_status dsc_sched_step(dsc_sched *s);
dsc_status dsc_sched_step_loss(dsc_sched *s, double loss);

/*
 * State for checkpoints: named scalars ("position", "lr", plateau's "best",
 * "num_bad_epochs", "cooldown_counter", cosine_restarts' "T_cur", "T_i"; a sequential's
 * children prefixed "0.", "1.", ...) and King's loss history. Restore into a schedule
 * created from the same spec and base; set checks each value.
 */
size_t dsc_sched_state_count(const dsc_sched *s);
dsc_status dsc_sched_get_state(const dsc_sched *s, size_t k, const char **name, double *value);
dsc_status dsc_sched_set_state(dsc_sched *s, const char *name, double value);
/* King's loss history (oldest first; 0 values for the other kinds). */
size_t dsc_sched_history(const dsc_sched *s, const double **values);
dsc_status dsc_sched_set_history(dsc_sched *s, const double *values, size_t len);

/*
 * Attaches a schedule to group (or every group, for -1); the optimizer owns one
 * instance per group, over the group's lr as base (the base of the schedule it
 * replaces, if any), and sets the group's lr to the schedule's rate now and after
 * every update. spec NULL detaches (the group keeps its current rate). A skipped step,
 * or a call that only accumulates, does not advance the schedule. dsc_optim_set_lr on a
 * scheduled group holds only until the next update.
 */
dsc_status dsc_optim_set_schedule(dsc_optim *opt, int group, const char *spec);
/* The same with the caller's function (dsc_sched_create_fn); a checkpoint loaded into an
 * optimizer whose group has such a schedule with the same spec keeps the function. */
dsc_status dsc_optim_set_schedule_fn(dsc_optim *opt, int group, const char *spec, dsc_sched_fn fn, void *ctx);
/* The schedule of group (NULL if none), owned by the optimizer: for its state. */
dsc_sched *dsc_optim_schedule(const dsc_optim *opt, int group);
/* dsc_optim_step with the loss observed before it (at the current parameters), for
 * loss-driven schedules (needed then: dsc_optim_step fails); with accumulate=K they
 * receive the mean of the K losses. */
dsc_status dsc_optim_step_loss(dsc_optim *opt, double loss);

#ifdef __cplusplus
}
#endif
#endif /* DESCENT_H */
