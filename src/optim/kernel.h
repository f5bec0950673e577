/*
 * kernel.h: what every update rule shares. Each rule is written once as a macro over
 * the element type T, then instantiated for float and double, so f32 arithmetic
 * stays in float (as PyTorch computes f32 tensors) and f64 in double.
 *
 * DSC__GRAD gives the effective gradient of element i: scaled (clipping), clamped,
 * negated for maximize, plus L2 and L1; and applies decoupled decay to p[i].
 * The order follows torch.optim: maximize, then weight decay.
 */
#ifndef DSC_KERNEL_H
#define DSC_KERNEL_H

#include "../core/internal.h"

#include <math.h>

#define DSC__SIGN(T, x) ((T)((x) > 0) - (T)((x) < 0))

#define DSC__GRAD(T, s, p, g, i, out)                                   \
    T out = (g)[i];                                                     \
    if ((s)->gscale != 1.0) out = out * (T)(s)->gscale;                 \
    if ((s)->clip_value > 0) {                                          \
        T cv_ = (T)(s)->clip_value;                                     \
        out = out > cv_ ? cv_ : (out < -cv_ ? -cv_ : out);              \
    }                                                                   \
    if ((s)->maximize) out = -out;                                      \
    if ((s)->wd != 0) out = out + (T)(s)->wd * (p)[i];                  \
    if ((s)->l1 != 0) out = out + (T)(s)->l1 * DSC__SIGN(T, (p)[i]);    \
    if ((s)->decay != 1.0) (p)[i] = (p)[i] * (T)(s)->decay

/* sqrt and fabs in the element's own type */
#define DSC__SQRT(x) _Generic((x), float: sqrtf, default: sqrt)(x)
#define DSC__ABS(x) _Generic((x), float: fabsf, default: fabs)(x)
/* a*b + c rounded once, in the type of c: where torch's CPU kernels fuse a product
 * and a sum (addcmul) and the rounding of the product alone would change the result */
#define DSC__FMA(a, b, c) _Generic((c), float: fmaf, default: fma)(a, b, c)

/* Adam's two moments, as torch.optim computes them:
 * m = m*b1 + (1-b1)*d;  v = v*b2 + (1-b2)*d*d, with b1, omb1 = 1-b1, b2, omb2 = 1-b2. */
#define DSC__ADAM_MOMENTS(m, v, i, d, b1, omb1, b2, omb2) \
    (m)[i] = (m)[i] * (b1) + (omb1) * (d);                \
    (v)[i] = (v)[i] * (b2) + (omb2) * (d) * (d)

/* Stores the moment constants of hp into c[0..3]: b1, 1-b1, b2, 1-b2. */
#define DSC__ADAM_CONSTS(hp, c) \
    (c)[0] = (hp)->beta1;       \
    (c)[1] = 1.0 - (hp)->beta1; \
    (c)[2] = (hp)->beta2;       \
    (c)[3] = 1.0 - (hp)->beta2

/* For rules whose weight decay is a term of the update (LAMB, LARS, schedule-free):
 * the scalars without the coupled L2 term, which the rule applies itself as s->wd
 * (0 for DSC_NO_DECAY tensors). */
static inline dsc__scal dsc__without_l2(const dsc__scal *s)
{
    dsc__scal q = *s;
    q.wd = 0;
    return q;
}

/* Their validation: the decay term cannot also be decoupled. */
static inline dsc_status dsc__check_decay_in_update(const dsc_hparams *hp)
{
    if (!hp->decoupled_weight_decay) return DSC_OK;
    return dsc__fail(DSC_ERR_RANGE, "%s: weight_decay is a term of the update; decoupled_weight_decay must be false",
                     dsc_kind_name(hp->kind));
}

/* ---- the shape of a rule (docs/adding_an_optimizer.md)
 * A kind's file is read once plain and then once per element type T (float, double):
 * its typed part, under #ifdef T, holds the rule as plain functions named FN(name)
 * (name_f32, name_f64), and the plain part ends with
 *     #define DSC_RULE_FILE "adam.c"
 *     #include "rule_types.h"
 * which reads that typed part for both types. The per-step scalars of a kind are a
 * struct of its own, stored into s->c by its prepare and read back by its loops
 * (dsc__scalars_put, dsc__scalars_get: memcpy, which the compiler removes). */

/* Inlined wherever it is called, so that the options passed as constants become
 * branch-free variants of the loop (one per case of the fast kernel's switch). */
#if defined(__GNUC__)
#define DSC__ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define DSC__ALWAYS_INLINE static inline
#endif

static inline void dsc__scalars_put(dsc__scal *s, const void *k, size_t size)
{
    memcpy(s->c, k, size);
}

static inline void dsc__scalars_get(const dsc__scal *s, void *k, size_t size)
{
    memcpy(k, s->c, size);
}

/* A kind's scalars fit s->c (checked where each struct is declared). */
#define DSC__SCALARS_FIT(type) _Static_assert(sizeof(type) <= sizeof(((dsc__scal *)0)->c), #type " fits s->c")

/* The Adam family's moment coefficients, as torch.optim computes them:
 * m = m*beta1 + one_minus_beta1*d;  v = v*beta2 + one_minus_beta2*d*d. */
struct dsc__moments {
    double beta1, one_minus_beta1, beta2, one_minus_beta2;
};

static inline struct dsc__moments dsc__moments_of(double beta1, double beta2)
{
    return (struct dsc__moments){beta1, 1.0 - beta1, beta2, 1.0 - beta2};
}

/* Adam's scalars of step t into s (adam.c): Adam's own prepare, and Muon's AdamW for
 * the tensors that are not matrices. */
void dsc__adam_scalars_set(dsc__scal *s, double beta1, double beta2, double lr, double eps, int amsgrad,
                           int64_t t);

/* Declares a kernel for type T: p, g and the state buffers as T pointers. */
#define DSC__KERNEL_BEGIN(name, T, SFX)                                                     \
    static void name##_##SFX(const dsc__scal *s, void *pv, const void *gv, void *const *st, \
                             size_t n)                                                      \
    {                                                                                       \
        T *p = (T *)pv;                                                                     \
        const T *g = (const T *)gv;                                                         \
        (void)st;

#define DSC__KERNEL_END }

/* ---- fast kernels
 * The same rules as the reference loops, written so the compiler vectorises them:
 * restrict pointers, and every option a kind has (amsgrad, nesterov, centered, ...)
 * a compile-time 0/1 of its own variant, so the loops have no branches. The
 * gradient prologue is either absent (GEN 0: d = g, when every option is off) or
 * branch-free arithmetic: GEN 1 for the cheap options (clipping coefficient,
 * maximize, L2, decoupled decay: one multiply or add each), GEN 2 adds the compares
 * of clip_value and L1. An option that is off becomes its identity
 * (scale 1, clip at infinity, sign +1, coefficient 0, decay 1). Each element then
 * sees the reference's operations in the reference's order (no FMA contraction in
 * ISO C mode), so the results are equal; GEN 1 and 2 may differ only in the sign of an
 * exact zero (adding 0*p to -0). */
/* Whether a step needs the general gradient prologue. */
static inline int dsc__grad_general(const dsc__scal *s)
{
    if (s->clip_value > 0 || s->l1 != 0) return 2;
    return s->gscale != 1.0 || s->maximize || s->wd != 0 || s->decay != 1.0;
}

/* The fast kernels' variant: 3 * option (0 or 1) + the gradient prologue (0, 1, 2). */
static inline int dsc__variant(int option, const dsc__scal *s)
{
    return 3 * (option != 0) + dsc__grad_general(s);
}

/* Loop-invariant values of the prologue, for DSC__GRAD_FAST. */
#define DSC__GRAD_CONSTS(T, s)                                                      \
    const T gs_ = (T)(s)->gscale, sg_ = (s)->maximize ? (T)-1 : (T)1;              \
    const T cv_ = (s)->clip_value > 0 ? (T)(s)->clip_value : (T)INFINITY;          \
    const T ncv_ = -cv_, wd_ = (T)(s)->wd, l1_ = (T)(s)->l1, dc_ = (T)(s)->decay;   \
    (void)gs_; (void)sg_; (void)ncv_; (void)wd_; (void)l1_; (void)dc_

/* The effective gradient out of gradient gi and parameter value pv, without branches
 * (GEN 1, 2) or gi itself (GEN 0); the decay is left to the caller. */
#define DSC__GRAD_VALUE(T, GEN, pv, gi, out)                              \
    T out = (gi);                                                         \
    if (GEN) {                                                            \
        out = out * gs_;                                                  \
        if (GEN == 2) out = out > cv_ ? cv_ : (out < ncv_ ? ncv_ : out);  \
        out = out * sg_;                                                  \
        out = out + wd_ * (pv);                                           \
        if (GEN == 2) out = out + l1_ * DSC__SIGN(T, (pv));               \
    }

/* DSC__GRAD without branches (GEN 1, 2) or nothing (GEN 0); p[i] gets the decayed value. */
#define DSC__GRAD_FAST(T, GEN, p, g, i, out)                              \
    DSC__GRAD_VALUE(T, GEN, (p)[i], (g)[i], out);                         \
    if (GEN) (p)[i] = (p)[i] * dc_;

/* Opens a fast kernel's loop over i: the prologue's constants, the simd mark, and
 * the effective gradient d of element i. */
#define DSC__FAST_LOOP(T, GEN, d) DSC__FAST_LOOP_IDX(T, GEN, d, size_t)
/* The same with an index of type IT, for n that IT holds: a 32-bit index keeps a hash
 * of the index in 32-bit vector lanes (bf16 state's rounding). */
#define DSC__FAST_LOOP_IDX(T, GEN, d, IT)  \
    DSC__GRAD_CONSTS(T, s);                \
    DSC__SIMD                              \
    for (IT i = 0; i < (IT)n; i++) {       \
        DSC__GRAD_FAST(T, GEN, p, g, i, d);

/* The Adam family's moment constants c[0..3] as T, and its two moments of element i
 * updated (m = b1*m + (1-b1)*d, v = b2*v + (1-b2)*d*d) into mi, vi and stored. */
#define DSC__ADAM_FAST_CONSTS(T, s)                                                  \
    const T b1 = (T)(s)->c[0], omb1 = (T)(s)->c[1], b2 = (T)(s)->c[2];              \
    const T omb2 = (T)(s)->c[3];                                                     \
    (void)omb2
#define DSC__ADAM_FAST_MOMENTS(T, m, v, i, d, mi, vi) \
    T mi = (m)[i] * b1 + omb1 * (d);                 \
    T vi = (v)[i] * b2 + omb2 * (d) * (d);           \
    (m)[i] = mi;                                      \
    (v)[i] = vi

/* For the rules with per-tensor norms (LAMB, LARS): a fast kernel of the first pass,
 * whose decay is always 1 (dsc__check_decay_in_update). */
#define DSC__NORMS_BEGIN(name, T)                                                        \
    DSC__CLONES static void name(const dsc__scal *s, void *pv, const void *gv,           \
                                 void *const *st, size_t n, double *sums)                \
    {                                                                                    \
        const T *restrict p = (const T *)pv;                                             \
        const T *restrict g = (const T *)gv;                                             \
        (void)st;

/* A first pass's loop: for element i, pi = p[i] and the effective gradient d, then the
 * statements of the rest, then the squares of X and Y summed in double into sums[0..1]. */
#define DSC__NORMS_LOOP(T, GEN, X, Y, ...)                \
    double sx_ = 0, sy_ = 0;                              \
    DSC__GRAD_CONSTS(T, s);                               \
    DSC__SIMD_SUM2(sx_, sy_)                              \
    for (size_t i = 0; i < n; i++) {                      \
        const T pi = p[i];                                \
        DSC__GRAD_VALUE(T, GEN, pi, g[i], d);             \
        __VA_ARGS__;                                      \
        sx_ += (double)(X) * (double)(X);                 \
        sy_ += (double)(Y) * (double)(Y);                 \
    }                                                     \
    sums[0] += sx_;                                       \
    sums[1] += sy_;

/* Defines name_SFX, the first pass that picks variant name_0<gen>_SFX per call. The
 * rules with per-tensor norms add the decay term wd*p themselves: the variant sees
 * the gradient without the L2 term, and wd as c[7]. */
#define DSC__NORMS_DISPATCH(name, SFX)                                                       \
    static void name##_##SFX(const dsc__scal *s, void *p, const void *g, void *const *st,    \
                             size_t n, double *sums)                                         \
    {                                                                                        \
        static const dsc__norms_kernel k_[3] = {name##_00_##SFX, name##_01_##SFX,            \
                                                name##_02_##SFX};                            \
        dsc__scal q = dsc__without_l2(s);                                                    \
        q.c[7] = s->wd;                                                                      \
        k_[dsc__grad_general(&q)](&q, p, g, st, n, sums);                                    \
    }

/* On x86-64 with glibc, each fast kernel is compiled twice, for the baseline and for
 * AVX2, and the loader picks one (an ifunc): the binary runs on any x86-64, and where
 * AVX2 is present the square roots and divisions go twice as wide, which keeps a
 * single thread at memory speed. AVX2 brings no FMA, so the results stay the same. */
#if defined(__x86_64__) && defined(__GLIBC__) && defined(__has_attribute) && !defined(DSC_NO_CLONES)
#if __has_attribute(target_clones)
#define DSC__CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef DSC__CLONES
#define DSC__CLONES
#endif
/* The same for a kernel that calls DSC__FMA: a third clone for CPUs with FMA (x86-64-v3,
 * Haswell on), where fma is one instruction and the loop still vectorises; elsewhere
 * it is glibc's exact fma. No other expression is contracted (-ffp-contract=off). */
#if defined(__x86_64__) && defined(__GLIBC__) && defined(__has_attribute) && !defined(DSC_NO_CLONES)
#if __has_attribute(target_clones)
#define DSC__CLONES_FMA __attribute__((target_clones("arch=haswell", "avx2", "default")))
#endif
#endif
#ifndef DSC__CLONES_FMA
#define DSC__CLONES_FMA
#endif

/* Declares variant name_VARIANT_SFX of a fast kernel: p, g as restrict T pointers. */
#define DSC__FAST_BEGIN(name, T) DSC__FAST_BEGIN_CLONES(name, T, DSC__CLONES)
#define DSC__FAST_BEGIN_CLONES(name, T, CLONES)                                          \
    CLONES static void name(const dsc__scal *s, void *pv, const void *gv,           \
                                 void *const *st, size_t n)                              \
    {                                                                                    \
        T *restrict p = (T *)pv;                                                         \
        const T *restrict g = (const T *)gv;                                             \
        (void)st;

/* Instantiates variant macro M for options 0..1 (or 0 only) and the three prologues. */
#define DSC__VARIANTS1(M, T, SFX) M(T, SFX, 0, 0) M(T, SFX, 0, 1) M(T, SFX, 0, 2)
#define DSC__VARIANTS2(M, T, SFX) \
    DSC__VARIANTS1(M, T, SFX) M(T, SFX, 1, 0) M(T, SFX, 1, 1) M(T, SFX, 1, 2)

/* Defines name_SFX, the fast kernel that picks variant name_<opt><gen>_SFX per call. */
#define DSC__DISPATCH1(name, SFX)                                                            \
    static void name##_##SFX(const dsc__scal *s, void *p, const void *g, void *const *st,    \
                             size_t n)                                                       \
    {                                                                                        \
        static const dsc__kernel k_[3] = {name##_00_##SFX, name##_01_##SFX, name##_02_##SFX}; \
        k_[dsc__grad_general(s)](s, p, g, st, n);                                            \
    }
#define DSC__DISPATCH2(name, SFX, opt)                                                       \
    static void name##_##SFX(const dsc__scal *s, void *p, const void *g, void *const *st,    \
                             size_t n)                                                       \
    {                                                                                        \
        static const dsc__kernel k_[2][3] = {                                                \
            {name##_00_##SFX, name##_01_##SFX, name##_02_##SFX},                             \
            {name##_10_##SFX, name##_11_##SFX, name##_12_##SFX}};                            \
        k_[(opt) ? 1 : 0][dsc__grad_general(s)](s, p, g, st, n);                             \
    }

#endif
