/* test_cnn.c: convolutional networks. Every layer's forward and backward pass against
 * PyTorch's (tests/golden/cnn.txt, made by tests/golden/make_cnn.py) in float32 and
 * float64, and against central differences; a whole small CNN trained four Adam
 * steps against PyTorch's losses and weights (float64, 1e-10); the errors that name
 * a layer; checkpoints with batchnorm buffers, bit-exact resume; digits as images. */
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
#include "nn/nn.h" /* the layers' passes */
#include "nn_fixture.h"

/* ---------------------------------------------------------------- golden files */

#define MAX_VALUES 4096

typedef struct golden_line {
    char key[32];
    double v[MAX_VALUES];
    size_t n;
} golden_line;

/* A case: its header line and its value lines up to "end". */
typedef struct golden_case {
    char head[512];
    golden_line lines[12];
    int count;
} golden_case;

/* Reads the next case of f; 0 at the end of the file. */
static int read_case(FILE *f, golden_case *c)
{
    static char buf[1 << 20];
    c->count = 0;
    c->head[0] = '\0';
    while (fgets(buf, sizeof buf, f)) {
        if (buf[0] == '#') continue;
        buf[strcspn(buf, "\n")] = '\0';
        if (!strcmp(buf, "end")) return 1;
        if (!c->head[0]) {
            assert_true(strlen(buf) < sizeof c->head);
            memcpy(c->head, buf, strlen(buf) + 1);
            continue;
        }
        assert_true(c->count < 12);
        golden_line *l = &c->lines[c->count++];
        char *p = buf, *end;
        size_t k = strcspn(p, " ");
        assert_true(k < sizeof l->key);
        memcpy(l->key, p, k);
        l->key[k] = '\0';
        p += k;
        l->n = 0;
        for (double v = strtod(p, &end); end != p; v = strtod(p, &end)) {
            assert_true(l->n < MAX_VALUES);
            l->v[l->n++] = v;
            p = end;
        }
    }
    return 0;
}

static const golden_line *get(const golden_case *c, const char *key)
{
    for (int i = 0; i < c->count; i++)
        if (!strcmp(c->lines[i].key, key)) return &c->lines[i];
    return NULL;
}

static FILE *open_golden(void)
{
    char file[512];
    snprintf(file, sizeof file, "%s/golden/cnn.txt", DSC_TEST_DATA);
    FILE *f = fopen(file, "r");
    assert_non_null(f);
    return f;
}

/* Typed buffers: values in dt, read back as doubles. */
static void *typed(dsc_dtype dt, const double *v, size_t n)
{
    void *p = calloc(n ? n : 1, dsc_dtype_size(dt));
    assert_non_null(p);
    for (size_t i = 0; v && i < n; i++) {
        if (dt == DSC_F32) ((float *)p)[i] = (float)v[i];
        else ((double *)p)[i] = v[i];
    }
    return p;
}

static double at(dsc_dtype dt, const void *p, size_t i)
{
    return dt == DSC_F32 ? ((const float *)p)[i] : ((const double *)p)[i];
}

/* |got - want| <= tol * (1 + |want|) elementwise. */
static void assert_close(const char *what, dsc_dtype dt, const void *got, const golden_line *want, double tol)
{
    assert_non_null(want);
    for (size_t i = 0; i < want->n; i++) {
        double g = at(dt, got, i), w = want->v[i];
        if (!(fabs(g - w) <= tol * (1 + fabs(w)))) fail_msg("%s[%zu]: got %.17g, want %.17g", what, i, g, w);
    }
}

/* ---------------------------------------------------------------- the layers */

/* One layer case through the layer's own passes. */
static void run_layer_case(const golden_case *c)
{
    char spec[128], dts[8], mode[8];
    size_t ch, h, w, n;
    assert_int_equal(sscanf(c->head, "layer %127s %zu %zu %zu %zu %7s %7s", spec, &ch, &h, &w, &n, dts, mode), 7);
    dsc_dtype dt = !strcmp(dts, "f32") ? DSC_F32 : DSC_F64;
    int train = !strcmp(mode, "train");
    double tol = dt == DSC_F32 ? 2e-5 : 1e-12;
    dsc_mlp_config cfg = dsc_mlp_config_model(spec, ch, h, w);
    dsc__layer l;
    int nl, np;
    size_t nw, ns;
    OK(dsc__net_plan(&cfg, &l, &nl, &nw, &ns, &np));
    assert_int_equal(nl, 1);
    const golden_line *gx = get(c, "x"), *gw = get(c, "w"), *gb = get(c, "b");
    assert_int_equal(gx->n, n * l.in);
    void *x = typed(dt, gx->v, gx->n), *y = typed(dt, NULL, n * l.out), *dx = typed(dt, NULL, n * l.in);
    void *d = typed(dt, get(c, "dy")->v, n * l.out);
    void *wt = gw ? typed(dt, gw->v, gw->n) : NULL, *b = gb ? typed(dt, gb->v, gb->n) : NULL;
    void *gwt = gw ? typed(dt, NULL, gw->n) : NULL, *gbt = gb ? typed(dt, NULL, gb->n) : NULL;
    void *stats = NULL, *col = NULL;
    if (l.kind == DSC__CONV) {
        col = typed(dt, NULL, dsc__conv_scratch(&l, 2));
        dsc__conv_forward(dt, &l, wt, b, x, y, col, 2, n);
        dsc__conv_backward(dt, &l, wt, x, d, gwt, gbt, dx, col, 2, n);
    } else if (l.kind == DSC__MAXPOOL || l.kind == DSC__AVGPOOL) {
        l.aux = calloc(n * l.out, sizeof(size_t));
        dsc__pool_forward(dt, &l, x, y, 2, n);
        dsc__pool_backward(dt, &l, d, dx, 2, n);
    } else {
        assert_int_equal(l.kind, DSC__BATCHNORM);
        double s[2 * 64];
        assert_true(l.oc <= 64);
        memcpy(s, get(c, "rm")->v, l.oc * sizeof(double));
        memcpy(s + l.oc, get(c, "rv")->v, l.oc * sizeof(double));
        stats = typed(dt, s, 2 * l.oc);
        l.aux = typed(dt, NULL, n * l.out);
        l.aux2 = typed(dt, NULL, l.oc);
        dsc__bn_forward(dt, &l, wt, b, stats, x, y, n, train);
        dsc__bn_backward(dt, &l, wt, d, gwt, gbt, dx, n, train);
        assert_close("running_mean", dt, stats, get(c, "rm_after"), tol);
        assert_close("running_var", dt, (char *)stats + l.oc * dsc_dtype_size(dt), get(c, "rv_after"), tol);
        assert_int_equal(l.tracked, train);
    }
    assert_close("y", dt, y, get(c, "y"), tol);
    assert_close("dx", dt, dx, get(c, "dx"), tol);
    if (gw) assert_close("gw", dt, gwt, get(c, "gw"), tol);
    if (gb) assert_close("gb", dt, gbt, get(c, "gb"), tol);
    free(x), free(y), free(dx), free(d), free(wt), free(b), free(gwt), free(gbt), free(stats), free(col);
    free(l.aux), free(l.aux2);
}

static void test_layers_against_torch(void **state)
{
    (void)state;
    FILE *f = open_golden();
    golden_case *c = malloc(sizeof *c);
    assert_non_null(c);
    int cases = 0;
    while (read_case(f, c))
        if (!strncmp(c->head, "layer ", 6)) {
            run_layer_case(c);
            cases++;
        }
    assert_int_equal(cases, 26); /* 13 settings, f32 and f64 */
    free(c);
    fclose(f);
}

/* ---------------------------------------------------------------- a whole network */

static void test_network_against_torch(void **state)
{
    (void)state;
    FILE *f = open_golden();
    golden_case *c = malloc(sizeof *c);
    assert_non_null(c);
    while (read_case(f, c) && strncmp(c->head, "net ", 4)) continue;
    char spec[512], opt[64];
    size_t ch, h, w, n, classes, steps;
    assert_int_equal(sscanf(c->head, "net %511s %zu %zu %zu %zu %zu %63s %zu", spec, &ch, &h, &w, &n, &classes, opt,
                            &steps), 8);
    dsc_mlp_config cfg = dsc_mlp_config_model(spec, ch, h, w);
    cfg.dtype = DSC_F64;
    dsc_mlp *m;
    OK(dsc_mlp_create(&m, &cfg));
    const golden_line *p0 = get(c, "params");
    assert_int_equal(dsc_mlp_weight_count(m), p0->n);
    memcpy(dsc_mlp_data(m), p0->v, p0->n * sizeof(double));
    assert_string_equal(dsc_mlp_params(m)[0].name, "conv1.weight");
    assert_string_equal(dsc_mlp_params(m)[2].name, "bn1.weight");
    OK(dsc_mlp_compile(m, opt, NULL, DSC_LOSS_SOFTMAX_CE));
    dsc_dataset *ds;
    OK(dsc_dataset_create(&ds, n, ch * h * w, get(c, "x")->v, get(c, "y")->v));
    dsc_fit_config fc = dsc_fit_config_default();
    fc.epochs = (int64_t)steps;
    fc.batch_size = n; /* one step an epoch */
    fc.shuffle = 0;
    fc.standardize = 0;
    dsc_history *hist;
    OK(dsc_mlp_fit(m, ds, &fc, &hist));
    const golden_line *losses = get(c, "losses");
    for (size_t i = 0; i < steps; i++) assert_true(fabs(hist->epochs[i].train_loss - losses->v[i]) <= 1e-10);
    const golden_line *after = get(c, "params_after"), *buffers = get(c, "buffers_after");
    const double *p = dsc_mlp_data(m);
    for (size_t i = 0; i < after->n; i++)
        if (!(fabs(p[i] - after->v[i]) <= 1e-10)) fail_msg("parameter %zu: %.17g, torch %.17g", i, p[i], after->v[i]);
    assert_int_equal(m->nstats, buffers->n);
    for (size_t i = 0; i < buffers->n; i++) assert_true(fabs(((double *)m->stats)[i] - buffers->v[i]) <= 1e-10);
    dsc_history_destroy(hist);
    dsc_dataset_destroy(ds);
    dsc_mlp_destroy(m);
    free(c);
    fclose(f);
}

/* ---------------------------------------------------------------- central differences */

#define GRAD_NET "conv2d(3,k=3,stride=2,pad=1),batchnorm2d,tanh,maxpool2d(2,stride=1),conv2d(4,k=2,pad=1),sigmoid," \
                 "avgpool2d(3,stride=2,pad=1),dropout(0.3),flatten,dense(5),batchnorm,elu,dense(3)"

/* The mean softmax cross-entropy of the rows in x0 in training (train) or evaluation mode, and its
 * gradient in the model's gradient buffer when grad. */
static double loss_at(dsc_mlp *m, const double *x, const double *y, size_t n, int train, int grad)
{
    dsc__mlp_gather(m, x, y, NULL, n);
    const void *z = dsc__mlp_forward(m, n, train);
    dsc__tally t = {0};
    dsc__loss_eval(m->loss, DSC_F64, z, m->ybuf, n, m->outputs, m->delta[0], 1.0 / (double)n, &t);
    if (grad) dsc__mlp_backward(m, n, train);
    return t.loss / (double)n;
}

/* Every parameter's derivative against central differences, in evaluation mode (the
 * running statistics, no dropout) and in training mode (the batch's statistics). */
static void check_differences(const char *spec, size_t ch, size_t h, size_t w, size_t n, int train)
{
    dsc_mlp_config cfg = dsc_mlp_config_model(spec, ch, h, w);
    cfg.dtype = DSC_F64;
    cfg.init = DSC_INIT_XAVIER_UNIFORM;
    cfg.seed = 3;
    dsc_mlp *m;
    OK(dsc_mlp_create(&m, &cfg));
    OK(dsc_mlp_compile(m, "sgd", NULL, DSC_LOSS_SOFTMAX_CE));
    OK(dsc__mlp_reserve(m, n));
    size_t in = m->inputs;
    double *x = malloc(n * in * sizeof *x), y[16];
    for (size_t i = 0; i < n * in; i++) x[i] = sin(0.37 * (double)i + 0.2) * 1.5;
    for (size_t r = 0; r < n; r++) y[r] = (double)(r % m->outputs);
    /* running statistics that differ from the initial 0 and 1 */
    double *s = m->stats;
    for (size_t i = 0; i < m->nstats; i++) s[i] = 0.3 + 0.1 * (double)(i % 5);
    loss_at(m, x, y, n, train, 1);
    size_t nw = dsc_mlp_weight_count(m);
    double *g = malloc(nw * sizeof *g), *p = dsc_mlp_data(m);
    memcpy(g, dsc_mlp_grad(m), nw * sizeof *g);
    for (size_t i = 0; i < nw; i++) {
        double keep = p[i], e = 1e-6;
        p[i] = keep + e;
        double up = loss_at(m, x, y, n, train, 0);
        p[i] = keep - e;
        double down = loss_at(m, x, y, n, train, 0);
        p[i] = keep;
        double num = (up - down) / (2 * e);
        if (!(fabs(num - g[i]) <= 1e-6 * (1 + fabs(num))))
            fail_msg("%s (%s): parameter %zu: analytic %.12g, differences %.12g", spec, train ? "train" : "eval", i,
                     g[i], num);
    }
    free(g);
    free(x);
    dsc_mlp_destroy(m);
}

static void test_central_differences(void **state)
{
    (void)state;
    check_differences(GRAD_NET, 2, 9, 7, 4, 0);
    /* training mode: the batch statistics (dropout off: its masks would change with every pass) */
    check_differences("conv2d(3,k=3,stride=2,pad=1),batchnorm2d,tanh,maxpool2d(2,stride=1),conv2d(4,k=2,pad=1),"
                      "sigmoid,avgpool2d(3,stride=2,pad=1),flatten,dense(5),batchnorm,elu,dense(3)",
                      2, 9, 7, 4, 1);
    check_differences("conv2d(2,k=3),relu,flatten,dense(3)", 1, 5, 5, 1, 0); /* batch 1 */
    /* the MLP as a model: the same path as dsc_mlp_config_default's */
    check_differences("dense(6),tanh,dense(4),softmax,dense(2)", 5, 0, 0, 3, 0);
}

/* ---------------------------------------------------------------- errors */

static void expect_error(const char *spec, size_t c, size_t h, size_t w, dsc_status want, const char *text)
{
    dsc_mlp_config cfg = dsc_mlp_config_model(spec, c, h, w);
    dsc_mlp *m = (dsc_mlp *)&cfg; /* untouched on failure */
    assert_int_equal(dsc_mlp_create(&m, &cfg), want);
    assert_ptr_equal(m, (dsc_mlp *)&cfg);
    if (!strstr(dsc_last_error(), text)) fail_msg("'%s': got '%s', want '%s'", spec, dsc_last_error(), text);
}

static void test_errors_name_the_layer(void **state)
{
    (void)state;
    expect_error("conv2d(4,k=9),flatten,dense(2)", 1, 8, 8, DSC_ERR_MISMATCH,
                 "conv1: kernel 9 is larger than its input's height 8");
    expect_error("conv2d(4,k=3),relu,maxpool2d(2),conv2d(8,k=3),maxpool2d(4),flatten,dense(2)", 1, 10, 10,
                 DSC_ERR_MISMATCH, "maxpool2: kernel 4 is larger than its input's height 2");
    expect_error("conv2d(4,k=3),dense(2)", 1, 8, 8, DSC_ERR_MISMATCH, "fc1 takes flat rows, got 4x6x6 images");
    expect_error("dense(4),conv2d(4,k=3),flatten,dense(2)", 16, 0, 0, DSC_ERR_MISMATCH,
                 "conv1 takes C x H x W images, got flat rows of 4 features");
    expect_error("conv2d(4,k=3),batchnorm1d,flatten,dense(2)", 1, 8, 8, DSC_ERR_MISMATCH,
                 "bn1: batchnorm1d takes flat rows, got 4x6x6");
    expect_error("conv2d(4,k=3)", 1, 8, 8, DSC_ERR_MISMATCH, "end in flat rows (add flatten)");
    expect_error("conv2d(4,k=3),flatten,dense(2),frobnicate", 1, 8, 8, DSC_ERR_SPEC, "unknown layer 'frobnicate'");
    expect_error("conv2d(4,k=3,pd=1),flatten,dense(2)", 1, 8, 8, DSC_ERR_SPEC, "conv2d has no argument 'pd'");
    expect_error("conv2d(k=3),flatten,dense(2)", 1, 8, 8, DSC_ERR_SPEC, "conv2d needs out");
    expect_error("conv2d(4,k=3),flatten,dropout(1),dense(2)", 1, 8, 8, DSC_ERR_RANGE, "dropout1: p must be in [0, 1)");
    expect_error("conv2d(4,k=3),flatten,dense(2)", 1, 0, 8, DSC_ERR_RANGE, "the input shape must be");
    expect_error("conv2d(4,k=3,,flatten,dense(2)", 1, 8, 8, DSC_ERR_SPEC, "conv2d: empty item");
}

/* ---------------------------------------------------------------- checkpoints */

#define SMALL_CNN "conv2d(8,k=3,pad=1),relu,batchnorm2d,maxpool2d(2),flatten,dense(32),relu,dense(10)"

/* Digits (8x8 pixels) as 1x8x8 images. */
static dsc_dataset *digits(size_t rows)
{
    dsc_dataset *all = load_data("digits.csv"), *part;
    size_t *idx = malloc(rows * sizeof *idx);
    for (size_t i = 0; i < rows; i++) idx[i] = i;
    OK(dsc_dataset_subset(all, idx, rows, &part));
    free(idx);
    dsc_dataset_destroy(all);
    return part;
}

static dsc_mlp *small_cnn(dsc_dtype dt)
{
    dsc_mlp_config cfg = dsc_mlp_config_model(SMALL_CNN, 1, 8, 8);
    cfg.dtype = dt;
    cfg.seed = 7;
    dsc_mlp *m;
    OK(dsc_mlp_create(&m, &cfg));
    OK(dsc_mlp_compile(m, "radam(lr=0.01)", NULL, DSC_LOSS_SOFTMAX_CE));
    return m;
}

static void test_checkpoint_resume_bit_exact(void **state)
{
    (void)state;
    dsc_dataset *ds = digits(300);
    dsc_fit_config fc = dsc_fit_config_default();
    fc.batch_size = 32;
    fc.val_split = 0.2;
    fc.patience = 5;
    fc.seed = 4;
    dsc_mlp *straight = small_cnn(DSC_F32), *first = small_cnn(DSC_F32), *loaded;
    fc.epochs = 4;
    OK(dsc_mlp_fit(straight, ds, &fc, NULL));
    fc.epochs = 2;
    OK(dsc_mlp_fit(first, ds, &fc, NULL));
    OK(dsc_mlp_save(first, path, NULL));
    OK(dsc_mlp_load(&loaded, path));
    assert_string_equal(dsc_mlp_get_config(loaded)->model, SMALL_CNN);
    assert_int_equal(dsc_mlp_get_config(loaded)->shape[1], 8);
    assert_memory_equal(loaded->stats, first->stats, first->nstats * sizeof(float));
    assert_int_equal(loaded->layer[2].tracked, first->layer[2].tracked);
    assert_true(first->layer[2].tracked == 16); /* 2 epochs of 8 batches (240 rows of 32) */
    fc.resume = 1;
    OK(dsc_mlp_fit(loaded, ds, &fc, NULL));
    assert_memory_equal(dsc_mlp_data(loaded), dsc_mlp_data(straight), dsc_mlp_weight_count(straight) * sizeof(float));
    assert_memory_equal(loaded->stats, straight->stats, straight->nstats * sizeof(float));
    assert_same_state(dsc_mlp_optimizer(loaded), dsc_mlp_optimizer(straight), sizeof(float));
    dsc_mlp_destroy(straight);
    dsc_mlp_destroy(first);
    dsc_mlp_destroy(loaded);
    dsc_dataset_destroy(ds);
}

/* A convolution's gradients have the same bits on one thread as on several: the
 * weights' gradient is summed in fixed runs of rows whatever the threads. */
static void test_conv_bits_independent_of_threads(void **state)
{
    (void)state;
    dsc_mlp_config cfg = dsc_mlp_config_model("conv2d(4,k=3,pad=1)", 2, 6, 5);
    dsc__layer l;
    int nl, np;
    size_t nw, ns, n = 13;
    OK(dsc__net_plan(&cfg, &l, &nl, &nw, &ns, &np));
    double *v = malloc(n * l.out * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < n * l.out; i++) v[i] = sin(0.37 * (double)i) * 3;
    void *x = typed(DSC_F32, v, n * l.in), *d = typed(DSC_F32, v, n * l.out), *w = typed(DSC_F32, v, nw);
    void *g[2], *dx[2];
    OK(dsc_blas_set_threads(2));
    for (size_t t = 1; t <= 2; t++) {
        void *scratch = typed(DSC_F32, NULL, dsc__conv_scratch(&l, t));
        g[t - 1] = typed(DSC_F32, NULL, nw), dx[t - 1] = typed(DSC_F32, NULL, n * l.in);
        dsc__conv_backward(DSC_F32, &l, w, x, d, g[t - 1], (float *)g[t - 1] + nw - l.oc, dx[t - 1], scratch, t, n);
        free(scratch);
    }
    assert_memory_equal(g[0], g[1], nw * sizeof(float));
    assert_memory_equal(dx[0], dx[1], n * l.in * sizeof(float));
    free(v), free(x), free(d), free(w), free(g[0]), free(g[1]), free(dx[0]), free(dx[1]);
}

/* A whole network's pass runs its rows on OpenMP threads and keeps OpenBLAS's threads
 * out of it: its loss and gradient have the same bits on 1 and 2 threads (every layer
 * split by rows, the activations' too), and the BLAS has its threads back after it. */
static void test_network_bits_independent_of_threads(void **state)
{
    (void)state;
    dsc_mlp_config cfg = dsc_mlp_config_model("conv2d(3,k=3,pad=1),relu,maxpool2d(2),conv2d(4,k=3),tanh,flatten,"
                                              "dense(6),relu,dense(3)",
                                              2, 10, 9);
    cfg.seed = 5;
    dsc_mlp *m;
    OK(dsc_mlp_create(&m, &cfg));
    OK(dsc_mlp_compile(m, "sgd", NULL, DSC_LOSS_SOFTMAX_CE));
    size_t n = 11, in = m->inputs, nw = dsc_mlp_weight_count(m);
    double *x = malloc(n * in * sizeof *x), y[11], loss[2];
    float *g[2];
    for (size_t i = 0; i < n * in; i++) x[i] = sin(0.29 * (double)i + 0.1) * 2;
    for (size_t r = 0; r < n; r++) y[r] = (double)(r % 3);
    for (int t = 1; t <= 2; t++) {
        OK(dsc_blas_set_threads(t));
        OK(dsc_mlp_loss_grad(m, x, y, n, &loss[t - 1]));
        assert_int_equal(dsc_blas_get_info().threads, t);
        g[t - 1] = malloc(nw * sizeof(float));
        memcpy(g[t - 1], dsc_mlp_grad(m), nw * sizeof(float));
    }
    assert_memory_equal(&loss[0], &loss[1], sizeof loss[0]);
    assert_memory_equal(g[0], g[1], nw * sizeof(float));
    free(x), free(g[0]), free(g[1]);
    dsc_mlp_destroy(m);
}

/* maxpool2d(2) has its own unrolled loop: the same rules as PyTorch's (and as the
 * general loop's): the first of equal maxima, a NaN winning over numbers and the last
 * NaN over earlier ones; the gradient goes where the maximum was. */
static void test_maxpool_ties_and_nan(void **state)
{
    (void)state;
    for (int f = 0; f < 2; f++) {
        dsc_dtype dt = f ? DSC_F64 : DSC_F32;
        dsc_mlp_config cfg = dsc_mlp_config_model("maxpool2d(2)", 1, 2, 4);
        dsc__layer l;
        int nl, np;
        size_t nw, ns;
        OK(dsc__net_plan(&cfg, &l, &nl, &nw, &ns, &np));
        /* windows [1 3; 3 2] and [NaN 5; NaN 2] */
        const double xv[8] = {1, 3, NAN, 5, 3, 2, NAN, 2}, dv[2] = {10, 20};
        void *x = typed(dt, xv, 8), *y = typed(dt, NULL, 2), *d = typed(dt, dv, 2), *dx = typed(dt, NULL, 8);
        l.aux = calloc(2, sizeof(size_t));
        dsc__pool_forward(dt, &l, x, y, 1, 1);
        dsc__pool_backward(dt, &l, d, dx, 1, 1);
        assert_int_equal(((size_t *)l.aux)[0], 1);
        assert_int_equal(((size_t *)l.aux)[1], 6);
        assert_true(at(dt, y, 0) == 3 && isnan(at(dt, y, 1)));
        const double want[8] = {0, 10, 0, 0, 0, 0, 20, 0};
        for (size_t i = 0; i < 8; i++) assert_true(at(dt, dx, i) == want[i]);
        free(x), free(y), free(d), free(dx), free(l.aux);
    }
}

/* The seed's experiment in small: digits as 1x8x8 images, RAdam, held-out accuracy. */
static void test_digits_as_images(void **state)
{
    (void)state;
    dsc_dataset *all = load_data("digits.csv"), *train, *test;
    OK(dsc_dataset_split(all, 0.2, 0, 10, &train, &test));
    dsc_mlp *m = small_cnn(DSC_F32);
    dsc_fit_config fc = dsc_fit_config_default();
    fc.epochs = 12;
    fc.batch_size = 32;
    OK(dsc_mlp_fit(m, train, &fc, NULL));
    double loss, acc;
    OK(dsc_mlp_evaluate(m, test, &loss, &acc));
    if (!(acc >= 0.95)) fail_msg("held-out accuracy %g", acc);
    dsc_mlp_destroy(m);
    dsc_dataset_destroy(all);
    dsc_dataset_destroy(train);
    dsc_dataset_destroy(test);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layers_against_torch),
        cmocka_unit_test(test_network_against_torch),
        cmocka_unit_test(test_central_differences),
        cmocka_unit_test(test_errors_name_the_layer),
        cmocka_unit_test_setup_teardown(test_checkpoint_resume_bit_exact, make_path, remove_path),
        cmocka_unit_test(test_digits_as_images),
        cmocka_unit_test(test_maxpool_ties_and_nan),
        cmocka_unit_test(test_conv_bits_independent_of_threads),
        cmocka_unit_test(test_network_bits_independent_of_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
