/*
 * pool.c: max and average pooling over k x k windows (PyTorch's max_pool2d and
 * avg_pool2d without ceil mode). Max pooling never picks the padding and keeps the
 * first maximum of a window, recording where it was for the backward pass; average
 * pooling counts the padding in the mean (count_include_pad), so every window
 * divides by k*k. The file is read once plain, then its typed part once per element
 * type (core/typed.h).
 */
#ifndef T
#include "nn.h"

#include <string.h>

/* The window of output o along an axis of n inputs: inputs [*lo, *hi) (the padding
 * clipped off). */
static void window_of(size_t o, size_t n, size_t k, size_t s, size_t pad, size_t *lo, size_t *hi)
{
    size_t start = o * s, end = start + k; /* in padded coordinates */
    *lo = start > pad ? start - pad : 0;
    *hi = end > pad ? end - pad : 0;
    if (*hi > n) *hi = n;
}

/* mask_f32, mask_f64: the unsigned integer as wide as T, whose all ones or zero pick
 * one of two values' bits in the max pooling's selects. */
typedef uint32_t mask_f32;
typedef uint64_t mask_f64;

#define DSC_TYPED_FILE "../nn/pool.c" /* relative to typed.h */
#include "../core/typed.h"
#endif

#ifdef T
/* ---- the kernels, for element type T */

/* Input i of xc replaces the maximum (*best, *bv) when larger or NaN (PyTorch's:
 * the first maximum, NaN winning), by masks rather than branches (which input wins
 * is data, unpredictable), the value's bits with its index (loading it from the
 * index would chain each comparison behind a load). */
static inline void FN(challenge)(const T *xc, size_t i, size_t *best, T *bv)
{
    T v = xc[i];
    FN(mask) vbits, bits;
    memcpy(&vbits, &v, sizeof vbits);
    memcpy(&bits, bv, sizeof bits);
    int win = (v > *bv) | (v != v);
    size_t iwin = (size_t)0 - (size_t)win;
    FN(mask) vwin = (FN(mask))0 - (FN(mask))win;
    *best = (i & iwin) | (*best & ~iwin);
    bits = (vbits & vwin) | (bits & ~vwin);
    memcpy(bv, &bits, sizeof bits);
}

/* maxpool2d(2) without padding, the usual pooling, spelled out: the general loops
 * below take 3 times as long over its windows. The shape is in locals (stores into
 * arg could change l's fields as far as the compiler knows). */
static void FN(max_2x2)(const dsc__layer *l, const T *x, T *y, size_t *arg, size_t n)
{
    const size_t w = l->iw, hw = l->ih * l->iw, oh = l->oh, ow = l->ow, oc = l->oc;
    for (size_t rc = 0; rc < n * oc; rc++) { /* row rc / oc, channel rc % oc */
        const T *xc = x + rc * hw;
        size_t first = rc % oc * hw; /* xc's offset in its row */
        for (size_t oy = 0; oy < oh; oy++)
            for (size_t ox = 0; ox < ow; ox++) {
                size_t i = 2 * oy * w + 2 * ox, best = i, o = (rc * oh + oy) * ow + ox;
                T bv = xc[i];
                FN(challenge)(xc, i + 1, &best, &bv);
                FN(challenge)(xc, i + w, &best, &bv);
                FN(challenge)(xc, i + w + 1, &best, &bv);
                y[o] = bv;
                arg[o] = first + best;
            }
    }
}

/* y = the pooled x over n rows; arg (max pooling only: NULL for average) gets the
 * index in its row of the input each output came from. */
static void FN(forward)(const dsc__layer *l, const T *x, T *y, size_t *arg, size_t n)
{
    if (arg && l->k == 2 && l->stride == 2 && !l->pad) {
        FN(max_2x2)(l, x, y, arg, n);
        return;
    }
    const T inv = (T)1 / (T)(l->k * l->k);
    size_t hw = l->ih * l->iw;
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < l->oc; c++) {
            const T *xc = x + r * l->in + c * hw;
            for (size_t oy = 0; oy < l->oh; oy++) {
                size_t y0, y1;
                window_of(oy, l->ih, l->k, l->stride, l->pad, &y0, &y1);
                for (size_t ox = 0; ox < l->ow; ox++) {
                    size_t x0, x1, o = r * l->out + (c * l->oh + oy) * l->ow + ox;
                    window_of(ox, l->iw, l->k, l->stride, l->pad, &x0, &x1);
                    if (!arg) {
                        T acc = 0;
                        for (size_t iy = y0; iy < y1; iy++)
                            for (size_t ix = x0; ix < x1; ix++) acc += xc[iy * l->iw + ix];
                        y[o] = acc * inv;
                        continue;
                    }
                    /* the first maximum, NaN winning (PyTorch's); selects, not
                     * branches: which input wins is data, unpredictable */
                    size_t best = y0 * l->iw + x0;
                    T bv = xc[best];
                    for (size_t iy = y0; iy < y1; iy++)
                        for (size_t ix = x0; ix < x1; ix++) {
                            T v = xc[iy * l->iw + ix];
                            size_t win = (size_t)0 - (size_t)((v > bv) | (v != v));
                            best = ((iy * l->iw + ix) & win) | (best & ~win);
                            bv = xc[best];
                        }
                    y[o] = bv;
                    arg[o] = c * hw + best;
                }
            }
        }
}

/* dx = the gradient of the rows' inputs from that of their outputs, d. */
static void FN(backward)(const dsc__layer *l, const T *d, T *dx, const size_t *arg, size_t n)
{
    const T inv = (T)1 / (T)(l->k * l->k);
    memset(dx, 0, n * l->in * sizeof *dx);
    for (size_t r = 0; r < n; r++) {
        T *dxr = dx + r * l->in;
        const T *dr = d + r * l->out;
        if (arg) {
            for (size_t o = 0; o < l->out; o++) dxr[arg[r * l->out + o]] += dr[o];
            continue;
        }
        for (size_t c = 0; c < l->oc; c++)
            for (size_t oy = 0; oy < l->oh; oy++) {
                size_t y0, y1;
                window_of(oy, l->ih, l->k, l->stride, l->pad, &y0, &y1);
                for (size_t ox = 0; ox < l->ow; ox++) {
                    size_t x0, x1;
                    window_of(ox, l->iw, l->k, l->stride, l->pad, &x0, &x1);
                    T g = dr[(c * l->oh + oy) * l->ow + ox] * inv;
                    T *dc = dxr + c * l->ih * l->iw;
                    for (size_t iy = y0; iy < y1; iy++)
                        for (size_t ix = x0; ix < x1; ix++) dc[iy * l->iw + ix] += g;
                }
            }
    }
}
#endif

#ifndef T
/* The rows run on the threads the convolutions around them run on, a share of
 * consecutive rows each (the rows are independent: the same bits on any number). */
static void run_rows(dsc_dtype dt, const dsc__layer *l, const void *in, void *out, size_t threads, size_t n,
                     int forward)
{
    size_t es = dsc_dtype_size(dt), nt = threads < 1 ? 1 : threads > n ? n : threads;
#pragma omp parallel for num_threads((int)nt) schedule(static) if (nt > 1)
    for (size_t k = 0; k < nt; k++) {
        size_t r0 = n * k / nt, rows = n * (k + 1) / nt - r0;
        size_t *arg = l->kind == DSC__MAXPOOL ? (size_t *)l->aux + r0 * l->out : NULL;
        const char *i = (const char *)in + r0 * (forward ? l->in : l->out) * es;
        char *o = (char *)out + r0 * (forward ? l->out : l->in) * es;
        if (forward && dt == DSC_F32) forward_f32(l, (const float *)i, (float *)o, arg, rows);
        else if (forward) forward_f64(l, (const double *)i, (double *)o, arg, rows);
        else if (dt == DSC_F32) backward_f32(l, (const float *)i, (float *)o, arg, rows);
        else backward_f64(l, (const double *)i, (double *)o, arg, rows);
    }
}

void dsc__pool_forward(dsc_dtype dt, const dsc__layer *l, const void *x, void *y, size_t threads, size_t n)
{
    run_rows(dt, l, x, y, threads, n, 1);
}

void dsc__pool_backward(dsc_dtype dt, const dsc__layer *l, const void *d, void *dx, size_t threads, size_t n)
{
    run_rows(dt, l, d, dx, threads, n, 0);
}
#endif
