/*
 * lamb.c: LAMB (You et al. 2019, Algorithm 2), as NVIDIA apex FusedLAMB computes it
 * with use_nvlamb (the trust ratio on every tensor):
 *   m, v as Adam;  u = (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps) + wd*p
 * with the two corrections as multiplications by their reciprocals (computed once in
 * double): the divider is what bounds this rule's two passes, and this halves its load
 * (the result moves by at most an ulp of m and v's scaled values).
 *   ratio = |p| / |u|  (1 when either norm is 0);  p -= lr * ratio * u
 * norms per tensor (L2 over the whole tensor). bias_correction=false drops the
 * two corrections (cybertronai/pytorch-lamb). Two passes: moments and norms, then
 * the update, recomputing u from the new moments rather than storing it.
 * Read once plain, then its typed part once per element type (rule_types.h).
 */
#ifndef T
#include "kernel.h"

struct lamb_scalars {
    struct dsc__moments mom;
    double inv_bc1, inv_bc2; /* 1/(1-b1^t), 1/(1-b2^t) (1 without bias correction) */
    double eps;
    double wd;       /* the tensor's decay term, set by lamb_finish (fast path) */
    double neg_step; /* -lr * the tensor's trust ratio, set by lamb_finish */
};
DSC__SCALARS_FIT(struct lamb_scalars);

static int lamb_state(const dsc_hparams *hp, const char **names)
{
    (void)hp;
    names[0] = "exp_avg";
    names[1] = "exp_avg_sq";
    return 2;
}

static void lamb_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    const struct lamb_scalars k = {
        .mom = dsc__moments_of(hp->beta1, hp->beta2),
        .inv_bc1 = hp->bias_correction ? 1.0 / (1.0 - pow(hp->beta1, (double)t)) : 1.0,
        .inv_bc2 = hp->bias_correction ? 1.0 / (1.0 - pow(hp->beta2, (double)t)) : 1.0,
        .eps = hp->eps,
    };
    dsc__scalars_put(s, &k, sizeof k);
}

static struct lamb_scalars lamb_scalars_of(const dsc__scal *s)
{
    struct lamb_scalars k;
    dsc__scalars_get(s, &k, sizeof k);
    return k;
}

static double lamb_ratio(double p_sq, double u_sq)
{
    return p_sq > 0 && u_sq > 0 ? sqrt(p_sq) / sqrt(u_sq) : 1.0;
}

/* The fast path's two sums of a tensor into its step (the sums' order differs from
 * the reference loop's, blocks and lanes, so the ratio may differ in its last bits). */
static void lamb_finish(dsc__scal *s, const double *sums)
{
    struct lamb_scalars k = lamb_scalars_of(s);
    k.wd = s->wd;
    k.neg_step = -(s->lr * lamb_ratio(sums[0], sums[1]));
    dsc__scalars_put(s, &k, sizeof k);
}
#endif

#ifdef T
/* ---- the rule, for element type T. The decay is a term of the update (wd*p), so
 * the gradient prologue runs without the L2 term (dsc__without_l2). */

/* The update direction from the new moments. */
static inline T FN(lamb_u)(T m, T v, T p, T ibc1, T ibc2, T eps, T wd)
{
    return (m * ibc1) / (DSC__SQRT(v * ibc2) + eps) + wd * p;
}

static void FN(lamb_ref)(const dsc__scal *s, void *pv, const void *gv, void *const *st, size_t n)
{
    const struct lamb_scalars k = lamb_scalars_of(s);
    const dsc__scal q = dsc__without_l2(s);
    T *p = pv, *m = st[0], *v = st[1];
    const T *g = gv;
    const T ibc1 = (T)k.inv_bc1, ibc2 = (T)k.inv_bc2, eps = (T)k.eps, wd = (T)s->wd;
    double pn = 0, un = 0;
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad)(&q, &p[i], g[i]);
        m[i] = m[i] * (T)k.mom.beta1 + (T)k.mom.one_minus_beta1 * d;
        v[i] = v[i] * (T)k.mom.beta2 + (T)k.mom.one_minus_beta2 * d * d;
        T u = FN(lamb_u)(m[i], v[i], p[i], ibc1, ibc2, eps, wd);
        pn += (double)p[i] * (double)p[i];
        un += (double)u * (double)u;
    }
    const T step = (T)(-(s->lr * lamb_ratio(pn, un)));
    for (size_t i = 0; i < n; i++) {
        T u = FN(lamb_u)(m[i], v[i], p[i], ibc1, ibc2, eps, wd);
        p[i] = p[i] + step * u;
    }
}

/* Pass 1 over a block: the moments, and |p|^2 and |u|^2 into sums[0..1] (q: the
 * scalars without L2; wd: the tensor's decay term). */
DSC__ALWAYS_INLINE void FN(lamb_norms_loop)(const dsc__scal *q, const T *restrict p, const T *restrict g,
                                            T *restrict m, T *restrict v, size_t n, double *sums, T wd,
                                            const int gen)
{
    const struct lamb_scalars k = lamb_scalars_of(q);
    const struct FN(dsc__grad_consts) gc = FN(dsc__grad_consts_of)(q);
    const T b1 = (T)k.mom.beta1, omb1 = (T)k.mom.one_minus_beta1;
    const T b2 = (T)k.mom.beta2, omb2 = (T)k.mom.one_minus_beta2;
    const T ibc1 = (T)k.inv_bc1, ibc2 = (T)k.inv_bc2, eps = (T)k.eps;
    double sp = 0, su = 0;
    DSC__SIMD_SUM2(sp, su)
    for (size_t i = 0; i < n; i++) {
        const T pi = p[i];
        T d = FN(dsc__grad_fast)(&gc, gen, pi, g[i]);
        T mi = m[i] * b1 + omb1 * d;
        T vi = v[i] * b2 + omb2 * d * d;
        m[i] = mi;
        v[i] = vi;
        T u = FN(lamb_u)(mi, vi, pi, ibc1, ibc2, eps, wd);
        sp += (double)pi * (double)pi;
        su += (double)u * (double)u;
    }
    sums[0] += sp;
    sums[1] += su;
}

DSC__CLONES static void FN(lamb_norms)(const dsc__scal *s, void *p, const void *g, void *const *st, size_t n,
                                       double *sums)
{
    const dsc__scal q = dsc__without_l2(s);
    const T wd = (T)s->wd;
    switch (dsc__variant(0, &q)) {
    case 0: FN(lamb_norms_loop)(&q, p, g, st[0], st[1], n, sums, wd, 0); break;
    case 1: FN(lamb_norms_loop)(&q, p, g, st[0], st[1], n, sums, wd, 1); break;
    default: FN(lamb_norms_loop)(&q, p, g, st[0], st[1], n, sums, wd, 2); break;
    }
}

/* Pass 2: u again from the new moments, and the step with the tensor's ratio. */
DSC__CLONES static void FN(lamb_fast)(const dsc__scal *s, void *pv, const void *gv, void *const *st, size_t n)
{
    (void)gv;
    const struct lamb_scalars k = lamb_scalars_of(s);
    T *restrict p = pv;
    const T *restrict m = st[0], *restrict v = st[1];
    const T ibc1 = (T)k.inv_bc1, ibc2 = (T)k.inv_bc2, eps = (T)k.eps, wd = (T)k.wd, step = (T)k.neg_step;
    DSC__SIMD
    for (size_t i = 0; i < n; i++) {
        const T pi = p[i];
        T u = FN(lamb_u)(m[i], v[i], pi, ibc1, ibc2, eps, wd);
        p[i] = pi + step * u;
    }
}
#else
#define DSC_RULE_FILE "lamb.c"
#include "rule_types.h"

const dsc__ops dsc__ops_lamb = {
    .kind = DSC_LAMB,
    .state_names = lamb_state,
    .validate = dsc__check_decay_in_update,
    .prepare = lamb_prepare,
    .reference = {lamb_ref_f32, lamb_ref_f64},
    .fast = {lamb_fast_f32, lamb_fast_f64},
    .whole_tensor = 1,
    .norms = {lamb_norms_f32, lamb_norms_f64},
    .norms_finish = lamb_finish,
};
#endif
