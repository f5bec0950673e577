/*
 * rosenbrock.c: f(x) = sum_{i<n-1} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2,
 * minimum 0 at (1, ..., 1). Start (-1.5, 0.5) in 2-D (the textbook's), and
 * alternating -1.5, 0.5 in n-D. Key: n (dimension, >= 2, default 2).
 * The file is read once plain, then its typed part (the function and its gradient)
 * once per element type (core/typed.h).
 */
#ifndef T
#include "problems.h"

static dsc_status rosen_configure(dsc_problem *pb, const dsc__spec *sp)
{
    return dsc__problem_dim_key("rosenbrock", pb, sp, 2);
}

static void rosen_start(const dsc_problem *pb, double *x)
{
    for (size_t i = 0; i < pb->dim; i++) x[i] = i % 2 == 0 ? -1.5 : 0.5;
}

static size_t rosen_minima(const dsc_problem *pb, size_t k, double *xstar, double *fstar)
{
    return dsc__problem_point_minimum(pb, 1.0, k, xstar, fstar);
}

#define DSC_TYPED_FILE "../problems/rosenbrock.c" /* relative to typed.h */
#include "../core/typed.h"
#endif

#ifdef T
static T FN(rosen)(const dsc_problem *pb, const T *x, T *grad)
{
    size_t n = pb->dim;
    T f = 0;
    if (grad)
        for (size_t i = 0; i < n; i++) grad[i] = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        T a = x[i + 1] - x[i] * x[i], b = (T)1 - x[i];
        f += (T)100 * a * a + b * b;
        if (grad) {
            grad[i] += (T)-400 * x[i] * a - (T)2 * b;
            grad[i + 1] += (T)200 * a;
        }
    }
    return f;
}
#else
const dsc__problem_def dsc__problem_rosenbrock = {
    .name = "rosenbrock",
    .configure = rosen_configure,
    .start = rosen_start,
    .minima = rosen_minima,
    .eval_f64 = rosen_f64,
    .eval_f32 = rosen_f32,
};
#endif
