/* minima.c: known minima for the problems' files: a single point, or a stationary point
 * refined by Newton's method. */
#include "problems.h"

#include <math.h>

size_t dsc__problem_point_minimum(const dsc_problem *pb, double value, size_t k, double *xstar, double *fstar)
{
    if (k > 0) return 1;
    if (xstar)
        for (size_t i = 0; i < pb->dim; i++) xstar[i] = value;
    if (fstar) *fstar = 0.0;
    return 1;
}

/* The gradient's Jacobian by central differences, then x -= H^-1 g (2x2, Cramer). */
void dsc__problem_newton2(const dsc_problem *pb, double *x)
{
    for (int iter = 0; iter < 50; iter++) {
        double g[2], gp[2], gm[2], h[2][2];
        pb->def->eval_f64(pb, x, g);
        for (int j = 0; j < 2; j++) {
            double step = 1e-6 * fmax(1.0, fabs(x[j])), keep = x[j];
            x[j] = keep + step;
            pb->def->eval_f64(pb, x, gp);
            x[j] = keep - step;
            pb->def->eval_f64(pb, x, gm);
            x[j] = keep;
            for (int i = 0; i < 2; i++) h[i][j] = (gp[i] - gm[i]) / (2 * step);
        }
        double det = h[0][0] * h[1][1] - h[0][1] * h[1][0];
        if (det == 0 || !isfinite(det)) return;
        double dx = (h[1][1] * g[0] - h[0][1] * g[1]) / det;
        double dy = (h[0][0] * g[1] - h[1][0] * g[0]) / det;
        x[0] -= dx;
        x[1] -= dy;
        if (fabs(dx) + fabs(dy) < 1e-15 * (1 + fabs(x[0]) + fabs(x[1]))) return;
    }
}
