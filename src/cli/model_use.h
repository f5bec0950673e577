/* model_use.h: what descent predict and evaluate share (model_use.c): a trained model
 * from a checkpoint with the data options and class labels it was trained with, data
 * read the way the model expects, and its outputs. */
#ifndef DSC_CLI_MODEL_USE_H
#define DSC_CLI_MODEL_USE_H

#include "data_args.h"
#include "descent_nn.h"

typedef struct cli_model {
    const char *path;
    dsc_ckpt *ck;
    dsc_mlp *mlp;
    size_t inputs, outputs;
    size_t classes;      /* 0: regression; 2 for a one-output bce model */
    cli_labels labels;   /* the classes' texts (a textual target column), else none */
    dsc_load_options load; /* the checkpoint's data options, then the command line's */
    double *mean;        /* the training means of the features (for --missing mean) */
} cli_model;

#include <getopt.h>

/* A command on a model: its options (ending with CLI_DATA_LONG_OPTIONS, --help and the
 * terminator), its help, and its own options' handler (0, an exit code, or
 * CLI_NOT_MINE for the data options). */
#define CLI_NOT_MINE (-2)
typedef struct cli_model_cmd {
    const char *name;
    const struct option *opts;
    void (*help)(FILE *f);
    int (*own)(int c, const char *arg, void *user);
    void *user;
} cli_model_cmd;

/* Reads the options for --model and --data, opens the model and reads them again over
 * the model's data options; -1 after --help, 0, or the exit code of a reported error. */
int cli_model_begin(const cli_model_cmd *cmd, int argc, char **argv, const char **model, const char **data,
                    cli_model *m);

/* Opens the checkpoint and its model; 0 or the exit code of the error it printed. */
int cli_model_open(const char *cmd, const char *path, cli_model *m);
void cli_model_close(cli_model *m);

/* Applies one of the data options to m->load (cli_data_option's contract). */
int cli_model_option(const char *cmd, cli_model *m, int c, const char *arg);

/* Reads data with the model's options: a file of exactly the model's feature count
 * holds no targets, one more column is the target (need_targets: it must be there). */
int cli_model_data(const char *cmd, cli_model *m, const char *path, int need_targets, dsc_dataset **out);

/* The model's outputs for every row of ds as class probabilities (n x classes) or, for
 * regression, predictions (n x 1), into *out (malloc'd); 0 or an exit code. */
int cli_model_outputs(const char *cmd, cli_model *m, const dsc_dataset *ds, double **out);

/* The class of a row of probabilities: the first largest. */
size_t cli_argmax(const double *p, size_t k);

/* "4-16-3 relu, f32" into buf. */
void cli_model_describe(const cli_model *m, char *buf, size_t size);

#endif
