/* data.h: what the loaders share (internal). The parsers work on memory so the
 * fuzz targets in fuzz/ drive them without files. */
#ifndef DSC_DATA_INTERNAL_H
#define DSC_DATA_INTERNAL_H

#include "descent_data.h"
#include "../core/internal.h"

struct dsc_dataset {
    size_t rows, cols;
    double *x;      /* rows*cols, row-major */
    double *y;      /* rows */
    char **names;   /* cols feature names */
    char *target;   /* target name */
    size_t shape[3]; /* rows that are images: channels, height, width; else {0} */
};

/* Notes the shape of a row from the file's dimensions after the first (an image is
 * (h, w) or (c, h, w); other counts leave the rows flat). */
void dsc__dataset_set_shape(dsc_dataset *ds, int ndim, const size_t *dims);

/* A dataset with names "<prefix><j>", its target named target_name, and zeroed x and
 * y when values (else NULL, for dsc__dataset_adopt). */
dsc_status dsc__dataset_new(dsc_dataset **out, size_t rows, size_t cols, const char *prefix,
                            const char *target_name, int values);

/* A dataset (as dsc__dataset_new) that takes over the malloc'd arrays *x (rows*cols)
 * and *y (rows) instead of copying them; on success *x and *y become NULL. */
dsc_status dsc__dataset_adopt(dsc_dataset **out, size_t rows, size_t cols, const char *prefix,
                              const char *target_name, double **x, double **y);

/* Parsers of in-memory files; `name` appears in messages. */
dsc_status dsc__csv_parse(dsc_dataset **out, const char *text, size_t len, const char *name,
                          const char *target);

/* One .npy array: shape (at most 2 dims used) and values converted to double. */
typedef struct dsc__npy {
    int ndim;
    size_t shape[2];  /* rows, and values per row (the product of the other dimensions) */
    size_t row[3];    /* the dimensions after the first */
    size_t count;
    double *values; /* malloc'd */
} dsc__npy;
dsc_status dsc__npy_parse(dsc__npy *out, const unsigned char *buf, size_t len, const char *name);

/* One IDX array: dims and values converted to double. */
typedef struct dsc__idx {
    int ndim;
    size_t dims[8];
    size_t count;
    double *values; /* malloc'd */
} dsc__idx;
/* Parses an IDX file, gunzipping it first when it starts with the gzip magic; at most
 * max_bytes of decompressed data are accepted (a guard against decompression bombs). */
dsc_status dsc__idx_parse(dsc__idx *out, const unsigned char *buf, size_t len, const char *name,
                          size_t max_bytes);

#endif
