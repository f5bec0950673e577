/*
 * adadelta.c: torch.optim.Adadelta (Zeiler 2012, with PyTorch's lr).
 *   v = rho*v + (1-rho)*g^2;  delta = sqrt(u + eps) / sqrt(v + eps) * g
 *   u = rho*u + (1-rho)*delta^2;  p -= lr*delta
 */
#include "kernel.h"

static int adadelta_state(const dsc_hparams *hp, const char **names)
{
    (void)hp;
    names[0] = "square_avg";
    names[1] = "acc_delta";
    return 2;
}

/* c[0] = rho, c[1] = 1 - rho, c[2] = eps */
static void adadelta_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    (void)t;
    s->c[0] = hp->rho;
    s->c[1] = 1.0 - hp->rho;
    s->c[2] = hp->eps;
}

#define ADADELTA_REF(T, SFX)                                                  \
    DSC__KERNEL_BEGIN(adadelta_ref, T, SFX)                                   \
    T *v = (T *)st[0], *u = (T *)st[1];                                       \
    const T rho = (T)s->c[0], one_m = (T)s->c[1], eps = (T)s->c[2];           \
    const T nlr = (T)(-s->lr);                                                \
    for (size_t i = 0; i < n; i++) {                                          \
        DSC__GRAD(T, s, p, g, i, d);                                          \
        v[i] = v[i] * rho + one_m * d * d;                                    \
        T std = DSC__SQRT(v[i] + eps);                                        \
        T delta = DSC__SQRT(u[i] + eps) / std * d;                            \
        u[i] = u[i] * rho + one_m * delta * delta;                            \
        p[i] = p[i] + nlr * delta;                                            \
    }                                                                         \
    DSC__KERNEL_END
ADADELTA_REF(float, f32)
ADADELTA_REF(double, f64)

/* Fast variants: GEN = general gradient prologue (kernel.h). */
#define ADADELTA_FAST(T, SFX, OPT, GEN)                                        \
    DSC__FAST_BEGIN(adadelta_fast_##OPT##GEN##_##SFX, T)                       \
    T *restrict v = (T *)st[0], *restrict u = (T *)st[1];                      \
    const T rho = (T)s->c[0], one_m = (T)s->c[1], eps = (T)s->c[2];            \
    const T nlr = (T)(-s->lr);                                                 \
    DSC__FAST_LOOP(T, GEN, d)                                                  \
        T vi = v[i] * rho + one_m * d * d;                                     \
        v[i] = vi;                                                             \
        T std = DSC__SQRT(vi + eps);                                           \
        T delta = DSC__SQRT(u[i] + eps) / std * d;                             \
        u[i] = u[i] * rho + one_m * delta * delta;                             \
        p[i] = p[i] + nlr * delta;                                             \
    }                                                                          \
    }
DSC__VARIANTS1(ADADELTA_FAST, float, f32)
DSC__VARIANTS1(ADADELTA_FAST, double, f64)
DSC__DISPATCH1(adadelta_fast, f32)
DSC__DISPATCH1(adadelta_fast, f64)

const dsc__ops dsc__ops_adadelta = {
    .kind = DSC_ADADELTA,
    .state_names = adadelta_state,
    .prepare = adadelta_prepare,
    .reference = {adadelta_ref_f32, adadelta_ref_f64},
    .fast = {adadelta_fast_f32, adadelta_fast_f64},
};
