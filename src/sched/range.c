/*
 * range.c: the rates a schedule can reach, which a restored rate must lie within:
 * the kinds' own ranges (their range hook) and the helpers they share, or a loose
 * bound from the keys for a kind without one.
 */
#include "sched_internal.h"

#include <float.h>
#include <math.h>

/* The largest magnitude among the numeric keys of s and its children, at least 1. */
static double key_scale(const dsc_sched *s)
{
    double f = 1;
    for (int j = 0; j < s->kind->nkeys; j++)
        if (!(s->kind->keys[j].flags & (SK_LIST | SK_BOOL | SK_ENUM)) && isfinite(s->p[j])) f = fmax(f, fabs(s->p[j]));
    for (int c = 0; c < s->nchild; c++) f = fmax(f, key_scale(s->child[c]));
    return f;
}

void dsc__sched_between(double a, double b, double *lo, double *hi)
{
    *lo = fmin(a, b);
    *hi = fmax(a, b);
}

/* Relative slack of the kinds whose formula rounds. PyTorch's recursive cosine drifts
 * by about 4e-16 of the base per step (1.1e-10 after 300000 steps of T_max=7): 1e-6
 * covers billions of steps, and is still far below any rate the schedule never had. */
#define RATE_ROUNDING 1e-6

void dsc__sched_rounded(double a, double b, double *lo, double *hi)
{
    dsc__sched_between(a, b, lo, hi);
    double slack = RATE_ROUNDING * fmax(fabs(*lo), fabs(*hi));
    *lo = fmax(0, *lo - slack);
    *hi += slack;
}

void dsc__sched_decayed(double base, double factor, double *lo, double *hi)
{
    *lo = factor <= 1 ? 0 : base;
    *hi = factor <= 1 ? base : DBL_MAX; /* growing without end, until it overflows */
}

/* A bound on the rates s can give: every kind's rate is the base, or a key's rate
 * (max_lr, eta_min), scaled by at most a key's factor. Loose, but it refuses a
 * restored rate no schedule reaches (1e300) without knowing each kind's formula. */
static double lr_bound(const dsc_sched *s)
{
    double f = key_scale(s);
    return f * fmax(fabs(s->base), f);
}

void dsc__sched_rate_range(const dsc_sched *s, double *lo, double *hi)
{
    *lo = 0;
    *hi = lr_bound(s);
    if (s->kind->range) s->kind->range(s, lo, hi);
}
