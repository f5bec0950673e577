/* problems.h: what a test problem provides (internal). */
#ifndef DSC_PROBLEMS_INTERNAL_H
#define DSC_PROBLEMS_INTERNAL_H

#include "descent_problems.h"
#include "../core/internal.h"

typedef struct dsc__problem_def dsc__problem_def;

#define DSC__PROBLEM_AUX 16

struct dsc_problem {
    const dsc__problem_def *def;
    size_t dim;
    double param[4];              /* problem-specific settings from the spec */
    double aux[DSC__PROBLEM_AUX]; /* values computed once at configure (refined minima) */
    void *data;                   /* problem-owned data (datasets), freed by def->destroy */
};

struct dsc__problem_def {
    const char *name;
    /* reads the spec's keys into pb (dim, param, data) */
    dsc_status (*configure)(dsc_problem *pb, const dsc__spec *sp);
    void (*start)(const dsc_problem *pb, double *x);
    /* the number of known minimisers (0: none known); fills the k-th (the global
     * one first) into xstar and its value into fstar, either may be NULL */
    size_t (*minima)(const dsc_problem *pb, size_t k, double *xstar, double *fstar);
    double (*eval_f64)(const dsc_problem *pb, const double *x, double *grad);
    float (*eval_f32)(const dsc_problem *pb, const float *x, float *grad);
    void (*destroy)(dsc_problem *pb); /* NULL when data is unused */
};

/* A numeric key of a problem's spec: accepted range, and whether it must be an integer. */
typedef struct dsc__problem_key {
    const char *key;
    double def, min, max;
    int integer;
} dsc__problem_key;

/* ---- helpers for the problems' files: keys.c, minima.c, plane.c */

/* Reads the spec's keys (all of which must be among keys) into values (defaults first);
 * who names the problem in messages. Keys not numeric (data=FILE) are passed through
 * when text_key names them: *text then points at the value (NULL when absent). */
dsc_status dsc__problem_keys(const char *who, const dsc__spec *sp, const dsc__problem_key *keys,
                             size_t nkeys, double *values, const char *text_key, const char **text);

/* Refines a stationary point of a 2-D problem in place by Newton's method on the
 * analytic gradient (Hessian by central differences of it); for tabulated minima. */
void dsc__problem_newton2(const dsc_problem *pb, double *x);

/* The one key n (the dimension, default 2, at least min_n) of the n-D problems. */
dsc_status dsc__problem_dim_key(const char *who, dsc_problem *pb, const dsc__spec *sp, double min_n);

/* The single minimum 0 at (value, ..., value) (rosenbrock 1, rastrigin and quadratic 0). */
size_t dsc__problem_point_minimum(const dsc_problem *pb, double value, size_t k, double *xstar, double *fstar);

/* The fixed 2-D problems (plane.c): dim 2 and no keys; minimisers from a table of
 * (x, y) pairs, the global one first, each with f evaluated there. */
dsc_status dsc__problem_plane(const char *who, dsc_problem *pb, const dsc__spec *sp);
size_t dsc__problem_table_minima(const dsc_problem *pb, const double *table, size_t count, size_t k,
                                 double *xstar, double *fstar);

extern const dsc__problem_def dsc__problem_rosenbrock;
extern const dsc__problem_def dsc__problem_beale;
extern const dsc__problem_def dsc__problem_booth;
extern const dsc__problem_def dsc__problem_himmelblau;
extern const dsc__problem_def dsc__problem_rastrigin;
extern const dsc__problem_def dsc__problem_quadratic;
extern const dsc__problem_def dsc__problem_gaussians;
extern const dsc__problem_def dsc__problem_linreg;
extern const dsc__problem_def dsc__problem_logreg;

#endif
