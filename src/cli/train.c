/*
 * train.c: descent train --data FILE [--targets FILE] [--target NAME|last] [--sep S] [--missing M]
 *          [--val-data FILE [--val-targets FILE]] [--test-data FILE [--test-targets FILE]]
 *          [--task classify|regress] --layers 64,32 [--activation relu] | --model SPEC [--shape CxHxW]
 *          --optimizer SPEC
 *          [--schedule SPEC] --epochs N --batch B [--val-split F] [--test-split F] [--seed S] [--threads T]
 *          [--average SPEC] [--history FILE.csv] [--plot FILE.png|.svg|.pdf] [--save FILE [--save-every N]] [--json]
 *        descent train --resume FILE --epochs N [--save FILE] [--json]
 * Loads a dataset, holds out a seeded (stratified) test split, trains an MLP (or the
 * layers of --model: convolutions, pooling, batchnorm, ...) and
 * reports the held-out accuracy, or RMSE and R^2.
 */
#include "train.h"
#ifdef DSC_HAVE_MPI
#include "train_dist.h"
#endif

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CMD "train"

static void help(FILE *f)
{
    fprintf(f,
            "usage: descent train --data FILE [--targets FILE] [--target NAME|last] [--task classify|regress]\n"
            "                     --layers 64,32 [--activation relu] | --model SPEC [--shape CxHxW]\n"
            "                     --optimizer SPEC [--schedule SPEC]\n"
            "                     --epochs N --batch B\n"
            "                     [--val-split F | --val-data FILE] [--test-split F | --test-data FILE]\n"
            "                     [--seed S] [--threads T] [--average SPEC] [--sep S] [--missing error|drop|mean]\n"
            "                     [--history FILE.csv] [--plot FILE.png|.svg|.pdf] [--save FILE [--save-every N]]\n"
            "                     [--json]\n"
            "       descent train --resume FILE --epochs N [--save FILE] [--json]\n"
            "       mpirun -np N descent train ... [--zero [--save FILE --shard-checkpoints]]\n"
            "                                  (data-parallel over N processes)\n"
            "  --data        features: .csv/.tsv (the target is a column; a first row of numbers is data,\n"
            "                not a header; a column of texts is class labels), .npy, .npz (arrays x, y),\n"
            "                or MNIST IDX (.idx, -ubyte, optionally .gz)\n"
            "  --target      CSV target column: a name or 'last' (default last)\n"
            CLI_DATA_HELP
            "  --val-data    validation data in a file of its own (instead of --val-split)\n"
            "  --val-targets its targets file (.npy, IDX)\n"
            "  --test-data   test data in a file of its own (instead of --test-split), e.g. MNIST's t10k\n"
            "  --test-targets its targets file (.npy, IDX)\n"
            "  --task        classify or regress (default: classify when the targets are few integers)\n"
            "  --layers      hidden layer sizes, e.g. 64,32 (default 64; 0 for none)\n"
            "  --activation  linear, relu, leaky_relu, elu, selu, tanh, sigmoid, softmax (default relu)\n"
            "  --model       the network's layers instead of --layers, e.g.\n"
            "                'conv2d(16,k=5,pad=2),relu,maxpool2d(2),flatten,dense(10)': conv2d(out,k=,stride=,pad=),\n"
            "                maxpool2d(k), avgpool2d(k), flatten, dense(out), batchnorm, dropout(p), activations\n"
            "  --shape       with --model: a row as C x H x W, e.g. 1x8x8 (default: the images of IDX\n"
            "                and 3-D/4-D .npy data; flat rows otherwise)\n"
            "  --init        auto, he_normal, he_uniform, xavier_normal, xavier_uniform (default auto)\n"
            "  --dropout     probability of dropping a hidden unit while training (default 0)\n"
            "  --optimizer   spec, e.g. 'adam(lr=1e-3)' (default adam)\n"
            "  --schedule    learning-rate schedule, advanced once per batch, e.g. 'cosine(T_max=4690)'\n"
            "  --epochs      passes over the training data (default 10)\n"
            "  --batch       batch size (default 32)\n"
            "  --val-split   fraction of the training data held out for validation (default 0)\n"
            "  --patience    stop after N epochs without a better validation loss (default 0: off)\n"
            "  --test-split  fraction held out for the final test (default 0.2; 0 for none)\n"
            "  --seed        seed of the splits, initialisation, shuffling and dropout (default 0)\n"
            "  --average     also keep a weight average, folded after every optimizer update, and\n"
            "                report validation and test at it: 'ema(decay=0.999, every=1, start=0)'\n"
            "                or 'swa(start=0, every=1)' (start and every count updates), or 'ax':\n"
            "                ASGD's own average (its state ax; --optimizer asgd only)\n"
            "  --threads     BLAS threads (default: OpenBLAS's)\n"
            "  --dtype       f32 or f64 (default f32)\n");
    /* two literals: ISO C promises 4095 characters in one */
    fputs("  --history     write the per-epoch history to a CSV file\n"
            "  --plot        draw the history: loss, and accuracy or R^2, against epoch\n"
            "  --save        write a checkpoint at the end: the network, optimizer, schedule,\n"
            "                standardization, training position and these options\n"
            "  --save-every  with --save: also after every N-th epoch\n"
            "  --resume      continue a checkpoint for --epochs more epochs, on the bits of one\n"
            "                unbroken run; everything comes from the file (--data and --targets\n"
            "                may name a moved copy of the same data), or from a sharded set's index\n"
            "  --json        print one JSON object on stdout\n"
            "  --quiet       no per-epoch lines on stderr\n"
            "  --zero        under mpirun: shard the optimizer state over the ranks (ZeRO-1)\n"
            "  --bucket-kb   under mpirun: gradient KiB per collective call (default 25600)\n"
            "  --timeout     under mpirun: seconds a rank waits for the others at start-up and at the\n"
            "                end before the job is ended, naming the ranks that did not answer\n"
            "                (default 0: for ever; a rank that failed waits at most 10 s)\n"
            "  --log-dir     under mpirun: each rank also writes its stderr to DIR/rank-R.log\n"
            "  --shard-checkpoints  with --zero and --save under mpirun: FILE is the index of a set,\n"
            "                each rank writing only its shard of the optimizer state (FILE.shard-*-R-of-N)\n"
            "                and rank 0 the network (FILE.shard-*-sidecar); --resume FILE then works on\n"
            "                any rank count or in one process, and predict, evaluate and inspect take it\n", f);
}

/* "CxHxW" into shape. */
static int parse_shape(const char *text, size_t shape[3])
{
    const char *p = text;
    for (int i = 0; i < 3; i++) {
        char *end;
        if (*p < '0' || *p > '9') return -1;
        unsigned long long v = strtoull(p, &end, 10);
        if (v < 1 || v > (1u << 24) || *end != (i < 2 ? 'x' : '\0')) return -1;
        shape[i] = (size_t)v;
        p = end + 1;
    }
    return 0;
}

static int parse_fraction(const char *text, double max_excl, double *out)
{
    size_t n;
    return cli_parse_doubles(text, out, 1, &n) || !(*out >= 0 && *out < max_excl) ? -1 : 0;
}

static int parse_layers(const char *text, train_opts *o)
{
    double v[DSC_MLP_MAX_LAYERS];
    size_t n;
    if (!strcmp(text, "0")) {
        o->nhidden = 0;
        return 0;
    }
    if (cli_parse_doubles(text, v, DSC_MLP_MAX_LAYERS - 1, &n)) return -1;
    for (size_t i = 0; i < n; i++) {
        if (!(v[i] >= 1 && v[i] <= 1 << 20) || v[i] != floor(v[i])) return -1;
        o->hidden[i] = (size_t)v[i];
    }
    o->nhidden = (int)n;
    return 0;
}

/* One option into o; returns 0, or the exit code of a usage error. */
static int set_option(train_opts *o, int c, const char *arg)
{
    int64_t v;
    switch (c) {
    case 'd': o->data = arg; return 0;
    case CLI_OPT_TARGETS: o->targets = arg; return 0;
    case 't': o->target = arg; return 0;
    case 'V': o->val_data = arg; return 0;
    case 'U': o->val_targets = arg; return 0;
    case 'X': o->test_data = arg; return 0;
    case 'Y': o->test_targets = arg; return 0;
    case CLI_OPT_SEP: case CLI_OPT_MISSING: case CLI_OPT_X_KEY: case CLI_OPT_Y_KEY: {
        dsc_load_options l = dsc_load_options_default();
        l.sep = o->sep;
        l.missing = o->missing;
        int rc = cli_data_option(CMD, c, arg, &l);
        o->sep = l.sep;
        o->missing = l.missing;
        if (c == CLI_OPT_X_KEY) o->x_key = arg;
        if (c == CLI_OPT_Y_KEY) o->y_key = arg;
        return rc;
    }
    case 'o': o->optimizer = arg; return 0;
    case 'S': o->schedule = arg; return 0;
    case 'H': o->history = arg; return 0;
    case 'P': o->plot = arg; return 0;
    case 'a': o->activation = arg; return 0;
    case 'i': o->init = arg; return 0;
    case 'j': o->json = 1; return 0;
    case 'q': o->quiet = 1; return 0;
    case 'Z': o->zero = 1; return 0;
    case 'C': o->shard_checkpoints = 1; return 0;
    case 'K':
        return cli_parse_int64(arg, 1, 1 << 20, &o->bucket_kb) ? cli_usage_error(CMD, "--bucket-kb must be an integer in [1, 1048576], got '%s'", arg) : 0;
    case 'k':
        if (!strcmp(arg, "classify") || !strcmp(arg, "regress")) { o->task = arg[0] == 'c'; return 0; }
        return cli_usage_error(CMD, "--task must be classify or regress, got '%s'", arg);
    case 'l':
        return parse_layers(arg, o) ? cli_usage_error(CMD, "--layers must be sizes in [1, 2^20] like 64,32 (at most %d), got '%s'",
                                                      DSC_MLP_MAX_LAYERS - 1, arg) : 0;
    case 'e':
        return cli_parse_int64(arg, 1, 1000000000, &o->epochs) ? cli_usage_error(CMD, "--epochs must be an integer >= 1, got '%s'", arg) : 0;
    case 'b':
        return cli_parse_int64(arg, 1, 1 << 24, &o->batch) ? cli_usage_error(CMD, "--batch must be an integer in [1, 2^24], got '%s'", arg) : 0;
    case 'p':
        return cli_parse_int64(arg, 0, 1000000000, &o->patience) ? cli_usage_error(CMD, "--patience must be an integer >= 0, got '%s'", arg) : 0;
    case 'n':
        return cli_parse_int64(arg, 1, 1024, &o->threads) ? cli_usage_error(CMD, "--threads must be an integer in [1, 1024], got '%s'", arg) : 0;
    case 's':
        if (cli_parse_int64(arg, 0, INT64_MAX, &v)) return cli_usage_error(CMD, "--seed must be an integer >= 0, got '%s'", arg);
        o->seed = (uint64_t)v;
        return 0;
    case 'v':
        return parse_fraction(arg, 1, &o->val_split) ? cli_usage_error(CMD, "--val-split must be in [0, 1), got '%s'", arg) : 0;
    case 'x':
        o->test_split_set = 1;
        return parse_fraction(arg, 1, &o->test_split) ? cli_usage_error(CMD, "--test-split must be in [0, 1), got '%s'", arg) : 0;
    case 'r':
        return parse_fraction(arg, 1, &o->dropout) ? cli_usage_error(CMD, "--dropout must be in [0, 1), got '%s'", arg) : 0;
    case 'W': o->save = arg; return 0;
    case 'A': o->average = arg; return 0;
    case 'R': o->resume = arg; return 0;
    case 'E':
        return cli_parse_int64(arg, 1, 1000000000, &o->save_every) ? cli_usage_error(CMD, "--save-every must be an integer >= 1, got '%s'", arg) : 0;
    case 'L': o->log_dir = arg; return 0;
    case 'u':
        return parse_fraction(arg, 1e9, &o->timeout) ? cli_usage_error(CMD, "--timeout must be seconds in [0, 1e9), got '%s'", arg) : 0;
    case 'D':
        return cli_parse_dtype(arg, &o->dtype) ? cli_usage_error(CMD, "--dtype must be f32 or f64, got '%s'", arg) : 0;
    case 'M': o->model = arg; return 0;
    case 'G':
        return parse_shape(arg, o->shape) ? cli_usage_error(CMD, "--shape must be CxHxW like 1x8x8 (each in [1, 2^24]), "
                                                            "got '%s'", arg) : 0;
    }
    return cli_usage_error(CMD, "unknown option (try descent train --help)");
}

/* The options --resume takes beside the checkpoint: the data files (a moved copy of
 * the same data), the length of the run and its outputs. */
static int resume_may_set(int c)
{
    return c == CLI_OPT_TARGETS || (c < 0x80 && c > 0 && strchr("dVUXYeHPjqZKWERnuLC", c));
}

static int parse_args(int argc, char **argv, train_opts *o)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'},     CLI_DATA_LONG_OPTIONS,
        {"val-data", required_argument, 0, 'V'}, {"val-targets", required_argument, 0, 'U'},
        {"test-data", required_argument, 0, 'X'},{"test-targets", required_argument, 0, 'Y'},
        {"target", required_argument, 0, 't'},   {"task", required_argument, 0, 'k'},
        {"layers", required_argument, 0, 'l'},   {"activation", required_argument, 0, 'a'},
        {"init", required_argument, 0, 'i'},     {"dropout", required_argument, 0, 'r'},
        {"optimizer", required_argument, 0, 'o'},{"epochs", required_argument, 0, 'e'},
        {"schedule", required_argument, 0, 'S'},
        {"batch", required_argument, 0, 'b'},    {"val-split", required_argument, 0, 'v'},
        {"patience", required_argument, 0, 'p'}, {"test-split", required_argument, 0, 'x'},
        {"seed", required_argument, 0, 's'},     {"threads", required_argument, 0, 'n'},
        {"dtype", required_argument, 0, 'D'},    {"history", required_argument, 0, 'H'},
        {"json", no_argument, 0, 'j'},           {"quiet", no_argument, 0, 'q'},
        {"zero", no_argument, 0, 'Z'},          {"bucket-kb", required_argument, 0, 'K'},
        {"plot", required_argument, 0, 'P'},
        {"save", required_argument, 0, 'W'},     {"save-every", required_argument, 0, 'E'},
        {"resume", required_argument, 0, 'R'},   {"average", required_argument, 0, 'A'},
        {"timeout", required_argument, 0, 'u'}, {"log-dir", required_argument, 0, 'L'},
        {"shard-checkpoints", no_argument, 0, 'C'},
        {"model", required_argument, 0, 'M'},    {"shape", required_argument, 0, 'G'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0},
    };
    int c, at;
    const char *fixed = NULL; /* an option the checkpoint of --resume fixes */
    const char *mlp_only = NULL; /* an option of the MLP that --model replaces */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, &at)) != -1) {
        if (c == 'h') {
            help(stdout);
            return -1;
        }
        if (c == '?' || c == ':') {
            const char *bad = argv[optind - 1];
            return cli_usage_error(CMD, "%s '%s' (try descent train --help)",
                                   optopt && c == '?' ? "unknown option" : "bad or incomplete option", bad);
        }
        int rc = set_option(o, c, optarg);
        if (rc) return rc;
        if (!fixed && !resume_may_set(c)) fixed = opts[at].name;
        if (!mlp_only && c > 0 && c < 0x80 && strchr("lar", c)) mlp_only = opts[at].name;
    }
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (o->resume && fixed)
        return cli_usage_error(CMD, "--%s cannot be given with --resume: the checkpoint fixes it (only --epochs, --data, "
                               "--targets, --val-data, --val-targets, --test-data, --test-targets, --save, --save-every, "
                               "--history, --plot, --threads, --json, --quiet, --zero, --bucket-kb, --timeout, --log-dir and "
                               "--shard-checkpoints "
                               "may be)", fixed);
    dsc_hparams hp; /* a malformed spec is reported where the optimizer is made */
    if (dsc_hparams_parse(o->optimizer, &hp) == DSC_OK && hp.kind == DSC_LBFGS)
        return cli_usage_error(CMD, "lbfgs needs a closure over the whole loss (dsc_optim_step_closure); descent "
                               "train steps on mini-batches (and under mpirun on shards): use descent optimize on a "
                               "problem, or the library");
    if (o->save_every && !o->save) return cli_usage_error(CMD, "--save-every needs --save FILE");
    if (o->shard_checkpoints && (!o->zero || !o->save))
        return cli_usage_error(CMD, "--shard-checkpoints needs --zero and --save FILE: the set's shards are the "
                               "ranks' shards of the optimizer state");
    if (o->val_targets && !o->val_data) return cli_usage_error(CMD, "--val-targets needs --val-data FILE");
    if (o->test_targets && !o->test_data) return cli_usage_error(CMD, "--test-targets needs --test-data FILE");
    if (o->val_data && o->val_split > 0) return cli_usage_error(CMD, "give --val-data or --val-split, not both");
    if (o->test_data && o->test_split_set) return cli_usage_error(CMD, "give --test-data or --test-split, not both");
    if (o->model && mlp_only)
        return cli_usage_error(CMD, "--%s is an option of the MLP: with --model, give the layers there", mlp_only);
    if (o->shape[0] && !o->model) return cli_usage_error(CMD, "--shape is for --model");
    if (o->resume) return 0;
    if (!o->data) return cli_usage_error(CMD, "--data FILE is required");
    if (o->patience > 0 && o->val_split == 0 && !o->val_data)
        return cli_usage_error(CMD, "--patience needs --val-split > 0 or --val-data");
    return 0;
}

/* Everything a run holds, released together. */
typedef struct train_run {
    dsc_dataset *all, *train, *test, *val; /* val, and test with --test-data: the user's files */
    cli_labels labels;       /* --resume: the checkpoint's class labels */
    dsc_mlp *model;
    dsc_history *hist;
    cli_out *history; /* opened before training, so a bad path fails at once */
    struct train_dist *dist; /* under mpirun, else NULL */
    int rank, ranks;
    dsc_ckpt *resumed;       /* --resume: the checkpoint (its strings are options) */
    train_saver saver;       /* --save */
    double start;            /* when the command began: load_seconds count from here */
} train_run;

static void run_free(train_run *r)
{
    cli_out_close(CMD, r->history, 0); /* a failed run's history is not published */
    dsc_history_destroy(r->hist);
    dsc_mlp_destroy(r->model);
    if (r->train != r->all) dsc_dataset_destroy(r->train);
    dsc_dataset_destroy(r->test);
    dsc_dataset_destroy(r->val);
    dsc_dataset_destroy(r->all);
    cli_labels_free(&r->labels);
    dsc_ckpt_close(r->resumed);
    train_saver_free(&r->saver);
}

/* The network of --model on rows of the data's (or --shape's) shape, created in r (build_model
 * compiles it); 0 or the exit code of a reported error. */
static int build_layers(const train_opts *o, train_run *r, size_t classes)
{
    size_t shape[3] = {dsc_dataset_cols(r->all), 0, 0}, cols = dsc_dataset_cols(r->all);
    if (o->shape[0]) memcpy(shape, o->shape, sizeof shape);
    else dsc_dataset_shape(r->all, shape);
    if (shape[1] && shape[0] * shape[1] * shape[2] != cols)
        return cli_usage_error(CMD, "--shape %zux%zux%zu is %zu values, the data has %zu features", shape[0], shape[1],
                               shape[2], shape[0] * shape[1] * shape[2], cols);
    dsc_mlp_config c = dsc_mlp_config_model(o->model, shape[0], shape[1], shape[2]);
    c.dtype = o->dtype;
    c.seed = o->seed;
    dsc_status st = o->init ? dsc_init_from_name(o->init, &c.init) : DSC_OK;
    if (st == DSC_OK) st = dsc_mlp_create(&r->model, &c);
    if (st != DSC_OK) return cli_lib_error(CMD, st);
    /* a classifier may have more outputs than the labels the data holds */
    size_t want = classes ? classes : 1, outputs = dsc_mlp_get_config(r->model)->sizes[1];
    if (classes ? outputs < want : outputs != want)
        return cli_usage_error(CMD, "--model gives %zu outputs, the task needs %s%zu (%s): end it with dense(%zu)",
                               outputs, classes ? "at least " : "", want, classes ? "one per class" : "regression",
                               want);
    return 0;
}

static dsc_status build_model(const train_opts *o, train_run *r, size_t classes)
{
    dsc_activation act;
    dsc_init init = DSC_INIT_AUTO;
    dsc_status st = dsc_activation_from_name(o->activation, &act);
    if (st == DSC_OK && o->init) st = dsc_init_from_name(o->init, &init);
    if (st != DSC_OK) return st;
    size_t sizes[DSC_MLP_MAX_LAYERS + 1];
    sizes[0] = dsc_dataset_cols(r->all);
    for (int i = 0; i < o->nhidden; i++) sizes[i + 1] = o->hidden[i];
    sizes[o->nhidden + 1] = classes ? classes : 1;
    dsc_mlp_config c = dsc_mlp_config_default(sizes, o->nhidden + 2);
    c.hidden = act;
    c.init = init;
    c.dropout = o->dropout;
    c.dtype = o->dtype;
    c.seed = o->seed;
    if (!r->model) st = dsc_mlp_create(&r->model, &c); /* unless build_layers made --model's */
    if (st != DSC_OK) return st;
    dsc_loss loss = classes ? DSC_LOSS_SOFTMAX_CE : DSC_LOSS_MSE;
#ifdef DSC_HAVE_MPI
    if (r->dist) return train_dist_compile(r->model, o->optimizer, o->schedule, loss);
#endif
    return dsc_mlp_compile(r->model, o->optimizer, o->schedule, loss);
}

/* Test loss and metric, and RMSE in target units for regression (NAN otherwise), in one pass. */
static dsc_status test_scores(train_run *r, double *loss, double *metric, double *rmse)
{
    *loss = *metric = *rmse = NAN;
    if (!r->test) return DSC_OK;
    return dsc_mlp_evaluate_rmse(r->model, r->test, loss, metric, rmse);
}

/* The test scores at the live weights, and with --average at the averaged ones. */
static dsc_status all_scores(train_run *r, train_result *res)
{
    res->avg_test_loss = res->avg_test_metric = res->avg_test_rmse = NAN;
    dsc_status st = test_scores(r, &res->test_loss, &res->test_metric, &res->test_rmse);
    if (st != DSC_OK || !dsc_mlp_average(r->model)) return st;
    if ((st = dsc_mlp_use_average(r->model, 1)) != DSC_OK) return st;
    st = test_scores(r, &res->avg_test_loss, &res->avg_test_metric, &res->avg_test_rmse);
    dsc_status back = dsc_mlp_use_average(r->model, 0);
    return st ? st : back;
}

/* The classes of the task: the data's, or for a resumed classifier the model's outputs. */
static int task_classes(const train_opts *o, const train_run *r, size_t *classes)
{
    *classes = dsc_dataset_classes(r->all);
    if (o->task == 1 && *classes == 0)
        return cli_usage_error(CMD, "--task classify needs integer class labels in [0, 256), at most 100 of them");
    if (o->task == 0) *classes = 0;
    if (r->model && *classes) {
        const dsc_mlp_config *c = dsc_mlp_get_config(r->model);
        if (*classes > c->sizes[c->layers])
            return cli_usage_error(CMD, "the data has %zu classes, the checkpoint's network %zu outputs", *classes,
                                   c->sizes[c->layers]);
        *classes = c->sizes[c->layers];
    }
    return 0;
}

/* The training data, then the user's validation and test files with its classes. */
static int load(const train_opts *o, train_run *r)
{
    dsc_load_options l = dsc_load_options_default();
    l.target = o->target;
    l.sep = o->sep;
    l.missing = o->missing;
    if (o->x_key) l.x_key = o->x_key;
    if (o->y_key) l.y_key = o->y_key;
    l.targets = o->targets;
    l.dtype = o->dtype; /* a float32 model's data in float32 where that is exact: half the memory */
    int rc = cli_split_labels(CMD, o->labels, &r->labels);
    l.labels = r->labels.labels;
    l.nlabels = r->labels.count;
    if (!rc) rc = cli_load_data(CMD, "--targets", o->data, &l, 1, &r->all);
    if (rc) return rc;
    /* the training file's classes, so that a label means the same class in every file */
    size_t n = dsc_dataset_label_count(r->all);
    const char **labels = n ? malloc(n * sizeof *labels) : NULL;
    if (n && !labels) return cli_fail(CMD, "out of memory");
    for (size_t k = 0; k < n; k++) labels[k] = dsc_dataset_label(r->all, k);
    l.labels = labels;
    l.nlabels = n;
    const char *files[2] = {o->val_data, o->test_data}, *targets[2] = {o->val_targets, o->test_targets};
    const char *what[2] = {"--val-targets", "--test-targets"};
    dsc_dataset **sets[2] = {&r->val, &r->test};
    for (int i = 0; !rc && i < 2; i++) {
        if (!files[i]) continue;
        l.targets = targets[i];
        rc = cli_load_data(CMD, what[i], files[i], &l, 1, sets[i]);
        if (!rc && dsc_dataset_cols(*sets[i]) != dsc_dataset_cols(r->all))
            rc = cli_usage_error(CMD, "%s has %zu features, the training data %s has %zu", files[i],
                                 dsc_dataset_cols(*sets[i]), o->data, dsc_dataset_cols(r->all));
    }
    free(labels);
    return rc;
}

/* Everything before training: the files, the data, the splits and the model;
 * 0 or the exit code of the error it reported. */
static int prepare(train_opts *o, train_run *r, size_t *classes)
{
    int usage;
    int rc = o->plot && r->rank == 0 ? cli_check_plot(CMD, o->plot) : 0; /* before the history is created */
    if (rc) return rc;
    if (o->history && r->rank == 0 && cli_out_open(CMD, "--history", o->history, &r->history)) return CLI_EXIT_FAIL;
    if (o->save && !train_save_dir_writable(o->save)) /* on every rank: none goes on alone */
        return cli_fail(CMD, "cannot write the checkpoint %s: its directory is missing or not writable", o->save);
    /* under mpirun each rank reads its own optimizer state later (train_dist_attach) */
    if (o->resume && (usage = train_resume_open(o, &r->resumed, &r->model, r->dist != NULL))) return usage;
    if ((usage = load(o, r))) return usage;
    dsc_status st;
    if ((usage = task_classes(o, r, classes))) return usage;
    r->train = r->all;
    if (!o->test_data && o->test_split > 0 && (st = dsc_dataset_split(r->all, o->test_split, o->seed, *classes, &r->train, &r->test)))
        return cli_lib_error(CMD, st);
    int fresh = !r->model;
    if (fresh && o->model && (rc = build_layers(o, r, *classes))) return rc;
    if (fresh && (st = build_model(o, r, *classes)) != DSC_OK) return cli_lib_error(CMD, st);
    return 0;
}

#ifdef DSC_HAVE_MPI
/* Under mpirun: every rank's outcome of prepare and a fingerprint of what it is about
 * to train (the options that decide the computation, the optimizer's full
 * hyperparameters, the data, the starting weights), compared before any collective. */
static int agree_on_start(const train_opts *o, const train_run *r, int rc)
{
    char spec[1024] = "", text[4096], layers[256] = "";
    dsc_hparams hp;
    uint64_t print = 0;
    if (rc == 0) {
        if (dsc_hparams_parse(o->optimizer, &hp) == DSC_OK) dsc_hparams_format(&hp, spec, sizeof spec);
        for (int i = 0, n = 0; i < o->nhidden && n < (int)sizeof layers; i++)
            n += snprintf(layers + n, sizeof layers - (size_t)n, "%zu,", o->hidden[i]);
        snprintf(text, sizeof text,
                 "optimizer=%s schedule=%s layers=%s activation=%s init=%s dropout=%.17g dtype=%d task=%d "
                 "target=%s epochs=%lld batch=%lld seed=%llu val_split=%.17g test_split=%.17g patience=%lld "
                 "average=%s zero=%d bucket_kb=%lld resume=%d save=%d save_every=%lld val_data=%d test_data=%d shard=%d",
                 spec, o->schedule ? o->schedule : "", layers, o->activation, o->init ? o->init : "", o->dropout,
                 (int)o->dtype, o->task, o->target ? o->target : "", (long long)o->epochs, (long long)o->batch,
                 (unsigned long long)o->seed, o->val_split, o->test_split, (long long)o->patience,
                 o->average ? o->average : "", o->zero, (long long)o->bucket_kb, o->resume != NULL,
                 o->save != NULL, (long long)o->save_every, o->val_data != NULL, o->test_data != NULL,
                 o->shard_checkpoints);
        print = train_dist_fingerprint(text, r->all, r->model);
    }
    return train_dist_agree_start(r->dist, rc, print);
}
#endif

/* rc: 0, or the exit code of a failed parse (every rank still reaches the agreement). */
static int run(train_opts *o, train_run *r, int rc)
{
    size_t classes = 0;
    if (rc == 0) rc = prepare(o, r, &classes);
#ifdef DSC_HAVE_MPI
    if (r->dist) rc = agree_on_start(o, r, rc);
#endif
    if (rc) return rc;
    dsc_status st;
    int64_t resumed_at = dsc_mlp_epochs_done(r->model);
    train_saver_init(&r->saver, o, classes, r->all);
    r->saver.model = r->model;
    train_progress prog = {.tty = isatty(2), .quiet = o->quiet, .epochs = resumed_at + o->epochs,
                           .classify = classes > 0, .saver = o->save_every ? &r->saver : NULL};
    dsc_fit_config fc = dsc_fit_config_default();
    fc.epochs = o->epochs;
    /* a batch larger than the data is the whole data: no buffers beyond its rows */
    fc.batch_size = (size_t)o->batch < dsc_dataset_rows(r->train) ? (size_t)o->batch : dsc_dataset_rows(r->train);
    fc.val = r->val;
    fc.seed = o->seed;
    fc.val_split = o->val_split;
    fc.patience = o->patience;
    fc.resume = o->resume != NULL;
    fc.average = o->average;
    fc.on_batch = train_on_batch;
    fc.on_epoch = train_on_epoch;
    fc.user = &prog;
#ifdef DSC_HAVE_MPI
    train_dist_options dopt = {.spec = o->optimizer, .schedule = o->schedule, .zero = o->zero,
                               .shard_checkpoints = o->shard_checkpoints, .bucket_bytes = (size_t)o->bucket_kb << 10,
                               .ck = r->resumed, .index = o->resume_sharded ? o->resume : NULL};
    if (r->dist && (st = train_dist_attach(r->dist, r->model, &dopt, &fc)) != DSC_OK) return cli_lib_error(CMD, st);
    if (r->dist) {
        r->saver.save = o->shard_checkpoints ? train_dist_save_sharded : train_dist_save;
        r->saver.ctx = r->dist;
    }
#endif
    prog.epoch_start = prog.last_draw = cli_now();
    double before_fit = prog.epoch_start - r->start;
    if ((st = dsc_mlp_fit(r->model, r->train, &fc, &r->hist)) != DSC_OK) return cli_lib_error(CMD, st);
    if (o->save) train_saver_save(&r->saver, r->model);
    if (r->saver.failed) return cli_fail(CMD, "%s", r->saver.error);
    train_result res = {.model = r->model, .hist = r->hist, .rows = dsc_dataset_rows(r->all), .resumed_at = resumed_at,
                        .cols = dsc_dataset_cols(r->all), .classes = classes,
                        .train_rows = r->hist->train_rows,
                        .test_rows = dsc_dataset_rows(r->test), .ranks = r->ranks,
                        .state_bytes = dsc_optim_state_bytes(dsc_mlp_optimizer(r->model)),
                        .load_seconds = before_fit + r->hist->prepare_seconds};
#ifdef DSC_HAVE_MPI
    if (r->dist) res.state_bytes = train_dist_state_bytes(r->dist);
#endif
    if ((st = all_scores(r, &res)) != DSC_OK) return cli_lib_error(CMD, st);
    if (r->history) {
        train_write_history(cli_out_file(r->history), r->hist, classes > 0, o->average != NULL);
        rc = cli_out_close(CMD, r->history, 1);
        r->history = NULL;
        if (rc) return rc;
    }
    if (o->plot && r->rank == 0 && (rc = train_plot_draw(o, r->hist, classes > 0, &res.plot))) return rc;
    return o->json ? train_print_json(o, &res) : train_print_table(o, &res);
}

int cmd_train(int argc, char **argv)
{
    train_opts o = {.target = NULL, .optimizer = "adam", .activation = "relu", .task = -1,
                    .hidden = {64}, .nhidden = 1, .epochs = 10, .batch = 32, .test_split = 0.2,
                    .dtype = DSC_F32, .bucket_kb = 25600};
    train_run r = {.ranks = 1, .start = cli_now()};
#ifdef DSC_HAVE_MPI
    dsc_status st = train_dist_start(&r.dist, &r.rank, &r.ranks);
    if (st != DSC_OK) return cli_fail(CMD, "cannot join the MPI job");
#endif
    int rc = parse_args(argc, argv, &o);
    if (rc == 0 && o.shard_checkpoints && !r.dist) /* not under mpirun */
        rc = cli_usage_error(CMD, "--shard-checkpoints is for mpirun -np N descent train --zero (one process has no "
                             "shards: --save writes one file)");
    if (rc == 0 && o.threads && dsc_blas_set_threads((int)o.threads) != DSC_OK) rc = cli_lib_error(CMD, DSC_ERR_RANGE);
#ifdef DSC_HAVE_MPI
    if (r.dist) {
        if (rc == 0 && cli_average_is_ax(o.average)) /* the ranks' optimizers keep ASGD's state apart */
            rc = cli_usage_error(CMD, "--average ax is not available under mpirun: ASGD's ax is optimizer state, "
                                 "which the data-parallel step keeps apart from the model's (use 'swa' or 'ema')");
        train_dist_set_timeout(r.dist, o.timeout);
        if (rc == 0 && o.log_dir) rc = train_dist_set_log_dir(r.dist, o.log_dir);
        if (r.rank != 0 && !o.log_dir) o.quiet = 1; /* one set of epoch lines on the terminal: rank 0's */
    }
#endif
    rc = run(&o, &r, rc);
    run_free(&r);
#ifdef DSC_HAVE_MPI
    if (r.dist) rc = train_dist_agree_end(r.dist, rc);
    train_dist_end(r.dist);
#endif
    return rc < 0 ? 0 : rc;
}
