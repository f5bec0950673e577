/*
 * sgd.c: stochastic gradient descent with momentum, dampening and Nesterov
 * (torch.optim.SGD), and the seeds' lr-in-buffer convention as an option.
 *
 *   PyTorch:      b1 = g;  b = mu*b + (1-tau)*g;  d = nesterov ? g + mu*b : b;  p -= lr*d
 *   lr_in_buffer: v = mu*v - lr*g;  p += nesterov ? mu*v - lr*g : v
 * The two agree while lr is constant and differ when it changes (a schedule).
 */
#include "kernel.h"

static int sgd_state(const dsc_hparams *hp, const char **names)
{
    if (hp->momentum == 0) return 0;
    names[0] = "momentum_buffer";
    return 1;
}

/* c[0] = mu, c[1] = 1 - dampening */
static void sgd_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    (void)t;
    s->c[0] = hp->momentum;
    s->c[1] = 1.0 - hp->dampening;
    s->c[2] = hp->nesterov;
    s->c[3] = hp->lr_in_buffer;
}

#define SGD_REF(T, SFX)                                                   \
    DSC__KERNEL_BEGIN(sgd_ref, T, SFX)                                    \
    T *b = (T *)st[0];                                                    \
    const T mu = (T)s->c[0], damp = (T)s->c[1], lr = (T)s->lr;           \
    const int nesterov = s->c[2] != 0, in_buffer = s->c[3] != 0;          \
    for (size_t i = 0; i < n; i++) {                                      \
        DSC__GRAD(T, s, p, g, i, d);                                      \
        if (mu == 0) {                                                    \
            p[i] = p[i] + (-lr) * d;                                      \
        } else if (in_buffer) {                                           \
            b[i] = mu * b[i] - lr * d;                                    \
            p[i] = p[i] + (nesterov ? mu * b[i] - lr * d : b[i]);         \
        } else {                                                          \
            b[i] = s->first ? d : b[i] * mu + damp * d;                   \
            if (nesterov) d = d + mu * b[i];                              \
            else d = b[i];                                                \
            p[i] = p[i] + (-lr) * d;                                      \
        }                                                                 \
    }                                                                     \
    DSC__KERNEL_END
SGD_REF(float, f32)
SGD_REF(double, f64)

const dsc__ops dsc__ops_sgd = {
    .kind = DSC_SGD,
    .state_names = sgd_state,
    .prepare = sgd_prepare,
    .reference = {sgd_ref_f32, sgd_ref_f64},
};
