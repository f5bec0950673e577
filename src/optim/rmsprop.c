/*
 * rmsprop.c: torch.optim.RMSprop.
 *   v = alpha*v + (1-alpha)*g^2
 *   centered: ga = alpha*ga + (1-alpha)*g;  avg = sqrt(v - ga^2) + eps;  else avg = sqrt(v) + eps
 *   momentum: b = mu*b + g/avg;  p -= lr*b;  else p -= lr*g/avg
 * eps is outside the root (PyTorch); Keras puts it inside.
 * v - ga^2 is rounded once (an fma), as torch's addcmul(value=-1) computes it on the
 * CPU: near a constant gradient the two terms cancel, and rounding ga^2 first can
 * leave exactly 0 (the step then divides by eps alone) where the exact difference is
 * small but positive.
 * Read once plain, then its typed part once per element type (rule_types.h).
 */
#ifndef T
#include "kernel.h"

struct rmsprop_scalars {
    double alpha, one_minus_alpha, eps, momentum, neg_lr;
    int centered;
};
DSC__SCALARS_FIT(struct rmsprop_scalars);

static int rmsprop_state(const dsc_hparams *hp, const char **names)
{
    int k = 0;
    names[k++] = "square_avg";
    if (hp->momentum > 0) names[k++] = "momentum_buffer";
    if (hp->centered) names[k++] = "grad_avg";
    return k;
}

static void rmsprop_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    (void)t;
    const struct rmsprop_scalars k = {.alpha = hp->alpha, .one_minus_alpha = 1.0 - hp->alpha, .eps = hp->eps,
                                      .momentum = hp->momentum, .neg_lr = -s->lr, .centered = hp->centered};
    dsc__scalars_put(s, &k, sizeof k);
}

static struct rmsprop_scalars rmsprop_scalars_of(const dsc__scal *s)
{
    struct rmsprop_scalars k;
    dsc__scalars_get(s, &k, sizeof k);
    return k;
}
#endif

#ifdef T
/* ---- the rule, for element type T */

static void FN(rmsprop_ref)(const dsc__scal *s, void *pv, const void *gv, void *const *st, size_t n)
{
    const struct rmsprop_scalars k = rmsprop_scalars_of(s);
    const int has_mom = k.momentum > 0;
    T *p = pv, *v = st[0], *b = has_mom ? st[1] : NULL, *ga = k.centered ? st[has_mom ? 2 : 1] : NULL;
    const T *g = gv;
    const T alpha = (T)k.alpha, one_m = (T)k.one_minus_alpha, eps = (T)k.eps;
    const T mu = (T)k.momentum, nlr = (T)k.neg_lr;
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad)(s, &p[i], g[i]);
        v[i] = v[i] * alpha + one_m * d * d;
        T avg;
        if (ga) {
            ga[i] = ga[i] * alpha + one_m * d;
            avg = DSC__SQRT(DSC__FMA(-ga[i], ga[i], v[i]));
        } else {
            avg = DSC__SQRT(v[i]);
        }
        avg = avg + eps;
        if (b) {
            b[i] = b[i] * mu + d / avg;
            p[i] = p[i] + nlr * b[i];
        } else {
            p[i] = p[i] + nlr * (d / avg);
        }
    }
}

DSC__ALWAYS_INLINE void FN(rmsprop_loop)(const dsc__scal *s, T *restrict p, const T *restrict g,
                                         T *restrict v, T *restrict b, T *restrict ga, size_t n,
                                         const int mom, const int cen, const int gen)
{
    const struct rmsprop_scalars k = rmsprop_scalars_of(s);
    const struct FN(dsc__grad_consts) gc = FN(dsc__grad_consts_of)(s);
    const T alpha = (T)k.alpha, one_m = (T)k.one_minus_alpha, eps = (T)k.eps;
    const T mu = (T)k.momentum, nlr = (T)k.neg_lr;
    DSC__SIMD
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad_fast)(&gc, gen, p[i], g[i]);
        if (gen) p[i] = p[i] * gc.decay;
        T vi = v[i] * alpha + one_m * d * d;
        v[i] = vi;
        T avg;
        if (cen) {
            T gi = ga[i] * alpha + one_m * d;
            ga[i] = gi;
            avg = DSC__SQRT(DSC__FMA(-gi, gi, vi));
        } else {
            avg = DSC__SQRT(vi);
        }
        avg = avg + eps;
        if (mom) {
            T bi = b[i] * mu + d / avg;
            b[i] = bi;
            p[i] = p[i] + nlr * bi;
        } else {
            p[i] = p[i] + nlr * (d / avg);
        }
    }
}

/* A third clone with FMA (kernel.h), where the centered loops' fma is one instruction. */
DSC__CLONES_FMA static void FN(rmsprop_fast)(const dsc__scal *s, void *pv, const void *gv, void *const *st,
                                             size_t n)
{
    const struct rmsprop_scalars k = rmsprop_scalars_of(s);
    const int mom = k.momentum > 0, cen = k.centered != 0;
    T *p = pv, *v = st[0], *b = mom ? st[1] : NULL, *ga = cen ? st[mom ? 2 : 1] : NULL;
    const T *g = gv;
    switch (3 * (2 * mom + cen) + dsc__grad_prologue(s)) {
    case 0: FN(rmsprop_loop)(s, p, g, v, b, ga, n, 0, 0, 0); break;
    case 1: FN(rmsprop_loop)(s, p, g, v, b, ga, n, 0, 0, 1); break;
    case 2: FN(rmsprop_loop)(s, p, g, v, b, ga, n, 0, 0, 2); break;
    case 3: FN(rmsprop_loop)(s, p, g, v, b, ga, n, 0, 1, 0); break;
    case 4: FN(rmsprop_loop)(s, p, g, v, b, ga, n, 0, 1, 1); break;
    case 5: FN(rmsprop_loop)(s, p, g, v, b, ga, n, 0, 1, 2); break;
    case 6: FN(rmsprop_loop)(s, p, g, v, b, ga, n, 1, 0, 0); break;
    case 7: FN(rmsprop_loop)(s, p, g, v, b, ga, n, 1, 0, 1); break;
    case 8: FN(rmsprop_loop)(s, p, g, v, b, ga, n, 1, 0, 2); break;
    case 9: FN(rmsprop_loop)(s, p, g, v, b, ga, n, 1, 1, 0); break;
    case 10: FN(rmsprop_loop)(s, p, g, v, b, ga, n, 1, 1, 1); break;
    default: FN(rmsprop_loop)(s, p, g, v, b, ga, n, 1, 1, 2); break;
    }
}
#else
#define DSC_RULE_FILE "rmsprop.c"
#include "rule_types.h"

const dsc__ops dsc__ops_rmsprop = {
    .kind = DSC_RMSPROP,
    .state_names = rmsprop_state,
    .prepare = rmsprop_prepare,
    .reference = {rmsprop_ref_f32, rmsprop_ref_f64},
    .fast = {rmsprop_fast_f32, rmsprop_fast_f64},
};
#endif
