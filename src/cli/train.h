/* train.h: what the two files of descent train share. */
#ifndef DSC_CLI_TRAIN_H
#define DSC_CLI_TRAIN_H

#include "cli.h"
#include "descent_nn.h"

#include <cjson/cJSON.h>

#include <stdio.h>

typedef struct train_opts {
    const char *data, *targets, *target, *optimizer, *schedule, *history, *activation, *init;
    const char *plot; /* --plot FILE: the history's figure */
    int task; /* -1 infer, 0 regress, 1 classify */
    size_t hidden[DSC_MLP_MAX_LAYERS];
    int nhidden;
    int64_t epochs, batch, patience, threads;
    uint64_t seed;
    double val_split, test_split, dropout;
    dsc_dtype dtype;
    int json, quiet;
    int zero; /* --zero: shard the optimizer state over the MPI ranks */
    int64_t bucket_kb; /* --bucket-kb: gradient KiB per collective call under mpirun */
} train_opts;

/* What the run produced, for the reports. */
typedef struct train_result {
    const dsc_mlp *model;
    const dsc_history *hist;
    size_t rows, cols, classes, train_rows, test_rows;
    double test_loss, test_metric, test_rmse; /* NAN without a test split */
    int ranks;          /* processes of the data-parallel run (1 without mpirun) */
    size_t state_bytes; /* optimizer state held by this process */
    cJSON *plot;        /* NULL or the figure's description, taken by train_print_json */
} train_result;

/* Progress on stderr: one line per epoch; a bar while the epoch runs, only when
 * stderr is a terminal. */
typedef struct train_progress {
    int tty, quiet;
    int64_t epochs;
    double epoch_start, last_draw;
    int classify;
} train_progress;

void train_on_batch(size_t done, size_t total, double loss, void *user);
void train_on_epoch(const dsc_epoch *e, void *user);
double train_now(void);

int train_print_table(const train_opts *o, const train_result *r);
int train_print_json(const train_opts *o, const train_result *r);
/* --plot (train_plot.c): the extension (exit 2) and whether the file can be written
 * (exit 1), before the fit; then the figure, its description into *desc with --json. */
int train_plot_check(const char *path);
int train_plot_draw(const train_opts *o, const dsc_history *h, int classify, cJSON **desc);
/* 0 on success; -1 when the stream reports an error. */
int train_write_history(FILE *f, const dsc_history *h, int classify);

#endif
