/* test_train_controls.c: gradient clipping against torch.nn.utils (golden, from
 * tests/golden/clip.txt), the optimizer's clipping against the standalone functions,
 * the non-finite policies with a NaN in one element of one tensor, and gradient
 * accumulation against one step on the mean gradient. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "descent.h"

#define NT 3
#define NE 12
static const size_t sizes[NT] = {5, 3, 4};

/* Three tensors over one buffer of NE gradients (and NE parameters), f32 or f64. */
typedef struct set {
    double gd[NE], xd[NE];
    float gf[NE], xf[NE];
    dsc_param p[NT];
} set;

static void set_init(set *s, dsc_dtype dt, const double *g)
{
    size_t k = 0;
    for (int i = 0; i < NT; i++) {
        s->p[i] = (dsc_param){.data = dt == DSC_F64 ? (void *)(s->xd + k) : (void *)(s->xf + k),
                              .grad = dt == DSC_F64 ? (void *)(s->gd + k) : (void *)(s->gf + k),
                              .n = sizes[i], .dtype = dt};
        k += sizes[i];
    }
    for (int e = 0; e < NE; e++) {
        s->gd[e] = g[e];
        s->gf[e] = (float)g[e];
        s->xd[e] = 0;
        s->xf[e] = 0;
    }
}

static double grad(const set *s, dsc_dtype dt, int e) { return dt == DSC_F64 ? s->gd[e] : s->gf[e]; }

static void close_to(const char *what, double got, double want, double rel)
{
    if (got == want || fabs(got - want) <= rel * fabs(want)) return;
    fail_msg("%s: %.17g, want %.17g", what, got, want);
}

static int split(char *text, const char *sep, double *out, int max)
{
    int n = 0;
    for (char *t = strtok(text, sep); t && n < max; t = strtok(NULL, sep)) out[n++] = strtod(t, NULL);
    return n;
}

static void test_clip_golden(void **state)
{
    (void)state;
    FILE *f = fopen(DSC_TEST_DATA "/golden/clip.txt", "r");
    assert_non_null(f);
    char line[4096];
    double input[NE];
    int have_input = 0, lines = 0;
    while (fgets(line, sizeof line, f)) {
        char *fld[6] = {0};
        int nf = 0;
        for (char *s = line; s && nf < 6; nf++) {
            fld[nf] = s;
            s = strchr(s, '\t');
            if (s) *s++ = '\0';
        }
        if (!strcmp(fld[0], "input")) {
            assert_int_equal(split(fld[2], " \n", input, NE), NE);
            have_input = 1;
            continue;
        }
        if (fld[0][0] == '#') continue;
        assert_true(have_input);
        dsc_dtype dt = strcmp(fld[1], "f64") ? DSC_F32 : DSC_F64;
        double rel = dt == DSC_F64 ? 1e-12 : 2e-6, want[NE];
        set s;
        set_init(&s, dt, input);
        if (!strcmp(fld[0], "norm")) {
            double p = strtod(fld[2], NULL), max = strtod(fld[3], NULL), total = NAN;
            assert_int_equal(split(fld[5], " \n", want, NE), NE);
            assert_int_equal(dsc_clip_grad_norm(s.p, NT, max, p, &total), DSC_OK);
            close_to("total norm", total, strtod(fld[4], NULL), rel);
        } else {
            assert_int_equal(split(fld[3], " \n", want, NE), NE);
            assert_int_equal(dsc_clip_grad_value(s.p, NT, strtod(fld[2], NULL)), DSC_OK);
        }
        for (int e = 0; e < NE; e++) close_to(fld[0], grad(&s, dt, e), want[e], rel);
        lines++;
    }
    fclose(f);
    assert_int_equal(lines, 24);
}

static const double G[NE] = {0.5, -1.5, 2.0, 0.25, -0.75, 3.0, 1.0, -2.0, 0.125, 0.5, -0.5, 1.0};

static void test_clip_per_tensor_and_errors(void **state)
{
    (void)state;
    set s;
    set_init(&s, DSC_F64, G);
    double norms[NT];
    assert_int_equal(dsc_clip_grad_norm_per_tensor(s.p, NT, 1.0, 2.0, norms), DSC_OK);
    size_t k = 0;
    for (int i = 0; i < NT; i++) {
        double ss = 0;
        for (size_t e = k; e < k + sizes[i]; e++) ss += G[e] * G[e];
        close_to("tensor norm", norms[i], sqrt(ss), 1e-15);
        double c = 1.0 / (sqrt(ss) + 1e-6);
        for (size_t e = k; e < k + sizes[i]; e++) close_to("per-tensor", s.gd[e], c < 1 ? G[e] * c : G[e], 1e-15);
        k += sizes[i];
    }
    /* a NaN: the norm says so and nothing changes (torch's error_if_nonfinite) */
    set_init(&s, DSC_F64, G);
    s.gd[6] = NAN;
    double total = 0;
    assert_int_equal(dsc_clip_grad_norm(s.p, NT, 1.0, 2.0, &total), DSC_ERR_NONFINITE);
    assert_true(isnan(total) && s.gd[0] == G[0]);
    assert_int_equal(dsc_clip_grad_value(s.p, NT, 0.1), DSC_OK);
    assert_true(isnan(s.gd[6]) && s.gd[0] == 0.1 && s.gd[1] == -0.1);
    assert_int_equal(dsc_clip_grad_norm(s.p, NT, -1, 2.0, NULL), DSC_ERR_RANGE);
    assert_non_null(strstr(dsc_last_error(), "max_norm must be in [0, inf)"));
    assert_int_equal(dsc_clip_grad_norm(s.p, NT, 1, 0, NULL), DSC_ERR_RANGE);
    assert_int_equal(dsc_clip_grad_value(s.p, NT, NAN), DSC_ERR_RANGE);
    assert_int_equal(dsc_clip_grad_norm(NULL, 2, 1, 2, NULL), DSC_ERR_ARG);
}

/* The optimizer's clip_norm (global and per tensor) equals clipping first, then a step. */
static void test_optimizer_clip_matches_standalone(void **state)
{
    (void)state;
    const char *specs[2] = {"sgd(lr=1, clip_norm=0.5, clip_norm_type=3)",
                            "sgd(lr=1, clip_norm=0.5, clip_per_tensor=true)"};
    for (int per = 0; per < 2; per++) {
        set a, b;
        set_init(&a, DSC_F64, G);
        set_init(&b, DSC_F64, G);
        dsc_optim *o;
        assert_int_equal(dsc_optim_create_spec(&o, specs[per], a.p, NT), DSC_OK);
        assert_int_equal(dsc_optim_step(o), DSC_OK);
        double total = 0;
        if (per) assert_int_equal(dsc_clip_grad_norm_per_tensor(b.p, NT, 0.5, 2.0, NULL), DSC_OK);
        else assert_int_equal(dsc_clip_grad_norm(b.p, NT, 0.5, 3.0, &total), DSC_OK);
        if (!per) close_to("grad norm", dsc_optim_grad_norm(o), total, 1e-15);
        for (int e = 0; e < NE; e++) close_to("clipped step", a.xd[e], -b.gd[e], 1e-15);
        dsc_optim_destroy(o);
    }
}

/* ---------------------------------------------------------------- non-finite policies */

static dsc_optim *make(const char *spec, set *s)
{
    dsc_optim *o = NULL;
    if (dsc_optim_create_spec(&o, spec, s->p, NT)) fail_msg("%s: %s", spec, dsc_last_error());
    return o;
}

static void test_nonfinite_policies(void **state)
{
    (void)state;
    set s;
    /* skip: nothing changes, the skip is counted, the next finite step goes through */
    set_init(&s, DSC_F64, G);
    dsc_optim *o = make("adam(lr=0.1)", &s);
    s.gd[6] = NAN; /* one element of the second tensor */
    assert_int_equal(dsc_optim_step(o), DSC_OK);
    assert_true(dsc_optim_last_skipped(o) && !dsc_optim_last_updated(o));
    assert_int_equal(dsc_optim_skipped_count(o), 1);
    assert_int_equal(dsc_optim_step_count(o), 0);
    for (int e = 0; e < NE; e++) assert_true(s.xd[e] == 0);
    void *m;
    assert_int_equal(dsc_optim_state(o, 0, 0, NULL, &m), DSC_OK);
    assert_true(((double *)m)[0] == 0);
    s.gd[6] = 1;
    assert_int_equal(dsc_optim_step(o), DSC_OK);
    assert_true(!dsc_optim_last_skipped(o) && dsc_optim_step_count(o) == 1);
    close_to("adam first step", s.xd[0], -0.1, 1e-7);
    dsc_optim_destroy(o);
    /* error: a failure naming the step, nothing changed */
    set_init(&s, DSC_F64, G);
    o = make("adam(lr=0.1, nonfinite=error)", &s);
    s.gd[11] = INFINITY;
    assert_int_equal(dsc_optim_step(o), DSC_ERR_NONFINITE);
    assert_non_null(strstr(dsc_last_error(), "non-finite gradient at step 1"));
    for (int e = 0; e < NE; e++) assert_true(s.xd[e] == 0);
    assert_int_equal(dsc_optim_skipped_count(o), 0);
    dsc_optim_destroy(o);
    /* ignore: the update happens and the NaN reaches only its own element */
    set_init(&s, DSC_F64, G);
    o = make("sgd(lr=0.1, nonfinite=ignore)", &s);
    s.gd[6] = NAN;
    assert_int_equal(dsc_optim_step(o), DSC_OK);
    assert_true(isnan(s.xd[6]) && s.xd[5] == -0.1 * G[5] && s.xd[7] == -0.1 * G[7]);
    dsc_optim_destroy(o);
    /* max_consecutive_skips: the second skip in a row is an error */
    set_init(&s, DSC_F32, G);
    o = make("sgd(lr=0.1, max_consecutive_skips=2)", &s);
    s.gf[3] = NAN;
    assert_int_equal(dsc_optim_step(o), DSC_OK);
    assert_int_equal(dsc_optim_step(o), DSC_ERR_NONFINITE);
    assert_non_null(strstr(dsc_last_error(), "2 consecutive steps skipped"));
    dsc_optim_destroy(o);
}

/* ---------------------------------------------------------------- accumulation */

static const double MICRO[3][NE] = {
    {0.5, -1.5, 2.0, 0.25, -0.75, 3.0, 1.0, -2.0, 0.125, 0.5, -0.5, 1.0},
    {-0.25, 0.5, 1.0, 0.75, 0.25, -1.0, 2.5, 0.5, -0.375, 1.5, 0.25, -2.0},
    {1.0, 0.25, -0.5, -1.25, 0.5, 0.75, -1.5, 1.0, 0.625, -0.5, 1.75, 0.5},
};

static void load(set *s, const double *g)
{
    for (int e = 0; e < NE; e++) s->gd[e] = g[e];
}

/* accumulate=3 over micro-batches == one step per window on their mean, with clipping,
 * decoupled decay and a schedule acting once per update (Keras got this wrong:
 * keras#19990). */
static void test_accumulation_equals_mean_batch(void **state)
{
    (void)state;
    set a, b;
    set_init(&a, DSC_F64, G);
    set_init(&b, DSC_F64, G);
    dsc_optim *acc = make("adamw(lr=0.1, weight_decay=0.1, clip_norm=0.8, accumulate=3)", &a);
    dsc_optim *one = make("adamw(lr=0.1, weight_decay=0.1, clip_norm=0.8)", &b);
    assert_int_equal(dsc_optim_set_schedule(acc, 0, "step(step_size=1, gamma=0.5)"), DSC_OK);
    assert_int_equal(dsc_optim_set_schedule(one, 0, "step(step_size=1, gamma=0.5)"), DSC_OK);
    for (int e = 0; e < NE; e++) a.xd[e] = b.xd[e] = 0.1 * e;
    assert_int_equal(dsc_optim_state_count(acc, 0), 3); /* exp_avg, exp_avg_sq, grad_accum */
    const char *name;
    assert_int_equal(dsc_optim_state(acc, 1, 2, &name, NULL), DSC_OK);
    assert_string_equal(name, "grad_accum");
    for (int window = 0; window < 3; window++) {
        double mean[NE] = {0};
        for (int k = 0; k < 3; k++) {
            double g[NE];
            for (int e = 0; e < NE; e++) {
                g[e] = MICRO[k][e] * (1 + window);
                mean[e] += g[e];
            }
            load(&a, g);
            assert_int_equal(dsc_optim_step(acc), DSC_OK);
            assert_int_equal(dsc_optim_last_updated(acc), k == 2);
            int64_t count;
            assert_int_equal(dsc_optim_get_accum(acc, &count, NULL), DSC_OK);
            assert_int_equal(count, k == 2 ? 0 : k + 1);
        }
        for (int e = 0; e < NE; e++) mean[e] /= 3;
        load(&b, mean);
        assert_int_equal(dsc_optim_step(one), DSC_OK);
        for (int e = 0; e < NE; e++) close_to("accumulated step", a.xd[e], b.xd[e], 1e-12);
        close_to("grad norm", dsc_optim_grad_norm(acc), dsc_optim_grad_norm(one), 1e-12);
    }
    assert_int_equal(dsc_optim_step_count(acc), 3);
    double lr;
    assert_int_equal(dsc_optim_get_lr(acc, 0, &lr), DSC_OK);
    assert_true(lr == 0.1 / 8);
    dsc_optim_destroy(acc);
    dsc_optim_destroy(one);
}

/* A NaN micro-batch is skipped and does not count toward K; a window saved halfway
 * (buffer and count) and restored continues the same. */
static void test_accumulation_skip_and_restore(void **state)
{
    (void)state;
    set a, b;
    set_init(&a, DSC_F64, G);
    set_init(&b, DSC_F64, G);
    dsc_optim *o = make("sgd(lr=1, accumulate=2)", &a);
    load(&a, MICRO[0]);
    assert_int_equal(dsc_optim_step_loss(o, 4.0), DSC_OK);
    a.gd[4] = NAN;
    assert_int_equal(dsc_optim_step_loss(o, 100.0), DSC_OK);
    assert_true(dsc_optim_last_skipped(o) && !dsc_optim_last_updated(o));
    int64_t count;
    double loss;
    assert_int_equal(dsc_optim_get_accum(o, &count, &loss), DSC_OK);
    assert_true(count == 1 && loss == 4.0);
    /* save the window into a second optimizer */
    dsc_optim *r = make("sgd(lr=1, accumulate=2)", &b);
    void *src, *dst;
    for (size_t i = 0; i < NT; i++) {
        size_t k = dsc_optim_state_count(o, i) - 1;
        assert_int_equal(dsc_optim_state(o, i, k, NULL, &src), DSC_OK);
        assert_int_equal(dsc_optim_state(r, i, k, NULL, &dst), DSC_OK);
        memcpy(dst, src, sizes[i] * sizeof(double));
    }
    assert_int_equal(dsc_optim_set_accum(r, count, loss), DSC_OK);
    assert_int_equal(dsc_optim_set_accum(r, 2, 0), DSC_ERR_RANGE);
    load(&a, MICRO[1]);
    load(&b, MICRO[1]);
    assert_int_equal(dsc_optim_step(o), DSC_OK);
    assert_int_equal(dsc_optim_step(r), DSC_OK);
    assert_true(dsc_optim_last_updated(o) && dsc_optim_last_updated(r));
    for (int e = 0; e < NE; e++) {
        close_to("window mean", a.xd[e], -(MICRO[0][e] + MICRO[1][e]) / 2, 1e-15);
        assert_true(a.xd[e] == b.xd[e]);
    }
    /* accumulate is optimizer-wide */
    assert_int_equal(dsc_optim_set_group_spec(o, 0, "accumulate=3"), DSC_ERR_ARG);
    dsc_optim_destroy(o);
    dsc_optim_destroy(r);
}

/* With accumulation, a loss-driven schedule sees the mean loss of each window. */
static void test_accumulation_mean_loss(void **state)
{
    (void)state;
    set a;
    set_init(&a, DSC_F64, G);
    dsc_optim *o = make("sgd(lr=1, accumulate=2)", &a);
    assert_int_equal(dsc_optim_set_schedule(o, 0, "plateau(patience=0, factor=0.5, threshold=0)"), DSC_OK);
    /* window means 2, 2: the second is no better, so the rate halves */
    const double losses[4] = {1, 3, 3, 1};
    for (int k = 0; k < 4; k++) assert_int_equal(dsc_optim_step_loss(o, losses[k]), DSC_OK);
    double best, lr;
    assert_int_equal(dsc_sched_get_state(dsc_optim_schedule(o, 0), 2, NULL, &best), DSC_OK);
    assert_true(best == 2.0);
    assert_int_equal(dsc_optim_get_lr(o, 0, &lr), DSC_OK);
    assert_true(lr == 0.5);
    dsc_optim_destroy(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clip_golden),
        cmocka_unit_test(test_clip_per_tensor_and_errors),
        cmocka_unit_test(test_optimizer_clip_matches_standalone),
        cmocka_unit_test(test_nonfinite_policies),
        cmocka_unit_test(test_accumulation_equals_mean_batch),
        cmocka_unit_test(test_accumulation_skip_and_restore),
        cmocka_unit_test(test_accumulation_mean_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
