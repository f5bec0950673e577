/* main.c: the descent command: one program, one subcommand per file. */
#include "cli.h"

#include <string.h>

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"optimize", cmd_optimize, "run an optimizer on a test function"},
    {"compare", cmd_compare, "run several optimizers on a test function: a table and a figure"},
    {"paths", cmd_paths, "lasso and ridge regularization paths of a linear model on a CSV"},
    {"demo", cmd_demo, "the textbook comparisons and an MLP on the digits, figures under out/"},
    {"inspect", cmd_inspect, "the metadata and tensors of a checkpoint (safetensors)"},
    {"schedule", cmd_schedule, "print the learning rates a schedule gives"},
    {"bench", cmd_bench, "time an optimizer step against a plain loop with the same memory traffic"},
    {"train", cmd_train, "train an MLP on a dataset (CSV, NPY, NPZ, IDX)"},
    {"predict", cmd_predict, "predictions of a trained model (a train --save checkpoint) for new data"},
    {"evaluate", cmd_evaluate, "loss and accuracy (or RMSE and R^2) of a trained model on labelled data"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: descent <command> [options]   (descent <command> --help)\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
    cli_prefer_fast_blas(argv);
    if (argc < 2) {
        fprintf(stderr, "descent: missing command (try descent --help)\n");
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("descent %s\n", DSC_VERSION_STRING);
        return 0;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "descent: unknown command '%s' (try descent --help)\n", argv[1]);
    return CLI_EXIT_USAGE;
}
