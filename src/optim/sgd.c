/*
 * sgd.c: stochastic gradient descent with momentum, dampening and Nesterov
 * (torch.optim.SGD), and the seeds' lr-in-buffer convention as an option.
 *
 *   PyTorch:      b1 = g;  b = mu*b + (1-tau)*g;  d = nesterov ? g + mu*b : b;  p -= lr*d
 *   lr_in_buffer: v = mu*v - lr*g;  p += nesterov ? mu*v - lr*g : v
 * The two agree while lr is constant and differ when it changes (a schedule).
 * Read once plain, then its typed part once per element type (rule_types.h).
 */
#ifndef T
#include "kernel.h"

struct sgd_scalars {
    double momentum, one_minus_dampening, lr;
    int nesterov, lr_in_buffer;
};
DSC__SCALARS_FIT(struct sgd_scalars);

/* The fast loop's modes. */
enum { SGD_PLAIN, SGD_MOMENTUM, SGD_NESTEROV, SGD_IN_BUFFER, SGD_IN_BUFFER_NESTEROV };

static int sgd_state(const dsc_hparams *hp, const char **names)
{
    if (hp->momentum == 0) return 0;
    names[0] = "momentum_buffer";
    return 1;
}

static void sgd_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    (void)t;
    const struct sgd_scalars k = {.momentum = hp->momentum, .one_minus_dampening = 1.0 - hp->dampening,
                                  .lr = s->lr, .nesterov = hp->nesterov, .lr_in_buffer = hp->lr_in_buffer};
    dsc__scalars_put(s, &k, sizeof k);
}

static struct sgd_scalars sgd_scalars_of(const dsc__scal *s)
{
    struct sgd_scalars k;
    dsc__scalars_get(s, &k, sizeof k);
    return k;
}
#endif

#ifdef T
/* ---- the rule, for element type T */

static void FN(sgd_ref)(const dsc__scal *s, void *pv, const void *gv, void *const *st, size_t n)
{
    const struct sgd_scalars k = sgd_scalars_of(s);
    T *p = pv, *b = st[0];
    const T *g = gv;
    const T mu = (T)k.momentum, damp = (T)k.one_minus_dampening, lr = (T)k.lr;
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad)(s, &p[i], g[i]);
        if (mu == 0) {
            p[i] = p[i] + (-lr) * d;
        } else if (k.lr_in_buffer) {
            b[i] = mu * b[i] - lr * d;
            p[i] = p[i] + (k.nesterov ? mu * b[i] - lr * d : b[i]);
        } else {
            b[i] = s->first ? d : b[i] * mu + damp * d;
            if (k.nesterov) d = d + mu * b[i];
            else d = b[i];
            p[i] = p[i] + (-lr) * d;
        }
    }
}

/* mode: one of SGD_PLAIN..SGD_IN_BUFFER_NESTEROV, a constant where it is inlined. */
DSC__ALWAYS_INLINE void FN(sgd_loop)(const dsc__scal *s, T *restrict p, const T *restrict g, T *restrict b,
                                     size_t n, const int mode, const int gen)
{
    const struct sgd_scalars k = sgd_scalars_of(s);
    const struct FN(dsc__grad_consts) gc = FN(dsc__grad_consts_of)(s);
    const T mu = (T)k.momentum, damp = (T)k.one_minus_dampening, lr = (T)k.lr, nlr = -lr;
    const int first = s->first;
    DSC__SIMD
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad_fast)(&gc, gen, p[i], g[i]);
        if (gen) p[i] = p[i] * gc.decay;
        if (mode == SGD_PLAIN) {
            p[i] = p[i] + nlr * d;
        } else if (mode >= SGD_IN_BUFFER) {
            T bi = mu * b[i] - lr * d;
            b[i] = bi;
            p[i] = p[i] + (mode == SGD_IN_BUFFER_NESTEROV ? mu * bi - lr * d : bi);
        } else {
            T bi = b[i] * mu + damp * d;
            bi = first ? d : bi;
            b[i] = bi;
            T u = mode == SGD_NESTEROV ? d + mu * bi : bi;
            p[i] = p[i] + nlr * u;
        }
    }
}

DSC__CLONES static void FN(sgd_fast)(const dsc__scal *s, void *p, const void *g, void *const *st, size_t n)
{
    const struct sgd_scalars k = sgd_scalars_of(s);
    const int nest = k.nesterov != 0;
    const int mode = k.momentum == 0 ? SGD_PLAIN : k.lr_in_buffer ? SGD_IN_BUFFER + nest : SGD_MOMENTUM + nest;
    T *b = mode == SGD_PLAIN ? NULL : st[0];
    switch (3 * mode + dsc__grad_prologue(s)) {
    case 0: FN(sgd_loop)(s, p, g, b, n, SGD_PLAIN, 0); break;
    case 1: FN(sgd_loop)(s, p, g, b, n, SGD_PLAIN, 1); break;
    case 2: FN(sgd_loop)(s, p, g, b, n, SGD_PLAIN, 2); break;
    case 3: FN(sgd_loop)(s, p, g, b, n, SGD_MOMENTUM, 0); break;
    case 4: FN(sgd_loop)(s, p, g, b, n, SGD_MOMENTUM, 1); break;
    case 5: FN(sgd_loop)(s, p, g, b, n, SGD_MOMENTUM, 2); break;
    case 6: FN(sgd_loop)(s, p, g, b, n, SGD_NESTEROV, 0); break;
    case 7: FN(sgd_loop)(s, p, g, b, n, SGD_NESTEROV, 1); break;
    case 8: FN(sgd_loop)(s, p, g, b, n, SGD_NESTEROV, 2); break;
    case 9: FN(sgd_loop)(s, p, g, b, n, SGD_IN_BUFFER, 0); break;
    case 10: FN(sgd_loop)(s, p, g, b, n, SGD_IN_BUFFER, 1); break;
    case 11: FN(sgd_loop)(s, p, g, b, n, SGD_IN_BUFFER, 2); break;
    case 12: FN(sgd_loop)(s, p, g, b, n, SGD_IN_BUFFER_NESTEROV, 0); break;
    case 13: FN(sgd_loop)(s, p, g, b, n, SGD_IN_BUFFER_NESTEROV, 1); break;
    default: FN(sgd_loop)(s, p, g, b, n, SGD_IN_BUFFER_NESTEROV, 2); break;
    }
}
#else
#define DSC_RULE_FILE "sgd.c"
#include "rule_types.h"

/* torch 1.13's momentum buffer for a sparse gradient is a sparse tensor, a clone of the
 * first gradient to which each step adds the next one's rows, and it decays and moves
 * every row it has ever named at every step: the dense rule on a dense buffer whose
 * rows never named stay 0, with a zero gradient on the rows a step does not name.
 * (torch's buffer is uncoalesced, so its rounding follows the order of its entries;
 * descent's is the dense rule's, equal to torch's within rounding.) */
static int sgd_sparse_all_rows(const dsc_hparams *hp) { return hp->momentum != 0; }

const dsc__ops dsc__ops_sgd = {
    .kind = DSC_SGD,
    .state_names = sgd_state,
    .prepare = sgd_prepare,
    .reference = {sgd_ref_f32, sgd_ref_f64},
    .fast = {sgd_fast_f32, sgd_fast_f64},
    /* plain sparse SGD: p -= lr*g on the named rows; with momentum, every row */
    .sparse = DSC__SPARSE_TAKES,
    .sparse_all_rows = sgd_sparse_all_rows,
};
#endif
