/* train.h: what the two files of descent train share. */
#ifndef DSC_CLI_TRAIN_H
#define DSC_CLI_TRAIN_H

#include "cli.h"
#include "data_args.h"
#include "descent_nn.h"

#include <cjson/cJSON.h>

#include <stdio.h>

typedef struct train_opts {
    const char *data, *targets, *target, *optimizer, *schedule, *history, *activation, *init;
    const char *plot; /* --plot FILE: the history's figure */
    char sep;                 /* --sep (0: by extension) */
    dsc_missing missing;      /* --missing */
    const char *x_key, *y_key; /* --x-key, --y-key (.npz) */
    const char *val_data, *val_targets, *test_data, *test_targets; /* the user's own splits */
    int test_split_set;       /* --test-split was given */
    const char *labels;       /* --resume: the class labels of the checkpoint, one a line */
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
    const char *log_dir; /* --log-dir: per-rank logs under mpirun */
    double timeout;    /* --timeout: seconds a rank waits for the others under mpirun (0: for ever) */
    const char *save, *resume; /* --save FILE, --resume FILE */
    int shard_checkpoints;     /* --shard-checkpoints: --save writes a sharded set (--zero under mpirun) */
    int resume_sharded;        /* --resume names a sharded set's index: the network is its sidecar's */
    int64_t save_every;        /* --save-every N epochs (0: only at the end) */
    const char *average;       /* --average SPEC: a weight average kept by the fit */
    const char *model;         /* --model SPEC: the network's layers (else the MLP of --layers) */
    size_t shape[3];           /* --shape CxHxW of a row for --model (0: the data file's, or flat) */
} train_opts;

/* What the run produced, for the reports. */
typedef struct train_result {
    const dsc_mlp *model;
    const dsc_history *hist;
    size_t rows, cols, classes, train_rows, test_rows;
    double test_loss, test_metric, test_rmse; /* NAN without a test split */
    double avg_test_loss, avg_test_metric, avg_test_rmse; /* the same at the average (--average) */
    int ranks;          /* processes of the data-parallel run (1 without mpirun) */
    int64_t resumed_at; /* epochs done before this run (0 unless --resume) */
    size_t state_bytes; /* optimizer state held by this process */
    double load_seconds; /* everything before the first step (reading the data, the splits, the
                            model, the standardization): the command's time beside the fit's seconds */
    cJSON *plot;        /* NULL or the figure's description, taken by train_print_json */
} train_result;

/* --save: the file, and the command's options as the checkpoint's extra strings. */
typedef struct train_saver {
    const char *path;
    int64_t every;      /* save after every N-th epoch too (0: at the end only) */
    const dsc_mlp *model;
    dsc_kv kv[32];
    size_t n;
    char num[8][32];
    size_t nnum;
    char *owned[7];     /* the absolute paths of the data files, the labels */
    size_t nowned;
    /* how to save (NULL: dsc_mlp_save); under mpirun a collective gathering the state */
    dsc_status (*save)(void *ctx, const dsc_mlp *m, const char *path, const dsc_kv *kv, size_t n);
    void *ctx;
    dsc_status failed;  /* the first failed save, and its message */
    char error[512];
} train_saver;

/* ds: the training data, whose class labels (if any) are kept. */
void train_saver_init(train_saver *s, const train_opts *o, size_t classes, const dsc_dataset *ds);
void train_saver_free(train_saver *s);
/* Whether the directory of path exists and is writable (checked before training). */
int train_save_dir_writable(const char *path);
/* Saves the model (the first failure is kept in s for the report). */
dsc_status train_saver_save(train_saver *s, const dsc_mlp *m);
/* The --save-every hook of the epoch callback. */
void train_saver_epoch(train_saver *s, const dsc_epoch *e);
/* --resume: the run's options (o->resume set) and the model from the checkpoint, kept
 * open in *ck (its strings are the options'); 0 or the exit code of a reported error.
 * A sharded set's index (o->resume_sharded then set): the network from its sidecar
 * (*ck); in one process (skip_state 0) the whole optimizer state rebuilt from the
 * shards into the model's optimizer; under mpirun (skip_state 1) the ranks read it
 * later (train_dist_attach). */
int train_resume_open(train_opts *o, dsc_ckpt **ck, dsc_mlp **model, int skip_state);
/* The key of the extra string that marks a sharded set's sidecar (not to be resumed alone). */
#define TRAIN_SIDECAR_KEY "train.shard_sidecar"

/* Progress on stderr: one line per epoch; a bar while the epoch runs, only when
 * stderr is a terminal. */
typedef struct train_progress {
    int tty, quiet;
    int64_t epochs;
    double epoch_start, last_draw;
    int classify;
    train_saver *saver; /* --save-every, else NULL */
} train_progress;

void train_on_batch(size_t done, size_t total, double loss, void *user);
void train_on_epoch(const dsc_epoch *e, void *user);

int train_print_table(const train_opts *o, const train_result *r);
int train_print_json(const train_opts *o, const train_result *r);
/* --plot (train_plot.c), checked by cli_check_plot before the fit: the figure, its
 * description into *desc with --json. */
int train_plot_draw(const train_opts *o, const dsc_history *h, int classify, cJSON **desc);
/* 0 on success; -1 when the stream reports an error. */
int train_write_history(FILE *f, const dsc_history *h, int classify, int average);

#endif
