/*
 * predict.c: descent predict --model FILE --data FILE [--out FILE.csv|.npy] [--proba]
 * The predictions of a model saved by descent train --save for new data, through its
 * standardization and class labels: one line per row (a label, a class or a value),
 * or the class probabilities.
 */
#include "model_use.h"

#include <stdlib.h>
#include <string.h>

#define CMD "predict"

static void help(FILE *f)
{
    fprintf(f,
            "usage: descent predict --model FILE --data FILE [--out FILE.csv|FILE.npy] [--proba]\n"
            "                       [--targets FILE] [--sep S] [--missing error|drop|mean] [--x-key K]\n"
            "  --model       a checkpoint of descent train --save (or a sharded set's index)\n"
            "  --data        the rows to predict: .csv/.tsv, .npy, .npz or IDX. A CSV with exactly the\n"
            "                model's feature count of columns holds features only; with one column more,\n"
            "                its target column (the one named at training, else the last) is skipped.\n"
            "                Likewise an .npz without its y array. The model's standardization applies\n"
            "  --out         write there instead of stdout: .csv (text) or .npy (float64: the class\n"
            "                indices, or values; (rows, classes) with --proba)\n"
            "  --proba       the class probabilities, a column per class (classification)\n"
            CLI_DATA_HELP
            "                (defaults: the options the model was trained with; --missing mean fills\n"
            "                in the training means)\n"
            "Output: a header line (prediction, or the class labels with --proba), then a line per row:\n"
            "the class label (its text when the training target was text), or the predicted value.\n");
}

typedef struct predict_opts {
    const char *model, *data, *out;
    int proba;
} predict_opts;

static int own_option(int c, const char *arg, void *user)
{
    predict_opts *o = user;
    if (c == 'o') o->out = arg;
    else if (c == 'p') o->proba = 1;
    else return CLI_NOT_MINE;
    size_t n = o->out ? strlen(o->out) : 0;
    if (o->out && dsc_data_format_of(o->out) != DSC_DATA_NPY && !(n > 4 && !strcmp(o->out + n - 4, ".csv")))
        return cli_usage_error(CMD, "--out must end in .csv or .npy, got '%s'", o->out);
    return 0;
}

/* The CSV text of the predictions; 0 unless the stream failed. */
static int write_csv(FILE *f, const cli_model *m, const double *v, size_t n, int proba, const char *fmt)
{
    size_t k = m->classes ? m->classes : 1;
    if (proba) {
        for (size_t j = 0; j < k; j++) {
            if (j) fputc(',', f);
            if (m->labels.count) fputs(m->labels.labels[j], f);
            else fprintf(f, "%zu", j);
        }
        fputc('\n', f);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < k; j++) {
                fprintf(f, fmt, v[i * k + j]);
                fputc(j + 1 < k ? ',' : '\n', f);
            }
        return ferror(f);
    }
    fputs("prediction\n", f);
    for (size_t i = 0; i < n; i++) {
        if (!m->classes) fprintf(f, fmt, v[i]);
        else if (m->labels.count) fputs(m->labels.labels[cli_argmax(v + i * k, k)], f);
        else fprintf(f, "%zu", cli_argmax(v + i * k, k));
        fputc('\n', f);
    }
    return ferror(f);
}

/* --out FILE.npy: the classes (or values), or with --proba the probabilities, as float64. */
static dsc_status write_npy(const char *path, const cli_model *m, double *v, size_t n, int proba)
{
    size_t k = m->classes ? m->classes : 1;
    if (proba) return dsc_npy_write(path, v, n, k);
    for (size_t i = 0; m->classes && i < n; i++) v[i] = (double)cli_argmax(v + i * k, k); /* in place: i <= i * k */
    return dsc_npy_write(path, v, n, 0);
}

static int run(const predict_opts *o, cli_model *m)
{
    if (o->proba && !m->classes) return cli_usage_error(CMD, "--proba needs a classifier; %s is a regression model", o->model);
    dsc_dataset *ds = NULL;
    double *v = NULL;
    int rc = cli_model_data(CMD, m, o->data, 0, &ds);
    if (!rc) rc = cli_model_outputs(CMD, m, ds, &v);
    size_t n = dsc_dataset_rows(ds);
    dsc_dataset_destroy(ds);
    if (rc) return rc;
    const char *fmt = dsc_mlp_get_config(m->mlp)->dtype == DSC_F32 ? "%.9g" : "%.17g";
    if (o->out && dsc_data_format_of(o->out) == DSC_DATA_NPY) {
        dsc_status st = write_npy(o->out, m, v, n, o->proba);
        free(v);
        return st ? cli_lib_error(CMD, st) : 0;
    }
    /* --out: whole or not at all (a full disk leaves the old file and no partial one) */
    cli_out *out = NULL;
    if (o->out && cli_out_open(CMD, "--out", o->out, &out)) {
        free(v);
        return CLI_EXIT_FAIL;
    }
    FILE *f = out ? cli_out_file(out) : stdout;
    int bad = write_csv(f, m, v, n, o->proba, fmt);
    if (out) rc = cli_out_close(CMD, out, !bad);
    else bad |= fflush(f) != 0;
    if (bad && !rc) rc = cli_fail(CMD, "cannot write the predictions to %s", o->out ? o->out : "stdout");
    free(v);
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"data", required_argument, 0, 'd'},
        {"out", required_argument, 0, 'o'},   {"proba", no_argument, 0, 'p'},
        CLI_DATA_LONG_OPTIONS,                {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    predict_opts o = {0};
    cli_model m;
    cli_model_cmd cmd = {CMD, opts, help, own_option, &o};
    int rc = cli_model_begin(&cmd, argc, argv, &o.model, &o.data, &m);
    if (rc == 0) rc = run(&o, &m);
    cli_model_close(&m);
    return rc < 0 ? 0 : rc;
}
