/*
 * decay.c: the multiplicative decays of torch.optim.lr_scheduler (StepLR, MultiStepLR,
 * ExponentialLR, LinearLR, ConstantLR, PolynomialLR) and numpy-ml's ExponentialScheduler
 * and NoamScheduler.
 *
 * PyTorch computes the chainable kinds recursively from the previous rate, and the
 * closed form only for scheduler.step(epoch); we do the same, in the same order of
 * operations, so the numbers are PyTorch's bit for bit.
 */
#include "sched_internal.h"

#include <float.h>
#include <math.h>

#define INF INFINITY

/* ---------------------------------------------------------------- StepLR */

static const dsc__sched_key step_keys[] = {
    {"step_size", 0, 1, 9e15, SK_REQUIRED | SK_INT, 0},
    {"gamma", 0.1, 0, INF, 0, 0},
};

/* The chainable and the closed form agree at the start of these decays (a factor of
 * gamma^0 is exactly 1), so their start hooks ignore which one is asked for. */
static void step_start(dsc_sched *s, int closed)
{
    (void)closed;
    s->lr = s->base;
}

static void step_advance(dsc_sched *s, double loss)
{
    (void)loss;
    if (s->pos % (int64_t)s->p[0] == 0) s->lr = s->lr * s->p[1];
}

static void step_range(const dsc_sched *s, double *lo, double *hi) { dsc__sched_decayed(s->base, s->p[1], lo, hi); }

const dsc__sched_kind dsc__sched_step = {
    .name = "step",
    .keys = step_keys,
    .nkeys = DSC__NKEYS(step_keys),
    .start = step_start,
    .advance = step_advance,
    .range = step_range,
};

/* ---------------------------------------------------------------- MultiStepLR */

static const dsc__sched_key multistep_keys[] = {
    {"milestones", 0, 0, 9e15, SK_REQUIRED | SK_LIST, 0},
    {"gamma", 0.1, 0, INF, 0, 0},
};

/* How often pos appears among the milestones (PyTorch keeps them in a Counter). */
static int milestone_count(const dsc_sched *s, int64_t pos)
{
    int c = 0;
    for (int i = 0; i < s->nms; i++) c += s->ms[i] == pos;
    return c;
}

static void multistep_start(dsc_sched *s, int closed)
{
    (void)closed;
    s->lr = s->base * pow(s->p[1], milestone_count(s, 0));
}

static void multistep_advance(dsc_sched *s, double loss)
{
    (void)loss;
    int c = milestone_count(s, s->pos);
    if (c) s->lr = s->lr * pow(s->p[1], c);
}

static void multistep_range(const dsc_sched *s, double *lo, double *hi)
{
    dsc__sched_decayed(s->base, s->p[1], lo, hi);
}

const dsc__sched_kind dsc__sched_multistep = {
    .name = "multistep",
    .keys = multistep_keys,
    .nkeys = DSC__NKEYS(multistep_keys),
    .start = multistep_start,
    .advance = multistep_advance,
    .range = multistep_range,
};

/* ---------------------------------------------------------------- ExponentialLR */

static const dsc__sched_key exponential_keys[] = {
    {"gamma", 0, 0, INF, SK_REQUIRED, 0},
};

static void exponential_start(dsc_sched *s, int closed)
{
    (void)closed;
    s->lr = s->base;
}

static void exponential_advance(dsc_sched *s, double loss)
{
    (void)loss;
    s->lr = s->lr * s->p[0];
}

static void exponential_range(const dsc_sched *s, double *lo, double *hi)
{
    dsc__sched_decayed(s->base, s->p[0], lo, hi);
}

const dsc__sched_kind dsc__sched_exponential = {
    .name = "exponential",
    .keys = exponential_keys,
    .nkeys = DSC__NKEYS(exponential_keys),
    .start = exponential_start,
    .advance = exponential_advance,
    .range = exponential_range,
};

/* ---------------------------------------------------------------- LinearLR */

/* start_factor > 0: PyTorch 2 rejects 0, whose recursion divides by zero */
static const dsc__sched_key linear_keys[] = {
    {"start_factor", 1.0 / 3, 0, 1, SK_LO_OPEN, 0},
    {"end_factor", 1.0, 0, 1, 0, 0},
    {"total_iters", 5, 1, 9e15, SK_INT, 0},
};

static void linear_start(dsc_sched *s, int closed)
{
    (void)closed;
    s->lr = s->base * s->p[0];
}

static void linear_advance(dsc_sched *s, double loss)
{
    (void)loss;
    double sf = s->p[0], ef = s->p[1], n = s->p[2];
    if ((double)s->pos > n) return;
    s->lr = s->lr * (1. + (ef - sf) / (n * sf + (double)(s->pos - 1) * (ef - sf)));
}

/* between the start and the end factor's rates, reached through ratios that round */
static void linear_range(const dsc_sched *s, double *lo, double *hi)
{
    dsc__sched_rounded(s->base * s->p[0], s->base * s->p[1], lo, hi);
}

const dsc__sched_kind dsc__sched_linear = {
    .name = "linear",
    .keys = linear_keys,
    .nkeys = DSC__NKEYS(linear_keys),
    .start = linear_start,
    .advance = linear_advance,
    .range = linear_range,
};

/* ---------------------------------------------------------------- ConstantLR */

/* factor > 0: the recursion divides by it at total_iters */
static const dsc__sched_key constant_keys[] = {
    {"factor", 1.0 / 3, 0, 1, SK_LO_OPEN, 0},
    {"total_iters", 5, 0, 9e15, SK_INT, 0},
};

static void constant_start(dsc_sched *s, int closed)
{
    double f = s->p[0], n = s->p[1];
    s->lr = closed ? s->base * (f + (double)(0 >= n) * (1 - f)) : s->base * f;
}

static void constant_advance(dsc_sched *s, double loss)
{
    (void)loss;
    if ((double)s->pos == s->p[1]) s->lr = s->lr * (1.0 / s->p[0]);
}

/* base * factor, then base again (as lr * (1 / factor), which rounds) */
static void constant_range(const dsc_sched *s, double *lo, double *hi)
{
    dsc__sched_rounded(s->base * s->p[0], s->base, lo, hi);
}

const dsc__sched_kind dsc__sched_constant = {
    .name = "constant",
    .keys = constant_keys,
    .nkeys = DSC__NKEYS(constant_keys),
    .start = constant_start,
    .advance = constant_advance,
    .range = constant_range,
};

/* ---------------------------------------------------------------- PolynomialLR */

static const dsc__sched_key polynomial_keys[] = {
    {"total_iters", 5, 1, 9e15, SK_INT, 0},
    {"power", 1.0, 0, INF, 0, 0},
};

static void polynomial_start(dsc_sched *s, int closed)
{
    s->lr = closed ? s->base * pow(1.0 - 0.0 / s->p[0], s->p[1]) : s->base;
}

static void polynomial_advance(dsc_sched *s, double loss)
{
    (void)loss;
    double n = s->p[0], t = (double)s->pos;
    if (t > n) return;
    double f = pow((1.0 - t / n) / (1.0 - (t - 1) / n), s->p[1]);
    s->lr = s->lr * f;
}

/* each factor is a ratio <= 1 to a power >= 0: never above base, down to 0 */
static void polynomial_range(const dsc_sched *s, double *lo, double *hi) { dsc__sched_between(0, s->base, lo, hi); }

const dsc__sched_kind dsc__sched_polynomial = {
    .name = "polynomial",
    .keys = polynomial_keys,
    .nkeys = DSC__NKEYS(polynomial_keys),
    .start = polynomial_start,
    .advance = polynomial_advance,
    .range = polynomial_range,
};

/* ---------------------------------------------------------------- numpy-ml ExponentialScheduler
 * lr = base * decay^(step / stage_length), the exponent floored when staircase; numpy-ml's
 * step counts from 0 at the first update, our position. */

static const dsc__sched_key stages_keys[] = {
    {"decay", 0.1, 0, INF, SK_LO_OPEN, 0},
    {"stage_length", 500, 1, 9e15, SK_INT, 0},
    {"staircase", 0, 0, 1, SK_BOOL, 0},
};

static void stages_rate(dsc_sched *s)
{
    double stage = (double)s->pos / s->p[1];
    if (s->p[2] != 0) stage = floor(stage);
    s->lr = s->base * pow(s->p[0], stage);
}

static void stages_range(const dsc_sched *s, double *lo, double *hi) { dsc__sched_decayed(s->base, s->p[0], lo, hi); }

const dsc__sched_kind dsc__sched_exponential_stages = {
    .name = "exponential_stages",
    .keys = stages_keys,
    .nkeys = DSC__NKEYS(stages_keys),
    .rate = stages_rate,
    .range = stages_range,
};

/* ---------------------------------------------------------------- numpy-ml NoamScheduler
 * lr = scale * model_dim^-0.5 * min(t^-0.5, t * warmup^-1.5) at step t = position + 1
 * (the step number of the Transformer paper, which starts at 1); the base is unused. */

static const dsc__sched_key noam_keys[] = {
    {"model_dim", 512, 0, INF, SK_LO_OPEN, 0},
    {"warmup_steps", 4000, 1, 9e15, SK_INT, 0},
    {"scale_factor", 1, 0, INF, SK_LO_OPEN, 0},
};

static void noam_rate(dsc_sched *s)
{
    double t = (double)(s->pos + 1);
    double a = pow(t, -0.5), b = t * pow(s->p[1], -1.5);
    s->lr = s->p[2] * (pow(s->p[0], -0.5) * (b < a ? b : a));
}

/* from 0 up to the peak at warmup_steps, where both terms are warmup_steps^-0.5 */
static void noam_range(const dsc_sched *s, double *lo, double *hi)
{
    dsc__sched_rounded(0, s->p[2] * (pow(s->p[0], -0.5) * pow(s->p[1], -0.5)), lo, hi);
}

const dsc__sched_kind dsc__sched_noam = {
    .name = "noam",
    .keys = noam_keys,
    .nkeys = DSC__NKEYS(noam_keys),
    .rate = noam_rate,
    .range = noam_range,
};
