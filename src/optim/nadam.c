/*
 * nadam.c: NAdam (Dozat 2016) as torch.optim.NAdam defines it in PyTorch 2.x.
 *   mu_t = b1 * (1 - 0.5 * 0.96^(t*momentum_decay));  prod_t = prod_{k<=t} mu_k
 *   m, v as Adam;  denom = sqrt(v / (1-b2^t)) + eps
 *   p -= lr*(1-mu_t)/(1-prod_t) * g/denom + lr*mu_{t+1}/(1-prod_t*mu_{t+1}) * m/denom
 * PyTorch 1.13 multiplied mu_t into the second product twice (fixed in 2.0); we
 * follow the corrected rule, which is also the paper's.
 * Read once plain, then its typed part once per element type (rule_types.h).
 */
#ifndef T
#include "kernel.h"

struct nadam_scalars {
    struct dsc__moments mom;
    double grad_coef;     /* -lr*(1-mu_t)/(1-prod_t) */
    double momentum_coef; /* -lr*mu_{t+1}/(1-prod_t*mu_{t+1}) */
    double bc2;           /* 1 - beta2^t */
    double eps;
};
DSC__SCALARS_FIT(struct nadam_scalars);

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

/* Advances the group's mu_product once per step. */
static void nadam_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    double mu = nadam_mu(hp, (double)t), mu_next = nadam_mu(hp, (double)(t + 1));
    gs->mu_product *= mu;
    double prod_next = gs->mu_product * mu_next;
    const struct nadam_scalars k = {
        .mom = dsc__moments_of(hp->beta1, hp->beta2),
        .grad_coef = -s->lr * (1.0 - mu) / (1.0 - gs->mu_product),
        .momentum_coef = -s->lr * mu_next / (1.0 - prod_next),
        .bc2 = 1.0 - pow(hp->beta2, (double)t),
        .eps = hp->eps,
    };
    dsc__scalars_put(s, &k, sizeof k);
}

static struct nadam_scalars nadam_scalars_of(const dsc__scal *s)
{
    struct nadam_scalars k;
    dsc__scalars_get(s, &k, sizeof k);
    return k;
}
#endif

#ifdef T
/* ---- the rule, for element type T */

static void FN(nadam_ref)(const dsc__scal *s, void *pv, const void *gv, void *const *st, size_t n)
{
    const struct nadam_scalars k = nadam_scalars_of(s);
    T *p = pv, *m = st[0], *v = st[1];
    const T *g = gv;
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad)(s, &p[i], g[i]);
        m[i] = m[i] * (T)k.mom.beta1 + (T)k.mom.one_minus_beta1 * d;
        v[i] = v[i] * (T)k.mom.beta2 + (T)k.mom.one_minus_beta2 * d * d;
        T denom = DSC__SQRT(v[i] / (T)k.bc2) + (T)k.eps;
        p[i] = p[i] + (T)k.grad_coef * (d / denom);
        p[i] = p[i] + (T)k.momentum_coef * (m[i] / denom);
    }
}

DSC__ALWAYS_INLINE void FN(nadam_loop)(const dsc__scal *s, T *restrict p, const T *restrict g, T *restrict m,
                                       T *restrict v, size_t n, const int gen)
{
    const struct nadam_scalars k = nadam_scalars_of(s);
    const struct FN(dsc__grad_consts) gc = FN(dsc__grad_consts_of)(s);
    const T b1 = (T)k.mom.beta1, omb1 = (T)k.mom.one_minus_beta1;
    const T b2 = (T)k.mom.beta2, omb2 = (T)k.mom.one_minus_beta2;
    const T cg = (T)k.grad_coef, cm = (T)k.momentum_coef, bc2 = (T)k.bc2, eps = (T)k.eps;
    DSC__SIMD
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad_fast)(&gc, gen, p[i], g[i]);
        if (gen) p[i] = p[i] * gc.decay;
        T mi = m[i] * b1 + omb1 * d;
        T vi = v[i] * b2 + omb2 * d * d;
        m[i] = mi;
        v[i] = vi;
        T denom = DSC__SQRT(vi / bc2) + eps;
        T pi = p[i] + cg * (d / denom);
        p[i] = pi + cm * (mi / denom);
    }
}

DSC__CLONES static void FN(nadam_fast)(const dsc__scal *s, void *p, const void *g, void *const *st, size_t n)
{
    switch (dsc__variant(0, s)) {
    case 0: FN(nadam_loop)(s, p, g, st[0], st[1], n, 0); break;
    case 1: FN(nadam_loop)(s, p, g, st[0], st[1], n, 1); break;
    default: FN(nadam_loop)(s, p, g, st[0], st[1], n, 2); break;
    }
}
#else
#define DSC_RULE_FILE "nadam.c"
#include "rule_types.h"

const dsc__ops dsc__ops_nadam = {
    .kind = DSC_NADAM,
    .state_names = nadam_state,
    .prepare = nadam_prepare,
    .reference = {nadam_ref_f32, nadam_ref_f64},
    .fast = {nadam_fast_f32, nadam_fast_f64},
};
#endif
