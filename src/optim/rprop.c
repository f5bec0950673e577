/*
 * rprop.c: torch.optim.Rprop (resilient backpropagation), torch 1.13's rule.
 * Each element keeps its own step size and the sign of its last gradient:
 *   s = sign(g * prev);  mult = eta_plus (s > 0), eta_minus (s < 0), 1 (s = 0)
 *   step_size = clamp(step_size * mult, step_size_min, step_size_max)
 *   g = 0 where mult == eta_minus (the gradient changed sign: no move, forget it)
 *   p -= sign(g) * step_size;  prev = g
 * step_size starts at the group's lr of the first step (torch fills it when the
 * state is created), so later changes of lr (a schedule) do not reach it.
 * The file is read once plain, then its typed part once per element type.
 */
#ifndef T
#include "kernel.h"

/* Per-step scalars, set by rprop_prepare. */
struct rprop_scalars {
    double eta_minus, eta_plus;
    double step_size_min, step_size_max;
    double initial_step; /* the lr every step size starts at (first step) */
    int first;
};
_Static_assert(sizeof(struct rprop_scalars) <= sizeof(((dsc__scal *)0)->c), "rprop_scalars fits s->c");

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
        .first = s->first,
    };
    memcpy(s->c, &k, sizeof k);
}

static struct rprop_scalars rprop_scalars_of(const dsc__scal *s)
{
    struct rprop_scalars k;
    memcpy(&k, s->c, sizeof k);
    return k;
}

#define T float
#define FN(name) name##_f32
#include "rprop.c"
#undef FN
#undef T
#define T double
#define FN(name) name##_f64
#include "rprop.c"
#undef FN
#undef T

const dsc__ops dsc__ops_rprop = {
    .kind = DSC_RPROP,
    .state_names = rprop_state,
    .validate = rprop_validate,
    .prepare = rprop_prepare,
    .reference = {rprop_ref_f32, rprop_ref_f64},
    .fast = {rprop_fast_f32, rprop_fast_f64},
};
#else
/* ---- the rule, for element type T */

/* The effective gradient of element i (kernel.h's prologue: clipping, maximize, L2, L1). */
static inline T FN(rprop_grad)(const dsc__scal *s, T *p, const T *g, size_t i)
{
    DSC__GRAD(T, s, p, g, i, d);
    return d;
}

/* Every multiplier is stored in T before it is compared or applied, as torch fills its
 * sign tensor; a NaN product keeps NaN (torch's sign tensor does). */
static void FN(rprop_ref)(const dsc__scal *s, void *pv, const void *gv, void *const *st, size_t n)
{
    const struct rprop_scalars k = rprop_scalars_of(s);
    T *p = pv, *prev = st[0], *step_size = st[1];
    const T *g = gv;
    const T eta_minus = (T)k.eta_minus, eta_plus = (T)k.eta_plus;
    const T lo = (T)k.step_size_min, hi = (T)k.step_size_max;
    for (size_t i = 0; i < n; i++) {
        T d = FN(rprop_grad)(s, p, g, i);
        if (k.first) step_size[i] = (T)k.initial_step;
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

/* The same rule without branches: the selects become blends, gen (a constant in each
 * call from rprop_fast) picks the gradient prologue (kernel.h). */
static inline __attribute__((always_inline)) void FN(rprop_loop)(const dsc__scal *s, T *restrict p,
                                                                 const T *restrict g, T *restrict prev,
                                                                 T *restrict step_size, size_t n, const int gen)
{
    const struct rprop_scalars k = rprop_scalars_of(s);
    const T eta_minus = (T)k.eta_minus, eta_plus = (T)k.eta_plus;
    const T lo = (T)k.step_size_min, hi = (T)k.step_size_max, initial = (T)k.initial_step;
    const int first = k.first;
    DSC__GRAD_CONSTS(T, s);
    DSC__SIMD
    for (size_t i = 0; i < n; i++) {
        DSC__GRAD_VALUE(T, gen, p[i], g[i], d);
        T pi = gen ? p[i] * dc_ : p[i];
        T prod = d * prev[i];
        T mult = prod > 0 ? eta_plus : prod < 0 ? eta_minus : prod == 0 ? (T)1 : prod;
        T size = (first ? initial : step_size[i]) * mult;
        size = size < lo ? lo : size > hi ? hi : size;
        step_size[i] = size;
        d = mult == eta_minus ? (T)0 : d;
        p[i] = pi - DSC__SIGN(T, d) * size;
        prev[i] = d;
    }
}

DSC__CLONES static void FN(rprop_fast)(const dsc__scal *s, void *p, const void *g, void *const *st, size_t n)
{
    switch (dsc__grad_general(s)) {
    case 0: FN(rprop_loop)(s, p, g, st[0], st[1], n, 0); break;
    case 1: FN(rprop_loop)(s, p, g, st[0], st[1], n, 1); break;
    default: FN(rprop_loop)(s, p, g, st[0], st[1], n, 2); break;
    }
}
#endif
