/*
 * advance.c: a schedule's position, dispatched to its kind: the start (position 0),
 * the check that one more step may happen, and the step itself. What every kind file
 * and the optimizer's hooks (attach.c) use; it names no kind.
 */
#include "sched_internal.h"

dsc_status dsc__sched_can_step(const dsc_sched *s)
{
    if (s->pos >= INT64_C(9000000000000000))
        return dsc__fail(DSC_ERR_RANGE, "%s: position overflows", s->kind->name);
    return s->kind->can_step ? s->kind->can_step(s) : DSC_OK;
}

void dsc__sched_start(dsc_sched *s, int closed)
{
    s->pos = 0;
    if (s->kind->rate) s->kind->rate(s);
    else s->kind->start(s, closed);
}

void dsc__sched_advance(dsc_sched *s, double loss)
{
    s->pos++;
    if (s->kind->rate) s->kind->rate(s);
    else s->kind->advance(s, loss);
}
