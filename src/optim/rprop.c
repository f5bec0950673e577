/*
 * rprop.c: torch.optim.Rprop (resilient backpropagation), torch 1.13's rule.
 * Each element keeps its own step size and its last gradient:
 *   mult = eta_plus, eta_minus or 1 as g*prev is > 0, < 0 or 0
 *   step_size = clamp(step_size * mult, step_size_min, step_size_max)
 *   g = 0 where mult == eta_minus (the gradient changed sign: no move, and forget it)
 *   p -= sign(g) * step_size;  prev = g
 * step_size starts at the group's lr of the first step (torch fills it when it creates
 * the state), so later changes of lr (a schedule) do not reach it.
 * Read once plain, then its typed part once per element type (rule_types.h).
 */
#ifndef T
#include "kernel.h"

struct rprop_scalars {
    double eta_minus, eta_plus;
    double step_size_min, step_size_max;
    double initial_step; /* every step size's start: the lr of the first step (s->first) */
};
DSC__SCALARS_FIT(struct rprop_scalars);

static int rprop_state(const dsc_hparams *hp, const char **names)
{
    (void)hp;
    names[0] = "prev";
    names[1] = "step_size";
    return 2;
}

static dsc_status rprop_validate(const dsc_hparams *hp)
{
    if (hp->step_size_min <= hp->step_size_max) return DSC_OK;
    return dsc__fail(DSC_ERR_RANGE, "rprop: step_sizes must be (min, max) with min <= max, got (%g, %g)",
                     hp->step_size_min, hp->step_size_max);
}

static void rprop_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    (void)t;
    const struct rprop_scalars k = {
        .eta_minus = hp->eta_minus,
        .eta_plus = hp->eta_plus,
        .step_size_min = hp->step_size_min,
        .step_size_max = hp->step_size_max,
        .initial_step = s->lr,
    };
    dsc__scalars_put(s, &k, sizeof k);
}

static struct rprop_scalars rprop_scalars_of(const dsc__scal *s)
{
    struct rprop_scalars k;
    dsc__scalars_get(s, &k, sizeof k);
    return k;
}
#endif

#ifdef T
/* ---- the rule, for element type T */

/* The multipliers are T before they are compared or applied, as torch fills its sign
 * tensor; a NaN product stays NaN there and here. */
static void FN(rprop_ref)(const dsc__scal *s, void *pv, const void *gv, void *const *st, size_t n)
{
    const struct rprop_scalars k = rprop_scalars_of(s);
    T *p = pv, *prev = st[0], *step_size = st[1];
    const T *g = gv;
    const T eta_minus = (T)k.eta_minus, eta_plus = (T)k.eta_plus;
    const T lo = (T)k.step_size_min, hi = (T)k.step_size_max;
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad)(s, &p[i], g[i]);
        if (s->first) step_size[i] = (T)k.initial_step;
        T prod = d * prev[i];
        T mult = prod > 0 ? eta_plus : prod < 0 ? eta_minus : prod == 0 ? (T)1 : prod;
        T size = step_size[i] * mult;
        size = size < lo ? lo : size > hi ? hi : size;
        step_size[i] = size;
        if (mult == eta_minus) d = 0;
        p[i] = p[i] - DSC__SIGN(T, d) * size;
        prev[i] = d;
    }
}

/* The same rule without branches (the selects become blends); first and gen are
 * constants in each call from rprop_fast. */
DSC__ALWAYS_INLINE void FN(rprop_loop)(const dsc__scal *s, T *restrict p, const T *restrict g, T *restrict prev,
                                       T *restrict step_size, size_t n, const int first, const int gen)
{
    const struct rprop_scalars k = rprop_scalars_of(s);
    const struct FN(dsc__grad_consts) gc = FN(dsc__grad_consts_of)(s);
    const T eta_minus = (T)k.eta_minus, eta_plus = (T)k.eta_plus;
    const T lo = (T)k.step_size_min, hi = (T)k.step_size_max, initial = (T)k.initial_step;
    DSC__SIMD
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad_fast)(&gc, gen, p[i], g[i]);
        if (gen) p[i] = p[i] * gc.decay;
        T prod = d * prev[i];
        T mult = prod > 0 ? eta_plus : prod < 0 ? eta_minus : prod == 0 ? (T)1 : prod;
        T size = (first ? initial : step_size[i]) * mult;
        size = size < lo ? lo : size > hi ? hi : size;
        step_size[i] = size;
        d = mult == eta_minus ? (T)0 : d;
        p[i] = p[i] - DSC__SIGN(T, d) * size;
        prev[i] = d;
    }
}

DSC__CLONES static void FN(rprop_fast)(const dsc__scal *s, void *p, const void *g, void *const *st, size_t n)
{
    switch (dsc__variant(s->first, s)) {
    case 0: FN(rprop_loop)(s, p, g, st[0], st[1], n, 0, 0); break;
    case 1: FN(rprop_loop)(s, p, g, st[0], st[1], n, 0, 1); break;
    case 2: FN(rprop_loop)(s, p, g, st[0], st[1], n, 0, 2); break;
    case 3: FN(rprop_loop)(s, p, g, st[0], st[1], n, 1, 0); break;
    case 4: FN(rprop_loop)(s, p, g, st[0], st[1], n, 1, 1); break;
    default: FN(rprop_loop)(s, p, g, st[0], st[1], n, 1, 2); break;
    }
}
#else
#define DSC_RULE_FILE "rprop.c"
#include "rule_types.h"

const dsc__ops dsc__ops_rprop = {
    .kind = DSC_RPROP,
    .state_names = rprop_state,
    .validate = rprop_validate,
    .prepare = rprop_prepare,
    .reference = {rprop_ref_f32, rprop_ref_f64},
    .fast = {rprop_fast_f32, rprop_fast_f64},
};
#endif
