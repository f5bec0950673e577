/*
 * sparse_adam.c: torch.optim.SparseAdam, the lazy Adam of row-sparse gradients.
 * On each row the gradient names (src/core/sparse.c calls the kernel row by row):
 *   m += (g - m)*(1-b1);  v += (g^2 - v)*(1-b2)
 *   p -= (lr * sqrt(1-b2^t) / (1-b1^t)) * m / (sqrt(v) + eps)
 * Rows the gradient does not name keep their moments and parameters. t is the step
 * count, which is each tensor's own (torch's state['step']): every tensor takes part
 * in every step, one with no rows included. Dense gradients are refused, as torch's.
 * Read once plain, then its typed part once per element type (rule_types.h).
 */
#ifndef T
#include "kernel.h"

struct sparse_adam_scalars {
    double one_minus_beta1, one_minus_beta2;
    double neg_step_size; /* -lr * sqrt(1 - beta2^t) / (1 - beta1^t) */
    double eps;
};
DSC__SCALARS_FIT(struct sparse_adam_scalars);

static int sparse_adam_state(const dsc_hparams *hp, const char **names)
{
    (void)hp;
    names[0] = "exp_avg";
    names[1] = "exp_avg_sq";
    return 2;
}

static void sparse_adam_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    double bc1 = 1.0 - pow(hp->beta1, (double)t), bc2 = 1.0 - pow(hp->beta2, (double)t);
    const struct sparse_adam_scalars k = {
        .one_minus_beta1 = 1.0 - hp->beta1,
        .one_minus_beta2 = 1.0 - hp->beta2,
        .neg_step_size = -(s->lr * sqrt(bc2) / bc1),
        .eps = hp->eps,
    };
    dsc__scalars_put(s, &k, sizeof k);
}

/* torch refuses eps 0 (an untouched moment of 0 would divide 0 by 0). */
static dsc_status sparse_adam_validate(const dsc_hparams *hp)
{
    if (hp->eps > 0) return DSC_OK;
    return dsc__fail(DSC_ERR_RANGE, "sparse_adam: eps must be > 0, got %g", hp->eps);
}

static struct sparse_adam_scalars sparse_adam_scalars_of(const dsc__scal *s)
{
    struct sparse_adam_scalars k;
    dsc__scalars_get(s, &k, sizeof k);
    return k;
}
#endif

#ifdef T
/* ---- the rule, for element type T */

/* torch's order: the moments move by (new - old)*(1-b), and the update divides the
 * new first moment by the new second moment's root. */
static void FN(sparse_adam_ref)(const dsc__scal *s, void *pv, const void *gv, void *const *st, size_t n)
{
    const struct sparse_adam_scalars k = sparse_adam_scalars_of(s);
    T *p = pv, *m = st[0], *v = st[1];
    const T *g = gv;
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad)(s, &p[i], g[i]);
        m[i] = m[i] + (d - m[i]) * (T)k.one_minus_beta1;
        v[i] = v[i] + (d * d - v[i]) * (T)k.one_minus_beta2;
        T denom = DSC__SQRT(v[i]) + (T)k.eps;
        p[i] = p[i] + (T)k.neg_step_size * (m[i] / denom);
    }
}

DSC__ALWAYS_INLINE void FN(sparse_adam_loop)(const dsc__scal *s, T *restrict p, const T *restrict g,
                                             T *restrict m, T *restrict v, size_t n, const int gen)
{
    const struct sparse_adam_scalars k = sparse_adam_scalars_of(s);
    const struct FN(dsc__grad_consts) gc = FN(dsc__grad_consts_of)(s);
    const T omb1 = (T)k.one_minus_beta1, omb2 = (T)k.one_minus_beta2;
    const T nstep = (T)k.neg_step_size, eps = (T)k.eps;
    DSC__SIMD
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad_fast)(&gc, gen, p[i], g[i]);
        if (gen) p[i] = p[i] * gc.decay;
        T mi = m[i] + (d - m[i]) * omb1;
        T vi = v[i] + (d * d - v[i]) * omb2;
        m[i] = mi;
        v[i] = vi;
        T denom = DSC__SQRT(vi) + eps;
        p[i] = p[i] + nstep * (mi / denom);
    }
}

/* Each element alone: an AVX-512 clone too, whose square roots and divisions keep a
 * row's update within the time its rows take to arrive (kernel.h). */
DSC__CLONES_WIDE static void FN(sparse_adam_fast)(const dsc__scal *s, void *p, const void *g, void *const *st,
                                             size_t n)
{
    switch (dsc__variant(0, s)) {
    case 0: FN(sparse_adam_loop)(s, p, g, st[0], st[1], n, 0); break;
    case 1: FN(sparse_adam_loop)(s, p, g, st[0], st[1], n, 1); break;
    default: FN(sparse_adam_loop)(s, p, g, st[0], st[1], n, 2); break;
    }
}
#else
#define DSC_RULE_FILE "sparse_adam.c"
#include "rule_types.h"

const dsc__ops dsc__ops_sparse_adam = {
    .kind = DSC_SPARSE_ADAM,
    .state_names = sparse_adam_state,
    .validate = sparse_adam_validate,
    .prepare = sparse_adam_prepare,
    .reference = {sparse_adam_ref_f32, sparse_adam_ref_f64},
    .fast = {sparse_adam_fast_f32, sparse_adam_fast_f64},
    .sparse = DSC__SPARSE_ONLY,
};
#endif
