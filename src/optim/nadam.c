/*
 * nadam.c: NAdam (Dozat 2016) as torch.optim.NAdam defines it in PyTorch 2.x.
 *   mu_t = b1 * (1 - 0.5 * 0.96^(t*momentum_decay));  prod_t = prod_{k<=t} mu_k
 *   m, v as Adam;  denom = sqrt(v / (1-b2^t)) + eps
 *   p -= lr*(1-mu_t)/(1-prod_t) * g/denom + lr*mu_{t+1}/(1-prod_t*mu_{t+1}) * m/denom
 * PyTorch 1.13 multiplied mu_t into the second product twice (fixed in 2.0); we
 * follow the corrected rule, which is also the paper's.
 */
#include "kernel.h"

static int nadam_state(const dsc_hparams *hp, const char **names)
{
    (void)hp;
    names[0] = "exp_avg";
    names[1] = "exp_avg_sq";
    return 2;
}

static double nadam_mu(const dsc_hparams *hp, double t)
{
    return hp->beta1 * (1.0 - 0.5 * pow(0.96, t * hp->momentum_decay));
}

/* c[0..3] moments, c[4] = grad coefficient, c[5] = momentum coefficient,
 * c[6] = bc2, c[7] = eps. Advances the group's mu_product once per step. */
static void nadam_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    DSC__ADAM_CONSTS(hp, s->c);
    double mu = nadam_mu(hp, (double)t), mu_next = nadam_mu(hp, (double)(t + 1));
    gs->mu_product *= mu;
    double prod_next = gs->mu_product * mu_next;
    s->c[4] = -s->lr * (1.0 - mu) / (1.0 - gs->mu_product);
    s->c[5] = -s->lr * mu_next / (1.0 - prod_next);
    s->c[6] = 1.0 - pow(hp->beta2, (double)t);
    s->c[7] = hp->eps;
}

#define NADAM_REF(T, SFX)                                                     \
    DSC__KERNEL_BEGIN(nadam_ref, T, SFX)                                      \
    T *m = (T *)st[0], *v = (T *)st[1];                                       \
    const T b1 = (T)s->c[0], omb1 = (T)s->c[1], b2 = (T)s->c[2];              \
    const T omb2 = (T)s->c[3], cg = (T)s->c[4], cm = (T)s->c[5];              \
    const T bc2 = (T)s->c[6], eps = (T)s->c[7];                               \
    for (size_t i = 0; i < n; i++) {                                          \
        DSC__GRAD(T, s, p, g, i, d);                                          \
        DSC__ADAM_MOMENTS(m, v, i, d, b1, omb1, b2, omb2);                    \
        T denom = DSC__SQRT(v[i] / bc2) + eps;                                \
        p[i] = p[i] + cg * (d / denom);                                       \
        p[i] = p[i] + cm * (m[i] / denom);                                    \
    }                                                                         \
    DSC__KERNEL_END
NADAM_REF(float, f32)
NADAM_REF(double, f64)

/* Fast variants: GEN = general gradient prologue (kernel.h). */
#define NADAM_FAST(T, SFX, OPT, GEN)                                           \
    DSC__FAST_BEGIN(nadam_fast_##OPT##GEN##_##SFX, T)                          \
    T *restrict m = (T *)st[0], *restrict v = (T *)st[1];                      \
    DSC__ADAM_FAST_CONSTS(T, s);                                               \
    const T cg = (T)s->c[4], cm = (T)s->c[5];                                  \
    const T bc2 = (T)s->c[6], eps = (T)s->c[7];                                \
    DSC__FAST_LOOP(T, GEN, d)                                                  \
        DSC__ADAM_FAST_MOMENTS(T, m, v, i, d, mi, vi);                         \
        T denom = DSC__SQRT(vi / bc2) + eps;                                   \
        T pi = p[i] + cg * (d / denom);                                        \
        p[i] = pi + cm * (mi / denom);                                         \
    }                                                                          \
    }
DSC__VARIANTS1(NADAM_FAST, float, f32)
DSC__VARIANTS1(NADAM_FAST, double, f64)
DSC__DISPATCH1(nadam_fast, f32)
DSC__DISPATCH1(nadam_fast, f64)

const dsc__ops dsc__ops_nadam = {
    .kind = DSC_NADAM,
    .state_names = nadam_state,
    .prepare = nadam_prepare,
    .reference = {nadam_ref_f32, nadam_ref_f64},
    .fast = {nadam_fast_f32, nadam_fast_f64},
};
