/*
 * booth.c: f(x, y) = (x + 2y - 7)^2 + (2x + y - 5)^2, a convex quadratic with
 * minimum 0 at (1, 3); start (-4, -4).
 * The file is read once plain, then its typed part (the function and its gradient)
 * once per element type (core/typed.h).
 */
#ifndef T
#include "problems.h"

static dsc_status booth_configure(dsc_problem *pb, const dsc__spec *sp)
{
    return dsc__problem_plane("booth", pb, sp);
}

static void booth_start(const dsc_problem *pb, double *x)
{
    (void)pb;
    x[0] = -4.0, x[1] = -4.0;
}

static size_t booth_minima(const dsc_problem *pb, size_t k, double *xstar, double *fstar)
{
    static const double table[] = {1.0, 3.0};
    return dsc__problem_table_minima(pb, table, 1, k, xstar, fstar);
}

#define DSC_TYPED_FILE "../problems/booth.c" /* relative to typed.h */
#include "../core/typed.h"
#endif

#ifdef T
static T FN(booth)(const dsc_problem *pb, const T *p, T *grad)
{
    (void)pb;
    T a = p[0] + 2 * p[1] - 7, b = 2 * p[0] + p[1] - 5;
    if (grad) {
        grad[0] = 2 * a + 4 * b;
        grad[1] = 4 * a + 2 * b;
    }
    return a * a + b * b;
}
#else
const dsc__problem_def dsc__problem_booth = {
    .name = "booth",
    .configure = booth_configure,
    .start = booth_start,
    .minima = booth_minima,
    .eval_f64 = booth_f64,
    .eval_f32 = booth_f32,
};
#endif
