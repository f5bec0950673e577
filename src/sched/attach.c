/*
 * attach.c: schedules attached to an optimizer's groups. The optimizer (core) holds
 * them and steps them through the hooks given here, so that core never names this
 * layer (src/core/group_schedules.c).
 */
#include "sched_internal.h"

#include <stdlib.h>

static const dsc__sched_hooks hooks = {
    .needs_loss = dsc_sched_needs_loss,
    .can_step = dsc__sched_can_step,
    .advance = dsc__sched_advance,
    .lr = dsc_sched_lr,
    .destroy = dsc_sched_destroy,
};

dsc_status dsc_optim_set_schedule(dsc_optim *o, int group, const char *spec)
{
    return dsc_optim_set_schedule_fn(o, group, spec, NULL, NULL);
}

dsc_status dsc_optim_set_schedule_fn(dsc_optim *o, int group, const char *spec, dsc_sched_fn fn, void *ctx)
{
    if (!o) return dsc__fail(DSC_ERR_ARG, "dsc_optim_set_schedule: NULL optimizer");
    int ngroups = dsc_optim_group_count(o);
    if (group != -1 && (group < 0 || group >= ngroups))
        return dsc__fail(DSC_ERR_ARG, "%s: group %d does not exist (the optimizer has %d)", "dsc_optim_set_schedule",
                         group, ngroups);
    int lo = group < 0 ? 0 : group, hi = group < 0 ? ngroups : group + 1;
    dsc_sched *made[64];
    dsc_sched **fresh = hi - lo <= 64 ? made : calloc((size_t)(hi - lo), sizeof *fresh);
    if (!fresh) return dsc__fail(DSC_ERR_NOMEM, "optimizer: out of memory");
    dsc_status st = DSC_OK;
    int n = 0;
    /* create every instance first, so that a bad spec changes nothing */
    for (int g = lo; g < hi && spec && !st; g++, n++) {
        dsc_sched *old = dsc_optim_schedule(o, g);
        double lr = 0;
        if (!old) dsc_optim_get_lr(o, g, &lr); /* g exists: cannot fail */
        double base = old ? dsc_sched_base_lr(old) : lr;
        st = dsc_sched_create_fn(&fresh[g - lo], spec, base, fn, ctx);
    }
    for (int g = lo; g < hi && !st; g++) dsc__optim_attach_schedule(o, g, spec ? fresh[g - lo] : NULL, &hooks);
    if (st)
        for (int k = 0; k < n - 1; k++) dsc_sched_destroy(fresh[k]);
    if (fresh != made) free(fresh);
    return st;
}
