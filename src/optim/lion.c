/*
 * lion.c: Lion (Chen et al. 2023), the authors' google/automl lion_pytorch.py:
 *   p *= 1 - lr*wd                       (decoupled, the default)
 *   p -= lr * sign(b1*m + (1-b1)*g)
 *   m = b2*m + (1-b2)*g
 * sign(0) is 0, as torch.sign. Defaults lr 1e-4, betas (0.9, 0.99), wd 0.
 */
#include "kernel.h"

static int lion_state(const dsc_hparams *hp, const char **names)
{
    (void)hp;
    names[0] = "exp_avg";
    return 1;
}

/* c[0..3] = b1, 1-b1, b2, 1-b2 */
static void lion_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    (void)t;
    DSC__ADAM_CONSTS(hp, s->c);
}

#define LION_REF(T, SFX)                                                  \
    DSC__KERNEL_BEGIN(lion_ref, T, SFX)                                   \
    T *m = (T *)st[0];                                                    \
    const T b1 = (T)s->c[0], omb1 = (T)s->c[1], b2 = (T)s->c[2];          \
    const T omb2 = (T)s->c[3], lr = (T)s->lr;                             \
    for (size_t i = 0; i < n; i++) {                                      \
        DSC__GRAD(T, s, p, g, i, d);                                      \
        T u = m[i] * b1 + d * omb1;                                       \
        p[i] = p[i] + (-lr) * DSC__SIGN(T, u);                            \
        m[i] = m[i] * b2 + d * omb2;                                      \
    }                                                                     \
    DSC__KERNEL_END
LION_REF(float, f32)
LION_REF(double, f64)

const dsc__ops dsc__ops_lion = {
    .kind = DSC_LION,
    .state_names = lion_state,
    .prepare = lion_prepare,
    .reference = {lion_ref_f32, lion_ref_f64},
};
