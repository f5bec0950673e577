/* test_nn_average.c: the weight average a fit keeps (dsc_fit_config's average).
 * EMA with decay 0 follows the live weights; SWA folded once per epoch is the mean of
 * the weights after each epoch, computed here from a run without an average (which the
 * average must not disturb); validation and evaluation at the average; fitting 3
 * epochs, saving, loading and fitting 4 more ends on the bits of 7 straight epochs,
 * average buffers and counters included (also with early stopping holding the best
 * weights); ASGD's ax, the optimizer's own state; refusals. */
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

/* wine: 13 features, 3 classes */
static dsc_mlp *make(dsc_dtype dt, double dropout, const char *optimizer)
{
    size_t sizes[] = {13, 12, 3};
    dsc_mlp_config c = dsc_mlp_config_default(sizes, 3);
    c.hidden = DSC_ACT_TANH;
    c.dropout = dropout;
    c.dtype = dt;
    c.seed = 7;
    dsc_mlp *m;
    OK(dsc_mlp_create(&m, &c));
    OK(dsc_mlp_compile(m, optimizer, NULL, DSC_LOSS_SOFTMAX_CE));
    return m;
}

static dsc_fit_config config(int64_t epochs, const char *average)
{
    dsc_fit_config fc = dsc_fit_config_default();
    fc.epochs = epochs;
    fc.batch_size = 20;
    fc.seed = 3;
    fc.val_split = 0.25;
    fc.average = average;
    return fc;
}

static dsc_history *fit(dsc_mlp *m, const dsc_dataset *ds, dsc_fit_config fc)
{
    dsc_history *h;
    OK(dsc_mlp_fit(m, ds, &fc, &h));
    return h;
}

/* ---------------------------------------------------------------- EMA, decay 0 */

/* Each fold is avg + 1 (p - avg): p up to one rounding of that sum. */
static void test_ema_decay0_is_live(void **state)
{
    (void)state;
    dsc_dataset *ds = load_data("wine.csv");
    dsc_mlp *m = make(DSC_F64, 0, "adam(lr=1e-2)");
    dsc_history *h = fit(m, ds, config(4, "ema(decay=0)"));
    size_t n = dsc_mlp_weight_count(m);
    double *live = malloc(n * sizeof *live);
    memcpy(live, dsc_mlp_data(m), n * sizeof *live);
    assert_false(dsc_mlp_using_average(m));
    OK(dsc_mlp_use_average(m, 1));
    assert_true(dsc_mlp_using_average(m));
    OK(dsc_mlp_use_average(m, 1)); /* already so: no-op */
    const double *avg = dsc_mlp_data(m);
    for (size_t i = 0; i < n; i++) assert_true(fabs(avg[i] - live[i]) <= 1e-15 * (1 + fabs(live[i])));
    OK(dsc_mlp_use_average(m, 0));
    assert_memory_equal(dsc_mlp_data(m), live, n * sizeof *live); /* back bit for bit */
    for (size_t e = 0; e < h->count; e++) {
        assert_true(fabs(h->epochs[e].avg_val_loss - h->epochs[e].val_loss) <= 1e-12 * h->epochs[e].val_loss);
        assert_true(h->epochs[e].avg_val_metric == h->epochs[e].val_metric);
    }
    const dsc_average *a = dsc_mlp_average(m);
    assert_non_null(a);
    size_t batches = (h->train_rows + 19) / 20; /* every update folded */
    assert_int_equal(dsc_average_updates(a), dsc_optim_step_count(dsc_mlp_optimizer(m)));
    assert_int_equal(dsc_average_averaged(a), 4 * (int64_t)batches);
    free(live);
    dsc_history_destroy(h);
    dsc_mlp_destroy(m);
    dsc_dataset_destroy(ds);
}

/* With accumulate=3 only every third step updates the weights, and only it folds. */
static void test_folds_on_updates(void **state)
{
    (void)state;
    dsc_dataset *ds = load_data("wine.csv");
    dsc_mlp *m = make(DSC_F32, 0, "adam(lr=1e-2, accumulate=3)");
    dsc_history *h = fit(m, ds, config(2, "ema(decay=0.5)"));
    int64_t updates = dsc_optim_step_count(dsc_mlp_optimizer(m)), batches = 2 * (int64_t)((h->train_rows + 19) / 20);
    assert_int_equal(updates, batches / 3);
    assert_int_equal(dsc_average_updates(dsc_mlp_average(m)), updates);
    assert_int_equal(dsc_average_averaged(dsc_mlp_average(m)), updates);
    dsc_history_destroy(h);
    dsc_mlp_destroy(m);
    dsc_dataset_destroy(ds);
}

/* ---------------------------------------------------------------- SWA, once per epoch */

typedef struct snapshots {
    double *sum; /* of the weights after each epoch */
    size_t n, epochs;
    dsc_mlp *m;
} snapshots;

static void on_epoch(const dsc_epoch *e, void *user)
{
    snapshots *s = user;
    const double *w = dsc_mlp_data(s->m);
    (void)e;
    for (size_t i = 0; i < s->n; i++) s->sum[i] += w[i];
    s->epochs++;
}

static void test_swa_is_epoch_mean(void **state)
{
    (void)state;
    dsc_dataset *all = load_data("wine.csv"), *train, *val;
    OK(dsc_dataset_split(all, 0.25, 9, 3, &train, &val));
    size_t rows = dsc_dataset_rows(train), batch = 16, per_epoch = (rows + batch - 1) / batch;
    char spec[64];
    snprintf(spec, sizeof spec, "swa(every=%zu)", per_epoch); /* folds at each epoch's last update */
    const int64_t epochs = 5;
    dsc_mlp *plain = make(DSC_F64, 0.1, "sgd(lr=0.05, momentum=0.9)");
    dsc_mlp *avg = make(DSC_F64, 0.1, "sgd(lr=0.05, momentum=0.9)");
    size_t n = dsc_mlp_weight_count(plain);
    snapshots s = {calloc(n, sizeof(double)), n, 0, plain};
    dsc_fit_config fc = config(epochs, NULL);
    fc.val_split = 0;
    fc.val = val;
    fc.batch_size = batch;
    fc.on_epoch = on_epoch;
    fc.user = &s;
    dsc_history *hp = fit(plain, train, fc);
    fc.on_epoch = NULL;
    fc.average = spec;
    dsc_history *ha = fit(avg, train, fc);
    assert_int_equal(s.epochs, (size_t)epochs);
    /* the average does not disturb training */
    assert_memory_equal(dsc_mlp_data(plain), dsc_mlp_data(avg), n * sizeof(double));
    for (int64_t e = 0; e < epochs; e++) {
        assert_true(hp->epochs[e].val_loss == ha->epochs[e].val_loss);
        assert_true(isnan(hp->epochs[e].avg_val_loss) && isnan(hp->epochs[e].avg_val_metric));
        assert_false(isnan(ha->epochs[e].avg_val_loss));
    }
    assert_int_equal(dsc_average_averaged(dsc_mlp_average(avg)), epochs);
    OK(dsc_mlp_use_average(avg, 1));
    const double *w = dsc_mlp_data(avg);
    for (size_t i = 0; i < n; i++) {
        double mean = s.sum[i] / (double)epochs;
        assert_true(fabs(w[i] - mean) <= 1e-12 * (1 + fabs(mean)));
    }
    /* the last epoch's validation at the average is an evaluation at the average */
    double loss, acc;
    OK(dsc_mlp_evaluate(avg, val, &loss, &acc));
    assert_true(loss == ha->epochs[epochs - 1].avg_val_loss);
    assert_true(acc == ha->epochs[epochs - 1].avg_val_metric);
    /* and of the mean computed here, in the plain model, to rounding */
    for (size_t i = 0; i < n; i++) ((double *)dsc_mlp_data(plain))[i] = s.sum[i] / (double)epochs;
    double ploss, pacc;
    OK(dsc_mlp_evaluate(plain, val, &ploss, &pacc));
    assert_true(fabs(ploss - loss) <= 1e-10 * loss);
    assert_true(pacc == acc);
    /* predictions see the average while it is in use, the live weights after */
    double pa[3], pl[3];
    OK(dsc_mlp_predict(avg, dsc_dataset_x(val), 1, pa));
    OK(dsc_mlp_use_average(avg, 0));
    OK(dsc_mlp_predict(avg, dsc_dataset_x(val), 1, pl));
    assert_true(pa[0] != pl[0]);
    free(s.sum);
    dsc_history_destroy(hp);
    dsc_history_destroy(ha);
    dsc_mlp_destroy(plain);
    dsc_mlp_destroy(avg);
    dsc_dataset_destroy(train);
    dsc_dataset_destroy(val);
    dsc_dataset_destroy(all);
}

/* ---------------------------------------------------------------- bit-exact resume */

static void assert_same_average(const dsc_mlp *a, const dsc_mlp *b)
{
    const dsc_average *x = dsc_mlp_average(a), *y = dsc_mlp_average(b);
    assert_non_null(x);
    assert_non_null(y);
    char sx[160], sy[160];
    dsc_average_format(x, sx, sizeof sx);
    dsc_average_format(y, sy, sizeof sy);
    assert_string_equal(sx, sy);
    assert_int_equal(dsc_average_updates(x), dsc_average_updates(y));
    assert_int_equal(dsc_average_averaged(x), dsc_average_averaged(y));
    assert_int_equal(dsc_average_count(x), dsc_average_count(y));
    for (size_t i = 0; i < dsc_average_count(x); i++) {
        const dsc_param *p = dsc_average_param(x, i);
        void *dx, *dy;
        OK(dsc_average_buffer(x, i, NULL, &dx));
        OK(dsc_average_buffer(y, i, NULL, &dy));
        assert_memory_equal(dx, dy, p->n * dsc_dtype_size(p->dtype));
    }
}

static void assert_same_bits(dsc_mlp *a, dsc_mlp *b, const dsc_history *ha, const dsc_history *hb)
{
    size_t es = dsc_dtype_size(dsc_mlp_get_config(a)->dtype);
    assert_memory_equal(dsc_mlp_data(a), dsc_mlp_data(b), dsc_mlp_weight_count(a) * es);
    assert_same_state(dsc_mlp_optimizer(a), dsc_mlp_optimizer(b), es);
    assert_same_average(a, b);
    assert_int_equal(ha->count, hb->count);
    assert_int_equal(ha->best_epoch, hb->best_epoch);
    assert_int_equal(ha->stopped_early, hb->stopped_early);
    for (size_t e = 0; e < ha->count; e++) {
        const dsc_epoch *x = &ha->epochs[e], *y = &hb->epochs[e];
        assert_true(x->train_loss == y->train_loss && x->val_loss == y->val_loss && x->val_metric == y->val_metric);
        assert_true(x->avg_val_loss == y->avg_val_loss && x->avg_val_metric == y->avg_val_metric);
        assert_false(isnan(x->avg_val_loss));
    }
}

/* 7 straight against 3 + save + load + 4; patience > 0 restores the best weights. */
static void resume_case(dsc_dtype dt, const char *optimizer, const char *average, int64_t patience)
{
    dsc_dataset *ds = load_data("wine.csv");
    dsc_mlp *straight = make(dt, 0.2, optimizer), *first = make(dt, 0.2, optimizer), *loaded = NULL;
    dsc_fit_config fc = config(7, average);
    fc.patience = patience;
    dsc_history *h7 = fit(straight, ds, fc);
    fc.epochs = 3;
    dsc_history_destroy(fit(first, ds, fc));
    OK(dsc_mlp_save(first, path, NULL));
    OK(dsc_mlp_load(&loaded, path));
    assert_false(dsc_mlp_using_average(loaded));
    fc.epochs = 4;
    fc.resume = 1;
    dsc_history *h4 = fit(loaded, ds, fc);
    assert_same_bits(straight, loaded, h7, h4);
    /* with patience, the setup's best epoch precedes the save and it stops after it */
    if (patience) assert_true(h7->stopped_early && h7->best_epoch < 3 && h7->count > 3);
    /* in use, the averages are the same weights too */
    OK(dsc_mlp_use_average(straight, 1));
    OK(dsc_mlp_use_average(loaded, 1));
    assert_memory_equal(dsc_mlp_data(straight), dsc_mlp_data(loaded),
                        dsc_mlp_weight_count(straight) * dsc_dtype_size(dt));
    dsc_history_destroy(h7);
    dsc_history_destroy(h4);
    dsc_mlp_destroy(straight);
    dsc_mlp_destroy(first);
    dsc_mlp_destroy(loaded);
    dsc_dataset_destroy(ds);
}

static void test_resume_ema_f32(void **state)
{
    (void)state;
    resume_case(DSC_F32, "adam(lr=1e-2)", "ema(decay=0.9, every=2, start=5)", 0);
}

static void test_resume_swa_f64(void **state)
{
    (void)state;
    resume_case(DSC_F64, "sgd(lr=0.05, momentum=0.9)", "swa(start=10)", 0);
}

/* Early stopping follows the live weights; the file holds the best ones
 * with the average beside them, and the run stops at epoch 6 (best epoch 2). */
static void test_resume_ema_best(void **state)
{
    (void)state;
    resume_case(DSC_F32, "adam(lr=0.9)", "ema(decay=0.5)", 4);
}

/* ---------------------------------------------------------------- refusals */

static dsc_status step_hook(void *ctx, const double *loss) { (void)ctx; (void)loss; return DSC_OK; }
static dsc_status sum_hook(void *ctx, double *v, size_t n) { (void)ctx; (void)v; (void)n; return DSC_OK; }
static int64_t skipped_hook(void *ctx) { (void)ctx; return 0; }
static double lr_hook(void *ctx) { (void)ctx; return 0; }

static void refused(dsc_status got, dsc_status want, const char *msg)
{
    assert_int_equal(got, want);
    if (!strstr(dsc_last_error(), msg)) fail_msg("message '%s' lacks '%s'", dsc_last_error(), msg);
}

static void test_refusals(void **state)
{
    (void)state;
    dsc_dataset *ds = load_data("wine.csv");
    dsc_mlp *m = make(DSC_F32, 0, "adam(lr=1e-2)");
    dsc_fit_config fc = config(1, "bogus(decay=0.5)");
    refused(dsc_mlp_fit(m, ds, &fc, NULL), DSC_ERR_SPEC, "unknown average 'bogus'");
    fc.average = "ema(decay=1)";
    refused(dsc_mlp_fit(m, ds, &fc, NULL), DSC_ERR_RANGE, "decay must be in [0, 1)");
    fc.average = "swa(every=0)";
    refused(dsc_mlp_fit(m, ds, &fc, NULL), DSC_ERR_RANGE, "every must be >= 1");
    assert_int_equal(dsc_mlp_epochs_done(m), 0);
    assert_null(dsc_mlp_average(m));
    refused(dsc_mlp_use_average(m, 1), DSC_ERR_ARG, "keeps no weight average");
    /* under parallel, the fit must be told which steps updated */
    dsc_fit_parallel par = {.rank = 0, .size = 1, .step = step_hook, .sum = sum_hook, .skipped = skipped_hook,
                            .lr = lr_hook};
    fc.average = "ema(decay=0.9)";
    fc.parallel = &par;
    refused(dsc_mlp_fit(m, ds, &fc, NULL), DSC_ERR_ARG, "needs the updated hook");
    fc.parallel = NULL;
    OK(dsc_mlp_fit(m, ds, &fc, NULL));
    /* resume needs the same average, compared canonically */
    fc.resume = 1;
    fc.average = "ema(decay=0.9, every=1, start=0)";
    OK(dsc_mlp_fit(m, ds, &fc, NULL));
    fc.average = "ema(decay=0.99)";
    refused(dsc_mlp_fit(m, ds, &fc, NULL), DSC_ERR_MISMATCH, "resume needs the average of the run it continues");
    fc.average = NULL;
    refused(dsc_mlp_fit(m, ds, &fc, NULL), DSC_ERR_MISMATCH, "got none");
    /* training and saving refuse the averaged weights */
    OK(dsc_mlp_use_average(m, 1));
    fc.average = "ema(decay=0.9)";
    refused(dsc_mlp_fit(m, ds, &fc, NULL), DSC_ERR_ARG, "averaged weights are in use");
    refused(dsc_mlp_save(m, path, NULL), DSC_ERR_ARG, "averaged weights are in use");
    OK(dsc_mlp_use_average(m, 0));
    assert_int_equal(dsc_mlp_epochs_done(m), 2);
    /* a fresh fit without an average drops the old one; resuming it with one is refused */
    fc.resume = 0;
    fc.average = NULL;
    OK(dsc_mlp_fit(m, ds, &fc, NULL));
    assert_null(dsc_mlp_average(m));
    fc.resume = 1;
    fc.average = "swa";
    refused(dsc_mlp_fit(m, ds, &fc, NULL), DSC_ERR_MISMATCH, "continues (none)");
    /* a file with an average loads with it; one without, without */
    OK(dsc_mlp_save(m, path, NULL));
    dsc_mlp *loaded;
    OK(dsc_mlp_load(&loaded, path));
    assert_null(dsc_mlp_average(loaded));
    dsc_mlp_destroy(loaded);
    dsc_mlp_destroy(m);
    dsc_dataset_destroy(ds);
}

/* ASGD's own average (its state ax, averaging from update 12 of the 42 in 7 epochs) */
static void test_resume_ax_f32(void **state)
{
    (void)state;
    resume_case(DSC_F32, "asgd(lr=0.05, t0=10)", "ax", 0);
}

/* The ax average is the optimizer's state ax: in use, the weights are that buffer;
 * compiling another optimizer drops the average with the state it borrowed (the
 * live weights swapped back first), and a fit with ax refuses another kind. */
static void test_ax_is_the_state(void **state)
{
    (void)state;
    dsc_dataset *ds = load_data("wine.csv");
    dsc_mlp *m = make(DSC_F64, 0, "asgd(lr=0.05, t0=5)");
    dsc_history_destroy(fit(m, ds, config(2, "ax")));
    size_t n = dsc_mlp_weight_count(m);
    double *live = malloc(n * sizeof *live);
    assert_non_null(live);
    memcpy(live, dsc_mlp_data(m), n * sizeof *live);
    OK(dsc_mlp_use_average(m, 1));
    const dsc_optim *opt = dsc_mlp_optimizer(m);
    for (size_t i = 0, at = 0; i < dsc_optim_param_count(opt); i++) {
        const dsc_param *q = dsc_optim_param(opt, i);
        const char *name;
        void *ax;
        OK(dsc_optim_state(opt, i, 0, &name, &ax));
        assert_string_equal(name, "ax");
        assert_memory_equal(ax, live + at, q->n * sizeof *live); /* swapped: ax holds the live weights */
        assert_true(memcmp(q->data, live + at, q->n * sizeof *live) != 0);
        at += q->n;
    }
    OK(dsc_mlp_compile(m, "adam(lr=1e-2)", NULL, DSC_LOSS_SOFTMAX_CE));
    assert_null(dsc_mlp_average(m));
    assert_memory_equal(dsc_mlp_data(m), live, n * sizeof *live);
    refused(dsc_mlp_use_average(m, 1), DSC_ERR_ARG, "keeps no weight average");
    dsc_fit_config fc = config(1, "ax");
    refused(dsc_mlp_fit(m, ds, &fc, NULL), DSC_ERR_ARG, "the optimizer is adam");
    free(live);
    dsc_mlp_destroy(m);
    dsc_dataset_destroy(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ema_decay0_is_live),
        cmocka_unit_test(test_folds_on_updates),
        cmocka_unit_test(test_swa_is_epoch_mean),
        cmocka_unit_test_setup_teardown(test_resume_ema_f32, make_path, remove_path),
        cmocka_unit_test_setup_teardown(test_resume_swa_f64, make_path, remove_path),
        cmocka_unit_test_setup_teardown(test_resume_ema_best, make_path, remove_path),
        cmocka_unit_test_setup_teardown(test_refusals, make_path, remove_path),
        cmocka_unit_test_setup_teardown(test_resume_ax_f32, make_path, remove_path),
        cmocka_unit_test(test_ax_is_the_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
