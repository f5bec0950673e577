/* test_nn_checkpoint.c: a model with its optimizer and training position in one file.
 * Fitting 3 epochs, saving, loading and fitting 4 more ends on the bits of 7 straight
 * epochs (parameters, optimizer state, the whole history), with dropout and a
 * validation split, for f32 and f64, Adam and SGD with momentum under schedules, and
 * with early stopping (its best loss, epoch and weights carried over); damaged and
 * mismatched files are refused with *out untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "descent_nn.h"
#include "nn_fixture.h"

typedef struct setup {
    const char *data;     /* under data/ */
    size_t sizes[3];
    dsc_dtype dtype;
    dsc_loss loss;
    const char *optimizer, *schedule;
    int64_t patience;     /* early stopping (restoring the best weights) when > 0 */
    size_t stop_at;       /* then the epoch the straight run stops at */
} setup;

static dsc_mlp *make(const setup *s)
{
    dsc_mlp_config c = dsc_mlp_config_default(s->sizes, 3);
    c.hidden = DSC_ACT_TANH;
    c.dropout = 0.25; /* the dropout generator must carry over */
    c.dtype = s->dtype;
    c.seed = 11;
    dsc_mlp *m;
    OK(dsc_mlp_create(&m, &c));
    OK(dsc_mlp_compile(m, s->optimizer, s->schedule, s->loss));
    return m;
}

static dsc_history *fit(dsc_mlp *m, const dsc_dataset *ds, int64_t epochs, int resume, int64_t patience)
{
    dsc_fit_config fc = dsc_fit_config_default();
    fc.epochs = epochs;
    fc.batch_size = 16;
    fc.seed = 5;
    fc.val_split = 0.2;
    fc.resume = resume;
    fc.patience = patience;
    dsc_history *h;
    OK(dsc_mlp_fit(m, ds, &fc, &h));
    return h;
}

/* The same bits: parameters, every state buffer, the step count. */
static void assert_same_model(dsc_mlp *a, dsc_mlp *b)
{
    size_t es = dsc_dtype_size(dsc_mlp_get_config(a)->dtype), n = dsc_mlp_weight_count(a);
    assert_int_equal(n, dsc_mlp_weight_count(b));
    assert_memory_equal(dsc_mlp_data(a), dsc_mlp_data(b), n * es);
    const dsc_optim *oa = dsc_mlp_optimizer(a), *ob = dsc_mlp_optimizer(b);
    double la, lb;
    OK(dsc_optim_get_lr(oa, 0, &la));
    OK(dsc_optim_get_lr(ob, 0, &lb));
    assert_true(la == lb);
    assert_same_state(oa, ob, es);
}

static void assert_same_epoch(const dsc_epoch *a, const dsc_epoch *b)
{
    assert_true(a != b);
    assert_int_equal(a->epoch, b->epoch);
    assert_true(a->train_loss == b->train_loss && a->train_metric == b->train_metric);
    assert_true(a->val_loss == b->val_loss && a->val_metric == b->val_metric);
    assert_true(a->lr == b->lr);
    assert_int_equal(a->skipped, b->skipped);
}

static void assert_same_history(const dsc_history *a, const dsc_history *b)
{
    assert_int_equal(a->count, b->count);
    for (size_t i = 0; i < a->count; i++) {
        assert_int_equal(a->epochs[i].epoch, (int64_t)i + 1);
        assert_same_epoch(&a->epochs[i], &b->epochs[i]);
    }
    assert_int_equal(a->best_epoch, b->best_epoch);
    assert_int_equal(a->stopped_early, b->stopped_early);
    assert_int_equal(a->train_rows, b->train_rows);
    assert_int_equal(a->val_rows, b->val_rows);
}

/* 7 straight epochs against 3 + save + load + 4, against 3 + 4 in memory, and against
 * 3 + save + load + 2 + save + load + 2. */
static void resume_equals_straight(const setup *s)
{
    dsc_dataset *ds = load_data(s->data);
    dsc_mlp *straight = make(s), *first = make(s), *again = make(s), *loaded = NULL, *chain = NULL;
    int64_t pat = s->patience;
    dsc_history *h7 = fit(straight, ds, 7, 0, pat), *h3 = fit(first, ds, 3, 0, pat);
    assert_false(h3->stopped_early); /* the setups stop, if at all, after epoch 3 */
    OK(dsc_mlp_save(first, path, &(dsc_mlp_save_options){.extra = (const dsc_kv[]){{"note", "three epochs"}}, .nextra = 1}));
    dsc_history_destroy(fit(again, ds, 3, 0, pat));
    dsc_history *mem = fit(again, ds, 4, 1, pat);
    OK(dsc_mlp_load(&loaded, path));
    assert_int_equal(dsc_mlp_epochs_done(loaded), 3);
    /* compiled and loaded models step on the calling thread (nn.h: OpenMP workers
     * spinning after a threaded step took the cores from OpenBLAS) */
    assert_int_equal(dsc_optim_threads(dsc_mlp_optimizer(straight)), 1);
    assert_int_equal(dsc_optim_threads(dsc_mlp_optimizer(loaded)), 1);
    dsc_history *h4 = fit(loaded, ds, 4, 1, pat);
    assert_int_equal(dsc_mlp_epochs_done(loaded), h7->count);
    OK(dsc_mlp_load(&chain, path));
    dsc_history *h22 = fit(chain, ds, 2, 1, pat);
    if (!h22->stopped_early) { /* a run that has stopped cannot go on */
        dsc_history_destroy(h22);
        OK(dsc_mlp_save(chain, path, NULL));
        dsc_mlp_destroy(chain);
        OK(dsc_mlp_load(&chain, path));
        h22 = fit(chain, ds, 2, 1, pat);
    }
    for (int i = 0; i < 3; i++) assert_same_epoch(&h7->epochs[i], &h3->epochs[i]);
    if (pat) { /* early stopping took place, after the save */
        assert_true(h7->stopped_early);
        assert_int_equal(h7->count, s->stop_at);
    }
    assert_same_history(h7, h4);
    assert_same_history(h7, mem);
    assert_same_history(h7, h22);
    assert_same_model(straight, loaded);
    assert_same_model(straight, again);
    assert_same_model(straight, chain);
    /* predictions go through the saved standardization */
    double p[2 * 3] = {0}, q[2 * 3] = {0};
    OK(dsc_mlp_predict(straight, dsc_dataset_x(ds), 2, p));
    OK(dsc_mlp_predict(loaded, dsc_dataset_x(ds), 2, q));
    assert_memory_equal(p, q, sizeof p);
    const dsc_mlp_config *a = dsc_mlp_get_config(straight), *b = dsc_mlp_get_config(loaded);
    assert_true(a->hidden == b->hidden && a->dropout == b->dropout && a->seed == b->seed && a->dtype == b->dtype);
    assert_int_equal(dsc_mlp_loss(loaded), s->loss);
    dsc_ckpt *ck;
    OK(dsc_mlp_save(first, path, &(dsc_mlp_save_options){.extra = (const dsc_kv[]){{"note", "three epochs"}}, .nextra = 1}));
    OK(dsc_ckpt_open(&ck, path));
    assert_string_equal(dsc_ckpt_extra(ck, "note"), "three epochs");
    assert_string_equal(dsc_ckpt_extra(ck, "fit.epoch"), "3");
    dsc_ckpt_close(ck);
    dsc_history_destroy(h7);
    dsc_history_destroy(h3);
    dsc_history_destroy(h4);
    dsc_history_destroy(h22);
    dsc_history_destroy(mem);
    dsc_mlp_destroy(straight);
    dsc_mlp_destroy(first);
    dsc_mlp_destroy(again);
    dsc_mlp_destroy(loaded);
    dsc_mlp_destroy(chain);
    dsc_dataset_destroy(ds);
}

static const setup adam_f32_classify = {"wine.csv", {13, 16, 3}, DSC_F32, DSC_LOSS_SOFTMAX_CE, "adam(lr=1e-2)",
                                        NULL, 0, 0};
static const setup sgd_step_f64_classify = {"wine.csv", {13, 16, 3}, DSC_F64, DSC_LOSS_SOFTMAX_CE,
                                            "sgd(lr=0.05, momentum=0.9)", "step(step_size=7, gamma=0.5)", 0, 0};
/* a loss-driven schedule and the target scaling */
static const setup sgd_plateau_f32_regress = {"diabetes.csv", {10, 8, 1}, DSC_F32, DSC_LOSS_MSE,
                                              "sgd(lr=0.02, momentum=0.9, nesterov=true)",
                                              "plateau(patience=2, factor=0.5)", 0, 0};
static const setup adamw_f64_regress = {"diabetes.csv", {10, 8, 1}, DSC_F64, DSC_LOSS_MSE,
                                        "adamw(lr=1e-2, weight_decay=0.1)", NULL, 0, 0};
/* Early stopping: the best loss, epoch and weights carry over; it stops at epoch 6. */
static const setup stopping_f32 = {"wine.csv", {13, 16, 3}, DSC_F32, DSC_LOSS_SOFTMAX_CE, "adam(lr=0.4)", NULL, 2, 4};
/* The best epoch (2) precedes the save: the file's model holds the best weights, and
 * training goes on from the last ones, saved beside them; it stops at epoch 5. */
static const setup stopping_cosine_f64 = {"diabetes.csv", {10, 8, 1}, DSC_F64, DSC_LOSS_MSE,
                                          "sgd(lr=0.2, momentum=0.9)", "cosine(T_max=40)", 3, 5};

/* A schedule that has ended at rate 0 before the save (4 updates of about 9 an epoch):
 * the file holds the group at lr=0, which loads, predicts and resumes (issue 13). */
static const setup ended_polynomial_f64 = {"wine.csv", {13, 16, 3}, DSC_F64, DSC_LOSS_SOFTMAX_CE,
                                           "sgd(lr=0.05, momentum=0.9)", "polynomial(total_iters=4)", 0, 0};

static void test_resume(void **state) { resume_equals_straight(*state); }

/* path's bytes, with byte at (negative: from the end) xor'ed by flip. */
static void rewrite(long at, unsigned char flip, long truncate)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static unsigned char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (at) buf[at > 0 ? (size_t)at : n - (size_t)-at] ^= flip;
    if (truncate) n -= (size_t)truncate;
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    fclose(f);
}

static void refused(dsc_status want, const char *msg)
{
    dsc_mlp *sentinel = (dsc_mlp *)&sentinel, *m = sentinel;
    dsc_status got = dsc_mlp_load(&m, path);
    if (got != want) fail_msg("status %d, want %d: %s", (int)got, (int)want, dsc_last_error());
    assert_ptr_equal(m, sentinel);
    if (!strstr(dsc_last_error(), msg)) fail_msg("'%s' lacks '%s'", dsc_last_error(), msg);
}

/* A file like m's whose extra key `key` says `value` instead, or (value NULL) without
 * the tensor extra/<key>. */
static void save_altered(dsc_mlp *m, const char *key, const char *value)
{
    OK(dsc_mlp_save(m, path, NULL));
    dsc_ckpt *ck;
    OK(dsc_ckpt_open(&ck, path));
    dsc_kv kv[64];
    dsc_param t[8];
    size_t n = 0, nt = 0;
    for (size_t i = 0; i < dsc_ckpt_meta_count(ck); i++) {
        const char *k, *v;
        OK(dsc_ckpt_meta_at(ck, i, &k, &v));
        if (strncmp(k, "extra.", 6)) continue;
        kv[n++] = (dsc_kv){k + 6, strcmp(k + 6, key) ? v : value};
    }
    static unsigned char copy[8][4096];
    for (size_t i = 0; i < dsc_ckpt_tensor_count(ck); i++) {
        dsc_ckpt_tensor x;
        OK(dsc_ckpt_tensor_at(ck, i, &x));
        if (strncmp(x.name, "extra/", 6) || (!value && !strcmp(x.name + 6, key))) continue;
        assert_true(x.end - x.begin <= sizeof copy[0]);
        OK(dsc_ckpt_read(ck, x.name, 0, x.n, copy[nt]));
        t[nt] = (dsc_param){.name = x.name + 6, .data = copy[nt], .n = (x.end - x.begin) / x.elem_size,
                            .dtype = strcmp(x.dtype, "F32") ? DSC_F64 : DSC_F32, .ndim = x.ndim};
        memcpy(t[nt++].shape, x.shape, sizeof x.shape);
    }
    OK(dsc_checkpoint_save(dsc_mlp_optimizer(m), path, &(dsc_checkpoint_save_options){.extra = kv, .nextra = n, .tensors = t, .ntensors = nt}));
    dsc_ckpt_close(ck);
}

static void test_refusals(void **state)
{
    (void)state;
    const setup s = {"wine.csv", {13, 16, 3}, DSC_F32, DSC_LOSS_SOFTMAX_CE, "adam", NULL, 0, 0};
    dsc_dataset *ds = load_data(s.data), *half;
    dsc_mlp *m = make(&s);
    /* resuming needs a position, and the same seed and data */
    dsc_fit_config fc = dsc_fit_config_default();
    fc.resume = 1;
    assert_int_equal(dsc_mlp_fit(m, ds, &fc, NULL), DSC_ERR_ARG);
    dsc_history_destroy(fit(m, ds, 1, 0, 0));
    fc.seed = 6;
    fc.val_split = 0.2;
    assert_int_equal(dsc_mlp_fit(m, ds, &fc, NULL), DSC_ERR_MISMATCH);
    fc.seed = 5;
    size_t idx[100];
    for (size_t i = 0; i < 100; i++) idx[i] = i;
    OK(dsc_dataset_subset(ds, idx, 100, &half));
    assert_int_equal(dsc_mlp_fit(m, half, &fc, NULL), DSC_ERR_MISMATCH);
    fc.patience = 1;
    assert_int_equal(dsc_mlp_fit(m, ds, &fc, NULL), DSC_ERR_MISMATCH);
    assert_non_null(strstr(dsc_last_error(), "patience of the run it continues (0), got 1"));
    fc.patience = 0;
    fc.val_split = 0.3;
    assert_int_equal(dsc_mlp_fit(m, ds, &fc, NULL), DSC_ERR_MISMATCH);
    fc.val_split = 0.2;
    assert_int_equal(dsc_mlp_save(m, path, &(dsc_mlp_save_options){.extra = (const dsc_kv[]){{"fit.epoch", "9"}}, .nextra = 1}), DSC_ERR_ARG);

    OK(dsc_mlp_save(m, path, NULL));
    rewrite(-3, 0x40, 0);
    refused(DSC_ERR_FORMAT, "checksum");
    OK(dsc_mlp_save(m, path, NULL));
    rewrite(0, 0, 100);
    refused(DSC_ERR_FORMAT, "truncated file");
    OK(dsc_checkpoint_save(dsc_mlp_optimizer(m), path, NULL)); /* an optimizer's alone */
    refused(DSC_ERR_FORMAT, "no extra.mlp.sizes");
    save_altered(m, "mlp.sizes", "13,17,3");
    refused(DSC_ERR_MISMATCH, "fc1.weight");
    save_altered(m, "mlp.hidden", "swish");
    refused(DSC_ERR_FORMAT, "extra.mlp.hidden is malformed");
    save_altered(m, "fit.shuffle_rng", "1,2,3");
    refused(DSC_ERR_FORMAT, "extra.fit.shuffle_rng");
    save_altered(m, "mlp.inv_std", NULL);
    refused(DSC_ERR_FORMAT, "tensor 'extra/mlp.inv_std' is missing");
    save_altered(m, "fit.history", NULL);
    refused(DSC_ERR_FORMAT, "tensor 'extra/fit.history' is missing");
    save_altered(m, "fit.epoch", "2"); /* the history holds 1 */
    refused(DSC_ERR_FORMAT, "tensor 'extra/fit.history' must be F64 of 2 x 8 values");
    save_altered(m, "fit.best_epoch", "9");
    refused(DSC_ERR_FORMAT, "extra.fit.best_epoch must be at most 1, got 9");
    save_altered(m, "fit.stopped", "yes");
    refused(DSC_ERR_FORMAT, "extra.fit.stopped is malformed");
    save_altered(m, "fit.best_epoch", "0"); /* fine: the best is a position's business */
    dsc_mlp *ok;
    OK(dsc_mlp_load(&ok, path));
    dsc_mlp_destroy(ok);
    save_altered(m, "mlp.loss", "bce");
    refused(DSC_ERR_MISMATCH, "bce needs 1 output");
    unlink(path);
    refused(DSC_ERR_IO, "cannot open");
    /* a run that stopped early has ended */
    dsc_mlp *e = make(&(setup){"wine.csv", {13, 16, 3}, DSC_F32, DSC_LOSS_SOFTMAX_CE, "adam(lr=0.4)", NULL, 0, 0});
    dsc_history *h = fit(e, ds, 7, 0, 2);
    assert_true(h->stopped_early);
    fc.patience = 2;
    assert_int_equal(dsc_mlp_fit(e, ds, &fc, NULL), DSC_ERR_ARG);
    assert_non_null(strstr(dsc_last_error(), "stopped early at epoch 4"));
    dsc_history_destroy(h);
    dsc_mlp_destroy(e);
    dsc_mlp_destroy(m);
    dsc_dataset_destroy(ds);
    dsc_dataset_destroy(half);
}

/* A fit that starts a new position without patience keeps its last weights, though an
 * earlier position with patience restored its best ones. */
static void test_new_position(void **state)
{
    (void)state;
    dsc_dataset *ds = load_data("wine.csv");
    dsc_mlp *m = make(&stopping_f32);
    dsc_history *h = fit(m, ds, 7, 0, 2);
    assert_true(h->stopped_early && h->best_epoch < (int64_t)h->count); /* the best was restored */
    dsc_history_destroy(h);
    h = fit(m, ds, 3, 0, 0);
    assert_int_equal(h->count, 3);
    assert_false(h->stopped_early);
    OK(dsc_mlp_save(m, path, NULL));
    dsc_ckpt *ck;
    dsc_ckpt_tensor t;
    OK(dsc_ckpt_open(&ck, path));
    assert_int_equal(dsc_ckpt_find(ck, "extra/fit.live", &t), DSC_ERR_MISMATCH);
    assert_int_equal(dsc_ckpt_find(ck, "extra/fit.best", &t), DSC_ERR_MISMATCH);
    assert_string_equal(dsc_ckpt_extra(ck, "fit.patience"), "0");
    dsc_ckpt_close(ck);
    dsc_history_destroy(h);
    dsc_mlp_destroy(m);
    dsc_dataset_destroy(ds);
}

/* The bytes of file (malloc'ed), their count in *len. */
static unsigned char *slurp(const char *file, size_t *len)
{
    FILE *f = fopen(file, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    *len = (size_t)ftell(f);
    rewind(f);
    unsigned char *b = malloc(*len);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

/* skip_state: the same weights, hyperparameters and counters, no state buffer
 * allocated (their names kept for a distributed run to fill), and a model that refuses
 * to step or be saved (the good file stays) until it is compiled again. */
static void test_skip_state(void **state)
{
    (void)state;
    dsc_dataset *ds = load_data("wine.csv");
    dsc_mlp *m = make(&adam_f32_classify), *full, *bare;
    dsc_history_destroy(fit(m, ds, 2, 0, 0));
    OK(dsc_mlp_save(m, path, NULL));
    dsc_ckpt *ck;
    OK(dsc_ckpt_open(&ck, path));
    dsc_mlp_load_options o = dsc_mlp_load_options_default();
    assert_int_equal(o.skip_state, 0);
    OK(dsc_mlp_load_ckpt(&full, ck, &o));
    o.skip_state = 1;
    OK(dsc_mlp_load_ckpt(&bare, ck, &o));
    dsc_ckpt_close(ck);
    const dsc_optim *a = dsc_mlp_optimizer(full), *b = dsc_mlp_optimizer(bare);
    assert_int_equal(dsc_optim_step_count(b), dsc_optim_step_count(a));
    assert_true(dsc_optim_step_count(a) > 0);
    assert_true(dsc_optim_state_bytes(b) < dsc_optim_state_bytes(a) / 100);
    for (size_t i = 0; i < dsc_mlp_param_count(full); i++) {
        const dsc_param *p = dsc_optim_param(a, i), *q = dsc_optim_param(b, i);
        assert_memory_equal(p->data, q->data, p->n * sizeof(float));
        assert_int_equal(dsc_optim_state_count(b, i), 2);
        for (size_t k = 0; k < 2; k++) {
            const char *na, *nb;
            void *da, *db;
            dsc_optim_state(a, i, k, &na, &da);
            dsc_optim_state(b, i, k, &nb, &db);
            assert_string_equal(nb, na);
            assert_non_null(da);
            assert_null(db);
        }
    }
    dsc_hparams ha, hb;
    dsc_optim_get_group_hparams(a, 0, &ha);
    dsc_optim_get_group_hparams(b, 0, &hb);
    assert_true(ha.lr == hb.lr && ha.beta1 == hb.beta1 && ha.kind == hb.kind);
    size_t before;
    unsigned char *good = slurp(path, &before);
    assert_int_equal(dsc_mlp_save(bare, path, NULL), DSC_ERR_ARG);
    assert_non_null(strstr(dsc_last_error(), "without its state"));
    size_t after;
    unsigned char *kept = slurp(path, &after);
    assert_true(after == before && !memcmp(kept, good, before));
    assert_int_equal(dsc_optim_step((dsc_optim *)b), DSC_ERR_ARG);
    assert_int_equal(dsc_optim_eval_mode((dsc_optim *)b, 1), DSC_ERR_ARG);
    free(good);
    free(kept);
    dsc_mlp_destroy(bare);
    dsc_mlp_destroy(full);
    dsc_mlp_destroy(m);
    dsc_dataset_destroy(ds);
}


/* Every single-bit flip of a training checkpoint's length and header is refused or
 * loads the model of the intact file (saved again, the same bytes): before the header
 * checksum, flips read the activation relu as selu, other epochs, rates, batch
 * positions and generator states. */
static void test_header_bit_flips(void **state)
{
    (void)state;
    const setup s = {"wine.csv", {13, 4, 3}, DSC_F32, DSC_LOSS_SOFTMAX_CE, "adam(lr=1e-2)", "cosine(T_max=40)", 1, 0};
    dsc_dataset *ds = load_data(s.data);
    dsc_mlp *m = make(&s), *back;
    dsc_history_destroy(fit(m, ds, 2, 0, 1));
    OK(dsc_mlp_save(m, path, NULL));
    size_t len, want_len, got_len, header = 0;
    unsigned char *good = slurp(path, &len), *bad = malloc(len);
    for (int i = 7; i >= 0; i--) header = header << 8 | good[i];
    char again[80];
    snprintf(again, sizeof again, "%s.again", path);
    OK(dsc_mlp_load(&back, path));
    OK(dsc_mlp_save(back, again, NULL));
    dsc_mlp_destroy(back);
    unsigned char *want = slurp(again, &want_len);
    size_t loaded = 0, refused = 0;
    for (size_t bit = 0; bit < 8 * (8 + header); bit++) {
        memcpy(bad, good, len);
        bad[bit / 8] ^= (unsigned char)(1u << bit % 8);
        dsc_ckpt *ck;
        dsc_status st = dsc_ckpt_open_mem(&ck, bad, len);
        if (!st) {
            st = dsc_mlp_load_ckpt(&back, ck, NULL);
            dsc_ckpt_close(ck);
        }
        if (st) {
            refused++;
            continue;
        }
        OK(dsc_mlp_save(back, again, NULL));
        dsc_mlp_destroy(back);
        unsigned char *got = slurp(again, &got_len);
        if (got_len != want_len || memcmp(got, want, got_len))
            fail_msg("flipping bit %zu of byte %zu ('%c') loaded another model", bit % 8, bit / 8, good[bit / 8]);
        free(got);
        loaded++;
    }
    assert_true(refused > 40 * loaded);
    unlink(again);
    free(want);
    free(bad);
    free(good);
    dsc_mlp_destroy(m);
    dsc_dataset_destroy(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        {"adam_f32_classify", test_resume, make_path, remove_path, (void *)&adam_f32_classify},
        {"sgd_step_f64_classify", test_resume, make_path, remove_path, (void *)&sgd_step_f64_classify},
        {"sgd_plateau_f32_regress", test_resume, make_path, remove_path, (void *)&sgd_plateau_f32_regress},
        {"adamw_f64_regress", test_resume, make_path, remove_path, (void *)&adamw_f64_regress},
        {"stopping_f32", test_resume, make_path, remove_path, (void *)&stopping_f32},
        {"stopping_cosine_f64", test_resume, make_path, remove_path, (void *)&stopping_cosine_f64},
        {"ended_polynomial_f64", test_resume, make_path, remove_path, (void *)&ended_polynomial_f64},
        cmocka_unit_test_setup_teardown(test_new_position, make_path, remove_path),
        cmocka_unit_test_setup_teardown(test_refusals, make_path, remove_path),
        cmocka_unit_test_setup_teardown(test_header_bit_flips, make_path, remove_path),
        cmocka_unit_test_setup_teardown(test_skip_state, make_path, remove_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
