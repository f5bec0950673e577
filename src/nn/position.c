/*
 * position.c: where training stands. A fit leaves behind its epoch count, its
 * generators, its history and its early-stopping state; a fit with resume set picks
 * them up, and a checkpoint saves them (checkpoint.c), so that training E1 epochs,
 * stopping, and training E2 more runs on the bits of E1 + E2 epochs in one go.
 *
 * Restoring the best weights at the end of a fit would break that: the next epoch
 * must start from the last epoch's weights, which the optimizer's state belongs to.
 * So the last weights are kept (live) while the model holds the best, and put back
 * when training goes on.
 */
#include "nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void dsc__pos_free(dsc__position *p)
{
    free(p->hist);
    dsc__free(p->best);
    dsc__free(p->live);
    dsc_average_destroy(p->avg);
    memset(p, 0, sizeof *p);
}

dsc_status dsc__pos_check_resume(const dsc_mlp *m, const dsc_fit_config *c)
{
    const dsc__position *p = &m->pos;
    if (p->epochs == 0)
        return dsc__fail(DSC_ERR_ARG, "mlp_fit: resume needs a training position (a previous fit or dsc_mlp_load)");
    if (p->stopped)
        return dsc__fail(DSC_ERR_ARG, "mlp_fit: the run stopped early at epoch %lld (patience %lld): it has ended, "
                         "there is nothing to resume", (long long)p->epochs, (long long)p->patience);
    if (c->seed != p->seed)
        return dsc__fail(DSC_ERR_MISMATCH, "mlp_fit: resume needs the seed of the run it continues (%llu), got %llu",
                         (unsigned long long)p->seed, (unsigned long long)c->seed);
    if (c->val_split != p->val_split)
        return dsc__fail(DSC_ERR_MISMATCH, "mlp_fit: resume needs the val_split of the run it continues (%g), got %g",
                         p->val_split, c->val_split);
    if (c->patience != p->patience)
        return dsc__fail(DSC_ERR_MISMATCH, "mlp_fit: resume needs the patience of the run it continues (%lld), got %lld",
                         (long long)p->patience, (long long)c->patience);
    return DSC_OK;
}

void dsc__pos_start(dsc_mlp *m, const dsc_fit_config *c, size_t rows, size_t val_rows, int64_t skipped)
{
    dsc__position *p = &m->pos;
    dsc__rng_seed(&p->shuffle, c->seed);
    dsc__rng_seed(&m->rng, c->seed ^ 0xd50b0a7d50b0a7ull); /* dropout masks */
    p->epochs = 0;
    p->seed = c->seed;
    p->rows = rows;
    p->val_rows = val_rows;
    p->val_split = c->val_split;
    p->patience = c->patience;
    p->skipped0 = skipped;
    p->best_epoch = 0;
    p->best_loss = INFINITY;
    p->stopped = 0;
    p->restored = 0;
}

dsc_status dsc__pos_reserve(dsc__position *p, int64_t more, size_t weight_bytes)
{
    size_t need = (size_t)p->epochs + (size_t)more;
    if (need > p->cap) {
        dsc_epoch *h = realloc(p->hist, need * sizeof *h);
        if (!h) return dsc__fail(DSC_ERR_NOMEM, "mlp_fit: out of memory for %zu epochs of history", need);
        p->hist = h;
        p->cap = need;
    }
    if (p->patience > 0 && !p->best) p->best = dsc__alloc(weight_bytes);
    if (p->patience > 0 && !p->live) p->live = dsc__alloc(weight_bytes);
    if (p->patience > 0 && (!p->best || !p->live)) return dsc__fail(DSC_ERR_NOMEM, "mlp_fit: out of memory");
    return DSC_OK;
}

void dsc__pos_continue(dsc_mlp *m)
{
    if (!m->pos.restored) return;
    memcpy(m->data, m->pos.live, m->nweights * m->esize);
    m->pos.restored = 0;
}

void dsc__pos_finish(dsc_mlp *m, int restore)
{
    dsc__position *p = &m->pos;
    /* (buffers left from an earlier position with patience do not count) */
    if (!restore || p->patience == 0 || !p->best || p->best_epoch == 0 || p->restored) return;
    memcpy(p->live, m->data, m->nweights * m->esize);
    memcpy(m->data, p->best, m->nweights * m->esize);
    p->restored = 1;
}

int dsc__pos_note_val(dsc_mlp *m, const dsc_epoch *e)
{
    dsc__position *p = &m->pos;
    if (e->val_loss < p->best_loss || p->best_epoch == 0) {
        p->best_loss = e->val_loss;
        p->best_epoch = e->epoch;
        if (p->patience > 0) memcpy(p->best, m->data, m->nweights * m->esize);
        return 0;
    }
    p->stopped = p->patience > 0 && e->epoch - p->best_epoch >= p->patience;
    return p->stopped;
}

dsc_history *dsc__pos_history(const dsc__position *p)
{
    dsc_history *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->epochs = malloc(((size_t)p->epochs ? (size_t)p->epochs : 1) * sizeof *h->epochs);
    if (!h->epochs) {
        free(h);
        return NULL;
    }
    if (p->epochs) memcpy(h->epochs, p->hist, (size_t)p->epochs * sizeof *h->epochs);
    h->count = (size_t)p->epochs;
    h->best_epoch = p->best_epoch;
    h->stopped_early = p->stopped;
    h->train_rows = p->rows;
    h->val_rows = p->val_rows;
    return h;
}
