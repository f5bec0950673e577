/*
 * adabelief.c: AdaBelief (Zhuang et al. 2020), the authors' adabelief-pytorch rule
 * without rectification.
 *   m = b1*m + (1-b1)*g;  s = b2*s + (1-b2)*(g-m)^2 + eps   (eps accumulates in s)
 *   amsgrad: smax = max(smax, s), used for s
 *   p -= (lr / (1-b1^t)) * m / (sqrt(s) / sqrt(1-b2^t) + eps)
 * Decay is decoupled by default (weight_decouple=True), coupled L2 on request.
 * Read once plain, then its typed part once per element type (rule_types.h).
 */
#ifndef T
#include "kernel.h"

struct adabelief_scalars {
    struct dsc__moments mom;
    double neg_lr_bc1; /* -lr / (1 - beta1^t) */
    double sqrt_bc2;   /* sqrt(1 - beta2^t) */
    double eps;
    int amsgrad;
};
DSC__SCALARS_FIT(struct adabelief_scalars);

static int adabelief_state(const dsc_hparams *hp, const char **names)
{
    names[0] = "exp_avg";
    names[1] = "exp_avg_var";
    if (!hp->amsgrad) return 2;
    names[2] = "max_exp_avg_var";
    return 3;
}

static void adabelief_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    const struct adabelief_scalars k = {
        .mom = dsc__moments_of(hp->beta1, hp->beta2),
        .neg_lr_bc1 = -(s->lr / (1.0 - pow(hp->beta1, (double)t))),
        .sqrt_bc2 = sqrt(1.0 - pow(hp->beta2, (double)t)),
        .eps = hp->eps,
        .amsgrad = hp->amsgrad,
    };
    dsc__scalars_put(s, &k, sizeof k);
}

static struct adabelief_scalars adabelief_scalars_of(const dsc__scal *s)
{
    struct adabelief_scalars k;
    dsc__scalars_get(s, &k, sizeof k);
    return k;
}
#endif

#ifdef T
/* ---- the rule, for element type T */

static void FN(adabelief_ref)(const dsc__scal *s, void *pv, const void *gv, void *const *st, size_t n)
{
    const struct adabelief_scalars k = adabelief_scalars_of(s);
    T *p = pv, *m = st[0], *sv = st[1], *smax = k.amsgrad ? st[2] : NULL;
    const T *g = gv;
    const T eps = (T)k.eps;
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad)(s, &p[i], g[i]);
        m[i] = m[i] * (T)k.mom.beta1 + (T)k.mom.one_minus_beta1 * d;
        T r = d - m[i];
        sv[i] = sv[i] * (T)k.mom.beta2 + (T)k.mom.one_minus_beta2 * r * r;
        sv[i] = sv[i] + eps;
        T ss = sv[i];
        if (smax) {
            smax[i] = smax[i] > ss ? smax[i] : ss;
            ss = smax[i];
        }
        T denom = DSC__SQRT(ss) / (T)k.sqrt_bc2 + eps;
        p[i] = p[i] + (T)k.neg_lr_bc1 * (m[i] / denom);
    }
}

DSC__ALWAYS_INLINE void FN(adabelief_loop)(const dsc__scal *s, T *restrict p, const T *restrict g,
                                           T *restrict m, T *restrict sv, T *restrict smax, size_t n,
                                           const int ams, const int gen)
{
    const struct adabelief_scalars k = adabelief_scalars_of(s);
    const struct FN(dsc__grad_consts) gc = FN(dsc__grad_consts_of)(s);
    const T b1 = (T)k.mom.beta1, omb1 = (T)k.mom.one_minus_beta1;
    const T b2 = (T)k.mom.beta2, omb2 = (T)k.mom.one_minus_beta2;
    const T nstep = (T)k.neg_lr_bc1, bc2s = (T)k.sqrt_bc2, eps = (T)k.eps;
    DSC__SIMD
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad_fast)(&gc, gen, p[i], g[i]);
        if (gen) p[i] = p[i] * gc.decay;
        T mi = m[i] * b1 + omb1 * d;
        T r = d - mi;
        T si = sv[i] * b2 + omb2 * r * r;
        si = si + eps;
        m[i] = mi;
        sv[i] = si;
        if (ams) {
            si = smax[i] > si ? smax[i] : si;
            smax[i] = si;
        }
        T denom = DSC__SQRT(si) / bc2s + eps;
        p[i] = p[i] + nstep * (mi / denom);
    }
}

DSC__CLONES static void FN(adabelief_fast)(const dsc__scal *s, void *p, const void *g, void *const *st,
                                           size_t n)
{
    const int ams = adabelief_scalars_of(s).amsgrad;
    T *m = st[0], *sv = st[1], *smax = ams ? st[2] : NULL;
    switch (dsc__variant(ams, s)) {
    case 0: FN(adabelief_loop)(s, p, g, m, sv, smax, n, 0, 0); break;
    case 1: FN(adabelief_loop)(s, p, g, m, sv, smax, n, 0, 1); break;
    case 2: FN(adabelief_loop)(s, p, g, m, sv, smax, n, 0, 2); break;
    case 3: FN(adabelief_loop)(s, p, g, m, sv, smax, n, 1, 0); break;
    case 4: FN(adabelief_loop)(s, p, g, m, sv, smax, n, 1, 1); break;
    default: FN(adabelief_loop)(s, p, g, m, sv, smax, n, 1, 2); break;
    }
}
#else
#define DSC_RULE_FILE "adabelief.c"
#include "rule_types.h"

const dsc__ops dsc__ops_adabelief = {
    .kind = DSC_ADABELIEF,
    .state_names = adabelief_state,
    .prepare = adabelief_prepare,
    .reference = {adabelief_ref_f32, adabelief_ref_f64},
    .fast = {adabelief_fast_f32, adabelief_fast_f64},
};
#endif
