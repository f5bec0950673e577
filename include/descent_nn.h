/* SPDX-License-Identifier: MIT (see LICENSE); part of descent. */
/*
 * descent_nn.h: multilayer perceptrons trained with the optimizers of descent.h.
 *
 * Dense layers compute through CBLAS (sgemm/dgemm); parameters and gradients live
 * in one contiguous buffer each, exposed as named tensors ("fc1.weight" of shape
 * [out, in], "fc1.bias") that the optimizer steps in place. Float32 by default,
 * float64 on request. Every random choice (initialisation, shuffling, dropout, splits)
 * comes from a seeded generator held in the object or the call: same seed, same run.
 */
#ifndef DESCENT_NN_H
#define DESCENT_NN_H

#include "descent.h"
#include "descent_data.h"
#include "descent_checkpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- building blocks */

typedef enum dsc_activation {
    DSC_ACT_LINEAR = 0,
    DSC_ACT_RELU,
    DSC_ACT_LEAKY_RELU, /* slope leaky_slope below 0 (default 0.01) */
    DSC_ACT_ELU,        /* alpha elu_alpha (default 1) */
    DSC_ACT_SELU,       /* the constants of Klambauer et al. 2017 */
    DSC_ACT_TANH,
    DSC_ACT_SIGMOID,
    DSC_ACT_SOFTMAX,    /* over the units of a row */
    DSC_ACT_COUNT       /* sentinel */
} dsc_activation;

const char *dsc_activation_name(dsc_activation act); /* "relu", NULL if invalid */
dsc_status dsc_activation_from_name(const char *name, dsc_activation *out);

typedef enum dsc_loss {
    DSC_LOSS_MSE = 0,    /* mean squared error */
    DSC_LOSS_BCE,        /* binary cross-entropy on logits (one output, targets in [0, 1]) */
    DSC_LOSS_SOFTMAX_CE, /* softmax cross-entropy on logits (targets are labels 0..K-1) */
    DSC_LOSS_COUNT
} dsc_loss;

const char *dsc_loss_name(dsc_loss loss); /* "mse", "bce", "softmax_ce" */
dsc_status dsc_loss_from_name(const char *name, dsc_loss *out);

typedef enum dsc_init {
    DSC_INIT_AUTO = 0,      /* He normal for the ReLU family, Xavier uniform otherwise */
    DSC_INIT_HE_NORMAL,     /* N(0, 2/fan_in) */
    DSC_INIT_HE_UNIFORM,    /* U(-sqrt(6/fan_in), +) */
    DSC_INIT_XAVIER_NORMAL, /* N(0, 2/(fan_in+fan_out)) */
    DSC_INIT_XAVIER_UNIFORM,/* U(-sqrt(6/(fan_in+fan_out)), +) */
    DSC_INIT_COUNT
} dsc_init;

const char *dsc_init_name(dsc_init init); /* "auto", "he_normal", "xavier_uniform", ... */
dsc_status dsc_init_from_name(const char *name, dsc_init *out);

/* ---------------------------------------------------------------- the model */

#define DSC_MLP_MAX_LAYERS 16

typedef struct dsc_mlp_config {
    size_t sizes[DSC_MLP_MAX_LAYERS + 1]; /* inputs, hidden..., outputs */
    int layers;                /* dense layers: sizes[0..layers] are used (1..16) */
    dsc_activation hidden;     /* activation of every hidden layer (default relu) */
    dsc_activation output;     /* of the last layer (default linear: logits) */
    dsc_init init;             /* default auto; biases start at 0 */
    double leaky_slope;        /* default 0.01 */
    double elu_alpha;          /* default 1 */
    double dropout;            /* probability of dropping a hidden unit in training (default 0) */
    dsc_dtype dtype;           /* default DSC_F32 */
    uint64_t seed;             /* initialisation seed (default 0) */
    /*
     * A network other than a dense stack (NULL: the dense stack above): its layers in
     * order, comma separated, e.g. "conv2d(16,k=5,pad=2),relu,maxpool2d(2),flatten,dense(10)":
     *   conv2d(out, k=, stride=1, pad=0)   NCHW, weight [out, in, k, k] and bias [out]
     *   maxpool2d(k, stride=k, pad=0), avgpool2d(k, stride=k, pad=0)  (avg counts the padding)
     *   flatten                            an image row as c*h*w values
     *   dense(out)                         on flat rows: weight [out, in], bias [out]
     *   batchnorm(eps=1e-5, momentum=0.1)  per channel of images, per feature of flat
     *                                      rows (batchnorm1d, batchnorm2d check which);
     *                                      weight and bias, running_mean and running_var
     *   dropout(p)                         inverted dropout in training
     *   relu, tanh, ... (dsc_activation's names; leaky_slope and elu_alpha apply)
     * Tensors are named like PyTorch's modules: conv1.weight, bn1.bias, fc2.weight,
     * numbered per kind. With model set, shape gives the input, and layers, sizes[1..],
     * hidden, output and dropout are not used: the model's own configuration
     * (dsc_mlp_get_config) has sizes[0] and sizes[1] its inputs and outputs, layers 1.
     * The string is copied.
     */
    const char *model;
    size_t shape[3];           /* with model: the input's channels, height and width, or
                                  {features, 0, 0} for flat rows */
} dsc_mlp_config;

/* Defaults for a network of the given layer sizes (inputs, hidden..., outputs). */
dsc_mlp_config dsc_mlp_config_default(const size_t *sizes, int count);
/* Defaults for a network of layers model (see dsc_mlp_config's model) on inputs of
 * channels x height x width (height = width = 0: flat rows of channels values). */
dsc_mlp_config dsc_mlp_config_model(const char *model, size_t channels, size_t height, size_t width);

typedef struct dsc_mlp dsc_mlp;

dsc_status dsc_mlp_create(dsc_mlp **out, const dsc_mlp_config *cfg);
void dsc_mlp_destroy(dsc_mlp *m);
const dsc_mlp_config *dsc_mlp_get_config(const dsc_mlp *m);

/* The named tensors (weight then bias, layer by layer, for the layers that have them). */
size_t dsc_mlp_param_count(const dsc_mlp *m);
const dsc_param *dsc_mlp_params(const dsc_mlp *m);
/* The contiguous parameter and gradient buffers, dsc_mlp_weight_count elements each. */
size_t dsc_mlp_weight_count(const dsc_mlp *m);
void *dsc_mlp_data(dsc_mlp *m);
void *dsc_mlp_grad(dsc_mlp *m);

/*
 * Chooses the optimizer (a spec, see dsc_hparams_parse), an optional learning-rate
 * schedule (a spec, see dsc_sched_create; NULL for none) that advances once per batch,
 * and the loss. Biases are excluded from weight decay. The cross-entropy losses take
 * logits: they need a linear output activation; mse and bce need one output. May be
 * called again to restart the optimizer state.
 */
dsc_status dsc_mlp_compile(dsc_mlp *m, const char *optimizer, const char *schedule, dsc_loss loss);
dsc_optim *dsc_mlp_optimizer(dsc_mlp *m); /* NULL before compile */
dsc_loss dsc_mlp_loss(const dsc_mlp *m);

/*
 * Input standardization x' = (x - mean) / std, applied by every call that takes
 * features (fit sets it from its training split unless told not to). NULL clears it.
 * For regression, the target is standardized alike (y_mean, y_std; y_std > 0).
 */
dsc_status dsc_mlp_set_standardization(dsc_mlp *m, const double *mean, const double *std);
dsc_status dsc_mlp_set_target_scaling(dsc_mlp *m, double y_mean, double y_std);
/* The standardization in use (inputs values each): 1 when set (mean and std filled,
 * either may be NULL), 0 when inputs pass unchanged. */
int dsc_mlp_get_standardization(const dsc_mlp *m, double *mean, double *std);
void dsc_mlp_get_target_scaling(const dsc_mlp *m, double *y_mean, double *y_std);

/*
 * The loss of n rows (features x, n x inputs, targets y) and its gradient in the
 * gradient buffer; no dropout. The building block of custom loops and gradient checks.
 */
dsc_status dsc_mlp_loss_grad(dsc_mlp *m, const double *x, const double *y, size_t n, double *loss);

/* Outputs for n rows: class probabilities (softmax_ce), P(y = 1) (bce) or the
 * prediction in target units (mse); out holds n x outputs. */
dsc_status dsc_mlp_predict(dsc_mlp *m, const double *x, size_t n, double *out);

/* Mean loss and metric on a dataset: accuracy for classification losses, R^2 for mse. */
dsc_status dsc_mlp_evaluate(dsc_mlp *m, const dsc_dataset *ds, double *loss, double *metric);
/* The same in the same pass, with the root mean squared error in target units into rmse
 * (mse models; NAN for the classification losses). Any of the three may be NULL. */
dsc_status dsc_mlp_evaluate_rmse(dsc_mlp *m, const dsc_dataset *ds, double *loss, double *metric, double *rmse);

/* ---------------------------------------------------------------- training */

typedef struct dsc_epoch {
    int64_t epoch;       /* 1-based */
    double train_loss;   /* mean of the batch losses of the epoch */
    double train_metric; /* accuracy (classification) or R^2 (mse) over the epoch's batches */
    double val_loss;     /* NAN without validation */
    double val_metric;
    double lr;           /* learning rate of group 0 at the end of the epoch */
    int64_t skipped;     /* optimizer steps skipped for non-finite gradients */
    double seconds;      /* wall time of the epoch, validation included */
    double avg_val_loss; /* validation loss and metric at the weight average (dsc_fit_config's
                            average); NAN without an average or without validation */
    double avg_val_metric;
} dsc_epoch;

typedef struct dsc_history {
    size_t count;        /* epochs run */
    dsc_epoch *epochs;
    int64_t best_epoch;  /* epoch of the lowest validation loss (0 without validation) */
    int stopped_early;
    double seconds;      /* the epochs, from the first step on */
    size_t train_rows;   /* rows trained on per epoch (after the validation split) */
    size_t val_rows;     /* rows validated on (0 without validation) */
    double prepare_seconds; /* the fit's work before the first step: the validation split,
                               the standardization's statistics, the buffers */
} dsc_history;

void dsc_history_destroy(dsc_history *h);

/*
 * Data-parallel training (descent_dist.h provides the collectives): every process runs
 * the same fit on the same data and seed; each computes the gradient of its share of
 * every batch (dsc rows split like dsc_dist_split: contiguous, the first b % size one
 * larger), already divided by the whole batch size, so the sum over the processes is
 * the one-process gradient. step replaces the optimizer step (the hook between
 * backward and the update), with the batch's mean loss when the model's schedule is
 * loss-driven (NULL otherwise); sum adds n values over the processes (the epoch's
 * loss and metric tallies, the batch loss); skipped reports the steps skipped for
 * non-finite gradients and lr the learning rate of group 0, for the history.
 * tensor_ready (optional) is told, during the backward pass, each tensor (an index of
 * dsc_mlp_params) whose gradient is final, last layer first, so that its reduction
 * can start while the earlier layers compute (dsc_dist_tensor_ready); a failure it
 * meets should surface from the next step.
 */
typedef struct dsc_fit_parallel {
    int rank, size;
    void (*tensor_ready)(void *ctx, size_t tensor);
    dsc_status (*step)(void *ctx, const double *loss);
    dsc_status (*sum)(void *ctx, double *v, size_t n);
    int64_t (*skipped)(void *ctx);
    double (*lr)(void *ctx);
    void *ctx;
    /* whether the last step applied an update (not a skip, nor a micro-batch of an
       accumulation window): the weight average folds after updates only. Needed when
       the fit keeps an average (every rank keeps the same one over its full weights) */
    int (*updated)(void *ctx);
} dsc_fit_parallel;

typedef struct dsc_fit_config {
    int64_t epochs;        /* >= 1 */
    size_t batch_size;     /* >= 1 (default 32) */
    int shuffle;           /* reshuffle every epoch (default 1) */
    uint64_t seed;         /* shuffling, dropout and the validation split (default 0) */
    double val_split;      /* fraction of the data held out for validation, [0, 1) */
    const dsc_dataset *val;/* or an explicit validation set (then val_split must be 0) */
    int64_t patience;      /* > 0: stop after that many epochs without a better val loss */
    int restore_best;      /* with patience: restore the best weights at the end (default 1) */
    int standardize;       /* standardize inputs (and regression targets) from the training
                              split (default 1) */
    /* optional progress callbacks (the library never prints) */
    void (*on_batch)(size_t done, size_t total, double loss, void *user);
    void (*on_epoch)(const dsc_epoch *e, void *user);
    void *user;
    const dsc_fit_parallel *parallel; /* NULL: one process (default) */
    int resume;            /* continue the model's training position (that of its last fit, or of
                              dsc_mlp_load) instead of starting one: epochs counts the epochs to add,
                              they are numbered on, the shuffling and dropout generators, the
                              standardization and the early-stopping state (best loss, epoch and
                              weights) go on, and the history returned holds every epoch of the
                              position. Needs the seed, val_split, patience and data (checked: the
                              training and validation rows) of the run it continues, and a run that
                              has not stopped early. Default 0 */
    const char *average;   /* a weight average of the parameters (dsc_average_create's spec:
                              "ema(decay=0.999)", "swa(start=1000)"; NULL: none, the default),
                              folded after every optimizer update; or "ax", ASGD's own average
                              (dsc_average_create_ax: the optimizer's state ax, which its step
                              folds; refused for other kinds). A fit keeps it in the model
                              (dsc_mlp_average, dsc_mlp_use_average), validates at it every epoch
                              (dsc_epoch's avg_val_loss, avg_val_metric) and dsc_mlp_save stores
                              it. A fresh fit starts a new one from the weights it starts from
                              (or none); resume needs the same spec (compared canonically) and
                              continues it. Early stopping and restore_best follow the live
                              weights' validation loss, never the average's: they snapshot the
                              weights training goes on from, and the average is a function of
                              that whole trajectory, which it keeps following */
} dsc_fit_config;

dsc_fit_config dsc_fit_config_default(void);

/*
 * Trains a compiled model on ds. Classification targets must be labels 0..K-1 (K the
 * output size; 0/1 for bce). The history is allocated for the caller (free with
 * dsc_history_destroy); hist may be NULL. Nothing is allocated inside the epoch loop.
 */
dsc_status dsc_mlp_fit(dsc_mlp *m, const dsc_dataset *ds, const dsc_fit_config *cfg,
                       dsc_history **hist);

/*
 * The weight average of the model's last fit (NULL when it kept none): its spec and
 * counters (dsc_average_format, dsc_average_averaged). dsc_mlp_use_average(m, 1) puts
 * the averaged weights into the model, so that dsc_mlp_predict, dsc_mlp_evaluate and
 * dsc_mlp_data see them; (m, 0) puts the training weights back, bit for bit. Both are
 * no-ops when already so. dsc_mlp_fit and dsc_mlp_save refuse while the average is in
 * use (the optimizer's state belongs to the training weights).
 */
const dsc_average *dsc_mlp_average(const dsc_mlp *m);
dsc_status dsc_mlp_use_average(dsc_mlp *m, int on);
int dsc_mlp_using_average(const dsc_mlp *m);

/* ---------------------------------------------------------------- checkpoints */

/*
 * A compiled model in one safetensors file (a descent checkpoint, descent_checkpoint.h):
 * the optimizer's checkpoint (parameters as param/fc1.weight..., its state, schedule and
 * counters) with what only the model knows:
 *   extra strings  the architecture (mlp.sizes "13,16,3", mlp.hidden, mlp.output,
 *                  mlp.init, mlp.leaky_slope, mlp.elu_alpha, mlp.dropout, mlp.dtype,
 *                  mlp.seed, mlp.loss), the target scaling (mlp.y_mean, mlp.y_std) and
 *                  the training position: fit.epoch, fit.seed, fit.rows, fit.val_rows,
 *                  fit.val_split, fit.patience, fit.skipped0, the shuffling and dropout
 *                  generators (fit.shuffle_rng, fit.dropout_rng: 4 words in hex), the
 *                  early-stopping state (fit.best_epoch, fit.best_loss, fit.stopped);
 *                  doubles in %.17g
 *   extra/ tensors mlp.mean and mlp.inv_std (F64 [inputs], when standardized),
 *                  fit.history (F64 [epochs, 8]: epoch, train_loss, train_metric,
 *                  val_loss, val_metric, lr, skipped, seconds), fit.best (the weights of
 *                  the best epoch, with patience) and fit.live (the last epoch's weights
 *                  when the parameters hold the restored best ones).
 *   the average    with dsc_fit_config's average: the checkpoint's own average
 *                  (average/<name>/<ema|swa>, none for ax, __metadata__ average, average.updates,
 *                  average.averaged) and extra/fit.avg_history (F64 [epochs, 2]:
 *                  avg_val_loss, avg_val_metric).
 * Fitting E1 epochs, saving, loading and fitting E2 more with resume set gives the bits
 * (weights, optimizer state, history) of E1 + E2 epochs straight. Positions are epoch
 * boundaries: a checkpoint saved from on_epoch resumes like one saved after the fit.
 * The write is atomic. o NULL: the defaults.
 */
typedef struct dsc_mlp_save_options {
    /* nextra caller strings, stored as "extra.<key>" (keys must not start with "mlp."
     * or "fit.": those are the model's) */
    const dsc_kv *extra;
    size_t nextra;
    /* NULL: the model's optimizer; or another over the model's own tensors (its
     * buffers) standing for it: a data-parallel run saves the state it gathered at one
     * rank (dsc_dist_gather_state) with the model's position */
    const dsc_optim *optimizer;
} dsc_mlp_save_options;

/* No strings, the model's own optimizer. */
dsc_mlp_save_options dsc_mlp_save_options_default(void);
dsc_status dsc_mlp_save(const dsc_mlp *m, const char *path, const dsc_mlp_save_options *o);

/* Creates a compiled model from a file dsc_mlp_save wrote (or from an open one). It
 * predicts at once (dsc_mlp_predict, through the saved standardization; with the best
 * weights when the fit restored them; the weight average, when the fit kept one, is
 * restored beside them, not in use) and goes on training with dsc_mlp_fit's resume.
 * On any failure (damaged file, not an MLP checkpoint, inconsistent metadata) nothing
 * is created and *out is untouched. */
dsc_status dsc_mlp_load(dsc_mlp **out, const char *path);

/* What dsc_mlp_load_ckpt restores. */
typedef struct dsc_mlp_load_options {
    /* 1: the optimizer is restored without its state buffers, which are neither read
     * nor allocated (the file's state/ tensors must still be there for a later read):
     * everything else as dsc_mlp_load. For a data-parallel run, whose ranks read their
     * own state from the file (dsc_dist_restore_state); the model predicts, but
     * cannot train or be saved until dsc_mlp_compile gives it another optimizer. */
    int skip_state;
} dsc_mlp_load_options;

/* The state restored. */
dsc_mlp_load_options dsc_mlp_load_options_default(void);

/* dsc_mlp_load from an open checkpoint, with o (NULL: the defaults). */
dsc_status dsc_mlp_load_ckpt(dsc_mlp **out, const dsc_ckpt *ck, const dsc_mlp_load_options *o);

/* Epochs of the model's training position (0 before any fit). */
int64_t dsc_mlp_epochs_done(const dsc_mlp *m);

/* ---------------------------------------------------------------- BLAS */

typedef struct dsc_blas_info {
    const char *name;   /* "OpenBLAS" */
    const char *config; /* the library's build string ("OpenBLAS 0.3.21 DYNAMIC_ARCH ...") */
    const char *core;   /* the kernel set in use ("SkylakeX", "Haswell", "Prescott"...) */
    int threads;
} dsc_blas_info;

dsc_blas_info dsc_blas_get_info(void);
/* Threads for the matrix products (>= 1). */
dsc_status dsc_blas_set_threads(int threads);
/*
 * The OPENBLAS_CORETYPE this CPU should use ("SkylakeX" with AVX-512, "Haswell" with
 * AVX2, NULL otherwise). OpenBLAS reads the variable once, when it is loaded: a
 * program sets it in the environment before it starts (or re-executes itself).
 */
const char *dsc_blas_preferred_core(void);

#ifdef __cplusplus
}
#endif
#endif /* DESCENT_NN_H */
