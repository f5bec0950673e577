/*
 * test_bind.c: the small surface the Python package stands on: the run-time version
 * and dsc_optim_bind, which points a tensor at a gradient (or parameter) buffer that
 * moved between steps, as torch does when it allocates a new .grad.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "descent.h"

static void test_version(void **unused)
{
    (void)unused;
    assert_string_equal(dsc_version(), DSC_VERSION_STRING);
}

/* SGD lr 0.5: the step reads the gradient bound last, and the parameter moves in the
 * buffer bound last; the old buffers are left alone. */
static void test_bind_moves_buffers(void **unused)
{
    (void)unused;
    double w[2] = {1, 2}, g_old[2] = {100, 100}, g_new[2] = {2, 4};
    dsc_param p = {.name = "w", .data = w, .grad = g_old, .n = 2, .dtype = DSC_F64};
    dsc_optim *opt = NULL;
    assert_int_equal(dsc_optim_create_spec(&opt, "sgd(lr=0.5)", &p, 1), DSC_OK);
    assert_int_equal(dsc_optim_bind(opt, 0, NULL, g_new), DSC_OK);
    assert_ptr_equal(dsc_optim_param(opt, 0)->grad, g_new);
    assert_int_equal(dsc_optim_step(opt), DSC_OK);
    assert_true(w[0] == 0.0 && w[1] == 0.0); /* 1 - 0.5*2, 2 - 0.5*4 */
    assert_true(g_old[0] == 100 && g_old[1] == 100);

    double w2[2] = {10, 20};
    assert_int_equal(dsc_optim_bind(opt, 0, w2, NULL), DSC_OK);
    assert_int_equal(dsc_optim_step(opt), DSC_OK);
    assert_true(w2[0] == 9.0 && w2[1] == 18.0);
    assert_true(w[0] == 0.0 && w[1] == 0.0);
    dsc_optim_destroy(opt);
}

/* With accumulate=2 the update reads the window's mean, not the caller's buffer: a
 * rebound gradient is added into the window on the next call. */
static void test_bind_with_accumulation(void **unused)
{
    (void)unused;
    double w[1] = {1}, g1[1] = {2}, g2[1] = {6};
    dsc_param p = {.name = "w", .data = w, .grad = g1, .n = 1, .dtype = DSC_F64};
    dsc_optim *opt = NULL;
    assert_int_equal(dsc_optim_create_spec(&opt, "sgd(lr=0.5, accumulate=2)", &p, 1), DSC_OK);
    assert_int_equal(dsc_optim_step(opt), DSC_OK);
    assert_int_equal(dsc_optim_bind(opt, 0, NULL, g2), DSC_OK);
    assert_int_equal(dsc_optim_step(opt), DSC_OK);
    assert_true(w[0] == 1.0 - 0.5 * 4.0); /* mean of 2 and 6 */
    dsc_optim_destroy(opt);
}

static void test_bind_errors(void **unused)
{
    (void)unused;
    double w[1] = {1}, g[1] = {2};
    dsc_param p = {.name = "w", .data = w, .grad = g, .n = 1, .dtype = DSC_F64};
    dsc_optim *opt = NULL;
    assert_int_equal(dsc_optim_create_spec(&opt, "sgd", &p, 1), DSC_OK);
    assert_int_equal(dsc_optim_bind(opt, 1, NULL, g), DSC_ERR_ARG);
    assert_non_null(strstr(dsc_last_error(), "tensor 1 of 1"));
    assert_int_equal(dsc_optim_bind(opt, 0, g, NULL), DSC_ERR_ARG); /* data == grad */
    assert_ptr_equal(dsc_optim_param(opt, 0)->data, w);              /* unchanged */
    assert_int_equal(dsc_optim_bind(NULL, 0, w, g), DSC_ERR_ARG);
    dsc_optim_destroy(opt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_bind_moves_buffers),
        cmocka_unit_test(test_bind_with_accumulation),
        cmocka_unit_test(test_bind_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
