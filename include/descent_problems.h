/* SPDX-License-Identifier: MIT (see LICENSE); part of descent. */
/*
 * descent_problems.h: classic test functions with analytic gradients, to compare
 * optimizers on (Rosenbrock and friends). Part of libdescent; depends on the core only.
 */
#ifndef DESCENT_PROBLEMS_H
#define DESCENT_PROBLEMS_H

#include "descent.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dsc_problem dsc_problem;

/*
 * "rosenbrock" or "rosenbrock(n=10)"; see dsc_problem_list for the names:
 *   rosenbrock(n=2)  beale  booth  himmelblau  rastrigin(n=2)
 *   quadratic(n=2, cond=100)      f = 1/2 sum_i c_i x_i^2, c log-spaced in [1, cond]
 *   gaussians                     minus a mixture of four 2-D Gaussian densities
 *   linreg(n=200, d=5, seed=1)    least squares on a generated dataset, or data=FILE.csv
 *   logreg(n=200, d=5, seed=1)    logistic regression likewise (labels 0/1)
 */
dsc_status dsc_problem_create(dsc_problem **out, const char *spec);
void dsc_problem_destroy(dsc_problem *pb);

/* The names of the problems, NULL-terminated. */
const char *const *dsc_problem_list(void);

const char *dsc_problem_name(const dsc_problem *pb);
size_t dsc_problem_dim(const dsc_problem *pb);

/* The usual start point (dim values). */
void dsc_problem_start(const dsc_problem *pb, double *x);

/* The known (global) minimiser and minimum; 0 when none is known. Either pointer may
 * be NULL. */
int dsc_problem_minimum(const dsc_problem *pb, double *xstar, double *fstar);

/* How many minimisers are known (Himmelblau has four, all global). */
size_t dsc_problem_minima_count(const dsc_problem *pb);

/* The k-th known minimiser (0: the global one) and its value; 0 when k >= the count. */
int dsc_problem_minimum_k(const dsc_problem *pb, size_t k, double *xstar, double *fstar);

/* The known minimiser nearest to x, its value and distance (dist may be NULL);
 * 0 when none is known. */
int dsc_problem_nearest_minimum(const dsc_problem *pb, const double *x, double *xstar,
                                double *fstar, double *dist);

/* f(x), and the gradient into grad when grad is not NULL: in double, and in float
 * arithmetic for f32 runs. */
double dsc_problem_eval(const dsc_problem *pb, const double *x, double *grad);
float dsc_problem_eval_f32(const dsc_problem *pb, const float *x, float *grad);

#ifdef __cplusplus
}
#endif
#endif
