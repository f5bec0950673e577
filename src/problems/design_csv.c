/*
 * design_csv.c: the regression problems' data from a CSV file (the data layer's
 * loader): features standardized to mean 0 and variance 1 so that one learning rate
 * suits every weight, the target as it is (logistic: every target 0 or 1).
 */
#include "design.h"
#include "descent_data.h"

#include <stdlib.h>

static dsc_status copy_standardized(const char *who, dsc__design *ds, const dsc_dataset *set, int logistic)
{
    size_t n = dsc_dataset_rows(set), d = dsc_dataset_cols(set);
    const double *x = dsc_dataset_x(set), *y = dsc_dataset_y(set);
    double *mean = malloc(d * sizeof *mean), *std = malloc(d * sizeof *std);
    dsc_status st = dsc__design_alloc(ds, n, d);
    if (!st && (!mean || !std)) st = dsc__fail(DSC_ERR_NOMEM, "%s: out of memory for %zu x %zu data", who, n, d);
    if (st) goto done;
    dsc_dataset_moments(set, mean, std);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++) ds->x[i * d + j] = (x[i * d + j] - mean[j]) / std[j];
        ds->y[i] = y[i];
        if (logistic && y[i] != 0 && y[i] != 1) {
            st = dsc__fail(DSC_ERR_FORMAT, "%s: targets must be 0 or 1, row %zu has %g", who, i + 1, y[i]);
            goto done;
        }
    }
done:
    free(mean);
    free(std);
    return st;
}

dsc_status dsc__design_load(const char *who, dsc__design *ds, const char *path, int logistic)
{
    dsc_dataset *set = NULL;
    dsc_status st = dsc_dataset_load_csv(&set, path, "last");
    if (st) return st;
    if (dsc_dataset_rows(set) == 0 || dsc_dataset_cols(set) == 0)
        st = dsc__fail(DSC_ERR_FORMAT, "%s: '%s' needs at least one row and one feature column", who, path);
    else
        st = copy_standardized(who, ds, set, logistic);
    dsc_dataset_destroy(set);
    return st;
}
