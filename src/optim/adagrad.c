/*
 * adagrad.c: torch.optim.Adagrad.
 *   clr = lr / (1 + (t-1)*lr_decay);  sum += g*g;  p -= clr * g / (sqrt(sum) + eps)
 * sum starts at initial_accumulator_value.
 * Read once plain, then its typed part once per element type (rule_types.h).
 */
#ifndef T
#include "kernel.h"

struct adagrad_scalars {
    double neg_clr; /* -lr / (1 + (t-1)*lr_decay) */
    double eps;
};
DSC__SCALARS_FIT(struct adagrad_scalars);

static int adagrad_state(const dsc_hparams *hp, const char **names)
{
    (void)hp;
    names[0] = "sum";
    return 1;
}

static double adagrad_init(const dsc_hparams *hp, int k)
{
    (void)k;
    return hp->initial_accumulator_value;
}

static void adagrad_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    const struct adagrad_scalars k = {
        .neg_clr = -(s->lr / (1.0 + (double)(t - 1) * hp->lr_decay)),
        .eps = hp->eps,
    };
    dsc__scalars_put(s, &k, sizeof k);
}

static struct adagrad_scalars adagrad_scalars_of(const dsc__scal *s)
{
    struct adagrad_scalars k;
    dsc__scalars_get(s, &k, sizeof k);
    return k;
}
#endif

#ifdef T
/* ---- the rule, for element type T */

static void FN(adagrad_ref)(const dsc__scal *s, void *pv, const void *gv, void *const *st, size_t n)
{
    const struct adagrad_scalars k = adagrad_scalars_of(s);
    T *p = pv, *sum = st[0];
    const T *g = gv;
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad)(s, &p[i], g[i]);
        sum[i] = sum[i] + d * d;
        T std = DSC__SQRT(sum[i]) + (T)k.eps;
        p[i] = p[i] + (T)k.neg_clr * (d / std);
    }
}

DSC__ALWAYS_INLINE void FN(adagrad_loop)(const dsc__scal *s, T *restrict p, const T *restrict g,
                                         T *restrict sum, size_t n, const int gen)
{
    const struct adagrad_scalars k = adagrad_scalars_of(s);
    const struct FN(dsc__grad_consts) gc = FN(dsc__grad_consts_of)(s);
    const T nclr = (T)k.neg_clr, eps = (T)k.eps;
    DSC__SIMD
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad_fast)(&gc, gen, p[i], g[i]);
        if (gen) p[i] = p[i] * gc.decay;
        T si = sum[i] + d * d;
        sum[i] = si;
        T std = DSC__SQRT(si) + eps;
        p[i] = p[i] + nclr * (d / std);
    }
}

DSC__CLONES static void FN(adagrad_fast)(const dsc__scal *s, void *p, const void *g, void *const *st, size_t n)
{
    switch (dsc__variant(0, s)) {
    case 0: FN(adagrad_loop)(s, p, g, st[0], n, 0); break;
    case 1: FN(adagrad_loop)(s, p, g, st[0], n, 1); break;
    default: FN(adagrad_loop)(s, p, g, st[0], n, 2); break;
    }
}
#else
#define DSC_RULE_FILE "adagrad.c"
#include "rule_types.h"

const dsc__ops dsc__ops_adagrad = {
    .kind = DSC_ADAGRAD,
    .state_names = adagrad_state,
    .prepare = adagrad_prepare,
    .state_init = adagrad_init,
    .reference = {adagrad_ref_f32, adagrad_ref_f64},
    .fast = {adagrad_fast_f32, adagrad_fast_f64},
    /* torch's sparse Adagrad is this rule on the named rows (their sums and parameters) */
    .sparse = DSC__SPARSE_TAKES,
};
#endif
