/* test_nn.c: the MLP: analytic gradients of every activation and loss against central
 * differences in float64, a tiny network against a hand-written gradient-descent
 * loop, XOR, digits, early stopping, reproducibility, initialisation and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "descent_nn.h"
#include "nn/nn.h" /* dropout masks: the internal passes */
#include "nn_fixture.h"

/* A linear network of the given sizes in float64. */
static dsc_mlp *make_linear(const size_t *sizes, int count)
{
    dsc_mlp_config c = dsc_mlp_config_default(sizes, count);
    c.dtype = DSC_F64;
    dsc_mlp *m;
    OK(dsc_mlp_create(&m, &c));
    return m;
}

static dsc_mlp *make(const size_t *sizes, int count, dsc_activation hidden, dsc_dtype dt,
                     uint64_t seed)
{
    dsc_mlp_config c = dsc_mlp_config_default(sizes, count);
    c.hidden = hidden;
    c.dtype = dt;
    c.seed = seed;
    dsc_mlp *m;
    OK(dsc_mlp_create(&m, &c));
    return m;
}

/* Fits m on ds for epochs of batch rows with the default fit settings. */
static dsc_history *fit(dsc_mlp *m, const dsc_dataset *ds, int64_t epochs, size_t batch)
{
    dsc_fit_config fc = dsc_fit_config_default();
    fc.epochs = epochs;
    fc.batch_size = batch;
    dsc_history *h;
    OK(dsc_mlp_fit(m, ds, &fc, &h));
    return h;
}

/* Central differences on every parameter against the analytic gradient. */
static void grad_check(dsc_mlp *m, const double *x, const double *y, size_t n, const char *what)
{
    double loss;
    OK(dsc_mlp_loss_grad(m, x, y, n, &loss));
    size_t p = dsc_mlp_weight_count(m);
    double *w = dsc_mlp_data(m), *analytic = malloc(p * sizeof *analytic);
    memcpy(analytic, dsc_mlp_grad(m), p * sizeof *analytic);
    const double h = 1e-6;
    double worst = 0;
    for (size_t i = 0; i < p; i++) {
        double keep = w[i], lp, lm;
        w[i] = keep + h;
        OK(dsc_mlp_loss_grad(m, x, y, n, &lp));
        w[i] = keep - h;
        OK(dsc_mlp_loss_grad(m, x, y, n, &lm));
        w[i] = keep;
        double numeric = (lp - lm) / (2 * h);
        double err = fabs(numeric - analytic[i]) / fmax(1e-3, fabs(numeric) + fabs(analytic[i]));
        worst = fmax(worst, err);
    }
    free(analytic);
    if (!(worst < 1e-6)) fail_msg("%s: worst relative gradient error %g", what, worst);
}

/* 6 rows of 3 features, targets for each loss */
static const double gx[18] = {0.3, -1.2, 0.8,  1.5, 0.2, -0.7, -0.4, 0.9, 1.1,
                              0.05, -0.3, -1.4, 2.0, 1.3, 0.6,  -1.7, 0.4, -0.2};
static const double g_labels[6] = {0, 2, 1, 1, 0, 2};
static const double g_binary[6] = {1, 0, 0.25, 1, 0, 1};
static const double g_real[6] = {0.5, -1.0, 2.0, 0.1, -0.3, 1.2};

static void test_gradients_every_activation(void **state)
{
    (void)state;
    for (int a = 0; a < DSC_ACT_COUNT; a++) {
        const size_t sizes[] = {3, 5, 4, 1};
        dsc_mlp *m = make(sizes, 4, (dsc_activation)a, DSC_F64, 7 + (uint64_t)a);
        OK(dsc_mlp_compile(m, "sgd", NULL, DSC_LOSS_MSE));
        grad_check(m, gx, g_real, 6, dsc_activation_name((dsc_activation)a));
        dsc_mlp_destroy(m);
    }
    /* output activations under mse */
    static const dsc_activation outs[] = {DSC_ACT_TANH, DSC_ACT_SIGMOID, DSC_ACT_ELU, DSC_ACT_SELU,
                                          DSC_ACT_LEAKY_RELU};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
        const size_t sizes[] = {3, 4, 1};
        dsc_mlp_config c = dsc_mlp_config_default(sizes, 3);
        c.dtype = DSC_F64;
        c.output = outs[i];
        c.hidden = DSC_ACT_TANH;
        c.leaky_slope = 0.2;
        c.elu_alpha = 0.7;
        c.seed = 3;
        dsc_mlp *m;
        OK(dsc_mlp_create(&m, &c));
        OK(dsc_mlp_compile(m, "sgd", NULL, DSC_LOSS_MSE));
        grad_check(m, gx, g_real, 6, dsc_activation_name(outs[i]));
        dsc_mlp_destroy(m);
    }
}

static void test_gradients_every_loss(void **state)
{
    (void)state;
    const size_t s3[] = {3, 6, 3}, s1[] = {3, 6, 1};
    dsc_mlp *m = make(s3, 3, DSC_ACT_RELU, DSC_F64, 1);
    OK(dsc_mlp_compile(m, "sgd", NULL, DSC_LOSS_SOFTMAX_CE));
    grad_check(m, gx, g_labels, 6, "softmax_ce");
    dsc_mlp_destroy(m);
    m = make(s1, 3, DSC_ACT_ELU, DSC_F64, 2);
    OK(dsc_mlp_compile(m, "sgd", NULL, DSC_LOSS_BCE));
    grad_check(m, gx, g_binary, 6, "bce");
    dsc_mlp_destroy(m);
    /* standardized inputs and a scaled target go through the same chain */
    m = make(s1, 3, DSC_ACT_SIGMOID, DSC_F64, 4);
    OK(dsc_mlp_compile(m, "sgd", NULL, DSC_LOSS_MSE));
    OK(dsc_mlp_set_standardization(m, (const double[]){0.1, -0.2, 0.3}, (const double[]){2, 0.5, 1.5}));
    OK(dsc_mlp_set_target_scaling(m, 0.4, 1.7));
    grad_check(m, gx, g_real, 6, "mse standardized");
    double mean[3], sd[3], ym, ys;
    assert_int_equal(dsc_mlp_get_standardization(m, mean, sd), 1);
    assert_true(mean[1] == -0.2 && sd[1] == 0.5);
    assert_float_equal(sd[2], 1.5, 1e-15);
    dsc_mlp_get_target_scaling(m, &ym, &ys);
    assert_true(ym == 0.4 && ys == 1.7);
    OK(dsc_mlp_set_standardization(m, NULL, NULL));
    assert_int_equal(dsc_mlp_get_standardization(m, mean, sd), 0);
    assert_int_equal(dsc_mlp_set_standardization(m, mean, (const double[]){1, 0, 1}), DSC_ERR_RANGE);
    dsc_mlp_destroy(m);
}

/* The losses' values at hand-computed points. */
static void test_loss_values(void **state)
{
    (void)state;
    /* a 1-1 linear network with w = 2, b = -1: z = 2x - 1 */
    dsc_mlp *m = make_linear((const size_t[]){1, 1}, 2);
    double *w = dsc_mlp_data(m);
    w[0] = 2;
    w[1] = -1;
    const double x[2] = {1, 0}, y[2] = {0, 1}; /* z = 1, -1 */
    double loss;
    OK(dsc_mlp_compile(m, "sgd", NULL, DSC_LOSS_MSE));
    OK(dsc_mlp_loss_grad(m, x, y, 2, &loss));
    assert_float_equal(loss, (1.0 + 4.0) / 2, 1e-15);
    OK(dsc_mlp_compile(m, "sgd", NULL, DSC_LOSS_BCE));
    OK(dsc_mlp_loss_grad(m, x, y, 2, &loss));
    assert_float_equal(loss, log1p(exp(1.0)), 1e-15); /* both rows: log(1 + e) */
    /* large logits stay finite */
    w[0] = 1000;
    w[1] = 0;
    OK(dsc_mlp_loss_grad(m, x, y, 1, &loss));
    assert_float_equal(loss, 1000.0, 1e-12);
    dsc_mlp_destroy(m);

    m = make_linear((const size_t[]){1, 2}, 2);
    w = dsc_mlp_data(m); /* weights [2, 1] then bias [2]: z = (x, -x) */
    w[0] = 1;
    w[1] = -1;
    w[2] = w[3] = 0;
    OK(dsc_mlp_compile(m, "sgd", NULL, DSC_LOSS_SOFTMAX_CE));
    OK(dsc_mlp_loss_grad(m, (const double[]){3}, (const double[]){1}, 1, &loss));
    assert_float_equal(loss, log(exp(3.0) + exp(-3.0)) + 3, 1e-12);
    dsc_mlp_destroy(m);
}

/* A linear 2-1 network, full batch, plain SGD: its losses must match a gradient-
 * descent loop written out here, epoch by epoch. */
/* A linear 2-1 network, full batch, plain SGD with lr 0.05 * gamma^t (a step schedule,
 * or none for gamma 1): its losses must match a gradient-descent loop written out
 * here, epoch by epoch. */
static void tiny_network(const char *schedule, double gamma)
{
    const double x[8] = {1, 2, -1, 0.5, 0.5, -1.5, 2, 1}, y[4] = {0, -1.5, 2.75, 2.5}; /* 1.5 x1 - x2 + 0.5 */
    dsc_dataset *ds;
    OK(dsc_dataset_create(&ds, 4, 2, x, y));
    dsc_mlp *m = make_linear((const size_t[]){2, 1}, 2);
    double *w = dsc_mlp_data(m);
    w[0] = 0.1;
    w[1] = -0.2;
    w[2] = 0.3;
    OK(dsc_mlp_compile(m, "sgd(lr=0.05)", schedule, DSC_LOSS_MSE));
    dsc_fit_config fc = dsc_fit_config_default();
    fc.epochs = 100;
    fc.batch_size = 4;
    fc.shuffle = 0;
    fc.standardize = 0;
    dsc_history *h;
    OK(dsc_mlp_fit(m, ds, &fc, &h));
    assert_int_equal(h->count, 100);
    double a = 0.1, b = -0.2, c = 0.3, lr = 0.05;
    for (int ep = 0; ep < 100; ep++) {
        double loss = 0, ga = 0, gb = 0, gc = 0;
        for (int i = 0; i < 4; i++) {
            double e = a * x[2 * i] + b * x[2 * i + 1] + c - y[i];
            loss += e * e / 4;
            ga += 2 * e * x[2 * i] / 4;
            gb += 2 * e * x[2 * i + 1] / 4;
            gc += 2 * e / 4;
        }
        assert_float_equal(h->epochs[ep].train_loss, loss, 1e-12 * (1 + loss));
        a -= lr * ga;
        b -= lr * gb;
        c -= lr * gc;
        lr *= gamma;
        assert_float_equal(h->epochs[ep].lr, lr, 1e-15); /* the rate of the next step */
    }
    assert_float_equal(w[0], a, 1e-12);
    assert_float_equal(w[1], b, 1e-12);
    assert_float_equal(w[2], c, 1e-12);
    if (gamma == 1) assert_true(h->epochs[99].train_loss < 1e-3); /* it does fit: y is linear */
    dsc_history_destroy(h);
    dsc_mlp_destroy(m);
    dsc_dataset_destroy(ds);
}

static void test_tiny_network_known_loss(void **state)
{
    (void)state;
    tiny_network(NULL, 1);
    tiny_network("step(step_size=1, gamma=0.97)", 0.97);
}

static void test_xor(void **state)
{
    (void)state;
    const double x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0};
    dsc_dataset *ds;
    OK(dsc_dataset_create(&ds, 4, 2, x, y));
    const size_t sizes[] = {2, 8, 1};
    dsc_mlp *m = make(sizes, 3, DSC_ACT_TANH, DSC_F32, 11);
    OK(dsc_mlp_compile(m, "adam(lr=0.05)", NULL, DSC_LOSS_BCE));
    dsc_history *h = fit(m, ds, 300, 4);
    double loss, acc, p[4];
    OK(dsc_mlp_evaluate(m, ds, &loss, &acc));
    assert_true(acc == 1.0);
    assert_true(loss < 0.05);
    OK(dsc_mlp_predict(m, x, 4, p));
    assert_true(p[0] < 0.1 && p[1] > 0.9 && p[2] > 0.9 && p[3] < 0.1);
    assert_true(h->epochs[299].train_loss < h->epochs[0].train_loss / 10);
    dsc_history_destroy(h);
    dsc_mlp_destroy(m);
    dsc_dataset_destroy(ds);
}

static dsc_dataset *digits(void)
{
    dsc_dataset *ds;
    ds = load_data("digits.csv");
    return ds;
}

static void test_digits_held_out(void **state)
{
    (void)state;
    dsc_dataset *ds = digits(), *train, *test;
    OK(dsc_dataset_split(ds, 0.25, 0, 10, &train, &test));
    const size_t sizes[] = {64, 64, 10};
    dsc_mlp *m = make(sizes, 3, DSC_ACT_RELU, DSC_F32, 0);
    OK(dsc_mlp_compile(m, "adam(lr=1e-3)", NULL, DSC_LOSS_SOFTMAX_CE));
    dsc_history *h = fit(m, train, 30, 32);
    double loss, acc;
    OK(dsc_mlp_evaluate(m, test, &loss, &acc));
    if (!(acc >= 0.95)) fail_msg("digits held-out accuracy %.4f < 0.95", acc);
    double rmse = 0;
    OK(dsc_mlp_evaluate_rmse(m, test, NULL, NULL, &rmse));
    assert_true(isnan(rmse)); /* no RMSE for a classifier */
    assert_true(h->epochs[29].train_metric > 0.97);
    /* predict agrees with evaluate's accuracy */
    size_t n = dsc_dataset_rows(test), correct = 0;
    double *p = malloc(n * 10 * sizeof *p);
    OK(dsc_mlp_predict(m, dsc_dataset_x(test), n, p));
    for (size_t i = 0; i < n; i++) {
        size_t best = 0;
        double sum = 0;
        for (size_t j = 0; j < 10; j++) {
            sum += p[i * 10 + j];
            if (p[i * 10 + j] > p[i * 10 + best]) best = j;
        }
        assert_float_equal(sum, 1.0, 1e-5);
        correct += best == (size_t)dsc_dataset_y(test)[i];
    }
    assert_float_equal((double)correct / (double)n, acc, 1e-12);
    free(p);
    dsc_history_destroy(h);
    dsc_mlp_destroy(m);
    dsc_dataset_destroy(train);
    dsc_dataset_destroy(test);
    dsc_dataset_destroy(ds);
}

/* Same seeds, same history to the bit, with dropout and a validation split. */
static void test_reproducible_and_early_stopping(void **state)
{
    (void)state;
    dsc_dataset *ds;
    ds = load_data("wine.csv");
    dsc_history *h[2];
    double final_val[2];
    for (int run = 0; run < 2; run++) {
        const size_t sizes[] = {13, 16, 3};
        dsc_mlp_config c = dsc_mlp_config_default(sizes, 3);
        c.dropout = 0.2;
        c.seed = 5;
        dsc_mlp *m;
        OK(dsc_mlp_create(&m, &c));
        OK(dsc_mlp_compile(m, "adam(lr=0.3)", NULL, DSC_LOSS_SOFTMAX_CE)); /* too large: noisy */
        dsc_fit_config fc = dsc_fit_config_default();
        fc.epochs = 60;
        fc.batch_size = 16;
        fc.val_split = 0.3;
        fc.seed = 9;
        fc.patience = 5;
        OK(dsc_mlp_fit(m, ds, &fc, &h[run]));
        /* the restored weights are the best epoch's: evaluate on the same validation rows */
        dsc_dataset *tr, *va;
        OK(dsc_dataset_split(ds, 0.3, 9, 3, &tr, &va));
        OK(dsc_mlp_evaluate(m, va, &final_val[run], NULL));
        dsc_dataset_destroy(tr);
        dsc_dataset_destroy(va);
        dsc_mlp_destroy(m);
    }
    assert_int_equal(h[0]->count, h[1]->count);
    for (size_t e = 0; e < h[0]->count; e++) {
        assert_true(h[0]->epochs[e].train_loss == h[1]->epochs[e].train_loss);
        assert_true(h[0]->epochs[e].val_loss == h[1]->epochs[e].val_loss);
    }
    const dsc_history *g = h[0];
    assert_int_equal(g->train_rows + g->val_rows, 178);
    assert_int_equal(g->val_rows, 53); /* stratified: round(0.3 * 59, 71, 48) = 18 + 21 + 14 */
    assert_true(g->best_epoch >= 1);
    double best = g->epochs[g->best_epoch - 1].val_loss;
    for (size_t e = 0; e < g->count; e++) assert_true(g->epochs[e].val_loss >= best);
    if (g->stopped_early) assert_int_equal((int64_t)g->count, g->best_epoch + 5);
    assert_float_equal(final_val[0], best, 1e-6 * (1 + best));
    dsc_history_destroy(h[0]);
    dsc_history_destroy(h[1]);
    dsc_dataset_destroy(ds);
}

static void test_regression_diabetes(void **state)
{
    (void)state;
    dsc_dataset *ds, *train, *test;
    ds = load_data("diabetes.csv");
    OK(dsc_dataset_split(ds, 0.2, 1, 0, &train, &test));
    const size_t sizes[] = {10, 16, 1};
    dsc_mlp *m = make(sizes, 3, DSC_ACT_RELU, DSC_F64, 1);
    OK(dsc_mlp_compile(m, "adam(lr=1e-2)", NULL, DSC_LOSS_MSE));
    dsc_history_destroy(fit(m, train, 40, 32));
    double loss, r2, pred;
    OK(dsc_mlp_evaluate(m, test, &loss, &r2));
    if (!(r2 > 0.3)) fail_msg("diabetes R^2 %.3f", r2);
    OK(dsc_mlp_predict(m, dsc_dataset_x(test), 1, &pred)); /* in target units */
    assert_true(pred > 25 && pred < 346);
    /* the RMSE from evaluate's pass is the one of the predictions, with the same loss and R^2 */
    double loss2, r2b, rmse, sse = 0;
    OK(dsc_mlp_evaluate_rmse(m, test, &loss2, &r2b, &rmse));
    assert_memory_equal(&loss2, &loss, sizeof loss);
    assert_memory_equal(&r2b, &r2, sizeof r2);
    size_t n = dsc_dataset_rows(test);
    double *p = malloc(n * sizeof *p);
    OK(dsc_mlp_predict(m, dsc_dataset_x(test), n, p));
    for (size_t i = 0; i < n; i++) sse += (p[i] - dsc_dataset_y(test)[i]) * (p[i] - dsc_dataset_y(test)[i]);
    free(p);
    assert_float_equal(rmse, sqrt(sse / (double)n), 1e-9 * rmse);
    assert_true(rmse > 30 && rmse < 80); /* diabetes targets 25..346, R^2 > 0.3 */
    dsc_mlp_destroy(m);
    dsc_dataset_destroy(train);
    dsc_dataset_destroy(test);
    dsc_dataset_destroy(ds);
}

static void test_params_and_init(void **state)
{
    (void)state;
    const size_t sizes[] = {400, 300, 10};
    dsc_mlp *m = make(sizes, 3, DSC_ACT_RELU, DSC_F32, 123);
    assert_int_equal(dsc_mlp_param_count(m), 4);
    const dsc_param *p = dsc_mlp_params(m);
    assert_string_equal(p[0].name, "fc1.weight");
    assert_true(p[0].ndim == 2 && p[0].shape[0] == 300 && p[0].shape[1] == 400 && !(p[0].flags & DSC_NO_DECAY));
    assert_string_equal(p[1].name, "fc1.bias");
    assert_true(p[1].ndim == 1 && p[1].n == 300 && (p[1].flags & DSC_NO_DECAY));
    assert_string_equal(p[3].name, "fc2.bias");
    assert_int_equal(dsc_mlp_weight_count(m), 400 * 300 + 300 + 300 * 10 + 10);
    assert_ptr_equal(p[1].data, (float *)dsc_mlp_data(m) + 120000);
    assert_ptr_equal(p[2].grad, (float *)dsc_mlp_grad(m) + 120300);
    /* He normal: variance 2/fan_in; biases zero */
    const float *w = p[0].data;
    double s = 0, ss = 0;
    for (size_t i = 0; i < 120000; i++) {
        s += w[i];
        ss += (double)w[i] * w[i];
    }
    assert_float_equal(s / 120000, 0, 0.002);
    assert_float_equal(ss / 120000 / (2.0 / 400), 1, 0.02);
    for (size_t i = 0; i < 300; i++) assert_true(((const float *)p[1].data)[i] == 0);
    /* the same seed, the same weights */
    dsc_mlp *m2 = make(sizes, 3, DSC_ACT_RELU, DSC_F32, 123);
    assert_memory_equal(dsc_mlp_data(m), dsc_mlp_data(m2), dsc_mlp_weight_count(m) * sizeof(float));
    dsc_mlp_destroy(m2);
    dsc_mlp_destroy(m);

    /* Xavier uniform: |w| <= sqrt(6/(in+out)) and variance 2/(in+out) */
    dsc_mlp_config c = dsc_mlp_config_default(sizes, 3);
    c.init = DSC_INIT_XAVIER_UNIFORM;
    c.dtype = DSC_F64;
    OK(dsc_mlp_create(&m, &c));
    const double *wd = dsc_mlp_data(m), lim = sqrt(6.0 / 700);
    ss = 0;
    double mx = 0;
    for (size_t i = 0; i < 120000; i++) {
        ss += wd[i] * wd[i];
        mx = fmax(mx, fabs(wd[i]));
    }
    assert_true(mx <= lim && mx > 0.99 * lim);
    assert_float_equal(ss / 120000 / (2.0 / 700), 1, 0.02);
    dsc_mlp_destroy(m);
    for (int i = 0; i < DSC_INIT_COUNT; i++) {
        dsc_init back;
        OK(dsc_init_from_name(dsc_init_name((dsc_init)i), &back));
        assert_int_equal(back, i);
    }
}

/* Inverted dropout: masks of 0 and 1/(1-p) at about rate p, applied in the forward
 * pass; a unit dropped for the only row gets no gradient into its weights. */
static void test_dropout_masks(void **state)
{
    (void)state;
    const size_t sizes[] = {4, 400, 1};
    dsc_mlp_config c = dsc_mlp_config_default(sizes, 3);
    c.dropout = 0.25;
    c.dtype = DSC_F64;
    c.hidden = DSC_ACT_TANH;
    dsc_mlp *m;
    OK(dsc_mlp_create(&m, &c));
    OK(dsc_mlp_compile(m, "sgd", NULL, DSC_LOSS_MSE));
    OK(dsc__mlp_reserve(m, 1));
    const double x[4] = {0.5, -1, 2, 0.1}, y[1] = {3};
    dsc__mlp_gather(m, x, y, NULL, 1);
    const double *z = dsc__mlp_forward(m, 1, 1);
    dsc__tally t = {0};
    dsc__loss_eval(DSC_LOSS_MSE, DSC_F64, z, m->ybuf, 1, 1, m->delta[0], 1.0, &t);
    dsc__mlp_backward(m, 1, 1);
    /* fc1, tanh1 (in fc1's buffer), dropout1 */
    const dsc__layer *l = &m->layer[0], *drop = &m->layer[2];
    assert_int_equal(drop->kind, DSC__DROPOUT);
    const double *a = l->y, *h = drop->y, *mask = drop->aux, *gw = dsc_mlp_grad(m);
    const double *gb = (const double *)dsc_mlp_grad(m) + l->b_off;
    size_t dropped = 0;
    for (size_t j = 0; j < 400; j++) {
        assert_true(mask[j] == 0 || mask[j] == 1 / 0.75);
        assert_true(h[j] == a[j] * mask[j]);
        if (mask[j] != 0) continue;
        dropped++;
        assert_true(gb[j] == 0);
        for (size_t i = 0; i < 4; i++) assert_true(gw[j * 4 + i] == 0);
    }
    assert_true(dropped > 70 && dropped < 130); /* 100 expected */
    assert_true(gb[0] != 0 || mask[0] == 0);
    /* evaluation ignores the masks: the output equals the one with dropout off */
    double p1, p2;
    OK(dsc_mlp_predict(m, x, 1, &p1));
    dsc__mlp_gather(m, x, NULL, NULL, 1);
    p2 = *(const double *)dsc__mlp_forward(m, 1, 0);
    assert_true(p1 == p2);
    dsc_mlp_destroy(m);
}

static void test_errors(void **state)
{
    (void)state;
    dsc_mlp *m = NULL;
    dsc_mlp_config c = dsc_mlp_config_default((const size_t[]){3, 0, 2}, 3);
    assert_int_equal(dsc_mlp_create(&m, &c), DSC_ERR_RANGE);
    assert_non_null(strstr(dsc_last_error(), "sizes[1]"));
    c = dsc_mlp_config_default((const size_t[]){3, 4, 2}, 3);
    c.dropout = 1;
    assert_int_equal(dsc_mlp_create(&m, &c), DSC_ERR_RANGE);
    assert_non_null(strstr(dsc_last_error(), "dropout must be in [0, 1), got 1"));
    c.dropout = 0;
    c.leaky_slope = -1;
    assert_int_equal(dsc_mlp_create(&m, &c), DSC_ERR_RANGE);
    c.leaky_slope = 0.01;
    OK(dsc_mlp_create(&m, &c));
    assert_int_equal(dsc_mlp_compile(m, "adam", NULL, DSC_LOSS_BCE), DSC_ERR_MISMATCH);
    assert_int_equal(dsc_mlp_compile(m, "nosuch", NULL, DSC_LOSS_SOFTMAX_CE), DSC_ERR_SPEC);
    double loss;
    const double x[3] = {1, 2, 3}, bad[1] = {2};
    assert_int_equal(dsc_mlp_loss_grad(m, x, bad, 1, &loss), DSC_ERR_ARG); /* not compiled */
    OK(dsc_mlp_compile(m, "adam", NULL, DSC_LOSS_SOFTMAX_CE));
    assert_int_equal(dsc_mlp_loss_grad(m, x, bad, 1, &loss), DSC_ERR_ARG);
    assert_non_null(strstr(dsc_last_error(), "not a class label in 0..1"));
    dsc_dataset *ds;
    OK(dsc_dataset_create(&ds, 1, 2, x, (const double[]){0}));
    assert_int_equal(dsc_mlp_evaluate(m, ds, &loss, NULL), DSC_ERR_MISMATCH);
    dsc_fit_config fc = dsc_fit_config_default();
    fc.patience = 3;
    assert_int_equal(dsc_mlp_fit(m, ds, &fc, NULL), DSC_ERR_ARG);
    assert_int_equal(dsc_blas_set_threads(0), DSC_ERR_RANGE);
    dsc_dataset_destroy(ds);
    dsc_mlp_destroy(m);
    dsc_blas_info info = dsc_blas_get_info();
    assert_string_equal(info.name, "OpenBLAS");
    assert_non_null(info.core);
    assert_true(info.threads >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients_every_activation),
        cmocka_unit_test(test_gradients_every_loss),
        cmocka_unit_test(test_loss_values),
        cmocka_unit_test(test_tiny_network_known_loss),
        cmocka_unit_test(test_xor),
        cmocka_unit_test(test_digits_held_out),
        cmocka_unit_test(test_reproducible_and_early_stopping),
        cmocka_unit_test(test_regression_diabetes),
        cmocka_unit_test(test_params_and_init),
        cmocka_unit_test(test_dropout_masks),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
