/*
 * adam.c: Adam, AdamW and AMSGrad (torch.optim.Adam / AdamW).
 *   m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2;  amsgrad: vmax = max(vmax, v)
 *   p -= (lr / (1-b1^t)) * m / (sqrt(v or vmax) / sqrt(1-b2^t) + eps)
 * AdamW is the same rule with decoupled decay p *= 1 - lr*wd first (kernel.h).
 */
#include "kernel.h"

static int adam_state(const dsc_hparams *hp, const char **names)
{
    names[0] = "exp_avg";
    names[1] = "exp_avg_sq";
    if (!hp->amsgrad) return 2;
    names[2] = "max_exp_avg_sq";
    return 3;
}

/* c[0..3] moments, c[4] = -lr/bc1, c[5] = sqrt(bc2), c[6] = eps, c[7] = amsgrad,
 * c[8] = t (bf16 state's rounding) */
static void adam_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    DSC__ADAM_CONSTS(hp, s->c);
    double bc1 = 1.0 - pow(hp->beta1, (double)t);
    double bc2 = 1.0 - pow(hp->beta2, (double)t);
    s->c[4] = -(s->lr / bc1);
    s->c[5] = sqrt(bc2);
    s->c[6] = hp->eps;
    s->c[7] = hp->amsgrad;
    s->c[8] = (double)t;
}

#define ADAM_REF(T, SFX)                                                      \
    DSC__KERNEL_BEGIN(adam_ref, T, SFX)                                       \
    T *m = (T *)st[0], *v = (T *)st[1];                                       \
    T *vmax = s->c[7] != 0 ? (T *)st[2] : NULL;                               \
    const T b1 = (T)s->c[0], omb1 = (T)s->c[1], b2 = (T)s->c[2];              \
    const T omb2 = (T)s->c[3], nstep = (T)s->c[4], bc2s = (T)s->c[5];         \
    const T eps = (T)s->c[6];                                                 \
    for (size_t i = 0; i < n; i++) {                                          \
        DSC__GRAD(T, s, p, g, i, d);                                          \
        DSC__ADAM_MOMENTS(m, v, i, d, b1, omb1, b2, omb2);                    \
        T vv = v[i];                                                          \
        if (vmax) {                                                           \
            vmax[i] = vmax[i] > vv ? vmax[i] : vv;                            \
            vv = vmax[i];                                                     \
        }                                                                     \
        T denom = DSC__SQRT(vv) / bc2s + eps;                                 \
        p[i] = p[i] + nstep * (m[i] / denom);                                 \
    }                                                                         \
    DSC__KERNEL_END
ADAM_REF(float, f32)
ADAM_REF(double, f64)

/* Fast variants: AMS = amsgrad, GEN = general gradient prologue (kernel.h). */
#define ADAM_FAST(T, SFX, AMS, GEN)                                            \
    DSC__FAST_BEGIN(adam_fast_##AMS##GEN##_##SFX, T)                           \
    T *restrict m = (T *)st[0], *restrict v = (T *)st[1];                      \
    T *restrict vmax = AMS ? (T *)st[2] : NULL;                                \
    DSC__ADAM_FAST_CONSTS(T, s);                                               \
    const T nstep = (T)s->c[4], bc2s = (T)s->c[5];                             \
    const T eps = (T)s->c[6];                                                  \
    DSC__FAST_LOOP(T, GEN, d)                                                  \
        DSC__ADAM_FAST_MOMENTS(T, m, v, i, d, mi, vi);                         \
        if (AMS) {                                                             \
            vi = vmax[i] > vi ? vmax[i] : vi;                                  \
            vmax[i] = vi;                                                      \
        }                                                                      \
        T denom = DSC__SQRT(vi) / bc2s + eps;                                  \
        p[i] = p[i] + nstep * (mi / denom);                                    \
    }                                                                          \
    }
DSC__VARIANTS2(ADAM_FAST, float, f32)
DSC__VARIANTS2(ADAM_FAST, double, f64)
DSC__DISPATCH2(adam_fast, f32, s->c[7] != 0)
DSC__DISPATCH2(adam_fast, f64, s->c[7] != 0)

/* bf16 state (state_dtype=bf16, f32 parameters): the moments are computed in f32
 * from their stored values and used unrounded for this step's update. exp_avg is
 * stored rounded to nearest even; exp_avg_sq, which beta2 = 0.999 moves by less than
 * half an ulp, with stochastic rounding from a hash of (element, step), so it neither
 * sticks nor depends on the thread count. The reference loop first, then the fast
 * variants. */
DSC__KERNEL_BEGIN(adam_ref, float, bf16)
    uint16_t *m = (uint16_t *)st[0], *v = (uint16_t *)st[1];
    uint16_t *vmax = s->c[7] != 0 ? (uint16_t *)st[2] : NULL;
    const float b1 = (float)s->c[0], omb1 = (float)s->c[1], b2 = (float)s->c[2];
    const float omb2 = (float)s->c[3], nstep = (float)s->c[4], bc2s = (float)s->c[5];
    const float eps = (float)s->c[6];
    const uint32_t step = (uint32_t)s->c[8], base = (uint32_t)s->offset;
    for (size_t i = 0; i < n; i++) {
        DSC__GRAD(float, s, p, g, i, d);
        float mi = dsc__bf16_to_f32(m[i]) * b1 + omb1 * d;
        float vi = dsc__bf16_to_f32(v[i]) * b2 + omb2 * d * d;
        m[i] = dsc__f32_to_bf16(mi);
        v[i] = dsc__f32_to_bf16_stochastic(vi, dsc__hash32(base + (uint32_t)i, step));
        if (vmax) {
            float x = dsc__bf16_to_f32(vmax[i]);
            vi = x > vi ? x : vi;
            vmax[i] = dsc__f32_to_bf16(vi);
        }
        float denom = sqrtf(vi) / bc2s + eps;
        p[i] = p[i] + nstep * (mi / denom);
    }
DSC__KERNEL_END

#define ADAM_FAST_BF16(T, SFX, AMS, GEN)                                       \
    DSC__FAST_BEGIN(adam_fast_u32_##AMS##GEN##_##SFX, T)                           \
    uint16_t *restrict m = (uint16_t *)st[0], *restrict v = (uint16_t *)st[1]; \
    uint16_t *restrict vmax = AMS ? (uint16_t *)st[2] : NULL;                  \
    DSC__ADAM_FAST_CONSTS(T, s);                                               \
    const T nstep = (T)s->c[4], bc2s = (T)s->c[5];                             \
    const T eps = (T)s->c[6];                                                  \
    const uint32_t step = (uint32_t)s->c[8], base = (uint32_t)s->offset;       \
    DSC__FAST_LOOP_IDX(T, GEN, d, uint32_t)                                    \
        T mi = dsc__bf16_to_f32(m[i]) * b1 + omb1 * d;                         \
        T vi = dsc__bf16_to_f32(v[i]) * b2 + omb2 * d * d;                     \
        m[i] = dsc__f32_to_bf16(mi);                                           \
        v[i] = dsc__f32_to_bf16_stochastic(vi, dsc__hash32(base + i, step));   \
        if (AMS) {                                                                     \
            T x = dsc__bf16_to_f32(vmax[i]);                                           \
            vi = x > vi ? x : vi;                                                      \
            vmax[i] = dsc__f32_to_bf16(vi);                                            \
        }                                                                              \
        T denom = DSC__SQRT(vi) / bc2s + eps;                                          \
        p[i] = p[i] + nstep * (mi / denom);                                            \
    }                                                                                  \
    }
DSC__VARIANTS2(ADAM_FAST_BF16, float, bf16)
DSC__DISPATCH2(adam_fast_u32, bf16, s->c[7] != 0)

/* The fast variants count in 32 bits; a piece beyond that takes the reference loop. */
static void adam_fast_bf16(const dsc__scal *s, void *p, const void *g, void *const *st, size_t n)
{
    if (n > UINT32_MAX) adam_ref_bf16(s, p, g, st, n);
    else adam_fast_u32_bf16(s, p, g, st, n);
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
