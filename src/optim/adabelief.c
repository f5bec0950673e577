/*
 * adabelief.c: AdaBelief (Zhuang et al. 2020), the authors' adabelief-pytorch rule
 * without rectification.
 *   m = b1*m + (1-b1)*g;  s = b2*s + (1-b2)*(g-m)^2 + eps   (eps accumulates in s)
 *   amsgrad: smax = max(smax, s), used for s
 *   p -= (lr / (1-b1^t)) * m / (sqrt(s) / sqrt(1-b2^t) + eps)
 * Decay is decoupled by default (weight_decouple=True), coupled L2 on request.
 */
#include "kernel.h"

static int adabelief_state(const dsc_hparams *hp, const char **names)
{
    names[0] = "exp_avg";
    names[1] = "exp_avg_var";
    if (!hp->amsgrad) return 2;
    names[2] = "max_exp_avg_var";
    return 3;
}

/* c[0..3] moments, c[4] = -lr/bc1, c[5] = sqrt(bc2), c[6] = eps, c[7] = amsgrad */
static void adabelief_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    DSC__ADAM_CONSTS(hp, s->c);
    s->c[4] = -(s->lr / (1.0 - pow(hp->beta1, (double)t)));
    s->c[5] = sqrt(1.0 - pow(hp->beta2, (double)t));
    s->c[6] = hp->eps;
    s->c[7] = hp->amsgrad;
}

#define ADABELIEF_REF(T, SFX)                                                 \
    DSC__KERNEL_BEGIN(adabelief_ref, T, SFX)                                  \
    T *m = (T *)st[0], *sv = (T *)st[1];                                      \
    T *smax = s->c[7] != 0 ? (T *)st[2] : NULL;                               \
    const T b1 = (T)s->c[0], omb1 = (T)s->c[1], b2 = (T)s->c[2];              \
    const T omb2 = (T)s->c[3], nstep = (T)s->c[4], bc2s = (T)s->c[5];         \
    const T eps = (T)s->c[6];                                                 \
    for (size_t i = 0; i < n; i++) {                                          \
        DSC__GRAD(T, s, p, g, i, d);                                          \
        m[i] = m[i] * b1 + omb1 * d;                                          \
        T r = d - m[i];                                                       \
        sv[i] = sv[i] * b2 + omb2 * r * r;                                    \
        sv[i] = sv[i] + eps;                                                  \
        T ss = sv[i];                                                         \
        if (smax) {                                                           \
            smax[i] = smax[i] > ss ? smax[i] : ss;                            \
            ss = smax[i];                                                     \
        }                                                                     \
        T denom = DSC__SQRT(ss) / bc2s + eps;                                 \
        p[i] = p[i] + nstep * (m[i] / denom);                                 \
    }                                                                         \
    DSC__KERNEL_END
ADABELIEF_REF(float, f32)
ADABELIEF_REF(double, f64)

/* Fast variants: AMS = amsgrad, GEN = general gradient prologue (kernel.h). */
#define ADABELIEF_FAST(T, SFX, AMS, GEN)                                       \
    DSC__FAST_BEGIN(adabelief_fast_##AMS##GEN##_##SFX, T)                      \
    T *restrict m = (T *)st[0], *restrict sv = (T *)st[1];                     \
    T *restrict smax = AMS ? (T *)st[2] : NULL;                                \
    DSC__ADAM_FAST_CONSTS(T, s);                                               \
    const T nstep = (T)s->c[4], bc2s = (T)s->c[5];                             \
    const T eps = (T)s->c[6];                                                  \
    DSC__FAST_LOOP(T, GEN, d)                                                  \
        T mi = m[i] * b1 + omb1 * d;                                           \
        T r = d - mi;                                                          \
        T si = sv[i] * b2 + omb2 * r * r;                                      \
        si = si + eps;                                                         \
        m[i] = mi;                                                             \
        sv[i] = si;                                                            \
        if (AMS) {                                                             \
            si = smax[i] > si ? smax[i] : si;                                  \
            smax[i] = si;                                                      \
        }                                                                      \
        T denom = DSC__SQRT(si) / bc2s + eps;                                  \
        p[i] = p[i] + nstep * (mi / denom);                                    \
    }                                                                          \
    }
DSC__VARIANTS2(ADABELIEF_FAST, float, f32)
DSC__VARIANTS2(ADABELIEF_FAST, double, f64)
DSC__DISPATCH2(adabelief_fast, f32, s->c[7] != 0)
DSC__DISPATCH2(adabelief_fast, f64, s->c[7] != 0)

const dsc__ops dsc__ops_adabelief = {
    .kind = DSC_ADABELIEF,
    .state_names = adabelief_state,
    .prepare = adabelief_prepare,
    .reference = {adabelief_ref_f32, adabelief_ref_f64},
    .fast = {adabelief_fast_f32, adabelief_fast_f64},
};
