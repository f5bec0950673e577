/*
 * pool.c: max and average pooling over k x k windows (PyTorch's max_pool2d and
 * avg_pool2d without ceil mode). Max pooling never picks the padding and keeps the
 * first maximum of a window, recording where it was for the backward pass; average
 * pooling counts the padding in the mean (count_include_pad), so every window
 * divides by k*k.
 */
#include "nn.h"

#include <string.h>

#define POOL_KERNELS(T, SFX)                                                                        \
    static void forward_##SFX(const dsc__layer *l, const T *x, T *y, size_t *arg, size_t n)         \
    {                                                                                               \
        const T inv = (T)1 / (T)(l->k * l->k);                                                      \
        for (size_t r = 0; r < n; r++)                                                              \
            for (size_t c = 0; c < l->oc; c++) {                                                    \
                const T *xc = x + r * l->in + c * l->ih * l->iw;                                    \
                size_t base = c * l->ih * l->iw;                                                    \
                for (size_t oy = 0; oy < l->oh; oy++)                                               \
                    for (size_t ox = 0; ox < l->ow; ox++) {                                         \
                        size_t o = r * l->out + (c * l->oh + oy) * l->ow + ox, best = SIZE_MAX;     \
                        T acc = 0;                                                                  \
                        for (size_t ki = 0; ki < l->k; ki++) {                                      \
                            size_t iy = oy * l->stride + ki;                                        \
                            if (iy < l->pad || iy - l->pad >= l->ih) continue;                      \
                            for (size_t kj = 0; kj < l->k; kj++) {                                  \
                                size_t ix = ox * l->stride + kj;                                    \
                                if (ix < l->pad || ix - l->pad >= l->iw) continue;                  \
                                size_t at = (iy - l->pad) * l->iw + ix - l->pad;                    \
                                if (!arg) acc += xc[at];                                            \
                                else if (best == SIZE_MAX || xc[at] > xc[best] || xc[at] != xc[at]) \
                                    best = at;                                                      \
                            }                                                                       \
                        }                                                                           \
                        if (arg) {                                                                  \
                            y[o] = xc[best];                                                        \
                            arg[o] = base + best;                                                   \
                        } else {                                                                    \
                            y[o] = acc * inv;                                                       \
                        }                                                                           \
                    }                                                                               \
            }                                                                                       \
    }                                                                                               \
    static void backward_##SFX(const dsc__layer *l, const T *d, T *dx, const size_t *arg, size_t n) \
    {                                                                                               \
        const T inv = (T)1 / (T)(l->k * l->k);                                                      \
        memset(dx, 0, n * l->in * sizeof *dx);                                                      \
        for (size_t r = 0; r < n; r++) {                                                            \
            T *dxr = dx + r * l->in;                                                                \
            const T *dr = d + r * l->out;                                                           \
            if (arg) {                                                                              \
                for (size_t o = 0; o < l->out; o++) dxr[arg[r * l->out + o]] += dr[o];              \
                continue;                                                                           \
            }                                                                                       \
            for (size_t c = 0; c < l->oc; c++)                                                      \
                for (size_t oy = 0; oy < l->oh; oy++)                                               \
                    for (size_t ox = 0; ox < l->ow; ox++) {                                         \
                        T g = dr[(c * l->oh + oy) * l->ow + ox] * inv;                              \
                        for (size_t ki = 0; ki < l->k; ki++) {                                      \
                            size_t iy = oy * l->stride + ki;                                        \
                            if (iy < l->pad || iy - l->pad >= l->ih) continue;                      \
                            T *row = dxr + (c * l->ih + iy - l->pad) * l->iw;                       \
                            for (size_t kj = 0; kj < l->k; kj++) {                                  \
                                size_t ix = ox * l->stride + kj;                                    \
                                if (ix >= l->pad && ix - l->pad < l->iw) row[ix - l->pad] += g;     \
                            }                                                                       \
                        }                                                                           \
                    }                                                                               \
        }                                                                                           \
    }
POOL_KERNELS(float, f32)
POOL_KERNELS(double, f64)

void dsc__pool_forward(dsc_dtype dt, const dsc__layer *l, const void *x, void *y, size_t n)
{
    size_t *arg = l->kind == DSC__MAXPOOL ? l->aux : NULL;
    if (dt == DSC_F32) forward_f32(l, x, y, arg, n);
    else forward_f64(l, x, y, arg, n);
}

void dsc__pool_backward(dsc_dtype dt, const dsc__layer *l, const void *d, void *dx, size_t n)
{
    const size_t *arg = l->kind == DSC__MAXPOOL ? l->aux : NULL;
    if (dt == DSC_F32) backward_f32(l, d, dx, arg, n);
    else backward_f64(l, d, dx, arg, n);
}
