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

/* "rosenbrock" or "rosenbrock(n=10)"; see dsc_problem_list for the names. */
dsc_status dsc_problem_create(dsc_problem **out, const char *spec);
void dsc_problem_destroy(dsc_problem *pb);

/* The names of the problems, NULL-terminated. */
const char *const *dsc_problem_list(void);

const char *dsc_problem_name(const dsc_problem *pb);
size_t dsc_problem_dim(const dsc_problem *pb);

/* The usual start point (dim values). */
void dsc_problem_start(const dsc_problem *pb, double *x);

/* The known minimiser and minimum; 0 when none is known (or not unique). */
int dsc_problem_minimum(const dsc_problem *pb, double *xstar, double *fstar);

/* f(x), and the gradient into grad when grad is not NULL: in double, and in float
 * arithmetic for f32 runs. */
double dsc_problem_eval(const dsc_problem *pb, const double *x, double *grad);
float dsc_problem_eval_f32(const dsc_problem *pb, const float *x, float *grad);

#ifdef __cplusplus
}
#endif
#endif
