/* SPDX-License-Identifier: MIT (see LICENSE); part of descent. */
/*
 * descent_data.h: datasets for training (CSV, NumPy .npy, MNIST IDX), seeded and
 * stratified splits, column statistics.
 *
 * A dataset is rows x cols features (double, row-major) and one target per row.
 * Loaders fail with DSC_ERR_IO (the file cannot be read) or DSC_ERR_FORMAT (it is
 * malformed: the message names the line and column, or the field) and never print.
 */
#ifndef DESCENT_DATA_H
#define DESCENT_DATA_H

#include "descent.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dsc_dataset dsc_dataset; /* opaque */

/*
 * A CSV file with a header row and numeric cells. target is the name of the target
 * column, "last" or NULL (the last column); every other column is a feature.
 */
dsc_status dsc_dataset_load_csv(dsc_dataset **out, const char *path, const char *target);
/* Features from a 2-D (or 1-D: one column) array, targets from a 1-D or (n, 1) array:
 * float32/float64/(u)int8..64, C order, little-endian; the row counts must agree. */
dsc_status dsc_dataset_load_npy(dsc_dataset **out, const char *features_path,
                                const char *targets_path);
/* MNIST-style IDX files, gzip-compressed or not: images (n, d1, d2, ...) flattened to
 * rows of d1*d2*... features, labels (n). */
dsc_status dsc_dataset_load_idx(dsc_dataset **out, const char *images_path,
                                const char *labels_path);
/* A copy of rows x cols features x and rows targets y. */
dsc_status dsc_dataset_create(dsc_dataset **out, size_t rows, size_t cols, const double *x,
                              const double *y);

size_t dsc_dataset_rows(const dsc_dataset *ds);
size_t dsc_dataset_cols(const dsc_dataset *ds);
const double *dsc_dataset_x(const dsc_dataset *ds); /* rows*cols */
const double *dsc_dataset_y(const dsc_dataset *ds); /* rows */
const char *dsc_dataset_feature_name(const dsc_dataset *ds, size_t j); /* NULL past the end */
const char *dsc_dataset_target_name(const dsc_dataset *ds);
void dsc_dataset_destroy(dsc_dataset *ds);

/*
 * Number of classes when the targets look like class labels (every target an integer
 * in [0, 256) and at most 100 distinct values): the largest label + 1; otherwise 0,
 * meaning regression. The CLI infers the task from this.
 */
size_t dsc_dataset_classes(const dsc_dataset *ds);

/* A new dataset of the rows idx[0..n-1] of ds (in that order; repeats allowed). */
dsc_status dsc_dataset_subset(const dsc_dataset *ds, const size_t *idx, size_t n,
                              dsc_dataset **out);

/*
 * Splits ds into *rest and *part, part holding round(fraction * rows) rows, chosen by
 * a shuffle seeded with seed. With classes > 0 the split is stratified: each class
 * contributes round(fraction * its count) rows (targets must be labels 0..classes-1).
 * fraction must be in (0, 1) and leave both sides non-empty.
 */
dsc_status dsc_dataset_split(const dsc_dataset *ds, double fraction, uint64_t seed,
                             size_t classes, dsc_dataset **rest, dsc_dataset **part);

/* Column means and standard deviations (population; a constant column gets std 1),
 * cols values each. */
void dsc_dataset_moments(const dsc_dataset *ds, double *mean, double *std);

#ifdef __cplusplus
}
#endif
#endif /* DESCENT_DATA_H */
