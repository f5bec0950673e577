/*
 * lbfgs.c: torch.optim.LBFGS, torch 1.13's algorithm (torch/optim/lbfgs.py, after
 * minFunc), in descent's own C. One call of dsc_optim_step_closure is one call of
 * torch's step(closure):
 *
 *   evaluate; stop if max |g| <= tolerance_grad
 *   up to max_iter iterations:
 *     direction: -g at the very first iteration (n_iter counts over all steps), else the
 *       pair y = g - g_prev, s = t d joins the history (oldest dropped beyond
 *       history_size) when y.s > 1e-10, H_diag = y.s / y.y, and d = -H g by the two-loop
 *       recursion over the pairs, oldest to newest, starting from H_diag
 *     step length: min(1, 1 / |g|_1) lr at the very first iteration, lr after; stop if
 *       g.d > -tolerance_change
 *     no line search: x += t d and evaluate (not after the last iteration);
 *     strong_wolfe: torch's bracketing and cubic zoom (c1 1e-4, c2 0.9, 25 evaluations)
 *     stop at max_iter, at max_eval evaluations in this step, when max |g| <=
 *     tolerance_grad, when max |t d| <= tolerance_change, or when the loss changed by
 *     less than tolerance_change
 *
 * torch views every parameter as one flat vector; so does this file, over the tensors
 * in their order. Its state is the optimizer's rather than per tensor (dsc__ops'
 * wide hooks): the history (old_dirs holds the y, old_stps the s of each pair, in a ring
 * from the oldest), ro = 1 / y.s, the last direction d, step t and gradient, H_diag,
 * and the counters n_iter and func_evals. The vectors are double whatever the
 * parameters' dtype, so f32 parameters get double arithmetic where torch would use
 * float; f64 follows torch's operations in its order. Dot products and norms are
 * plain sequential sums: the same bits on any machine and thread count, so a resumed
 * run continues on exactly the bits of an uninterrupted one.
 */
#include "../core/internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* torch's strong Wolfe search: sufficient decrease, curvature, evaluations at most */
#define WOLFE_C1 1e-4
#define WOLFE_C2 0.9
#define WOLFE_MAX_LS 25
/* a pair joins the history only when its curvature y.s exceeds this (torch's) */
#define CURVATURE_MIN 1e-10
/* the interpolation of the zoom keeps this fraction of the bracket from its ends */
#define ZOOM_MARGIN 0.1
/* the bracketing phase extrapolates at least 1 % past, at most 10x, the last step */
#define EXTRAPOLATE_MIN 0.01
#define EXTRAPOLATE_MAX 10.0
/* ro of a pair is 1 / y.s with y.s > CURVATURE_MIN */
#define RO_MAX (1.0 / CURVATURE_MIN)
/* counters stay exact in a double (DSC_MAX_COUNT) */

/* The scalar state, saved as one-element tensors "optim/<name>". */
enum { N_ITER, FUNC_EVALS, NUM_OLD, OLDEST, STEP_T, H_DIAG, PREV_LOSS, NSCALARS };
static const char *const scalar_names[NSCALARS] = {"n_iter", "func_evals", "num_old", "oldest",
                                                   "t",      "H_diag",     "prev_loss"};
/* The vectors, saved before the scalars. */
enum { W_OLD_DIRS, W_OLD_STPS, W_RO, W_D, W_PREV_FLAT_GRAD, NVECTORS };

typedef struct lbfgs {
    size_t n; /* elements of every tensor together */
    size_t h; /* history_size */
    /* the state */
    double *old_dirs;       /* h x n: the pairs' y, slot (oldest + i) % h for the i-th oldest */
    double *old_stps;       /* h x n: the pairs' s */
    double *ro;             /* h: 1 / y.s of each slot */
    double *d;              /* n: the last direction */
    double *prev_flat_grad; /* n: the gradient the last direction was computed from */
    double sc[NSCALARS];
    /* workspace */
    double *flat_grad; /* n: the gradient at the current point */
    double *x0;        /* n: the point a line search starts from */
    double *ls[3];     /* n each: the line search's gradients (two bracket ends and a trial) */
    double *al;        /* h: the two-loop recursion's alphas */
} lbfgs;

/* ---------------------------------------------------------------- flat vectors */

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* max |a_i|, NaN when one is NaN (torch's max propagates it) */
static double abs_max(const double *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double v = fabs(a[i]);
        if (v != v) return v;
        if (v > m) m = v;
    }
    return m;
}

static double abs_sum(const double *a, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += fabs(a[i]);
    return s;
}

static int all_finite(const double *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a[i])) return 0;
    return 1;
}

/* Python's min(a, b) and max(a, b), which torch's code calls: the first argument
 * unless the second compares smaller (larger), so NaN goes where Python sends it. */
static double py_min(double a, double b) { return b < a ? b : a; }
static double py_max(double a, double b) { return b > a ? b : a; }

/* ---------------------------------------------------------------- the parameters */

/* The closure, the tensors it sees and the optimizer's view of them. */
typedef struct evaluator {
    const dsc_param *params;
    size_t count;
    dsc_closure_fn fn;
    void *ctx;
} evaluator;

/* The tensors' gradients (which 1) or values (which 0), concatenated, into out. */
static void gather(const evaluator *ev, int grads, double *out)
{
    for (size_t i = 0, at = 0; i < ev->count; at += ev->params[i++].n) {
        const dsc_param *p = &ev->params[i];
        const void *src = grads ? p->grad : p->data;
        if (p->dtype == DSC_F64) {
            memcpy(out + at, src, p->n * sizeof *out);
        } else {
            const float *f = src;
            for (size_t j = 0; j < p->n; j++) out[at + j] = f[j];
        }
    }
}

/* The tensors become x + t d (x NULL: their own values), torch's p.add_(d, alpha=t),
 * which rounds once (an FMA on the CPUs torch vectorises for: measured on torch 1.13). */
static void move(const evaluator *ev, const double *x, double t, const double *d)
{
    for (size_t i = 0, at = 0; i < ev->count; at += ev->params[i++].n) {
        const dsc_param *p = &ev->params[i];
        if (p->dtype == DSC_F64) {
            double *dst = p->data;
            for (size_t j = 0; j < p->n; j++) dst[j] = fma(t, d[at + j], x ? x[at + j] : dst[j]);
        } else {
            float *dst = p->data;
            for (size_t j = 0; j < p->n; j++)
                dst[j] = (float)fma(t, d[at + j], x ? x[at + j] : (double)dst[j]);
        }
    }
}

/* One evaluation: the loss into *f, the gradient into g. */
static dsc_status evaluate(const evaluator *ev, double *f, double *g)
{
    double loss = NAN;
    dsc_status st = ev->fn(ev->ctx, &loss);
    if (st) return st;
    *f = loss;
    gather(ev, 1, g);
    return DSC_OK;
}

/* ---------------------------------------------------------------- the strong Wolfe search */

/*
 * The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2,
 * clamped to [lo, hi] (the interval between x1 and x2 when bounds is NULL); their
 * middle when the cubic has no minimum (torch's _cubic_interpolate).
 */
static double cubic_min(double x1, double f1, double g1, double x2, double f2, double g2, const double *bounds)
{
    double lo = bounds ? bounds[0] : x1 <= x2 ? x1 : x2;
    double hi = bounds ? bounds[1] : x1 <= x2 ? x2 : x1;
    double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
    double d2_square = d1 * d1 - g1 * g2;
    if (!(d2_square >= 0)) return (lo + hi) / 2.;
    double d2 = sqrt(d2_square), min_pos;
    if (x1 <= x2) min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2));
    else min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return py_min(py_max(min_pos, lo), hi);
}

/* A point of the search: step, loss, gradient, slope along d. */
typedef struct point {
    double t, f, gtd;
    double *g;
} point;

/* Evaluates at x0 + t d into *p (its gradient into buffer g). */
static dsc_status probe(const evaluator *ev, const lbfgs *w, double t, double *g, point *p)
{
    move(ev, w->x0, t, w->d);
    dsc_status st = evaluate(ev, &p->f, g);
    if (st) return st;
    p->t = t;
    p->g = g;
    p->gtd = dot(g, w->d, w->n);
    return DSC_OK;
}

/* A gradient buffer of the search that neither a nor b holds. */
static double *spare(const lbfgs *w, const double *a, const double *b)
{
    for (int k = 0; k < 2; k++)
        if (w->ls[k] != a && w->ls[k] != b) return w->ls[k];
    return w->ls[2];
}

/*
 * torch's _strong_wolfe from start (step 0: the loss, flat_grad and slope of the
 * current point) along w->d with a first step t: brackets a step that meets the strong
 * Wolfe conditions, then zooms in on it by cubic interpolation. On return *t, *f and
 * w->flat_grad are those of the step chosen; *evals counts the evaluations made.
 */
static dsc_status strong_wolfe(const evaluator *ev, lbfgs *w, double tolerance_change, double *t, double *f,
                               double gtd, int64_t *evals)
{
    const point start = {0, *f, gtd, w->flat_grad};
    const double d_norm = abs_max(w->d, w->n);
    point next, prev = start, br[2];
    int nbr = 0, done = 0, ls_iter = 0;
    dsc_status st = probe(ev, w, *t, w->ls[0], &next);
    if (st) return st;
    *evals = 1;
    /* bracketing: extrapolate until the step is too long, or good */
    while (ls_iter < WOLFE_MAX_LS) {
        if (next.f > start.f + WOLFE_C1 * next.t * gtd || (ls_iter > 1 && next.f >= prev.f)) {
            br[0] = prev; /* too long: the minimum lies between the last two */
            br[1] = next;
            nbr = 2;
            break;
        }
        if (fabs(next.gtd) <= -WOLFE_C2 * gtd) {
            br[0] = next;
            nbr = 1;
            done = 1;
            break;
        }
        if (next.gtd >= 0) { /* past the minimum along d */
            br[0] = prev;
            br[1] = next;
            nbr = 2;
            break;
        }
        const double bounds[2] = {next.t + EXTRAPOLATE_MIN * (next.t - prev.t), next.t * EXTRAPOLATE_MAX};
        double t_new = cubic_min(prev.t, prev.f, prev.gtd, next.t, next.f, next.gtd, bounds);
        prev = next;
        if ((st = probe(ev, w, t_new, spare(w, prev.g, prev.g), &next))) return st;
        ++*evals;
        ls_iter++;
    }
    if (ls_iter == WOLFE_MAX_LS) { /* out of evaluations: the start or the last step */
        br[0] = start;
        br[1] = next;
        nbr = 2;
    }
    /* zoom: shrink the bracket around a step meeting the conditions */
    int insuf_progress = 0;
    int low = nbr == 1 || br[0].f <= br[1].f ? 0 : 1;
    while (!done && ls_iter < WOLFE_MAX_LS) {
        if (fabs(br[1].t - br[0].t) * d_norm < tolerance_change) break;
        double tt = cubic_min(br[0].t, br[0].f, br[0].gtd, br[1].t, br[1].f, br[1].gtd, NULL);
        /* too close to an end (twice in a row, or at or past one): 10 % of the bracket in */
        double bmax = py_max(br[0].t, br[1].t), bmin = py_min(br[0].t, br[1].t);
        double eps = ZOOM_MARGIN * (bmax - bmin);
        if (py_min(bmax - tt, tt - bmin) < eps) {
            if (insuf_progress || tt >= bmax || tt <= bmin) {
                tt = fabs(tt - bmax) < fabs(tt - bmin) ? bmax - eps : bmin + eps;
                insuf_progress = 0;
            } else {
                insuf_progress = 1;
            }
        } else {
            insuf_progress = 0;
        }
        if ((st = probe(ev, w, tt, spare(w, br[0].g, br[1].g), &next))) return st;
        ++*evals;
        ls_iter++;
        int high = 1 - low;
        if (next.f > start.f + WOLFE_C1 * next.t * gtd || next.f >= br[low].f) {
            br[high] = next; /* not low enough: the new high end */
            low = br[0].f <= br[1].f ? 0 : 1;
        } else {
            if (fabs(next.gtd) <= -WOLFE_C2 * gtd) done = 1;
            else if (next.gtd * (br[high].t - br[low].t) >= 0) br[high] = br[low];
            br[low] = next; /* the new low end */
        }
    }
    *t = br[low].t;
    *f = br[low].f;
    if (br[low].g != w->flat_grad) memcpy(w->flat_grad, br[low].g, w->n * sizeof *w->flat_grad);
    return DSC_OK;
}

/* ---------------------------------------------------------------- the direction */

/* The slot of the i-th oldest pair. */
static size_t slot(const lbfgs *w, size_t i) { return ((size_t)w->sc[OLDEST] + i) % w->h; }

/* The pair of the last step, y = g - g_prev and s = t d, joins the history when its
 * curvature y.s > 1e-10 (the oldest leaves a full one); H_diag = y.s / y.y. y and s
 * are formed again as they are stored, the same operations, so a refused pair never
 * touches the ring. */
static void update_history(lbfgs *w)
{
    const size_t n = w->n;
    const double t = w->sc[STEP_T];
    const double *g = w->flat_grad, *gp = w->prev_flat_grad, *d = w->d;
    double ys = 0, yy = 0;
    for (size_t j = 0; j < n; j++) {
        double y = g[j] - gp[j], s = d[j] * t;
        ys += y * s;
        yy += y * y;
    }
    if (!(ys > CURVATURE_MIN)) return;
    size_t num_old = (size_t)w->sc[NUM_OLD], k;
    if (num_old == w->h) { /* the oldest makes room */
        k = slot(w, 0);
        w->sc[OLDEST] = (double)((k + 1) % w->h);
    } else {
        k = slot(w, num_old);
        w->sc[NUM_OLD] = (double)(num_old + 1);
    }
    double *y = w->old_dirs + k * n, *s = w->old_stps + k * n;
    for (size_t j = 0; j < n; j++) {
        y[j] = g[j] - gp[j];
        s[j] = d[j] * t;
    }
    w->ro[k] = 1. / ys;
    w->sc[H_DIAG] = ys / yy;
}

/* d = -H g: the two-loop recursion, newest to oldest and back, from H_diag. Its
 * q.add_(y, alpha=-al) and r.add_(s, alpha=al - be) round once, as torch's do. */
static void two_loop(lbfgs *w)
{
    const size_t n = w->n, num_old = (size_t)w->sc[NUM_OLD];
    double *q = w->d;
    for (size_t j = 0; j < n; j++) q[j] = -w->flat_grad[j];
    for (size_t i = num_old; i-- > 0;) {
        size_t k = slot(w, i);
        const double *y = w->old_dirs + k * n, *s = w->old_stps + k * n;
        w->al[i] = dot(s, q, n) * w->ro[k];
        const double a = -w->al[i];
        for (size_t j = 0; j < n; j++) q[j] = fma(a, y[j], q[j]);
    }
    const double h_diag = w->sc[H_DIAG];
    for (size_t j = 0; j < n; j++) q[j] = q[j] * h_diag;
    for (size_t i = 0; i < num_old; i++) {
        size_t k = slot(w, i);
        const double *y = w->old_dirs + k * n, *s = w->old_stps + k * n;
        const double be_i = dot(y, q, n) * w->ro[k], a = w->al[i] - be_i;
        for (size_t j = 0; j < n; j++) q[j] = fma(a, s[j], q[j]);
    }
}

/* ---------------------------------------------------------------- the step */

/* The largest |t d_j|: how far the last iteration moved the farthest element. */
static double step_max(const double *d, double t, size_t n)
{
    double m = 0;
    for (size_t j = 0; j < n; j++) {
        double v = fabs(d[j] * t);
        if (v != v) return v;
        if (v > m) m = v;
    }
    return m;
}

static dsc_status lbfgs_step(void *wv, const dsc_param *params, size_t count, const dsc_hparams *hp,
                             dsc_closure_fn fn, void *ctx, double *loss_out, dsc__closure_result *result)
{
    lbfgs *w = wv;
    const evaluator ev = {params, count, fn, ctx};
    const size_t n = w->n;
    const int64_t max_iter = hp->max_iter, max_eval = hp->max_eval ? hp->max_eval : hp->max_iter * 5 / 4;
    const double tol_change = hp->tolerance_change;
    double *g = w->flat_grad, loss;
    *result = DSC__CLOSURE_UPDATED;
    dsc_status st = evaluate(&ev, &loss, g);
    if (st) return st;
    *loss_out = loss;
    if (hp->nonfinite != DSC_NONFINITE_IGNORE && (!isfinite(loss) || !all_finite(g, n))) {
        *result = DSC__CLOSURE_NONFINITE; /* nothing has changed */
        return DSC_OK;
    }
    int64_t current_evals = 1;
    w->sc[FUNC_EVALS] += 1;
    int opt_cond = abs_max(g, n) <= hp->tolerance_grad;
    if (opt_cond) return DSC_OK;
    for (int64_t it = 1; it <= max_iter; it++) {
        w->sc[N_ITER] += 1;
        if (w->sc[N_ITER] == 1) { /* the very first iteration: steepest descent, no history */
            for (size_t j = 0; j < n; j++) w->d[j] = -g[j];
            w->sc[NUM_OLD] = 0;
            w->sc[OLDEST] = 0;
            w->sc[H_DIAG] = 1;
        } else {
            update_history(w);
            two_loop(w);
        }
        memcpy(w->prev_flat_grad, g, n * sizeof *g);
        w->sc[PREV_LOSS] = loss;
        /* the first step is scaled to at most lr / |g|_1 */
        double t = w->sc[N_ITER] == 1 ? py_min(1., 1. / abs_sum(g, n)) * hp->lr : hp->lr;
        w->sc[STEP_T] = t;
        double gtd = dot(g, w->d, n);
        if (gtd > -tol_change) break; /* not a descent direction (any more) */
        int64_t ls_evals = 0;
        if (hp->line_search_fn == DSC_LINE_SEARCH_STRONG_WOLFE) {
            gather(&ev, 0, w->x0);
            if ((st = strong_wolfe(&ev, w, tol_change, &t, &loss, gtd, &ls_evals))) return st;
            w->sc[STEP_T] = t;
            move(&ev, w->x0, t, w->d);
            opt_cond = abs_max(g, n) <= hp->tolerance_grad;
        } else {
            move(&ev, NULL, t, w->d);
            if (it != max_iter) { /* torch does not evaluate after the last iteration */
                if ((st = evaluate(&ev, &loss, g))) return st;
                opt_cond = abs_max(g, n) <= hp->tolerance_grad;
                ls_evals = 1;
            }
        }
        current_evals += ls_evals;
        w->sc[FUNC_EVALS] += (double)ls_evals;
        if (it == max_iter || current_evals >= max_eval || opt_cond) break;
        if (step_max(w->d, t, n) <= tol_change) break;
        if (fabs(loss - w->sc[PREV_LOSS]) < tol_change) break;
    }
    return DSC_OK;
}

/* ---------------------------------------------------------------- create, hyperparameters */

static void lbfgs_free(void *wv)
{
    lbfgs *w = wv;
    if (!w) return;
    free(w->old_dirs);
    free(w);
}

static dsc_status lbfgs_create(const dsc_param *params, size_t count, const dsc_hparams *hp, void **out,
                               size_t *bytes)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        if (params[i].group != 0)
            return dsc__fail(DSC_ERR_UNSUPPORTED, "lbfgs: one parameter group only (torch.optim.LBFGS has no "
                             "parameter groups); tensor '%s' is in group %d", params[i].name, params[i].group);
        n += params[i].n;
    }
    const size_t h = (size_t)hp->history_size;
    /* the pairs, five vectors (d, prev_flat_grad, flat_grad, x0, three of the search) and
     * ro and al */
    const size_t vectors = 2 * h + 7;
    if (n > (SIZE_MAX / sizeof(double) - 2 * h) / vectors)
        return dsc__fail(DSC_ERR_NOMEM, "lbfgs: %zu elements with a history of %zu pairs need more memory than "
                         "can be addressed", n, h);
    size_t total = (vectors * n + 2 * h) * sizeof(double);
    /* calloc, not dsc__alloc: a large block comes as untouched zero pages, so the
     * history costs memory as it fills, as torch's lists grow */
    lbfgs *w = calloc(1, sizeof *w);
    double *mem = w ? calloc(total / sizeof(double), sizeof(double)) : NULL;
    if (!mem) {
        free(w);
        return dsc__fail(DSC_ERR_NOMEM, "lbfgs: out of memory for %zu bytes of history (%zu elements, "
                         "history_size %zu)", total, n, h);
    }
    w->n = n;
    w->h = h;
    w->old_dirs = mem;
    w->old_stps = w->old_dirs + h * n;
    w->d = w->old_stps + h * n;
    w->prev_flat_grad = w->d + n;
    w->flat_grad = w->prev_flat_grad + n;
    w->x0 = w->flat_grad + n;
    for (int k = 0; k < 3; k++) w->ls[k] = w->x0 + (size_t)(k + 1) * n;
    w->ro = w->ls[2] + n;
    w->al = w->ro + h;
    w->sc[H_DIAG] = 1;
    *out = w;
    *bytes += total;
    return DSC_OK;
}

/* torch.optim.LBFGS has no weight decay, clipping, maximize or wrappers: refused, not
 * ignored (a penalty belongs in the closure's loss). */
static dsc_status lbfgs_validate(const dsc_hparams *hp)
{
    const char *key = hp->weight_decay != 0 ? "weight_decay"
                      : hp->decoupled_weight_decay ? "decoupled_weight_decay"
                      : hp->l1 != 0 ? "l1"
                      : hp->maximize ? "maximize"
                      : hp->clip_norm != 0 || hp->clip_per_tensor ? "clip_norm"
                      : hp->clip_value != 0 ? "clip_value"
                      : hp->lookahead_k > 0 ? "lookahead"
                      : hp->accumulate != 1 ? "accumulate"
                      : NULL;
    if (!key) return DSC_OK;
    return dsc__fail(DSC_ERR_RANGE, "lbfgs: %s is not supported (torch.optim.LBFGS has none; put a penalty "
                     "or scaling into the closure's loss)", key);
}

static dsc_status lbfgs_change(const dsc_hparams *old, const dsc_hparams *hp)
{
    if (hp->history_size == old->history_size) return DSC_OK;
    return dsc__fail(DSC_ERR_UNSUPPORTED, "lbfgs: history_size cannot change from %lld to %lld (the history is "
                     "allocated at create); create a new optimizer", (long long)old->history_size,
                     (long long)hp->history_size);
}

static int lbfgs_state(const dsc_hparams *hp, const char **names)
{
    (void)hp;
    (void)names;
    return 0; /* nothing per tensor: the state is the optimizer's (lbfgs_tensor) */
}

static void lbfgs_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)hp, (void)gs, (void)t, (void)s; /* never called: dsc_optim_step refuses lbfgs */
}

/* ---------------------------------------------------------------- checkpoints */

static size_t lbfgs_count(const void *w)
{
    (void)w;
    return NVECTORS + NSCALARS;
}

static void lbfgs_tensor(const void *wv, size_t k, dsc__wide *out)
{
    const lbfgs *w = wv;
    static const char *const vector_names[NVECTORS] = {"old_dirs", "old_stps", "ro", "d", "prev_flat_grad"};
    double *const data[NVECTORS] = {w->old_dirs, w->old_stps, w->ro, w->d, w->prev_flat_grad};
    memset(out, 0, sizeof *out);
    out->ndim = 1;
    if (k >= NVECTORS) {
        out->name = scalar_names[k - NVECTORS];
        out->data = (double *)&w->sc[k - NVECTORS];
        out->shape[0] = 1;
    } else {
        out->name = vector_names[k];
        out->data = data[k];
        out->shape[0] = k == W_RO ? w->h : w->n;
        if (k == W_OLD_DIRS || k == W_OLD_STPS) {
            out->ndim = 2;
            out->shape[0] = w->h;
            out->shape[1] = w->n;
        }
    }
    out->n = out->shape[0] * (out->ndim == 2 ? out->shape[1] : 1);
}

static double read_f64(const unsigned char *bytes, size_t i)
{
    double v;
    memcpy(&v, bytes + i * sizeof v, sizeof v);
    return v;
}

/* A counter of the file: an integer in [lo, hi]. */
static dsc_status check_count(const char *name, double v, double lo, double hi)
{
    if (v >= lo && v <= hi && v == floor(v)) return DSC_OK;
    return dsc__fail(DSC_ERR_FORMAT, "lbfgs: %s must be an integer in [%.17g, %.17g], got %.17g", name, lo, hi, v);
}

/* Whether the file's scalars and ro are a state this algorithm can reach: counters
 * in range, as many pairs as iterations allow, a ring that rotates only once full,
 * finite t, H_diag > 0 and every live ro in [0, 1e10). The vectors may hold any value
 * (a run under nonfinite=ignore may have reached NaN, as torch's would). */
static dsc_status lbfgs_check(const void *wv, const unsigned char *const *bytes)
{
    const lbfgs *w = wv;
    double sc[NSCALARS];
    for (int k = 0; k < NSCALARS; k++) sc[k] = read_f64(bytes[NVECTORS + k], 0);
    const double h = (double)w->h, max = (double)DSC_MAX_COUNT;
    dsc_status st;
    if ((st = check_count("n_iter", sc[N_ITER], 0, max)) || (st = check_count("func_evals", sc[FUNC_EVALS], 0, max)) ||
        (st = check_count("num_old", sc[NUM_OLD], 0, sc[N_ITER] > 1 ? fmin(h, sc[N_ITER] - 1) : 0)) ||
        (st = check_count("oldest", sc[OLDEST], 0, sc[NUM_OLD] == h ? h - 1 : 0)))
        return st;
    if (!isfinite(sc[STEP_T])) return dsc__fail(DSC_ERR_FORMAT, "lbfgs: t must be finite, got %g", sc[STEP_T]);
    if (!(sc[H_DIAG] > 0 && isfinite(sc[H_DIAG])))
        return dsc__fail(DSC_ERR_FORMAT, "lbfgs: H_diag must be finite and > 0, got %g", sc[H_DIAG]);
    for (size_t i = 0; i < (size_t)sc[NUM_OLD]; i++) {
        size_t k = ((size_t)sc[OLDEST] + i) % w->h;
        double ro = read_f64(bytes[W_RO], k);
        if (!(ro >= 0 && ro < RO_MAX))
            return dsc__fail(DSC_ERR_FORMAT, "lbfgs: ro[%zu] must be in [0, 1e10) (1 / y.s with y.s > 1e-10), "
                             "got %g", k, ro);
    }
    return DSC_OK;
}

const dsc__ops dsc__ops_lbfgs = {
    .kind = DSC_LBFGS,
    .state_names = lbfgs_state,
    .validate = lbfgs_validate,
    .prepare = lbfgs_prepare,
    .wide_create = lbfgs_create,
    .wide_free = lbfgs_free,
    .wide_change = lbfgs_change,
    .closure_step = lbfgs_step,
    .wide_count = lbfgs_count,
    .wide_tensor = lbfgs_tensor,
    .wide_check = lbfgs_check,
};
