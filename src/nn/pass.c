/*
 * pass.c: moving a batch through the network: gathering (standardizing) rows into
 * the input buffer, the forward pass with optional dropout, the backward pass into
 * the gradient buffer, and the calls built on them (loss and gradient, predict,
 * evaluate). Everything works in the buffers sized by dsc__mlp_reserve.
 *
 * The file is read once plain, then its typed part (the kernels) once for float and
 * once for double (core/typed.h).
 */
#ifndef T
#include "nn.h"

#include <math.h>
#include <string.h>

/* Uniform in [0, 1) for one unit: a counter-based draw keyed by the batch's key, the
 * layer, the row's place in the global batch and the unit (splitmix64 rounds), so the
 * mask of a row does not depend on which process computes it or in what order. */
static double drop_uniform(uint64_t key, int layer, size_t row, size_t unit)
{
    uint64_t x = key ^ (uint64_t)layer;
    x = dsc__splitmix64(&x) ^ (uint64_t)row;
    x = dsc__splitmix64(&x) ^ (uint64_t)unit;
    return (double)(dsc__splitmix64(&x) >> 11) * 0x1.0p-53;
}

/* typed.h includes it again: the path is from src/core, where typed.h is */
#define DSC_TYPED_FILE "../nn/pass.c"
#include "../core/typed.h"
#endif

#ifdef T
/* The rows idx (the first n when idx is NULL) of the data into out, standardized when
 * the network has the data's statistics. The data are double (xd) or float32 (xf, a
 * dataset may hold float32 features), the other pointer NULL: always inlined into the
 * two functions below with a constant NULL, so that each gets the loops of its own
 * data type, as fast as ones written for it. */
static inline __attribute__((always_inline)) void FN(gather_from)(const dsc_mlp *m, const double *xd, const float *xf,
                                                                  const size_t *idx, size_t n, T *out)
{
    size_t c = m->inputs;
    for (size_t r = 0; r < n; r++) {
        size_t at = (idx ? idx[r] : r) * c;
        const double *rd = xf ? NULL : xd + at;
        const float *rf = xf ? xf + at : NULL;
        T *o = out + r * c;
        if (m->mean)
            for (size_t j = 0; j < c; j++) o[j] = (T)(((rf ? rf[j] : rd[j]) - m->mean[j]) * m->inv_std[j]);
        else
            for (size_t j = 0; j < c; j++) o[j] = (T)(rf ? rf[j] : rd[j]);
    }
}

static void FN(gather)(const dsc_mlp *m, const double *x, const size_t *idx, size_t n, T *out)
{
    FN(gather_from)(m, x, NULL, idx, n, out);
}

static void FN(gather_of_f32)(const dsc_mlp *m, const float *x, const size_t *idx, size_t n, T *out)
{
    FN(gather_from)(m, NULL, x, idx, n, out);
}

/* Draws the inverted-dropout mask of n rows of layer `layer` (kept units scaled by
 * 1/(1-p), so evaluation needs no rescaling) and applies it. */
static void FN(dropout)(const dsc_mlp *m, int layer, double p, const T *a, T *mask, T *h, size_t n, size_t out)
{
    const T keep = (T)(1 / (1 - p));
    for (size_t r = 0; r < n; r++)
        for (size_t u = 0; u < out; u++) {
            size_t i = r * out + u;
            double v = drop_uniform(m->drop_key, layer, m->drop_row0 + r, u);
            mask[i] = v < p ? 0 : keep;
            h[i] = a[i] * mask[i];
        }
}

static void FN(mul)(T *d, const T *mask, size_t len)
{
    for (size_t i = 0; i < len; i++) d[i] *= mask[i];
}
#endif

#ifndef T
static void gather_targets(dsc_mlp *m, const double *y, const size_t *idx, size_t n);

void dsc__mlp_gather(dsc_mlp *m, const double *x, const double *y, const size_t *idx,
                     size_t n)
{
    if (m->cfg.dtype == DSC_F32) gather_f32(m, x, idx, n, m->x0);
    else gather_f64(m, x, idx, n, m->x0);
    gather_targets(m, y, idx, n);
}

void dsc__mlp_gather_rows(dsc_mlp *m, const dsc_dataset *ds, size_t first, const size_t *idx, size_t n)
{
    size_t skip = idx ? 0 : first;
    const float *xf = dsc_dataset_x32(ds);
    const double *y = dsc_dataset_y(ds) + skip;
    if (!xf) {
        dsc__mlp_gather(m, dsc_dataset_x(ds) + skip * m->inputs, y, idx, n);
        return;
    }
    xf += skip * m->inputs;
    if (m->cfg.dtype == DSC_F32) gather_of_f32_f32(m, xf, idx, n, m->x0);
    else gather_of_f32_f64(m, xf, idx, n, m->x0);
    gather_targets(m, y, idx, n);
}

static void gather_targets(dsc_mlp *m, const double *y, const size_t *idx, size_t n)
{
    if (!y) return;
    int scale = m->loss == DSC_LOSS_MSE;
    for (size_t r = 0; r < n; r++) {
        double v = y[idx ? idx[r] : r];
        m->ybuf[r] = scale ? (v - m->y_mean) / m->y_std : v;
    }
}

void dsc__mlp_dropout_batch(dsc_mlp *m, size_t row0)
{
    m->drop_key = dsc__rng_next(&m->rng);
    m->drop_row0 = row0;
}

static void *wptr(dsc_mlp *m, size_t off) { return (char *)m->data + off * m->esize; }
static void *gptr(dsc_mlp *m, size_t off) { return (char *)m->grad + off * m->esize; }

/* A network with convolutions runs its batch on OpenMP threads (a share of the rows
 * each, in the convolutions, the pools and the activations), as many as the BLAS has
 * and the conv scratch has slots for, and keeps OpenBLAS's own threads out of the
 * whole pass: one woken for a dense layer's small product spins in sched_yield for a
 * long while after it (OpenBLAS's thread timeout) and takes a core from the OpenMP
 * threads that come next. On 2 cores that cost the CNN's epoch about a third of its
 * time. Sets *threads; returns the BLAS's threads for pass_end. A network without
 * convolutions keeps its products on OpenBLAS's threads. */
static int pass_begin(const dsc_mlp *m, size_t *threads)
{
    if (!m->col) {
        int blas = dsc__blas_threads();
        *threads = blas > 1 ? (size_t)blas : 1;
        return 0;
    }
    int blas = dsc__blas_threads_off();
    *threads = blas < 1 ? 1 : (size_t)blas < m->col_threads ? (size_t)blas : m->col_threads;
    return blas;
}

static void pass_end(int blas) { dsc__blas_threads_on(blas); }

/* An activation over n rows of out values (its backward pass with d set), a share of
 * consecutive rows on each thread: every activation works row by row (softmax too),
 * so the bits do not depend on the threads. */
static void act_rows(const dsc_mlp *m, const dsc__layer *l, void *a, void *d, size_t threads, size_t n)
{
    size_t es = m->esize, nt = threads < 1 ? 1 : threads > n ? n : threads;
#pragma omp parallel for num_threads((int)nt) schedule(static) if (nt > 1)
    for (size_t k = 0; k < nt; k++) {
        size_t r0 = n * k / nt, rows = n * (k + 1) / nt - r0, off = r0 * l->out * es;
        if (d) dsc__act_backward(l->act, m->cfg.dtype, &m->actp, (char *)a + off, (char *)d + off, rows, l->out);
        else dsc__act_forward(l->act, m->cfg.dtype, &m->actp, (char *)a + off, rows, l->out);
    }
}

/* Layer l's forward pass from in on threads (see pass_begin); returns where its
 * output is. */
static const void *forward_layer(dsc_mlp *m, dsc__layer *l, const void *in, size_t threads, size_t n, int train)
{
    dsc_dtype dt = m->cfg.dtype;
    size_t len = n * l->out;
    switch (l->kind) {
    case DSC__DENSE:
        dsc__dense_forward(dt, l, wptr(m, l->w_off), wptr(m, l->b_off), in, l->y, n);
        return l->y;
    case DSC__CONV:
        dsc__conv_forward(dt, l, wptr(m, l->w_off), wptr(m, l->b_off), in, l->y, m->col, threads, n);
        return l->y;
    case DSC__MAXPOOL:
    case DSC__AVGPOOL:
        dsc__pool_forward(dt, l, in, l->y, threads, n);
        return l->y;
    case DSC__BATCHNORM:
        dsc__bn_forward(dt, l, wptr(m, l->w_off), wptr(m, l->b_off), m->stats, in, l->y, n, train);
        return l->y;
    case DSC__ACT: {
        void *a = l->inplace ? (void *)in : l->y;
        if (a != in) memcpy(a, in, len * m->esize);
        act_rows(m, l, a, NULL, threads, n);
        return a;
    }
    case DSC__DROPOUT:
        if (!train || l->p == 0) return in; /* inverted dropout: evaluation passes rows on */
    {
        /* keyed by the weighted layer it follows, so an MLP draws the masks of the
         * dense stack it was before layers were general */
        int k = -1;
        for (const dsc__layer *q = m->layer; q < l; q++) k += q->kind == DSC__DENSE || q->kind == DSC__CONV;
        if (dt == DSC_F32) dropout_f32(m, k, l->p, in, l->aux, l->y, n, l->out);
        else dropout_f64(m, k, l->p, in, l->aux, l->y, n, l->out);
        return l->y;
    }
    default: /* flatten: the same values */
        return in;
    }
}

const void *dsc__mlp_forward(dsc_mlp *m, size_t n, int train)
{
    const void *x = m->x0;
    size_t threads;
    int blas = pass_begin(m, &threads);
    for (int i = 0; i < m->nlayers; i++) x = m->layer[i].cur = forward_layer(m, &m->layer[i], x, threads, n, train);
    pass_end(blas);
    return x;
}

/* Layer i's backward pass from d (dLoss/d its output) into its gradients and, when
 * dx is not NULL, dLoss/d its input; returns where that is (d itself for the layers
 * that work in place). */
static void *backward_layer(dsc_mlp *m, int i, void *d, void *dx, size_t threads, size_t n, int train)
{
    dsc_dtype dt = m->cfg.dtype;
    dsc__layer *l = &m->layer[i];
    const void *x = i ? m->layer[i - 1].cur : m->x0;
    switch (l->kind) {
    case DSC__DENSE:
        dsc__dense_backward(dt, l, wptr(m, l->w_off), x, d, gptr(m, l->w_off), gptr(m, l->b_off), dx, n);
        return dx;
    case DSC__CONV:
        dsc__conv_backward(dt, l, wptr(m, l->w_off), x, d, gptr(m, l->w_off), gptr(m, l->b_off), dx, m->col, threads, n);
        return dx;
    case DSC__MAXPOOL:
    case DSC__AVGPOOL:
        if (dx) dsc__pool_backward(dt, l, d, dx, threads, n);
        return dx;
    case DSC__BATCHNORM:
        dsc__bn_backward(dt, l, wptr(m, l->w_off), d, gptr(m, l->w_off), gptr(m, l->b_off), dx, n, train);
        return dx;
    case DSC__ACT:
        act_rows(m, l, (void *)l->cur, d, threads, n);
        return d;
    case DSC__DROPOUT:
        if (train && l->p > 0) {
            if (dt == DSC_F32) mul_f32(d, l->aux, n * l->out);
            else mul_f64(d, l->aux, n * l->out);
        }
        return d;
    default:
        return d;
    }
}

void dsc__mlp_backward(dsc_mlp *m, size_t n, int train) { dsc__mlp_backward_par(m, n, train, NULL); }

void dsc__mlp_backward_par(dsc_mlp *m, size_t n, int train, const dsc_fit_parallel *par)
{
    void *d = m->delta[0];
    size_t threads;
    int blas = pass_begin(m, &threads);
    for (int i = m->nlayers - 1; i >= 0; i--) {
        const dsc__layer *l = &m->layer[i];
        /* the first layer's input needs no gradient */
        void *dx = i ? (d == m->delta[0] ? m->delta[1] : m->delta[0]) : NULL;
        d = backward_layer(m, i, d, dx, threads, n, train);
        if (l->param >= 0 && par && par->tensor_ready) {
            par->tensor_ready(par->ctx, (size_t)l->param + 1); /* bias, then weight: both final */
            par->tensor_ready(par->ctx, (size_t)l->param);
        }
    }
    pass_end(blas);
}

static dsc_status ready(const dsc_mlp *m, const char *who, const void *x, size_t n)
{
    if (!m || (!x && n)) return dsc__fail(DSC_ERR_ARG, "%s: model and x must not be NULL", who);
    if (m->loss == DSC_LOSS_COUNT) return dsc__fail(DSC_ERR_ARG, "%s: compile the model first", who);
    return DSC_OK;
}

dsc_status dsc_mlp_loss_grad(dsc_mlp *m, const double *x, const double *y, size_t n, double *loss)
{
    dsc_status st = ready(m, "mlp_loss_grad", x, n);
    if (st == DSC_OK && (!y || !loss || n == 0))
        st = dsc__fail(DSC_ERR_ARG, "mlp_loss_grad: y and loss must not be NULL, n must be > 0");
    if (st == DSC_OK) st = dsc__mlp_reserve(m, n);
    if (st != DSC_OK) return st;
    if ((st = dsc__check_targets(m, "mlp_loss_grad", y, n)) != DSC_OK) return st;
    dsc__mlp_gather(m, x, y, NULL, n);
    /* no dropout: evaluation mode, a deterministic function of the parameters */
    const void *z = dsc__mlp_forward(m, n, 0);
    dsc__tally t = {0};
    size_t k = m->outputs;
    dsc__loss_eval(m->loss, m->cfg.dtype, z, m->ybuf, n, k, m->delta[0], 1.0 / (double)n, &t);
    dsc__mlp_backward(m, n, 0);
    *loss = t.loss / (double)n;
    return DSC_OK;
}

dsc_status dsc_mlp_predict(dsc_mlp *m, const double *x, size_t n, double *out)
{
    dsc_status st = ready(m, "mlp_predict", x, n);
    if (st == DSC_OK && !out) st = dsc__fail(DSC_ERR_ARG, "mlp_predict: out must not be NULL");
    if (st == DSC_OK) st = dsc__mlp_reserve(m, DSC__EVAL_ROWS);
    if (st != DSC_OK) return st;
    size_t k = m->outputs;
    for (size_t s = 0; s < n; s += DSC__EVAL_ROWS) {
        size_t b = n - s < DSC__EVAL_ROWS ? n - s : DSC__EVAL_ROWS;
        dsc__mlp_gather(m, x + s * m->inputs, NULL, NULL, b);
        void *z = (void *)dsc__mlp_forward(m, b, 0);
        if (m->loss == DSC_LOSS_SOFTMAX_CE) dsc__act_forward(DSC_ACT_SOFTMAX, m->cfg.dtype, &m->actp, z, b, k);
        if (m->loss == DSC_LOSS_BCE) dsc__act_forward(DSC_ACT_SIGMOID, m->cfg.dtype, &m->actp, z, b, k);
        for (size_t i = 0; i < b * k; i++) {
            double v = m->cfg.dtype == DSC_F32 ? ((float *)z)[i] : ((double *)z)[i];
            out[s * k + i] = m->loss == DSC_LOSS_MSE ? v * m->y_std + m->y_mean : v;
        }
    }
    return DSC_OK;
}

dsc_status dsc__check_targets(const dsc_mlp *m, const char *who, const double *y, size_t n)
{
    size_t k = m->outputs;
    for (size_t i = 0; i < n; i++) {
        double v = y[i];
        int ok = m->loss == DSC_LOSS_MSE   ? isfinite(v)
                 : m->loss == DSC_LOSS_BCE ? v >= 0 && v <= 1
                                           : v >= 0 && v < (double)k && v == floor(v);
        if (!ok)
            return m->loss == DSC_LOSS_MSE
                       ? dsc__fail(DSC_ERR_ARG, "%s: target %zu is not finite", who, i)
                   : m->loss == DSC_LOSS_BCE
                       ? dsc__fail(DSC_ERR_ARG, "%s: bce targets must be in [0, 1], target %zu is %g", who, i, v)
                       : dsc__fail(DSC_ERR_ARG, "%s: target %zu is %g, not a class label in 0..%zu", who, i, v, k - 1);
    }
    return DSC_OK;
}

void dsc__mlp_tally(dsc_mlp *m, const dsc_dataset *ds, dsc__tally *t)
{
    size_t n = dsc_dataset_rows(ds), k = m->outputs;
    memset(t, 0, sizeof *t);
    for (size_t s = 0; s < n; s += DSC__EVAL_ROWS) {
        size_t b = n - s < DSC__EVAL_ROWS ? n - s : DSC__EVAL_ROWS;
        dsc__mlp_gather_rows(m, ds, s, NULL, b);
        const void *z = dsc__mlp_forward(m, b, 0);
        dsc__loss_eval(m->loss, m->cfg.dtype, z, m->ybuf, b, k, NULL, 1, t);
        dsc__loss_metric(m->loss, m->cfg.dtype, z, m->ybuf, b, k, m->y_mean, m->y_std, t);
    }
}

dsc_status dsc_mlp_evaluate(dsc_mlp *m, const dsc_dataset *ds, double *loss, double *metric)
{
    return dsc_mlp_evaluate_rmse(m, ds, loss, metric, NULL);
}

dsc_status dsc_mlp_evaluate_rmse(dsc_mlp *m, const dsc_dataset *ds, double *loss, double *metric, double *rmse)
{
    dsc_status st = ready(m, "mlp_evaluate", ds, 1);
    if (st == DSC_OK && dsc_dataset_cols(ds) != m->inputs)
        st = dsc__fail(DSC_ERR_MISMATCH, "mlp_evaluate: the data has %zu features, the network %zu inputs",
                       dsc_dataset_cols(ds), m->inputs);
    if (st == DSC_OK) st = dsc__check_targets(m, "mlp_evaluate", dsc_dataset_y(ds), dsc_dataset_rows(ds));
    if (st == DSC_OK) st = dsc__mlp_reserve(m, DSC__EVAL_ROWS);
    if (st != DSC_OK) return st;
    dsc__tally t;
    dsc__mlp_tally(m, ds, &t);
    if (loss) *loss = t.rows ? t.loss / (double)t.rows : NAN;
    if (metric) *metric = dsc__tally_metric(m->loss, &t);
    /* the squared errors the R^2 already summed */
    if (rmse) *rmse = m->loss == DSC_LOSS_MSE && t.rows ? sqrt(t.sse / (double)t.rows) : NAN;
    return DSC_OK;
}
#endif
