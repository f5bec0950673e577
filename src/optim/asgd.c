/*
 * asgd.c: torch.optim.ASGD (averaged stochastic gradient descent), torch 1.13's
 * single-tensor rule:
 *   p *= 1 - lambd*eta;  p -= eta*g
 *   ax = (mu != 1) ? ax + (p - ax)*mu : p
 *   then, for the next step: eta = lr / (1 + lambd*lr*t)^alpha,  mu = 1 / max(1, t - t0)
 * eta starts at lr and mu at 1. Both are the same for every tensor of a group, so they
 * are group scalars ("eta", "mu"), saved with checkpoints; ax, the average to evaluate
 * at, is the state buffer "ax".
 * torch 1.13 keeps eta and mu as 0-dim tensors of the default dtype (float32 unless
 * changed), so they are rounded to float there; descent keeps doubles (the same as
 * torch with float64 as default dtype; under 1e-7 relative otherwise). torch 2.x
 * computes the same values.
 * Read once plain, then its typed part once per element type (rule_types.h).
 */
#ifndef T
#include "kernel.h"

struct asgd_scalars {
    double decay;   /* 1 - lambd*eta */
    double neg_eta; /* -eta */
    double mu;
    int average;    /* mu != 1: ax moves toward p (else ax = p), as torch tests */
};
DSC__SCALARS_FIT(struct asgd_scalars);

static int asgd_state(const dsc_hparams *hp, const char **names)
{
    (void)hp;
    names[0] = "ax";
    return 1;
}

/* Step t's scalars from the group's eta and mu (lr and 1 at the first step, as torch
 * creates its state), then the group's eta and mu for step t + 1. */
static void asgd_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    const double eta = t == 1 ? s->lr : gs->eta, mu = t == 1 ? 1.0 : gs->mu;
    const struct asgd_scalars k = {
        .decay = 1.0 - hp->lambd * eta,
        .neg_eta = -eta,
        .mu = mu,
        .average = mu != 1.0,
    };
    dsc__scalars_put(s, &k, sizeof k);
    gs->eta = s->lr / pow(1.0 + hp->lambd * s->lr * (double)t, hp->alpha);
    gs->mu = 1.0 / fmax(1.0, (double)t - hp->t0);
}

static struct asgd_scalars asgd_scalars_of(const dsc__scal *s)
{
    struct asgd_scalars k;
    dsc__scalars_get(s, &k, sizeof k);
    return k;
}
#endif

#ifdef T
/* ---- the rule, for element type T */

static void FN(asgd_ref)(const dsc__scal *s, void *pv, const void *gv, void *const *st, size_t n)
{
    const struct asgd_scalars k = asgd_scalars_of(s);
    T *p = pv, *ax = st[0];
    const T *g = gv;
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad)(s, &p[i], g[i]);
        p[i] = p[i] * (T)k.decay;
        p[i] = p[i] + (T)k.neg_eta * d;
        if (k.average) ax[i] = ax[i] + (p[i] - ax[i]) * (T)k.mu;
        else ax[i] = p[i];
    }
}

/* The same rule vectorised: average and gen are constants in each call from asgd_fast. */
DSC__ALWAYS_INLINE void FN(asgd_loop)(const dsc__scal *s, T *restrict p, const T *restrict g, T *restrict ax,
                                      size_t n, const int average, const int gen)
{
    const struct asgd_scalars k = asgd_scalars_of(s);
    const struct FN(dsc__grad_consts) gc = FN(dsc__grad_consts_of)(s);
    const T decay = (T)k.decay, neg_eta = (T)k.neg_eta, mu = (T)k.mu;
    DSC__SIMD
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad_fast)(&gc, gen, p[i], g[i]);
        if (gen) p[i] = p[i] * gc.decay;
        T pi = p[i] * decay;
        pi = pi + neg_eta * d;
        p[i] = pi;
        ax[i] = average ? ax[i] + (pi - ax[i]) * mu : pi;
    }
}

DSC__CLONES static void FN(asgd_fast)(const dsc__scal *s, void *p, const void *g, void *const *st, size_t n)
{
    switch (dsc__variant(asgd_scalars_of(s).average, s)) {
    case 0: FN(asgd_loop)(s, p, g, st[0], n, 0, 0); break;
    case 1: FN(asgd_loop)(s, p, g, st[0], n, 0, 1); break;
    case 2: FN(asgd_loop)(s, p, g, st[0], n, 0, 2); break;
    case 3: FN(asgd_loop)(s, p, g, st[0], n, 1, 0); break;
    case 4: FN(asgd_loop)(s, p, g, st[0], n, 1, 1); break;
    default: FN(asgd_loop)(s, p, g, st[0], n, 1, 2); break;
    }
}
#else
#define DSC_RULE_FILE "asgd.c"
#include "rule_types.h"

const dsc__ops dsc__ops_asgd = {
    .kind = DSC_ASGD,
    .state_names = asgd_state,
    .prepare = asgd_prepare,
    .reference = {asgd_ref_f32, asgd_ref_f64},
    .fast = {asgd_fast_f32, asgd_fast_f64},
};
#endif
