/*
 * loss_driven.c: the schedules that watch the loss: PyTorch's ReduceLROnPlateau and
 * numpy-ml's KingScheduler (Davis King's test: the probability that the least-squares
 * slope of the recent losses is negative).
 */
#include "sched_internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define INF INFINITY

/* ---------------------------------------------------------------- ReduceLROnPlateau */

enum { PL_MODE, PL_FACTOR, PL_PATIENCE, PL_THRESHOLD, PL_THRESHOLD_MODE, PL_COOLDOWN, PL_MIN_LR, PL_EPS };
static const dsc__sched_key plateau_keys[] = {
    {"mode", 0, 0, 1, SK_ENUM, "min|max"},
    {"factor", 0.1, 0, 1, SK_HI_OPEN, 0},
    {"patience", 10, 0, 9e15, SK_INT, 0},
    {"threshold", 1e-4, 0, INF, 0, 0},
    {"threshold_mode", 0, 0, 1, SK_ENUM, "rel|abs"},
    {"cooldown", 0, 0, 9e15, SK_INT, 0},
    {"min_lr", 0, 0, INF, 0, 0},
    {"eps", 1e-8, 0, INF, 0, 0},
};
static const char *const plateau_state[] = {"best", "num_bad_epochs", "cooldown_counter"};
static const int plateau_flags[] = {SS_NOT_NAN, SS_COUNT, SS_COUNT};
enum { BEST, NUM_BAD, COOLDOWN };

static void plateau_start(dsc_sched *s, int closed)
{
    (void)closed;
    s->lr = s->base;
    s->st[BEST] = s->p[PL_MODE] == 0 ? INF : -INF;
    s->st[NUM_BAD] = 0;
    s->st[COOLDOWN] = 0;
}

static int is_better(const dsc_sched *s, double a, double best)
{
    double th = s->p[PL_THRESHOLD];
    int rel = s->p[PL_THRESHOLD_MODE] == 0;
    if (s->p[PL_MODE] == 0) return rel ? a < best * (1. - th) : a < best - th;
    return rel ? a > best * (th + 1.) : a > best + th;
}

static void plateau_advance(dsc_sched *s, double loss)
{
    if (is_better(s, loss, s->st[BEST])) {
        s->st[BEST] = loss;
        s->st[NUM_BAD] = 0;
    } else {
        s->st[NUM_BAD] += 1;
    }
    if (s->st[COOLDOWN] > 0) {
        s->st[COOLDOWN] -= 1;
        s->st[NUM_BAD] = 0; /* bad epochs in cooldown do not count */
    }
    if (s->st[NUM_BAD] > s->p[PL_PATIENCE]) {
        double old = s->lr, cut = old * s->p[PL_FACTOR];
        double next = s->p[PL_MIN_LR] > cut ? s->p[PL_MIN_LR] : cut;
        if (old - next > s->p[PL_EPS]) s->lr = next;
        s->st[COOLDOWN] = s->p[PL_COOLDOWN];
        s->st[NUM_BAD] = 0;
    }
}

/* cut from base, never below min_lr (a min_lr above base leaves base) */
static void plateau_range(const dsc_sched *s, double *lo, double *hi)
{
    dsc__sched_between(fmin(s->p[PL_MIN_LR], s->base), s->base, lo, hi);
}

const dsc__sched_kind dsc__sched_plateau = {
    .name = "plateau",
    .keys = plateau_keys,
    .nkeys = DSC__NKEYS(plateau_keys),
    .needs_loss = 1,
    .state_names = plateau_state,
    .state_flags = plateau_flags,
    .nstate = DSC__NKEYS(plateau_flags),
    .start = plateau_start,
    .advance = plateau_advance,
    .range = plateau_range,
};

/* ---------------------------------------------------------------- KingScheduler */

enum { KG_PATIENCE, KG_DECAY };
/* patience >= 2: the slope's variance needs three losses */
static const dsc__sched_key king_keys[] = {
    {"patience", 1000, 2, 1e7, SK_INT, 0},
    {"decay", 0.99, 0, 1, SK_LO_OPEN, 0},
};

/* numpy-ml keeps ceil(1.1 (patience + 1)) losses; one more is appended before trimming. */
static size_t king_max_history(const dsc_sched *s) { return (size_t)ceil(1.1 * (s->p[KG_PATIENCE] + 1)); }

/* The history and, behind it, room for the robust test's sorted and filtered copies. */
static dsc_status king_check(dsc_sched *s)
{
    s->cap = king_max_history(s) + 1;
    s->hist = calloc(3 * s->cap, sizeof *s->hist);
    return s->hist ? DSC_OK : dsc__fail(DSC_ERR_NOMEM, "king: out of memory for the loss history");
}

static void king_start(dsc_sched *s, int closed)
{
    (void)closed;
    s->lr = s->base;
    s->nhist = 0;
}

/* P(slope < 0) of the least-squares line through (x, y[x]) for x = i .. n-1, under a
 * Gaussian with the slope's estimated variance (numpy-ml's _p_decreasing). */
static double p_decreasing(const double *y, size_t n, size_t i)
{
    size_t m = n - i;
    if (m < 3) return NAN; /* no variance estimate: no evidence either way */
    double xm = 0, ym = 0;
    for (size_t k = i; k < n; k++) { xm += (double)k; ym += y[k]; }
    xm /= (double)m;
    ym /= (double)m;
    double sxx = 0, sxy = 0;
    for (size_t k = i; k < n; k++) {
        sxx += ((double)k - xm) * ((double)k - xm);
        sxy += ((double)k - xm) * (y[k] - ym);
    }
    double slope = sxy / sxx, icpt = ym - slope * xm, ss = 0;
    for (size_t k = i; k < n; k++) {
        double r = y[k] - (slope * (double)k + icpt);
        ss += r * r;
    }
    double md = (double)m;
    double svar = 12 * (ss / (md - 2)) / (md * md * md - md);
    double z = (0 - slope) / sqrt(svar + 2.220446049250313e-16);
    return (1 + erf(z / sqrt(2.0))) / 2;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy's quantile(v, 0.9) with linear interpolation, as numpy 1.22+ computes it. */
static double quantile90(const double *v, size_t n, double *sorted)
{
    memcpy(sorted, v, n * sizeof *v);
    qsort(sorted, n, sizeof *sorted, cmp_double);
    double vi = (double)(n - 1) * 0.9, lo = floor(vi), t = vi - lo;
    size_t a = (size_t)lo, b = a + 1 < n ? a + 1 : a;
    double d = sorted[b] - sorted[a];
    return t >= 0.5 ? sorted[b] - d * (1 - t) : sorted[a] + d * t;
}

/* Steps the loss has gone without a likely decrease (numpy-ml's _steps_without_decrease,
 * check_all=False): n - i when P(decreasing) over the last patience+1 losses < 0.51.
 * robust drops the losses above the 90th percentile first (spikes). */
static size_t steps_without_decrease(const dsc_sched *s, int robust, double *work)
{
    const double *lh = s->hist;
    size_t n = s->nhist;
    if (robust) {
        double *kept = work + s->cap;
        double th = quantile90(s->hist, n, work);
        size_t m = 0;
        for (size_t k = 0; k < n; k++)
            if (s->hist[k] <= th) kept[m++] = s->hist[k];
        lh = kept;
        n = m;
    }
    size_t p = (size_t)s->p[KG_PATIENCE];
    size_t i = n > p + 1 ? n - p - 1 : 0;
    return p_decreasing(lh, n, i) < 0.51 ? n - i : 0;
}

static void king_advance(dsc_sched *s, double loss)
{
    size_t p = (size_t)s->p[KG_PATIENCE], maxh = king_max_history(s);
    s->hist[s->nhist++] = loss;
    if (s->nhist < p) return;
    if (s->nhist > maxh) {
        memmove(s->hist, s->hist + (s->nhist - maxh), maxh * sizeof *s->hist);
        s->nhist = maxh;
    }
    double *work = s->hist + s->cap;
    if (steps_without_decrease(s, 0, work) > p && steps_without_decrease(s, 1, work) > p)
        s->lr = s->lr * s->p[KG_DECAY];
}

static void king_range(const dsc_sched *s, double *lo, double *hi) { dsc__sched_decayed(s->base, s->p[KG_DECAY], lo, hi); }

const dsc__sched_kind dsc__sched_king = {
    .name = "king",
    .keys = king_keys,
    .nkeys = DSC__NKEYS(king_keys),
    .needs_loss = 1,
    .check = king_check,
    .start = king_start,
    .advance = king_advance,
    .range = king_range,
};
