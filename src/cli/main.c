/* main.c: the descent command: one program, one subcommand per file. */
#include "cli.h"

#include <errno.h>
#include <string.h>

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

/* The man page and the bash completion read this list from `descent --help` (the
 * lines under "commands:"), and each command's options from `descent CMD --help`:
 * a command added here appears in both. */
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
    fprintf(f, "Usage: descent <command> [options]   (descent <command> --help, descent help <command>)\n"
               "   or: descent --version\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nWith --json, a command prints its result as one JSON object on stdout and its\n"
               "errors as one JSON line, {\"error\": \"...\", \"command\": \"...\"}, on stderr.\n"
               "Exit status: 0 success, 1 the run failed, 2 bad options or specs.\n");
}

static const command *find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(name, commands[i].name)) return &commands[i];
    return NULL;
}

/* "descent help CMD" is "descent CMD --help". */
static int help(int argc, char **argv)
{
    if (argc < 3) {
        usage(stdout);
        return 0;
    }
    const command *c = find(argv[2]);
    if (!c) return cli_usage_error("help", "unknown command '%s' (see descent --help)", argv[2]);
    if (argc > 3) return cli_usage_error("help", "unexpected argument '%s'", argv[3]);
    char *args[] = {argv[2], "--help", NULL};
    return c->run(2, args);
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2) return cli_usage_error("", "missing command (try descent --help)");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "help")) return help(argc, argv);
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("descent %s\n", DSC_VERSION_STRING);
        return 0;
    }
    const command *c = find(argv[1]);
    if (!c) return cli_usage_error("", "unknown command '%s' (try descent --help)", argv[1]);
    return c->run(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
    cli_prefer_fast_blas(argv);
    cli_json_init();
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--json")) cli_json_errors = 1;
    int rc = dispatch(argc, argv);
    /* what was printed must have arrived: a full disk or a closed pipe behind stdout
     * is a failure, not a silent success */
    if (fflush(stdout) || ferror(stdout) || fclose(stdout)) {
        int err = errno;
        cli_fail(argc > 1 ? argv[1] : "", "cannot write to standard output: %s", strerror(err));
        return rc ? rc : CLI_EXIT_FAIL;
    }
    return rc;
}
