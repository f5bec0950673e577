/*
 * adagrad.c: torch.optim.Adagrad.
 *   clr = lr / (1 + (t-1)*lr_decay);  sum += g*g;  p -= clr * g / (sqrt(sum) + eps)
 * sum starts at initial_accumulator_value.
 */
#include "kernel.h"

static int adagrad_state(const dsc_hparams *hp, const char **names)
{
    (void)hp;
    names[0] = "sum";
    return 1;
}

static double adagrad_init(const dsc_hparams *hp, int k)
{
    (void)k;
    return hp->initial_accumulator_value;
}

/* c[0] = -clr, c[1] = eps */
static void adagrad_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    s->c[0] = -(s->lr / (1.0 + (double)(t - 1) * hp->lr_decay));
    s->c[1] = hp->eps;
}

#define ADAGRAD_REF(T, SFX)                                  \
    DSC__KERNEL_BEGIN(adagrad_ref, T, SFX)                   \
    T *sum = (T *)st[0];                                     \
    const T nclr = (T)s->c[0], eps = (T)s->c[1];             \
    for (size_t i = 0; i < n; i++) {                         \
        DSC__GRAD(T, s, p, g, i, d);                         \
        sum[i] = sum[i] + d * d;                             \
        T std = DSC__SQRT(sum[i]) + eps;                     \
        p[i] = p[i] + nclr * (d / std);                      \
    }                                                        \
    DSC__KERNEL_END
ADAGRAD_REF(float, f32)
ADAGRAD_REF(double, f64)

/* Fast variants: GEN = general gradient prologue (kernel.h). */
#define ADAGRAD_FAST(T, SFX, OPT, GEN)                                         \
    DSC__FAST_BEGIN(adagrad_fast_##OPT##GEN##_##SFX, T)                        \
    T *restrict sum = (T *)st[0];                                              \
    const T nclr = (T)s->c[0], eps = (T)s->c[1];                               \
    DSC__FAST_LOOP(T, GEN, d)                                                  \
        T si = sum[i] + d * d;                                                 \
        sum[i] = si;                                                           \
        T std = DSC__SQRT(si) + eps;                                           \
        p[i] = p[i] + nclr * (d / std);                                        \
    }                                                                          \
    }
DSC__VARIANTS1(ADAGRAD_FAST, float, f32)
DSC__VARIANTS1(ADAGRAD_FAST, double, f64)
DSC__DISPATCH1(adagrad_fast, f32)
DSC__DISPATCH1(adagrad_fast, f64)

const dsc__ops dsc__ops_adagrad = {
    .kind = DSC_ADAGRAD,
    .state_names = adagrad_state,
    .prepare = adagrad_prepare,
    .state_init = adagrad_init,
    .reference = {adagrad_ref_f32, adagrad_ref_f64},
    .fast = {adagrad_fast_f32, adagrad_fast_f64},
};
