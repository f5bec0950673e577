/*
 * fit_average.c: the weight average a fit keeps (dsc_fit_config's average). It belongs
 * to the training position: a fresh fit starts one from the weights it starts from,
 * a resumed fit continues it, a checkpoint stores it (checkpoint.c). It folds after
 * every real optimizer update, so a skipped step or a micro-batch of an accumulation
 * window leaves it alone, as they leave the weights. Validation at the average swaps
 * it into the parameter buffers and back: a byte exchange, so the training weights
 * come back bit for bit.
 */
#include "nn.h"

#include <math.h>
#include <string.h>

/* Long enough for any canonical spec (two int64 and a %.17g double). */
#define SPEC_TEXT 160

dsc_status dsc__avg_check(const dsc_mlp *m, const dsc_fit_config *c)
{
    const dsc_average *avg = m->pos.avg;
    if (dsc_average_swapped(avg))
        return dsc__fail(DSC_ERR_ARG, "mlp_fit: the averaged weights are in use; dsc_mlp_use_average(m, 0) first");
    char want[SPEC_TEXT] = "none", have[SPEC_TEXT] = "none";
    if (c->average) {
        dsc_status st = dsc__average_canonical(c->average, want, sizeof want);
        if (st) return st;
    }
    if (c->average && c->parallel && !c->parallel->updated)
        return dsc__fail(DSC_ERR_ARG, "mlp_fit: a weight average under parallel needs the updated hook");
    if (!c->resume) return DSC_OK;
    if (avg) dsc_average_format(avg, have, sizeof have);
    if (strcmp(want, have))
        return dsc__fail(DSC_ERR_MISMATCH, "mlp_fit: resume needs the average of the run it continues (%s), got %s",
                         have, want);
    return DSC_OK;
}

dsc_status dsc__avg_start(dsc_mlp *m, const char *spec)
{
    dsc_average *avg = NULL;
    char canonical[SPEC_TEXT] = "";
    dsc_status st = spec ? dsc__average_canonical(spec, canonical, sizeof canonical) : DSC_OK;
    if (!st && spec && !strcmp(canonical, "ax"))
        st = dsc_average_create_ax(&avg, m->opt); /* ASGD's own: the optimizer's state, which its step folds */
    else if (!st && spec)
        st = dsc_average_create(&avg, spec, m->params, dsc_mlp_param_count(m));
    if (st) return st;
    dsc_average_destroy(m->pos.avg);
    m->pos.avg = avg;
    return DSC_OK;
}

dsc_status dsc__avg_after_step(dsc_mlp *m, const dsc_fit_config *c)
{
    if (!m->pos.avg) return DSC_OK;
    const dsc_fit_parallel *par = c->parallel;
    int updated = par ? par->updated(par->ctx) : dsc_optim_last_updated(m->opt);
    return updated ? dsc_average_update(m->pos.avg) : DSC_OK;
}

void dsc__avg_validate(dsc_mlp *m, const dsc_dataset *val, dsc_epoch *e)
{
    e->avg_val_loss = e->avg_val_metric = NAN;
    if (!m->pos.avg || !val) return;
    dsc__tally t;
    dsc_average_swap(m->pos.avg);
    dsc__mlp_tally(m, val, &t);
    dsc_average_swap(m->pos.avg);
    e->avg_val_loss = t.loss / (double)t.rows;
    e->avg_val_metric = dsc__tally_metric(m->loss, &t);
}

const dsc_average *dsc_mlp_average(const dsc_mlp *m) { return m ? m->pos.avg : NULL; }

int dsc_mlp_using_average(const dsc_mlp *m) { return m ? dsc_average_swapped(m->pos.avg) : 0; }

dsc_status dsc_mlp_use_average(dsc_mlp *m, int on)
{
    if (!m) return dsc__fail(DSC_ERR_ARG, "mlp_use_average: model must not be NULL");
    if (!m->pos.avg)
        return dsc__fail(DSC_ERR_ARG, "mlp_use_average: the model keeps no weight average (dsc_fit_config's average)");
    if (!on == !dsc_average_swapped(m->pos.avg)) return DSC_OK;
    return dsc_average_swap(m->pos.avg);
}
