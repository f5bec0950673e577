/* data_args.h: the data options of train, predict and evaluate (data_args.c). */
#ifndef DSC_CLI_DATA_ARGS_H
#define DSC_CLI_DATA_ARGS_H

#include "cli.h"
#include "descent_data.h"

/* getopt_long values of the shared options (above any character) */
enum { CLI_OPT_TARGETS = 0x100, CLI_OPT_SEP, CLI_OPT_MISSING, CLI_OPT_X_KEY, CLI_OPT_Y_KEY };

#define CLI_DATA_LONG_OPTIONS                                                                             \
    {"targets", required_argument, 0, CLI_OPT_TARGETS}, {"sep", required_argument, 0, CLI_OPT_SEP},       \
    {"missing", required_argument, 0, CLI_OPT_MISSING}, {"x-key", required_argument, 0, CLI_OPT_X_KEY},   \
    {"y-key", required_argument, 0, CLI_OPT_Y_KEY}

#define CLI_DATA_HELP                                                                                     \
    "  --targets     targets file for .npy and IDX data\n"                                                \
    "  --sep         CSV separator: ',' ';' '|' or tab (default: tab for .tsv, else ',')\n"               \
    "  --missing     empty cells and NaN in a CSV: error (default, naming the line and column),\n"        \
    "                drop (the row) or mean (the column's mean)\n"                                        \
    "  --x-key       .npz array of the features (default x)\n"                                            \
    "  --y-key       .npz array of the targets (default y)\n"

/* Applies one of the shared options to o: 0, the exit code of a usage error, or -1
 * when c is not one of them. */
int cli_data_option(const char *cmd, int c, const char *arg, dsc_load_options *o);

int cli_parse_sep(const char *text, char *out);      /* 0 on success */
const char *cli_sep_name(char sep);                  /* "tab", ";", ... (NULL for 0) */
int cli_parse_missing(const char *text, dsc_missing *out);
const char *cli_missing_name(dsc_missing m);

/* Loads path (what names its targets option in messages); with need_targets, .npy and
 * IDX data need o->targets and the file must hold targets. 0, or the exit code of the
 * error it printed. */
int cli_load_data(const char *cmd, const char *what, const char *path, const dsc_load_options *o, int need_targets,
                  dsc_dataset **out);

/* Class labels kept in a checkpoint as one string, a label a line (train.labels). */
typedef struct cli_labels {
    const char **labels; /* count pointers into text */
    size_t count;
    char *text;
} cli_labels;
/* Splits text (NULL or "": no labels); 0 or the exit code of the error it printed. */
int cli_split_labels(const char *cmd, const char *text, cli_labels *out);
void cli_labels_free(cli_labels *l);

#endif
