/*
 * lars.c: LARS (You et al. 2017), as torchlars and timm's Lars compute it: SGD
 * momentum on a gradient rescaled per tensor by the trust ratio
 *   ratio = eta |p| / (|g| + wd |p| + eps)   (1 when |p| or |g| is 0)
 *   d = ratio (g + wd p);  b = d at the first step, else mu b + d;  p -= lr b
 * norms per tensor (L2). Two passes: the norms, then the update.
 */
#include "kernel.h"

static int lars_state(const dsc_hparams *hp, const char **names)
{
    if (hp->momentum == 0) return 0;
    names[0] = "momentum_buffer";
    return 1;
}

/* c[0] = mu, c[1] = eta, c[2] = eps */
static void lars_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    (void)t;
    s->c[0] = hp->momentum;
    s->c[1] = hp->trust_coefficient;
    s->c[2] = hp->eps;
}

#define LARS_REF(T, SFX)                                                       \
    DSC__KERNEL_BEGIN(lars_ref, T, SFX)                                        \
    T *b = (T *)st[0];                                                         \
    const dsc__scal q = dsc__without_l2(s);                                    \
    const T mu = (T)s->c[0], wd = (T)s->wd, lr = (T)s->lr;                     \
    double pn = 0, gn = 0;                                                     \
    for (size_t i = 0; i < n; i++) {                                           \
        DSC__GRAD(T, &q, p, g, i, d);                                          \
        pn += (double)p[i] * (double)p[i];                                     \
        gn += (double)d * (double)d;                                           \
    }                                                                          \
    pn = sqrt(pn);                                                             \
    gn = sqrt(gn);                                                             \
    const T ratio = (T)(pn > 0 && gn > 0 ? s->c[1] * pn / (gn + s->wd * pn + s->c[2]) : 1.0); \
    for (size_t i = 0; i < n; i++) {                                           \
        DSC__GRAD(T, &q, p, g, i, d);                                          \
        d = (d + wd * p[i]) * ratio;                                           \
        if (mu != 0) {                                                         \
            b[i] = s->first ? d : b[i] * mu + d;                               \
            d = b[i];                                                          \
        }                                                                      \
        p[i] = p[i] + (-lr) * d;                                               \
    }                                                                          \
    DSC__KERNEL_END
LARS_REF(float, f32)
LARS_REF(double, f64)

/* The fast path, split over threads: pass 1 (norms) sums |p|^2 and |d|^2 over a
 * block; finish makes c[3] = the ratio, c[4] = the tensor's wd; pass 2 (fast) steps.
 * The sums' order differs from the reference loop's (blocks and lanes), so the ratio
 * may differ from it in its last bits. */
#define LARS_NORMS(T, SFX, OPT, GEN)                                           \
    DSC__NORMS_BEGIN(lars_norms_##OPT##GEN##_##SFX, T)                         \
    DSC__NORMS_LOOP(T, GEN, pi, d, (void)0)                                    \
    }
DSC__VARIANTS1(LARS_NORMS, float, f32)
DSC__VARIANTS1(LARS_NORMS, double, f64)

DSC__NORMS_DISPATCH(lars_norms, f32)
DSC__NORMS_DISPATCH(lars_norms, f64)

static void lars_finish(dsc__scal *s, const double *sums)
{
    double pn = sqrt(sums[0]), gn = sqrt(sums[1]);
    s->c[3] = pn > 0 && gn > 0 ? s->c[1] * pn / (gn + s->wd * pn + s->c[2]) : 1.0;
    s->c[4] = s->wd;
}

/* MOM: momentum on; GEN: the gradient prologue (kernel.h). */
#define LARS_APPLY(T, SFX, MOM, GEN)                                           \
    DSC__FAST_BEGIN(lars_apply_##MOM##GEN##_##SFX, T)                          \
    T *restrict b = MOM ? (T *)st[0] : NULL;                                   \
    const T mu = (T)s->c[0], ratio = (T)s->c[3], wd = (T)s->c[4];              \
    const T nlr = -(T)s->lr;                                                   \
    const int first = s->first;                                                \
    (void)mu; (void)first;                                                     \
    DSC__FAST_LOOP(T, GEN, d)                                                  \
        d = (d + wd * p[i]) * ratio;                                           \
        if (MOM) {                                                             \
            T bi = first ? d : b[i] * mu + d;                                  \
            b[i] = bi;                                                         \
            d = bi;                                                            \
        }                                                                      \
        p[i] = p[i] + nlr * d;                                                 \
    }                                                                          \
    }
DSC__VARIANTS2(LARS_APPLY, float, f32)
DSC__VARIANTS2(LARS_APPLY, double, f64)

#define LARS_APPLY_DISPATCH(SFX)                                                             \
    static void lars_apply_##SFX(const dsc__scal *s, void *p, const void *g, void *const *st, \
                                 size_t n)                                                    \
    {                                                                                         \
        static const dsc__kernel k_[2][3] = {                                                 \
            {lars_apply_00_##SFX, lars_apply_01_##SFX, lars_apply_02_##SFX},                  \
            {lars_apply_10_##SFX, lars_apply_11_##SFX, lars_apply_12_##SFX}};                 \
        dsc__scal q = dsc__without_l2(s);                                                     \
        k_[s->c[0] != 0][dsc__grad_general(&q)](&q, p, g, st, n);                             \
    }
LARS_APPLY_DISPATCH(f32)
LARS_APPLY_DISPATCH(f64)

const dsc__ops dsc__ops_lars = {
    .kind = DSC_LARS,
    .state_names = lars_state,
    .validate = dsc__check_decay_in_update,
    .prepare = lars_prepare,
    .reference = {lars_ref_f32, lars_ref_f64},
    .fast = {lars_apply_f32, lars_apply_f64},
    .whole_tensor = 1,
    .norms = {lars_norms_f32, lars_norms_f64},
    .norms_finish = lars_finish,
};
