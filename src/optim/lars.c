/*
 * lars.c: LARS (You et al. 2017), as torchlars and timm's Lars compute it: SGD
 * momentum on a gradient rescaled per tensor by the trust ratio
 *   ratio = eta |p| / (|g| + wd |p| + eps)   (1 when |p| or |g| is 0)
 *   d = ratio (g + wd p);  b = d at the first step, else mu b + d;  p -= lr b
 * norms per tensor (L2). Two passes: the norms, then the update.
 */
#include "kernel.h"

static int lars_state(const dsc_hparams *hp, const char **names)
{
    if (hp->momentum == 0) return 0;
    names[0] = "momentum_buffer";
    return 1;
}

/* c[0] = mu, c[1] = eta, c[2] = eps */
static void lars_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    (void)t;
    s->c[0] = hp->momentum;
    s->c[1] = hp->trust_coefficient;
    s->c[2] = hp->eps;
}

#define LARS_REF(T, SFX)                                                       \
    DSC__KERNEL_BEGIN(lars_ref, T, SFX)                                        \
    T *b = (T *)st[0];                                                         \
    const dsc__scal q = dsc__without_l2(s);                                    \
    const T mu = (T)s->c[0], wd = (T)s->wd, lr = (T)s->lr;                     \
    double pn = 0, gn = 0;                                                     \
    for (size_t i = 0; i < n; i++) {                                           \
        DSC__GRAD(T, &q, p, g, i, d);                                          \
        pn += (double)p[i] * (double)p[i];                                     \
        gn += (double)d * (double)d;                                           \
    }                                                                          \
    pn = sqrt(pn);                                                             \
    gn = sqrt(gn);                                                             \
    const T ratio = (T)(pn > 0 && gn > 0 ? s->c[1] * pn / (gn + s->wd * pn + s->c[2]) : 1.0); \
    for (size_t i = 0; i < n; i++) {                                           \
        DSC__GRAD(T, &q, p, g, i, d);                                          \
        d = (d + wd * p[i]) * ratio;                                           \
        if (mu != 0) {                                                         \
            b[i] = s->first ? d : b[i] * mu + d;                               \
            d = b[i];                                                          \
        }                                                                      \
        p[i] = p[i] + (-lr) * d;                                               \
    }                                                                          \
    DSC__KERNEL_END
LARS_REF(float, f32)
LARS_REF(double, f64)

const dsc__ops dsc__ops_lars = {
    .kind = DSC_LARS,
    .state_names = lars_state,
    .validate = dsc__check_decay_in_update,
    .prepare = lars_prepare,
    .reference = {lars_ref_f32, lars_ref_f64},
    .whole_tensor = 1,
};
