/* data_args.c: the data options that train, predict and evaluate share (--targets,
 * --sep, --missing, --x-key, --y-key) and loading a dataset with them. */
#include "data_args.h"

#include <stdlib.h>
#include <string.h>

int cli_parse_sep(const char *text, char *out)
{
    if (!strcmp(text, "tab") || !strcmp(text, "\\t") || !strcmp(text, "\t")) *out = '\t';
    else if (!strcmp(text, ",") || !strcmp(text, ";") || !strcmp(text, "|")) *out = text[0];
    else return -1;
    return 0;
}

const char *cli_sep_name(char sep)
{
    return sep == '\t' ? "tab" : sep == ';' ? ";" : sep == '|' ? "|" : sep == ',' ? "," : NULL;
}

int cli_parse_missing(const char *text, dsc_missing *out)
{
    static const char *const names[] = {"error", "drop", "mean"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(text, names[i])) {
            *out = (dsc_missing)i;
            return 0;
        }
    return -1;
}

const char *cli_missing_name(dsc_missing m)
{
    return m == DSC_MISSING_DROP ? "drop" : m == DSC_MISSING_MEAN ? "mean" : "error";
}

int cli_data_option(const char *cmd, int c, const char *arg, dsc_load_options *o)
{
    switch (c) {
    case CLI_OPT_TARGETS: o->targets = arg; return 0;
    case CLI_OPT_X_KEY: o->x_key = arg; return 0;
    case CLI_OPT_Y_KEY: o->y_key = arg; return 0;
    case CLI_OPT_SEP:
        return cli_parse_sep(arg, &o->sep) ? cli_usage_error(cmd, "--sep must be ',', ';', '|' or tab, got '%s'", arg) : 0;
    case CLI_OPT_MISSING:
        return cli_parse_missing(arg, &o->missing) ? cli_usage_error(cmd, "--missing must be error, drop or mean, got '%s'", arg)
                                                   : 0;
    }
    return -1;
}

int cli_load_data(const char *cmd, const char *what, const char *path, const dsc_load_options *o, int need_targets,
                  dsc_dataset **out)
{
    dsc_data_format f = dsc_data_format_of(path);
    int paired = f == DSC_DATA_NPY || f == DSC_DATA_IDX;
    if (paired && need_targets && !o->targets)
        return cli_usage_error(cmd, "%s: a targets file (%s) is required with %s data", path, what,
                               f == DSC_DATA_NPY ? ".npy" : "IDX");
    if (!paired && o->targets)
        return cli_usage_error(cmd, "%s: a targets file (%s) is for .npy and IDX data; a CSV names its --target column "
                               "and an .npz its --y-key", path, what);
    dsc_status st = dsc_dataset_load(out, path, o);
    if (st != DSC_OK) return cli_lib_error(cmd, st);
    if (need_targets && !dsc_dataset_has_targets(*out))
        return cli_usage_error(cmd, "%s holds no targets", path);
    return 0;
}

int cli_split_labels(const char *cmd, const char *text, cli_labels *out)
{
    memset(out, 0, sizeof *out);
    if (!text || !text[0]) return 0;
    size_t n = 1;
    for (const char *p = text; *p; p++) n += *p == '\n';
    out->text = malloc(strlen(text) + 1);
    out->labels = malloc(n * sizeof *out->labels);
    if (!out->text || !out->labels) {
        cli_labels_free(out);
        return cli_fail(cmd, "out of memory");
    }
    strcpy(out->text, text);
    out->labels[out->count++] = out->text;
    for (char *p = out->text; *p; p++)
        if (*p == '\n') {
            *p = '\0';
            out->labels[out->count++] = p + 1;
        }
    return 0;
}

void cli_labels_free(cli_labels *l)
{
    free(l->labels);
    free(l->text);
    memset(l, 0, sizeof *l);
}
