/*
 * adamax.c: torch.optim.Adamax (Adam with the infinity norm).
 *   m = b1*m + (1-b1)*g;  u = max(b2*u, |g| + eps);  p -= (lr / (1-b1^t)) * m / u
 * Read once plain, then its typed part once per element type (rule_types.h).
 */
#ifndef T
#include "kernel.h"

struct adamax_scalars {
    struct dsc__moments mom;
    double neg_lr_bc1; /* -lr / (1 - beta1^t) */
    double eps;
};
DSC__SCALARS_FIT(struct adamax_scalars);

static int adamax_state(const dsc_hparams *hp, const char **names)
{
    (void)hp;
    names[0] = "exp_avg";
    names[1] = "exp_inf";
    return 2;
}

static void adamax_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    const struct adamax_scalars k = {
        .mom = dsc__moments_of(hp->beta1, hp->beta2),
        .neg_lr_bc1 = -(s->lr / (1.0 - pow(hp->beta1, (double)t))),
        .eps = hp->eps,
    };
    dsc__scalars_put(s, &k, sizeof k);
}

static struct adamax_scalars adamax_scalars_of(const dsc__scal *s)
{
    struct adamax_scalars k;
    dsc__scalars_get(s, &k, sizeof k);
    return k;
}
#endif

#ifdef T
/* ---- the rule, for element type T */

static void FN(adamax_ref)(const dsc__scal *s, void *pv, const void *gv, void *const *st, size_t n)
{
    const struct adamax_scalars k = adamax_scalars_of(s);
    T *p = pv, *m = st[0], *u = st[1];
    const T *g = gv;
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad)(s, &p[i], g[i]);
        m[i] = m[i] * (T)k.mom.beta1 + (T)k.mom.one_minus_beta1 * d;
        T a = u[i] * (T)k.mom.beta2, b = DSC__ABS(d) + (T)k.eps;
        u[i] = (a > b || a != a) ? a : b; /* max that keeps a NaN, as torch's amax */
        p[i] = p[i] + (T)k.neg_lr_bc1 * (m[i] / u[i]);
    }
}

DSC__ALWAYS_INLINE void FN(adamax_loop)(const dsc__scal *s, T *restrict p, const T *restrict g, T *restrict m,
                                        T *restrict u, size_t n, const int gen)
{
    const struct adamax_scalars k = adamax_scalars_of(s);
    const struct FN(dsc__grad_consts) gc = FN(dsc__grad_consts_of)(s);
    const T b1 = (T)k.mom.beta1, omb1 = (T)k.mom.one_minus_beta1, b2 = (T)k.mom.beta2;
    const T nclr = (T)k.neg_lr_bc1, eps = (T)k.eps;
    DSC__SIMD
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad_fast)(&gc, gen, p[i], g[i]);
        if (gen) p[i] = p[i] * gc.decay;
        T mi = m[i] * b1 + omb1 * d;
        m[i] = mi;
        T a = u[i] * b2, b = DSC__ABS(d) + eps;
        T ui = (a > b || a != a) ? a : b;
        u[i] = ui;
        p[i] = p[i] + nclr * (mi / ui);
    }
}

DSC__CLONES static void FN(adamax_fast)(const dsc__scal *s, void *p, const void *g, void *const *st, size_t n)
{
    switch (dsc__variant(0, s)) {
    case 0: FN(adamax_loop)(s, p, g, st[0], st[1], n, 0); break;
    case 1: FN(adamax_loop)(s, p, g, st[0], st[1], n, 1); break;
    default: FN(adamax_loop)(s, p, g, st[0], st[1], n, 2); break;
    }
}
#else
#define DSC_RULE_FILE "adamax.c"
#include "rule_types.h"

const dsc__ops dsc__ops_adamax = {
    .kind = DSC_ADAMAX,
    .state_names = adamax_state,
    .prepare = adamax_prepare,
    .reference = {adamax_ref_f32, adamax_ref_f64},
    .fast = {adamax_fast_f32, adamax_fast_f64},
};
#endif
