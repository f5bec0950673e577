/*
 * schedulefree.c: Schedule-Free AdamW (Defazio et al. 2024), the rule of
 * facebookresearch/schedule_free's AdamWScheduleFreeReference, which keeps x
 * explicitly. Per group and step t (k = t-1 there):
 *   sched = t/warmup_steps while t <= warmup_steps, else 1
 *   lr_t = lr * sched * sqrt(1 - b2^t);  lr_max = max(lr_max, lr_t)
 *   w = t^r * lr_max^weight_lr_power;  W += w;  c = w / W
 * per element, with y the training point (where the gradient was taken):
 *   z -= lr_t * wd * y;  v = b2 v + (1-b2) g^2;  z -= lr_t * g / (sqrt(v) + eps)
 *   x = (1-c) x + c z;  y = b1 x + (1-b1) z  (written to the parameter)
 * State: z, exp_avg_sq and x. y is rebuilt from z and x (never read back from the
 * parameter after the first step), so the state alone restores either point and
 * a checkpoint taken in either mode resumes the same run.
 * Read once plain, then its typed part once per element type (rule_types.h).
 */
#ifndef T
#include "kernel.h"

struct sf_scalars {
    double beta1, beta2, one_minus_beta2;
    double lr;     /* lr_t, this step's warmed-up rate */
    double weight; /* c = w / W, x's averaging weight */
    double eps;
};
DSC__SCALARS_FIT(struct sf_scalars);

static int sf_state(const dsc_hparams *hp, const char **names)
{
    (void)hp;
    names[0] = "z";
    names[1] = "exp_avg_sq";
    names[2] = "x";
    return 3;
}

static dsc_status sf_validate(const dsc_hparams *hp)
{
    if (hp->lookahead_k > 0)
        return dsc__fail(DSC_ERR_RANGE, "schedulefree_adamw: lookahead does not apply (the iterate is "
                         "rebuilt from z and x); use lookahead_k=0");
    return dsc__check_decay_in_update(hp);
}

static void sf_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    double sched = t <= hp->warmup_steps ? (double)t / (double)hp->warmup_steps : 1.0;
    double lr = hp->lr * sched * sqrt(1.0 - pow(hp->beta2, (double)t));
    if (lr > gs->lr_max) gs->lr_max = lr;
    double w = pow((double)t, hp->r) * pow(gs->lr_max, hp->weight_lr_power);
    gs->weight_sum += w;
    const struct sf_scalars k = {
        .beta1 = hp->beta1,
        .beta2 = hp->beta2,
        .one_minus_beta2 = 1.0 - hp->beta2,
        .lr = lr,
        .weight = gs->weight_sum > 0 ? w / gs->weight_sum : 0.0,
        .eps = hp->eps,
    };
    dsc__scalars_put(s, &k, sizeof k);
}

static struct sf_scalars sf_scalars_of(const dsc__scal *s)
{
    struct sf_scalars k;
    dsc__scalars_get(s, &k, sizeof k);
    return k;
}
#endif

#ifdef T
/* ---- the rule, for element type T. The decay is a term of the rule (lr_t*wd*y),
 * so the gradient prologue runs without the L2 term (dsc__without_l2). */

static void FN(sf_ref)(const dsc__scal *s, void *pv, const void *gv, void *const *st, size_t n)
{
    const struct sf_scalars k = sf_scalars_of(s);
    const dsc__scal q = dsc__without_l2(s);
    T *p = pv, *z = st[0], *v = st[1], *x = st[2];
    const T *g = gv;
    const T b2 = (T)k.beta2, omb2 = (T)k.one_minus_beta2, lr = (T)k.lr;
    const T c = (T)k.weight, eps = (T)k.eps, b1 = (T)k.beta1;
    const T lrwd = (T)(k.lr * s->wd);
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad)(&q, &p[i], g[i]);
        if (s->first) z[i] = x[i] = p[i];
        T y = s->first ? p[i] : x[i] * b1 + z[i] * ((T)1 - b1);
        if (lrwd != 0) z[i] = z[i] - lrwd * y;
        v[i] = v[i] * b2 + omb2 * d * d;
        z[i] = z[i] + (-lr) * (d / (DSC__SQRT(v[i]) + eps));
        x[i] = x[i] * ((T)1 - c) + c * z[i];
        p[i] = x[i] * b1 + z[i] * ((T)1 - b1);
    }
}

/* first: the group's first step (z = x = y = p); wd: the decay term is on; gen as
 * dsc__grad_prologue of the full scalars. */
DSC__ALWAYS_INLINE void FN(sf_loop)(const dsc__scal *s, T *restrict p, const T *restrict g, T *restrict z,
                                    T *restrict v, T *restrict x, size_t n, const int first, const int wd,
                                    const int gen)
{
    const struct sf_scalars k = sf_scalars_of(s);
    struct FN(dsc__grad_consts) gc = FN(dsc__grad_consts_of)(s);
    gc.wd = 0; /* dsc__without_l2 */
    const T b2 = (T)k.beta2, omb2 = (T)k.one_minus_beta2, lr = (T)k.lr;
    const T c = (T)k.weight, eps = (T)k.eps, b1 = (T)k.beta1;
    const T omb1 = (T)1 - b1, omc = (T)1 - c;
    const T lrwd = (T)(k.lr * s->wd);
    DSC__SIMD
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad_fast)(&gc, gen, p[i], g[i]);
        if (gen) p[i] = p[i] * gc.decay;
        T pi = p[i];
        T zi = first ? pi : z[i], xi = first ? pi : x[i];
        T y = first ? pi : xi * b1 + zi * omb1;
        if (wd) zi = zi - lrwd * y;
        T vi = v[i] * b2 + omb2 * d * d;
        v[i] = vi;
        zi = zi + (-lr) * (d / (DSC__SQRT(vi) + eps));
        xi = xi * omc + c * zi;
        z[i] = zi;
        x[i] = xi;
        p[i] = xi * b1 + zi * omb1;
    }
}

DSC__CLONES static void FN(sf_fast)(const dsc__scal *s, void *p, const void *g, void *const *st, size_t n)
{
    T *z = st[0], *v = st[1], *x = st[2];
    const int first = s->first != 0, wd = sf_scalars_of(s).lr * s->wd != 0;
    switch (3 * (2 * first + wd) + dsc__grad_prologue(s)) {
    case 0: FN(sf_loop)(s, p, g, z, v, x, n, 0, 0, 0); break;
    case 1: FN(sf_loop)(s, p, g, z, v, x, n, 0, 0, 1); break;
    case 2: FN(sf_loop)(s, p, g, z, v, x, n, 0, 0, 2); break;
    case 3: FN(sf_loop)(s, p, g, z, v, x, n, 0, 1, 0); break;
    case 4: FN(sf_loop)(s, p, g, z, v, x, n, 0, 1, 1); break;
    case 5: FN(sf_loop)(s, p, g, z, v, x, n, 0, 1, 2); break;
    case 6: FN(sf_loop)(s, p, g, z, v, x, n, 1, 0, 0); break;
    case 7: FN(sf_loop)(s, p, g, z, v, x, n, 1, 0, 1); break;
    case 8: FN(sf_loop)(s, p, g, z, v, x, n, 1, 0, 2); break;
    case 9: FN(sf_loop)(s, p, g, z, v, x, n, 1, 1, 0); break;
    case 10: FN(sf_loop)(s, p, g, z, v, x, n, 1, 1, 1); break;
    default: FN(sf_loop)(s, p, g, z, v, x, n, 1, 1, 2); break;
    }
}

/* eval: p = x; train: p = y = b1 x + (1-b1) z */
static void FN(sf_place)(const dsc_hparams *hp, void *pv, void *const *st, size_t n, int eval)
{
    T *p = pv;
    const T *z = st[0], *x = st[2], b1 = (T)hp->beta1;
    for (size_t i = 0; i < n; i++) p[i] = eval ? x[i] : x[i] * b1 + z[i] * ((T)1 - b1);
}
#else
#define DSC_RULE_FILE "schedulefree.c"
#include "rule_types.h"

const dsc__ops dsc__ops_schedulefree_adamw = {
    .kind = DSC_SCHEDULEFREE_ADAMW,
    .state_names = sf_state,
    .validate = sf_validate,
    .prepare = sf_prepare,
    .reference = {sf_ref_f32, sf_ref_f64},
    .fast = {sf_fast_f32, sf_fast_f64},
    .place = {sf_place_f32, sf_place_f64},
    .eval_state = "x",
};
#endif
