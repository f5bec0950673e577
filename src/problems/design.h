/* design.h: the data of the regression problems (design.c), shared by linreg.c and logreg.c. */
#ifndef DSC_PROBLEMS_DESIGN_H
#define DSC_PROBLEMS_DESIGN_H

#include "problems.h"

typedef struct dsc__design {
    size_t n, d;      /* rows, features */
    double *x, *y;    /* n x d row-major, n targets */
    float *xf, *yf;   /* the same in float */
    int known;        /* the minimiser below was found */
    double *xstar;    /* d + 1 values: weights, bias */
    double fstar;
} dsc__design;

/* The data in one element type, for the typed parts of linreg.c and logreg.c
 * (core/typed.h): FN(dsc__design_x)(ds) is ds->xf in float and ds->x in double. */
static inline const float *dsc__design_x_f32(const dsc__design *ds) { return ds->xf; }
static inline const double *dsc__design_x_f64(const dsc__design *ds) { return ds->x; }
static inline const float *dsc__design_y_f32(const dsc__design *ds) { return ds->yf; }
static inline const double *dsc__design_y_f64(const dsc__design *ds) { return ds->y; }

/* Keys n, d, seed (a generated dataset) or data=FILE.csv (features, then the target
 * in the last column; features standardized). logistic: 0/1 targets. */
/* solve looks for the minimiser (ds->xstar, ds->known); f* is then taken there. */
dsc_status dsc__design_configure(const char *who, dsc_problem *pb, const dsc__spec *sp, int logistic,
                                 void (*solve)(const dsc_problem *pb, dsc__design *ds));
/* n x d data, targets and a zeroed minimiser (d + 1 values); design_alloc.c. */
dsc_status dsc__design_alloc(dsc__design *ds, size_t n, size_t d);
/* The data of a CSV file; design_csv.c. */
dsc_status dsc__design_load(const char *who, dsc__design *ds, const char *path, int logistic);
void dsc__design_destroy(dsc_problem *pb);
void dsc__design_start(const dsc_problem *pb, double *x);
size_t dsc__design_minima(const dsc_problem *pb, size_t k, double *xstar, double *fstar);

/* Solves a x = b for symmetric positive definite a (n x n, overwritten by its
 * Cholesky factor); x into b. -1 when a is not positive definite. */
int dsc__solve_spd(double *a, double *b, size_t n);

#endif
