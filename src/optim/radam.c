/*
 * radam.c: RAdam (Liu et al. 2019), torch.optim.RAdam.
 *   m, v as Adam;  rho_inf = 2/(1-b2) - 1;  rho_t = rho_inf - 2t b2^t / (1-b2^t)
 *   rho_t > 5: p -= lr * m/(1-b1^t) * r_t * sqrt(1-b2^t) / (sqrt(v) + eps)
 *   else:      p -= lr * m/(1-b1^t)
 * with r_t = sqrt((rho_t-4)(rho_t-2) rho_inf / ((rho_inf-4)(rho_inf-2) rho_t)).
 * PyTorch adds eps to sqrt(v), not to the bias-corrected root; so do we.
 * Read once plain, then its typed part once per element type (rule_types.h).
 */
#ifndef T
#include "kernel.h"

struct radam_scalars {
    struct dsc__moments mom;
    double bc1;      /* 1 - beta1^t */
    double sqrt_bc2; /* sqrt(1 - beta2^t) */
    double rect;     /* r_t (0 when not rectified) */
    double eps, lr;
    int rectified;   /* rho_t > 5 */
};
DSC__SCALARS_FIT(struct radam_scalars);

static int radam_state(const dsc_hparams *hp, const char **names)
{
    (void)hp;
    names[0] = "exp_avg";
    names[1] = "exp_avg_sq";
    return 2;
}

static void radam_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    double bt2 = pow(hp->beta2, (double)t);
    double bc2 = 1.0 - bt2;
    double rho_inf = 2.0 / (1.0 - hp->beta2) - 1.0;
    double rho_t = rho_inf - 2.0 * (double)t * bt2 / bc2;
    const struct radam_scalars k = {
        .mom = dsc__moments_of(hp->beta1, hp->beta2),
        .bc1 = 1.0 - pow(hp->beta1, (double)t),
        .sqrt_bc2 = sqrt(bc2),
        .rect = rho_t > 5.0 ? sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                            : 0.0,
        .eps = hp->eps,
        .lr = s->lr,
        .rectified = rho_t > 5.0,
    };
    dsc__scalars_put(s, &k, sizeof k);
}

static struct radam_scalars radam_scalars_of(const dsc__scal *s)
{
    struct radam_scalars k;
    dsc__scalars_get(s, &k, sizeof k);
    return k;
}
#endif

#ifdef T
/* ---- the rule, for element type T */

static void FN(radam_ref)(const dsc__scal *s, void *pv, const void *gv, void *const *st, size_t n)
{
    const struct radam_scalars k = radam_scalars_of(s);
    T *p = pv, *m = st[0], *v = st[1];
    const T *g = gv;
    const T lr = (T)k.lr;
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad)(s, &p[i], g[i]);
        m[i] = m[i] * (T)k.mom.beta1 + (T)k.mom.one_minus_beta1 * d;
        v[i] = v[i] * (T)k.mom.beta2 + (T)k.mom.one_minus_beta2 * d * d;
        T mhat = m[i] / (T)k.bc1;
        if (k.rectified) {
            T adaptive = (T)1 / (DSC__SQRT(v[i]) + (T)k.eps) * (T)k.sqrt_bc2;
            p[i] = p[i] + (T)(-1) * (mhat * lr * adaptive * (T)k.rect);
        } else {
            p[i] = p[i] + (T)(-1) * (mhat * lr);
        }
    }
}

DSC__ALWAYS_INLINE void FN(radam_loop)(const dsc__scal *s, T *restrict p, const T *restrict g, T *restrict m,
                                       T *restrict v, size_t n, const int rectified, const int gen)
{
    const struct radam_scalars k = radam_scalars_of(s);
    const struct FN(dsc__grad_consts) gc = FN(dsc__grad_consts_of)(s);
    const T b1 = (T)k.mom.beta1, omb1 = (T)k.mom.one_minus_beta1;
    const T b2 = (T)k.mom.beta2, omb2 = (T)k.mom.one_minus_beta2;
    const T bc1 = (T)k.bc1, bc2s = (T)k.sqrt_bc2, rect = (T)k.rect, eps = (T)k.eps, lr = (T)k.lr;
    DSC__SIMD
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad_fast)(&gc, gen, p[i], g[i]);
        if (gen) p[i] = p[i] * gc.decay;
        T mi = m[i] * b1 + omb1 * d;
        T vi = v[i] * b2 + omb2 * d * d;
        m[i] = mi;
        v[i] = vi;
        T mhat = mi / bc1;
        if (rectified) {
            T adaptive = (T)1 / (DSC__SQRT(vi) + eps) * bc2s;
            p[i] = p[i] + (T)(-1) * (mhat * lr * adaptive * rect);
        } else {
            p[i] = p[i] + (T)(-1) * (mhat * lr);
        }
    }
}

DSC__CLONES static void FN(radam_fast)(const dsc__scal *s, void *p, const void *g, void *const *st, size_t n)
{
    switch (dsc__variant(radam_scalars_of(s).rectified, s)) {
    case 0: FN(radam_loop)(s, p, g, st[0], st[1], n, 0, 0); break;
    case 1: FN(radam_loop)(s, p, g, st[0], st[1], n, 0, 1); break;
    case 2: FN(radam_loop)(s, p, g, st[0], st[1], n, 0, 2); break;
    case 3: FN(radam_loop)(s, p, g, st[0], st[1], n, 1, 0); break;
    case 4: FN(radam_loop)(s, p, g, st[0], st[1], n, 1, 1); break;
    default: FN(radam_loop)(s, p, g, st[0], st[1], n, 1, 2); break;
    }
}
#else
#define DSC_RULE_FILE "radam.c"
#include "rule_types.h"

const dsc__ops dsc__ops_radam = {
    .kind = DSC_RADAM,
    .state_names = radam_state,
    .prepare = radam_prepare,
    .reference = {radam_ref_f32, radam_ref_f64},
    .fast = {radam_fast_f32, radam_fast_f64},
};
#endif
