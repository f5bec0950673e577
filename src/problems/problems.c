/*
 * problems.c: the test-problem object and its registry. Each function is written
 * once over the element type (float or double) in its own file of this folder.
 */
#include "problems.h"

#include <stdlib.h>
#include <string.h>

static const dsc__problem_def *const defs[] = {
    &dsc__problem_rosenbrock,
};
#define NDEFS (sizeof defs / sizeof defs[0])

static const char *const names[NDEFS + 1] = {"rosenbrock", NULL};

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
            free(pb);
            return st;
        }
        *out = pb;
        return DSC_OK;
    }
    return dsc__fail(DSC_ERR_SPEC, "unknown problem '%s' (known: rosenbrock)", sp.name);
}

void dsc_problem_destroy(dsc_problem *pb) { free(pb); }

const char *dsc_problem_name(const dsc_problem *pb) { return pb ? pb->def->name : NULL; }
size_t dsc_problem_dim(const dsc_problem *pb) { return pb ? pb->dim : 0; }

void dsc_problem_start(const dsc_problem *pb, double *x) { pb->def->start(pb, x); }

int dsc_problem_minimum(const dsc_problem *pb, double *xstar, double *fstar)
{
    return pb->def->minimum ? pb->def->minimum(pb, xstar, fstar) : 0;
}

double dsc_problem_eval(const dsc_problem *pb, const double *x, double *grad)
{
    return pb->def->eval_f64(pb, x, grad);
}

float dsc_problem_eval_f32(const dsc_problem *pb, const float *x, float *grad)
{
    return pb->def->eval_f32(pb, x, grad);
}
