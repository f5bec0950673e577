/*
 * group_schedules.c: the optimizer's per-group schedules, as its step drives them: checked
 * before an update (a loss where one is needed, onecycle within total_steps) and
 * advanced after it, the group's rate following. The schedules are src/sched's
 * objects, which core reaches only through the table of hooks src/sched gives when
 * it attaches one (dsc_optim_set_schedule_fn, src/sched/attach.c).
 */
#include "optimizer.h"

dsc_sched *dsc_optim_schedule(const dsc_optim *o, int g)
{
    return o && g >= 0 && g < o->ngroups ? o->sched[g] : NULL;
}

void dsc__optim_attach_schedule(dsc_optim *o, int g, dsc_sched *s, const dsc__sched_hooks *hooks)
{
    if (o->sched[g]) o->sched_hooks->destroy(o->sched[g]); /* detached, the group keeps the rate it has */
    o->sched[g] = s;
    if (!s) return;
    o->sched_hooks = hooks;
    o->groups[g].hp.lr = hooks->lr(s);
}

dsc_status dsc__optim_schedules_check(const dsc_optim *o, int have_loss, int last)
{
    for (int g = 0; g < o->ngroups; g++) {
        dsc_sched *sc = o->sched[g];
        if (!sc) continue;
        if (o->sched_hooks->needs_loss(sc) && !have_loss)
            return dsc__fail(DSC_ERR_ARG, "group %d: its schedule needs the loss of every step "
                             "(dsc_optim_step_loss)", g);
        dsc_status st = last ? o->sched_hooks->can_step(sc) : DSC_OK;
        if (st) return st;
    }
    return DSC_OK;
}

void dsc__optim_schedules_advance(dsc_optim *o, double loss)
{
    for (int g = 0; g < o->ngroups; g++) {
        if (!o->sched[g]) continue;
        o->sched_hooks->advance(o->sched[g], loss);
        o->groups[g].hp.lr = o->sched_hooks->lr(o->sched[g]);
    }
}
