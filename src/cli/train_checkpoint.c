/*
 * train_checkpoint.c: descent train --save FILE [--save-every N] and --resume FILE.
 * The file is the model's checkpoint (dsc_mlp_save: network, optimizer, schedule,
 * standardization, training position) with the command's own options as extra
 * strings (train.*): the data files, target, task, test split, batch, seed,
 * validation split, patience and the specs as typed. So --resume FILE needs nothing
 * else, from any directory: the data files are stored as absolute paths. --data and
 * --targets may point at a moved copy of the same data (the library checks the row
 * counts, the fit the features).
 * With --shard-checkpoints (--zero under mpirun) the file is the index of a sharded set
 * (src/dist/shards.c): every rank's shard of the optimizer state, and the sidecar, the
 * model's checkpoint as above but with the stateless stand-in optimizer of a
 * data-parallel run (train_dist_compile), marked with TRAIN_SIDECAR_KEY.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include "train.h"
#ifdef DSC_HAVE_MPI
#include "descent_dist.h"
#endif

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CMD "train"

static void put(train_saver *s, const char *key, const char *value)
{
    if (value) s->kv[s->n++] = (dsc_kv){key, value};
}

static void put_num(train_saver *s, const char *key, const char *fmt, double v)
{
    snprintf(s->num[s->nnum], sizeof s->num[0], fmt, v);
    put(s, key, s->num[s->nnum++]);
}

/* The absolute path of a file that exists (the file itself when it cannot be resolved). */
static const char *absolute(train_saver *s, const char *file)
{
    if (!file) return NULL;
    char *abs = realpath(file, NULL);
    if (!abs) return file;
    s->owned[s->nowned++] = abs;
    return abs;
}

/* The class labels joined by newlines (a CSV field holds none), or NULL. */
static const char *joined_labels(train_saver *s, const dsc_dataset *ds)
{
    size_t n = dsc_dataset_label_count(ds), len = 1;
    for (size_t k = 0; k < n; k++) len += strlen(dsc_dataset_label(ds, k)) + 1;
    char *text = n ? malloc(len) : NULL;
    if (!text) return NULL;
    text[0] = '\0';
    for (size_t k = 0; k < n; k++) {
        if (k) strcat(text, "\n");
        strcat(text, dsc_dataset_label(ds, k));
    }
    s->owned[s->nowned++] = text;
    return text;
}

void train_saver_init(train_saver *s, const train_opts *o, size_t classes, const dsc_dataset *ds)
{
    memset(s, 0, sizeof *s);
    s->path = o->save;
    s->every = o->save_every;
    put(s, "train.data", absolute(s, o->data));
    put(s, "train.targets", absolute(s, o->targets));
    put(s, "train.val_data", absolute(s, o->val_data));
    put(s, "train.val_targets", absolute(s, o->val_targets));
    put(s, "train.test_data", absolute(s, o->test_data));
    put(s, "train.test_targets", absolute(s, o->test_targets));
    put(s, "train.labels", joined_labels(s, ds));
    put(s, "train.sep", cli_sep_name(o->sep));
    put(s, "train.missing", o->missing != DSC_MISSING_ERROR ? cli_missing_name(o->missing) : NULL);
    put(s, "train.x_key", o->x_key);
    put(s, "train.y_key", o->y_key);
    put(s, "train.target", o->target);
    put(s, "train.task", classes ? "classify" : "regress");
    put(s, "train.activation", o->activation);
    put(s, "train.optimizer", o->optimizer);
    put(s, "train.schedule", o->schedule);
    put(s, "train.average", o->average);
    put_num(s, "train.test_split", "%.17g", o->test_split);
    put_num(s, "train.val_split", "%.17g", o->val_split);
    put_num(s, "train.batch", "%.0f", (double)o->batch);
    put_num(s, "train.patience", "%.0f", (double)o->patience);
    snprintf(s->num[s->nnum], sizeof s->num[0], "%" PRIu64, o->seed);
    put(s, "train.seed", s->num[s->nnum++]);
    put(s, TRAIN_SIDECAR_KEY, o->shard_checkpoints ? "1" : NULL);
}

int train_save_dir_writable(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return access(".", W_OK) == 0;
    if (slash == path) return access("/", W_OK) == 0;
    size_t n = (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (!dir) return 1; /* the save itself will say */
    memcpy(dir, path, n);
    dir[n] = '\0';
    int ok = access(dir, W_OK) == 0;
    free(dir);
    return ok;
}

void train_saver_free(train_saver *s)
{
    for (size_t i = 0; i < s->nowned; i++) free(s->owned[i]);
    s->nowned = 0;
}

dsc_status train_saver_save(train_saver *s, const dsc_mlp *m)
{
    dsc_mlp_save_options o = {.extra = s->kv, .nextra = s->n, .optimizer = NULL};
    dsc_status st = s->save ? s->save(s->ctx, m, s->path, s->kv, s->n) : dsc_mlp_save(m, s->path, &o);
    if (st && !s->failed) {
        s->failed = st;
        snprintf(s->error, sizeof s->error, "%s", dsc_last_error());
    }
    return st;
}

void train_saver_epoch(train_saver *s, const dsc_epoch *e)
{
    if (s->every > 0 && e->epoch % s->every == 0) train_saver_save(s, s->model);
}

/* ---------------------------------------------------------------- resume */

static int need(const dsc_ckpt *ck, const char *path, const char *key, const char **out)
{
    *out = dsc_ckpt_extra(ck, key);
    if (*out) return 0;
    return cli_usage_error(CMD, "checkpoint '%s' has no extra.%s (not written by descent train --save)", path, key);
}

static int need_int(const dsc_ckpt *ck, const char *path, const char *key, int64_t max, int64_t *out)
{
    const char *v;
    int rc = need(ck, path, key, &v);
    if (!rc && cli_parse_int64(v, 0, max, out))
        rc = cli_usage_error(CMD, "checkpoint '%s': extra.%s must be an integer in [0, %lld], got '%s'", path, key,
                             (long long)max, v);
    return rc;
}

static int need_fraction(const dsc_ckpt *ck, const char *path, const char *key, double *out)
{
    const char *v;
    size_t n;
    int rc = need(ck, path, key, &v);
    if (!rc && (cli_parse_doubles(v, out, 1, &n) || !(*out >= 0 && *out < 1)))
        rc = cli_usage_error(CMD, "checkpoint '%s': extra.%s must be in [0, 1), got '%s'", path, key, v);
    return rc;
}

/* The run's options from the file; --data and --targets given again win. */
static int read_options(const dsc_ckpt *ck, train_opts *o)
{
    const char *path = o->resume, *data, *task;
    int64_t seed;
    int rc = need(ck, path, "train.data", &data);
    if (!rc) rc = need(ck, path, "train.task", &task);
    if (!rc) rc = need(ck, path, "train.activation", &o->activation);
    if (!rc) rc = need(ck, path, "train.optimizer", &o->optimizer);
    if (!rc) rc = need_fraction(ck, path, "train.test_split", &o->test_split);
    if (!rc) rc = need_fraction(ck, path, "train.val_split", &o->val_split);
    if (!rc) rc = need_int(ck, path, "train.batch", 1 << 24, &o->batch);
    if (!rc) rc = need_int(ck, path, "train.patience", 1000000000, &o->patience);
    if (!rc) rc = need_int(ck, path, "train.seed", INT64_MAX, &seed);
    if (!rc && strcmp(task, "classify") && strcmp(task, "regress"))
        rc = cli_usage_error(CMD, "checkpoint '%s': extra.train.task must be classify or regress, got '%s'", path, task);
    if (rc) return rc;
    if (!o->data) {
        o->data = data;
        o->targets = dsc_ckpt_extra(ck, "train.targets");
    }
    if (!o->val_data) {
        o->val_data = dsc_ckpt_extra(ck, "train.val_data");
        o->val_targets = dsc_ckpt_extra(ck, "train.val_targets");
    }
    if (!o->test_data) {
        o->test_data = dsc_ckpt_extra(ck, "train.test_data");
        o->test_targets = dsc_ckpt_extra(ck, "train.test_targets");
    }
    const char *sep = dsc_ckpt_extra(ck, "train.sep"), *missing = dsc_ckpt_extra(ck, "train.missing");
    if (sep && cli_parse_sep(sep, &o->sep))
        return cli_usage_error(CMD, "checkpoint '%s': extra.train.sep must be ',', ';', '|' or tab, got '%s'", path, sep);
    if (missing && cli_parse_missing(missing, &o->missing))
        return cli_usage_error(CMD, "checkpoint '%s': extra.train.missing must be error, drop or mean, got '%s'", path,
                               missing);
    o->x_key = dsc_ckpt_extra(ck, "train.x_key");
    o->y_key = dsc_ckpt_extra(ck, "train.y_key");
    o->labels = dsc_ckpt_extra(ck, "train.labels");
    o->target = dsc_ckpt_extra(ck, "train.target");
    o->schedule = dsc_ckpt_extra(ck, "train.schedule");
    /* the average as typed (the fit compares it with the file's canonically) */
    o->average = dsc_ckpt_extra(ck, "train.average") ? dsc_ckpt_extra(ck, "train.average") : dsc_ckpt_meta(ck, "average");
    o->task = task[0] == 'c';
    o->seed = (uint64_t)seed;
    return 0;
}

#ifdef DSC_HAVE_MPI
/* One process resuming a sharded set: the model's optimizer becomes the run's (the
 * spec and schedule as typed, as the ranks made it) with the whole state rebuilt from
 * the shards, as a single file's restore would give it. */
static int assemble_state(const train_opts *o, dsc_mlp *m)
{
    dsc_status st = dsc_mlp_compile(m, o->optimizer, o->schedule, dsc_mlp_loss(m));
    if (!st) st = dsc_dist_checkpoint_assemble(dsc_mlp_optimizer(m), o->resume);
    if (st == DSC_ERR_NOMEM) return cli_fail(CMD, "checkpoint '%s': %s", o->resume, dsc_last_error());
    if (st) return cli_usage_error(CMD, "checkpoint '%s': %s", o->resume, dsc_last_error());
    return 0;
}
#endif

int train_resume_open(train_opts *o, dsc_ckpt **ck, dsc_mlp **model, int skip_state)
{
    char file[CLI_PATH_CAP];
    int rc = cli_checkpoint_file(CMD, o->resume, file, sizeof file, &o->resume_sharded);
    if (rc) return rc;
    dsc_status st = dsc_ckpt_open(ck, file);
    if (st) return cli_lib_error(CMD, st);
    if (!o->resume_sharded && dsc_ckpt_extra(*ck, TRAIN_SIDECAR_KEY))
        return cli_usage_error(CMD, "'%s' is the network of a sharded checkpoint set, without its optimizer state: "
                               "resume from the set's index (the --save FILE of that run)", o->resume);
    rc = read_options(*ck, o);
    if (rc) return rc;
    dsc_mlp_load_options lo = dsc_mlp_load_options_default();
    lo.skip_state = skip_state;
    if ((st = dsc_mlp_load_ckpt(model, *ck, &lo)) != DSC_OK) {
        if (st == DSC_ERR_NOMEM) return cli_fail(CMD, "checkpoint '%s': %s", o->resume, dsc_last_error());
        return cli_usage_error(CMD, "checkpoint '%s': %s", o->resume, dsc_last_error());
    }
#ifdef DSC_HAVE_MPI
    if (o->resume_sharded && !skip_state && (rc = assemble_state(o, *model))) return rc;
#endif
    const dsc_mlp_config *c = dsc_mlp_get_config(*model);
    o->dtype = c->dtype;
    o->dropout = c->dropout;
    o->nhidden = c->layers - 1;
    for (int i = 0; i < o->nhidden; i++) o->hidden[i] = c->sizes[i + 1];
    return 0;
}
