/*
 * clip.c: gradient norms and clipping, shared by the optimizer's step (clip_norm,
 * clip_per_tensor, the non-finite check) and the standalone torch.nn.utils-style
 * functions. Norms are accumulated in double whatever the tensor's dtype.
 *
 * The file is read once plain, then its typed part (the loops over a gradient) once
 * for float and once for double (typed.h).
 */
#ifndef T
#include "internal.h"

#include <math.h>

/* The term a lane sum adds for each element x: x*x for the 2-norm, |x| for the 1-norm. */
enum lane_term { LANE_SQUARE, LANE_ABS };

static inline __attribute__((always_inline)) double lane_term(double x, enum lane_term t)
{
    return t == LANE_SQUARE ? x * x : fabs(x);
}

/* The independent partial sums of a lane sum (lane_sum below). */
#define LANES 16

#define DSC_TYPED_FILE "clip.c"
#include "typed.h"
#endif

#ifdef T
/* The sum of term(x) over the n elements x of g in LANES independent partial sums (a
 * fixed order, so deterministic), which the compiler turns into vectors: one running
 * sum would be bound by the latency of an add, not by memory. Always inlined with a
 * constant term, so that each sum has its own loop, without a test per element. */
static inline __attribute__((always_inline)) double FN(lane_sum)(const T *g, size_t n, enum lane_term t)
{
    double l[LANES] = {0};
    size_t e = 0;
    for (; e + LANES <= n; e += LANES)
        for (int j = 0; j < LANES; j++) l[j] += lane_term((double)g[e + (size_t)j], t);
    for (int j = 0; e < n; e++, j++) l[j] += lane_term((double)g[e], t);
    for (int w = LANES / 2; w > 0; w /= 2)
        for (int j = 0; j < w; j++) l[j] += l[j + w];
    return l[0];
}

/* sum |g|^p, or max |g| for p = inf, of n elements; NaN propagates (Inf as Inf). */
static double FN(partial)(const T *g, size_t n, double p)
{
    double acc = 0;
    if (p == 2) {
        acc = FN(lane_sum)(g, n, LANE_SQUARE);
    } else if (p == 1) {
        acc = FN(lane_sum)(g, n, LANE_ABS);
    } else if (isinf(p)) {
        for (size_t e = 0; e < n; e++) {
            double a = fabs((double)g[e]);
            if (a > acc || a != a) acc = a;
            if (acc != acc) break;
        }
    } else {
        for (size_t e = 0; e < n; e++) acc += pow(fabs((double)g[e]), p);
    }
    return acc;
}

static int FN(finite)(const T *g, size_t n)
{
    for (size_t e = 0; e < n; e++)
        if (!isfinite(g[e])) return 0;
    return 1;
}

static void FN(scale)(T *g, size_t n, double c)
{
    T tc = (T)c;
    for (size_t e = 0; e < n; e++) g[e] = g[e] * tc;
}

static void FN(clamp)(T *g, size_t n, double v)
{
    T tv = (T)v;
    for (size_t e = 0; e < n; e++)
        g[e] = g[e] > tv ? tv : (g[e] < -tv ? -tv : g[e]);
}
#endif

#ifndef T
double dsc__grad_partial(dsc_dtype dt, const void *g, size_t n, double p)
{
    return dt == DSC_F32 ? partial_f32(g, n, p) : partial_f64(g, n, p);
}

int dsc__grad_finite(dsc_dtype dt, const void *g, size_t n)
{
    return dt == DSC_F32 ? finite_f32(g, n) : finite_f64(g, n);
}

void dsc__grad_scale(dsc_dtype dt, void *g, size_t n, double c)
{
    if (dt == DSC_F32) scale_f32(g, n, c);
    else scale_f64(g, n, c);
}

double dsc__norm_combine(double acc, double partial, double p)
{
    if (!isinf(p)) return acc + partial;
    return partial > acc || partial != partial ? partial : acc;
}

double dsc__norm_root(double sum, double p)
{
    if (isinf(p) || p == 1) return sum;
    return p == 2 ? sqrt(sum) : pow(sum, 1.0 / p);
}

double dsc__clip_coef(double max_norm, double norm)
{
    double c = max_norm / (norm + 1e-6);
    return c < 1.0 ? c : 1.0;
}

/* ---------------------------------------------------------------- the public functions */

static dsc_status check_args(const char *fn, const dsc_param *params, size_t count, const char *what,
                             double v, double norm_type)
{
    if (!params && count) return dsc__fail(DSC_ERR_ARG, "%s: NULL params", fn);
    if (!(v >= 0) || isinf(v))
        return dsc__fail(DSC_ERR_RANGE, "%s: %s must be in [0, inf), got %.17g", fn, what, v);
    if (!(norm_type > 0))
        return dsc__fail(DSC_ERR_RANGE, "%s: norm_type must be in (0, inf], got %.17g", fn, norm_type);
    for (size_t i = 0; i < count; i++) {
        if (!params[i].grad && params[i].n)
            return dsc__fail(DSC_ERR_ARG, "%s: param %zu has a NULL grad", fn, i);
        if (!dsc_dtype_size(params[i].dtype))
            return dsc__fail(DSC_ERR_ARG, "%s: param %zu has an invalid dtype %d", fn, i, (int)params[i].dtype);
    }
    return DSC_OK;
}

static double tensor_sum(const dsc_param *q, double p) { return dsc__grad_partial(q->dtype, q->grad, q->n, p); }

dsc_status dsc_clip_grad_norm(const dsc_param *params, size_t count, double max_norm, double norm_type,
                              double *total_norm)
{
    dsc_status st = check_args("dsc_clip_grad_norm", params, count, "max_norm", max_norm, norm_type);
    if (st) return st;
    double sum = 0;
    for (size_t i = 0; i < count; i++) sum = dsc__norm_combine(sum, tensor_sum(&params[i], norm_type), norm_type);
    double total = dsc__norm_root(sum, norm_type);
    if (total_norm) *total_norm = total;
    if (!isfinite(total))
        return dsc__fail(DSC_ERR_NONFINITE, "dsc_clip_grad_norm: the gradients' norm is %g; nothing was "
                         "clipped", total);
    double c = dsc__clip_coef(max_norm, total);
    if (c < 1.0)
        for (size_t i = 0; i < count; i++) dsc__grad_scale(params[i].dtype, params[i].grad, params[i].n, c);
    return DSC_OK;
}

dsc_status dsc_clip_grad_norm_per_tensor(const dsc_param *params, size_t count, double max_norm,
                                         double norm_type, double *norms)
{
    dsc_status st = check_args("dsc_clip_grad_norm_per_tensor", params, count, "max_norm", max_norm, norm_type);
    if (st) return st;
    for (size_t i = 0; i < count; i++) {
        double norm = dsc__norm_root(tensor_sum(&params[i], norm_type), norm_type);
        if (norms) norms[i] = norm;
        double c = isfinite(norm) ? dsc__clip_coef(max_norm, norm) : 1.0;
        if (c < 1.0) dsc__grad_scale(params[i].dtype, params[i].grad, params[i].n, c);
    }
    return DSC_OK;
}

dsc_status dsc_clip_grad_value(const dsc_param *params, size_t count, double clip_value)
{
    dsc_status st = check_args("dsc_clip_grad_value", params, count, "clip_value", clip_value, 2.0);
    if (st) return st;
    for (size_t i = 0; i < count; i++) {
        if (params[i].dtype == DSC_F32) clamp_f32(params[i].grad, params[i].n, clip_value);
        else clamp_f64(params[i].grad, params[i].n, clip_value);
    }
    return DSC_OK;
}
#endif
