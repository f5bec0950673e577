/*
 * evaluate.c: descent evaluate --model FILE --data FILE [--json]
 * A model saved by descent train --save on labelled data: the loss and accuracy with a
 * confusion matrix for a classifier, the loss, RMSE and R^2 for a regression, through
 * the model's standardization and class labels.
 */
#include "model_use.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CMD "evaluate"

static void help(FILE *f)
{
    fprintf(f,
            "usage: descent evaluate --model FILE --data FILE [--targets FILE] [--sep S]\n"
            "                        [--missing error|drop|mean] [--x-key K] [--y-key K] [--json]\n"
            "  --model       a checkpoint of descent train --save (or a sharded set's index)\n"
            "  --data        labelled rows: .csv/.tsv (the target column named at training, else the\n"
            "                last; class labels as at training), .npy or IDX with --targets, .npz\n"
            CLI_DATA_HELP
            "                (defaults: the options the model was trained with)\n"
            "  --json        one JSON object on stdout: rows, loss, and accuracy, labels and\n"
            "                confusion (rows: true class, columns: predicted), or rmse and r2\n");
}

typedef struct eval_opts {
    const char *model, *data;
    int json;
} eval_opts;

static int own_option(int c, const char *arg, void *user)
{
    (void)arg;
    if (c != 'j') return CLI_NOT_MINE;
    ((eval_opts *)user)->json = 1;
    return 0;
}

typedef struct scores {
    size_t rows, classes;
    double loss, metric, rmse;
    size_t *confusion; /* classes x classes: [true][predicted] */
} scores;

static int compute(cli_model *m, const dsc_dataset *ds, scores *s)
{
    s->rows = dsc_dataset_rows(ds);
    s->classes = m->classes;
    dsc_status st = dsc_mlp_evaluate_rmse(m->mlp, ds, &s->loss, &s->metric, &s->rmse);
    if (st != DSC_OK) return cli_lib_error(CMD, st);
    if (!m->classes) return 0;
    double *p = NULL;
    int rc = cli_model_outputs(CMD, m, ds, &p);
    if (rc) return rc;
    size_t k = m->classes;
    if (!(s->confusion = calloc(k * k, sizeof *s->confusion))) {
        free(p);
        return cli_fail(CMD, "out of memory");
    }
    const double *y = dsc_dataset_y(ds);
    for (size_t i = 0; i < s->rows; i++) s->confusion[(size_t)y[i] * k + cli_argmax(p + i * k, k)]++;
    free(p);
    return 0;
}

static void class_name(const cli_model *m, size_t j, char *buf, size_t size)
{
    if (m->labels.count) snprintf(buf, size, "%s", m->labels.labels[j]);
    else snprintf(buf, size, "%zu", j);
}

static int print_table(const eval_opts *o, const cli_model *m, const scores *s)
{
    char net[256];
    cli_model_describe(m, net, sizeof net);
    printf("model     %s: %s, %s\n", o->model, net, s->classes ? "classification" : "regression");
    printf("data      %s: %zu rows\n", o->data, s->rows);
    printf("loss      %.6g\n", s->loss);
    if (!s->classes) {
        printf("rmse      %.6g\nr2        %.6g\n", s->rmse, s->metric);
        return fflush(stdout) ? cli_fail(CMD, "cannot write to stdout") : 0;
    }
    printf("accuracy  %.4f\n\nconfusion (rows: true class, columns: predicted)\n", s->metric);
    int width = 6;
    char name[64];
    for (size_t j = 0; j < s->classes; j++) {
        class_name(m, j, name, sizeof name);
        if ((int)strlen(name) > width) width = (int)strlen(name);
    }
    printf("%*s", width, "");
    for (size_t j = 0; j < s->classes; j++) {
        class_name(m, j, name, sizeof name);
        printf(" %*s", width, name);
    }
    putchar('\n');
    for (size_t i = 0; i < s->classes; i++) {
        class_name(m, i, name, sizeof name);
        printf("%-*s", width, name);
        for (size_t j = 0; j < s->classes; j++) printf(" %*zu", width, s->confusion[i * s->classes + j]);
        putchar('\n');
    }
    return fflush(stdout) ? cli_fail(CMD, "cannot write to stdout") : 0;
}

static int print_json(const eval_opts *o, const cli_model *m, const scores *s)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", o->model);
    cJSON_AddStringToObject(j, "data", o->data);
    cJSON_AddStringToObject(j, "task", s->classes ? "classify" : "regress");
    cJSON_AddNumberToObject(j, "rows", (double)s->rows);
    cli_add_number(j, "loss", s->loss);
    if (!s->classes) {
        cli_add_number(j, "rmse", s->rmse);
        cli_add_number(j, "r2", s->metric);
        return cli_print_json(CMD, j);
    }
    cli_add_number(j, "accuracy", s->metric);
    cJSON *labels = cJSON_AddArrayToObject(j, "labels"), *conf = cJSON_AddArrayToObject(j, "confusion");
    for (size_t a = 0; a < s->classes; a++) {
        cli_json_add(labels, NULL, m->labels.count ? cJSON_CreateString(m->labels.labels[a]) : cJSON_CreateNumber((double)a));
        cJSON *row = cJSON_CreateArray();
        for (size_t b = 0; b < s->classes; b++)
            cli_json_add(row, NULL, cJSON_CreateNumber((double)s->confusion[a * s->classes + b]));
        cli_json_add(conf, NULL, row);
    }
    return cli_print_json(CMD, j);
}

int cmd_evaluate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"data", required_argument, 0, 'd'},
        {"json", no_argument, 0, 'j'},        CLI_DATA_LONG_OPTIONS,
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0},
    };
    eval_opts o = {0};
    cli_model m;
    cli_model_cmd cmd = {CMD, opts, help, own_option, &o};
    int rc = cli_model_begin(&cmd, argc, argv, &o.model, &o.data, &m);
    dsc_dataset *ds = NULL;
    scores s = {0};
    if (rc == 0) rc = cli_model_data(CMD, &m, o.data, 1, &ds);
    if (rc == 0) rc = compute(&m, ds, &s);
    if (rc == 0) rc = o.json ? print_json(&o, &m, &s) : print_table(&o, &m, &s);
    free(s.confusion);
    dsc_dataset_destroy(ds);
    cli_model_close(&m);
    return rc < 0 ? 0 : rc;
}
