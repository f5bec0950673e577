/*
 * fit.c: the training loop. Everything it needs (batch buffers, the shuffled order,
 * the history, a copy of the best weights) is allocated before the first epoch; the
 * loop itself only gathers, runs the passes and steps the optimizer on the
 * contiguous parameter buffer.
 */
#include "nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

dsc_fit_config dsc_fit_config_default(void)
{
    return (dsc_fit_config){
        .epochs = 10, .batch_size = 32, .shuffle = 1, .restore_best = 1, .standardize = 1,
    };
}

void dsc_history_destroy(dsc_history *h)
{
    if (!h) return;
    free(h->epochs);
    free(h);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static dsc_status check_config(const dsc_mlp *m, const dsc_dataset *ds, const dsc_fit_config *c)
{
    if (!m || !ds || !c) return dsc__fail(DSC_ERR_ARG, "mlp_fit: model, data and config must not be NULL");
    if (!m->opt) return dsc__fail(DSC_ERR_ARG, "mlp_fit: compile the model first");
    if (c->epochs < 1) return dsc__fail(DSC_ERR_RANGE, "mlp_fit: epochs must be >= 1, got %lld", (long long)c->epochs);
    if (c->batch_size < 1 || c->batch_size > ((size_t)1 << 24))
        return dsc__fail(DSC_ERR_RANGE, "mlp_fit: batch_size must be in [1, 2^24], got %zu", c->batch_size);
    if (!(c->val_split >= 0 && c->val_split < 1))
        return dsc__fail(DSC_ERR_RANGE, "mlp_fit: val_split must be in [0, 1), got %g", c->val_split);
    if (c->val && c->val_split > 0)
        return dsc__fail(DSC_ERR_ARG, "mlp_fit: give a validation set or val_split, not both");
    if (c->parallel && (c->parallel->size < 1 || c->parallel->rank < 0 || c->parallel->rank >= c->parallel->size ||
                        !c->parallel->step || !c->parallel->sum || !c->parallel->skipped || !c->parallel->lr))
        return dsc__fail(DSC_ERR_ARG, "mlp_fit: parallel needs 0 <= rank < size and the step, sum, skipped and lr hooks");
    if (c->patience < 0)
        return dsc__fail(DSC_ERR_RANGE, "mlp_fit: patience must be >= 0, got %lld", (long long)c->patience);
    if (c->patience > 0 && !c->val && c->val_split == 0)
        return dsc__fail(DSC_ERR_ARG, "mlp_fit: early stopping (patience) needs validation data");
    for (const dsc_dataset *d = ds; d; d = d == ds ? c->val : NULL)
        if (dsc_dataset_cols(d) != m->inputs)
            return dsc__fail(DSC_ERR_MISMATCH, "mlp_fit: the data has %zu features, the network %zu inputs",
                             dsc_dataset_cols(d), m->inputs);
    dsc_status st = c->resume ? dsc__pos_check_resume(m, c) : DSC_OK;
    if (st == DSC_OK) st = dsc__avg_check(m, c);
    if (st == DSC_OK) st = dsc__check_targets(m, "mlp_fit", dsc_dataset_y(ds), dsc_dataset_rows(ds));
    if (st == DSC_OK && c->val) st = dsc__check_targets(m, "mlp_fit", dsc_dataset_y(c->val), dsc_dataset_rows(c->val));
    return st;
}

/* Sets the standardization from the training split: inputs, and targets for mse. */
static dsc_status standardize(dsc_mlp *m, const dsc_dataset *train)
{
    size_t c = dsc_dataset_cols(train), n = dsc_dataset_rows(train);
    double *mean = malloc(c * sizeof *mean), *sd = malloc(c * sizeof *sd);
    dsc_status st = DSC_OK;
    if (!mean || !sd) st = dsc__fail(DSC_ERR_NOMEM, "mlp_fit: out of memory");
    if (st == DSC_OK) {
        dsc_dataset_moments(train, mean, sd);
        st = dsc_mlp_set_standardization(m, mean, sd);
    }
    free(mean);
    free(sd);
    if (st != DSC_OK || m->loss != DSC_LOSS_MSE) return st;
    const double *y = dsc_dataset_y(train);
    double ym = 0, yv = 0;
    for (size_t i = 0; i < n; i++) ym += y[i] / (double)n;
    for (size_t i = 0; i < n; i++) yv += (y[i] - ym) * (y[i] - ym) / (double)n;
    return dsc_mlp_set_target_scaling(m, ym, yv > 0 ? sqrt(yv) : 1);
}

/* What a fit owns while it runs. */
typedef struct fit_run {
    dsc_dataset *train_part, *val_part; /* from val_split, else NULL */
    const dsc_dataset *train, *val;
    size_t *order;
} fit_run;

static void fit_free(fit_run *r)
{
    dsc_dataset_destroy(r->train_part);
    dsc_dataset_destroy(r->val_part);
    free(r->order);
}

/* A resumed fit must see the data of the run it continues. */
static dsc_status check_rows(const dsc_mlp *m, const fit_run *r)
{
    size_t n = dsc_dataset_rows(r->train), v = r->val ? dsc_dataset_rows(r->val) : 0;
    if (n != m->pos.rows || v != m->pos.val_rows)
        return dsc__fail(DSC_ERR_MISMATCH, "mlp_fit: resume needs the data of the run it continues (%zu training and "
                         "%zu validation rows), got %zu and %zu", m->pos.rows, m->pos.val_rows, n, v);
    return DSC_OK;
}

static dsc_status fit_prepare(dsc_mlp *m, const dsc_dataset *ds, const dsc_fit_config *c, fit_run *r)
{
    dsc_status st = DSC_OK;
    r->train = ds;
    r->val = c->val;
    if (c->val_split > 0) {
        size_t classes = m->loss == DSC_LOSS_MSE ? 0 : dsc_dataset_classes(ds);
        st = dsc_dataset_split(ds, c->val_split, c->seed, classes, &r->train_part, &r->val_part);
        r->train = r->train_part;
        r->val = r->val_part;
    }
    /* a resumed fit keeps the statistics it started with */
    if (st == DSC_OK && c->standardize && !c->resume) st = standardize(m, r->train);
    if (st == DSC_OK && c->resume) st = check_rows(m, r);
    /* the batches, and the validation's evaluation chunks */
    if (st == DSC_OK) st = dsc__mlp_reserve(m, c->batch_size > DSC__EVAL_ROWS ? c->batch_size : DSC__EVAL_ROWS);
    if (st != DSC_OK) return st;
    size_t n = dsc_dataset_rows(r->train);
    r->order = malloc(n * sizeof *r->order);
    if (!r->order) return dsc__fail(DSC_ERR_NOMEM, "mlp_fit: out of memory");
    if (c->resume) {
        dsc__pos_continue(m);
    } else {
        const dsc_fit_parallel *par = c->parallel;
        if ((st = dsc__avg_start(m, c->average)) != DSC_OK) return st;
        dsc__pos_start(m, c, n, r->val ? dsc_dataset_rows(r->val) : 0,
                       par ? par->skipped(par->ctx) : dsc_optim_skipped_count(m->opt));
    }
    return dsc__pos_reserve(&m->pos, c->epochs, m->nweights * m->esize);
}

/* The gradient of this process's share of rows [s, s + b) of the order, scaled by 1/b,
 * then the step (the parallel one, or the model's optimizer's), given the batch's mean
 * loss when a loss-driven schedule needs it (summed over the processes). */
static dsc_status batch_step(dsc_mlp *m, const dsc_fit_config *c, fit_run *r, size_t s, size_t b,
                             int loss_driven, dsc__tally *t)
{
    const dsc_fit_parallel *par = c->parallel;
    size_t k = m->outputs, lo = 0, hi = b;
    if (par) { /* the contiguous share dsc_dist_split gives */
        size_t base = b / (size_t)par->size, extra = b % (size_t)par->size, rk = (size_t)par->rank;
        lo = rk * base + (rk < extra ? rk : extra);
        hi = lo + base + (rk < extra);
    }
    double before = t->loss;
    dsc__mlp_dropout_batch(m, lo); /* on every process, rows or none */
    if (hi > lo) {
        dsc__mlp_gather_rows(m, r->train, 0, r->order + s + lo, hi - lo);
        const void *z = dsc__mlp_forward(m, hi - lo, 1);
        dsc__loss_metric(m->loss, m->cfg.dtype, z, m->ybuf, hi - lo, k, m->y_mean, m->y_std, t);
        dsc__loss_eval(m->loss, m->cfg.dtype, z, m->ybuf, hi - lo, k, m->delta[0], 1.0 / (double)b, t);
        dsc__mlp_backward_par(m, hi - lo, 1, par);
    } else {
        memset(m->grad, 0, m->nweights * m->esize); /* more processes than rows */
    }
    if (!loss_driven) return par ? par->step(par->ctx, NULL) : dsc_optim_step(m->opt);
    double loss = (t->loss - before) / (double)b;
    if (!par) return dsc_optim_step_loss(m->opt, loss);
    dsc_status st = par->sum(par->ctx, &loss, 1);
    return st ? st : par->step(par->ctx, &loss);
}

/* The epoch's tallies over every process. */
static dsc_status sum_tally(const dsc_fit_parallel *par, dsc__tally *t)
{
    double v[6] = {t->loss, (double)t->rows, (double)t->correct, t->sse, t->sy, t->syy};
    dsc_status st = par->sum(par->ctx, v, 6);
    t->loss = v[0], t->rows = (size_t)v[1], t->correct = (size_t)v[2], t->sse = v[3], t->sy = v[4], t->syy = v[5];
    return st;
}

/* One pass over the training data; fills the epoch's training figures. */
static dsc_status train_epoch(dsc_mlp *m, const dsc_fit_config *c, fit_run *r, dsc_epoch *e)
{
    size_t n = dsc_dataset_rows(r->train);
    /* each epoch shuffles the identity, so its order depends on the generator alone
       and a resumed fit needs no more than the generator's state */
    for (size_t i = 0; i < n; i++) r->order[i] = i;
    if (c->shuffle) dsc__rng_shuffle(&m->pos.shuffle, r->order, n);
    dsc__tally t = {0};
    /* plateau-like schedules follow the batch loss, measured before the step */
    const dsc_sched *sched = dsc_optim_schedule(m->opt, 0);
    int loss_driven = sched && dsc_sched_needs_loss(sched);
    for (size_t s = 0; s < n; s += c->batch_size) {
        size_t b = n - s < c->batch_size ? n - s : c->batch_size;
        dsc_status st = batch_step(m, c, r, s, b, loss_driven, &t);
        if (st == DSC_OK) st = dsc__avg_after_step(m, c);
        if (st != DSC_OK) return st;
        if (c->on_batch) c->on_batch(s + b, n, t.loss / (double)(t.rows ? t.rows : 1), c->user);
    }
    if (c->parallel) {
        dsc_status st = sum_tally(c->parallel, &t);
        if (st != DSC_OK) return st;
    }
    e->train_loss = t.loss / (double)t.rows;
    e->train_metric = dsc__tally_metric(m->loss, &t);
    return DSC_OK;
}

/* The epoch's validation figures, learning rate and skip count. */
static void finish_epoch(dsc_mlp *m, const dsc_fit_config *c, const fit_run *r, dsc_epoch *e)
{
    const dsc_fit_parallel *par = c->parallel;
    e->val_loss = e->val_metric = NAN;
    if (r->val) {
        dsc__tally t;
        dsc__mlp_tally(m, r->val, &t);
        e->val_loss = t.loss / (double)t.rows;
        e->val_metric = dsc__tally_metric(m->loss, &t);
    }
    dsc__avg_validate(m, r->val, e);
    if (par) e->lr = par->lr(par->ctx);
    else dsc_optim_get_lr(m->opt, 0, &e->lr);
    e->skipped = (par ? par->skipped(par->ctx) : dsc_optim_skipped_count(m->opt)) - m->pos.skipped0;
}

dsc_status dsc_mlp_fit(dsc_mlp *m, const dsc_dataset *ds, const dsc_fit_config *cfg,
                       dsc_history **hist)
{
    double prepare_start = now();
    dsc_status st = check_config(m, ds, cfg);
    if (st != DSC_OK) return st;
    fit_run r = {0};
    if ((st = fit_prepare(m, ds, cfg, &r)) != DSC_OK) {
        fit_free(&r);
        return st;
    }
    double start = now();
    for (int64_t ep = 1; ep <= cfg->epochs; ep++) {
        double t0 = now();
        dsc_epoch *e = &m->pos.hist[m->pos.epochs];
        memset(e, 0, sizeof *e);
        e->epoch = m->pos.epochs + 1;
        if ((st = train_epoch(m, cfg, &r, e)) != DSC_OK) break;
        finish_epoch(m, cfg, &r, e);
        int stop = r.val && dsc__pos_note_val(m, e);
        e->seconds = now() - t0;
        m->pos.epochs++; /* before on_epoch, which may save the position */
        if (cfg->on_epoch) cfg->on_epoch(e, cfg->user);
        if (stop) break;
    }
    if (st == DSC_OK) dsc__pos_finish(m, cfg->restore_best);
    fit_free(&r);
    if (st == DSC_OK && hist) {
        *hist = dsc__pos_history(&m->pos);
        if (!*hist) return dsc__fail(DSC_ERR_NOMEM, "mlp_fit: out of memory");
        (*hist)->seconds = now() - start;
        (*hist)->prepare_seconds = start - prepare_start;
    }
    return st;
}
