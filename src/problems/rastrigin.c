/*
 * rastrigin.c: f(x) = 10 n + sum_i x_i^2 - 10 cos(2 pi x_i), a bowl covered in
 * local minima (one near every integer point); global minimum 0 at the origin.
 * Start alternating -2.3, 2.7 (between bumps). Key: n (dimension, default 2).
 * The file is read once plain, then its typed part (the function and its gradient)
 * once per element type (core/typed.h).
 */
#ifndef T
#include "problems.h"

#include <math.h>

static dsc_status rastrigin_configure(dsc_problem *pb, const dsc__spec *sp)
{
    return dsc__problem_dim_key("rastrigin", pb, sp, 1);
}

static void rastrigin_start(const dsc_problem *pb, double *x)
{
    for (size_t i = 0; i < pb->dim; i++) x[i] = i % 2 == 0 ? -2.3 : 2.7;
}

static size_t rastrigin_minima(const dsc_problem *pb, size_t k, double *xstar, double *fstar)
{
    return dsc__problem_point_minimum(pb, 0.0, k, xstar, fstar);
}

#define TWO_PI 6.283185307179586476925286766559
/* cosf and sinf on a float, so the f32 run computes in float throughout */
#define COS(x) _Generic((x), float: cosf, default: cos)(x)
#define SIN(x) _Generic((x), float: sinf, default: sin)(x)

#define DSC_TYPED_FILE "../problems/rastrigin.c" /* relative to typed.h */
#include "../core/typed.h"
#endif

#ifdef T
static T FN(rastrigin)(const dsc_problem *pb, const T *x, T *grad)
{
    T f = (T)10 * (T)pb->dim;
    for (size_t i = 0; i < pb->dim; i++) {
        T w = (T)TWO_PI * x[i];
        f += x[i] * x[i] - (T)10 * COS(w);
        if (grad) grad[i] = 2 * x[i] + (T)(10 * TWO_PI) * SIN(w);
    }
    return f;
}
#else
const dsc__problem_def dsc__problem_rastrigin = {
    .name = "rastrigin",
    .configure = rastrigin_configure,
    .start = rastrigin_start,
    .minima = rastrigin_minima,
    .eval_f64 = rastrigin_f64,
    .eval_f32 = rastrigin_f32,
};
#endif
