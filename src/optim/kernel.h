/*
 * kernel.h: what every update rule shares (docs/adding_an_optimizer.md).
 *
 * A kind's file is read once plain and then once per element type T (float,
 * double), so f32 arithmetic stays in float (as PyTorch computes f32 tensors) and f64
 * in double. Its typed part, under #ifdef T, holds the rule as plain functions named
 * FN(name) (name_f32, name_f64); the plain part ends with
 *     #define DSC_RULE_FILE "adam.c"
 *     #include "rule_types.h"
 * which reads that typed part for both types, each with the gradient prologue of
 * rule_grad.h. A kind's per-step scalars are a struct of its own, stored into s->c by
 * its prepare and read back by its loops (dsc__scalars_put, dsc__scalars_get: memcpy,
 * which the compiler removes).
 *
 * Each rule has a reference loop (the tests' oracle, every option a branch) and a
 * fast one: an always_inline loop that takes each option (amsgrad, nesterov, ...) and
 * the gradient prologue as constant arguments, called from a small switch, so the
 * compiler makes one branch-free, vectorised loop per case. Each element sees the
 * reference's operations in the reference's order (no FMA contraction:
 * -ffp-contract=off), so the results are equal.
 */
#ifndef DSC_KERNEL_H
#define DSC_KERNEL_H

#include "../core/internal.h"

#include <math.h>

#define DSC__SIGN(T, x) ((T)((x) > 0) - (T)((x) < 0))

/* sqrt and fabs in the element's own type */
#define DSC__SQRT(x) _Generic((x), float: sqrtf, default: sqrt)(x)
#define DSC__ABS(x) _Generic((x), float: fabsf, default: fabs)(x)
/* a*b + c rounded once, in the type of c: where torch's CPU kernels fuse a product
 * and a sum (addcmul) and the rounding of the product alone would change the result */
#define DSC__FMA(a, b, c) _Generic((c), float: fmaf, default: fma)(a, b, c)

/* Inlined wherever it is called, so that the options passed as constants become
 * branch-free variants of the loop (one per case of the fast kernel's switch). */
#if defined(__GNUC__)
#define DSC__ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define DSC__ALWAYS_INLINE static inline
#endif

/* ---- a kind's per-step scalars in s->c */
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

/* ---- the fast kernels' variants
 * The gradient prologue of a step (rule_grad.h): 0 when every option is off (d = g),
 * 1 for the cheap options (clipping coefficient, maximize, L2, decoupled decay: one
 * multiply or add each), 2 when it also needs the compares of clip_value and L1. */
static inline int dsc__grad_prologue(const dsc__scal *s)
{
    if (s->clip_value > 0 || s->l1 != 0) return 2;
    return s->gscale != 1.0 || s->maximize || s->wd != 0 || s->decay != 1.0;
}

/* The case of a fast kernel's switch: 3 * option (0 or 1) + the gradient prologue. */
static inline int dsc__variant(int option, const dsc__scal *s)
{
    return 3 * (option != 0) + dsc__grad_prologue(s);
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
/* The same for a kernel that calls DSC__FMA: the AVX2 clone is x86-64-v3 (AVX2 with FMA,
 * Haswell on), where fma is one instruction and the loop still vectorises; the baseline
 * calls glibc's exact fma. (An AVX2 clone without FMA would call it from AVX code, 60
 * times slower here.) No other expression is contracted (-ffp-contract=off). */
#if defined(__x86_64__) && defined(__GLIBC__) && defined(__has_attribute) && !defined(DSC_NO_CLONES)
#if __has_attribute(target_clones)
#define DSC__CLONES_FMA __attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
#endif
#ifndef DSC__CLONES_FMA
#define DSC__CLONES_FMA
#endif
/* The same, wider still, for a loop whose elements are each computed alone (no sum
 * across them, whose order would follow the vector's width): an AVX-512 clone too
 * (x86-64-v4), where a 512-bit vector's divisions and square roots cost about what a
 * 256-bit one's do, so a loop they bound goes up to twice as fast (Adafactor's).
 * Division, square root and the rest round the same at any width; no contraction. */
#if defined(__x86_64__) && defined(__GLIBC__) && defined(__has_attribute) && !defined(DSC_NO_CLONES)
#if __has_attribute(target_clones)
#define DSC__CLONES_WIDE __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef DSC__CLONES_WIDE
#define DSC__CLONES_WIDE
#endif

#endif
