/*
 * accumulate.c: adding a micro-batch's gradient into the optimizer's accumulation
 * buffer (accumulate=K), in the tensor's own dtype, as summing .grad across
 * backward passes does in PyTorch.
 */
#include "internal.h"

#define ACCUMULATE(T, SFX)                                               \
    static void accumulate_##SFX(T *acc, const T *g, size_t n)          \
    {                                                                    \
        for (size_t e = 0; e < n; e++) acc[e] = acc[e] + g[e];           \
    }
ACCUMULATE(float, f32)
ACCUMULATE(double, f64)

void dsc__grad_accumulate(dsc_dtype dt, void *acc, const void *g, size_t n)
{
    if (dt == DSC_F32) accumulate_f32(acc, g, n);
    else accumulate_f64(acc, g, n);
}
