/*
 * logreg.c: logistic regression, f(w, b) = 1/n sum_i softplus(z_i) - y_i z_i with
 * z_i = x_i . w + b and y_i in {0, 1}, on a generated dataset (logreg(n=200, d=5,
 * seed=1)) or a CSV file (logreg(data=FILE), labels 0/1 in the last column). The
 * minimiser is found by Newton's method at create; on separable data there is none
 * (the weights grow without bound and the loss goes to 0: breast_cancer.csv's 30
 * features separate its classes) and the problem reports no known minimum. Start 0.
 * The file is read once plain, then its typed part (the function and its gradient)
 * once per element type (core/typed.h); Newton's method, which evaluates the f64
 * one, after it.
 */
#ifndef T
#include "design.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* expf and log1pf on a float, so the f32 run computes in float throughout */
#define EXP(x) _Generic((x), float: expf, default: exp)(x)
#define LOG1P(x) _Generic((x), float: log1pf, default: log1p)(x)

#define DSC_TYPED_FILE "../problems/logreg.c" /* relative to typed.h */
#include "../core/typed.h"
#endif

#ifdef T
static T FN(logreg)(const dsc_problem *pb, const T *w, T *grad)
{
    const dsc__design *ds = pb->data;
    const T *x = FN(dsc__design_x)(ds), *y = FN(dsc__design_y)(ds);
    size_t d = ds->d;
    T f = 0, inv = (T)1 / (T)ds->n;
    if (grad)
        for (size_t j = 0; j <= d; j++) grad[j] = 0;
    for (size_t i = 0; i < ds->n; i++) {
        const T *row = &x[i * d];
        T z = w[d];
        for (size_t j = 0; j < d; j++) z += row[j] * w[j];
        /* softplus and sigmoid without overflow for large |z| */
        T e = EXP(-(z > 0 ? z : -z));
        f += (z > 0 ? z : 0) + LOG1P(e) - y[i] * z;
        if (grad) {
            T r = (z > 0 ? (T)1 / (1 + e) : e / (1 + e)) - y[i];
            for (size_t j = 0; j < d; j++) grad[j] += r * row[j] * inv;
            grad[d] += r * inv;
        }
    }
    return f * inv;
}
#else
/* One Newton system: H = [X 1]^T diag(p (1 - p)) [X 1] / n, g the gradient. */
static void hessian(const dsc__design *ds, const double *w, double *h)
{
    size_t m = ds->d + 1;
    memset(h, 0, m * m * sizeof *h);
    for (size_t i = 0; i < ds->n; i++) {
        const double *row = &ds->x[i * ds->d];
        double z = w[ds->d];
        for (size_t j = 0; j < ds->d; j++) z += row[j] * w[j];
        double p = 1.0 / (1.0 + exp(-z)), s = p * (1.0 - p) / (double)ds->n;
        for (size_t j = 0; j < m; j++)
            for (size_t k = 0; k < m; k++)
                h[j * m + k] += s * (j < ds->d ? row[j] : 1.0) * (k < ds->d ? row[k] : 1.0);
    }
}

static void newton(const dsc_problem *pb, dsc__design *ds)
{
    size_t m = ds->d + 1;
    double *h = malloc(m * m * sizeof *h), *g = malloc(m * sizeof *g);
    for (int iter = 0; h && g && iter < 100; iter++) {
        logreg_f64(pb, ds->xstar, g);
        double gmax = 0;
        for (size_t j = 0; j < m; j++) gmax = fmax(gmax, fabs(g[j]));
        if (gmax < 1e-13) {
            ds->known = 1;
            break;
        }
        hessian(ds, ds->xstar, h);
        if (dsc__solve_spd(h, g, m)) break;
        for (size_t j = 0; j < m; j++) ds->xstar[j] -= g[j];
    }
    free(h);
    free(g);
    /* Newton's "minimum" of separable data is a point far out where the loss has
     * all but vanished; a real one leaves the overlapping rows' loss */
    if (ds->known && !(logreg_f64(pb, ds->xstar, NULL) > 1e-8)) ds->known = 0;
}

static dsc_status logreg_configure(dsc_problem *pb, const dsc__spec *sp)
{
    return dsc__design_configure("logreg", pb, sp, 1, newton);
}

const dsc__problem_def dsc__problem_logreg = {
    .name = "logreg",
    .configure = logreg_configure,
    .start = dsc__design_start,
    .minima = dsc__design_minima,
    .eval_f64 = logreg_f64,
    .eval_f32 = logreg_f32,
    .destroy = dsc__design_destroy,
};
#endif
