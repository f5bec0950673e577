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

static dsc_status validate(const dsc_mlp_config *c)
{
    if (c->layers < 1 || c->layers > DSC_MLP_MAX_LAYERS)
        return dsc__fail(DSC_ERR_RANGE, "mlp: layers must be in [1, %d], got %d", DSC_MLP_MAX_LAYERS, c->layers);
    for (int i = 0; i <= c->layers; i++)
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

/* Lays the layers out in the buffers and names their tensors. */
static void layout(dsc_mlp *m)
{
    size_t off = 0;
    for (int i = 0; i < m->nlayers; i++) {
        dsc__layer *l = &m->layer[i];
        l->in = m->cfg.sizes[i];
        l->out = m->cfg.sizes[i + 1];
        l->act = i == m->nlayers - 1 ? m->cfg.output : m->cfg.hidden;
        l->dropout = i < m->nlayers - 1 && m->cfg.dropout > 0;
        l->w_off = off;
        off += l->in * l->out;
        l->b_off = off;
        off += l->out;
        for (int k = 0; k < 2; k++) {
            dsc_param *p = &m->params[2 * i + k];
            snprintf(m->names[2 * i + k], sizeof m->names[0], "fc%d.%s", i + 1, k ? "bias" : "weight");
            p->name = m->names[2 * i + k];
            p->dtype = m->cfg.dtype;
            p->ndim = k ? 1 : 2;
            p->shape[0] = l->out;
            p->shape[1] = l->in;
            p->n = k ? l->out : l->out * l->in;
        }
    }
    m->nweights = off;
}

static void point_params(dsc_mlp *m)
{
    for (int i = 0; i < m->nlayers; i++) {
        const dsc__layer *l = &m->layer[i];
        m->params[2 * i].data = (char *)m->data + l->w_off * m->esize;
        m->params[2 * i].grad = (char *)m->grad + l->w_off * m->esize;
        m->params[2 * i + 1].data = (char *)m->data + l->b_off * m->esize;
        m->params[2 * i + 1].grad = (char *)m->grad + l->b_off * m->esize;
    }
    dsc_params_no_decay_1d(m->params, 2 * (size_t)m->nlayers);
}

/* The weights drawn by cfg->init from cfg->seed; the biases stay 0. */
static void init_weights(dsc_mlp *m)
{
    dsc__rng init_rng;
    dsc__rng_seed(&init_rng, m->cfg.seed);
    for (int i = 0; i < m->nlayers; i++) {
        const dsc__layer *l = &m->layer[i];
        dsc__init_layer(m->cfg.init, l->act, m->cfg.dtype, &init_rng, l->in, l->out, m->params[2 * i].data,
                        m->params[2 * i + 1].data);
    }
}

dsc_status dsc__mlp_create(dsc_mlp **out, const dsc_mlp_config *cfg, int init)
{
    if (!out || !cfg) return dsc__fail(DSC_ERR_ARG, "mlp: out and cfg must not be NULL");
    dsc_status st = validate(cfg);
    if (st != DSC_OK) return st;
    dsc_mlp *m = calloc(1, sizeof *m);
    if (!m) return dsc__fail(DSC_ERR_NOMEM, "mlp: out of memory");
    m->cfg = *cfg;
    m->actp = (dsc__act_params){cfg->leaky_slope, cfg->elu_alpha};
    m->nlayers = cfg->layers;
    m->esize = dsc_dtype_size(cfg->dtype);
    m->loss = DSC_LOSS_COUNT;
    m->y_std = 1;
    layout(m);
    m->data = dsc__alloc(m->nweights * m->esize);
    m->grad = dsc__alloc(m->nweights * m->esize);
    if (!m->data || !m->grad) {
        size_t n = m->nweights; /* for the message: m is gone after the destroy */
        dsc_mlp_destroy(m);
        return dsc__fail(DSC_ERR_NOMEM, "mlp: out of memory for %zu parameters", n);
    }
    point_params(m);
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
        if (l->h != l->a) dsc__free(l->h);
        dsc__free(l->a);
        dsc__free(l->mask);
        l->a = l->h = l->mask = NULL;
    }
    dsc__free(m->x0);
    dsc__free(m->delta[0]);
    dsc__free(m->delta[1]);
    dsc__free(m->ybuf);
    m->x0 = m->delta[0] = m->delta[1] = NULL;
    m->ybuf = NULL;
    m->cap = 0;
}

void dsc_mlp_destroy(dsc_mlp *m)
{
    if (!m) return;
    free_batch(m);
    dsc_optim_destroy(m->opt);
    dsc__free(m->data);
    dsc__free(m->grad);
    free(m->mean);
    free(m->inv_std);
    dsc__pos_free(&m->pos);
    free(m);
}

dsc_status dsc__mlp_reserve(dsc_mlp *m, size_t rows)
{
    if (rows <= m->cap) return DSC_OK;
    free_batch(m);
    size_t widest = 0, es = m->esize;
    int ok = (m->x0 = dsc__alloc(rows * m->cfg.sizes[0] * es)) != NULL;
    for (int i = 0; ok && i < m->nlayers; i++) {
        dsc__layer *l = &m->layer[i];
        widest = l->out > widest ? l->out : widest;
        ok = (l->a = dsc__alloc(rows * l->out * es)) != NULL;
        l->h = l->a;
        if (ok && l->dropout)
            ok = (l->h = dsc__alloc(rows * l->out * es)) && (l->mask = dsc__alloc(rows * l->out * es));
    }
    ok = ok && (m->delta[0] = dsc__alloc(rows * widest * es)) && (m->delta[1] = dsc__alloc(rows * widest * es)) &&
         (m->ybuf = dsc__alloc(rows * sizeof(double)));
    if (!ok) {
        free_batch(m);
        return dsc__fail(DSC_ERR_NOMEM, "mlp: out of memory for a batch of %zu rows", rows);
    }
    m->cap = rows;
    return DSC_OK;
}

const dsc_mlp_config *dsc_mlp_get_config(const dsc_mlp *m) { return &m->cfg; }
size_t dsc_mlp_param_count(const dsc_mlp *m) { return 2 * (size_t)m->nlayers; }
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
    size_t outputs = m->cfg.sizes[m->nlayers];
    if (loss != DSC_LOSS_MSE && m->cfg.output != DSC_ACT_LINEAR)
        return dsc__fail(DSC_ERR_MISMATCH, "%s: %s takes logits: the output activation must be linear, got %s", who,
                         dsc_loss_name(loss), dsc_activation_name(m->cfg.output));
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
    dsc_optim_destroy(m->opt);
    m->opt = opt;
    m->loss = loss;
    return DSC_OK;
}

dsc_status dsc_mlp_set_standardization(dsc_mlp *m, const double *mean, const double *std)
{
    if (!m) return dsc__fail(DSC_ERR_ARG, "mlp: model must not be NULL");
    size_t n = m->cfg.sizes[0];
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
    for (size_t j = 0; j < m->cfg.sizes[0]; j++) {
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
