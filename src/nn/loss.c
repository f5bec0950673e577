/*
 * loss.c: losses on the network's outputs, their gradients and the metrics. The
 * cross-entropies take logits and are computed in a form that never overflows:
 *   bce:        max(z, 0) - z*y + log(1 + exp(-|z|))
 *   softmax ce: logsumexp(z) - z_y, with the row maximum subtracted first.
 * Sums run in double whatever the element type. The file is read once plain, then its
 * typed part once per element type (core/typed.h).
 */
#ifndef T
#include "nn.h"

#include <math.h>

static const char *const names[DSC_LOSS_COUNT] = {"mse", "bce", "softmax_ce"};

DSC__NAMED_ENUM(dsc_loss, dsc_loss_name, dsc_loss_from_name, names, DSC_LOSS_COUNT, "loss")

#define DSC_TYPED_FILE "../nn/loss.c" /* relative to typed.h */
#include "../core/typed.h"
#endif

#ifdef T
/* ---- the kernels, for element type T */

static void FN(mse)(const T *z, const double *y, size_t n, size_t k, T *d, double scale, dsc__tally *t)
{
    double sum = 0;
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < k; j++) {
            double e = (double)z[r * k + j] - y[r];
            sum += e * e / (double)k;
            if (d) d[r * k + j] = (T)(2 * scale * e / (double)k);
        }
    t->loss += sum;
}

static void FN(bce)(const T *z, const double *y, size_t n, T *d, double scale, dsc__tally *t)
{
    double sum = 0;
    for (size_t r = 0; r < n; r++) {
        double v = (double)z[r], e = exp(-fabs(v));
        sum += (v > 0 ? v : 0) - v * y[r] + log1p(e);
        double p = v >= 0 ? 1 / (1 + e) : e / (1 + e);
        if (d) d[r] = (T)(scale * (p - y[r]));
    }
    t->loss += sum;
}

static void FN(softmax_ce)(const T *z, const double *y, size_t n, size_t k, T *d, double scale,
                           dsc__tally *t)
{
    double sum = 0;
    for (size_t r = 0; r < n; r++) {
        const T *zr = z + r * k;
        double mx = zr[0], se = 0;
        for (size_t j = 1; j < k; j++) mx = zr[j] > mx ? zr[j] : mx;
        T *dr = d ? d + r * k : NULL; /* holds the exponentials, then the gradient */
        for (size_t j = 0; j < k; j++) {
            double e = exp((double)zr[j] - mx);
            se += e;
            if (dr) dr[j] = (T)e;
        }
        size_t c = (size_t)y[r];
        sum += mx + log(se) - (double)zr[c];
        for (size_t j = 0; dr && j < k; j++)
            dr[j] = (T)(scale * ((double)dr[j] / se - (j == c)));
    }
    t->loss += sum;
}

static void FN(metric)(dsc_loss loss, const T *z, const double *y, size_t n, size_t k, double ym,
                       double ys, dsc__tally *t)
{
    for (size_t r = 0; r < n; r++) {
        const T *zr = z + r * k;
        if (loss == DSC_LOSS_MSE) {
            double p = (double)zr[0] * ys + ym, v = y[r] * ys + ym;
            t->sse += (p - v) * (p - v);
            t->sy += v;
            t->syy += v * v;
        } else if (loss == DSC_LOSS_BCE) {
            t->correct += (zr[0] > 0) == (y[r] > 0.5);
        } else {
            size_t best = 0;
            for (size_t j = 1; j < k; j++) best = zr[j] > zr[best] ? j : best;
            t->correct += best == (size_t)y[r];
        }
    }
}
#endif

#ifndef T
void dsc__loss_eval(dsc_loss loss, dsc_dtype dt, const void *z, const double *y, size_t n,
                    size_t k, void *d, double scale, dsc__tally *t)
{
    t->rows += n;
    if (dt == DSC_F32) {
        if (loss == DSC_LOSS_MSE) mse_f32(z, y, n, k, d, scale, t);
        else if (loss == DSC_LOSS_BCE) bce_f32(z, y, n, d, scale, t);
        else softmax_ce_f32(z, y, n, k, d, scale, t);
    } else {
        if (loss == DSC_LOSS_MSE) mse_f64(z, y, n, k, d, scale, t);
        else if (loss == DSC_LOSS_BCE) bce_f64(z, y, n, d, scale, t);
        else softmax_ce_f64(z, y, n, k, d, scale, t);
    }
}

void dsc__loss_metric(dsc_loss loss, dsc_dtype dt, const void *z, const double *y, size_t n,
                      size_t k, double y_mean, double y_std, dsc__tally *t)
{
    if (dt == DSC_F32) metric_f32(loss, z, y, n, k, y_mean, y_std, t);
    else metric_f64(loss, z, y, n, k, y_mean, y_std, t);
}

double dsc__tally_metric(dsc_loss loss, const dsc__tally *t)
{
    if (t->rows == 0) return NAN;
    if (loss != DSC_LOSS_MSE) return (double)t->correct / (double)t->rows;
    double n = (double)t->rows, sst = t->syy - t->sy * t->sy / n;
    return sst > 0 ? 1 - t->sse / sst : NAN;
}
#endif
