/*
 * conv.c: 2-D convolution (PyTorch's conv2d: cross-correlation, NCHW, weight
 * [out, in, k, k]) through im2col: each row's patches are unfolded into a
 * (in*k*k) x (oh*ow) matrix, so that the layer is one matrix product per row and
 * runs at the BLAS's speed. The backward pass folds the patches' gradients back
 * (col2im). The first layer's input needs no gradient (dx NULL): its patches are
 * unfolded for the weights' gradient only.
 *
 * One row's products are too small for the BLAS's threads to share (32 x 196 x 400
 * for the second layer of the MNIST network: the threads would wait on each other
 * more than they work), so the layer runs the rows on its own threads, as many as
 * the caller gives it, each row's products on one BLAS thread. Every thread has its own patch matrix
 * (an image's stays in the core's L2 cache). The weight gradient is a sum over the
 * rows: it is summed in DSC__CONV_LANES fixed runs of rows, each run its own sum,
 * added in order at the end, so its bits do not depend on the number of threads.
 *
 * The file is read once plain, then its typed part (the kernels) once for float and
 * once for double (core/typed.h).
 */
#ifndef T
#include "nn.h"

#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* The scratch's parts are whole multiples of 16 values (64 bytes of floats): two
 * threads' parts never share a cache line. */
#define SLOT_ALIGN 16

static size_t aligned(size_t n) { return (n + SLOT_ALIGN - 1) / SLOT_ALIGN * SLOT_ALIGN; }
static size_t col_size(const dsc__layer *l) { return aligned(l->ic * l->k * l->k * l->oh * l->ow); }
static size_t padded_h(const dsc__layer *l) { return l->ih + 2 * l->pad; }
static size_t padded_w(const dsc__layer *l) { return l->iw + 2 * l->pad; }
/* A thread's slot: its patch matrix, then its padded row (when there is padding). */
static size_t slot_size(const dsc__layer *l)
{
    return col_size(l) + (l->pad ? aligned(l->ic * padded_h(l) * padded_w(l)) : 0);
}
static size_t grad_size(const dsc__layer *l) { return aligned(l->oc * l->ic * l->k * l->k + l->oc); }

size_t dsc__conv_scratch(const dsc__layer *l, size_t threads)
{
    return (DSC__CONV_LANES - 1) * grad_size(l) + threads * slot_size(l);
}

/* typed.h includes it again: the path is from src/core, where typed.h is */
#define DSC_TYPED_FILE "../nn/conv.c"
#include "../core/typed.h"
#endif

#ifdef T
/* The patches are read from (and folded back into) a copy of the row inside a border
 * of pad zeros, so that every row of a patch matrix is a plain copy, without the
 * test of which of its outputs fall on the padding. */

/* x's channels into p, each inside its border of zeros */
static void FN(pad)(const dsc__layer *l, const T *x, T *p)
{
    size_t ph = padded_h(l), pw = padded_w(l);
    memset(p, 0, l->ic * ph * pw * sizeof *p);
    for (size_t c = 0; c < l->ic; c++)
        for (size_t iy = 0; iy < l->ih; iy++)
            memcpy(p + (c * ph + iy + l->pad) * pw + l->pad, x + (c * l->ih + iy) * l->iw,
                   l->iw * sizeof *p);
}
/* the inside of p (a padded row) into x */
static void FN(unpad)(const dsc__layer *l, const T *p, T *x)
{
    size_t ph = padded_h(l), pw = padded_w(l);
    for (size_t c = 0; c < l->ic; c++)
        for (size_t iy = 0; iy < l->ih; iy++)
            memcpy(x + (c * l->ih + iy) * l->iw, p + (c * ph + iy + l->pad) * pw + l->pad,
                   l->iw * sizeof *p);
}
/* The (ic*k*k) x (oh*ow) patch matrix col of the padded row p (row (c, ki, kj) holds
 * input c at offset ki, kj of every window), or, fold set, its fold back into p:
 * each entry added where it was taken from, in the order of col's rows. */
static void FN(patches)(const dsc__layer *l, T *p, T *col, int fold)
{
    size_t ph = padded_h(l), pw = padded_w(l), s = l->stride, oh = l->oh, ow = l->ow, k = l->k;
    for (size_t c = 0; c < l->ic; c++)
        for (size_t ki = 0; ki < k; ki++)
            for (size_t kj = 0; kj < k; kj++)
                for (size_t oy = 0; oy < oh; oy++) {
                    T *restrict o = col + (((c * k + ki) * k + kj) * oh + oy) * ow;
                    T *restrict pr = p + (c * ph + oy * s + ki) * pw + kj;
                    if (fold && s == 1)
                        for (size_t ox = 0; ox < ow; ox++) pr[ox] += o[ox];
                    else if (fold)
                        for (size_t ox = 0; ox < ow; ox++) pr[ox * s] += o[ox];
                    else if (s == 1)
                        for (size_t ox = 0; ox < ow; ox++) o[ox] = pr[ox];
                    else
                        for (size_t ox = 0; ox < ow; ox++) o[ox] = pr[ox * s];
                }
}

static void FN(add_bias)(const dsc__layer *l, const T *b, T *y)
{
    size_t hw = l->oh * l->ow;
    for (size_t o = 0; o < l->oc; o++)
        for (size_t i = 0; i < hw; i++) y[o * hw + i] += b[o];
}

static void FN(sum_bias)(const dsc__layer *l, const T *d, T *gb)
{
    size_t hw = l->oh * l->ow;
    for (size_t o = 0; o < l->oc; o++) {
        T s = 0;
        for (size_t i = 0; i < hw; i++) s += d[o * hw + i];
        gb[o] += s;
    }
}

static void FN(add)(T *a, const T *b, size_t len)
{
    for (size_t i = 0; i < len; i++) a[i] += b[i];
}
#endif

#ifndef T
/* The threads a pass over n rows (or lanes) runs on: threads (the scratch's slots),
 * at most n. */
static int threads_for(size_t threads, size_t n)
{
    size_t t = threads < n ? threads : n;
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

/* The patch matrix of row xr into the slot's col (through its padded copy). */
static void unfold(dsc_dtype dt, const dsc__layer *l, const void *xr, void *slot)
{
    void *padded = (char *)slot + col_size(l) * dsc_dtype_size(dt);
    if (l->pad && dt == DSC_F32) pad_f32(l, xr, padded);
    if (l->pad && dt == DSC_F64) pad_f64(l, xr, padded);
    void *p = l->pad ? padded : (void *)xr; /* read only: patches writes p when it folds */
    if (dt == DSC_F32) patches_f32(l, p, slot, 0);
    else patches_f64(l, p, slot, 0);
}

/* The slot's col folded into the row dxr (through the padded copy). */
static void fold(dsc_dtype dt, const dsc__layer *l, void *slot, void *dxr)
{
    size_t es = dsc_dtype_size(dt);
    void *p = l->pad ? (char *)slot + col_size(l) * es : dxr;
    memset(p, 0, (l->pad ? l->ic * padded_h(l) * padded_w(l) : l->in) * es);
    if (dt == DSC_F32) patches_f32(l, p, slot, 1);
    else patches_f64(l, p, slot, 1);
    if (l->pad && dt == DSC_F32) unpad_f32(l, p, dxr);
    if (l->pad && dt == DSC_F64) unpad_f64(l, p, dxr);
}

static void forward_row(dsc_dtype dt, const dsc__layer *l, const void *w, const void *b, const void *xr, void *yr,
                        void *slot)
{
    size_t ckk = l->ic * l->k * l->k, hw = l->oh * l->ow;
    unfold(dt, l, xr, slot);
    dsc__gemm(dt, 0, 0, l->oc, hw, ckk, w, ckk, slot, hw, 0, yr, hw);
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
                    cols + (size_t)thread_num() * slot_size(l) * es);
    dsc__blas_threads_on(blas);
}

/* One row's share of the gradients: its weights' and bias's added into gw and gb,
 * its input's into dxr when that is not NULL. */
static void backward_row(dsc_dtype dt, const dsc__layer *l, const void *w, const void *xr, const void *dr, void *gw,
                         void *gb, void *dxr, void *slot)
{
    size_t ckk = l->ic * l->k * l->k, hw = l->oh * l->ow;
    unfold(dt, l, xr, slot);
    dsc__gemm(dt, 0, 1, l->oc, ckk, hw, dr, hw, slot, hw, 1, gw, ckk);
    if (dt == DSC_F32) sum_bias_f32(l, dr, gb);
    else sum_bias_f64(l, dr, gb);
    if (!dxr) return;
    dsc__gemm(dt, 1, 0, ckk, hw, l->oc, w, ckk, dr, hw, 0, slot, hw);
    fold(dt, l, slot, dxr);
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
        char *lb = j ? lw + nw * es : gb, *slot = cols + (size_t)thread_num() * slot_size(l) * es;
        memset(lw, 0, nw * es);
        memset(lb, 0, l->oc * es);
        for (size_t r = n * j / DSC__CONV_LANES; r < n * (j + 1) / DSC__CONV_LANES; r++)
            backward_row(dt, l, w, (const char *)x + r * l->in * es, (const char *)d + r * l->out * es, lw, lb,
                         dx ? (char *)dx + r * l->in * es : NULL, slot);
    }
    dsc__blas_threads_on(blas);
    for (size_t j = 1; j < DSC__CONV_LANES; j++) {
        const char *lw = (const char *)scratch + (j - 1) * grad_size(l) * es, *lb = lw + nw * es;
        if (dt == DSC_F32) add_f32(gw, (const float *)lw, nw), add_f32(gb, (const float *)lb, l->oc);
        else add_f64(gw, (const double *)lw, nw), add_f64(gb, (const double *)lb, l->oc);
    }
}
#endif
