/*
 * problems.c: the test-problem object and its registry. Each function is written
 * once over the element type (float or double) in its own file of this folder.
 */
#include "problems.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const dsc__problem_def *const defs[] = {
    &dsc__problem_rosenbrock, &dsc__problem_beale,     &dsc__problem_booth,
    &dsc__problem_himmelblau, &dsc__problem_rastrigin, &dsc__problem_quadratic,
    &dsc__problem_gaussians,  &dsc__problem_linreg,    &dsc__problem_logreg,
};
#define NDEFS (sizeof defs / sizeof defs[0])

static const char *const names[NDEFS + 1] = {
    "rosenbrock", "beale", "booth", "himmelblau", "rastrigin", "quadratic", "gaussians",
    "linreg", "logreg", NULL,
};

const char *const *dsc_problem_list(void) { return names; }

dsc_status dsc_problem_create(dsc_problem **out, const char *spec)
{
    if (!out || !spec) return dsc__fail(DSC_ERR_ARG, "dsc_problem_create: NULL argument");
    *out = NULL;
    dsc__spec sp;
    dsc_status st = dsc__spec_split(spec, "problem", &sp);
    if (st) return st;
    for (size_t i = 0; i < NDEFS; i++) {
        if (strcmp(sp.name, defs[i]->name)) continue;
        dsc_problem *pb = calloc(1, sizeof *pb);
        if (!pb) return dsc__fail(DSC_ERR_NOMEM, "problem: out of memory");
        pb->def = defs[i];
        if ((st = defs[i]->configure(pb, &sp))) {
            dsc_problem_destroy(pb);
            return st;
        }
        *out = pb;
        return DSC_OK;
    }
    return dsc__fail(DSC_ERR_SPEC,
                     "unknown problem '%s' (known: rosenbrock, beale, booth, himmelblau, rastrigin, "
                     "quadratic, gaussians, linreg, logreg)",
                     sp.name);
}

void dsc_problem_destroy(dsc_problem *pb)
{
    if (!pb) return;
    if (pb->def->destroy) pb->def->destroy(pb);
    free(pb);
}

const char *dsc_problem_name(const dsc_problem *pb) { return pb ? pb->def->name : NULL; }
size_t dsc_problem_dim(const dsc_problem *pb) { return pb ? pb->dim : 0; }

void dsc_problem_start(const dsc_problem *pb, double *x) { pb->def->start(pb, x); }

int dsc_problem_minimum(const dsc_problem *pb, double *xstar, double *fstar)
{
    return dsc_problem_minimum_k(pb, 0, xstar, fstar);
}

size_t dsc_problem_minima_count(const dsc_problem *pb)
{
    return pb->def->minima ? pb->def->minima(pb, 0, NULL, NULL) : 0;
}

int dsc_problem_minimum_k(const dsc_problem *pb, size_t k, double *xstar, double *fstar)
{
    return pb->def->minima && k < pb->def->minima(pb, k, xstar, fstar);
}

int dsc_problem_nearest_minimum(const dsc_problem *pb, const double *x, double *xstar,
                                double *fstar, double *dist)
{
    size_t count = dsc_problem_minima_count(pb), best = 0;
    double best_d2 = INFINITY;
    for (size_t k = 0; k < count; k++) {
        pb->def->minima(pb, k, xstar, NULL);
        double d2 = 0;
        for (size_t i = 0; i < pb->dim; i++) d2 += (x[i] - xstar[i]) * (x[i] - xstar[i]);
        if (d2 < best_d2) best_d2 = d2, best = k;
    }
    if (!count) return 0;
    pb->def->minima(pb, best, xstar, fstar);
    if (dist) *dist = sqrt(best_d2);
    return 1;
}

double dsc_problem_eval(const dsc_problem *pb, const double *x, double *grad)
{
    return pb->def->eval_f64(pb, x, grad);
}

float dsc_problem_eval_f32(const dsc_problem *pb, const float *x, float *grad)
{
    return pb->def->eval_f32(pb, x, grad);
}
