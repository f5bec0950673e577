/* test_adafactor.c: Adafactor (torch 2.5's torch.optim.Adafactor): two steps of a 2x3
 * matrix and a vector derived by hand, in f64 and f32; a 3-D tensor as a batch of
 * matrices; the factored state's shapes and bytes; the spec's eps=(None, eps2) and
 * the range checks. The golden vectors of tests/golden/make_beyond.py (test_beyond)
 * check longer runs against an independent NumPy rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "descent.h"

#define CLOSE(got, want, rel) close_at((got), (want), (rel), #got, __LINE__)

static void close_at(double got, double want, double rel, const char *what, int line)
{
    if (!(fabs(got - want) <= rel * fabs(want) + 1e-300))
        fail_msg("line %d: %s = %.17g, want %.17g (relative %g)", line, what, got, want, rel);
}

/* The spec of the hand-derived run: lr 1 (rho = min(1, 1/sqrt(t)): 1, then 1/sqrt(2)),
 * beta2_decay -1 (w = 1/t: 1, then 0.5), eps2 0.5, d 1 (clipping), decay 0.1 (p *= 0.9). */
#define SPEC "adafactor(lr=1, beta2_decay=-1, eps=(None, 0.5), d=1, weight_decay=0.1)"

/* The two steps, with the matrix's and the vector's expected values after each. */
typedef struct hand {
    double m1[6], v1[4]; /* after step 1 */
    double m2[6], v2[4]; /* after step 2 */
} hand;

static hand derive(void)
{
    hand h;
    /* Step 1. Matrix p = 2 everywhere: RMS 2, alpha = max(0.5, 2) * 1 = 2. g1 is the
     * outer product [1, 2] x [1, 2, 4]: squares [[1, 4, 16], [4, 16, 64]], row means
     * [7, 28], column means [2.5, 10, 40] (w = 1: the factors are the means); the mean
     * of the rows 17.5, so v = r c / 17.5 = g1^2 exactly (rank 1) and u = 1: RMS 1, no
     * clipping. p = 2 * 0.9 - 2 * 1 = -0.2. */
    for (int e = 0; e < 6; e++) h.m1[e] = -0.2;
    /* Vector p = [1, -1, 3, 5]: RMS sqrt(36/4) = 3, alpha 3. g1 = [-1, 3, 2, 0.5]: the
     * variance g1^2, u = sign(g1) = [-1, 1, 1, 1], RMS 1. p = 0.9 p - 3 u. */
    const double p0[4] = {1, -1, 3, 5}, u1[4] = {-1, 1, 1, 1};
    for (int e = 0; e < 4; e++) h.v1[e] = 0.9 * p0[e] - 3 * u1[e]; /* [3.9, -3.9, -0.3, 1.5] */
    /* Step 2, w = 0.5 (torch's lerp, second form: b - (b - a) * 0.5), rho 1/sqrt(2).
     * Matrix: RMS(p) = 0.2 < eps2, alpha = 0.5/sqrt(2). g2 = [[1, 0, 2], [3, 4, 0]]:
     * squares [[1, 0, 4], [9, 16, 0]], row means [5/3, 25/3], column means [5, 8, 2].
     * rows: 5/3 - (5/3 - 7)/2 = 13/3, 25/3 - (25/3 - 28)/2 = 109/6; columns 3.75, 9, 21;
     * the rows' mean (13/3 + 109/6)/2 = 11.25. v_ij = r_i c_j / 11.25, u = g2/sqrt(v). */
    const double r[2] = {13.0 / 3, 109.0 / 6}, c[3] = {3.75, 9, 21}, g2[6] = {1, 0, 2, 3, 4, 0};
    double u[6], usq = 0;
    for (int e = 0; e < 6; e++) {
        u[e] = g2[e] / sqrt(r[e / 3] * c[e % 3] / 11.25);
        usq += u[e] * u[e];
    }
    /* u = [0.832, 0, 0.703, 1.219, 1.049, 0]: RMS sqrt(3.774/6) = 0.793 < d, no clipping */
    assert_true(sqrt(usq / 6) < 1);
    const double malpha = 0.5 / sqrt(2.0);
    for (int e = 0; e < 6; e++) h.m2[e] = -0.2 * 0.9 - malpha * u[e];
    /* Vector: RMS(p) = sqrt((3.9^2 * 2 + 0.3^2 + 1.5^2)/4) = sqrt(8.19), alpha
     * sqrt(8.19)/sqrt(2). g2 = [7, -3, 2, 1]: variance (g1^2 + g2^2)/2 = [25, 9, 4, 0.625],
     * u = [1.4, -1, 1, 1/sqrt(0.625)], |u|^2 = 1.96 + 1 + 1 + 1.6 = 5.56, RMS sqrt(1.39)
     * > d = 1: the step is divided by it. */
    const double vu[4] = {1.4, -1, 1, 1 / sqrt(0.625)};
    const double valpha = sqrt(8.19) / sqrt(2.0) / sqrt(1.39);
    for (int e = 0; e < 4; e++) h.v2[e] = h.v1[e] * 0.9 - valpha * vu[e];
    return h;
}

static const double g1[10] = {1, 2, 4, 2, 4, 8, /* the vector */ -1, 3, 2, 0.5};
static const double g2[10] = {1, 0, 2, 3, 4, 0, /* the vector */ 7, -3, 2, 1};

/* The run in dtype dt: a 2x3 matrix "m" and a 4-vector "v", one buffer each for data
 * and grad; returns p after each step in after[step][10]. */
static void run_hand(dsc_dtype dt, double after[2][10])
{
    double d64[10] = {2, 2, 2, 2, 2, 2, 1, -1, 3, 5}, gr64[10];
    float d32[10], gr32[10];
    for (int e = 0; e < 10; e++) d32[e] = (float)d64[e];
    const size_t es = dt == DSC_F32 ? 4 : 8;
    char *data = dt == DSC_F32 ? (char *)d32 : (char *)d64, *grad = dt == DSC_F32 ? (char *)gr32 : (char *)gr64;
    dsc_param ps[2] = {
        {.name = "m", .data = data, .grad = grad, .n = 6, .dtype = dt, .ndim = 2, .shape = {2, 3}},
        {.name = "v", .data = data + 6 * es, .grad = grad + 6 * es, .n = 4, .dtype = dt},
    };
    dsc_optim *opt;
    if (dsc_optim_create_spec(&opt, SPEC, ps, 2)) fail_msg("%s", dsc_last_error());
    const double *gs[2] = {g1, g2};
    for (int t = 0; t < 2; t++) {
        for (int e = 0; e < 10; e++) {
            gr64[e] = gs[t][e];
            gr32[e] = (float)gs[t][e];
        }
        assert_int_equal(dsc_optim_step(opt), DSC_OK);
        for (int e = 0; e < 10; e++) after[t][e] = dt == DSC_F32 ? d32[e] : d64[e];
    }
    dsc_optim_destroy(opt);
}

static void check_hand(dsc_dtype dt, double rel)
{
    const hand h = derive();
    double after[2][10];
    run_hand(dt, after);
    for (int e = 0; e < 6; e++) {
        CLOSE(after[0][e], h.m1[e], rel);
        CLOSE(after[1][e], h.m2[e], rel);
    }
    for (int e = 0; e < 4; e++) {
        CLOSE(after[0][6 + e], h.v1[e], rel);
        CLOSE(after[1][6 + e], h.v2[e], rel);
    }
}

static void test_hand_steps_f64(void **state)
{
    (void)state;
    check_hand(DSC_F64, 1e-15);
}

static void test_hand_steps_f32(void **state)
{
    (void)state;
    check_hand(DSC_F32, 2e-6);
}

/* A 2x2x3 tensor is a batch of two 2x3 matrices, each with its own factors, and one
 * RMS of p and of u over the whole tensor: against two 2x3 tensors, whose RMS differ,
 * the update equals once the two have the same |p| and |u|. */
static void test_batch_of_matrices(void **state)
{
    (void)state;
    double p3[12], g3[12], pa[6], ga[6], pb[6], gb[6];
    /* the second matrix is the first with rows swapped: equal |p| and |u| */
    const double p0[6] = {0.5, -1, 2, 1.5, 0.25, -0.75}, gv[6] = {0.3, -0.2, 0.9, -1.1, 0.4, 0.05};
    for (int e = 0; e < 6; e++) {
        p3[e] = pa[e] = p0[e];
        g3[e] = ga[e] = gv[e];
        p3[6 + e] = pb[e] = p0[(e + 3) % 6];
        g3[6 + e] = gb[e] = gv[(e + 3) % 6];
    }
    dsc_param one = {.name = "t", .data = p3, .grad = g3, .n = 12, .dtype = DSC_F64, .ndim = 3, .shape = {2, 2, 3}};
    dsc_param two[2] = {
        {.name = "a", .data = pa, .grad = ga, .n = 6, .dtype = DSC_F64, .ndim = 2, .shape = {2, 3}},
        {.name = "b", .data = pb, .grad = gb, .n = 6, .dtype = DSC_F64, .ndim = 2, .shape = {2, 3}},
    };
    dsc_optim *o1, *o2;
    assert_int_equal(dsc_optim_create_spec(&o1, "adafactor(lr=0.1)", &one, 1), DSC_OK);
    assert_int_equal(dsc_optim_create_spec(&o2, "adafactor(lr=0.1)", two, 2), DSC_OK);
    for (int t = 0; t < 3; t++) {
        assert_int_equal(dsc_optim_step(o1), DSC_OK);
        assert_int_equal(dsc_optim_step(o2), DSC_OK);
        for (int e = 0; e < 6; e++) {
            CLOSE(p3[e], pa[e], 1e-14);
            CLOSE(p3[6 + e], pb[e], 1e-14);
        }
    }
    /* the state: row_var [2, 2, 1], col_var [2, 1, 3] */
    int ndim;
    size_t shape[DSC_MAX_DIMS];
    const char *name;
    assert_int_equal(dsc_optim_state_count(o1, 0), 2);
    assert_int_equal(dsc_optim_state(o1, 0, 0, &name, NULL), DSC_OK);
    assert_string_equal(name, "row_var");
    assert_int_equal(dsc_optim_state_shape(o1, 0, 0, &ndim, shape), DSC_OK);
    assert_int_equal(ndim, 3);
    assert_true(shape[0] == 2 && shape[1] == 2 && shape[2] == 1);
    assert_int_equal(dsc_optim_state(o1, 0, 1, &name, NULL), DSC_OK);
    assert_string_equal(name, "col_var");
    assert_int_equal(dsc_optim_state_shape(o1, 0, 1, &ndim, shape), DSC_OK);
    assert_true(ndim == 3 && shape[0] == 2 && shape[1] == 1 && shape[2] == 3);
    dsc_optim_destroy(o1);
    dsc_optim_destroy(o2);
}

/* The state is rows + columns per matrix, n per vector: what dsc_optim_state_bytes
 * reports (1000 x 500 f32: 1500 floats, not 500000). */
static void test_state_bytes(void **state)
{
    (void)state;
    static float p[500000 + 7], g[500000 + 7];
    dsc_param ps[2] = {
        {.name = "w", .data = p, .grad = g, .n = 500000, .dtype = DSC_F32, .ndim = 2, .shape = {1000, 500}},
        {.name = "b", .data = p + 500000, .grad = g + 500000, .n = 7, .dtype = DSC_F32},
    };
    dsc_optim *opt;
    assert_int_equal(dsc_optim_create_spec(&opt, "adafactor", ps, 2), DSC_OK);
    assert_int_equal(dsc_optim_state_bytes(opt), (1000 + 500 + 7) * sizeof(float) + 500 * sizeof(double));
    int ndim;
    size_t shape[DSC_MAX_DIMS];
    const char *name;
    assert_int_equal(dsc_optim_state(opt, 1, 0, &name, NULL), DSC_OK);
    assert_string_equal(name, "variance");
    assert_int_equal(dsc_optim_state_shape(opt, 1, 0, &ndim, shape), DSC_OK);
    assert_true(ndim == 1 && shape[0] == 7);
    assert_int_equal(dsc_optim_state_shape(opt, 1, 1, &ndim, shape), DSC_ERR_ARG);
    assert_int_equal(dsc_optim_state_shape(opt, 0, 0, NULL, shape), DSC_ERR_ARG);
    dsc_optim_destroy(opt);
}

/* torch's defaults and spellings: eps=(None, 1e-3), eps1 None the dtype's epsilon. */
static void test_spec(void **state)
{
    (void)state;
    dsc_hparams hp;
    assert_int_equal(dsc_hparams_parse("adafactor", &hp), DSC_OK);
    assert_true(hp.lr == 1e-2 && hp.beta2_decay == -0.8 && hp.eps1 == DSC_EPS1_DTYPE && hp.eps2 == 1e-3 &&
                hp.d == 1.0 && hp.weight_decay == 0 && hp.decoupled_weight_decay && !hp.maximize);
    assert_int_equal(dsc_hparams_parse("adafactor(eps=(None, 1e-2))", &hp), DSC_OK);
    assert_true(hp.eps1 == DSC_EPS1_DTYPE && hp.eps2 == 1e-2);
    assert_int_equal(dsc_hparams_parse("adafactor(eps=(1e-30, 0))", &hp), DSC_OK);
    assert_true(hp.eps1 == 1e-30 && hp.eps2 == 0);
    char buf[256];
    dsc_hparams_format(&hp, buf, sizeof buf);
    assert_string_equal(buf, "adafactor(eps1=1.0000000000000001e-30, eps2=0)");
    dsc_hparams back;
    assert_int_equal(dsc_hparams_parse(buf, &back), DSC_OK);
    assert_true(back.eps1 == hp.eps1 && back.eps2 == hp.eps2);
    assert_int_equal(dsc_hparams_parse("adafactor(eps1=none, eps2=0.1)", &hp), DSC_OK);
    assert_true(hp.eps1 == DSC_EPS1_DTYPE && hp.eps2 == 0.1);
    /* given twice, through both spellings */
    assert_int_equal(dsc_hparams_parse("adafactor(eps=(None, 1e-3), eps2=0.1)", &hp), DSC_ERR_SPEC);
}

/* torch's checks: beta2_decay <= 0, eps1 >= 0 or None, eps2 >= 0, d >= 1, and the
 * message names the key and the value. */
static void test_ranges(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *key;
    } bad[] = {
        {"adafactor(beta2_decay=0.5)", "beta2_decay must be in (-inf, 0], got 0.5"},
        {"adafactor(eps=(-1, 1e-3))", "eps1 must be >= 0 or None, got -1"},
        {"adafactor(eps1=-1e-3)", "eps1 must be >= 0 or None, got -0.001"},
        {"adafactor(eps=(None, -1))", "eps2 must be in [0, inf), got -1"},
        {"adafactor(d=0.5)", "d must be in [1, inf), got 0.5"},
        {"adafactor(d=nan)", "d must be in [1, inf)"},
        {"adafactor(lr=-1)", "lr must be in [0, inf), got -1"},
        {"adafactor(weight_decay=-0.1)", "weight_decay must be in [0, inf)"},
    };
    dsc_hparams hp;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (dsc_hparams_parse(bad[i].spec, &hp) != DSC_ERR_RANGE) fail_msg("%s: not refused", bad[i].spec);
        if (!strstr(dsc_last_error(), bad[i].key))
            fail_msg("%s: '%s' lacks '%s'", bad[i].spec, dsc_last_error(), bad[i].key);
    }
    assert_int_equal(dsc_hparams_parse("adafactor(eps=1e-3)", &hp), DSC_ERR_SPEC); /* a pair */
    assert_int_equal(dsc_hparams_parse("adafactor(betas=(0.9, 0.99))", &hp), DSC_ERR_SPEC);
    /* through the struct: a negative eps1 other than DSC_EPS1_DTYPE */
    hp = dsc_hparams_default(DSC_ADAFACTOR);
    hp.eps1 = -2;
    assert_int_equal(dsc_hparams_validate(&hp), DSC_ERR_RANGE);
    hp.eps1 = DSC_EPS1_DTYPE;
    hp.beta2_decay = -INFINITY;
    assert_int_equal(dsc_hparams_validate(&hp), DSC_ERR_RANGE);
}

/* eps1 None floors the estimate at the dtype's epsilon squared: a zero gradient gives a
 * zero update (0 / eps1), no NaN, in either dtype, and a tiny one is scaled by 1/eps1. */
static void test_zero_gradient(void **state)
{
    (void)state;
    double p[4] = {1, 2, 3, 4}, g[4] = {0, 0, 0, 0};
    dsc_param q = {.name = "w", .data = p, .grad = g, .n = 4, .dtype = DSC_F64, .ndim = 2, .shape = {2, 2}};
    dsc_optim *opt;
    assert_int_equal(dsc_optim_create_spec(&opt, "adafactor", &q, 1), DSC_OK);
    assert_int_equal(dsc_optim_step(opt), DSC_OK);
    for (int e = 0; e < 4; e++) CLOSE(p[e], e + 1.0, 0);
    /* row means 0 < eps1: v = 0 / eps1 = 0, floored at eps1^2; u = g / eps1 */
    g[0] = 1e-20;
    assert_int_equal(dsc_optim_step(opt), DSC_OK);
    assert_true(isfinite(p[0]) && p[0] < 1.0);
    dsc_optim_destroy(opt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_steps_f64), cmocka_unit_test(test_hand_steps_f32),
        cmocka_unit_test(test_batch_of_matrices), cmocka_unit_test(test_state_bytes),
        cmocka_unit_test(test_spec), cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_zero_gradient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
