/* nn.h: the MLP's internals, shared by the files of src/nn. */
#ifndef DSC_NN_INTERNAL_H
#define DSC_NN_INTERNAL_H

#include "descent_nn.h"
#include "../core/internal.h"
#include "../core/rng.h"

/* ---- names (names.c): the index of name in names[0..count-1], or DSC_ERR_SPEC with a
 * message listing them. */
dsc_status dsc__name_index(const char *who, const char *const *names, int count, const char *name,
                           int *out);

/* Defines the public name and from-name functions of an enum T over table[count]. */
#define DSC__NAMED_ENUM(T, name_fn, from_fn, table, count, who)                    \
    const char *name_fn(T v) { return (unsigned)v < (unsigned)(count) ? table[v] : NULL; } \
    dsc_status from_fn(const char *name, T *out)                                 \
    {                                                                            \
        int i_;                                                                  \
        dsc_status st_ = dsc__name_index(who, table, count, name, &i_);          \
        if (st_ == DSC_OK) *out = (T)i_;                                         \
        return st_;                                                              \
    }

/* ---- activations (activation.c): in place over n rows of k units. */
typedef struct dsc__act_params {
    double leaky_slope, elu_alpha;
} dsc__act_params;

/* a = f(a) */
void dsc__act_forward(dsc_activation act, dsc_dtype dt, const dsc__act_params *p, void *a,
                      size_t n, size_t k);
/* d = d * f'(.) computed from the outputs a (softmax: its Jacobian times d) */
void dsc__act_backward(dsc_activation act, dsc_dtype dt, const dsc__act_params *p,
                       const void *a, void *d, size_t n, size_t k);

/* ---- losses (loss.c) on outputs z (n x k) and targets y (n). */
typedef struct dsc__tally {
    double loss;  /* sum of per-row losses */
    size_t rows;
    size_t correct;       /* classification */
    double sse, sy, syy;  /* regression, in target units */
} dsc__tally;

/* Adds the rows' losses to t and, when d is not NULL, writes d = scale * dLoss/dz. */
void dsc__loss_eval(dsc_loss loss, dsc_dtype dt, const void *z, const double *y, size_t n,
                    size_t k, void *d, double scale, dsc__tally *t);
/* Adds accuracy (classification) or squared errors (mse; unscaled by y_std/y_mean) to t. */
void dsc__loss_metric(dsc_loss loss, dsc_dtype dt, const void *z, const double *y, size_t n,
                      size_t k, double y_mean, double y_std, dsc__tally *t);
double dsc__tally_metric(dsc_loss loss, const dsc__tally *t); /* accuracy or R^2 */

/* ---- layers: a network is a sequence of them (model.c builds it from a spec or from
 * an MLP configuration). Every layer maps rows of `in` values to rows of `out` values;
 * images are NCHW rows of c x h x w values. */
typedef enum dsc__kind {
    DSC__DENSE = 0, /* out = x W^T + b */
    DSC__CONV,      /* conv2d: k x k kernels, stride, zero padding */
    DSC__MAXPOOL,   /* k x k windows, stride, padding that never wins */
    DSC__AVGPOOL,   /* k x k windows, stride, zero padding counted in the mean */
    DSC__FLATTEN,   /* an image row as a flat row (the same memory) */
    DSC__BATCHNORM, /* per channel (per feature on flat rows) */
    DSC__DROPOUT,   /* inverted dropout in training */
    DSC__ACT,       /* an activation, in place */
    DSC__KIND_COUNT
} dsc__kind;

#define DSC__MAX_NET_LAYERS 64
#define DSC__NAME_LEN 24

typedef struct dsc__layer {
    dsc__kind kind;
    char name[DSC__NAME_LEN]; /* "conv1", "fc2", "bn1", "relu3": tensors and errors */
    int image_in, image_out;  /* the rows are c x h x w images (else flat: c values) */
    size_t ic, ih, iw, oc, oh, ow;
    size_t in, out;           /* values per row */
    size_t k, stride, pad;    /* conv and pools */
    dsc_activation act;       /* DSC__ACT; on dense and conv the one that follows (init) */
    double p;                 /* dropout probability */
    double eps, momentum;     /* batchnorm */
    int param;                /* its first tensor (weight, then bias) in params; -1 for none */
    size_t w_off, b_off;      /* element offsets into the parameter and gradient buffers */
    size_t s_off;             /* batchnorm: running mean then running var in stats */
    int64_t tracked;          /* batchnorm: num_batches_tracked */
    int inplace;              /* the output is the input's buffer (activations, flatten) */
    void *y;                  /* rows x out */
    void *aux;                /* dropout: mask (rows x out); maxpool: argmax (rows x out
                                 size_t); batchnorm: x-hat (rows x out) */
    void *aux2;               /* batchnorm: 1/sqrt(var + eps) of the batch (oc values) */
    const void *cur;          /* where the last forward pass left the output (y, or the
                                 input passed on by flatten and an evaluating dropout) */
} dsc__layer;

/* Builds the layers of cfg (its model spec, or its dense stack) with their shapes,
 * names and offsets, without allocating: *nweights parameters, *nstats running
 * statistics, *nparams tensors. Errors name the layer. Any sequence of layers is a
 * plan (the tests plan single layers); dsc__net_check tells a network. */
dsc_status dsc__net_plan(const dsc_mlp_config *cfg, dsc__layer *layers, int *nlayers, size_t *nweights,
                         size_t *nstats, int *nparams);
/* Checks that a plan makes a network: it ends in flat rows and has weights. */
dsc_status dsc__net_check(const dsc__layer *layers, int nlayers, int nparams);
/* The parameter tensor j of layer l: its name suffix ("weight", "bias"), ndim and shape. */
void dsc__layer_tensor(const dsc__layer *l, int j, const char **suffix, int *ndim, size_t shape[4]);
/* The activation the network ends with (linear when it ends with another layer). */
dsc_activation dsc__net_output_act(const dsc_mlp *m);

/* ---- the layers' passes */
/* C = A B (with the transpositions), beta 0 or 1: the one BLAS call of every layer. */
void dsc__gemm(dsc_dtype dt, int trans_a, int trans_b, size_t m, size_t n, size_t k, const void *a, size_t lda,
               const void *b, size_t ldb, double beta, void *c, size_t ldc);
/* dense: y = x W^T + b; gw = d^T x, gb = sum of d's rows, dx = d W when dx is not NULL. */
void dsc__dense_forward(dsc_dtype dt, const dsc__layer *l, const void *w, const void *b,
                        const void *x, void *a, size_t n);
void dsc__dense_backward(dsc_dtype dt, const dsc__layer *l, const void *w, const void *x,
                         const void *d, void *gw, void *gb, void *dx, size_t n);
/* conv2d through im2col. The weight gradient is summed in DSC__CONV_LANES fixed runs
 * of rows, added in order (the same bits on any number of threads); a layer runs on
 * at most that many threads. scratch: dsc__conv_scratch(l, threads) values, threads
 * the most the passes may use (each has its own patch matrix). */
#define DSC__CONV_LANES 8
size_t dsc__conv_scratch(const dsc__layer *l, size_t threads);
void dsc__conv_forward(dsc_dtype dt, const dsc__layer *l, const void *w, const void *b, const void *x, void *y,
                       void *scratch, size_t threads, size_t n);
void dsc__conv_backward(dsc_dtype dt, const dsc__layer *l, const void *w, const void *x, const void *d, void *gw,
                        void *gb, void *dx, void *scratch, size_t threads, size_t n);
/* The BLAS's threads; _off sets them to one for products the caller runs on its own
 * threads and returns how many there were, _on(that) restores them. */
int dsc__blas_threads(void);
int dsc__blas_threads_off(void);
void dsc__blas_threads_on(int threads);
/* pools: maxpool records the argmax of every output in l->aux */
void dsc__pool_forward(dsc_dtype dt, const dsc__layer *l, const void *x, void *y, size_t threads, size_t n);
void dsc__pool_backward(dsc_dtype dt, const dsc__layer *l, const void *d, void *dx, size_t threads, size_t n);
/* batchnorm: train normalizes by the batch's statistics and updates the running ones
 * (stats: mean then var, oc each); otherwise by the running ones. */
void dsc__bn_forward(dsc_dtype dt, dsc__layer *l, const void *gamma, const void *beta, void *stats, const void *x,
                     void *y, size_t n, int train);
void dsc__bn_backward(dsc_dtype dt, const dsc__layer *l, const void *gamma, const void *d, void *ggamma, void *gbeta,
                      void *dx, size_t n, int train);

/*
 * The training position: everything a fit carries from one epoch to the next beyond
 * the weights and the optimizer, so that a fit with resume set (after a fit, or after
 * dsc_mlp_load) continues on the bits of an unbroken one.
 */
typedef struct dsc__position {
    int64_t epochs;        /* epochs done; 0: no position */
    uint64_t seed;         /* of the fit that started it */
    size_t rows, val_rows; /* its training and validation rows */
    double val_split;
    int64_t patience;
    int64_t skipped0;      /* the optimizer's skipped count when it started */
    dsc__rng shuffle;      /* (the dropout generator is the model's rng) */
    int64_t best_epoch;    /* lowest validation loss so far (0: none) */
    double best_loss;
    int stopped;           /* early stopping ended the run */
    dsc_epoch *hist;       /* epochs entries, room for cap */
    size_t cap;
    void *best;            /* weights of best_epoch, kept when patience > 0 */
    void *live;            /* with best: the last epoch's weights while the model holds the best */
    int restored;          /* the model holds the best weights, live the ones training goes on from */
    dsc_average *avg;      /* the fit's weight average over the model's tensors, or NULL */
} dsc__position;

struct dsc_mlp {
    dsc_mlp_config cfg;
    dsc__act_params actp;
    char *model;         /* cfg.model's own copy */
    int nlayers;
    dsc__layer layer[DSC__MAX_NET_LAYERS];
    size_t inputs, outputs; /* values per row in and out */
    size_t esize;
    size_t nweights;
    void *data, *grad;
    size_t nstats;       /* batchnorm running statistics, in the model's dtype */
    void *stats;
    int nparams;
    dsc_param params[2 * DSC__MAX_NET_LAYERS];
    char names[2 * DSC__MAX_NET_LAYERS][2 * DSC__NAME_LEN];
    dsc__rng rng;        /* dropout: one key per batch drawn from it (dsc__mlp_dropout_batch) */
    uint64_t drop_key;   /* the batch's dropout key */
    size_t drop_row0;    /* the batch position of this process's first row */
    dsc__position pos;   /* where training stands (position.c) */
    /* batch buffers, sized once for cap rows */
    size_t cap;
    void *x0;            /* cap x inputs */
    void *delta[2];      /* cap x widest layer */
    void *col;           /* conv scratch (dsc__conv_scratch for col_threads threads) */
    size_t col_threads;
    double *ybuf;        /* cap targets */
    /* compile */
    dsc_optim *opt;
    dsc_loss loss;
    /* standardization */
    double *mean, *inv_std; /* NULL: none */
    double y_mean, y_std;
};

/* dsc_mlp_create, with the weights initialised when init, else left zero (a load
 * overwrites them from the checkpoint, so drawing them would be wasted work). */
dsc_status dsc__mlp_create(dsc_mlp **out, const dsc_mlp_config *cfg, int init);
/* Sizes the batch buffers for rows rows (no-op when already large enough). */
dsc_status dsc__mlp_reserve(dsc_mlp *m, size_t rows);
/* Standardizes and converts rows idx (or 0..n-1 when idx is NULL) of x into m->x0
 * and their targets (scaled for mse) into m->ybuf. */
void dsc__mlp_gather(dsc_mlp *m, const double *x, const double *y, const size_t *idx,
                     size_t n);
/* The same from a dataset, its features in float64 or float32: rows idx, or (idx NULL)
 * rows first..first+n-1. */
void dsc__mlp_gather_rows(dsc_mlp *m, const dsc_dataset *ds, size_t first, const size_t *idx, size_t n);
/* The dropout masks of the next forward pass in training: rows [row0, row0 + n) of
 * the next batch. Every process of a data-parallel fit calls it once per batch (rows
 * or none), so the key stays in step and a unit's mask depends on the seed, the batch
 * and the row's place in the global batch alone: N processes drop what one does. */
void dsc__mlp_dropout_batch(dsc_mlp *m, size_t row0);
/* Forward pass of n rows in m->x0; dropout when train; returns the output buffer. */
const void *dsc__mlp_forward(dsc_mlp *m, size_t n, int train);
/* Backward pass from m->delta[0] = dLoss/doutput into the gradient buffer (through
 * the dropout masks of the last forward pass when train). */
void dsc__mlp_backward(dsc_mlp *m, size_t n, int train);
/* The same, telling par (may be NULL) each layer's tensors as their gradients are
 * final, last layer first, so their reduction overlaps the rest of the pass. */
void dsc__mlp_backward_par(dsc_mlp *m, size_t n, int train, const dsc_fit_parallel *par);
/* Checks targets against the loss: labels 0..K-1, [0, 1] for bce, finite for mse. */
dsc_status dsc__check_targets(const dsc_mlp *m, const char *who, const double *y, size_t n);
/* Evaluation and prediction go DSC__EVAL_ROWS rows at a time whatever the batch size
 * the buffers were reserved for: a row's result and the order of the sums depend on
 * how many rows one pass holds, and a loaded model must score its data exactly as the
 * trained one did (train's test scores are evaluate's, bit for bit). */
#define DSC__EVAL_ROWS 256
/* Loss and metric tallies of a dataset, DSC__EVAL_ROWS rows at a time in the batch
 * buffers (reserved for at least that many rows, targets checked). */
void dsc__mlp_tally(dsc_mlp *m, const dsc_dataset *ds, dsc__tally *t);


/* ---- the training position (position.c) */
void dsc__pos_free(dsc__position *p);
/* Checks that cfg may resume m's position (before anything changes). */
dsc_status dsc__pos_check_resume(const dsc_mlp *m, const dsc_fit_config *cfg);
/* A fresh position for a fit of cfg over rows training and val_rows validation rows:
 * the generators seeded, no epoch, no best. */
void dsc__pos_start(dsc_mlp *m, const dsc_fit_config *cfg, size_t rows, size_t val_rows, int64_t skipped);
/* Room for more epochs of history, and the best-weights buffers when patience > 0. */
dsc_status dsc__pos_reserve(dsc__position *p, int64_t more, size_t weight_bytes);
/* Puts the weights training goes on from back in the model (after a restore of the best). */
void dsc__pos_continue(dsc_mlp *m);
/* Ends a fit: the best weights into the model (keeping the live ones) when restore. */
void dsc__pos_finish(dsc_mlp *m, int restore);
/* Notes an epoch's validation loss; returns 1 when patience has run out. */
int dsc__pos_note_val(dsc_mlp *m, const dsc_epoch *e);
/* The position's history as a dsc_history (allocated). */
dsc_history *dsc__pos_history(const dsc__position *p);

/* ---- the weight average of a fit (fit_average.c) */
/* Checks cfg's average before anything changes: its spec, the hook it needs under
 * parallel, the one a resumed fit continues, and that the average is not in use. */
dsc_status dsc__avg_check(const dsc_mlp *m, const dsc_fit_config *cfg);
/* A fresh fit's average (spec NULL: none) from the weights it starts from, or a loaded
 * model's (the file's spec; the restore fills it). "ax" is over m->opt's state. */
dsc_status dsc__avg_start(dsc_mlp *m, const char *spec);
/* Folds the weights in when the step just taken updated them. */
dsc_status dsc__avg_after_step(dsc_mlp *m, const dsc_fit_config *cfg);
/* The epoch's validation figures at the average (NAN without an average or val). */
void dsc__avg_validate(dsc_mlp *m, const dsc_dataset *val, dsc_epoch *e);

/* The model's optimizer steps on the calling thread. Between the matrix products
 * OpenBLAS's own threads hold the cores; OpenMP workers of a threaded step would
 * spin-wait after it (libgomp's default policy) and take those cores from OpenBLAS:
 * a digits-sized step is a few percent of a batch, the spinning made an epoch of
 * 784-256-128-10 four times slower (3.5 s against 0.9 s on 2 cores). A caller who
 * wants a threaded step sets it on dsc_mlp_optimizer. */
#define DSC__MLP_STEP_THREADS 1

/* Checks that loss suits the network's outputs (who names the caller). */
dsc_status dsc__mlp_check_loss(const dsc_mlp *m, const char *who, dsc_loss loss);

/* ---- initialisation (init.c) */
/* n weights w drawn for fan_in and fan_out, nb biases b set to 0. */
void dsc__init_layer(dsc_init init, dsc_activation act, dsc_dtype dt, dsc__rng *rng, size_t fan_in,
                     size_t fan_out, size_t n, void *w, size_t nb, void *b);

#endif
