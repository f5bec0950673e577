/*
 * adam.c: Adam, AdamW and AMSGrad (torch.optim.Adam / AdamW).
 *   m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2;  amsgrad: vmax = max(vmax, v)
 *   p -= (lr / (1-b1^t)) * m / (sqrt(v or vmax) / sqrt(1-b2^t) + eps)
 * AdamW is the same rule with decoupled decay p *= 1 - lr*wd first (rule_grad.h).
 * The file is read once plain, then its typed part once per element type
 * (rule_types.h; docs/adding_an_optimizer.md).
 */
#ifndef T
#include "kernel.h"

/* Per-step scalars, computed in double by adam_prepare. */
struct adam_scalars {
    struct dsc__moments mom;
    double neg_lr_bc1; /* -lr / (1 - beta1^t) */
    double sqrt_bc2;   /* sqrt(1 - beta2^t) */
    double eps;
    int amsgrad;
    uint32_t step;     /* t, for bf16 state's stochastic rounding */
};
DSC__SCALARS_FIT(struct adam_scalars);

static int adam_state(const dsc_hparams *hp, const char **names)
{
    names[0] = "exp_avg";
    names[1] = "exp_avg_sq";
    if (!hp->amsgrad) return 2;
    names[2] = "max_exp_avg_sq";
    return 3;
}

void dsc__adam_scalars_set(dsc__scal *s, double beta1, double beta2, double lr, double eps, int amsgrad,
                           int64_t t)
{
    const struct adam_scalars k = {
        .mom = dsc__moments_of(beta1, beta2),
        .neg_lr_bc1 = -(lr / (1.0 - pow(beta1, (double)t))),
        .sqrt_bc2 = sqrt(1.0 - pow(beta2, (double)t)),
        .eps = eps,
        .amsgrad = amsgrad,
        .step = (uint32_t)t,
    };
    dsc__scalars_put(s, &k, sizeof k);
}

static void adam_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    dsc__adam_scalars_set(s, hp->beta1, hp->beta2, s->lr, hp->eps, hp->amsgrad, t);
}

static struct adam_scalars adam_scalars_of(const dsc__scal *s)
{
    struct adam_scalars k;
    dsc__scalars_get(s, &k, sizeof k);
    return k;
}
#endif

#ifdef T
/* ---- the rule, for element type T */

/* The reference loop: the tests' oracle, every option a branch. */
static void FN(adam_ref)(const dsc__scal *s, void *pv, const void *gv, void *const *st, size_t n)
{
    const struct adam_scalars k = adam_scalars_of(s);
    T *p = pv, *m = st[0], *v = st[1], *vmax = k.amsgrad ? st[2] : NULL;
    const T *g = gv;
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad)(s, &p[i], g[i]);
        m[i] = m[i] * (T)k.mom.beta1 + (T)k.mom.one_minus_beta1 * d;
        v[i] = v[i] * (T)k.mom.beta2 + (T)k.mom.one_minus_beta2 * d * d;
        T vv = v[i];
        if (vmax) {
            vmax[i] = vmax[i] > vv ? vmax[i] : vv;
            vv = vmax[i];
        }
        T denom = DSC__SQRT(vv) / (T)k.sqrt_bc2 + (T)k.eps;
        p[i] = p[i] + (T)k.neg_lr_bc1 * (m[i] / denom);
    }
}

/* The same rule vectorised: ams and gen are constants in each call of adam_fast, so
 * each becomes a loop without branches. */
DSC__ALWAYS_INLINE void FN(adam_loop)(const dsc__scal *s, T *restrict p, const T *restrict g, T *restrict m,
                                      T *restrict v, T *restrict vmax, size_t n, const int ams, const int gen)
{
    const struct adam_scalars k = adam_scalars_of(s);
    const struct FN(dsc__grad_consts) gc = FN(dsc__grad_consts_of)(s);
    const T b1 = (T)k.mom.beta1, omb1 = (T)k.mom.one_minus_beta1;
    const T b2 = (T)k.mom.beta2, omb2 = (T)k.mom.one_minus_beta2;
    const T nstep = (T)k.neg_lr_bc1, bc2s = (T)k.sqrt_bc2, eps = (T)k.eps;
    DSC__SIMD
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad_fast)(&gc, gen, p[i], g[i]);
        if (gen) p[i] = p[i] * gc.decay;
        T mi = m[i] * b1 + omb1 * d;
        T vi = v[i] * b2 + omb2 * d * d;
        m[i] = mi;
        v[i] = vi;
        if (ams) {
            vi = vmax[i] > vi ? vmax[i] : vi;
            vmax[i] = vi;
        }
        T denom = DSC__SQRT(vi) / bc2s + eps;
        p[i] = p[i] + nstep * (mi / denom);
    }
}

DSC__CLONES static void FN(adam_fast)(const dsc__scal *s, void *p, const void *g, void *const *st, size_t n)
{
    const int ams = adam_scalars_of(s).amsgrad;
    T *m = st[0], *v = st[1], *vmax = ams ? st[2] : NULL;
    switch (dsc__variant(ams, s)) {
    case 0: FN(adam_loop)(s, p, g, m, v, vmax, n, 0, 0); break;
    case 1: FN(adam_loop)(s, p, g, m, v, vmax, n, 0, 1); break;
    case 2: FN(adam_loop)(s, p, g, m, v, vmax, n, 0, 2); break;
    case 3: FN(adam_loop)(s, p, g, m, v, vmax, n, 1, 0); break;
    case 4: FN(adam_loop)(s, p, g, m, v, vmax, n, 1, 1); break;
    default: FN(adam_loop)(s, p, g, m, v, vmax, n, 1, 2); break;
    }
}
#else
#define DSC_RULE_FILE "adam.c"
#include "rule_types.h"

/* bf16 state (state_dtype=bf16, f32 parameters): the moments are computed in f32
 * from their stored values and used unrounded for this step's update. exp_avg is
 * stored rounded to nearest even; exp_avg_sq, which beta2 = 0.999 moves by less than
 * half an ulp, with stochastic rounding from a hash of (element, step), so it neither
 * sticks nor depends on the thread count. The reference loop first, then the fast
 * one. */
static void adam_ref_bf16(const dsc__scal *s, void *pv, const void *gv, void *const *st, size_t n)
{
    const struct adam_scalars k = adam_scalars_of(s);
    float *p = pv;
    const float *g = gv;
    uint16_t *m = st[0], *v = st[1], *vmax = k.amsgrad ? st[2] : NULL;
    const uint32_t base = (uint32_t)s->offset;
    for (size_t i = 0; i < n; i++) {
        float d = dsc__grad_f32(s, &p[i], g[i]);
        float mi = dsc__bf16_to_f32(m[i]) * (float)k.mom.beta1 + (float)k.mom.one_minus_beta1 * d;
        float vi = dsc__bf16_to_f32(v[i]) * (float)k.mom.beta2 + (float)k.mom.one_minus_beta2 * d * d;
        m[i] = dsc__f32_to_bf16(mi);
        v[i] = dsc__f32_to_bf16_stochastic(vi, dsc__hash32(base + (uint32_t)i, k.step));
        if (vmax) {
            float x = dsc__bf16_to_f32(vmax[i]);
            vi = x > vi ? x : vi;
            vmax[i] = dsc__f32_to_bf16(vi);
        }
        float denom = sqrtf(vi) / (float)k.sqrt_bc2 + (float)k.eps;
        p[i] = p[i] + (float)k.neg_lr_bc1 * (mi / denom);
    }
}

/* Counts in 32 bits, so the hash of the index stays in 32-bit vector lanes. */
DSC__ALWAYS_INLINE void adam_loop_bf16(const dsc__scal *s, float *restrict p, const float *restrict g,
                                       uint16_t *restrict m, uint16_t *restrict v, uint16_t *restrict vmax,
                                       uint32_t n, const int ams, const int gen)
{
    const struct adam_scalars k = adam_scalars_of(s);
    const struct dsc__grad_consts_f32 gc = dsc__grad_consts_of_f32(s);
    const float b1 = (float)k.mom.beta1, omb1 = (float)k.mom.one_minus_beta1;
    const float b2 = (float)k.mom.beta2, omb2 = (float)k.mom.one_minus_beta2;
    const float nstep = (float)k.neg_lr_bc1, bc2s = (float)k.sqrt_bc2, eps = (float)k.eps;
    const uint32_t step = k.step, base = (uint32_t)s->offset;
    DSC__SIMD
    for (uint32_t i = 0; i < n; i++) {
        float d = dsc__grad_fast_f32(&gc, gen, p[i], g[i]);
        if (gen) p[i] = p[i] * gc.decay;
        float mi = dsc__bf16_to_f32(m[i]) * b1 + omb1 * d;
        float vi = dsc__bf16_to_f32(v[i]) * b2 + omb2 * d * d;
        m[i] = dsc__f32_to_bf16(mi);
        v[i] = dsc__f32_to_bf16_stochastic(vi, dsc__hash32(base + i, step));
        if (ams) {
            float x = dsc__bf16_to_f32(vmax[i]);
            vi = x > vi ? x : vi;
            vmax[i] = dsc__f32_to_bf16(vi);
        }
        float denom = sqrtf(vi) / bc2s + eps;
        p[i] = p[i] + nstep * (mi / denom);
    }
}

DSC__CLONES static void adam_fast_u32_bf16(const dsc__scal *s, void *p, const void *g, void *const *st,
                                           uint32_t n)
{
    const int ams = adam_scalars_of(s).amsgrad;
    uint16_t *m = st[0], *v = st[1], *vmax = ams ? st[2] : NULL;
    switch (dsc__variant(ams, s)) {
    case 0: adam_loop_bf16(s, p, g, m, v, vmax, n, 0, 0); break;
    case 1: adam_loop_bf16(s, p, g, m, v, vmax, n, 0, 1); break;
    case 2: adam_loop_bf16(s, p, g, m, v, vmax, n, 0, 2); break;
    case 3: adam_loop_bf16(s, p, g, m, v, vmax, n, 1, 0); break;
    case 4: adam_loop_bf16(s, p, g, m, v, vmax, n, 1, 1); break;
    default: adam_loop_bf16(s, p, g, m, v, vmax, n, 1, 2); break;
    }
}

/* The fast loop counts in 32 bits; a piece beyond that takes the reference loop. */
static void adam_fast_bf16(const dsc__scal *s, void *p, const void *g, void *const *st, size_t n)
{
    if (n > UINT32_MAX) adam_ref_bf16(s, p, g, st, n);
    else adam_fast_u32_bf16(s, p, g, st, (uint32_t)n);
}

const dsc__ops dsc__ops_adam = {
    .kind = DSC_ADAM,
    .state_names = adam_state,
    .prepare = adam_prepare,
    .reference = {adam_ref_f32, adam_ref_f64},
    .fast = {adam_fast_f32, adam_fast_f64},
    .reference_bf16 = adam_ref_bf16,
    .fast_bf16 = adam_fast_bf16,
};

/* AdamW differs from Adam only in its defaults (decoupled decay 1e-2). */
const dsc__ops dsc__ops_adamw = {
    .kind = DSC_ADAMW,
    .state_names = adam_state,
    .prepare = adam_prepare,
    .reference = {adam_ref_f32, adam_ref_f64},
    .fast = {adam_fast_f32, adam_fast_f64},
    .reference_bf16 = adam_ref_bf16,
    .fast_bf16 = adam_fast_bf16,
};
#endif
