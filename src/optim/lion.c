/*
 * lion.c: Lion (Chen et al. 2023), the authors' google/automl lion_pytorch.py:
 *   p *= 1 - lr*wd                       (decoupled, the default)
 *   p -= lr * sign(b1*m + (1-b1)*g)
 *   m = b2*m + (1-b2)*g
 * sign(0) is 0, as torch.sign. Defaults lr 1e-4, betas (0.9, 0.99), wd 0.
 * Read once plain, then its typed part once per element type (rule_types.h).
 */
#ifndef T
#include "kernel.h"

struct lion_scalars {
    struct dsc__moments mom;
    double lr;
};
DSC__SCALARS_FIT(struct lion_scalars);

static int lion_state(const dsc_hparams *hp, const char **names)
{
    (void)hp;
    names[0] = "exp_avg";
    return 1;
}

static void lion_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    (void)t;
    const struct lion_scalars k = {.mom = dsc__moments_of(hp->beta1, hp->beta2), .lr = s->lr};
    dsc__scalars_put(s, &k, sizeof k);
}

static struct lion_scalars lion_scalars_of(const dsc__scal *s)
{
    struct lion_scalars k;
    dsc__scalars_get(s, &k, sizeof k);
    return k;
}
#endif

#ifdef T
/* ---- the rule, for element type T */

static void FN(lion_ref)(const dsc__scal *s, void *pv, const void *gv, void *const *st, size_t n)
{
    const struct lion_scalars k = lion_scalars_of(s);
    T *p = pv, *m = st[0];
    const T *g = gv;
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad)(s, &p[i], g[i]);
        T u = m[i] * (T)k.mom.beta1 + d * (T)k.mom.one_minus_beta1;
        p[i] = p[i] + (-(T)k.lr) * DSC__SIGN(T, u);
        m[i] = m[i] * (T)k.mom.beta2 + d * (T)k.mom.one_minus_beta2;
    }
}

DSC__ALWAYS_INLINE void FN(lion_loop)(const dsc__scal *s, T *restrict p, const T *restrict g, T *restrict m,
                                      size_t n, const int gen)
{
    const struct lion_scalars k = lion_scalars_of(s);
    const struct FN(dsc__grad_consts) gc = FN(dsc__grad_consts_of)(s);
    const T b1 = (T)k.mom.beta1, omb1 = (T)k.mom.one_minus_beta1;
    const T b2 = (T)k.mom.beta2, omb2 = (T)k.mom.one_minus_beta2, lr = (T)k.lr;
    DSC__SIMD
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad_fast)(&gc, gen, p[i], g[i]);
        if (gen) p[i] = p[i] * gc.decay;
        T mi = m[i];
        T u = mi * b1 + d * omb1;
        p[i] = p[i] + (-lr) * DSC__SIGN(T, u);
        m[i] = mi * b2 + d * omb2;
    }
}

DSC__CLONES static void FN(lion_fast)(const dsc__scal *s, void *p, const void *g, void *const *st, size_t n)
{
    switch (dsc__variant(0, s)) {
    case 0: FN(lion_loop)(s, p, g, st[0], n, 0); break;
    case 1: FN(lion_loop)(s, p, g, st[0], n, 1); break;
    default: FN(lion_loop)(s, p, g, st[0], n, 2); break;
    }
}
#else
#define DSC_RULE_FILE "lion.c"
#include "rule_types.h"

const dsc__ops dsc__ops_lion = {
    .kind = DSC_LION,
    .state_names = lion_state,
    .prepare = lion_prepare,
    .reference = {lion_ref_f32, lion_ref_f64},
    .fast = {lion_fast_f32, lion_fast_f64},
};
#endif
