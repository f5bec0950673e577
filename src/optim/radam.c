/*
 * radam.c: RAdam (Liu et al. 2019), torch.optim.RAdam.
 *   m, v as Adam;  rho_inf = 2/(1-b2) - 1;  rho_t = rho_inf - 2t b2^t / (1-b2^t)
 *   rho_t > 5: p -= lr * m/(1-b1^t) * r_t * sqrt(1-b2^t) / (sqrt(v) + eps)
 *   else:      p -= lr * m/(1-b1^t)
 * with r_t = sqrt((rho_t-4)(rho_t-2) rho_inf / ((rho_inf-4)(rho_inf-2) rho_t)).
 * PyTorch adds eps to sqrt(v), not to the bias-corrected root; so do we.
 */
#include "kernel.h"

static int radam_state(const dsc_hparams *hp, const char **names)
{
    (void)hp;
    names[0] = "exp_avg";
    names[1] = "exp_avg_sq";
    return 2;
}

/* c[0..3] moments, c[4] = bc1, c[5] = rectified (0/1), c[6] = sqrt(bc2), c[7] = rect,
 * c[8] = eps */
static void radam_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    DSC__ADAM_CONSTS(hp, s->c);
    double bt2 = pow(hp->beta2, (double)t);
    double bc2 = 1.0 - bt2;
    double rho_inf = 2.0 / (1.0 - hp->beta2) - 1.0;
    double rho_t = rho_inf - 2.0 * (double)t * bt2 / bc2;
    s->c[4] = 1.0 - pow(hp->beta1, (double)t);
    s->c[5] = rho_t > 5.0;
    s->c[6] = sqrt(bc2);
    s->c[7] = rho_t > 5.0 ? sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                          : 0.0;
    s->c[8] = hp->eps;
}

#define RADAM_REF(T, SFX)                                                     \
    DSC__KERNEL_BEGIN(radam_ref, T, SFX)                                      \
    T *m = (T *)st[0], *v = (T *)st[1];                                       \
    const T b1 = (T)s->c[0], omb1 = (T)s->c[1], b2 = (T)s->c[2];              \
    const T omb2 = (T)s->c[3], bc1 = (T)s->c[4], bc2s = (T)s->c[6];           \
    const T rect = (T)s->c[7], eps = (T)s->c[8], lr = (T)s->lr;               \
    const int rectified = s->c[5] != 0;                                       \
    for (size_t i = 0; i < n; i++) {                                          \
        DSC__GRAD(T, s, p, g, i, d);                                          \
        DSC__ADAM_MOMENTS(m, v, i, d, b1, omb1, b2, omb2);                    \
        T mhat = m[i] / bc1;                                                  \
        if (rectified) {                                                      \
            T adaptive = (T)1 / (DSC__SQRT(v[i]) + eps) * bc2s;               \
            p[i] = p[i] + (T)(-1) * (mhat * lr * adaptive * rect);           \
        } else {                                                              \
            p[i] = p[i] + (T)(-1) * (mhat * lr);                             \
        }                                                                     \
    }                                                                         \
    DSC__KERNEL_END
RADAM_REF(float, f32)
RADAM_REF(double, f64)

/* Fast variants: RECT = rectified step, GEN = general gradient prologue (kernel.h). */
#define RADAM_FAST(T, SFX, RECT, GEN)                                          \
    DSC__FAST_BEGIN(radam_fast_##RECT##GEN##_##SFX, T)                         \
    T *restrict m = (T *)st[0], *restrict v = (T *)st[1];                      \
    DSC__ADAM_FAST_CONSTS(T, s);                                               \
    const T bc1 = (T)s->c[4], bc2s = (T)s->c[6];                               \
    const T rect = (T)s->c[7], eps = (T)s->c[8], lr = (T)s->lr;                \
    DSC__FAST_LOOP(T, GEN, d)                                                  \
        DSC__ADAM_FAST_MOMENTS(T, m, v, i, d, mi, vi);                         \
        T mhat = mi / bc1;                                                     \
        if (RECT) {                                                            \
            T adaptive = (T)1 / (DSC__SQRT(vi) + eps) * bc2s;                  \
            p[i] = p[i] + (T)(-1) * (mhat * lr * adaptive * rect);             \
        } else {                                                               \
            p[i] = p[i] + (T)(-1) * (mhat * lr);                               \
        }                                                                      \
    }                                                                          \
    }
DSC__VARIANTS2(RADAM_FAST, float, f32)
DSC__VARIANTS2(RADAM_FAST, double, f64)
DSC__DISPATCH2(radam_fast, f32, s->c[5] != 0)
DSC__DISPATCH2(radam_fast, f64, s->c[5] != 0)

const dsc__ops dsc__ops_radam = {
    .kind = DSC_RADAM,
    .state_names = radam_state,
    .prepare = radam_prepare,
    .reference = {radam_ref_f32, radam_ref_f64},
    .fast = {radam_fast_f32, radam_fast_f64},
};
