/*
 * linreg.c: least squares, f(w, b) = 1/(2n) sum_i (x_i . w + b - y_i)^2, on a
 * generated dataset (linreg(n=200, d=5, seed=1)) or a CSV file (linreg(data=FILE)).
 * The minimiser solves the normal equations, once at create. Start 0.
 * The file is read once plain, then its typed part (the function and its gradient)
 * once per element type (core/typed.h).
 */
#ifndef T
#include "design.h"

#include <stdlib.h>

/* [X 1]^T [X 1] / n and [X 1]^T y / n, solved by Cholesky. */
static void solve_normal(const dsc_problem *pb, dsc__design *ds)
{
    (void)pb;
    size_t m = ds->d + 1;
    double *a = calloc(m * m, sizeof *a);
    if (!a) return;
    for (size_t i = 0; i < ds->n; i++) {
        const double *row = &ds->x[i * ds->d];
        for (size_t j = 0; j < m; j++) {
            double xj = j < ds->d ? row[j] : 1.0;
            ds->xstar[j] += xj * ds->y[i] / (double)ds->n;
            for (size_t k = 0; k < m; k++) a[j * m + k] += xj * (k < ds->d ? row[k] : 1.0) / (double)ds->n;
        }
    }
    ds->known = dsc__solve_spd(a, ds->xstar, m) == 0;
    free(a);
}

#define DSC_TYPED_FILE "../problems/linreg.c" /* relative to typed.h */
#include "../core/typed.h"
#endif

#ifdef T
static T FN(linreg)(const dsc_problem *pb, const T *w, T *grad)
{
    const dsc__design *ds = pb->data;
    const T *x = FN(dsc__design_x)(ds), *y = FN(dsc__design_y)(ds);
    size_t d = ds->d;
    T f = 0, inv = (T)1 / (T)ds->n;
    if (grad)
        for (size_t j = 0; j <= d; j++) grad[j] = 0;
    for (size_t i = 0; i < ds->n; i++) {
        const T *row = &x[i * d];
        T r = w[d] - y[i];
        for (size_t j = 0; j < d; j++) r += row[j] * w[j];
        f += r * r;
        if (grad) {
            for (size_t j = 0; j < d; j++) grad[j] += r * row[j] * inv;
            grad[d] += r * inv;
        }
    }
    return (T)0.5 * f * inv;
}
#else
static dsc_status linreg_configure(dsc_problem *pb, const dsc__spec *sp)
{
    return dsc__design_configure("linreg", pb, sp, 0, solve_normal);
}

const dsc__problem_def dsc__problem_linreg = {
    .name = "linreg",
    .configure = linreg_configure,
    .start = dsc__design_start,
    .minima = dsc__design_minima,
    .eval_f64 = linreg_f64,
    .eval_f32 = linreg_f32,
    .destroy = dsc__design_destroy,
};
#endif
