/*
 * beale.c: f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2,
 * minimum 0 at (3, 0.5); start (1, 1). A flat plateau and steep walls.
 * The file is read once plain, then its typed part (the function and its gradient)
 * once per element type (core/typed.h).
 */
#ifndef T
#include "problems.h"

static dsc_status beale_configure(dsc_problem *pb, const dsc__spec *sp)
{
    return dsc__problem_plane("beale", pb, sp);
}

static void beale_start(const dsc_problem *pb, double *x)
{
    (void)pb;
    x[0] = 1.0, x[1] = 1.0;
}

static size_t beale_minima(const dsc_problem *pb, size_t k, double *xstar, double *fstar)
{
    static const double table[] = {3.0, 0.5};
    return dsc__problem_table_minima(pb, table, 1, k, xstar, fstar);
}

#define DSC_TYPED_FILE "../problems/beale.c" /* relative to typed.h */
#include "../core/typed.h"
#endif

#ifdef T
static T FN(beale)(const dsc_problem *pb, const T *p, T *grad)
{
    (void)pb;
    T x = p[0], y = p[1];
    T a = (T)1.5 - x + x * y;
    T b = (T)2.25 - x + x * y * y;
    T c = (T)2.625 - x + x * y * y * y;
    if (grad) {
        grad[0] = 2 * a * (y - 1) + 2 * b * (y * y - 1) + 2 * c * (y * y * y - 1);
        grad[1] = 2 * a * x + 4 * b * x * y + 6 * c * x * y * y;
    }
    return a * a + b * b + c * c;
}
#else
const dsc__problem_def dsc__problem_beale = {
    .name = "beale",
    .configure = beale_configure,
    .start = beale_start,
    .minima = beale_minima,
    .eval_f64 = beale_f64,
    .eval_f32 = beale_f32,
};
#endif
