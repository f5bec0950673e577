/*
 * adadelta.c: torch.optim.Adadelta (Zeiler 2012, with PyTorch's lr).
 *   v = rho*v + (1-rho)*g^2;  delta = sqrt(u + eps) / sqrt(v + eps) * g
 *   u = rho*u + (1-rho)*delta^2;  p -= lr*delta
 * Read once plain, then its typed part once per element type (rule_types.h).
 */
#ifndef T
#include "kernel.h"

struct adadelta_scalars {
    double rho, one_minus_rho, eps, neg_lr;
};
DSC__SCALARS_FIT(struct adadelta_scalars);

static int adadelta_state(const dsc_hparams *hp, const char **names)
{
    (void)hp;
    names[0] = "square_avg";
    names[1] = "acc_delta";
    return 2;
}

static void adadelta_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    (void)t;
    const struct adadelta_scalars k = {.rho = hp->rho, .one_minus_rho = 1.0 - hp->rho, .eps = hp->eps,
                                       .neg_lr = -s->lr};
    dsc__scalars_put(s, &k, sizeof k);
}

static struct adadelta_scalars adadelta_scalars_of(const dsc__scal *s)
{
    struct adadelta_scalars k;
    dsc__scalars_get(s, &k, sizeof k);
    return k;
}
#endif

#ifdef T
/* ---- the rule, for element type T */

static void FN(adadelta_ref)(const dsc__scal *s, void *pv, const void *gv, void *const *st, size_t n)
{
    const struct adadelta_scalars k = adadelta_scalars_of(s);
    T *p = pv, *v = st[0], *u = st[1];
    const T *g = gv;
    const T rho = (T)k.rho, one_m = (T)k.one_minus_rho, eps = (T)k.eps;
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad)(s, &p[i], g[i]);
        v[i] = v[i] * rho + one_m * d * d;
        T std = DSC__SQRT(v[i] + eps);
        T delta = DSC__SQRT(u[i] + eps) / std * d;
        u[i] = u[i] * rho + one_m * delta * delta;
        p[i] = p[i] + (T)k.neg_lr * delta;
    }
}

DSC__ALWAYS_INLINE void FN(adadelta_loop)(const dsc__scal *s, T *restrict p, const T *restrict g,
                                          T *restrict v, T *restrict u, size_t n, const int gen)
{
    const struct adadelta_scalars k = adadelta_scalars_of(s);
    const struct FN(dsc__grad_consts) gc = FN(dsc__grad_consts_of)(s);
    const T rho = (T)k.rho, one_m = (T)k.one_minus_rho, eps = (T)k.eps, nlr = (T)k.neg_lr;
    DSC__SIMD
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad_fast)(&gc, gen, p[i], g[i]);
        if (gen) p[i] = p[i] * gc.decay;
        T vi = v[i] * rho + one_m * d * d;
        v[i] = vi;
        T std = DSC__SQRT(vi + eps);
        T delta = DSC__SQRT(u[i] + eps) / std * d;
        u[i] = u[i] * rho + one_m * delta * delta;
        p[i] = p[i] + nlr * delta;
    }
}

DSC__CLONES static void FN(adadelta_fast)(const dsc__scal *s, void *p, const void *g, void *const *st, size_t n)
{
    switch (dsc__variant(0, s)) {
    case 0: FN(adadelta_loop)(s, p, g, st[0], st[1], n, 0); break;
    case 1: FN(adadelta_loop)(s, p, g, st[0], st[1], n, 1); break;
    default: FN(adadelta_loop)(s, p, g, st[0], st[1], n, 2); break;
    }
}
#else
#define DSC_RULE_FILE "adadelta.c"
#include "rule_types.h"

const dsc__ops dsc__ops_adadelta = {
    .kind = DSC_ADADELTA,
    .state_names = adadelta_state,
    .prepare = adadelta_prepare,
    .reference = {adadelta_ref_f32, adadelta_ref_f64},
    .fast = {adadelta_fast_f32, adadelta_fast_f64},
};
#endif
