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
 * A CSV file with numeric cells (a first row of numbers is data, not a header). target is
 * the name of the target column, "last" or NULL (the last column); every other column is
 * a feature. dsc_dataset_load reads class label columns, separators and missing values.
 */
dsc_status dsc_dataset_load_csv(dsc_dataset **out, const char *path, const char *target);
/* Features from a 2-D (or 1-D: one column) array, targets from a 1-D or (n, 1) array:
 * float32/float64/(u)int8..64, C order, little-endian; the row counts must agree.
 * targets_path NULL: features only (dsc_dataset_has_targets 0). */
dsc_status dsc_dataset_load_npy(dsc_dataset **out, const char *features_path,
                                const char *targets_path);
/* MNIST-style IDX files, gzip-compressed or not: images (n, d1, d2, ...) flattened to
 * rows of d1*d2*... features, labels (n) (labels_path NULL: none). The headers are
 * compared before either file is inflated. */
dsc_status dsc_dataset_load_idx(dsc_dataset **out, const char *images_path,
                                const char *labels_path);
/* What to do with an empty cell or NaN in a CSV feature column. */
typedef enum dsc_missing {
    DSC_MISSING_ERROR = 0, /* refuse the file, naming the line and column (default) */
    DSC_MISSING_DROP,      /* drop the row */
    DSC_MISSING_MEAN       /* fill in the column's mean (or dsc_load_options's fill) */
} dsc_missing;

/*
 * How dsc_dataset_load reads a file. The format comes from the extension: .csv, .tsv
 * and .txt are CSV; .npy; .npz (a NumPy archive, stored or deflated members); MNIST
 * IDX (.idx, -ubyte, either with .gz).
 */
typedef struct dsc_load_options {
    const char *targets;  /* .npy and IDX: the targets file (NULL: none, the data has no targets) */
    const char *target;   /* CSV: the target column, a name or "last" (NULL: the last) */
    size_t features;      /* 0, or the features a model takes: a CSV of exactly that many columns
                             (an .npz without y_key) then holds no targets, and any other count
                             than features or features + 1 is refused */
    int no_target;        /* 1: every CSV column is a feature (targets read as 0) */
    char sep;             /* CSV field separator: ',', ';' or '\t' (0: tab for .tsv, else comma) */
    dsc_missing missing;  /* CSV empty cells and NaN (default DSC_MISSING_ERROR) */
    const double *fill;   /* DSC_MISSING_MEAN: the value of each feature column (features
                             values, e.g. a model's training means); NULL: the file's means */
    const char *x_key, *y_key; /* .npz: the arrays of features and targets (default "x", "y") */
    const char *const *labels; /* the class labels a textual CSV target maps to (index = class);
                             NULL: learnt from the file, sorted by byte value (scikit-learn's
                             LabelEncoder). A label outside a given list is refused */
    size_t nlabels;
    dsc_dtype dtype;      /* DSC_F32: features that float32 holds exactly (.npy and .npz float32 or
                             (u)int8/16 arrays, IDX bytes, shorts and floats) are kept in float32,
                             half the memory, the same values (dsc_dataset_x32); default DSC_F64 */
} dsc_load_options;

dsc_load_options dsc_load_options_default(void);

typedef enum dsc_data_format { DSC_DATA_CSV = 0, DSC_DATA_NPY, DSC_DATA_NPZ, DSC_DATA_IDX } dsc_data_format;
/* The format dsc_dataset_load reads path as, from its name alone. */
dsc_data_format dsc_data_format_of(const char *path);
/*
 * Any of the formats above. A CSV whose first row parses fully as numbers has no header
 * (its columns are named x0, x1, ... and the last one y). A CSV target column holding
 * anything but numbers is a class label column: its texts become the classes 0..K-1
 * (dsc_dataset_label). Missing values (empty cells, NaN) follow opt->missing.
 */
dsc_status dsc_dataset_load(dsc_dataset **out, const char *path, const dsc_load_options *opt);

/* A copy of rows x cols features x and rows targets y. */
dsc_status dsc_dataset_create(dsc_dataset **out, size_t rows, size_t cols, const double *x,
                              const double *y);

size_t dsc_dataset_rows(const dsc_dataset *ds);
size_t dsc_dataset_cols(const dsc_dataset *ds);
/* 1 and the channels, height and width of a row when the file held images (IDX
 * (n, h, w) or (n, c, h, w); .npy of 3 or 4 dimensions; h, w alone give 1 channel);
 * 0 for flat rows. */
int dsc_dataset_shape(const dsc_dataset *ds, size_t shape[3]);
const double *dsc_dataset_x(const dsc_dataset *ds); /* rows*cols; NULL when held in float32 */
const float *dsc_dataset_x32(const dsc_dataset *ds); /* rows*cols when held in float32, else NULL */
const double *dsc_dataset_y(const dsc_dataset *ds); /* rows */
const char *dsc_dataset_feature_name(const dsc_dataset *ds, size_t j); /* NULL past the end */
const char *dsc_dataset_target_name(const dsc_dataset *ds);
/* Whether the file held targets (0 for features only: dsc_load_options). */
int dsc_dataset_has_targets(const dsc_dataset *ds);
/* The class labels of a textual target column: their count (0 for numeric targets) and
 * the text of class k (NULL past the end). */
size_t dsc_dataset_label_count(const dsc_dataset *ds);
const char *dsc_dataset_label(const dsc_dataset *ds, size_t k);
void dsc_dataset_destroy(dsc_dataset *ds);

/*
 * Number of classes when the targets look like class labels (every target an integer
 * in [0, 256) and at most 100 distinct values): the largest label + 1; otherwise 0,
 * meaning regression; the label count for a textual label column. The CLI infers the
 * task from this.
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

/* Writes rows x cols float64 values as a .npy file ((rows, cols), or (rows,) when cols
 * is 0) that NumPy reads with np.load; a failed write leaves no file behind. */
dsc_status dsc_npy_write(const char *path, const double *v, size_t rows, size_t cols);

/* Column means and standard deviations (population; a constant column gets std 1),
 * cols values each. */
void dsc_dataset_moments(const dsc_dataset *ds, double *mean, double *std);

#ifdef __cplusplus
}
#endif
#endif /* DESCENT_DATA_H */
