/*
 * regression.h: the model the dist tests train: multi-output linear regression
 * y = W x + b with loss 0.5 |y - t|^2, its two tensors back to back in one parameter
 * buffer and one gradient buffer (the layout dsc_dist needs), and a deterministic
 * data set, so 1, 2, 3 or 4 ranks can be compared on the same global batches.
 */
#ifndef DSC_TEST_REGRESSION_H
#define DSC_TEST_REGRESSION_H

#include "descent.h"

#include <stddef.h>

#define REG_IN 7
#define REG_OUT 5
#define REG_N (REG_OUT * REG_IN + REG_OUT) /* 40 elements: W (5x7) then b (5) */
#define REG_EXAMPLES 64

typedef struct reg_model {
    float param[REG_N];
    float grad[REG_N];
    dsc_param tensors[2]; /* "w" (group 0), "b" (group 1, no decay) */
} reg_model;

typedef struct reg_data {
    float x[REG_EXAMPLES][REG_IN];
    float t[REG_EXAMPLES][REG_OUT];
} reg_data;

/* The same data and starting parameters for a seed, on every rank. */
void reg_make_data(reg_data *data, unsigned seed);
void reg_init(reg_model *m, unsigned seed);

/* Adds the gradient of sum over examples [lo, hi) of batch `step` (batch examples
 * each, taken in turn from the data) divided by `batch`, and returns that part of the
 * mean loss. Examples of one rank's share: dsc_dist_split(batch, rank, size, ...). */
double reg_grad(reg_model *m, const reg_data *data, int step, size_t batch, size_t lo, size_t hi);

/* ---- training loops (the dist tests' harness) */
#include "descent_dist.h"

/* Steps [first, first + steps) of plain training in one process on the full batch;
 * nan_step >= 0 puts a NaN into w's gradient at that step. Returns the last loss. */
double reg_train_local(dsc_optim *opt, reg_model *m, const reg_data *data, int first, int steps,
                       size_t batch, int nan_step);

/* The same on the ranks of d, each on its share of every global batch; the NaN
 * appears on the last rank only. Returns the last global loss (every rank). */
double reg_train_dist(dsc_dist *d, reg_model *m, const reg_data *data, int first, int steps, size_t batch,
                      int nan_step);
/* The same on a context over comm (the ranks that sum the loss). */
double reg_train_on(dsc_dist *d, MPI_Comm comm, reg_model *m, const reg_data *data, int first, int steps,
                    size_t batch, int nan_step);

/* A context over m for spec: sum of shares already divided by the global batch, and
 * 13-float buckets that cut both tensors. NULL on failure (see dsc_last_error). */
dsc_dist *reg_dist(const char *spec, int zero, reg_model *m);
/* The same with buckets of bucket_elems floats. */
dsc_dist *reg_dist_buckets(const char *spec, int zero, reg_model *m, size_t bucket_elems);

/* Largest |a[i] - b[i]| over n floats. */
double reg_max_diff(const float *a, const float *b, size_t n);

#endif
