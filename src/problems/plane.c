/*
 * plane.c: what the fixed 2-D problems (beale, booth, himmelblau, gaussians) share:
 * no keys, and a table of minimisers whose values are the function's there.
 */
#include "problems.h"

dsc_status dsc__problem_plane(const char *who, dsc_problem *pb, const dsc__spec *sp)
{
    pb->dim = 2;
    return dsc__problem_keys(who, sp, NULL, 0, NULL, NULL, NULL);
}

size_t dsc__problem_table_minima(const dsc_problem *pb, const double *table, size_t count, size_t k,
                                 double *xstar, double *fstar)
{
    if (k < count) {
        double x[2] = {table[2 * k], table[2 * k + 1]};
        if (xstar) xstar[0] = x[0], xstar[1] = x[1];
        if (fstar) *fstar = pb->def->eval_f64(pb, x, NULL);
    }
    return count;
}
