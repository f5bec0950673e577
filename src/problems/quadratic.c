/*
 * quadratic.c: f(x) = 1/2 sum_i c_i x_i^2 with curvatures c_i log-spaced from 1 to
 * cond (c_i = cond^(i/(n-1))), so cond is the Hessian's condition number: the plain
 * test of how an optimizer copes with ill-conditioning. Minimum 0 at the origin;
 * start (1, ..., 1). Keys: n (dimension, default 2), cond (>= 1, default 100).
 * The curvatures are tabulated at configure (pb->data): an evaluation is then a plain
 * weighted sum of squares, with no exp per element.
 * The file is read once plain, then its typed part (the function and its gradient)
 * once per element type (core/typed.h).
 */
#ifndef T
#include "problems.h"

#include <math.h>
#include <stdlib.h>

static dsc_status quad_configure(dsc_problem *pb, const dsc__spec *sp)
{
    static const dsc__problem_key keys[] = {{"n", 2, 1, 1e8, 1}, {"cond", 100, 1, 1e12, 0}};
    double v[2];
    dsc_status st = dsc__problem_keys("quadratic", sp, keys, 2, v, NULL, NULL);
    if (st) return st;
    pb->dim = (size_t)v[0];
    double spacing = log(v[1]) / (pb->dim > 1 ? (double)(pb->dim - 1) : 1.0); /* log-spacing */
    double *c = malloc(pb->dim * sizeof *c);
    if (!c) return dsc__fail(DSC_ERR_NOMEM, "quadratic: out of memory for %zu curvatures", pb->dim);
    for (size_t i = 0; i < pb->dim; i++) c[i] = exp(spacing * (double)i);
    pb->data = c;
    return DSC_OK;
}

static void quad_destroy(dsc_problem *pb) { free(pb->data); }

static void quad_start(const dsc_problem *pb, double *x)
{
    for (size_t i = 0; i < pb->dim; i++) x[i] = 1.0;
}

static size_t quad_minima(const dsc_problem *pb, size_t k, double *xstar, double *fstar)
{
    return dsc__problem_point_minimum(pb, 0.0, k, xstar, fstar);
}

#define DSC_TYPED_FILE "../problems/quadratic.c" /* relative to typed.h */
#include "../core/typed.h"
#endif

#ifdef T
static T FN(quad)(const dsc_problem *pb, const T *x, T *grad)
{
    const double *curv = pb->data;
    T f = 0;
    for (size_t i = 0; i < pb->dim; i++) {
        T c = (T)curv[i];
        f += (T)0.5 * c * x[i] * x[i];
        if (grad) grad[i] = c * x[i];
    }
    return f;
}
#else
const dsc__problem_def dsc__problem_quadratic = {
    .name = "quadratic",
    .configure = quad_configure,
    .start = quad_start,
    .minima = quad_minima,
    .eval_f64 = quad_f64,
    .eval_f32 = quad_f32,
    .destroy = quad_destroy,
};
#endif
