/*
 * batchnorm.c: batch normalization (PyTorch's batch_norm) per channel of image rows
 * (BatchNorm2d: statistics over the batch and the pixels) or per feature of flat
 * rows (BatchNorm1d: over the batch). Training normalizes by the batch's mean and
 * biased variance and moves the running statistics toward them (the variance
 * unbiased, as PyTorch does); evaluation normalizes by the running ones. Sums run in
 * double whatever the model's type. The normalized inputs x-hat and the 1/sqrt(var +
 * eps) used are kept for the backward pass.
 *
 * The file is read once plain, then its typed part once for float and once for double
 * (core/typed.h).
 */
#ifndef T
#include "nn.h"

#include <math.h>

/* typed.h includes it again: the path is from src/core, where typed.h is */
#define DSC_TYPED_FILE "../nn/batchnorm.c"
#include "../core/typed.h"
#endif

#ifdef T
static void FN(forward)(dsc__layer *l, const T *g, const T *b, T *stats, const T *x, T *y, size_t n, int train)
{
    size_t C = l->oc, S = l->oh * l->ow;
    double M = (double)(n * S);
    T *rmean = stats + l->s_off, *rvar = rmean + C, *xhat = l->aux, *inv = l->aux2;
    for (size_t c = 0; c < C; c++) {
        double mean, var;
        if (train) {
            double s = 0, ss = 0;
            for (size_t r = 0; r < n; r++)
                for (size_t i = 0; i < S; i++) s += x[r * l->in + c * S + i];
            mean = s / M;
            for (size_t r = 0; r < n; r++)
                for (size_t i = 0; i < S; i++) {
                    double dv = x[r * l->in + c * S + i] - mean;
                    ss += dv * dv;
                }
            var = ss / M;
            /* one value per channel has no unbiased variance: keep the biased one */
            double unbiased = M > 1 ? ss / (M - 1) : var;
            rmean[c] = (T)((1 - l->momentum) * rmean[c] + l->momentum * mean);
            rvar[c] = (T)((1 - l->momentum) * rvar[c] + l->momentum * unbiased);
        } else {
            mean = rmean[c];
            var = rvar[c];
        }
        T is = (T)(1 / sqrt(var + l->eps)), m = (T)mean;
        inv[c] = is;
        for (size_t r = 0; r < n; r++)
            for (size_t i = 0; i < S; i++) {
                size_t at = r * l->in + c * S + i;
                xhat[at] = (x[at] - m) * is;
                y[at] = g[c] * xhat[at] + b[c];
            }
    }
    if (train) l->tracked++;
}

static void FN(backward)(const dsc__layer *l, const T *g, const T *d, T *gg, T *gb, T *dx, size_t n, int train)
{
    size_t C = l->oc, S = l->oh * l->ow;
    double M = (double)(n * S);
    const T *xhat = l->aux, *inv = l->aux2;
    for (size_t c = 0; c < C; c++) {
        double sd = 0, sdx = 0;
        for (size_t r = 0; r < n; r++)
            for (size_t i = 0; i < S; i++) {
                size_t at = r * l->in + c * S + i;
                sd += d[at];
                sdx += (double)d[at] * xhat[at];
            }
        gg[c] = (T)sdx;
        gb[c] = (T)sd;
        if (!dx) continue;
        /* training: the batch's statistics depend on x too */
        T scale = g[c] * inv[c], md = train ? (T)(sd / M) : 0, mdx = train ? (T)(sdx / M) : 0;
        for (size_t r = 0; r < n; r++)
            for (size_t i = 0; i < S; i++) {
                size_t at = r * l->in + c * S + i;
                dx[at] = scale * (d[at] - md - xhat[at] * mdx);
            }
    }
}
#endif

#ifndef T
void dsc__bn_forward(dsc_dtype dt, dsc__layer *l, const void *gamma, const void *beta, void *stats, const void *x,
                     void *y, size_t n, int train)
{
    if (dt == DSC_F32) forward_f32(l, gamma, beta, stats, x, y, n, train);
    else forward_f64(l, gamma, beta, stats, x, y, n, train);
}

void dsc__bn_backward(dsc_dtype dt, const dsc__layer *l, const void *gamma, const void *d, void *ggamma, void *gbeta,
                      void *dx, size_t n, int train)
{
    if (dt == DSC_F32) backward_f32(l, gamma, d, ggamma, gbeta, dx, n, train);
    else backward_f64(l, gamma, d, ggamma, gbeta, dx, n, train);
}
#endif
