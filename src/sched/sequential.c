/*
 * sequential.c: PyTorch's SequentialLR. Child k runs from milestone k-1; at a milestone
 * PyTorch calls child.step(0), which restarts the child at the closed form of
 * position 0, so a child never sees the rate its predecessor left. Children are given
 * as positional specs: sequential(linear(start_factor=0.1, total_iters=5),
 * cosine(T_max=95), milestones=[5]).
 */
#include "sched_internal.h"

#include <math.h>
#include <string.h>

static const dsc__sched_key sequential_keys[] = {
    {"milestones", 0, 1, 9e15, SK_REQUIRED | SK_LIST, 0},
};

/* The children (built by sched.c), none loss-driven or sequential itself. */
static dsc_status sequential_check(dsc_sched *s)
{
    for (int c = 0; c < s->nchild; c++)
        if (s->child[c]->kind->needs_loss || s->child[c]->kind == &dsc__sched_sequential)
            return dsc__fail(DSC_ERR_SPEC, "sequential: %s cannot be a child (PyTorch's SequentialLR "
                             "steps its children without a loss or an epoch)", s->child[c]->kind->name);
    if (s->nms != s->nchild - 1)
        return dsc__fail(DSC_ERR_SPEC, "sequential: %d schedules need %d milestones, got %d", s->nchild,
                         s->nchild - 1, s->nms);
    for (int i = 1; i < s->nms; i++)
        if (s->ms[i] <= s->ms[i - 1])
            return dsc__fail(DSC_ERR_SPEC, "sequential: milestones must increase, got %lld after %lld",
                             (long long)s->ms[i], (long long)s->ms[i - 1]);
    return DSC_OK;
}

/* The child active at position pos: bisect_right(milestones, pos). */
static int active(const dsc_sched *s, int64_t pos)
{
    int k = 0;
    while (k < s->nms && s->ms[k] <= pos) k++;
    return k;
}

static void sequential_start(dsc_sched *s, int closed)
{
    (void)closed;
    dsc__sched_start(s->child[0], 0);
    s->lr = s->child[0]->lr;
}

static dsc_status sequential_can_step(const dsc_sched *s)
{
    int k = active(s, s->pos + 1);
    if (k > 0 && s->ms[k - 1] == s->pos + 1) return DSC_OK; /* a restart always works */
    return dsc__sched_can_step(s->child[k]);
}

static void sequential_advance(dsc_sched *s, double loss)
{
    int k = active(s, s->pos);
    dsc_sched *c = s->child[k];
    if (k > 0 && s->ms[k - 1] == s->pos) dsc__sched_start(c, 1);
    else dsc__sched_advance(c, loss);
    s->lr = c->lr;
}

/* the union of the children's */
static void sequential_range(const dsc_sched *s, double *lo, double *hi)
{
    dsc__sched_rate_range(s->child[0], lo, hi);
    for (int i = 1; i < s->nchild; i++) {
        double l, h;
        dsc__sched_rate_range(s->child[i], &l, &h);
        *lo = fmin(*lo, l);
        *hi = fmax(*hi, h);
    }
}

const dsc__sched_kind dsc__sched_sequential = {
    .name = "sequential",
    .keys = sequential_keys,
    .nkeys = DSC__NKEYS(sequential_keys),
    .composite = 1,
    .check = sequential_check,
    .start = sequential_start,
    .can_step = sequential_can_step,
    .advance = sequential_advance,
    .range = sequential_range,
};
