/*
 * checkpoint.c: a model, its optimizer and its training position in one descent
 * checkpoint. The optimizer's checkpoint already holds the parameters (they are its
 * params), the state, the schedule and the counters; what only the model knows rides
 * along: the architecture and the position's scalars as extra metadata strings
 * (doubles in %.17g, generator words in hex, so every value reads back to the same
 * bits), its arrays (standardization, history, best weights) as extra/ tensors.
 */
#include "nn.h"
#include "descent_checkpoint.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The history's columns: epoch, train_loss, train_metric, val_loss, val_metric, lr,
 * skipped, seconds. */
#define HIST_COLS 8
/* With a weight average, its columns beside them: avg_val_loss, avg_val_metric. */
#define AVG_COLS 2

/* The model's metadata strings. */
#define KEYS 26
/* Room for each (a model spec is the longest). */
#define TEXT 512
/* Its extra tensors: standardization (2), history (2), best and live weights (2), and
 * the buffers of every batchnorm layer (running mean and variance, batches tracked). */
#define BN_BUFFERS 3
#define TENSORS (6 + BN_BUFFERS * DSC__MAX_NET_LAYERS)

typedef struct saved {
    dsc_kv kv[KEYS];
    char text[KEYS][TEXT];
    size_t n;
    dsc_param t[TENSORS]; /* the model's tensors */
    size_t nt;
    char tname[BN_BUFFERS * DSC__MAX_NET_LAYERS][2 * DSC__NAME_LEN];
    double tracked[DSC__MAX_NET_LAYERS];
    double *hist;   /* the history as a table (owned) */
    double *avg_hist; /* and its average's columns (owned) */
} saved;

static void add(saved *s, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void add(saved *s, const char *key, const char *fmt, ...)
{
    char *t = s->text[s->n];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t, sizeof s->text[0], fmt, ap);
    va_end(ap);
    s->kv[s->n++] = (dsc_kv){key, t};
}

static void add_rng(saved *s, const char *key, const dsc__rng *r)
{
    add(s, key, "%016" PRIx64 ",%016" PRIx64 ",%016" PRIx64 ",%016" PRIx64, r->s[0], r->s[1], r->s[2], r->s[3]);
}

static void add_tensor(saved *s, const char *name, dsc_dtype dt, size_t rows, size_t cols, const void *data)
{
    s->t[s->nt++] = (dsc_param){.name = name, .data = (void *)data, .n = rows * (cols ? cols : 1), .dtype = dt,
                                .ndim = cols ? 2 : 1, .shape = {rows, cols}};
}

static dsc_status describe(const dsc_mlp *m, saved *s)
{
    const dsc_mlp_config *c = &m->cfg;
    char sizes[80];
    size_t used = 0;
    for (int i = 0; i <= c->layers; i++)
        used += (size_t)snprintf(sizes + used, sizeof sizes - used, "%s%zu", i ? "," : "", c->sizes[i]);
    if (used >= sizeof sizes) return dsc__fail(DSC_ERR_RANGE, "mlp_save: the layer sizes do not fit the metadata");
    add(s, "mlp.sizes", "%s", sizes);
    add(s, "mlp.hidden", "%s", dsc_activation_name(c->hidden));
    add(s, "mlp.output", "%s", dsc_activation_name(c->output));
    add(s, "mlp.init", "%s", dsc_init_name(c->init));
    add(s, "mlp.leaky_slope", "%.17g", c->leaky_slope);
    add(s, "mlp.elu_alpha", "%.17g", c->elu_alpha);
    add(s, "mlp.dropout", "%.17g", c->dropout);
    add(s, "mlp.dtype", "%s", dsc_dtype_name(c->dtype));
    add(s, "mlp.seed", "%" PRIu64, c->seed);
    add(s, "mlp.loss", "%s", dsc_loss_name(m->loss));
    add(s, "mlp.y_mean", "%.17g", m->y_mean);
    add(s, "mlp.y_std", "%.17g", m->y_std);
    if (!c->model) return DSC_OK;
    if (strlen(c->model) >= sizeof s->text[0])
        return dsc__fail(DSC_ERR_RANGE, "mlp_save: the model spec is longer than %zu characters", sizeof s->text[0] - 1);
    add(s, "mlp.model", "%s", c->model);
    add(s, "mlp.shape", "%zu,%zu,%zu", c->shape[0], c->shape[1], c->shape[2]);
    return DSC_OK;
}

/* Every batchnorm layer's buffers, named like PyTorch's (bn1.running_mean,
 * bn1.running_var, bn1.num_batches_tracked, the last as F64 [1]). */
static void add_buffers(const dsc_mlp *m, saved *s)
{
    static const char *const suffix[BN_BUFFERS] = {"running_mean", "running_var", "num_batches_tracked"};
    size_t nb = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const dsc__layer *l = &m->layer[i];
        if (l->kind != DSC__BATCHNORM) continue;
        s->tracked[i] = (double)l->tracked;
        for (int j = 0; j < BN_BUFFERS; j++, nb++) {
            snprintf(s->tname[nb], sizeof s->tname[0], "%s.%s", l->name, suffix[j]);
            if (j == 2) add_tensor(s, s->tname[nb], DSC_F64, 1, 0, &s->tracked[i]);
            else add_tensor(s, s->tname[nb], m->cfg.dtype, l->oc, 0, (char *)m->stats + (l->s_off + j * l->oc) * m->esize);
        }
    }
}

static void describe_position(const dsc__position *p, const dsc__rng *dropout, saved *s)
{
    add(s, "fit.epoch", "%" PRId64, p->epochs);
    add(s, "fit.seed", "%" PRIu64, p->seed);
    add(s, "fit.rows", "%zu", p->rows);
    add(s, "fit.val_rows", "%zu", p->val_rows);
    add(s, "fit.val_split", "%.17g", p->val_split);
    add(s, "fit.patience", "%" PRId64, p->patience);
    add(s, "fit.skipped0", "%" PRId64, p->skipped0);
    add_rng(s, "fit.shuffle_rng", &p->shuffle);
    add_rng(s, "fit.dropout_rng", dropout);
    add(s, "fit.best_epoch", "%" PRId64, p->best_epoch);
    add(s, "fit.best_loss", "%.17g", p->best_loss);
    add(s, "fit.stopped", "%d", p->stopped);
}

/* The tensors beside the optimizer's: standardization, history, best and live weights. */
static dsc_status add_tensors(const dsc_mlp *m, saved *s)
{
    const dsc__position *p = &m->pos;
    size_t e = (size_t)p->epochs;
    if (m->mean) {
        add_tensor(s, "mlp.mean", DSC_F64, m->inputs, 0, m->mean);
        add_tensor(s, "mlp.inv_std", DSC_F64, m->inputs, 0, m->inv_std);
    }
    if (e) {
        s->hist = malloc(e * HIST_COLS * sizeof *s->hist);
        if (!s->hist) return dsc__fail(DSC_ERR_NOMEM, "mlp_save: out of memory");
        for (size_t i = 0; i < e; i++) {
            const dsc_epoch *h = &p->hist[i];
            double row[HIST_COLS] = {(double)h->epoch, h->train_loss, h->train_metric, h->val_loss, h->val_metric,
                                     h->lr, (double)h->skipped, h->seconds};
            memcpy(s->hist + i * HIST_COLS, row, sizeof row);
        }
        add_tensor(s, "fit.history", DSC_F64, e, HIST_COLS, s->hist);
    }
    if (e && p->avg) {
        s->avg_hist = malloc(e * AVG_COLS * sizeof *s->avg_hist);
        if (!s->avg_hist) return dsc__fail(DSC_ERR_NOMEM, "mlp_save: out of memory");
        for (size_t i = 0; i < e; i++) {
            s->avg_hist[i * AVG_COLS] = p->hist[i].avg_val_loss;
            s->avg_hist[i * AVG_COLS + 1] = p->hist[i].avg_val_metric;
        }
        add_tensor(s, "fit.avg_history", DSC_F64, e, AVG_COLS, s->avg_hist);
    }
    if (p->patience > 0 && p->best_epoch > 0) add_tensor(s, "fit.best", m->cfg.dtype, m->nweights, 0, p->best);
    if (p->restored) add_tensor(s, "fit.live", m->cfg.dtype, m->nweights, 0, p->live);
    add_buffers(m, s);
    return DSC_OK;
}

/* Whether opt steps exactly m's tensors (so its checkpoint is the model's). */
static int over_model(const dsc_mlp *m, const dsc_optim *opt)
{
    if (dsc_optim_param_count(opt) != dsc_mlp_param_count(m)) return 0;
    for (size_t i = 0; i < dsc_mlp_param_count(m); i++) {
        const dsc_param *p = dsc_optim_param(opt, i);
        if (p->data != m->params[i].data || p->n != m->params[i].n || p->dtype != m->params[i].dtype ||
            strcmp(p->name, m->params[i].name))
            return 0;
    }
    return 1;
}

dsc_mlp_save_options dsc_mlp_save_options_default(void)
{
    return (dsc_mlp_save_options){.extra = NULL, .nextra = 0, .optimizer = NULL};
}

dsc_status dsc_mlp_save(const dsc_mlp *m, const char *path, const dsc_mlp_save_options *o)
{
    dsc_mlp_save_options defaults = dsc_mlp_save_options_default();
    if (!o) o = &defaults;
    const dsc_kv *extra = o->extra;
    size_t nextra = o->nextra;
    if (!m || !path) return dsc__fail(DSC_ERR_ARG, "mlp_save: model and path must not be NULL");
    if (!m->opt) return dsc__fail(DSC_ERR_ARG, "mlp_save: compile the model first");
    const dsc_optim *opt = o->optimizer ? o->optimizer : m->opt;
    if (!over_model(m, opt))
        return dsc__fail(DSC_ERR_MISMATCH, "mlp_save: the optimizer must step the model's own tensors (its buffers)");
    if (nextra && !extra) return dsc__fail(DSC_ERR_ARG, "mlp_save: NULL extra metadata with count %zu", nextra);
    if (dsc_mlp_using_average(m))
        return dsc__fail(DSC_ERR_ARG, "mlp_save: the averaged weights are in use; dsc_mlp_use_average(m, 0) first");
    for (size_t i = 0; i < nextra; i++)
        if (extra[i].key && (!strncmp(extra[i].key, "mlp.", 4) || !strncmp(extra[i].key, "fit.", 4)))
            return dsc__fail(DSC_ERR_ARG, "mlp_save: extra key '%.60s' is the model's (mlp.* and fit.* are reserved)",
                             extra[i].key);
    saved s = {0};
    dsc_status st = describe(m, &s);
    if (st) return st;
    describe_position(&m->pos, &m->rng, &s);
    st = add_tensors(m, &s);
    dsc_kv *all = st ? NULL : malloc((s.n + nextra) * sizeof *all);
    if (!st && !all) st = dsc__fail(DSC_ERR_NOMEM, "mlp_save: out of memory");
    if (!st) {
        memcpy(all, s.kv, s.n * sizeof *all);
        if (nextra) memcpy(all + s.n, extra, nextra * sizeof *all);
        dsc_checkpoint_save_options so = {.average = m->pos.avg, .extra = all, .nextra = s.n + nextra,
                                          .tensors = s.t, .ntensors = s.nt};
        st = dsc_checkpoint_save(opt, path, &so);
    }
    free(all);
    free(s.hist);
    free(s.avg_hist);
    return st;
}

/* ---------------------------------------------------------------- load */

static dsc_status need(const dsc_ckpt *ck, const char *key, const char **out)
{
    *out = dsc_ckpt_extra(ck, key);
    if (!*out) return dsc__fail(DSC_ERR_FORMAT, "no extra.%s in the metadata (not a descent MLP checkpoint)", key);
    return DSC_OK;
}

static dsc_status bad(const char *key, const char *text)
{
    return dsc__fail(DSC_ERR_FORMAT, "extra.%s is malformed: '%.60s'", key, text);
}

/* Comma-separated doubles: exactly cap of them, or (got not NULL) 1 to cap, *got of them. */
static dsc_status read_doubles(const dsc_ckpt *ck, const char *key, double *v, size_t cap, size_t *got)
{
    const char *t;
    dsc_status st = need(ck, key, &t);
    if (st) return st;
    size_t n = 0;
    const char *p = t;
    for (;;) {
        char *end;
        if (n == cap) return bad(key, t);
        v[n++] = strtod(p, &end);
        if (end == p) return bad(key, t);
        p = end;
        if (*p != ',') break;
        p++;
    }
    if (*p || (!got && n != cap)) return bad(key, t);
    if (got) *got = n;
    return DSC_OK;
}

static dsc_status read_double(const dsc_ckpt *ck, const char *key, double *v)
{
    return read_doubles(ck, key, v, 1, NULL);
}

static dsc_status read_u64(const dsc_ckpt *ck, const char *key, uint64_t *v)
{
    const char *t;
    dsc_status st = need(ck, key, &t);
    if (st) return st;
    char *end;
    *v = strtoull(t, &end, 10);
    return end == t || *end || t[0] == '-' || t[0] == ' ' ? bad(key, t) : DSC_OK;
}

static dsc_status read_rng(const dsc_ckpt *ck, const char *key, dsc__rng *r)
{
    const char *t;
    dsc_status st = need(ck, key, &t);
    if (st) return st;
    const char *p = t;
    for (int i = 0; i < 4; i++) {
        char *end;
        if (*p == '-' || *p == ' ' || *p == '+') return bad(key, t);
        r->s[i] = strtoull(p, &end, 16);
        if (end == p || *end != (i < 3 ? ',' : '\0')) return bad(key, t);
        p = end + (i < 3);
    }
    return r->s[0] | r->s[1] | r->s[2] | r->s[3] ? DSC_OK : bad(key, t); /* all zero: a stuck generator */
}

static dsc_status read_name(const dsc_ckpt *ck, const char *key, dsc_status (*from)(const char *, int *), int *out)
{
    const char *t;
    dsc_status st = need(ck, key, &t);
    return st ? st : from(t, out) ? bad(key, t) : DSC_OK;
}

/* The enum parsers, seen through int. */
static dsc_status act_from(const char *t, int *v)
{
    dsc_activation a = DSC_ACT_LINEAR;
    dsc_status st = dsc_activation_from_name(t, &a);
    *v = (int)a;
    return st;
}

static dsc_status init_from(const char *t, int *v)
{
    dsc_init a = DSC_INIT_AUTO;
    dsc_status st = dsc_init_from_name(t, &a);
    *v = (int)a;
    return st;
}

static dsc_status loss_from(const char *t, int *v)
{
    dsc_loss a = DSC_LOSS_MSE;
    dsc_status st = dsc_loss_from_name(t, &a);
    *v = (int)a;
    return st;
}

static dsc_status dtype_from(const char *t, int *v)
{
    *v = !strcmp(t, "f32") ? (int)DSC_F32 : !strcmp(t, "f64") ? (int)DSC_F64 : -1;
    return *v < 0 ? DSC_ERR_FORMAT : DSC_OK;
}

static dsc_status read_config(const dsc_ckpt *ck, dsc_mlp_config *c, int *loss)
{
    double sizes[DSC_MLP_MAX_LAYERS + 1];
    size_t n = 0;
    int hidden, output, init, dtype;
    dsc_status st = read_doubles(ck, "mlp.sizes", sizes, DSC_MLP_MAX_LAYERS + 1, &n);
    if (!st && n < 2) st = bad("mlp.sizes", dsc_ckpt_extra(ck, "mlp.sizes"));
    for (size_t i = 0; !st && i < n; i++)
        if (!(sizes[i] >= 1 && sizes[i] <= (double)(1 << 24)) || sizes[i] != (double)(size_t)sizes[i])
            st = bad("mlp.sizes", dsc_ckpt_extra(ck, "mlp.sizes"));
    if (st) return st;
    *c = dsc_mlp_config_default(NULL, (int)n);
    for (size_t i = 0; i < n; i++) c->sizes[i] = (size_t)sizes[i];
    const char *model = dsc_ckpt_extra(ck, "mlp.model");
    if (model) {
        double shape[3];
        if ((st = read_doubles(ck, "mlp.shape", shape, 3, NULL))) return st;
        for (int i = 0; i < 3; i++)
            if (!(shape[i] >= 0 && shape[i] <= (double)(1 << 24)) || shape[i] != (double)(size_t)shape[i])
                return bad("mlp.shape", dsc_ckpt_extra(ck, "mlp.shape"));
        *c = dsc_mlp_config_model(model, (size_t)shape[0], (size_t)shape[1], (size_t)shape[2]);
        c->sizes[0] = (size_t)sizes[0], c->sizes[1] = (size_t)sizes[1]; /* checked against the model */
    }
    if (!st) st = read_name(ck, "mlp.hidden", act_from, &hidden);
    if (!st) st = read_name(ck, "mlp.output", act_from, &output);
    if (!st) st = read_name(ck, "mlp.init", init_from, &init);
    if (!st) st = read_name(ck, "mlp.dtype", dtype_from, &dtype);
    if (!st) st = read_name(ck, "mlp.loss", loss_from, loss);
    if (!st) st = read_double(ck, "mlp.leaky_slope", &c->leaky_slope);
    if (!st) st = read_double(ck, "mlp.elu_alpha", &c->elu_alpha);
    if (!st) st = read_double(ck, "mlp.dropout", &c->dropout);
    if (!st) st = read_u64(ck, "mlp.seed", &c->seed);
    if (st) return st;
    c->hidden = (dsc_activation)hidden;
    c->output = (dsc_activation)output;
    c->init = (dsc_init)init;
    c->dtype = (dsc_dtype)dtype;
    return DSC_OK;
}

/* Tensor extra/<name> of dtype dt and shape [rows] (cols 0) or [rows, cols] into dst;
 * absent: *found 0 when found is not NULL, an error otherwise. */
static dsc_status read_tensor(const dsc_ckpt *ck, const char *name, dsc_dtype dt, size_t rows, size_t cols,
                              void *dst, int *found)
{
    char full[64];
    dsc_ckpt_tensor t;
    snprintf(full, sizeof full, "extra/%s", name);
    if (found) *found = 0;
    dsc_status st = dsc_ckpt_find(ck, full, &t);
    if (st && found) return DSC_OK;
    if (st) return dsc__fail(DSC_ERR_FORMAT, "tensor '%s' is missing", full);
    int ndim = cols ? 2 : 1;
    if (strcmp(t.dtype, dt == DSC_F32 ? "F32" : "F64") || t.ndim != ndim || t.shape[0] != rows ||
        (cols && t.shape[1] != cols))
        return dsc__fail(DSC_ERR_FORMAT, "tensor '%s' must be %s of %zu x %zu values", full,
                         dt == DSC_F32 ? "F32" : "F64", rows, cols ? cols : 1);
    if ((st = dsc_ckpt_read(ck, full, 0, t.n, dst))) return st;
    if (found) *found = 1;
    return DSC_OK;
}

/* The standardization (both vectors or neither) and the target scaling. */
static dsc_status read_scaling(const dsc_ckpt *ck, dsc_mlp *m)
{
    size_t k = m->inputs;
    double ym, ys;
    dsc_status st = read_double(ck, "mlp.y_mean", &ym);
    if (!st) st = read_double(ck, "mlp.y_std", &ys);
    if (!st) st = dsc_mlp_set_target_scaling(m, ym, ys);
    dsc_ckpt_tensor t;
    if (st || (dsc_ckpt_find(ck, "extra/mlp.mean", &t) && dsc_ckpt_find(ck, "extra/mlp.inv_std", &t)))
        return st;
    m->mean = malloc(k * sizeof *m->mean);
    m->inv_std = malloc(k * sizeof *m->inv_std);
    if (!m->mean || !m->inv_std) return dsc__fail(DSC_ERR_NOMEM, "out of memory");
    st = read_tensor(ck, "mlp.mean", DSC_F64, k, 0, m->mean, NULL);
    if (!st) st = read_tensor(ck, "mlp.inv_std", DSC_F64, k, 0, m->inv_std, NULL);
    for (size_t j = 0; !st && j < k; j++)
        if (!isfinite(m->mean[j]) || !(m->inv_std[j] > 0 && isfinite(m->inv_std[j])))
            st = dsc__fail(DSC_ERR_FORMAT, "extra/mlp.mean and inv_std[%zu] must be finite (inv_std > 0), got %g and %g",
                           j, m->mean[j], m->inv_std[j]);
    return st;
}

static dsc_status read_int(const dsc_ckpt *ck, const char *key, uint64_t max, uint64_t *v)
{
    dsc_status st = read_u64(ck, key, v);
    if (!st && *v > max)
        return dsc__fail(DSC_ERR_FORMAT, "extra.%s must be at most %llu, got %llu", key, (unsigned long long)max,
                         (unsigned long long)*v);
    return st;
}

/* The position's scalars. */
static dsc_status read_counts(const dsc_ckpt *ck, dsc__position *p, dsc__rng *dropout)
{
    uint64_t epoch, rows, val_rows, patience, skipped0, best_epoch, stopped;
    dsc_status st = read_int(ck, "fit.epoch", 1u << 30, &epoch);
    if (!st) st = read_u64(ck, "fit.seed", &p->seed);
    if (!st) st = read_int(ck, "fit.rows", SIZE_MAX / 2, &rows);
    if (!st) st = read_int(ck, "fit.val_rows", SIZE_MAX / 2, &val_rows);
    if (!st) st = read_double(ck, "fit.val_split", &p->val_split);
    if (!st) st = read_int(ck, "fit.patience", INT64_MAX, &patience);
    if (!st) st = read_int(ck, "fit.skipped0", INT64_MAX, &skipped0);
    if (!st) st = read_rng(ck, "fit.shuffle_rng", &p->shuffle);
    if (!st) st = read_rng(ck, "fit.dropout_rng", dropout);
    if (!st) st = read_int(ck, "fit.best_epoch", epoch, &best_epoch);
    if (!st) st = read_double(ck, "fit.best_loss", &p->best_loss);
    if (!st) st = read_int(ck, "fit.stopped", 1, &stopped);
    if (st) return st;
    if (!(p->val_split >= 0 && p->val_split < 1)) return bad("fit.val_split", dsc_ckpt_extra(ck, "fit.val_split"));
    p->epochs = (int64_t)epoch;
    p->rows = (size_t)rows;
    p->val_rows = (size_t)val_rows;
    p->patience = (int64_t)patience;
    p->skipped0 = (int64_t)skipped0;
    p->best_epoch = (int64_t)best_epoch;
    p->stopped = (int)stopped;
    return DSC_OK;
}

/* The history table back into epochs (numbered 1..E). */
static dsc_status read_history(const dsc_ckpt *ck, dsc__position *p)
{
    size_t e = (size_t)p->epochs;
    if (!e) return DSC_OK;
    double *t = malloc(e * HIST_COLS * sizeof *t);
    p->hist = malloc(e * sizeof *p->hist);
    p->cap = e;
    dsc_status st = t && p->hist ? DSC_OK : dsc__fail(DSC_ERR_NOMEM, "out of memory");
    if (!st) st = read_tensor(ck, "fit.history", DSC_F64, e, HIST_COLS, t, NULL);
    for (size_t i = 0; !st && i < e; i++) {
        const double *row = t + i * HIST_COLS;
        if (row[0] != (double)(i + 1) || !(row[6] >= 0 && row[6] < 9e15))
            st = dsc__fail(DSC_ERR_FORMAT, "tensor 'extra/fit.history' row %zu must be epoch %zu with skipped >= 0", i,
                           i + 1);
        p->hist[i] = (dsc_epoch){.epoch = (int64_t)row[0], .train_loss = row[1], .train_metric = row[2],
                                 .val_loss = row[3], .val_metric = row[4], .lr = row[5],
                                 .skipped = (int64_t)row[6], .seconds = row[7]};
    }
    free(t);
    return st;
}

/* The average's columns of the history (NAN without an average). */
static dsc_status read_avg_history(const dsc_ckpt *ck, dsc__position *p)
{
    size_t e = (size_t)p->epochs;
    for (size_t i = 0; i < e; i++) p->hist[i].avg_val_loss = p->hist[i].avg_val_metric = NAN;
    if (!e || !p->avg) return DSC_OK;
    double *t = malloc(e * AVG_COLS * sizeof *t);
    dsc_status st = t ? read_tensor(ck, "fit.avg_history", DSC_F64, e, AVG_COLS, t, NULL)
                      : dsc__fail(DSC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !st && i < e; i++) {
        p->hist[i].avg_val_loss = t[i * AVG_COLS];
        p->hist[i].avg_val_metric = t[i * AVG_COLS + 1];
    }
    free(t);
    return st;
}

/* The best weights (kept with patience once an epoch was validated) and the live
 * ones (when the model holds the best). */
static dsc_status read_weights(const dsc_ckpt *ck, dsc_mlp *m)
{
    dsc__position *p = &m->pos;
    size_t bytes = m->nweights * m->esize;
    int has_best = 0;
    if (p->patience == 0) return DSC_OK;
    dsc_status st = dsc__pos_reserve(p, 0, bytes);
    if (!st && p->best_epoch > 0) st = read_tensor(ck, "fit.best", m->cfg.dtype, m->nweights, 0, p->best, &has_best);
    if (!st && p->best_epoch > 0 && !has_best) st = dsc__fail(DSC_ERR_FORMAT, "tensor 'extra/fit.best' is missing");
    if (!st) st = read_tensor(ck, "fit.live", m->cfg.dtype, m->nweights, 0, p->live, &p->restored);
    return st;
}

static dsc_status read_position(const dsc_ckpt *ck, dsc_mlp *m)
{
    dsc_status st = read_counts(ck, &m->pos, &m->rng);
    if (!st) st = read_history(ck, &m->pos);
    if (!st) st = read_avg_history(ck, &m->pos);
    if (!st) st = read_weights(ck, m);
    return st;
}

/* The optimizer the file describes, over m's parameters, restored, and the weight
 * average beside it when the file holds one. */
static dsc_status read_optimizer(const dsc_ckpt *ck, dsc_mlp *m, int loss, int skip_state)
{
    dsc_hparams hp;
    const char *avg = dsc_ckpt_meta(ck, "average");
    dsc_status st = dsc__mlp_check_loss(m, "extra.mlp.loss", (dsc_loss)loss);
    if (!st) st = dsc_ckpt_hparams(ck, 0, &hp);
    if (!st && skip_state) st = dsc__optim_create_stateless(&m->opt, &hp, m->params, dsc_mlp_param_count(m));
    else if (!st) st = dsc_optim_create(&m->opt, &hp, m->params, dsc_mlp_param_count(m));
    if (!st) st = dsc_optim_set_threads(m->opt, DSC__MLP_STEP_THREADS);
    if (!st && avg) st = dsc__avg_start(m, avg);
    dsc_checkpoint_load_options o = dsc_checkpoint_load_options_default();
    o.average = m->pos.avg;
    o.skip_state = skip_state;
    if (!st) st = dsc_ckpt_restore(ck, m->opt, &o);
    m->loss = (dsc_loss)loss;
    return st;
}

/* The weights the configuration describes are in the file with their shapes (so a
 * damaged file cannot ask for more memory than it holds), and its sizes are the
 * model's inputs and outputs. */
static dsc_status check_plan(const dsc_ckpt *ck, const dsc_mlp_config *c, dsc__layer *layers)
{
    int nlayers, nparams;
    size_t nweights, nstats;
    dsc_status st = dsc__net_plan(c, layers, &nlayers, &nweights, &nstats, &nparams);
    if (!st) st = dsc__net_check(layers, nlayers, nparams);
    if (st) return st;
    if (c->model && (c->sizes[0] != layers[0].in || c->sizes[1] != layers[nlayers - 1].out))
        return dsc__fail(DSC_ERR_MISMATCH, "extra.mlp.sizes must be the model's inputs and outputs, %zu,%zu",
                         layers[0].in, layers[nlayers - 1].out);
    for (int i = 0; i < nlayers; i++)
        for (int j = 0; layers[i].param >= 0 && j < 2; j++) {
            char name[64];
            const char *suffix;
            int ndim;
            size_t shape[4];
            dsc_ckpt_tensor t;
            dsc__layer_tensor(&layers[i], j, &suffix, &ndim, shape);
            snprintf(name, sizeof name, "param/%s.%s", layers[i].name, suffix);
            if (dsc_ckpt_find(ck, name, &t))
                return dsc__fail(DSC_ERR_MISMATCH, "tensor '%s' is missing (the model has it)", name);
            int same = t.ndim == ndim;
            for (int d = 0; same && d < ndim; d++) same = t.shape[d] == shape[d];
            if (!same)
                return dsc__fail(DSC_ERR_MISMATCH, "tensor '%s' does not have the model's shape", name);
        }
    return DSC_OK;
}

static dsc_status check_weights(const dsc_ckpt *ck, const dsc_mlp_config *c)
{
    dsc__layer *layers = malloc(DSC__MAX_NET_LAYERS * sizeof *layers); /* a plan: shapes and names */
    dsc_status st = layers ? check_plan(ck, c, layers) : dsc__fail(DSC_ERR_NOMEM, "out of memory");
    free(layers);
    return st;
}

/* The batchnorm layers' running statistics and counts. */
static dsc_status read_buffers(const dsc_ckpt *ck, dsc_mlp *m)
{
    dsc_status st = DSC_OK;
    for (int i = 0; !st && i < m->nlayers; i++) {
        dsc__layer *l = &m->layer[i];
        char name[64];
        double tracked = 0;
        if (l->kind != DSC__BATCHNORM) continue;
        char *mean = (char *)m->stats + l->s_off * m->esize, *var = mean + l->oc * m->esize;
        snprintf(name, sizeof name, "%s.running_mean", l->name);
        st = read_tensor(ck, name, m->cfg.dtype, l->oc, 0, mean, NULL);
        snprintf(name, sizeof name, "%s.running_var", l->name);
        if (!st) st = read_tensor(ck, name, m->cfg.dtype, l->oc, 0, var, NULL);
        snprintf(name, sizeof name, "%s.num_batches_tracked", l->name);
        if (!st) st = read_tensor(ck, name, DSC_F64, 1, 0, &tracked, NULL);
        if (!st && !(tracked >= 0 && tracked < 9e15 && tracked == floor(tracked)))
            st = dsc__fail(DSC_ERR_FORMAT, "tensor 'extra/%s' must be a count, got %g", name, tracked);
        for (size_t c = 0; !st && c < l->oc; c++) {
            double mu = m->cfg.dtype == DSC_F32 ? ((float *)mean)[c] : ((double *)mean)[c];
            double v = m->cfg.dtype == DSC_F32 ? ((float *)var)[c] : ((double *)var)[c];
            if (!isfinite(mu) || !(v >= 0 && isfinite(v)))
                st = dsc__fail(DSC_ERR_FORMAT, "%s's running statistics must be finite (variance >= 0), channel %zu "
                               "has %g and %g", l->name, c, mu, v);
        }
        l->tracked = (int64_t)tracked;
    }
    return st;
}

/* The model of ck, or an unprefixed message. */
static dsc_status load(dsc_mlp **out, const dsc_ckpt *ck, int skip_state)
{
    dsc_mlp_config cfg;
    dsc_mlp *m = NULL;
    int loss = DSC_LOSS_MSE;
    dsc_status st = read_config(ck, &cfg, &loss);
    if (!st) st = check_weights(ck, &cfg);
    if (!st) st = dsc__mlp_create(&m, &cfg, 0); /* the restore writes every weight */
    if (!st) st = read_optimizer(ck, m, loss, skip_state);
    if (!st) st = read_scaling(ck, m);
    if (!st) st = read_position(ck, m);
    if (!st) st = read_buffers(ck, m);
    if (st) {
        dsc_mlp_destroy(m);
        return st == DSC_ERR_NOMEM || st == DSC_ERR_MISMATCH ? st : DSC_ERR_FORMAT;
    }
    *out = m;
    return DSC_OK;
}

dsc_mlp_load_options dsc_mlp_load_options_default(void) { return (dsc_mlp_load_options){.skip_state = 0}; }

dsc_status dsc_mlp_load_ckpt(dsc_mlp **out, const dsc_ckpt *ck, const dsc_mlp_load_options *o)
{
    if (!out || !ck) return dsc__fail(DSC_ERR_ARG, "mlp_load: out and the checkpoint must not be NULL");
    dsc_mlp_load_options defaults = dsc_mlp_load_options_default();
    if (!o) o = &defaults;
    dsc_status st = load(out, ck, o->skip_state != 0);
    return st ? dsc__fail_prefix(st, "mlp_load") : DSC_OK;
}

dsc_status dsc_mlp_load(dsc_mlp **out, const char *path)
{
    if (!out || !path) return dsc__fail(DSC_ERR_ARG, "mlp_load: out and path must not be NULL");
    dsc_ckpt *ck;
    dsc_status st = dsc_ckpt_open(&ck, path);
    if (st) return st; /* the message names the file */
    st = load(out, ck, 0);
    dsc_ckpt_close(ck);
    if (st) {
        char prefix[300];
        snprintf(prefix, sizeof prefix, "mlp_load '%.256s'", path);
        return dsc__fail_prefix(st, prefix);
    }
    return DSC_OK;
}

int64_t dsc_mlp_epochs_done(const dsc_mlp *m) { return m ? m->pos.epochs : 0; }
