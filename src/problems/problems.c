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

/* ---- helpers for the problems' files */

static const dsc__problem_key *find_key(const dsc__problem_key *keys, size_t nkeys, const char *key)
{
    for (size_t k = 0; k < nkeys; k++)
        if (!strcmp(keys[k].key, key)) return &keys[k];
    return NULL;
}

static void key_list(const dsc__problem_key *keys, size_t nkeys, const char *text_key, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t k = 0; k < nkeys; k++) {
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s", k ? ", " : "", keys[k].key);
    }
    if (text_key) {
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s", nkeys ? ", " : "", text_key);
    }
    if (!buf[0]) snprintf(buf, cap, "none");
}

dsc_status dsc__problem_keys(const char *who, const dsc__spec *sp, const dsc__problem_key *keys,
                             size_t nkeys, double *values, const char *text_key, const char **text)
{
    for (size_t k = 0; k < nkeys; k++) values[k] = keys[k].def;
    if (text) *text = NULL;
    for (int i = 0; i < sp->count; i++) {
        const dsc__spec_item *it = &sp->items[i];
        if (text_key && !strcmp(it->key, text_key)) {
            *text = it->value;
            continue;
        }
        const dsc__problem_key *pk = find_key(keys, nkeys, it->key);
        if (!pk) {
            char list[256];
            key_list(keys, nkeys, text_key, list, sizeof list);
            return dsc__fail(DSC_ERR_SPEC, "%s: unknown key '%s' (keys: %s)", who,
                             it->key[0] ? it->key : it->value, list);
        }
        double v;
        dsc_status st = dsc__spec_double(who, pk->key, it->value, &v);
        if (st) return st;
        if (!(v >= pk->min && v <= pk->max) || (pk->integer && v != floor(v)))
            return dsc__fail(DSC_ERR_RANGE, "%s: %s must be %s in [%g, %g], got %s", who, pk->key,
                             pk->integer ? "an integer" : "a number", pk->min, pk->max, it->value);
        values[pk - keys] = v;
    }
    return DSC_OK;
}

dsc_status dsc__problem_dim_key(const char *who, dsc_problem *pb, const dsc__spec *sp, double min_n)
{
    const dsc__problem_key keys[] = {{"n", 2, min_n, 1e8, 1}};
    double n;
    dsc_status st = dsc__problem_keys(who, sp, keys, 1, &n, NULL, NULL);
    pb->dim = (size_t)n;
    return st;
}

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
