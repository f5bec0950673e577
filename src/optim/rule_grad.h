/*
 * rule_grad.h: the effective gradient of one element, for element type T (read by
 * rule_types.h once per type). In torch.optim's order: scaled (the clipping
 * coefficient), clamped (clip_value), negated (maximize), plus the L2 and L1 terms;
 * the decoupled decay p *= 1 - lr*wd is applied to the parameter beside it.
 */

/* The reference: each option a branch, as the loops the tests trust are written. */
static inline T FN(dsc__grad)(const dsc__scal *s, T *p, T g)
{
    T d = g;
    if (s->gscale != 1.0) d = d * (T)s->gscale;
    if (s->clip_value > 0) {
        T cv = (T)s->clip_value;
        d = d > cv ? cv : (d < -cv ? -cv : d);
    }
    if (s->maximize) d = -d;
    if (s->wd != 0) d = d + (T)s->wd * *p;
    if (s->l1 != 0) d = d + (T)s->l1 * DSC__SIGN(T, *p);
    if (s->decay != 1.0) *p = *p * (T)s->decay;
    return d;
}

/* The fast kernels' prologue, without branches: every option that is off is its
 * identity (scale 1, clip at infinity, sign +1, coefficient 0, decay 1). */
struct FN(dsc__grad_consts) {
    T scale, sign, clip, neg_clip, wd, l1, decay;
};

static inline struct FN(dsc__grad_consts) FN(dsc__grad_consts_of)(const dsc__scal *s)
{
    const T clip = s->clip_value > 0 ? (T)s->clip_value : (T)INFINITY;
    return (struct FN(dsc__grad_consts)){(T)s->gscale, s->maximize ? (T)-1 : (T)1, clip, -clip,
                                         (T)s->wd, (T)s->l1, (T)s->decay};
}

/* gen (a constant where it is inlined, dsc__grad_prologue): 0 is g itself, 1 the cheap
 * options, 2 also the compares of clip_value and L1. Each option that is on sees the
 * reference's operations in its order, so the results are equal; 1 and 2 may differ
 * from the reference only in the sign of an exact zero (adding 0*p to -0). The
 * caller decays p (p * c->decay) when gen is not 0. */
DSC__ALWAYS_INLINE T FN(dsc__grad_fast)(const struct FN(dsc__grad_consts) *c, const int gen, T p, T g)
{
    T d = g;
    if (gen) {
        d = d * c->scale;
        if (gen == 2) d = d > c->clip ? c->clip : (d < c->neg_clip ? c->neg_clip : d);
        d = d * c->sign;
        d = d + c->wd * p;
        if (gen == 2) d = d + c->l1 * DSC__SIGN(T, p);
    }
    return d;
}
