/*
 * design.c: the data of the regression problems (linreg, logreg): a design matrix
 * and a target, generated from a seed or read from a CSV file, held in double and
 * float so each precision's run computes in its own arithmetic. The model has d
 * weights and a bias: the problem's point is (w_1 .. w_d, b).
 */
#include "problems.h"
#include "design.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64: a seeded, self-contained generator, so the datasets are the same
 * on every platform (rand() is not). */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s) { return ((double)(next_u64(s) >> 11) + 0.5) * 0x1.0p-53; }

static double normal(uint64_t *s)
{
    double u = uniform(s), v = uniform(s);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Features N(0, 1); true weights (-1)^j (j+1)/d and bias 0.5; linear targets get
 * N(0, 0.1^2) noise, logistic ones are Bernoulli(sigmoid(2 z)) so the classes overlap. */
static void generate(dsc__design *ds, uint64_t seed, int logistic)
{
    uint64_t s = seed;
    for (size_t i = 0; i < ds->n; i++) {
        double z = 0.5;
        for (size_t j = 0; j < ds->d; j++) {
            double v = normal(&s), w = (j % 2 ? -1.0 : 1.0) * (double)(j + 1) / (double)ds->d;
            ds->x[i * ds->d + j] = v;
            z += w * v;
        }
        ds->y[i] = logistic ? (uniform(&s) < 1.0 / (1.0 + exp(-2.0 * z)) ? 1.0 : 0.0)
                            : z + 0.1 * normal(&s);
    }
}

static void fill_floats(dsc__design *ds)
{
    for (size_t i = 0; i < ds->n * ds->d; i++) ds->xf[i] = (float)ds->x[i];
    for (size_t i = 0; i < ds->n; i++) ds->yf[i] = (float)ds->y[i];
}

void dsc__design_destroy(dsc_problem *pb)
{
    dsc__design *ds = pb->data;
    if (!ds) return;
    free(ds->x);
    free(ds->xf);
    free(ds->y);
    free(ds->yf);
    free(ds->xstar);
    free(ds);
    pb->data = NULL;
}

dsc_status dsc__design_configure(const char *who, dsc_problem *pb, const dsc__spec *sp, int logistic,
                                 void (*solve)(const dsc_problem *pb, dsc__design *ds))
{
    static const dsc__problem_key keys[] = {
        {"n", 200, 1, 1e7, 1}, {"d", 5, 1, 1000, 1}, {"seed", 1, 0, 9007199254740992.0, 1}};
    double v[3];
    const char *file;
    dsc_status st = dsc__problem_keys(who, sp, keys, 3, v, "data", &file);
    if (st) return st;
    dsc__design *ds = calloc(1, sizeof *ds);
    if (!ds) return dsc__fail(DSC_ERR_NOMEM, "%s: out of memory", who);
    pb->data = ds;
    if (file) {
        st = dsc__design_load(who, ds, file, logistic);
    } else {
        st = dsc__design_alloc(ds, (size_t)v[0], (size_t)v[1]);
        if (!st) generate(ds, (uint64_t)v[2], logistic);
    }
    if (st) return st;
    fill_floats(ds);
    pb->dim = ds->d + 1;
    solve(pb, ds);
    if (ds->known) ds->fstar = pb->def->eval_f64(pb, ds->xstar, NULL);
    return DSC_OK;
}

void dsc__design_start(const dsc_problem *pb, double *x)
{
    for (size_t i = 0; i < pb->dim; i++) x[i] = 0.0;
}

size_t dsc__design_minima(const dsc_problem *pb, size_t k, double *xstar, double *fstar)
{
    const dsc__design *ds = pb->data;
    if (!ds->known || k > 0) return ds->known;
    if (xstar) memcpy(xstar, ds->xstar, pb->dim * sizeof *xstar);
    if (fstar) *fstar = ds->fstar;
    return 1;
}

int dsc__solve_spd(double *a, double *b, size_t n)
{
    for (size_t j = 0; j < n; j++) { /* a = L L^T, L in the lower triangle */
        double s = a[j * n + j];
        for (size_t k = 0; k < j; k++) s -= a[j * n + k] * a[j * n + k];
        if (!(s > 0)) return -1;
        a[j * n + j] = sqrt(s);
        for (size_t i = j + 1; i < n; i++) {
            double t = a[i * n + j];
            for (size_t k = 0; k < j; k++) t -= a[i * n + k] * a[j * n + k];
            a[i * n + j] = t / a[j * n + j];
        }
    }
    for (size_t i = 0; i < n; i++) { /* L z = b */
        for (size_t k = 0; k < i; k++) b[i] -= a[i * n + k] * b[k];
        b[i] /= a[i * n + i];
    }
    for (size_t i = n; i-- > 0;) { /* L^T x = z */
        for (size_t k = i + 1; k < n; k++) b[i] -= a[k * n + i] * b[k];
        b[i] /= a[i * n + i];
    }
    return 0;
}
