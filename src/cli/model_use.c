/* model_use.c: a trained model and the data it is given, for descent predict and
 * descent evaluate (see model_use.h). */
#include "model_use.h"

#include <stdlib.h>
#include <string.h>

#define ROWS_PER_CALL 1024 /* rows predicted per call: bounds the network's buffers */

int cli_model_open(const char *cmd, const char *path, cli_model *m)
{
    memset(m, 0, sizeof *m);
    m->path = path;
    m->load = dsc_load_options_default();
    char file[CLI_PATH_CAP]; /* a sharded set's network is in its sidecar */
    int sharded, rc = cli_checkpoint_file(cmd, path, file, sizeof file, &sharded);
    if (rc) return rc;
    dsc_status st = dsc_ckpt_open(&m->ck, file);
    if (st != DSC_OK) return cli_lib_error(cmd, st);
    if ((st = dsc_mlp_load_ckpt(&m->mlp, m->ck, NULL)) != DSC_OK) {
        fprintf(stderr, "descent %s: checkpoint '%s': %s\n", cmd, path, dsc_last_error());
        return st == DSC_ERR_NOMEM ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
    }
    const dsc_mlp_config *c = dsc_mlp_get_config(m->mlp);
    m->inputs = c->sizes[0];
    m->outputs = c->sizes[c->layers];
    dsc_loss loss = dsc_mlp_loss(m->mlp);
    m->classes = loss == DSC_LOSS_SOFTMAX_CE ? m->outputs : loss == DSC_LOSS_BCE ? 2 : 0;
    rc = cli_split_labels(cmd, dsc_ckpt_extra(m->ck, "train.labels"), &m->labels);
    if (rc) return rc;
    if (m->labels.count && m->labels.count != m->classes)
        return cli_usage_error(cmd, "checkpoint '%s' names %zu class labels for %zu classes", path, m->labels.count,
                               m->classes);
    /* the data options the model was trained with */
    const char *sep = dsc_ckpt_extra(m->ck, "train.sep"), *missing = dsc_ckpt_extra(m->ck, "train.missing");
    if (sep && cli_parse_sep(sep, &m->load.sep))
        return cli_usage_error(cmd, "checkpoint '%s': extra.train.sep must be ',', ';', '|' or tab, got '%s'", path, sep);
    if (missing && cli_parse_missing(missing, &m->load.missing))
        return cli_usage_error(cmd, "checkpoint '%s': extra.train.missing must be error, drop or mean, got '%s'", path,
                               missing);
    if (dsc_ckpt_extra(m->ck, "train.x_key")) m->load.x_key = dsc_ckpt_extra(m->ck, "train.x_key");
    if (dsc_ckpt_extra(m->ck, "train.y_key")) m->load.y_key = dsc_ckpt_extra(m->ck, "train.y_key");
    m->load.target = dsc_ckpt_extra(m->ck, "train.target");
    m->load.labels = m->labels.labels;
    m->load.nlabels = m->labels.count;
    m->load.features = m->inputs;
    if (!(m->mean = calloc(m->inputs, sizeof *m->mean))) return cli_fail(cmd, "out of memory");
    dsc_mlp_get_standardization(m->mlp, m->mean, NULL); /* zeros when the model has none */
    m->load.fill = m->mean;
    return 0;
}

void cli_model_close(cli_model *m)
{
    dsc_mlp_destroy(m->mlp);
    dsc_ckpt_close(m->ck);
    cli_labels_free(&m->labels);
    free(m->mean);
    memset(m, 0, sizeof *m);
}

int cli_model_option(const char *cmd, cli_model *m, int c, const char *arg)
{
    return cli_data_option(cmd, c, arg, &m->load);
}

static int parse_args(const cli_model_cmd *cmd, int argc, char **argv, const char **model, const char **data,
                      cli_model *m)
{
    int c;
    opterr = 0;
    optind = 0; /* from the start, also the second time */
    while ((c = getopt_long(argc, argv, "", cmd->opts, NULL)) != -1) {
        if (c == 'h') {
            cmd->help(stdout);
            return -1;
        }
        if (c == '?' || c == ':')
            return cli_usage_error(cmd->name, "%s '%s' (try descent %s --help)",
                                   optopt && c == '?' ? "unknown option" : "bad or incomplete option", argv[optind - 1],
                                   cmd->name);
        if (c == 'm') *model = optarg;
        else if (c == 'd') *data = optarg;
        else {
            int rc = cmd->own(c, optarg, cmd->user);
            if (rc == CLI_NOT_MINE) rc = cli_model_option(cmd->name, m, c, optarg);
            if (rc) return rc;
        }
    }
    if (optind < argc) return cli_usage_error(cmd->name, "unexpected argument '%s'", argv[optind]);
    if (!*model) return cli_usage_error(cmd->name, "--model FILE is required");
    if (!*data) return cli_usage_error(cmd->name, "--data FILE is required");
    return 0;
}

int cli_model_begin(const cli_model_cmd *cmd, int argc, char **argv, const char **model, const char **data,
                    cli_model *m)
{
    memset(m, 0, sizeof *m);
    m->load = dsc_load_options_default();
    int rc = parse_args(cmd, argc, argv, model, data, m);
    if (rc == 0) rc = cli_model_open(cmd->name, *model, m);
    if (rc == 0) rc = parse_args(cmd, argc, argv, model, data, m);
    return rc;
}

int cli_model_data(const char *cmd, cli_model *m, const char *path, int need_targets, dsc_dataset **out)
{
    int rc = cli_load_data(cmd, "--targets", path, &m->load, need_targets, out);
    if (rc) return rc;
    if (dsc_dataset_cols(*out) != m->inputs)
        return cli_usage_error(cmd, "%s has %zu features, the model takes %zu", path, dsc_dataset_cols(*out), m->inputs);
    return 0;
}

int cli_model_outputs(const char *cmd, cli_model *m, const dsc_dataset *ds, double **out)
{
    size_t n = dsc_dataset_rows(ds), d = dsc_dataset_cols(ds), k = m->classes ? m->classes : 1;
    double *v = malloc((n ? n : 1) * k * sizeof *v);
    if (!v) return cli_fail(cmd, "out of memory for %zu predictions", n);
    for (size_t i = 0; i < n; i += ROWS_PER_CALL) {
        size_t rows = n - i < ROWS_PER_CALL ? n - i : ROWS_PER_CALL;
        /* a bce model gives P(y = 1): its second column, the first is 1 - p */
        double *dst = v + i * k;
        dsc_status st = dsc_mlp_predict(m->mlp, dsc_dataset_x(ds) + i * d, rows, dst);
        if (st != DSC_OK) {
            free(v);
            return cli_lib_error(cmd, st);
        }
        if (m->outputs == 1 && m->classes == 2)
            for (size_t r = rows; r-- > 0;) {
                double p = dst[r];
                dst[2 * r + 1] = p;
                dst[2 * r] = 1 - p;
            }
    }
    *out = v;
    return 0;
}

size_t cli_argmax(const double *p, size_t k)
{
    size_t best = 0;
    for (size_t j = 1; j < k; j++)
        if (p[j] > p[best]) best = j;
    return best;
}

void cli_model_describe(const cli_model *m, char *buf, size_t size)
{
    const dsc_mlp_config *c = dsc_mlp_get_config(m->mlp);
    size_t used = 0;
    for (int i = 0; i <= c->layers && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%zu", i ? "-" : "", c->sizes[i]);
    if (used < size)
        snprintf(buf + used, size - used, " %s, %s", dsc_activation_name(c->hidden), c->dtype == DSC_F32 ? "f32" : "f64");
}
