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
 */
#include "kernel.h"

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

/* c[0] = b2, c[1] = 1-b2, c[2] = lr_t, c[3] = c, c[4] = eps, c[5] = b1 */
static void sf_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    double sched = t <= hp->warmup_steps ? (double)t / (double)hp->warmup_steps : 1.0;
    double lr = hp->lr * sched * sqrt(1.0 - pow(hp->beta2, (double)t));
    if (lr > gs->lr_max) gs->lr_max = lr;
    double w = pow((double)t, hp->r) * pow(gs->lr_max, hp->weight_lr_power);
    gs->weight_sum += w;
    s->c[0] = hp->beta2;
    s->c[1] = 1.0 - hp->beta2;
    s->c[2] = lr;
    s->c[3] = gs->weight_sum > 0 ? w / gs->weight_sum : 0.0;
    s->c[4] = hp->eps;
    s->c[5] = hp->beta1;
}

#define SF_REF(T, SFX)                                                        \
    DSC__KERNEL_BEGIN(sf_ref, T, SFX)                                         \
    T *z = (T *)st[0], *v = (T *)st[1], *x = (T *)st[2];                      \
    const dsc__scal q = dsc__without_l2(s);                                   \
    const T b2 = (T)s->c[0], omb2 = (T)s->c[1], lr = (T)s->c[2];              \
    const T c = (T)s->c[3], eps = (T)s->c[4], b1 = (T)s->c[5];                \
    const T lrwd = (T)(s->c[2] * s->wd);                                      \
    for (size_t i = 0; i < n; i++) {                                          \
        DSC__GRAD(T, &q, p, g, i, d);                                         \
        if (s->first) z[i] = x[i] = p[i];                                     \
        T y = s->first ? p[i] : x[i] * b1 + z[i] * ((T)1 - b1);               \
        if (lrwd != 0) z[i] = z[i] - lrwd * y;                                \
        v[i] = v[i] * b2 + omb2 * d * d;                                      \
        z[i] = z[i] + (-lr) * (d / (DSC__SQRT(v[i]) + eps));                  \
        x[i] = x[i] * ((T)1 - c) + c * z[i];                                  \
        p[i] = x[i] * b1 + z[i] * ((T)1 - b1);                                \
    }                                                                         \
    DSC__KERNEL_END
SF_REF(float, f32)
SF_REF(double, f64)

/* Fast variants: WD = decay term in the update, GEN = general gradient prologue
 * (kernel.h; its L2 coefficient is zero here, the decay being a term of its own). */
#define SF_FAST(T, SFX, WD, GEN)                                               \
    DSC__FAST_BEGIN(sf_fast_##WD##GEN##_##SFX, T)                              \
    T *restrict z = (T *)st[0], *restrict v = (T *)st[1];                      \
    T *restrict x = (T *)st[2];                                                \
    const dsc__scal q = dsc__without_l2(s);                                    \
    const T b2 = (T)s->c[0], omb2 = (T)s->c[1], lr = (T)s->c[2];               \
    const T c = (T)s->c[3], eps = (T)s->c[4], b1 = (T)s->c[5];                 \
    const T omb1 = (T)1 - b1, omc = (T)1 - c;                                  \
    const T lrwd = (T)(s->c[2] * s->wd);                                       \
    const int first = s->first;                                                \
    (void)lrwd;                                                                \
    DSC__GRAD_CONSTS(T, &q);                                                   \
    DSC__SIMD                                                                  \
    for (size_t i = 0; i < n; i++) {                                           \
        DSC__GRAD_FAST(T, GEN, p, g, i, d);                                    \
        T pi = p[i];                                                           \
        T zi = first ? pi : z[i], xi = first ? pi : x[i];                      \
        T y = first ? pi : xi * b1 + zi * omb1;                                \
        if (WD) zi = zi - lrwd * y;                                            \
        T vi = v[i] * b2 + omb2 * d * d;                                       \
        v[i] = vi;                                                             \
        zi = zi + (-lr) * (d / (DSC__SQRT(vi) + eps));                         \
        xi = xi * omc + c * zi;                                                \
        z[i] = zi;                                                             \
        x[i] = xi;                                                             \
        p[i] = xi * b1 + zi * omb1;                                            \
    }                                                                          \
    }
DSC__VARIANTS2(SF_FAST, float, f32)
DSC__VARIANTS2(SF_FAST, double, f64)
DSC__DISPATCH2(sf_fast, f32, s->c[2] * s->wd != 0)
DSC__DISPATCH2(sf_fast, f64, s->c[2] * s->wd != 0)

/* eval: p = x; train: p = y = b1 x + (1-b1) z */
#define SF_PLACE(T, SFX)                                                               \
    static void sf_place_##SFX(const dsc_hparams *hp, void *pv, void *const *st, size_t n, \
                               int eval)                                               \
    {                                                                                  \
        T *p = (T *)pv;                                                                \
        const T *z = (const T *)st[0], *x = (const T *)st[2], b1 = (T)hp->beta1;       \
        for (size_t i = 0; i < n; i++) p[i] = eval ? x[i] : x[i] * b1 + z[i] * ((T)1 - b1); \
    }
SF_PLACE(float, f32)
SF_PLACE(double, f64)

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
