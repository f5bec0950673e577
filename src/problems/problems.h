/* problems.h: what a test problem provides (internal). */
#ifndef DSC_PROBLEMS_INTERNAL_H
#define DSC_PROBLEMS_INTERNAL_H

#include "descent_problems.h"
#include "../core/internal.h"

typedef struct dsc__problem_def dsc__problem_def;

struct dsc_problem {
    const dsc__problem_def *def;
    size_t dim;
    double param[4]; /* problem-specific settings from the spec */
};

struct dsc__problem_def {
    const char *name;
    /* reads the spec's keys into pb (dim, param) */
    dsc_status (*configure)(dsc_problem *pb, const dsc__spec *sp);
    void (*start)(const dsc_problem *pb, double *x);
    int (*minimum)(const dsc_problem *pb, double *xstar, double *fstar);
    double (*eval_f64)(const dsc_problem *pb, const double *x, double *grad);
    float (*eval_f32)(const dsc_problem *pb, const float *x, float *grad);
};

extern const dsc__problem_def dsc__problem_rosenbrock;

#endif
