/*
 * adamax.c: torch.optim.Adamax (Adam with the infinity norm).
 *   m = b1*m + (1-b1)*g;  u = max(b2*u, |g| + eps);  p -= (lr / (1-b1^t)) * m / u
 */
#include "kernel.h"

static int adamax_state(const dsc_hparams *hp, const char **names)
{
    (void)hp;
    names[0] = "exp_avg";
    names[1] = "exp_inf";
    return 2;
}

/* c[0..3] moments, c[4] = -lr/bc1, c[5] = eps */
static void adamax_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    DSC__ADAM_CONSTS(hp, s->c);
    s->c[4] = -(s->lr / (1.0 - pow(hp->beta1, (double)t)));
    s->c[5] = hp->eps;
}

#define ADAMAX_REF(T, SFX)                                                    \
    DSC__KERNEL_BEGIN(adamax_ref, T, SFX)                                     \
    T *m = (T *)st[0], *u = (T *)st[1];                                       \
    const T b1 = (T)s->c[0], omb1 = (T)s->c[1], b2 = (T)s->c[2];              \
    const T nclr = (T)s->c[4], eps = (T)s->c[5];                              \
    for (size_t i = 0; i < n; i++) {                                          \
        DSC__GRAD(T, s, p, g, i, d);                                          \
        m[i] = m[i] * b1 + omb1 * d;                                          \
        T a = u[i] * b2, b = DSC__ABS(d) + eps;                               \
        u[i] = (a > b || a != a) ? a : b;                                     \
        p[i] = p[i] + nclr * (m[i] / u[i]);                                   \
    }                                                                         \
    DSC__KERNEL_END
ADAMAX_REF(float, f32)
ADAMAX_REF(double, f64)

/* Fast variants: GEN = general gradient prologue (kernel.h). */
#define ADAMAX_FAST(T, SFX, OPT, GEN)                                          \
    DSC__FAST_BEGIN(adamax_fast_##OPT##GEN##_##SFX, T)                         \
    T *restrict m = (T *)st[0], *restrict u = (T *)st[1];                      \
    DSC__ADAM_FAST_CONSTS(T, s);                                               \
    const T nclr = (T)s->c[4], eps = (T)s->c[5];                               \
    DSC__FAST_LOOP(T, GEN, d)                                                  \
        T mi = m[i] * b1 + omb1 * d;                                           \
        m[i] = mi;                                                             \
        T a = u[i] * b2, b = DSC__ABS(d) + eps;                                \
        T ui = (a > b || a != a) ? a : b;                                      \
        u[i] = ui;                                                             \
        p[i] = p[i] + nclr * (mi / ui);                                        \
    }                                                                          \
    }
DSC__VARIANTS1(ADAMAX_FAST, float, f32)
DSC__VARIANTS1(ADAMAX_FAST, double, f64)
DSC__DISPATCH1(adamax_fast, f32)
DSC__DISPATCH1(adamax_fast, f64)

const dsc__ops dsc__ops_adamax = {
    .kind = DSC_ADAMAX,
    .state_names = adamax_state,
    .prepare = adamax_prepare,
    .reference = {adamax_ref_f32, adamax_ref_f64},
    .fast = {adamax_fast_f32, adamax_fast_f64},
};
