/*
 * lambda.c: torch.optim.lr_scheduler's LambdaLR and MultiplicativeLR with named
 * functions of the position t (a C program passes its own: dsc_sched_create_fn), and
 * ChainedScheduler.
 *   lambda:         lr_t = base * f(t)            (LambdaLR, the closed form)
 *   multiplicative: lr_0 = base, lr_t = lr_{t-1} * f(t)   (MultiplicativeLR)
 * The named functions, each times `factor` (default 1), w = max(warmup, 1):
 *   constant       1
 *   warmup_linear  t / w while t < w, then 1 (Hugging Face's constant schedule with warmup)
 *   inverse_sqrt   sqrt(w / max(t, w)): 1 through the warmup, then w^0.5 / t^0.5
 * chained(a, b, ...): every child steps with the group; the rate is base times the
 * product of the children's factors (child lr / base), which is what torch's
 * ChainedScheduler gives for children whose step multiplies the rate the group holds
 * (step, multistep, exponential, linear, constant, polynomial, multiplicative; equal
 * to 1e-15 relative, the rounding of the quotients). The others set a rate of their
 * own (lambda, cosine's recursion adds a term, onecycle, ...), where torch's result
 * depends on the order and overrides the children before: they are refused.
 */
#include "sched_internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

enum { FN_CONSTANT, FN_WARMUP_LINEAR, FN_INVERSE_SQRT, FN_CALLBACK };

/* keys: fn, warmup, factor; fn=callback names the caller's C function, which only
 * dsc_sched_create_fn and dsc_optim_set_schedule_fn supply (the spec a checkpoint saves) */
static const dsc__sched_key lambda_keys[] = {
    {"fn", FN_CONSTANT, 0, 3, SK_ENUM, "constant|warmup_linear|inverse_sqrt|callback"},
    {"warmup", 0, 0, 9e15, SK_INT, 0},
    {"factor", 1, 0, INFINITY, 0, 0},
};

/* The named function at position t. */
static double named(const dsc_sched *s, int64_t t)
{
    const double w = s->p[1] > 1 ? s->p[1] : 1, factor = s->p[2], x = (double)t;
    switch ((int)s->p[0]) {
    case FN_WARMUP_LINEAR: return factor * (x < w ? x / w : 1.0);
    case FN_INVERSE_SQRT: return factor * sqrt(w / (x > w ? x : w));
    default: return factor;
    }
}

static double lambda_of(const dsc_sched *s, int64_t t)
{
    return s->fn ? s->fn(t, s->fn_ctx) : named(s, t);
}

int dsc__sched_wants_fn(const dsc_sched *s)
{
    return (s->kind == &dsc__sched_lambda || s->kind == &dsc__sched_multiplicative) && s->p[0] == FN_CALLBACK;
}

static void lambda_rate(dsc_sched *s)
{
    s->lr = s->base * lambda_of(s, s->pos);
}

/* base * f(t): every named f is factor times a value in [0, 1] (constant: exactly 1),
 * and the rounding of each product is monotone, so base * factor bounds it. The
 * caller's function is unknown: the loose bound from the keys stays. */
static void lambda_range(const dsc_sched *s, double *lo, double *hi)
{
    if (s->fn || s->p[0] == FN_CALLBACK) return;
    const double top = s->base * s->p[2];
    dsc__sched_between(s->p[0] == FN_CONSTANT ? top : 0, top, lo, hi);
}

const dsc__sched_kind dsc__sched_lambda = {
    .name = "lambda",
    .keys = lambda_keys,
    .nkeys = DSC__NKEYS(lambda_keys),
    .rate = lambda_rate,
    .range = lambda_range,
};

static void multiplicative_start(dsc_sched *s, int closed)
{
    (void)closed;
    s->lr = s->base;
}

static void multiplicative_advance(dsc_sched *s, double loss)
{
    (void)loss;
    s->lr = s->lr * lambda_of(s, s->pos);
}

/* A running product of f(t) from base: with factor <= 1 every named f(t) is in [0, 1],
 * so the rate only shrinks ([0, base]); constant's factor > 1 grows it from base up; the
 * others with factor > 1 may grow or shrink, without a bound short of overflow. The
 * caller's function is unknown: the loose bound from the keys stays. */
static void multiplicative_range(const dsc_sched *s, double *lo, double *hi)
{
    if (s->fn || s->p[0] == FN_CALLBACK) return;
    const double factor = s->p[2];
    if (s->p[0] == FN_CONSTANT || factor <= 1) dsc__sched_decayed(s->base, factor, lo, hi);
    else dsc__sched_between(0, DBL_MAX, lo, hi);
}

const dsc__sched_kind dsc__sched_multiplicative = {
    .name = "multiplicative",
    .keys = lambda_keys,
    .nkeys = DSC__NKEYS(lambda_keys),
    .start = multiplicative_start,
    .advance = multiplicative_advance,
    .range = multiplicative_range,
};

/* ---------------------------------------------------------------- chained */

static int scales_the_rate(const dsc__sched_kind *k)
{
    static const dsc__sched_kind *const ok[] = {
        &dsc__sched_step, &dsc__sched_multistep, &dsc__sched_exponential, &dsc__sched_linear,
        &dsc__sched_constant, &dsc__sched_polynomial, &dsc__sched_multiplicative,
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (k == ok[i]) return 1;
    return 0;
}

/* The children (built by sched.c), each one that scales the rate. */
static dsc_status chained_check(dsc_sched *s)
{
    dsc_status st = DSC_OK;
    for (int c = 0; c < s->nchild && !st; c++)
        if (!scales_the_rate(s->child[c]->kind))
            st = dsc__fail(DSC_ERR_SPEC, "chained: %s cannot be a child (it sets a rate of its own; children are "
                           "step, multistep, exponential, linear, constant, polynomial, multiplicative)",
                           s->child[c]->kind->name);
    return st;
}

/* base times the product of the children's factors; 0 for a frozen group (base 0). */
static void chained_product(dsc_sched *s)
{
    double lr = s->base;
    for (int c = 0; c < s->nchild && s->base != 0; c++) lr = lr * (s->child[c]->lr / s->base);
    s->lr = lr;
}

static void chained_start(dsc_sched *s, int closed)
{
    for (int c = 0; c < s->nchild; c++) dsc__sched_start(s->child[c], closed);
    chained_product(s);
}

static dsc_status chained_can_step(const dsc_sched *s)
{
    dsc_status st = DSC_OK;
    for (int c = 0; c < s->nchild && !st; c++) st = dsc__sched_can_step(s->child[c]);
    return st;
}

static void chained_advance(dsc_sched *s, double loss)
{
    for (int c = 0; c < s->nchild; c++) dsc__sched_advance(s->child[c], loss);
    chained_product(s);
}

/* base times the product of the children's factors, each within its child's range
 * over base: the products of the ends, widened by the rounding of the quotients (as
 * chained_product forms them); [0, 0] for a frozen group. */
static void chained_range(const dsc_sched *s, double *lo, double *hi)
{
    double l = s->base, h = s->base;
    for (int c = 0; c < s->nchild && s->base != 0; c++) {
        double cl, ch;
        dsc__sched_rate_range(s->child[c], &cl, &ch);
        l = l * (cl / s->base);
        h = h * (ch / s->base);
    }
    /* each end widened by its own rounding (an unbounded top must not widen the bottom) */
    double unused;
    dsc__sched_rounded(l, l, lo, &unused);
    dsc__sched_rounded(h, h, &unused, hi);
}

const dsc__sched_kind dsc__sched_chained = {
    .name = "chained",
    .composite = 1,
    .check = chained_check,
    .start = chained_start,
    .can_step = chained_can_step,
    .advance = chained_advance,
    .range = chained_range,
};
