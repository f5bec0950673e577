/*
 * conv.c: 2-D convolution (PyTorch's conv2d: cross-correlation, NCHW, weight
 * [out, in, k, k]) through im2col: each row's patches are unfolded into a
 * (in*k*k) x (oh*ow) matrix, so that the layer is one matrix product per row and
 * runs at the BLAS's speed. The backward pass folds the patches' gradients back
 * (col2im).
 */
#include "nn.h"

#include <string.h>

size_t dsc__conv_scratch(const dsc__layer *l) { return l->ic * l->k * l->k * l->oh * l->ow; }

/* The outputs o in [*lo, *hi) whose input o*s + kk - pad lies in [0, n): those of a
 * kernel offset kk that read the image rather than its padding. */
static void valid_range(size_t n, size_t out, size_t s, size_t kk, size_t pad, size_t *lo, size_t *hi)
{
    /* o*s + kk >= pad, and o*s + kk < n + pad */
    *lo = kk >= pad ? 0 : (pad - kk + s - 1) / s;
    *hi = n + pad > kk ? (n + pad - kk + s - 1) / s : 0;
    if (*hi > out) *hi = out;
    if (*lo > *hi) *lo = *hi;
}

/* One row of patches (kernel offset ki, kj of channel c): unfolded from x into o (zero
 * where it covers the padding), or, fold set, folded back from o, adding into x. */
#define PATCH_ROW(T, SFX)                                                                          \
    static void patch_row_##SFX(const dsc__layer *l, size_t c, size_t ki, size_t kj, T *x, T *row, \
                                int fold)                                                          \
    {                                                                                              \
        size_t s = l->stride, oh = l->oh, ow = l->ow, pad = l->pad, ylo, yhi, xlo, xhi;            \
        valid_range(l->ih, oh, s, ki, pad, &ylo, &yhi);                                            \
        valid_range(l->iw, ow, s, kj, pad, &xlo, &xhi);                                            \
        if (!fold) memset(row, 0, ylo * ow * sizeof *row);                                         \
        for (size_t oy = ylo; oy < yhi; oy++) {                                                    \
            T *o = row + oy * ow, *xr = x + (c * l->ih + oy * s + ki - pad) * l->iw;               \
            if (fold) {                                                                            \
                for (size_t ox = xlo; ox < xhi; ox++) xr[ox * s + kj - pad] += o[ox];              \
                continue;                                                                          \
            }                                                                                      \
            for (size_t ox = 0; ox < xlo; ox++) o[ox] = 0;                                         \
            if (s == 1 && xhi > xlo) memcpy(o + xlo, xr + (xlo + kj - pad), (xhi - xlo) * sizeof *o); \
            else for (size_t ox = xlo; ox < xhi; ox++) o[ox] = xr[ox * s + kj - pad];              \
            for (size_t ox = xhi; ox < ow; ox++) o[ox] = 0;                                        \
        }                                                                                          \
        if (!fold) memset(row + yhi * ow, 0, (oh - yhi) * ow * sizeof *row);                       \
    }                                                                                              \
    /* Every row of patches: the (ic*k*k) x (oh*ow) matrix col of x, or its fold into x     \
       (x is written only when fold) */                                                        \
    static void patches_##SFX(const dsc__layer *l, T *x, T *col, int fold)                         \
    {                                                                                              \
        for (size_t c = 0; c < l->ic; c++)                                                         \
            for (size_t ki = 0; ki < l->k; ki++)                                                   \
                for (size_t kj = 0; kj < l->k; kj++)                                               \
                    patch_row_##SFX(l, c, ki, kj, x, col + ((c * l->k + ki) * l->k + kj) * l->oh * l->ow, fold); \
    }                                                                                              \
    static void add_bias_##SFX(const dsc__layer *l, const T *b, T *y)                              \
    {                                                                                              \
        size_t hw = l->oh * l->ow;                                                                 \
        for (size_t o = 0; o < l->oc; o++)                                                         \
            for (size_t i = 0; i < hw; i++) y[o * hw + i] += b[o];                                 \
    }                                                                                              \
    static void sum_bias_##SFX(const dsc__layer *l, const T *d, T *gb)                             \
    {                                                                                              \
        size_t hw = l->oh * l->ow;                                                                 \
        for (size_t o = 0; o < l->oc; o++) {                                                       \
            T s = 0;                                                                               \
            for (size_t i = 0; i < hw; i++) s += d[o * hw + i];                                    \
            gb[o] += s;                                                                            \
        }                                                                                          \
    }
PATCH_ROW(float, f32)
PATCH_ROW(double, f64)

void dsc__conv_forward(dsc_dtype dt, const dsc__layer *l, const void *w, const void *b, const void *x, void *y,
                       void *col, size_t n)
{
    size_t es = dsc_dtype_size(dt), ckk = l->ic * l->k * l->k, hw = l->oh * l->ow;
    for (size_t r = 0; r < n; r++) {
        const char *xr = (const char *)x + r * l->in * es;
        char *yr = (char *)y + r * l->out * es;
        if (dt == DSC_F32) patches_f32(l, (float *)xr, col, 0);
        else patches_f64(l, (double *)xr, col, 0);
        dsc__gemm(dt, 0, 0, l->oc, hw, ckk, w, ckk, col, hw, 0, yr, hw);
        if (dt == DSC_F32) add_bias_f32(l, b, (float *)yr);
        else add_bias_f64(l, b, (double *)yr);
    }
}

void dsc__conv_backward(dsc_dtype dt, const dsc__layer *l, const void *w, const void *x, const void *d, void *gw,
                        void *gb, void *dx, void *col, size_t n)
{
    size_t es = dsc_dtype_size(dt), ckk = l->ic * l->k * l->k, hw = l->oh * l->ow;
    memset(gw, 0, l->oc * ckk * es);
    memset(gb, 0, l->oc * es);
    for (size_t r = 0; r < n; r++) {
        const char *xr = (const char *)x + r * l->in * es;
        const char *dr = (const char *)d + r * l->out * es;
        if (dt == DSC_F32) patches_f32(l, (float *)xr, col, 0);
        else patches_f64(l, (double *)xr, col, 0);
        dsc__gemm(dt, 0, 1, l->oc, ckk, hw, dr, hw, col, hw, 1, gw, ckk);
        if (dt == DSC_F32) sum_bias_f32(l, (const float *)dr, gb);
        else sum_bias_f64(l, (const double *)dr, gb);
        if (!dx) continue;
        char *dxr = (char *)dx + r * l->in * es;
        dsc__gemm(dt, 1, 0, ckk, hw, l->oc, w, ckk, dr, hw, 0, col, hw);
        memset(dxr, 0, l->in * es);
        if (dt == DSC_F32) patches_f32(l, (float *)dxr, col, 1);
        else patches_f64(l, (double *)dxr, col, 1);
    }
}
