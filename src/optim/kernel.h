/*
 * kernel.h: what every update rule shares. Each rule is written once as a macro over
 * the element type T, then instantiated for float and double, so f32 arithmetic
 * stays in float (as PyTorch computes f32 tensors) and f64 in double.
 *
 * DSC__GRAD gives the effective gradient of element i: scaled (clipping), clamped,
 * negated for maximize, plus L2 and L1; and applies decoupled decay to p[i].
 * The order follows torch.optim: maximize, then weight decay.
 */
#ifndef DSC_KERNEL_H
#define DSC_KERNEL_H

#include "../core/internal.h"

#include <math.h>

#define DSC__SIGN(T, x) ((T)((x) > 0) - (T)((x) < 0))

#define DSC__GRAD(T, s, p, g, i, out)                                   \
    T out = (g)[i];                                                     \
    if ((s)->gscale != 1.0) out = out * (T)(s)->gscale;                 \
    if ((s)->clip_value > 0) {                                          \
        T cv_ = (T)(s)->clip_value;                                     \
        out = out > cv_ ? cv_ : (out < -cv_ ? -cv_ : out);              \
    }                                                                   \
    if ((s)->maximize) out = -out;                                      \
    if ((s)->wd != 0) out = out + (T)(s)->wd * (p)[i];                  \
    if ((s)->l1 != 0) out = out + (T)(s)->l1 * DSC__SIGN(T, (p)[i]);    \
    if ((s)->decay != 1.0) (p)[i] = (p)[i] * (T)(s)->decay

/* sqrt and fabs in the element's own type */
#define DSC__SQRT(x) _Generic((x), float: sqrtf, default: sqrt)(x)
#define DSC__ABS(x) _Generic((x), float: fabsf, default: fabs)(x)

/* Adam's two moments, as torch.optim computes them:
 * m = m*b1 + (1-b1)*d;  v = v*b2 + (1-b2)*d*d, with b1, omb1 = 1-b1, b2, omb2 = 1-b2. */
#define DSC__ADAM_MOMENTS(m, v, i, d, b1, omb1, b2, omb2) \
    (m)[i] = (m)[i] * (b1) + (omb1) * (d);                \
    (v)[i] = (v)[i] * (b2) + (omb2) * (d) * (d)

/* Stores the moment constants of hp into c[0..3]: b1, 1-b1, b2, 1-b2. */
#define DSC__ADAM_CONSTS(hp, c) \
    (c)[0] = (hp)->beta1;       \
    (c)[1] = 1.0 - (hp)->beta1; \
    (c)[2] = (hp)->beta2;       \
    (c)[3] = 1.0 - (hp)->beta2

/* For rules whose weight decay is a term of the update (LAMB, LARS, schedule-free):
 * the scalars without the coupled L2 term, which the rule applies itself as s->wd
 * (0 for DSC_NO_DECAY tensors). */
static inline dsc__scal dsc__without_l2(const dsc__scal *s)
{
    dsc__scal q = *s;
    q.wd = 0;
    return q;
}

/* Their validation: the decay term cannot also be decoupled. */
static inline dsc_status dsc__check_decay_in_update(const dsc_hparams *hp)
{
    if (!hp->decoupled_weight_decay) return DSC_OK;
    return dsc__fail(DSC_ERR_RANGE, "%s: weight_decay is a term of the update; decoupled_weight_decay must be false",
                     dsc_kind_name(hp->kind));
}

/* Declares a kernel for type T: p, g and the state buffers as T pointers. */
#define DSC__KERNEL_BEGIN(name, T, SFX)                                                     \
    static void name##_##SFX(const dsc__scal *s, void *pv, const void *gv, void *const *st, \
                             size_t n)                                                      \
    {                                                                                       \
        T *p = (T *)pv;                                                                     \
        const T *g = (const T *)gv;                                                         \
        (void)st;

#define DSC__KERNEL_END }

#endif
