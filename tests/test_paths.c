/* test_paths.c: descent paths on the bundled diabetes data. Ridge coefficients must
 * equal the closed form (X^T X / n + lambda I)^-1 X^T y / n on standardized features
 * and centered target; lasso coefficients must satisfy the optimality (KKT)
 * conditions, be exactly zero where the subgradient allows, and all vanish from
 * lambda_max = max_j |X^T y / n|_j on. */
#define _POSIX_C_SOURCE 200809L /* popen */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "descent_data.h"

#define DATA DSC_TEST_DATA "/../data/diabetes.csv"
#define D 10

static double gram[D][D], xty[D];

/* The normal-equation pieces of the standardized problem, computed here independently
 * (plain loops, no BLAS) from the data layer's rows. */
static void load_problem(void)
{
    dsc_dataset *ds;
    if (dsc_dataset_load_csv(&ds, DATA, "last")) fail_msg("%s", dsc_last_error());
    size_t n = dsc_dataset_rows(ds);
    assert_int_equal(dsc_dataset_cols(ds), D);
    const double *x = dsc_dataset_x(ds), *y = dsc_dataset_y(ds);
    double mean[D] = {0}, sd[D] = {0}, ybar = 0;
    for (size_t i = 0; i < n; i++) {
        ybar += y[i] / (double)n;
        for (int j = 0; j < D; j++) mean[j] += x[i * D + j] / (double)n;
    }
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < D; j++) sd[j] += pow(x[i * D + j] - mean[j], 2) / (double)n;
    for (int j = 0; j < D; j++) sd[j] = sqrt(sd[j]);
    memset(gram, 0, sizeof gram);
    memset(xty, 0, sizeof xty);
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < D; j++) {
            double zj = (x[i * D + j] - mean[j]) / sd[j];
            xty[j] += zj * (y[i] - ybar) / (double)n;
            for (int k = 0; k < D; k++) gram[j][k] += zj * (x[i * D + k] - mean[k]) / sd[k] / (double)n;
        }
    dsc_dataset_destroy(ds);
}

/* Solves (gram + lambda I) w = xty by Gaussian elimination with partial pivoting. */
static void ridge(double lambda, double *w)
{
    double a[D][D + 1];
    for (int j = 0; j < D; j++) {
        for (int k = 0; k < D; k++) a[j][k] = gram[j][k] + (j == k ? lambda : 0);
        a[j][D] = xty[j];
    }
    for (int c = 0; c < D; c++) {
        int piv = c;
        for (int r = c + 1; r < D; r++)
            if (fabs(a[r][c]) > fabs(a[piv][c])) piv = r;
        for (int k = 0; k <= D; k++) {
            double t = a[c][k];
            a[c][k] = a[piv][k], a[piv][k] = t;
        }
        for (int r = c + 1; r < D; r++) {
            double f = a[r][c] / a[c][c];
            for (int k = c; k <= D; k++) a[r][k] -= f * a[c][k];
        }
    }
    for (int r = D - 1; r >= 0; r--) {
        double s = a[r][D];
        for (int k = r + 1; k < D; k++) s -= a[r][k] * w[k];
        w[r] = s / a[r][r];
    }
}

static cJSON *run_json(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "paths --data %s %s --json", DATA, args);
    return cli_json(cmd);
}

static void coef(const cJSON *o, int path, int k, double *w)
{
    const cJSON *row = cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "paths"), path), "coef"), k);
    assert_int_equal(cJSON_GetArraySize(row), D);
    for (int j = 0; j < D; j++) w[j] = cJSON_GetArrayItem(row, j)->valuedouble;
}

static double lambda_at(const cJSON *o, int k) { return cJSON_GetArrayItem(cJSON_GetObjectItem(o, "lambdas"), k)->valuedouble; }

static void test_ridge_is_closed_form(void **state)
{
    (void)state;
    load_problem();
    cJSON *o = run_json("--penalty l2 --lambdas 1e-3:1e3:7");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "lambdas")), 7);
    assert_float_equal(lambda_at(o, 0), 1e3, 1e-9); /* largest first */
    assert_float_equal(lambda_at(o, 6), 1e-3, 1e-15);
    for (int k = 0; k < 7; k++) {
        double w[D], want[D], scale = 0;
        coef(o, 0, k, w);
        ridge(lambda_at(o, k), want);
        for (int j = 0; j < D; j++) scale = fmax(scale, fabs(want[j]));
        for (int j = 0; j < D; j++)
            if (fabs(w[j] - want[j]) > 1e-7 * scale)
                fail_msg("lambda %g coef %d: %.12g, closed form %.12g", lambda_at(o, k), j, w[j], want[j]);
    }
    cJSON_Delete(o);
}

static void test_lasso_kkt_and_zeros(void **state)
{
    (void)state;
    load_problem();
    double lmax = 0;
    for (int j = 0; j < D; j++) lmax = fmax(lmax, fabs(xty[j]));
    cJSON *o = run_json("--penalty both --lambdas 1e-2:1e2:9");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "paths")), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "paths"), 1), "penalty")->valuestring, "l1");
    int some_zero_some_not = 0;
    for (int k = 0; k < 9; k++) {
        double w[D], lambda = lambda_at(o, k);
        coef(o, 1, k, w);
        int zeros = 0;
        for (int j = 0; j < D; j++) {
            double r = xty[j]; /* the negative gradient of the smooth part */
            for (int m = 0; m < D; m++) r -= gram[j][m] * w[m];
            if (w[j] == 0) {
                zeros++;
                if (fabs(r) > lambda * (1 + 1e-6)) fail_msg("lambda %g: w%d = 0 but |r| = %g > lambda", lambda, j, fabs(r));
            } else if (fabs(r - lambda * (w[j] > 0 ? 1 : -1)) > 1e-6 * lambda) {
                fail_msg("lambda %g: w%d = %g, r = %g, want %g", lambda, j, w[j], r, lambda * (w[j] > 0 ? 1 : -1));
            }
        }
        if (lambda >= lmax) assert_int_equal(zeros, D);
        some_zero_some_not |= zeros > 0 && zeros < D;
    }
    assert_true(some_zero_some_not);
    cJSON_Delete(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ridge_is_closed_form),
        cmocka_unit_test(test_lasso_kkt_and_zeros),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
