/* dataset.c: the dataset object, its accessors, subsets and column statistics. */
#include "data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dsc_status dsc__dataset_new(dsc_dataset **out, size_t rows, size_t cols, const char *prefix,
                            const char *target_name, int values)
{
    if (cols && rows > SIZE_MAX / sizeof(double) / cols)
        return dsc__fail(DSC_ERR_NOMEM, "dataset: %zu x %zu values do not fit in memory", rows, cols);
    dsc_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return dsc__fail(DSC_ERR_NOMEM, "dataset: out of memory");
    ds->rows = rows;
    ds->cols = cols;
    ds->has_target = 1;
    if (values) {
        ds->x = dsc__alloc(rows * cols * sizeof(double));
        ds->y = dsc__alloc(rows * sizeof(double));
    }
    ds->names = calloc(cols ? cols : 1, sizeof(char *));
    ds->target = dsc__strdup(target_name);
    int ok = (!values || (ds->x && ds->y)) && ds->names && ds->target;
    for (size_t j = 0; ok && j < cols; j++) {
        char name[64];
        snprintf(name, sizeof name, "%s%zu", prefix, j);
        ok = (ds->names[j] = dsc__strdup(name)) != NULL;
    }
    if (!ok) {
        dsc_dataset_destroy(ds);
        return dsc__fail(DSC_ERR_NOMEM, "dataset: out of memory for %zu x %zu values", rows, cols);
    }
    *out = ds;
    return DSC_OK;
}

dsc_status dsc__dataset_adopt(dsc_dataset **out, size_t rows, size_t cols, const char *prefix,
                              const char *target_name, double **x, double **y)
{
    dsc_status st = dsc__dataset_new(out, rows, cols, prefix, target_name, 0);
    if (st != DSC_OK) return st;
    (*out)->x = *x;
    (*out)->y = *y;
    *x = *y = NULL;
    return DSC_OK;
}

void dsc_dataset_destroy(dsc_dataset *ds)
{
    if (!ds) return;
    if (ds->names)
        for (size_t j = 0; j < ds->cols; j++) free(ds->names[j]);
    free(ds->names);
    free(ds->target);
    for (size_t k = 0; k < ds->nlabels; k++) free(ds->labels[k]);
    free(ds->labels);
    dsc__free(ds->x);
    dsc__free(ds->xf);
    dsc__free(ds->y);
    free(ds);
}

dsc_status dsc_dataset_create(dsc_dataset **out, size_t rows, size_t cols, const double *x,
                              const double *y)
{
    if (!out || (!x && rows && cols) || (!y && rows))
        return dsc__fail(DSC_ERR_ARG, "dataset: out, x and y must not be NULL");
    if (rows == 0 || cols == 0)
        return dsc__fail(DSC_ERR_ARG, "dataset: rows and cols must be > 0, got %zu x %zu", rows, cols);
    dsc_status st = dsc__dataset_new(out, rows, cols, "x", "y", 1);
    if (st != DSC_OK) return st;
    memcpy((*out)->x, x, rows * cols * sizeof(double));
    memcpy((*out)->y, y, rows * sizeof(double));
    return DSC_OK;
}

size_t dsc_dataset_rows(const dsc_dataset *ds) { return ds ? ds->rows : 0; }
size_t dsc_dataset_cols(const dsc_dataset *ds) { return ds ? ds->cols : 0; }

void dsc__dataset_set_shape(dsc_dataset *ds, int ndim, const size_t *dims)
{
    if (ndim == 2) ds->shape[0] = 1, ds->shape[1] = dims[0], ds->shape[2] = dims[1];
    if (ndim == 3) ds->shape[0] = dims[0], ds->shape[1] = dims[1], ds->shape[2] = dims[2];
}

int dsc_dataset_shape(const dsc_dataset *ds, size_t shape[3])
{
    if (!ds || !ds->shape[0]) return 0;
    for (int i = 0; i < 3; i++) shape[i] = ds->shape[i];
    return 1;
}
const double *dsc_dataset_x(const dsc_dataset *ds) { return ds ? ds->x : NULL; }
const float *dsc_dataset_x32(const dsc_dataset *ds) { return ds ? ds->xf : NULL; }

dsc_status dsc__dataset_adopt_f32(dsc_dataset **out, size_t rows, size_t cols, const char *prefix,
                                  const char *target_name, float **xf, double **y)
{
    double *none = NULL;
    dsc_status st = dsc__dataset_adopt(out, rows, cols, prefix, target_name, &none, y);
    if (st != DSC_OK) return st;
    (*out)->xf = *xf;
    *xf = NULL;
    return DSC_OK;
}
const double *dsc_dataset_y(const dsc_dataset *ds) { return ds ? ds->y : NULL; }
const char *dsc_dataset_target_name(const dsc_dataset *ds) { return ds ? ds->target : NULL; }
int dsc_dataset_has_targets(const dsc_dataset *ds) { return ds ? ds->has_target : 0; }
size_t dsc_dataset_label_count(const dsc_dataset *ds) { return ds ? ds->nlabels : 0; }
const char *dsc_dataset_label(const dsc_dataset *ds, size_t k) { return ds && k < ds->nlabels ? ds->labels[k] : NULL; }

dsc_status dsc__dataset_set_labels(dsc_dataset *ds, const char *const *labels, size_t n)
{
    char **copy = calloc(n ? n : 1, sizeof *copy);
    int ok = copy != NULL;
    for (size_t k = 0; ok && k < n; k++) ok = (copy[k] = dsc__strdup(labels[k])) != NULL;
    if (!ok) {
        for (size_t k = 0; copy && k < n; k++) free(copy[k]);
        free(copy);
        return dsc__fail(DSC_ERR_NOMEM, "dataset: out of memory for %zu labels", n);
    }
    for (size_t k = 0; k < ds->nlabels; k++) free(ds->labels[k]);
    free(ds->labels);
    ds->labels = copy;
    ds->nlabels = n;
    return DSC_OK;
}

const char *dsc_dataset_feature_name(const dsc_dataset *ds, size_t j)
{
    return ds && j < ds->cols ? ds->names[j] : NULL;
}

#define DSC__MAX_LABEL 256
#define DSC__MAX_CLASSES 100

size_t dsc_dataset_classes(const dsc_dataset *ds)
{
    if (!ds || ds->rows == 0) return 0;
    if (ds->nlabels) return ds->nlabels;
    unsigned char seen[DSC__MAX_LABEL] = {0};
    size_t distinct = 0, top = 0;
    for (size_t i = 0; i < ds->rows; i++) {
        double v = ds->y[i];
        if (!(v >= 0 && v < DSC__MAX_LABEL) || v != floor(v)) return 0;
        size_t k = (size_t)v;
        if (!seen[k]) {
            seen[k] = 1;
            distinct++;
        }
        if (k > top) top = k;
    }
    return distinct <= DSC__MAX_CLASSES && distinct >= 2 ? top + 1 : 0;
}

static dsc_status copy_names(dsc_dataset *dst, const dsc_dataset *src)
{
    for (size_t j = 0; j < src->cols; j++) {
        char *s = dsc__strdup(src->names[j]);
        if (!s) return dsc__fail(DSC_ERR_NOMEM, "dataset: out of memory");
        free(dst->names[j]);
        dst->names[j] = s;
    }
    char *t = dsc__strdup(src->target);
    if (!t) return dsc__fail(DSC_ERR_NOMEM, "dataset: out of memory");
    free(dst->target);
    dst->target = t;
    dst->has_target = src->has_target;
    return dsc__dataset_set_labels(dst, (const char *const *)src->labels, src->nlabels);
}

dsc_status dsc_dataset_subset(const dsc_dataset *ds, const size_t *idx, size_t n,
                              dsc_dataset **out)
{
    if (!ds || !out || (!idx && n)) return dsc__fail(DSC_ERR_ARG, "dataset_subset: NULL argument");
    for (size_t i = 0; i < n; i++)
        if (idx[i] >= ds->rows)
            return dsc__fail(DSC_ERR_ARG, "dataset_subset: index %zu is past the %zu rows", idx[i], ds->rows);
    dsc_dataset *sub = NULL;
    dsc_status st = dsc__dataset_new(&sub, n, ds->cols, "x", "y", 0);
    if (st == DSC_OK) { /* a subset keeps the storage of its set */
        size_t count = n * ds->cols; /* every value is written below: no zeroing first */
        if (ds->xf) sub->xf = dsc__alloc_big(count * sizeof(float));
        else sub->x = dsc__alloc_big(count * sizeof(double));
        sub->y = dsc__alloc(n * sizeof(double));
        if (!(sub->x || sub->xf) || !sub->y)
            st = dsc__fail(DSC_ERR_NOMEM, "dataset: out of memory for %zu x %zu values", n, ds->cols);
    }
    if (st == DSC_OK) st = copy_names(sub, ds);
    if (st != DSC_OK) {
        dsc_dataset_destroy(sub);
        return st;
    }
    for (size_t i = 0; i < n; i++) {
        if (ds->xf) memcpy(sub->xf + i * ds->cols, ds->xf + idx[i] * ds->cols, ds->cols * sizeof(float));
        else memcpy(sub->x + i * ds->cols, ds->x + idx[i] * ds->cols, ds->cols * sizeof(double));
        sub->y[i] = ds->y[idx[i]];
    }
    *out = sub;
    return DSC_OK;
}

static double value_at(const dsc_dataset *ds, size_t i) { return ds->xf ? (double)ds->xf[i] : ds->x[i]; }

void dsc_dataset_moments(const dsc_dataset *ds, double *mean, double *std)
{
    size_t c = ds->cols;
    for (size_t j = 0; j < c; j++) mean[j] = std[j] = 0;
    for (size_t i = 0; i < ds->rows; i++)
        for (size_t j = 0; j < c; j++) mean[j] += value_at(ds, i * c + j);
    for (size_t j = 0; j < c; j++) mean[j] /= (double)(ds->rows ? ds->rows : 1);
    for (size_t i = 0; i < ds->rows; i++)
        for (size_t j = 0; j < c; j++) {
            double d = value_at(ds, i * c + j) - mean[j];
            std[j] += d * d;
        }
    for (size_t j = 0; j < c; j++) {
        double s = sqrt(std[j] / (double)(ds->rows ? ds->rows : 1));
        std[j] = s > 1e-12 * (fabs(mean[j]) + 1) ? s : 1.0;
    }
}
