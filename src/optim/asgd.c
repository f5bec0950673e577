/*
 * asgd.c: torch.optim.ASGD (averaged stochastic gradient descent), torch 1.13's
 * single-tensor rule:
 *   p *= 1 - lambd*eta;  p -= eta*g
 *   ax = (mu != 1) ? ax + (p - ax)*mu : p
 *   then, for the next step: eta = lr / (1 + lambd*lr*t)^alpha,  mu = 1 / max(1, t - t0)
 * eta starts at lr and mu at 1. eta and mu are the same for every tensor of a group, so
 * they are group scalars ("eta", "mu"), saved with checkpoints; ax, the average to
 * evaluate at, is the state buffer "ax".
 * torch 1.13 keeps eta and mu as 0-dim tensors of the default dtype (float32 unless
 * changed), so they are rounded to float there; descent keeps doubles (the same as torch
 * with float64 as default dtype; under 1e-7 relative otherwise). torch 2.x has the same
 * rule (its eta and mu are tensors on the parameter's device).
 * The file is read once plain, then its typed part once per element type.
 */
#ifndef T
#include "kernel.h"

/* Per-step scalars, set by asgd_prepare. */
struct asgd_scalars {
    double decay;   /* 1 - lambd*eta */
    double neg_eta; /* -eta */
    double mu;
    int average;    /* mu != 1: ax moves toward p (else ax = p), as torch tests */
};
_Static_assert(sizeof(struct asgd_scalars) <= sizeof(((dsc__scal *)0)->c), "asgd_scalars fits s->c");

static int asgd_state(const dsc_hparams *hp, const char **names)
{
    (void)hp;
    names[0] = "ax";
    return 1;
}

/* Step t's scalars from the group's eta and mu (lr and 1 at the first step, as torch
 * initialises its state), then the group's eta and mu for step t + 1. */
static void asgd_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    const double eta = t == 1 ? s->lr : gs->eta, mu = t == 1 ? 1.0 : gs->mu;
    const struct asgd_scalars k = {
        .decay = 1.0 - hp->lambd * eta,
        .neg_eta = -eta,
        .mu = mu,
        .average = mu != 1.0,
    };
    memcpy(s->c, &k, sizeof k);
    gs->eta = s->lr / pow(1.0 + hp->lambd * s->lr * (double)t, hp->alpha);
    gs->mu = 1.0 / fmax(1.0, (double)t - hp->t0);
}

static struct asgd_scalars asgd_scalars_of(const dsc__scal *s)
{
    struct asgd_scalars k;
    memcpy(&k, s->c, sizeof k);
    return k;
}

#define T float
#define FN(name) name##_f32
#include "asgd.c"
#undef FN
#undef T
#define T double
#define FN(name) name##_f64
#include "asgd.c"
#undef FN
#undef T

const dsc__ops dsc__ops_asgd = {
    .kind = DSC_ASGD,
    .state_names = asgd_state,
    .prepare = asgd_prepare,
    .reference = {asgd_ref_f32, asgd_ref_f64},
    .fast = {asgd_fast_f32, asgd_fast_f64},
};
#else
/* ---- the rule, for element type T */

/* The effective gradient of element i (kernel.h's prologue: clipping, maximize, L2, L1). */
static inline T FN(asgd_grad)(const dsc__scal *s, T *p, const T *g, size_t i)
{
    DSC__GRAD(T, s, p, g, i, d);
    return d;
}

static void FN(asgd_ref)(const dsc__scal *s, void *pv, const void *gv, void *const *st, size_t n)
{
    const struct asgd_scalars k = asgd_scalars_of(s);
    T *p = pv, *ax = st[0];
    const T *g = gv;
    const T decay = (T)k.decay, neg_eta = (T)k.neg_eta, mu = (T)k.mu;
    for (size_t i = 0; i < n; i++) {
        T d = FN(asgd_grad)(s, p, g, i);
        p[i] = p[i] * decay;
        p[i] = p[i] + neg_eta * d;
        ax[i] = k.average ? ax[i] + (p[i] - ax[i]) * mu : p[i];
    }
}

/* The same rule vectorised: average and gen are constants in each call from asgd_fast. */
static inline __attribute__((always_inline)) void FN(asgd_loop)(const dsc__scal *s, T *restrict p,
                                                                const T *restrict g, T *restrict ax, size_t n,
                                                                const int average, const int gen)
{
    const struct asgd_scalars k = asgd_scalars_of(s);
    const T decay = (T)k.decay, neg_eta = (T)k.neg_eta, mu = (T)k.mu;
    DSC__GRAD_CONSTS(T, s);
    DSC__SIMD
    for (size_t i = 0; i < n; i++) {
        DSC__GRAD_VALUE(T, gen, p[i], g[i], d);
        T pi = gen ? p[i] * dc_ : p[i];
        pi = pi * decay;
        pi = pi + neg_eta * d;
        p[i] = pi;
        ax[i] = average ? ax[i] + (pi - ax[i]) * mu : pi;
    }
}

DSC__CLONES static void FN(asgd_fast)(const dsc__scal *s, void *p, const void *g, void *const *st, size_t n)
{
    const int average = asgd_scalars_of(s).average;
    switch (3 * average + dsc__grad_general(s)) {
    case 0: FN(asgd_loop)(s, p, g, st[0], n, 0, 0); break;
    case 1: FN(asgd_loop)(s, p, g, st[0], n, 0, 1); break;
    case 2: FN(asgd_loop)(s, p, g, st[0], n, 0, 2); break;
    case 3: FN(asgd_loop)(s, p, g, st[0], n, 1, 0); break;
    case 4: FN(asgd_loop)(s, p, g, st[0], n, 1, 1); break;
    default: FN(asgd_loop)(s, p, g, st[0], n, 1, 2); break;
    }
}
#endif
