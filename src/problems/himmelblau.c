/*
 * himmelblau.c: f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2, four minima of value 0:
 * (3, 2) exactly and three irrational ones, tabulated to 6 digits and refined by
 * Newton's method at create so that the gradient there is 0 to rounding. Start (0, 0).
 * Distances are to the nearest minimum (dsc_problem_nearest_minimum).
 * The file is read once plain, then its typed part (the function and its gradient)
 * once per element type (core/typed.h).
 */
#ifndef T
#include "problems.h"

static const double approx[] = {
    3.0, 2.0, -2.805118, 3.131312, -3.779310, -3.283186, 3.584428, -1.848126,
};

static dsc_status himmel_configure(dsc_problem *pb, const dsc__spec *sp)
{
    dsc_status st = dsc__problem_plane("himmelblau", pb, sp);
    if (st) return st;
    for (int k = 0; k < 4; k++) {
        pb->aux[2 * k] = approx[2 * k], pb->aux[2 * k + 1] = approx[2 * k + 1];
        dsc__problem_newton2(pb, &pb->aux[2 * k]);
    }
    return DSC_OK;
}

static void himmel_start(const dsc_problem *pb, double *x)
{
    (void)pb;
    x[0] = 0.0, x[1] = 0.0;
}

static size_t himmel_minima(const dsc_problem *pb, size_t k, double *xstar, double *fstar)
{
    return dsc__problem_table_minima(pb, pb->aux, 4, k, xstar, fstar);
}

#define DSC_TYPED_FILE "../problems/himmelblau.c" /* relative to typed.h */
#include "../core/typed.h"
#endif

#ifdef T
static T FN(himmel)(const dsc_problem *pb, const T *p, T *grad)
{
    (void)pb;
    T x = p[0], y = p[1];
    T a = x * x + y - 11, b = x + y * y - 7;
    if (grad) {
        grad[0] = 4 * x * a + 2 * b;
        grad[1] = 2 * a + 4 * y * b;
    }
    return a * a + b * b;
}
#else
const dsc__problem_def dsc__problem_himmelblau = {
    .name = "himmelblau",
    .configure = himmel_configure,
    .start = himmel_start,
    .minima = himmel_minima,
    .eval_f64 = himmel_f64,
    .eval_f32 = himmel_f32,
};
#endif
