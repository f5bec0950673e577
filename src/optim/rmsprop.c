/*
 * rmsprop.c: torch.optim.RMSprop.
 *   v = alpha*v + (1-alpha)*g^2
 *   centered: ga = alpha*ga + (1-alpha)*g;  avg = sqrt(v - ga^2) + eps;  else avg = sqrt(v) + eps
 *   momentum: b = mu*b + g/avg;  p -= lr*b;  else p -= lr*g/avg
 * eps is outside the root (PyTorch); Keras puts it inside.
 * v - ga^2 is rounded once (an fma), as torch's addcmul(value=-1) computes it on the
 * CPU: near a constant gradient the two terms cancel, and rounding ga^2 first can
 * leave exactly 0 (the step then divides by eps alone) where the exact difference is
 * small but positive.
 */
#include "kernel.h"

static int rmsprop_state(const dsc_hparams *hp, const char **names)
{
    int k = 0;
    names[k++] = "square_avg";
    if (hp->momentum > 0) names[k++] = "momentum_buffer";
    if (hp->centered) names[k++] = "grad_avg";
    return k;
}

/* c[0] = alpha, c[1] = 1 - alpha, c[2] = eps, c[3] = momentum, c[4] = centered */
static void rmsprop_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    (void)t;
    s->c[0] = hp->alpha;
    s->c[1] = 1.0 - hp->alpha;
    s->c[2] = hp->eps;
    s->c[3] = hp->momentum;
    s->c[4] = hp->centered;
}

#define RMSPROP_REF(T, SFX)                                                   \
    DSC__KERNEL_BEGIN(rmsprop_ref, T, SFX)                                    \
    const int has_mom = s->c[3] > 0, centered = s->c[4] != 0;                 \
    T *v = (T *)st[0];                                                        \
    T *b = has_mom ? (T *)st[1] : NULL;                                       \
    T *ga = centered ? (T *)st[has_mom ? 2 : 1] : NULL;                       \
    const T alpha = (T)s->c[0], one_m = (T)s->c[1], eps = (T)s->c[2];         \
    const T mu = (T)s->c[3], nlr = (T)(-s->lr);                               \
    for (size_t i = 0; i < n; i++) {                                          \
        DSC__GRAD(T, s, p, g, i, d);                                          \
        v[i] = v[i] * alpha + one_m * d * d;                                  \
        T avg;                                                                \
        if (centered) {                                                       \
            ga[i] = ga[i] * alpha + one_m * d;                                \
            avg = DSC__SQRT(DSC__FMA(-ga[i], ga[i], v[i]));                    \
        } else {                                                              \
            avg = DSC__SQRT(v[i]);                                            \
        }                                                                     \
        avg = avg + eps;                                                      \
        if (has_mom) {                                                        \
            b[i] = b[i] * mu + d / avg;                                       \
            p[i] = p[i] + nlr * b[i];                                         \
        } else {                                                              \
            p[i] = p[i] + nlr * (d / avg);                                    \
        }                                                                     \
    }                                                                         \
    DSC__KERNEL_END
RMSPROP_REF(float, f32)
RMSPROP_REF(double, f64)

/* Fast variants: MOM = momentum buffer, CEN = centered, GEN = general gradient
 * prologue (kernel.h). */
#define RMSPROP_FAST(T, SFX, MOM, CEN, GEN)                                    \
    DSC__FAST_BEGIN_CLONES(rmsprop_fast_##MOM##CEN##GEN##_##SFX, T, DSC__CLONES_FMA) \
    T *restrict v = (T *)st[0];                                                \
    T *restrict b = MOM ? (T *)st[1] : NULL;                                   \
    T *restrict ga = CEN ? (T *)st[MOM ? 2 : 1] : NULL;                        \
    const T alpha = (T)s->c[0], one_m = (T)s->c[1], eps = (T)s->c[2];          \
    const T mu = (T)s->c[3], nlr = (T)(-s->lr);                                \
    DSC__FAST_LOOP(T, GEN, d)                                                  \
        T vi = v[i] * alpha + one_m * d * d;                                   \
        v[i] = vi;                                                             \
        T avg;                                                                 \
        if (CEN) {                                                             \
            T gi = ga[i] * alpha + one_m * d;                                  \
            ga[i] = gi;                                                        \
            avg = DSC__SQRT(DSC__FMA(-gi, gi, vi));                            \
        } else {                                                               \
            avg = DSC__SQRT(vi);                                               \
        }                                                                      \
        avg = avg + eps;                                                       \
        if (MOM) {                                                             \
            T bi = b[i] * mu + d / avg;                                        \
            b[i] = bi;                                                         \
            p[i] = p[i] + nlr * bi;                                            \
        } else {                                                               \
            p[i] = p[i] + nlr * (d / avg);                                     \
        }                                                                      \
    }                                                                          \
    }
#define RMSPROP_GENS(T, SFX, MOM, CEN)                                                    \
    RMSPROP_FAST(T, SFX, MOM, CEN, 0) RMSPROP_FAST(T, SFX, MOM, CEN, 1)                   \
    RMSPROP_FAST(T, SFX, MOM, CEN, 2)
#define RMSPROP_K(SFX, MOM, CEN)                                                          \
    {rmsprop_fast_##MOM##CEN##0_##SFX, rmsprop_fast_##MOM##CEN##1_##SFX,                   \
     rmsprop_fast_##MOM##CEN##2_##SFX}
#define RMSPROP_VARIANTS(T, SFX)                                                          \
    RMSPROP_GENS(T, SFX, 0, 0) RMSPROP_GENS(T, SFX, 0, 1)                                 \
    RMSPROP_GENS(T, SFX, 1, 0) RMSPROP_GENS(T, SFX, 1, 1)                                 \
    static void rmsprop_fast_##SFX(const dsc__scal *s, void *p, const void *g,            \
                                   void *const *st, size_t n)                             \
    {                                                                                     \
        static const dsc__kernel k[2][2][3] = {                                           \
            {RMSPROP_K(SFX, 0, 0), RMSPROP_K(SFX, 0, 1)},                                 \
            {RMSPROP_K(SFX, 1, 0), RMSPROP_K(SFX, 1, 1)}};                                \
        k[s->c[3] > 0][s->c[4] != 0][dsc__grad_general(s)](s, p, g, st, n);               \
    }
RMSPROP_VARIANTS(float, f32)
RMSPROP_VARIANTS(double, f64)

const dsc__ops dsc__ops_rmsprop = {
    .kind = DSC_RMSPROP,
    .state_names = rmsprop_state,
    .prepare = rmsprop_prepare,
    .reference = {rmsprop_ref_f32, rmsprop_ref_f64},
    .fast = {rmsprop_fast_f32, rmsprop_fast_f64},
};
