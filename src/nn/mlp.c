/*
 * mlp.c: the model object: its configuration, the contiguous parameter and gradient
 * buffers with a named tensor per layer, the batch buffers, and the optimizer.
 */
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dsc_mlp_config dsc_mlp_config_default(const size_t *sizes, int count)
{
    dsc_mlp_config c = {
        .layers = count - 1,
        .hidden = DSC_ACT_RELU,
        .output = DSC_ACT_LINEAR,
        .init = DSC_INIT_AUTO,
        .leaky_slope = 0.01,
        .elu_alpha = 1.0,
        .dtype = DSC_F32,
    };
    for (int i = 0; sizes && i < count && i <= DSC_MLP_MAX_LAYERS; i++) c.sizes[i] = sizes[i];
    return c;
}

dsc_mlp_config dsc_mlp_config_model(const char *model, size_t channels, size_t height, size_t width)
{
    dsc_mlp_config c = dsc_mlp_config_default(NULL, 0);
    c.layers = 0;
    c.model = model;
    c.shape[0] = channels, c.shape[1] = height, c.shape[2] = width;
    c.sizes[0] = channels * (height ? height : 1) * (width ? width : 1);
    return c;
}

static dsc_status validate(const dsc_mlp_config *c)
{
    if (!c->model && (c->layers < 1 || c->layers > DSC_MLP_MAX_LAYERS))
        return dsc__fail(DSC_ERR_RANGE, "mlp: layers must be in [1, %d], got %d", DSC_MLP_MAX_LAYERS, c->layers);
    for (int i = 0; !c->model && i <= c->layers; i++)
        if (c->sizes[i] < 1 || c->sizes[i] > ((size_t)1 << 24))
            return dsc__fail(DSC_ERR_RANGE, "mlp: sizes[%d] must be in [1, 2^24], got %zu", i, c->sizes[i]);
    if ((unsigned)c->hidden >= DSC_ACT_COUNT || (unsigned)c->output >= DSC_ACT_COUNT)
        return dsc__fail(DSC_ERR_RANGE, "mlp: hidden and output must be activations, got %d and %d", (int)c->hidden,
                         (int)c->output);
    if ((unsigned)c->init >= DSC_INIT_COUNT)
        return dsc__fail(DSC_ERR_RANGE, "mlp: init must be a dsc_init, got %d", (int)c->init);
    if (!(c->leaky_slope >= 0 && c->leaky_slope < 1))
        return dsc__fail(DSC_ERR_RANGE, "mlp: leaky_slope must be in [0, 1), got %g", c->leaky_slope);
    if (!(c->elu_alpha > 0 && c->elu_alpha < 1e6))
        return dsc__fail(DSC_ERR_RANGE, "mlp: elu_alpha must be in (0, 1e6), got %g", c->elu_alpha);
    if (!(c->dropout >= 0 && c->dropout < 1))
        return dsc__fail(DSC_ERR_RANGE, "mlp: dropout must be in [0, 1), got %g", c->dropout);
    if (c->dtype != DSC_F32 && c->dtype != DSC_F64)
        return dsc__fail(DSC_ERR_RANGE, "mlp: dtype must be DSC_F32 or DSC_F64, got %d", (int)c->dtype);
    return DSC_OK;
}

/* Names the layers' tensors ("conv1.weight") and points them into the buffers. */
static void point_params(dsc_mlp *m)
{
    for (int i = 0; i < m->nlayers; i++) {
        const dsc__layer *l = &m->layer[i];
        if (l->param < 0) continue;
        for (int j = 0; j < 2; j++) {
            dsc_param *p = &m->params[l->param + j];
            const char *suffix;
            size_t off = j ? l->b_off : l->w_off;
            dsc__layer_tensor(l, j, &suffix, &p->ndim, p->shape);
            snprintf(m->names[l->param + j], sizeof m->names[0], "%s.%s", l->name, suffix);
            p->name = m->names[l->param + j];
            p->dtype = m->cfg.dtype;
            p->n = 1;
            for (int d = 0; d < p->ndim; d++) p->n *= p->shape[d];
            p->data = (char *)m->data + off * m->esize;
            p->grad = (char *)m->grad + off * m->esize;
        }
    }
    dsc_params_no_decay_1d(m->params, (size_t)m->nparams);
}

/* The weights drawn by cfg->init from cfg->seed, layer by layer; biases 0; batchnorm
 * scales 1, shifts 0, running mean 0 and variance 1 (PyTorch's). */
static void init_weights(dsc_mlp *m)
{
    dsc__rng init_rng;
    dsc__rng_seed(&init_rng, m->cfg.seed);
    for (int i = 0; i < m->nlayers; i++) {
        const dsc__layer *l = &m->layer[i];
        if (l->param < 0) continue;
        const dsc_param *w = &m->params[l->param], *b = w + 1;
        size_t kk = l->kind == DSC__CONV ? l->k * l->k : 1;
        if (l->kind == DSC__DENSE || l->kind == DSC__CONV)
            dsc__init_layer(m->cfg.init, l->act, m->cfg.dtype, &init_rng, l->ic * kk, l->oc * kk, w->n, w->data, b->n,
                            b->data);
        if (l->kind != DSC__BATCHNORM) continue;
        for (size_t c = 0; c < l->oc; c++) {
            if (m->cfg.dtype == DSC_F32) ((float *)w->data)[c] = 1, ((float *)m->stats)[l->s_off + l->oc + c] = 1;
            else ((double *)w->data)[c] = 1, ((double *)m->stats)[l->s_off + l->oc + c] = 1;
        }
    }
}

/* The model's own copy of cfg: its model string, and (for a model) its inputs and
 * outputs as a one-layer size list. */
static dsc_status own_config(dsc_mlp *m, const dsc_mlp_config *cfg)
{
    m->cfg = *cfg;
    m->inputs = m->layer[0].in;
    m->outputs = m->layer[m->nlayers - 1].out;
    if (!cfg->model) return DSC_OK;
    size_t len = strlen(cfg->model) + 1;
    if (!(m->model = malloc(len))) return dsc__fail(DSC_ERR_NOMEM, "mlp: out of memory");
    memcpy(m->model, cfg->model, len);
    m->cfg.model = m->model;
    m->cfg.layers = 1;
    m->cfg.sizes[0] = m->inputs;
    m->cfg.sizes[1] = m->outputs;
    m->cfg.dropout = 0;
    return DSC_OK;
}

dsc_status dsc__mlp_create(dsc_mlp **out, const dsc_mlp_config *cfg, int init)
{
    if (!out || !cfg) return dsc__fail(DSC_ERR_ARG, "mlp: out and cfg must not be NULL");
    dsc_status st = validate(cfg);
    if (st != DSC_OK) return st;
    dsc_mlp *m = calloc(1, sizeof *m);
    if (!m) return dsc__fail(DSC_ERR_NOMEM, "mlp: out of memory");
    st = dsc__net_plan(cfg, m->layer, &m->nlayers, &m->nweights, &m->nstats, &m->nparams);
    if (!st) st = dsc__net_check(m->layer, m->nlayers, m->nparams);
    if (!st) st = own_config(m, cfg);
    if (st) {
        dsc_mlp_destroy(m);
        return st;
    }
    m->actp = (dsc__act_params){cfg->leaky_slope, cfg->elu_alpha};
    m->esize = dsc_dtype_size(cfg->dtype);
    m->loss = DSC_LOSS_COUNT;
    m->y_std = 1;
    m->data = dsc__alloc(m->nweights * m->esize);
    m->grad = dsc__alloc(m->nweights * m->esize);
    m->stats = m->nstats ? dsc__alloc(m->nstats * m->esize) : NULL;
    if (!m->data || !m->grad || (m->nstats && !m->stats)) {
        size_t n = m->nweights; /* for the message: m is gone after the destroy */
        dsc_mlp_destroy(m);
        return dsc__fail(DSC_ERR_NOMEM, "mlp: out of memory for %zu parameters", n);
    }
    point_params(m);
    if (m->stats) memset(m->stats, 0, m->nstats * m->esize);
    dsc__rng_seed(&m->rng, cfg->seed ^ 0x5eed5eed5eed5eedull);
    if (init) init_weights(m);
    *out = m;
    return DSC_OK;
}

dsc_status dsc_mlp_create(dsc_mlp **out, const dsc_mlp_config *cfg) { return dsc__mlp_create(out, cfg, 1); }

static void free_batch(dsc_mlp *m)
{
    for (int i = 0; i < m->nlayers; i++) {
        dsc__layer *l = &m->layer[i];
        if (!l->inplace) dsc__free(l->y);
        dsc__free(l->aux);
        dsc__free(l->aux2);
        l->y = l->aux = l->aux2 = NULL;
    }
    dsc__free(m->x0);
    dsc__free(m->delta[0]);
    dsc__free(m->delta[1]);
    dsc__free(m->col);
    dsc__free(m->ybuf);
    m->x0 = m->delta[0] = m->delta[1] = m->col = NULL;
    m->ybuf = NULL;
    m->cap = 0;
    m->col_threads = 0;
}

void dsc_mlp_destroy(dsc_mlp *m)
{
    if (!m) return;
    free_batch(m);
    dsc_optim_destroy(m->opt);
    dsc__free(m->data);
    dsc__free(m->grad);
    dsc__free(m->stats);
    free(m->model);
    free(m->mean);
    free(m->inv_std);
    dsc__pos_free(&m->pos);
    free(m);
}

/* Whether layer i works in its input's buffer: activations (their backward passes
 * read their outputs only) unless the input is another activation's output (passed
 * on by flatten or an evaluating dropout), which that one's backward pass still
 * needs; flatten, which only renames the shape. */
static int works_in_place(const dsc_mlp *m, int i)
{
    if (m->layer[i].kind == DSC__FLATTEN) return 1;
    if (m->layer[i].kind != DSC__ACT) return 0;
    int j = i - 1;
    while (j >= 0 && (m->layer[j].kind == DSC__FLATTEN || m->layer[j].kind == DSC__DROPOUT)) j--;
    return !(j >= 0 && m->layer[j].kind == DSC__ACT);
}

/* A layer's buffers for rows rows: output, and what its backward pass needs. */
static int reserve_layer(dsc_mlp *m, int i, size_t rows)
{
    dsc__layer *l = &m->layer[i];
    size_t es = m->esize;
    l->inplace = works_in_place(m, i);
    if (l->inplace) l->y = i ? m->layer[i - 1].y : m->x0;
    else if (!(l->y = dsc__alloc(rows * l->out * es))) return 0;
    if (l->kind == DSC__DROPOUT || l->kind == DSC__BATCHNORM) l->aux = dsc__alloc(rows * l->out * es);
    if (l->kind == DSC__MAXPOOL) l->aux = dsc__alloc(rows * l->out * sizeof(size_t));
    if (l->kind == DSC__BATCHNORM) l->aux2 = dsc__alloc(l->oc * es);
    return (l->aux || (l->kind != DSC__DROPOUT && l->kind != DSC__BATCHNORM && l->kind != DSC__MAXPOOL)) &&
           (l->aux2 || l->kind != DSC__BATCHNORM);
}

dsc_status dsc__mlp_reserve(dsc_mlp *m, size_t rows)
{
    /* a conv layer runs on the BLAS's threads, each with its own patch matrix */
    int blas = dsc__blas_threads();
    size_t threads = blas < 1 ? 1 : blas > DSC__CONV_LANES ? DSC__CONV_LANES : (size_t)blas;
    if (rows <= m->cap && threads <= m->col_threads) return DSC_OK;
    if (rows < m->cap) rows = m->cap;
    free_batch(m);
    size_t widest = m->inputs, col = 0, es = m->esize;
    int ok = (m->x0 = dsc__alloc(rows * m->inputs * es)) != NULL;
    for (int i = 0; ok && i < m->nlayers; i++) {
        const dsc__layer *l = &m->layer[i];
        widest = l->out > widest ? l->out : widest;
        if (l->kind == DSC__CONV && dsc__conv_scratch(l, threads) > col) col = dsc__conv_scratch(l, threads);
        ok = reserve_layer(m, i, rows);
    }
    ok = ok && (m->delta[0] = dsc__alloc(rows * widest * es)) && (m->delta[1] = dsc__alloc(rows * widest * es)) &&
         (!col || (m->col = dsc__alloc(col * es))) && (m->ybuf = dsc__alloc(rows * sizeof(double)));
    if (!ok) {
        free_batch(m);
        return dsc__fail(DSC_ERR_NOMEM, "mlp: out of memory for a batch of %zu rows", rows);
    }
    m->cap = rows;
    m->col_threads = threads;
    return DSC_OK;
}

const dsc_mlp_config *dsc_mlp_get_config(const dsc_mlp *m) { return &m->cfg; }
size_t dsc_mlp_param_count(const dsc_mlp *m) { return (size_t)m->nparams; }
const dsc_param *dsc_mlp_params(const dsc_mlp *m) { return m->params; }
size_t dsc_mlp_weight_count(const dsc_mlp *m) { return m->nweights; }
void *dsc_mlp_data(dsc_mlp *m) { return m->data; }
void *dsc_mlp_grad(dsc_mlp *m) { return m->grad; }
dsc_optim *dsc_mlp_optimizer(dsc_mlp *m) { return m->opt; }
dsc_loss dsc_mlp_loss(const dsc_mlp *m) { return m->loss; }

dsc_status dsc__mlp_check_loss(const dsc_mlp *m, const char *who, dsc_loss loss)
{
    if ((unsigned)loss >= DSC_LOSS_COUNT)
        return dsc__fail(DSC_ERR_RANGE, "%s: loss must be a dsc_loss, got %d", who, (int)loss);
    size_t outputs = m->outputs;
    dsc_activation out_act = dsc__net_output_act(m);
    if (loss != DSC_LOSS_MSE && out_act != DSC_ACT_LINEAR)
        return dsc__fail(DSC_ERR_MISMATCH, "%s: %s takes logits: the output activation must be linear, got %s", who,
                         dsc_loss_name(loss), dsc_activation_name(out_act));
    if (loss != DSC_LOSS_SOFTMAX_CE && outputs != 1)
        return dsc__fail(DSC_ERR_MISMATCH, "%s: %s needs 1 output, the network has %zu", who, dsc_loss_name(loss),
                         outputs);
    if (loss == DSC_LOSS_SOFTMAX_CE && outputs < 2)
        return dsc__fail(DSC_ERR_MISMATCH, "%s: softmax_ce needs at least 2 outputs, got %zu", who, outputs);
    return DSC_OK;
}

dsc_status dsc_mlp_compile(dsc_mlp *m, const char *optimizer, const char *schedule, dsc_loss loss)
{
    if (!m || !optimizer) return dsc__fail(DSC_ERR_ARG, "mlp_compile: model and optimizer must not be NULL");
    dsc_status st = dsc__mlp_check_loss(m, "mlp_compile", loss);
    if (st != DSC_OK) return st;
    dsc_optim *opt;
    st = dsc_optim_create_spec(&opt, optimizer, m->params, dsc_mlp_param_count(m));
    if (st == DSC_OK) st = dsc_optim_set_threads(opt, DSC__MLP_STEP_THREADS);
    if (st == DSC_OK && schedule) st = dsc_optim_set_schedule(opt, -1, schedule);
    if (st != DSC_OK) {
        dsc_optim_destroy(opt);
        return st;
    }
    if (dsc__average_borrowed(m->pos.avg)) { /* ASGD's ax is the old optimizer's state: it goes with it */
        if (dsc_average_swapped(m->pos.avg)) dsc_average_swap(m->pos.avg);
        dsc_average_destroy(m->pos.avg);
        m->pos.avg = NULL;
    }
    dsc_optim_destroy(m->opt);
    m->opt = opt;
    m->loss = loss;
    return DSC_OK;
}

dsc_status dsc_mlp_set_standardization(dsc_mlp *m, const double *mean, const double *std)
{
    if (!m) return dsc__fail(DSC_ERR_ARG, "mlp: model must not be NULL");
    size_t n = m->inputs;
    if (!mean || !std) {
        free(m->mean);
        free(m->inv_std);
        m->mean = m->inv_std = NULL;
        return DSC_OK;
    }
    for (size_t j = 0; j < n; j++)
        if (!isfinite(mean[j]) || !(std[j] > 0 && isfinite(std[j]) && isfinite(1 / std[j])))
            return dsc__fail(DSC_ERR_RANGE, "mlp: std[%zu] must be finite and > 0 (mean finite), got %g (mean %g)", j,
                             std[j], mean[j]);
    if (!m->mean) m->mean = malloc(n * sizeof(double));
    if (!m->inv_std) m->inv_std = malloc(n * sizeof(double));
    if (!m->mean || !m->inv_std) return dsc__fail(DSC_ERR_NOMEM, "mlp: out of memory");
    memcpy(m->mean, mean, n * sizeof(double));
    for (size_t j = 0; j < n; j++) m->inv_std[j] = 1 / std[j]; /* gather multiplies */
    return DSC_OK;
}

dsc_status dsc_mlp_set_target_scaling(dsc_mlp *m, double y_mean, double y_std)
{
    if (!m) return dsc__fail(DSC_ERR_ARG, "mlp: model must not be NULL");
    if (!isfinite(y_mean) || !(y_std > 0 && isfinite(y_std)))
        return dsc__fail(DSC_ERR_RANGE, "mlp: y_std must be finite and > 0 (y_mean finite), got %g (y_mean %g)", y_std,
                         y_mean);
    m->y_mean = y_mean;
    m->y_std = y_std;
    return DSC_OK;
}

int dsc_mlp_get_standardization(const dsc_mlp *m, double *mean, double *std)
{
    if (!m || !m->mean) return 0;
    for (size_t j = 0; j < m->inputs; j++) {
        if (mean) mean[j] = m->mean[j];
        if (std) std[j] = 1 / m->inv_std[j];
    }
    return 1;
}

void dsc_mlp_get_target_scaling(const dsc_mlp *m, double *y_mean, double *y_std)
{
    if (y_mean) *y_mean = m ? m->y_mean : 0;
    if (y_std) *y_std = m ? m->y_std : 1;
}
