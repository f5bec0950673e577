/*
 * dense.c: a fully connected layer through CBLAS. Weights are [out, in] row-major
 * (PyTorch's nn.Linear layout), so with rows of x in a batch:
 *   a  = x W^T + b        gemm(N, T)
 *   gW = d^T x            gemm(T, N)
 *   dx = d W              gemm(N, N)
 * The bias kernels are written once over the element type T: the file is read once
 * plain, then its typed part once per element type (core/typed.h).
 */
#ifndef T
#include "nn.h"

#include <cblas.h>
#include <string.h>

void dsc__gemm(dsc_dtype dt, int trans_a, int trans_b, size_t m, size_t n, size_t k, const void *a, size_t lda,
               const void *b, size_t ldb, double beta, void *c, size_t ldc)
{
    CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
    if (dt == DSC_F32)
        cblas_sgemm(CblasRowMajor, ta, tb, (blasint)m, (blasint)n, (blasint)k, 1.0f, a, (blasint)lda, b, (blasint)ldb,
                    (float)beta, c, (blasint)ldc);
    else
        cblas_dgemm(CblasRowMajor, ta, tb, (blasint)m, (blasint)n, (blasint)k, 1.0, a, (blasint)lda, b, (blasint)ldb,
                    beta, c, (blasint)ldc);
}

#define DSC_TYPED_FILE "../nn/dense.c" /* relative to typed.h */
#include "../core/typed.h"
#endif

#ifdef T
/* ---- the bias kernels, for element type T: a += b per row, gb = the column sums of d */

static void FN(add_bias)(T *a, const T *b, size_t n, size_t k)
{
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < k; j++) a[r * k + j] += b[j];
}

static void FN(sum_rows)(const T *d, T *gb, size_t n, size_t k)
{
    for (size_t j = 0; j < k; j++) gb[j] = 0;
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < k; j++) gb[j] += d[r * k + j];
}
#endif

#ifndef T
void dsc__dense_forward(dsc_dtype dt, const dsc__layer *l, const void *w, const void *b,
                        const void *x, void *a, size_t n)
{
    dsc__gemm(dt, 0, 1, n, l->out, l->in, x, l->in, w, l->in, 0, a, l->out);
    if (dt == DSC_F32) add_bias_f32(a, b, n, l->out);
    else add_bias_f64(a, b, n, l->out);
}

void dsc__dense_backward(dsc_dtype dt, const dsc__layer *l, const void *w, const void *x,
                         const void *d, void *gw, void *gb, void *dx, size_t n)
{
    dsc__gemm(dt, 1, 0, l->out, l->in, n, d, l->out, x, l->in, 0, gw, l->in);
    if (dt == DSC_F32) sum_rows_f32(d, gb, n, l->out);
    else sum_rows_f64(d, gb, n, l->out);
    if (dx) dsc__gemm(dt, 0, 0, n, l->in, l->out, d, l->out, w, l->in, 0, dx, l->in);
}
#endif
