/*
 * gaussians.c: f(x) = -sum_k w_k N(x; mu_k, S_k), minus a mixture of four 2-D
 * Gaussian densities: one deep well and three shallower ones, so an optimizer can be
 * caught in a local minimum, and a flat plateau far from all four where the gradient
 * vanishes. The components (weight; mean; covariance [sxx sxy; sxy syy]):
 *
 *   1.0; ( 1.5,  1.0); [0.6  0.2; 0.2 0.5]     the global minimum
 *   0.6; (-1.0, -1.5); [0.4  0  ; 0   0.4]
 *   0.5; (-1.5,  1.5); [0.5 -0.2; -0.2 0.5]
 *   0.4; ( 1.0, -1.5); [0.3  0  ; 0   0.6]
 *
 * Gradient: grad N_k = -N_k S_k^-1 (x - mu_k), so grad f = sum_k w_k N_k S_k^-1 (x - mu_k).
 * The minimisers lie near the means, not at them (the tails of the other components
 * pull them); they are found by Newton's method at create. Start (-0.3, 0.2).
 * The file is read once plain, then its typed part (the function and its gradient)
 * once per element type (core/typed.h).
 */
#ifndef T
#include "problems.h"

#include <math.h>

#define NCOMP 4
static const double weight[NCOMP] = {1.0, 0.6, 0.5, 0.4};
static const double mean[NCOMP][2] = {{1.5, 1.0}, {-1.0, -1.5}, {-1.5, 1.5}, {1.0, -1.5}};
static const double cov[NCOMP][3] = {{0.6, 0.2, 0.5}, {0.4, 0.0, 0.4}, {0.5, -0.2, 0.5}, {0.3, 0.0, 0.6}};

static dsc_status gauss_configure(dsc_problem *pb, const dsc__spec *sp)
{
    dsc_status st = dsc__problem_plane("gaussians", pb, sp);
    if (st) return st;
    for (int k = 0; k < NCOMP; k++) {
        pb->aux[2 * k] = mean[k][0], pb->aux[2 * k + 1] = mean[k][1];
        dsc__problem_newton2(pb, &pb->aux[2 * k]);
    }
    return DSC_OK;
}

static void gauss_start(const dsc_problem *pb, double *x)
{
    (void)pb;
    x[0] = -0.3, x[1] = 0.2;
}

static size_t gauss_minima(const dsc_problem *pb, size_t k, double *xstar, double *fstar)
{
    return dsc__problem_table_minima(pb, pb->aux, NCOMP, k, xstar, fstar);
}

/* expf on a float, so the f32 run computes in float throughout */
#define EXP(x) _Generic((x), float: expf, default: exp)(x)

#define DSC_TYPED_FILE "../problems/gaussians.c" /* relative to typed.h */
#include "../core/typed.h"
#endif

#ifdef T
/* Each component's precision S^-1 and normalizer w / (2 pi sqrt|S|), in T. */
static T FN(gauss)(const dsc_problem *pb, const T *x, T *grad)
{
    (void)pb;
    T f = 0, g0 = 0, g1 = 0;
    for (int k = 0; k < NCOMP; k++) {
        double det = cov[k][0] * cov[k][2] - cov[k][1] * cov[k][1];
        T pxx = (T)(cov[k][2] / det), pxy = (T)(-cov[k][1] / det);
        T pyy = (T)(cov[k][0] / det);
        T norm = (T)(weight[k] / (6.283185307179586 * sqrt(det)));
        T dx = x[0] - (T)mean[k][0], dy = x[1] - (T)mean[k][1];
        T ux = pxx * dx + pxy * dy, uy = pxy * dx + pyy * dy;
        T dens = norm * EXP((T)-0.5 * (dx * ux + dy * uy));
        f -= dens;
        g0 += dens * ux;
        g1 += dens * uy;
    }
    if (grad) grad[0] = g0, grad[1] = g1;
    return f;
}
#else
const dsc__problem_def dsc__problem_gaussians = {
    .name = "gaussians",
    .configure = gauss_configure,
    .start = gauss_start,
    .minima = gauss_minima,
    .eval_f64 = gauss_f64,
    .eval_f32 = gauss_f32,
};
#endif
