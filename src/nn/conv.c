/*
 * conv.c: 2-D convolution (PyTorch's conv2d: cross-correlation, NCHW, weight
 * [out, in, k, k]) through im2col: each row's patches are unfolded into a
 * (in*k*k) x (oh*ow) matrix, so that the layer is one matrix product per row and
 * runs at the BLAS's speed. The backward pass folds the patches' gradients back
 * (col2im).
 *
 * One row's products are too small for the BLAS's threads to share (32 x 196 x 400
 * for the second layer of the MNIST network: the threads would wait on each other
 * more than they work), so the layer runs the rows on its own threads, as many as
 * the BLAS has, each row's products on one. Every thread has its own patch matrix
 * (an image's stays in the core's L2 cache). The weight gradient is a sum over the
 * rows: it is summed in DSC__CONV_LANES fixed runs of rows, each run its own sum,
 * added in order at the end, so its bits do not depend on the number of threads.
 */
#include "nn.h"

#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Slots start on cache lines (16 floats, 8 doubles): a thread's writes never share
 * a line with another's. */
#define SLOT_ALIGN 16

static size_t aligned(size_t n) { return (n + SLOT_ALIGN - 1) / SLOT_ALIGN * SLOT_ALIGN; }
static size_t col_size(const dsc__layer *l) { return aligned(l->ic * l->k * l->k * l->oh * l->ow); }
static size_t grad_size(const dsc__layer *l) { return aligned(l->oc * l->ic * l->k * l->k + l->oc); }

size_t dsc__conv_scratch(const dsc__layer *l, size_t threads)
{
    return (DSC__CONV_LANES - 1) * grad_size(l) + threads * col_size(l);
}

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
    }                                                                                              \
    static void add_##SFX(T *a, const T *b, size_t len)                                           \
    {                                                                                              \
        for (size_t i = 0; i < len; i++) a[i] += b[i];                                             \
    }
PATCH_ROW(float, f32)
PATCH_ROW(double, f64)

/* The threads a pass over n rows (or lanes) runs on: the BLAS's, at most threads
 * (the scratch's slots) and n. */
static int threads_for(size_t threads, size_t n)
{
    size_t t = (size_t)dsc__blas_threads();
    if (t > threads) t = threads;
    if (t > n) t = n;
    return t > 1 ? (int)t : 1;
}

static int thread_num(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static void forward_row(dsc_dtype dt, const dsc__layer *l, const void *w, const void *b, const void *xr, void *yr,
                        void *col)
{
    size_t ckk = l->ic * l->k * l->k, hw = l->oh * l->ow;
    if (dt == DSC_F32) patches_f32(l, (float *)xr, col, 0);
    else patches_f64(l, (double *)xr, col, 0);
    dsc__gemm(dt, 0, 0, l->oc, hw, ckk, w, ckk, col, hw, 0, yr, hw);
    if (dt == DSC_F32) add_bias_f32(l, b, yr);
    else add_bias_f64(l, b, yr);
}

void dsc__conv_forward(dsc_dtype dt, const dsc__layer *l, const void *w, const void *b, const void *x, void *y,
                       void *scratch, size_t threads, size_t n)
{
    size_t es = dsc_dtype_size(dt);
    char *cols = (char *)scratch + (DSC__CONV_LANES - 1) * grad_size(l) * es;
    int nt = threads_for(threads, n), blas = nt > 1 ? dsc__blas_threads_off() : 0;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (size_t r = 0; r < n; r++)
        forward_row(dt, l, w, b, (const char *)x + r * l->in * es, (char *)y + r * l->out * es,
                    cols + (size_t)thread_num() * col_size(l) * es);
    dsc__blas_threads_on(blas);
}

/* One row's share of the gradients: its weights' and bias's added into gw and gb,
 * its input's into dxr when that is not NULL. */
static void backward_row(dsc_dtype dt, const dsc__layer *l, const void *w, const void *xr, const void *dr, void *gw,
                         void *gb, void *dxr, void *col)
{
    size_t es = dsc_dtype_size(dt), ckk = l->ic * l->k * l->k, hw = l->oh * l->ow;
    if (dt == DSC_F32) patches_f32(l, (float *)xr, col, 0);
    else patches_f64(l, (double *)xr, col, 0);
    dsc__gemm(dt, 0, 1, l->oc, ckk, hw, dr, hw, col, hw, 1, gw, ckk);
    if (dt == DSC_F32) sum_bias_f32(l, dr, gb);
    else sum_bias_f64(l, dr, gb);
    if (!dxr) return;
    dsc__gemm(dt, 1, 0, ckk, hw, l->oc, w, ckk, dr, hw, 0, col, hw);
    memset(dxr, 0, l->in * es);
    if (dt == DSC_F32) patches_f32(l, dxr, col, 1);
    else patches_f64(l, dxr, col, 1);
}

void dsc__conv_backward(dsc_dtype dt, const dsc__layer *l, const void *w, const void *x, const void *d, void *gw,
                        void *gb, void *dx, void *scratch, size_t threads, size_t n)
{
    size_t es = dsc_dtype_size(dt), nw = l->oc * l->ic * l->k * l->k;
    char *cols = (char *)scratch + (DSC__CONV_LANES - 1) * grad_size(l) * es;
    int nt = threads_for(threads, DSC__CONV_LANES), blas = nt > 1 ? dsc__blas_threads_off() : 0;
    /* lane 0 sums into gw and gb, lane j > 0 into its slot of scratch (weights, then bias) */
#pragma omp parallel for num_threads(nt) schedule(static, 1) if (nt > 1)
    for (size_t j = 0; j < DSC__CONV_LANES; j++) {
        char *lw = j ? (char *)scratch + (j - 1) * grad_size(l) * es : gw;
        char *lb = j ? lw + nw * es : gb, *col = cols + (size_t)thread_num() * col_size(l) * es;
        memset(lw, 0, nw * es);
        memset(lb, 0, l->oc * es);
        for (size_t r = n * j / DSC__CONV_LANES; r < n * (j + 1) / DSC__CONV_LANES; r++)
            backward_row(dt, l, w, (const char *)x + r * l->in * es, (const char *)d + r * l->out * es, lw, lb,
                         dx ? (char *)dx + r * l->in * es : NULL, col);
    }
    dsc__blas_threads_on(blas);
    for (size_t j = 1; j < DSC__CONV_LANES; j++) {
        const char *lw = (const char *)scratch + (j - 1) * grad_size(l) * es, *lb = lw + nw * es;
        if (dt == DSC_F32) add_f32(gw, (const float *)lw, nw), add_f32(gb, (const float *)lb, l->oc);
        else add_f64(gw, (const double *)lw, nw), add_f64(gb, (const double *)lb, l->oc);
    }
}
