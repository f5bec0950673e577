/*
 * lookahead.c: Lookahead (Zhang et al. 2019, michaelrzhang/lookahead) around any
 * kind. The inner rule takes k fast steps; then the slow weights move alpha of the
 * way towards the fast ones and the fast weights restart from there:
 *   slow += alpha (p - slow);  p = slow
 * The slow weights are the tensor's last state buffer, so checkpoints carry them,
 * and the fast-step count is the optimizer's step count modulo k (nothing else to
 * save). They start as the parameters at the first step, not at create, so callers
 * may initialise their parameters after creating the optimizer.
 *
 * The file is read once plain, then its typed part (sync) once for float and once for
 * double (typed.h).
 */
#ifndef T
#include "internal.h"

#include <string.h>

void dsc__lookahead_start(const dsc_param *p, void *slow)
{
    memcpy(slow, p->data, p->n * dsc_dtype_size(p->dtype));
}

#define DSC_TYPED_FILE "lookahead.c"
#include "typed.h"
#endif

#ifdef T
static void FN(sync)(T *restrict p, T *restrict slow, size_t n, T alpha)
{
    DSC__SIMD
    for (size_t i = 0; i < n; i++) {
        slow[i] = slow[i] + alpha * (p[i] - slow[i]);
        p[i] = slow[i];
    }
}
#endif

#ifndef T
void dsc__lookahead_sync(dsc_dtype dt, void *p, void *slow, size_t n, double alpha)
{
    if (dt == DSC_F32) sync_f32(p, slow, n, (float)alpha);
    else sync_f64(p, slow, n, alpha);
}
#endif
