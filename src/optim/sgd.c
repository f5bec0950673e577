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

/* Fast variants: MODE 0 no momentum, 1 PyTorch momentum, 2 PyTorch Nesterov,
 * 3 lr-in-buffer, 4 lr-in-buffer Nesterov; GEN = general gradient prologue. */
#define SGD_FAST(T, SFX, MODE, GEN)                                            \
    DSC__FAST_BEGIN(sgd_fast_##MODE##GEN##_##SFX, T)                           \
    T *restrict b = MODE ? (T *)st[0] : NULL;                                  \
    const T mu = (T)s->c[0], damp = (T)s->c[1], lr = (T)s->lr, nlr = -lr;      \
    const int first = s->first;                                                \
    (void)mu; (void)damp; (void)first;                                         \
    DSC__FAST_LOOP(T, GEN, d)                                                  \
        if (MODE == 0) {                                                       \
            p[i] = p[i] + nlr * d;                                             \
        } else if (MODE >= 3) {                                                \
            T bi = mu * b[i] - lr * d;                                         \
            b[i] = bi;                                                         \
            p[i] = p[i] + (MODE == 4 ? mu * bi - lr * d : bi);                 \
        } else {                                                               \
            T bi = b[i] * mu + damp * d;                                       \
            bi = first ? d : bi;                                               \
            b[i] = bi;                                                         \
            T u = MODE == 2 ? d + mu * bi : bi;                                \
            p[i] = p[i] + nlr * u;                                             \
        }                                                                      \
    }                                                                          \
    }
#define SGD_GENS(T, SFX, MODE) SGD_FAST(T, SFX, MODE, 0) SGD_FAST(T, SFX, MODE, 1) SGD_FAST(T, SFX, MODE, 2)
#define SGD_K(SFX, MODE) {sgd_fast_##MODE##0_##SFX, sgd_fast_##MODE##1_##SFX, sgd_fast_##MODE##2_##SFX}
#define SGD_VARIANTS(T, SFX)                                                              \
    SGD_GENS(T, SFX, 0) SGD_GENS(T, SFX, 1) SGD_GENS(T, SFX, 2) SGD_GENS(T, SFX, 3)       \
    SGD_GENS(T, SFX, 4)                                                                   \
    static void sgd_fast_##SFX(const dsc__scal *s, void *p, const void *g,                \
                               void *const *st, size_t n)                                 \
    {                                                                                     \
        static const dsc__kernel k[5][3] = {SGD_K(SFX, 0), SGD_K(SFX, 1), SGD_K(SFX, 2),  \
                                            SGD_K(SFX, 3), SGD_K(SFX, 4)};                \
        int nest = s->c[2] != 0;                                                          \
        int mode = s->c[0] == 0 ? 0 : s->c[3] != 0 ? 3 + nest : 1 + nest;                 \
        k[mode][dsc__grad_general(s)](s, p, g, st, n);                                    \
    }
SGD_VARIANTS(float, f32)
SGD_VARIANTS(double, f64)

const dsc__ops dsc__ops_sgd = {
    .kind = DSC_SGD,
    .state_names = sgd_state,
    .prepare = sgd_prepare,
    .reference = {sgd_ref_f32, sgd_ref_f64},
    .fast = {sgd_fast_f32, sgd_fast_f64},
};
