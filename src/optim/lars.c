/*
 * lars.c: LARS (You et al. 2017), as torchlars and timm's Lars compute it: SGD
 * momentum on a gradient rescaled per tensor by the trust ratio
 *   ratio = eta |p| / (|g| + wd |p| + eps)   (1 when |p| or |g| is 0)
 *   d = ratio (g + wd p);  b = d at the first step, else mu b + d;  p -= lr b
 * norms per tensor (L2). Two passes: the norms, then the update.
 * Read once plain, then its typed part once per element type (rule_types.h).
 */
#ifndef T
#include "kernel.h"

struct lars_scalars {
    double momentum, trust_coefficient, eps;
    double ratio; /* the tensor's trust ratio, set by lars_finish (fast path) */
    double wd;    /* the tensor's decay term, set by lars_finish */
};
DSC__SCALARS_FIT(struct lars_scalars);

static int lars_state(const dsc_hparams *hp, const char **names)
{
    if (hp->momentum == 0) return 0;
    names[0] = "momentum_buffer";
    return 1;
}

static void lars_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    (void)t;
    const struct lars_scalars k = {.momentum = hp->momentum, .trust_coefficient = hp->trust_coefficient,
                                   .eps = hp->eps};
    dsc__scalars_put(s, &k, sizeof k);
}

static struct lars_scalars lars_scalars_of(const dsc__scal *s)
{
    struct lars_scalars k;
    dsc__scalars_get(s, &k, sizeof k);
    return k;
}

static double lars_ratio(const struct lars_scalars *k, double wd, double pn, double gn)
{
    return pn > 0 && gn > 0 ? k->trust_coefficient * pn / (gn + wd * pn + k->eps) : 1.0;
}

/* The fast path's two sums of a tensor into its ratio (the sums' order differs from
 * the reference loop's, blocks and lanes, so the ratio may differ in its last bits). */
static void lars_finish(dsc__scal *s, const double *sums)
{
    struct lars_scalars k = lars_scalars_of(s);
    k.ratio = lars_ratio(&k, s->wd, sqrt(sums[0]), sqrt(sums[1]));
    k.wd = s->wd;
    dsc__scalars_put(s, &k, sizeof k);
}
#endif

#ifdef T
/* ---- the rule, for element type T. The decay is a term of the rule (g + wd p), so
 * the gradient prologue runs without the L2 term (dsc__without_l2). */

static void FN(lars_ref)(const dsc__scal *s, void *pv, const void *gv, void *const *st, size_t n)
{
    const struct lars_scalars k = lars_scalars_of(s);
    const dsc__scal q = dsc__without_l2(s);
    T *p = pv, *b = st[0];
    const T *g = gv;
    const T mu = (T)k.momentum, wd = (T)s->wd, lr = (T)s->lr;
    double pn = 0, gn = 0;
    for (size_t i = 0; i < n; i++) {
        T pi = p[i];
        T d = FN(dsc__grad)(&q, &pi, g[i]);
        pn += (double)pi * (double)pi;
        gn += (double)d * (double)d;
    }
    const T ratio = (T)lars_ratio(&k, s->wd, sqrt(pn), sqrt(gn));
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad)(&q, &p[i], g[i]);
        d = (d + wd * p[i]) * ratio;
        if (mu != 0) {
            b[i] = s->first ? d : b[i] * mu + d;
            d = b[i];
        }
        p[i] = p[i] + (-lr) * d;
    }
}

/* Pass 1 over a block: |p|^2 and |d|^2 into sums[0..1] (q: the scalars without L2). */
DSC__ALWAYS_INLINE void FN(lars_norms_loop)(const dsc__scal *q, const T *restrict p, const T *restrict g,
                                            size_t n, double *sums, const int gen)
{
    const struct FN(dsc__grad_consts) gc = FN(dsc__grad_consts_of)(q);
    double sp = 0, sd = 0;
    DSC__SIMD_SUM2(sp, sd)
    for (size_t i = 0; i < n; i++) {
        const T pi = p[i];
        T d = FN(dsc__grad_fast)(&gc, gen, pi, g[i]);
        sp += (double)pi * (double)pi;
        sd += (double)d * (double)d;
    }
    sums[0] += sp;
    sums[1] += sd;
}

DSC__CLONES static void FN(lars_norms)(const dsc__scal *s, void *p, const void *g, void *const *st, size_t n,
                                       double *sums)
{
    (void)st;
    const dsc__scal q = dsc__without_l2(s);
    switch (dsc__variant(0, &q)) {
    case 0: FN(lars_norms_loop)(&q, p, g, n, sums, 0); break;
    case 1: FN(lars_norms_loop)(&q, p, g, n, sums, 1); break;
    default: FN(lars_norms_loop)(&q, p, g, n, sums, 2); break;
    }
}

/* Pass 2: the step with the tensor's ratio (lars_finish). */
DSC__ALWAYS_INLINE void FN(lars_loop)(const dsc__scal *q, T *restrict p, const T *restrict g, T *restrict b,
                                      size_t n, const int mom, const int gen)
{
    const struct lars_scalars k = lars_scalars_of(q);
    const struct FN(dsc__grad_consts) gc = FN(dsc__grad_consts_of)(q);
    const T mu = (T)k.momentum, ratio = (T)k.ratio, wd = (T)k.wd, nlr = -(T)q->lr;
    const int first = q->first;
    DSC__SIMD
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad_fast)(&gc, gen, p[i], g[i]);
        if (gen) p[i] = p[i] * gc.decay;
        d = (d + wd * p[i]) * ratio;
        if (mom) {
            T bi = first ? d : b[i] * mu + d;
            b[i] = bi;
            d = bi;
        }
        p[i] = p[i] + nlr * d;
    }
}

DSC__CLONES static void FN(lars_fast)(const dsc__scal *s, void *p, const void *g, void *const *st, size_t n)
{
    const dsc__scal q = dsc__without_l2(s);
    const int mom = lars_scalars_of(s).momentum != 0;
    T *b = mom ? st[0] : NULL;
    switch (dsc__variant(mom, &q)) {
    case 0: FN(lars_loop)(&q, p, g, b, n, 0, 0); break;
    case 1: FN(lars_loop)(&q, p, g, b, n, 0, 1); break;
    case 2: FN(lars_loop)(&q, p, g, b, n, 0, 2); break;
    case 3: FN(lars_loop)(&q, p, g, b, n, 1, 0); break;
    case 4: FN(lars_loop)(&q, p, g, b, n, 1, 1); break;
    default: FN(lars_loop)(&q, p, g, b, n, 1, 2); break;
    }
}
#else
#define DSC_RULE_FILE "lars.c"
#include "rule_types.h"

const dsc__ops dsc__ops_lars = {
    .kind = DSC_LARS,
    .state_names = lars_state,
    .validate = dsc__check_decay_in_update,
    .prepare = lars_prepare,
    .reference = {lars_ref_f32, lars_ref_f64},
    .fast = {lars_fast_f32, lars_fast_f64},
    .whole_tensor = 1,
    .norms = {lars_norms_f32, lars_norms_f64},
    .norms_finish = lars_finish,
};
#endif
