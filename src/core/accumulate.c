/*
 * accumulate.c: gradient accumulation (accumulate=K): each call's gradient joins the
 * window's buffer, in the tensor's own dtype, as summing .grad across backward passes
 * does in PyTorch; the K-th call updates with the window's mean.
 *
 * The file is read once plain, then its typed part (accumulate) once for float and
 * once for double (typed.h).
 */
#ifndef T
#include "optimizer.h"

#include <string.h>

#define DSC_TYPED_FILE "accumulate.c"
#include "typed.h"
#endif

#ifdef T
static void FN(accumulate)(T *acc, const T *g, size_t n)
{
    for (size_t e = 0; e < n; e++) acc[e] = acc[e] + g[e];
}
#endif

#ifndef T
void dsc__grad_accumulate(dsc_dtype dt, void *acc, const void *g, size_t n)
{
    if (dt == DSC_F32) accumulate_f32(acc, g, n);
    else accumulate_f64(acc, g, n);
}

/* The gradient the update reads: the caller's, or the window's mean when accumulating. */
const void *dsc__accum_grad(const dsc_optim *o, size_t i)
{
    return o->tensors[i].accum ? o->tensors[i].accum : o->params[i].grad;
}

dsc_status dsc__accum_alloc(dsc_optim *o, size_t i)
{
    if (o->controls.accumulate <= 1) return DSC_OK;
    size_t bytes = o->params[i].n * dsc_dtype_size(o->params[i].dtype);
    o->tensors[i].accum = dsc__alloc(bytes);
    if (!o->tensors[i].accum)
        return dsc__fail(DSC_ERR_NOMEM, "optimizer: out of memory for the accumulation buffer of '%s'",
                         o->params[i].name);
    o->state_bytes += bytes;
    return DSC_OK;
}

void dsc__accum_reset(dsc_optim *o)
{
    for (size_t i = 0; i < o->count && o->controls.accumulate > 1; i++)
        memset(o->tensors[i].accum, 0, o->params[i].n * dsc_dtype_size(o->params[i].dtype));
    o->accum_count = 0;
    o->accum_loss = 0;
}

dsc_status dsc__accum_add(dsc_optim *o, int have_loss, double loss, int *update)
{
    int64_t K = o->controls.accumulate;
    *update = K <= 1;
    if (K <= 1) {
        o->accum_loss = loss;
        return DSC_OK;
    }
    if (o->controls.nonfinite != DSC_NONFINITE_IGNORE)
        for (size_t i = 0; i < o->count; i++)
            if (!dsc__grad_finite(o->params[i].dtype, o->params[i].grad, o->params[i].n))
                return dsc__optim_handle_nonfinite(o); /* this micro-batch is left out of the window */
    for (size_t i = 0; i < o->count; i++)
        dsc__grad_accumulate(o->params[i].dtype, o->tensors[i].accum, o->params[i].grad, o->params[i].n);
    /* A step without a loss adds none: only a loss-driven schedule reads the window's
     * mean, and it takes a loss at every step. */
    if (have_loss) o->accum_loss += loss;
    o->consecutive = 0;
    if (++o->accum_count < K) return DSC_OK;
    for (size_t i = 0; i < o->count; i++) /* the window's sum becomes its mean */
        dsc__grad_scale(o->params[i].dtype, o->tensors[i].accum, o->params[i].n, 1.0 / (double)K);
    *update = 1;
    return DSC_OK;
}

dsc_status dsc_optim_get_accum(const dsc_optim *o, int64_t *count, double *loss_sum)
{
    if (!o) return dsc__fail(DSC_ERR_ARG, "dsc_optim_get_accum: NULL optimizer");
    if (count) *count = o->accum_count;
    if (loss_sum) *loss_sum = o->controls.accumulate > 1 ? o->accum_loss : 0;
    return DSC_OK;
}

dsc_status dsc_optim_set_accum(dsc_optim *o, int64_t count, double loss_sum)
{
    if (!o) return dsc__fail(DSC_ERR_ARG, "dsc_optim_set_accum: NULL optimizer");
    int64_t K = o->controls.accumulate > 1 ? o->controls.accumulate : 1;
    if (count < 0 || count >= K)
        return dsc__fail(DSC_ERR_RANGE, "accumulation count must be in [0, %lld), got %lld", (long long)K,
                         (long long)count);
    /* Any loss sum: a NaN one is a window that was given NaN losses (nonfinite=ignore lets
     * them through, as torch does), or one from a descent before 2026-12 whose steps
     * without a loss added NaN; refusing it left such a run unresumable. */
    o->accum_count = count;
    o->accum_loss = loss_sum;
    return DSC_OK;
}
#endif
