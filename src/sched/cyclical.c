/*
 * cyclical.c: the schedules shaped by a cosine or a triangle: CosineAnnealingLR
 * (PyTorch's recursion), CosineAnnealingWarmRestarts, OneCycleLR and CyclicLR.
 * The learning rate only: PyTorch's momentum cycling (cycle_momentum) is not done.
 */
#include "sched_internal.h"

#include <float.h>
#include <math.h>

#define INF INFINITY

/* ---------------------------------------------------------------- CosineAnnealingLR */

static const dsc__sched_key cosine_keys[] = {
    {"T_max", 0, 1, 9e15, SK_REQUIRED | SK_INT, 0},
    {"eta_min", 0, 0, INF, 0, 0},
};

static void cosine_start(dsc_sched *s, int closed)
{
    double eta = s->p[1];
    s->lr = closed ? eta + (s->base - eta) * (1 + cos(DSC__PI * 0.0 / s->p[0])) / 2 : s->base;
}

/* PyTorch's chainable form: past T_max the rate climbs back, a cosine of period 2 T_max. */
static void cosine_advance(dsc_sched *s, double loss)
{
    (void)loss;
    double T = s->p[0], eta = s->p[1], t = (double)s->pos;
    int64_t Ti = (int64_t)T;
    if ((s->pos - 1 - Ti) % (2 * Ti) == 0)
        s->lr = s->lr + (s->base - eta) * (1 - cos(DSC__PI / T)) / 2;
    else
        s->lr = (1 + cos(DSC__PI * t / T)) / (1 + cos(DSC__PI * (t - 1) / T)) * (s->lr - eta) + eta;
}

/* between eta_min and base (either may be the larger), through cosines that round */
static void cosine_range(const dsc_sched *s, double *lo, double *hi) { dsc__sched_rounded(s->p[1], s->base, lo, hi); }

const dsc__sched_kind dsc__sched_cosine = {
    .name = "cosine",
    .keys = cosine_keys,
    .nkeys = DSC__NKEYS(cosine_keys),
    .start = cosine_start,
    .advance = cosine_advance,
    .range = cosine_range,
};

/* ---------------------------------------------------------------- CosineAnnealingWarmRestarts */

static const dsc__sched_key restarts_keys[] = {
    {"T_0", 0, 1, 9e15, SK_REQUIRED | SK_INT, 0},
    {"T_mult", 1, 1, 1e6, SK_INT, 0},
    {"eta_min", 0, 0, INF, 0, 0},
};
static const char *const restarts_state[] = {"T_cur", "T_i"};
static const int restarts_flags[] = {SS_COUNT, SS_POSITIVE_COUNT};
enum { T_CUR, T_I };

static void restarts_rate(dsc_sched *s)
{
    double eta = s->p[2];
    s->lr = eta + (s->base - eta) * (1 + cos(DSC__PI * s->st[T_CUR] / s->st[T_I])) / 2;
}

static void restarts_start(dsc_sched *s, int closed)
{
    (void)closed;
    s->st[T_CUR] = 0;
    s->st[T_I] = s->p[0];
    restarts_rate(s);
}

static void restarts_advance(dsc_sched *s, double loss)
{
    (void)loss;
    s->st[T_CUR] += 1;
    if (s->st[T_CUR] >= s->st[T_I]) {
        s->st[T_CUR] -= s->st[T_I];
        s->st[T_I] *= s->p[1];
    }
    restarts_rate(s);
}

static void restarts_range(const dsc_sched *s, double *lo, double *hi)
{
    dsc__sched_rounded(s->p[2], s->base, lo, hi);
}

const dsc__sched_kind dsc__sched_cosine_restarts = {
    .name = "cosine_restarts",
    .keys = restarts_keys,
    .nkeys = DSC__NKEYS(restarts_keys),
    .state_names = restarts_state,
    .state_flags = restarts_flags,
    .nstate = DSC__NKEYS(restarts_flags),
    .start = restarts_start,
    .advance = restarts_advance,
    .range = restarts_range,
};

/* ---------------------------------------------------------------- OneCycleLR */

enum { OC_MAX, OC_TOTAL, OC_PCT, OC_ANNEAL, OC_DIV, OC_FINAL_DIV, OC_THREE };
static const dsc__sched_key onecycle_keys[] = {
    {"max_lr", NAN, 0, INF, SK_OPTIONAL, 0},
    {"total_steps", 0, 1, 9e15, SK_REQUIRED | SK_INT, 0},
    {"pct_start", 0.3, 0, 1, 0, 0},
    {"anneal_strategy", 0, 0, 1, SK_ENUM, "cos|linear"},
    {"div_factor", 25, 0, INF, SK_LO_OPEN, 0},
    {"final_div_factor", 1e4, 0, INF, SK_LO_OPEN, 0},
    {"three_phase", 0, 0, 1, SK_BOOL, 0},
};

/* The phases' end steps and their start and end rates, as PyTorch lays them out. */
typedef struct phase { double end, from, to; } phase;

static int onecycle_phases(const dsc_sched *s, phase *ph)
{
    double T = s->p[OC_TOTAL], pct = s->p[OC_PCT], max = s->p[OC_MAX];
    double initial = max / s->p[OC_DIV], min = initial / s->p[OC_FINAL_DIV];
    if (s->p[OC_THREE] != 0) {
        ph[0] = (phase){pct * T - 1, initial, max};
        ph[1] = (phase){2 * pct * T - 2, max, initial};
        ph[2] = (phase){T - 1, initial, min};
        return 3;
    }
    ph[0] = (phase){pct * T - 1, initial, max};
    ph[1] = (phase){T - 1, max, min};
    return 2;
}

static dsc_status onecycle_check(dsc_sched *s)
{
    if (isnan(s->p[OC_MAX])) s->p[OC_MAX] = s->base;
    phase ph[3];
    int n = onecycle_phases(s, ph);
    double start = 0;
    for (int i = 0; i < n; i++) {
        if (!(ph[i].end > start))
            return dsc__fail(DSC_ERR_RANGE, "onecycle: pct_start=%g with total_steps=%.0f leaves phase %d "
                             "without steps", s->p[OC_PCT], s->p[OC_TOTAL], i + 1);
        start = ph[i].end;
    }
    return DSC_OK;
}

static void onecycle_rate(dsc_sched *s)
{
    phase ph[3];
    int n = onecycle_phases(s, ph);
    double t = (double)s->pos, start = 0;
    for (int i = 0; i < n; i++) {
        if (t <= ph[i].end || i == n - 1) {
            double pct = (t - start) / (ph[i].end - start);
            if (s->p[OC_ANNEAL] == 0) {
                double c = cos(DSC__PI * pct) + 1;
                s->lr = ph[i].to + (ph[i].from - ph[i].to) / 2.0 * c;
            } else {
                s->lr = (ph[i].to - ph[i].from) * pct + ph[i].from;
            }
            return;
        }
        start = ph[i].end;
    }
}

static dsc_status onecycle_can_step(const dsc_sched *s)
{
    if ((double)(s->pos + 1) > s->p[OC_TOTAL])
        return dsc__fail(DSC_ERR_RANGE, "onecycle: tried to step %lld times, total_steps is %.0f",
                         (long long)s->pos + 2, s->p[OC_TOTAL]);
    return DSC_OK;
}

/* between the initial (max_lr / div_factor), the peak and the final rate
 * (initial / final_div_factor), whichever order div_factor puts them in */
static void onecycle_range(const dsc_sched *s, double *lo, double *hi)
{
    double max = s->p[OC_MAX], initial = max / s->p[OC_DIV], min = initial / s->p[OC_FINAL_DIV];
    dsc__sched_rounded(fmin(min, initial), fmax(max, initial), lo, hi);
}

const dsc__sched_kind dsc__sched_onecycle = {
    .name = "onecycle",
    .keys = onecycle_keys,
    .nkeys = DSC__NKEYS(onecycle_keys),
    .check = onecycle_check,
    .can_step = onecycle_can_step,
    .rate = onecycle_rate,
    .range = onecycle_range,
};

/* ---------------------------------------------------------------- CyclicLR */

enum { CY_BASE, CY_MAX, CY_UP, CY_DOWN, CY_MODE, CY_GAMMA };
static const dsc__sched_key cyclic_keys[] = {
    {"base_lr", NAN, 0, INF, SK_OPTIONAL, 0},
    {"max_lr", 0, 0, INF, SK_REQUIRED, 0},
    {"step_size_up", 2000, 0, INF, SK_LO_OPEN, 0},
    {"step_size_down", NAN, 0, INF, SK_LO_OPEN | SK_OPTIONAL, 0},
    {"mode", 0, 0, 2, SK_ENUM, "triangular|triangular2|exp_range"},
    {"gamma", 1.0, 0, INF, SK_LO_OPEN, 0},
};

static dsc_status cyclic_check(dsc_sched *s)
{
    if (isnan(s->p[CY_BASE])) s->p[CY_BASE] = s->base;
    if (isnan(s->p[CY_DOWN])) s->p[CY_DOWN] = s->p[CY_UP];
    return DSC_OK;
}

static void cyclic_rate(dsc_sched *s)
{
    double total = s->p[CY_UP] + s->p[CY_DOWN], ratio = s->p[CY_UP] / total;
    double t = (double)s->pos;
    double cycle = floor(1 + t / total);
    double x = 1. + t / total - cycle;
    double scale = x <= ratio ? x / ratio : (x - 1) / (ratio - 1);
    double height = (s->p[CY_MAX] - s->p[CY_BASE]) * scale;
    double f = s->p[CY_MODE] == 0 ? 1. : s->p[CY_MODE] == 1 ? 1 / pow(2., cycle - 1) : pow(s->p[CY_GAMMA], t);
    s->lr = s->p[CY_BASE] + height * f;
}

/* between base_lr and max_lr, except exp_range with gamma > 1, whose amplitude grows
 * without end */
static void cyclic_range(const dsc_sched *s, double *lo, double *hi)
{
    double b = s->p[CY_BASE], m = s->p[CY_MAX];
    dsc__sched_rounded(b, m, lo, hi);
    if (s->p[CY_MODE] == 2 && s->p[CY_GAMMA] > 1) {
        if (m >= b) *hi = DBL_MAX;
        else *lo = -DBL_MAX;
    }
}

const dsc__sched_kind dsc__sched_cyclic = {
    .name = "cyclic",
    .keys = cyclic_keys,
    .nkeys = DSC__NKEYS(cyclic_keys),
    .check = cyclic_check,
    .rate = cyclic_rate,
    .range = cyclic_range,
};
