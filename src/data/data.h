/* data.h: what the loaders share (internal). The parsers work on memory so the
 * fuzz targets in fuzz/ drive them without files. */
#ifndef DSC_DATA_INTERNAL_H
#define DSC_DATA_INTERNAL_H

#include "descent_data.h"
#include "../core/internal.h"

struct dsc_dataset {
    size_t rows, cols;
    double *x;      /* rows*cols, row-major; NULL when the features are in xf */
    float *xf;      /* rows*cols in float32 (dsc_load_options's dtype), else NULL */
    double *y;      /* rows */
    char **names;   /* cols feature names */
    char *target;   /* target name */
    int has_target; /* 0: the file held features only (y is 0) */
    char **labels;  /* nlabels class texts of a textual target column, else NULL */
    size_t nlabels;
    size_t shape[3]; /* rows that are images: channels, height, width; else {0} */
};

/* As dsc__dataset_adopt with float32 features *xf (taken over alike). */
dsc_status dsc__dataset_adopt_f32(dsc_dataset **out, size_t rows, size_t cols, const char *prefix,
                                  const char *target_name, float **xf, double **y);

/* Takes a copy of the n labels into ds (replacing any). */
dsc_status dsc__dataset_set_labels(dsc_dataset *ds, const char *const *labels, size_t n);

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

/* Parsers of in-memory files; `name` appears in messages. sep is resolved (not 0).
 * labels 0: a target column of texts is an error, as dsc_dataset_load_csv promises. */
dsc_status dsc__csv_parse(dsc_dataset **out, const char *text, size_t len, const char *name,
                          const dsc_load_options *opt, int labels);

/* One .npy array: shape (at most 2 dims used) and values converted to double. */
typedef struct dsc__npy {
    int ndim;
    size_t shape[2];  /* rows, and values per row (the product of the other dimensions) */
    size_t row[3];    /* the dimensions after the first */
    size_t count;
    double *values; /* malloc'd */
    float *fvalues; /* instead of values with f32 when float32 holds them exactly (malloc'd) */
} dsc__npy;
dsc_status dsc__npy_parse(dsc__npy *out, const unsigned char *buf, size_t len, const char *name);
/* The same; with f32, float32 and (u)int8/16 arrays go to fvalues (the same values). */
dsc_status dsc__npy_parse_as(dsc__npy *out, const unsigned char *buf, size_t len, const char *name, int f32);
/* A dataset from parsed features x (values or fvalues) and targets y (NULL: none; y's
 * values are taken over too), checking their shapes and values; frees both arrays'
 * values in any case. */
dsc_status dsc__npy_dataset(dsc_dataset **out, dsc__npy *x, dsc__npy *y, const char *xname,
                            const char *yname);
/* Whether an in-memory .npz holds the array key (also 1 when it cannot tell). */
int dsc__npz_has(const unsigned char *buf, size_t len, const char *name, const char *key);

/* dsc_dataset_load_npy, and with f32 dsc__npy_parse_as's float32 features. */
dsc_status dsc__load_npy_as(dsc_dataset **out, const char *features_path, const char *targets_path, int f32);
/* dsc_dataset_load_idx likewise. */
dsc_status dsc__load_idx_as(dsc_dataset **out, const char *images_path, const char *labels_path, int f32);

/* The arrays x_key and y_key (NULL: none) of an in-memory .npz archive; at most
 * max_bytes of inflated data per member. */
dsc_status dsc__npz_parse(dsc__npy *x, dsc__npy *y, const unsigned char *buf, size_t len,
                          const char *name, const char *x_key, const char *y_key, size_t max_bytes, int f32);

/* One IDX array: dims and values converted to double. */
typedef struct dsc__idx {
    int ndim;
    size_t dims[8];
    size_t count;
    double *values; /* malloc'd */
    float *fvalues; /* as dsc__npy's */
} dsc__idx;
/* Parses an IDX file, gunzipping it first when it starts with the gzip magic; at most
 * max_bytes of decompressed data are accepted (a guard against decompression bombs). */
dsc_status dsc__idx_parse(dsc__idx *out, const unsigned char *buf, size_t len, const char *name,
                          size_t max_bytes);
/* The same; with f32, element types float32 holds exactly go to fvalues. */
dsc_status dsc__idx_parse_as(dsc__idx *out, const unsigned char *buf, size_t len, const char *name,
                             size_t max_bytes, int f32);
/* Only the header: the dims (and ndim), values left NULL; a gzip file is inflated just
 * as far as the header, so counts are compared before anything large is allocated. */
dsc_status dsc__idx_header(dsc__idx *out, const unsigned char *buf, size_t len, const char *name);

#endif
