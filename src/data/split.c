/* split.c: seeded train/test splits, stratified by class for classification so that
 * small classes appear on both sides in their proportions. */
#include "data.h"
#include "../core/rng.h"

#include <math.h>
#include <stdlib.h>

/* Moves round(fraction * count) of the n shuffled indices of each class (or of all
 * rows when classes == 0) to the end of order; returns how many were moved. */
static size_t partition(const dsc_dataset *ds, size_t classes, double fraction, size_t *order,
                        size_t *tmp)
{
    size_t n = ds->rows;
    if (classes == 0) return (size_t)llround(fraction * (double)n);
    size_t nrest = 0, npart = 0;
    for (size_t c = 0; c < classes; c++) {
        size_t count = 0;
        for (size_t i = 0; i < n; i++) count += (size_t)ds->y[order[i]] == c;
        size_t take = (size_t)llround(fraction * (double)count), seen = 0;
        for (size_t i = 0; i < n; i++) {
            if ((size_t)ds->y[order[i]] != c) continue;
            if (seen++ < take) tmp[n - 1 - npart++] = order[i];
            else tmp[nrest++] = order[i];
        }
    }
    for (size_t i = 0; i < n; i++) order[i] = tmp[i];
    return npart;
}

dsc_status dsc_dataset_split(const dsc_dataset *ds, double fraction, uint64_t seed,
                             size_t classes, dsc_dataset **rest, dsc_dataset **part)
{
    if (!ds || !rest || !part) return dsc__fail(DSC_ERR_ARG, "dataset_split: NULL argument");
    if (!(fraction > 0 && fraction < 1))
        return dsc__fail(DSC_ERR_RANGE, "dataset_split: fraction must be in (0, 1), got %g", fraction);
    for (size_t i = 0; classes && i < ds->rows; i++)
        if (!(ds->y[i] >= 0 && ds->y[i] < (double)classes) || ds->y[i] != floor(ds->y[i]))
            return dsc__fail(DSC_ERR_ARG, "dataset_split: target %g of row %zu is not a label in 0..%zu",
                             ds->y[i], i, classes - 1);
    size_t n = ds->rows;
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    size_t *tmp = malloc((n ? n : 1) * sizeof *tmp);
    if (!order || !tmp) {
        free(order);
        free(tmp);
        return dsc__fail(DSC_ERR_NOMEM, "dataset_split: out of memory");
    }
    dsc__rng rng;
    dsc__rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) order[i] = i;
    dsc__rng_shuffle(&rng, order, n);
    size_t npart = partition(ds, classes, fraction, order, tmp);
    /* stratification groups rows by class: mix each side again */
    if (npart <= n) {
        dsc__rng_shuffle(&rng, order, n - npart);
        dsc__rng_shuffle(&rng, order + n - npart, npart);
    }
    dsc_status st = DSC_OK;
    if (npart == 0 || npart >= n)
        st = dsc__fail(DSC_ERR_RANGE, "dataset_split: fraction %g of %zu rows leaves a side empty",
                       fraction, n);
    *rest = *part = NULL;
    if (st == DSC_OK) st = dsc_dataset_subset(ds, order, n - npart, rest);
    if (st == DSC_OK) st = dsc_dataset_subset(ds, order + n - npart, npart, part);
    if (st != DSC_OK) {
        dsc_dataset_destroy(*rest);
        *rest = NULL;
    }
    free(order);
    free(tmp);
    return st;
}
