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
 */
#include "kernel.h"

static int lamb_state(const dsc_hparams *hp, const char **names)
{
    (void)hp;
    names[0] = "exp_avg";
    names[1] = "exp_avg_sq";
    return 2;
}

/* c[0..3] moments, c[4] = 1/(1-b1^t), c[5] = 1/(1-b2^t) (1 without correction), c[6] = eps */
static void lamb_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    DSC__ADAM_CONSTS(hp, s->c);
    s->c[4] = hp->bias_correction ? 1.0 / (1.0 - pow(hp->beta1, (double)t)) : 1.0;
    s->c[5] = hp->bias_correction ? 1.0 / (1.0 - pow(hp->beta2, (double)t)) : 1.0;
    s->c[6] = hp->eps;
}

/* The update direction from the new moments (ibc: the corrections' reciprocals). */
#define LAMB_U(mi, vi, pi) ((mi) * ibc1) / (DSC__SQRT((vi) * ibc2) + eps) + wd * (pi)

#define LAMB_REF(T, SFX)                                                       \
    DSC__KERNEL_BEGIN(lamb_ref, T, SFX)                                        \
    T *m = (T *)st[0], *v = (T *)st[1];                                        \
    const dsc__scal q = dsc__without_l2(s);                                    \
    const T b1 = (T)s->c[0], omb1 = (T)s->c[1], b2 = (T)s->c[2];               \
    const T omb2 = (T)s->c[3], ibc1 = (T)s->c[4], ibc2 = (T)s->c[5];           \
    const T eps = (T)s->c[6], wd = (T)s->wd;                                   \
    double pn = 0, un = 0;                                                     \
    for (size_t i = 0; i < n; i++) {                                           \
        DSC__GRAD(T, &q, p, g, i, d);                                          \
        DSC__ADAM_MOMENTS(m, v, i, d, b1, omb1, b2, omb2);                     \
        T u = LAMB_U(m[i], v[i], p[i]);                                        \
        pn += (double)p[i] * (double)p[i];                                     \
        un += (double)u * (double)u;                                           \
    }                                                                          \
    double ratio = pn > 0 && un > 0 ? sqrt(pn) / sqrt(un) : 1.0;               \
    const T step = (T)(-(s->lr * ratio));                                      \
    for (size_t i = 0; i < n; i++) {                                           \
        T u = LAMB_U(m[i], v[i], p[i]);                                        \
        p[i] = p[i] + step * u;                                                \
    }                                                                          \
    DSC__KERNEL_END
LAMB_REF(float, f32)
LAMB_REF(double, f64)

/* The fast path, split over threads: pass 1 (norms) updates the moments and sums |p|^2
 * and |u|^2 over a block; finish makes c[8] = -lr*ratio (c[7] = the tensor's wd);
 * pass 2 (fast) recomputes u and steps. The sums' order differs from the reference
 * loop's (blocks and lanes), so the ratio may differ from it in its last bits. */
#define LAMB_NORMS(T, SFX, OPT, GEN)                                           \
    DSC__NORMS_BEGIN(lamb_norms_##OPT##GEN##_##SFX, T)                         \
    T *restrict m = (T *)st[0], *restrict v = (T *)st[1];                      \
    DSC__ADAM_FAST_CONSTS(T, s);                                               \
    const T ibc1 = (T)s->c[4], ibc2 = (T)s->c[5], eps = (T)s->c[6];            \
    const T wd = (T)s->c[7];                                                   \
    DSC__NORMS_LOOP(T, GEN, pi, u,                                             \
                    DSC__ADAM_FAST_MOMENTS(T, m, v, i, d, mi, vi);             \
                    T u = LAMB_U(mi, vi, pi))                                  \
    }
DSC__VARIANTS1(LAMB_NORMS, float, f32)
DSC__VARIANTS1(LAMB_NORMS, double, f64)

DSC__NORMS_DISPATCH(lamb_norms, f32)
DSC__NORMS_DISPATCH(lamb_norms, f64)

static void lamb_finish(dsc__scal *s, const double *sums)
{
    double ratio = sums[0] > 0 && sums[1] > 0 ? sqrt(sums[0]) / sqrt(sums[1]) : 1.0;
    s->c[7] = s->wd;
    s->c[8] = -(s->lr * ratio);
}

#define LAMB_APPLY(T, SFX)                                                     \
    DSC__FAST_BEGIN(lamb_apply_##SFX, T)                                       \
    (void)g;                                                                   \
    const T *restrict m = (const T *)st[0], *restrict v = (const T *)st[1];    \
    const T ibc1 = (T)s->c[4], ibc2 = (T)s->c[5], eps = (T)s->c[6];            \
    const T wd = (T)s->c[7], step = (T)s->c[8];                                \
    DSC__SIMD                                                                  \
    for (size_t i = 0; i < n; i++) {                                           \
        const T pi = p[i];                                                     \
        T u = LAMB_U(m[i], v[i], pi);                                          \
        p[i] = pi + step * u;                                                  \
    }                                                                          \
    }
LAMB_APPLY(float, f32)
LAMB_APPLY(double, f64)

const dsc__ops dsc__ops_lamb = {
    .kind = DSC_LAMB,
    .state_names = lamb_state,
    .validate = dsc__check_decay_in_update,
    .prepare = lamb_prepare,
    .reference = {lamb_ref_f32, lamb_ref_f64},
    .fast = {lamb_apply_f32, lamb_apply_f64},
    .whole_tensor = 1,
    .norms = {lamb_norms_f32, lamb_norms_f64},
    .norms_finish = lamb_finish,
};
