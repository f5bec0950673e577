/* test_problems.c: every test problem's gradient against central finite differences
 * (double and float), every known minimum (gradient 0, f = f*, and a minimum, not a
 * saddle), the tabulated values, and the messages for bad problem specs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "descent_problems.h"

static const char *const specs[] = {
    "rosenbrock", "rosenbrock(n=7)", "beale", "booth", "himmelblau", "rastrigin", "rastrigin(n=5)",
    "quadratic", "quadratic(n=6, cond=1e4)", "gaussians", "linreg", "linreg(n=50, d=3, seed=7)",
    "logreg", "logreg(n=300, d=4, seed=2)",
    "linreg(data=" DSC_TEST_DATA "/../data/diabetes.csv)",
    "logreg(data=" DSC_TEST_DATA "/../data/breast_cancer.csv)", /* separable: no minimum */
};
#define SEPARABLE (NSPECS - 1)
#define NSPECS (sizeof specs / sizeof specs[0])

static dsc_problem *make(const char *spec)
{
    dsc_problem *pb = NULL;
    if (dsc_problem_create(&pb, spec)) fail_msg("'%s': %s", spec, dsc_last_error());
    return pb;
}

/* A few points to check the gradient at: the start and two shifts of it. */
static void point(const dsc_problem *pb, int which, double *x)
{
    dsc_problem_start(pb, x);
    for (size_t i = 0; i < dsc_problem_dim(pb); i++)
        x[i] += which == 0 ? 0.0 : 0.3 * which * sin(1.7 * (double)(i + 1));
}

static void check_gradient_f64(const char *spec, dsc_problem *pb, const double *x0)
{
    size_t n = dsc_problem_dim(pb);
    double *x = malloc(n * sizeof *x), *g = malloc(n * sizeof *g);
    memcpy(x, x0, n * sizeof *x);
    dsc_problem_eval(pb, x, g);
    for (size_t i = 0; i < n; i++) {
        double h = 1e-6 * fmax(1.0, fabs(x[i])), keep = x[i];
        x[i] = keep + h;
        double fp = dsc_problem_eval(pb, x, NULL);
        x[i] = keep - h;
        double fm = dsc_problem_eval(pb, x, NULL);
        x[i] = keep;
        double fd = (fp - fm) / (2 * h);
        if (fabs(fd - g[i]) > 1e-5 * fmax(1.0, fabs(g[i])))
            fail_msg("%s: d/dx%zu analytic %.10g, finite difference %.10g", spec, i, g[i], fd);
    }
    free(x);
    free(g);
}

/* The float gradient must be the double one to float precision. */
static void check_gradient_f32(const char *spec, dsc_problem *pb, const double *x)
{
    size_t n = dsc_problem_dim(pb);
    float *xf = malloc(n * sizeof *xf), *gf = malloc(n * sizeof *gf);
    double *g = malloc(n * sizeof *g);
    double xr[64];
    for (size_t i = 0; i < n; i++) xf[i] = (float)x[i], xr[i] = xf[i];
    double f = dsc_problem_eval(pb, xr, g);
    float ff = dsc_problem_eval_f32(pb, xf, gf);
    double gnorm = 0;
    for (size_t i = 0; i < n; i++) gnorm = fmax(gnorm, fabs(g[i]));
    if (fabs(ff - f) > 1e-4 * fmax(1.0, fabs(f))) fail_msg("%s: f32 f %.8g, f64 %.8g", spec, ff, f);
    for (size_t i = 0; i < n; i++)
        if (fabs(gf[i] - g[i]) > 1e-4 * fmax(1.0, gnorm))
            fail_msg("%s: f32 d/dx%zu %.8g, f64 %.8g", spec, i, gf[i], g[i]);
    free(xf);
    free(gf);
    free(g);
}

static void test_gradients(void **state)
{
    (void)state;
    for (size_t s = 0; s < NSPECS; s++) {
        dsc_problem *pb = make(specs[s]);
        double x[64];
        assert_true(dsc_problem_dim(pb) <= 64);
        for (int which = 0; which < 3; which++) {
            point(pb, which, x);
            check_gradient_f64(specs[s], pb, x);
            check_gradient_f32(specs[s], pb, x);
        }
        dsc_problem_destroy(pb);
    }
}

/* At every known minimiser: f = f*, gradient 0, and f rises in every direction probed. */
static void check_minimum(const char *spec, dsc_problem *pb, const double *xs, double fstar)
{
    size_t n = dsc_problem_dim(pb);
    double g[64], x[64];
    double f = dsc_problem_eval(pb, xs, g);
    if (fabs(f - fstar) > 1e-12 * fmax(1.0, fabs(fstar))) fail_msg("%s: f(x*) %.17g, f* %.17g", spec, f, fstar);
    for (size_t i = 0; i < n; i++)
        if (fabs(g[i]) > 1e-9) fail_msg("%s: gradient at x* [%zu] = %g", spec, i, g[i]);
    for (size_t i = 0; i < n; i++)
        for (int sgn = -1; sgn <= 1; sgn += 2) {
            memcpy(x, xs, n * sizeof *x);
            x[i] += sgn * 1e-3;
            if (!(dsc_problem_eval(pb, x, NULL) > fstar)) fail_msg("%s: not a minimum along x%zu", spec, i);
        }
}

static void test_minima(void **state)
{
    (void)state;
    for (size_t s = 0; s < NSPECS; s++) {
        dsc_problem *pb = make(specs[s]);
        size_t count = dsc_problem_minima_count(pb);
        if (s == SEPARABLE) {
            if (count != 0) fail_msg("%s: separable data, yet a minimum", specs[s]);
            dsc_problem_destroy(pb);
            continue;
        }
        if (count == 0) fail_msg("%s: no known minimum", specs[s]);
        double xs[64], near[64], fstar, fglobal, d;
        assert_true(dsc_problem_minimum(pb, xs, &fglobal));
        for (size_t k = 0; k < count; k++) {
            assert_true(dsc_problem_minimum_k(pb, k, xs, &fstar));
            check_minimum(specs[s], pb, xs, fstar);
            if (fstar < fglobal - 1e-15) fail_msg("%s: minimum %zu below the global one", specs[s], k);
            /* each minimiser is the nearest one to itself, at distance 0 */
            assert_true(dsc_problem_nearest_minimum(pb, xs, near, NULL, &d));
            assert_true(d == 0);
        }
        assert_false(dsc_problem_minimum_k(pb, count, xs, &fstar));
        dsc_problem_destroy(pb);
    }
}

static void expect_minimum(const char *spec, const double *want, size_t n, double fwant)
{
    dsc_problem *pb = make(spec);
    double xs[8], fstar;
    assert_true(dsc_problem_minimum(pb, xs, &fstar));
    for (size_t i = 0; i < n; i++) assert_float_equal(xs[i], want[i], 1e-12);
    assert_float_equal(fstar, fwant, 1e-20);
    dsc_problem_destroy(pb);
}

static void test_known_values(void **state)
{
    (void)state;
    expect_minimum("rosenbrock", (double[]){1, 1}, 2, 0);
    expect_minimum("beale", (double[]){3, 0.5}, 2, 0);
    expect_minimum("booth", (double[]){1, 3}, 2, 0);
    expect_minimum("himmelblau", (double[]){3, 2}, 2, 0);
    expect_minimum("rastrigin(n=3)", (double[]){0, 0, 0}, 3, 0);
    expect_minimum("quadratic(n=3, cond=10)", (double[]){0, 0, 0}, 3, 0);
    /* f values away from the minimum, by hand */
    dsc_problem *pb = make("rastrigin(n=2)");
    assert_float_equal(dsc_problem_eval(pb, (double[]){1, 0.5}, NULL), 20 + (1 - 10) + (0.25 + 10), 1e-12);
    dsc_problem_destroy(pb);
    pb = make("quadratic(n=3, cond=100)"); /* curvatures 1, 10, 100 */
    double g[3];
    assert_float_equal(dsc_problem_eval(pb, (double[]){1, 1, 1}, g), 55.5, 1e-12);
    assert_float_equal(g[1], 10, 1e-12);
    assert_float_equal(g[2], 100, 1e-10);
    dsc_problem_destroy(pb);
    pb = make("booth");
    assert_float_equal(dsc_problem_eval(pb, (double[]){0, 0}, NULL), 74, 0);
    dsc_problem_destroy(pb);
}

/* The tabulated curvatures give exactly what c_i = exp(i log(cond) / (n-1)) computed
 * per element gave before: the same values bit for bit, in both dtypes. */
static void test_quadratic_bit_identical(void **state)
{
    (void)state;
    enum { N = 6 };
    dsc_problem *pb = make("quadratic(n=6, cond=1e4)");
    double x[N], g[N], want_g[N], want = 0, spacing = log(1e4) / (N - 1);
    float xf[N], gf[N], want_gf[N], wantf = 0;
    for (int i = 0; i < N; i++) {
        x[i] = 0.7 - 0.45 * i, xf[i] = (float)x[i];
        double c = exp(spacing * (double)i);
        want += 0.5 * c * x[i] * x[i], want_g[i] = c * x[i];
        float cf = (float)c;
        wantf += 0.5f * cf * xf[i] * xf[i], want_gf[i] = cf * xf[i];
    }
    double f = dsc_problem_eval(pb, x, g);
    float ff = dsc_problem_eval_f32(pb, xf, gf);
    assert_memory_equal(&f, &want, sizeof f);
    assert_memory_equal(g, want_g, sizeof g);
    assert_memory_equal(&ff, &wantf, sizeof ff);
    assert_memory_equal(gf, want_gf, sizeof gf);
    dsc_problem_destroy(pb);
}

static void test_himmelblau_four_minima(void **state)
{
    (void)state;
    static const double approx[4][2] = {{3, 2}, {-2.805118, 3.131312}, {-3.779310, -3.283186}, {3.584428, -1.848126}};
    dsc_problem *pb = make("himmelblau");
    assert_int_equal(dsc_problem_minima_count(pb), 4);
    for (int k = 0; k < 4; k++) {
        double near[2] = {approx[k][0] + 0.1, approx[k][1] - 0.1}, xs[2], fstar, d;
        assert_true(dsc_problem_nearest_minimum(pb, near, xs, &fstar, &d));
        assert_float_equal(xs[0], approx[k][0], 1e-6);
        assert_float_equal(xs[1], approx[k][1], 1e-6);
        assert_float_equal(d, hypot(near[0] - xs[0], near[1] - xs[1]), 1e-15);
        assert_true(fabs(fstar) < 1e-20);
        check_minimum("himmelblau", pb, xs, fstar);
    }
    dsc_problem_destroy(pb);
}

static void test_gaussians_wells(void **state)
{
    (void)state;
    /* four wells near the means, the deepest first: the well of weight 1 reaches
     * about -1 / (2 pi sqrt(0.26)) = -0.312 */
    static const double means[4][2] = {{1.5, 1.0}, {-1.0, -1.5}, {-1.5, 1.5}, {1.0, -1.5}};
    dsc_problem *pb = make("gaussians");
    assert_int_equal(dsc_problem_minima_count(pb), 4);
    double xs[2], fstar, d;
    assert_true(dsc_problem_minimum(pb, xs, &fstar));
    assert_true(fstar < -0.31 && fstar > -0.32);
    for (int k = 0; k < 4; k++) {
        assert_true(dsc_problem_nearest_minimum(pb, means[k], xs, &fstar, &d));
        assert_true(d < 0.05);
        check_minimum("gaussians", pb, xs, fstar);
    }
    /* far away the density vanishes: f and its gradient go to 0 from below */
    double g[2];
    double f = dsc_problem_eval(pb, (double[]){8, 8}, g);
    assert_true(f < 0 && f > -1e-10 && fabs(g[0]) < 1e-9 && fabs(g[1]) < 1e-9);
    dsc_problem_destroy(pb);
}

static void test_datasets_seeded(void **state)
{
    (void)state;
    double w[6] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
    dsc_problem *a = make("linreg(seed=3)"), *b = make("linreg(seed=3)"), *c = make("linreg(seed=4)");
    assert_int_equal(dsc_problem_dim(a), 6);
    assert_true(dsc_problem_eval(a, w, NULL) == dsc_problem_eval(b, w, NULL));
    assert_true(dsc_problem_eval(a, w, NULL) != dsc_problem_eval(c, w, NULL));
    /* the least-squares fit recovers the generating weights (-1)^j (j+1)/5 and bias 0.5 */
    double xs[6];
    assert_true(dsc_problem_minimum(a, xs, NULL));
    for (int j = 0; j < 5; j++) assert_float_equal(xs[j], (j % 2 ? -1 : 1) * (j + 1) / 5.0, 0.05);
    assert_float_equal(xs[5], 0.5, 0.05);
    dsc_problem_destroy(a);
    dsc_problem_destroy(b);
    dsc_problem_destroy(c);
    /* logistic loss at w = 0 is log 2 whatever the data */
    dsc_problem *l = make("logreg(n=100, d=3)");
    assert_float_equal(dsc_problem_eval(l, (double[]){0, 0, 0, 0}, NULL), log(2.0), 1e-15);
    dsc_problem_destroy(l);
}

static void bad(const char *spec, dsc_status want, const char *needle)
{
    dsc_problem *pb = (dsc_problem *)1;
    dsc_status st = dsc_problem_create(&pb, spec);
    if (st != want) fail_msg("'%s': status %d, want %d (%s)", spec, st, want, dsc_last_error());
    assert_null(pb);
    if (!strstr(dsc_last_error(), needle)) fail_msg("'%s': message '%s' lacks '%s'", spec, dsc_last_error(), needle);
}

static void test_bad_specs(void **state)
{
    (void)state;
    bad("nosuch", DSC_ERR_SPEC, "unknown problem 'nosuch'");
    bad("beale(n=3)", DSC_ERR_SPEC, "beale: unknown key 'n' (keys: none)");
    bad("rosenbrock(n=1)", DSC_ERR_RANGE, "rosenbrock: n must be an integer in [2, 1e+08], got 1");
    bad("rosenbrock(n=2.5)", DSC_ERR_RANGE, "n must be an integer");
    bad("quadratic(cond=0.5)", DSC_ERR_RANGE, "quadratic: cond must be a number in [1, 1e+12], got 0.5");
    bad("quadratic(cond=abc)", DSC_ERR_SPEC, "quadratic: cond must be a number, got 'abc'");
    bad("linreg(d=0)", DSC_ERR_RANGE, "linreg: d must be an integer in [1, 1000], got 0");
    bad("logreg(k=1)", DSC_ERR_SPEC, "logreg: unknown key 'k' (keys: n, d, seed, data)");
    bad("linreg(data=/nonexistent/x.csv)", DSC_ERR_IO, "/nonexistent/x.csv");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients),          cmocka_unit_test(test_minima),
        cmocka_unit_test(test_known_values),       cmocka_unit_test(test_himmelblau_four_minima),
        cmocka_unit_test(test_gaussians_wells),    cmocka_unit_test(test_datasets_seeded),
        cmocka_unit_test(test_bad_specs),          cmocka_unit_test(test_quadratic_bit_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
